"""Scenario files: a YAML document validated by a pydantic schema.

A scenario names a baseline dataset, a start date and horizon, a timeline of dated
events, uncertain parameters as distributions, and the ensemble size and seed.  Any
numeric field of an event, and any dataset parameter, may be a number or a
distribution such as ``{dist: uniform, low: 0.1, high: 0.3}``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, StringConstraints, ValidationError,
                      field_validator, model_validator)

from .domains import domain
from .errors import StandoffError
from .layout import NEG_OVERRIDES_ONLY, RENAMED_NEG_PARAMETERS, ROUTE_TERMS
from .network import Network, builtin_datasets, load_network
from .yamlio import load_yaml

#: Longest scenario name: it becomes part of a folder name.
MAX_NAME = 120
#: Largest seed: random draws use 63 bits of it, and the catalogue stores it as a signed 64-bit integer.
MAX_SEED = 2**63 - 1
#: Earliest start and latest end of a scenario: results store dates as datetime64[ns], whose range
#: is 1677-2262, and a date outside it would save but could not be read back.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 12, 31)


def _no_control_chars(text: str, allow_newlines: bool = False) -> str:
    """Refuse characters no file, folder or table cell should carry (NUL, BEL, ESC, U+FFFE ...)."""
    for ch in text:
        o = ord(ch)
        if (o < 32 and not (allow_newlines and ch in "\n\t\r")) or o == 127 or 0xFFFE <= o <= 0xFFFF \
                or 0xD800 <= o <= 0xDFFF:
            raise ValueError(f"contains the control character U+{o:04X}; use plain text")
    return text


class _Strict(BaseModel):
    # NaN and infinities are never a meaningful tariff, share or tonnage; refusing them here
    # names the field instead of letting them poison the kernel or a JSON response.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Distribution(_Strict):
    """An uncertain number, sampled once per ensemble member.

    ``uniform(low, high)``, ``triangular(low, mode, high)``, ``normal(mean, sd)`` truncated to
    ``[low, high]`` when given, ``lognormal(median, sigma)``, or ``choice(values)``.
    """

    dist: Literal["uniform", "triangular", "normal", "lognormal", "choice"]
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    values: list[float] | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Distribution":
        need = {"uniform": ("low", "high"), "triangular": ("low", "mode", "high"), "normal": ("mean", "sd"),
                "lognormal": ("median", "sigma"), "choice": ("values",)}[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist} distribution needs {', '.join(missing)}")
        if self.dist in ("uniform", "triangular") and not self.low <= self.high:  # type: ignore[operator]
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.dist == "triangular" and not self.low <= self.mode <= self.high:  # type: ignore[operator]
            raise ValueError("mode must lie between low and high")
        if self.dist == "normal" and self.sd < 0:  # type: ignore[operator]
            raise ValueError("sd must be non-negative")
        if self.dist == "normal" and self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.dist == "lognormal" and (self.median <= 0 or self.sigma < 0):  # type: ignore[operator]
            raise ValueError("lognormal needs median > 0 and sigma >= 0")
        if self.dist == "choice" and not self.values:
            raise ValueError("choice needs at least one value")
        return self

    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value the distribution can take (inf if unbounded)."""
        import math
        if self.dist in ("uniform", "triangular"):
            return float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.dist == "choice":
            return min(self.values), max(self.values)  # type: ignore[arg-type,type-var]
        if self.dist == "lognormal":
            return 0.0, math.inf
        return (self.low if self.low is not None else -math.inf, self.high if self.high is not None else math.inf)


ParamRef = Annotated[str, StringConstraints(pattern=r"^\$[A-Za-z_][A-Za-z0-9_]*$")]
#: A number, a distribution, or ``$name`` for a parameter of the dataset (its sourced range).
Number = Union[float, Distribution, ParamRef]


class _Event(_Strict):
    date: dt.date
    id: str | None = None
    outcome: bool = Field(False, description="an outcome of talks: dropped when negotiation is simulated")
    source: str | None = Field(None, description="where the event is documented")
    note: str | None = None
    #: Position in the file as written (events are kept in date order), for error messages.
    _at: int | None = PrivateAttr(default=None)


class TariffEvent(_Event):
    """Set the average ad valorem tariff ``importer`` levies on goods from ``exporter``.

    ``postponable: true`` makes it an increase announced ahead (on ``announced``, by default the
    scenario's start) whose fate the talks decide: from its announcement the table counts it as
    part of the importer's escalation, so a deal can keep the tariff where it is and postpone the
    rise (a freeze); on its date it applies unless a truce is in force, which postpones it until
    the truce lapses or collapses.  It needs negotiation between the two sides and covers all
    groups; when the talks are not simulated it is left out (the ``outcome`` events then say
    what became of it).
    """

    type: Literal["tariff"]
    importer: str
    exporter: str
    rate: Number
    groups: list[str] | Literal["all"] = "all"
    postponable: bool = Field(False, description="an announced increase that a truce in force on its date postpones "
                                                 "(only when negotiation is simulated)")
    announced: dt.date | None = Field(None, description="when a postponable increase was announced (default, or "
                                                        "before the scenario's start: pending from its first day); "
                                                        "the talks count it from then")


class ExportControlEvent(_Event):
    """Impose, change or lift (``mode: none``) an export control on the products it names.

    ``date`` is when the control is announced and ``effective`` when it takes effect (the same
    day if not given); in between, buyers of the named products from the exporter buy ahead.
    A licence control covers ``coverage`` of each route's trade (a number, or a number per
    buying sector of the importer, weighted by the sectors' use); covered trade needs a licence
    per contract.  The exporter's authority starts deciding ``authority_start_days`` after the
    control takes effect and decides ``decision_rate`` of a route's buyers a week (pooled over
    its licensed routes; lower ``priority`` first, then end users before the ``trader_share``
    of traders, then first come); each review takes at least ``review_min_days`` and, for an
    idle authority, at most ``delay_days`` (the legal limit); a decision grants a licence with
    probability ``approval_share``, and a refused buyer applies again with ``reapply_share`` or
    leaves for good.  ``chill_share`` of the uncovered trade is held back at first, fading over
    ``chill_days``; ``leakage`` of what is held back goes through third countries, growing with
    the price wedge up to ``leakage_wedge`` and at most ``leakage_capacity`` of the route's normal
    daily trade.  ``military_screen`` of the licensed tonnes carry end-use certificates that bar
    military end users: the importer's first-claim (defense) sector may not draw them.
    ``export_tax`` (added since the baseline) raises what importers pay at least: their
    cheapest active supplier's home price times one plus the tax.
    ``in_force_since`` starts the regime warm (it was
    in force before the scenario).  An event without ``coverage`` leaves the coverage in force
    (all of the trade, for a new control), and one without an authority term leaves that term
    in force (an idle authority, for a new control).  Licences already granted stay valid when
    a later event changes the terms.
    """

    type: Literal["export_control"]
    exporter: str
    products: list[str]
    destinations: list[str] | Literal["all"] = "all"
    mode: Literal["licence", "quota", "ban", "none"] = "licence"
    effective: dt.date | None = Field(None, description="the day the control takes effect (default: date)")
    coverage: Number | dict[str, Number] | None = Field(
        None, description="share of the trade that needs a licence (default: as in force; all of it for a new control)")
    approval_share: Number = 1.0
    review_min_days: Number = 0.0
    delay_days: Number = Field(0.0, description="the longest licence review (the legal limit), days")
    leakage: Number = 0.0
    # The licensing authority (licence controls).  Not given: as in force on the route (for a
    # route never controlled, the free value of layout.ROUTE_TERMS: an idle authority).
    authority_start_days: Number | None = Field(
        None, description="days from the regime taking effect to the authority's first decisions")
    decision_rate: Number | None = Field(
        None, description="applications decided per week, as a share of each route's buyers, pooled over the "
                          "exporter's licensed routes (default: unlimited, decided as reviews end)")
    priority: Number | None = Field(None, description="order of decision when the authority is busy: lower first")
    trader_share: Number | None = Field(None, description="share of buyers that are traders, decided after end users")
    reapply_share: Number | None = Field(
        None, description="chance that a refused buyer applies again; otherwise it leaves for good to buy elsewhere")
    chill_share: Number | None = Field(
        None, description="share of the uncovered trade held back when the regime starts (exporters proving what "
                          "they ship), fading over chill_days")
    chill_days: Number | None = Field(None, description="days over which the chill fades to nothing")
    leakage_wedge: Number | None = Field(
        None, description="the price wedge (importer's price over the exporter's, less one) at which leakage reaches "
                          "its full share, growing in proportion below it (default: the full share at once)")
    leakage_capacity: Number | None = Field(
        None, description="most that routes through third countries carry a day, as a share of the route's normal "
                          "daily trade (default: unlimited)")
    military_screen: Number | None = Field(
        None, description="share of licensed tonnes whose end-use certificates bar military end users: the "
                          "importer's first-claim sector may not draw them (default: 0, none screened)")
    export_tax: Number | None = Field(
        None, description="export tax on the route added since the baseline, a share of the exporter's price: "
                          "importers that buy mostly abroad pay at least their cheapest supplier's home price "
                          "times one plus the tax (default: as in force, 0 on a new control)")
    in_force_since: dt.date | None = Field(
        None, description="the licence regime was in force from this date, before the scenario starts: licences "
                          "granted then are held and the authority is at work (a warm start)")
    quota_tonnes_per_year: Number | None = None
    quota_calendar: list[float] | None = Field(
        None, description="12 monthly weights: how the year's quota is allocated from the effective date "
                          "(a back-loaded year has small early weights); default: evenly")

    @model_validator(mode="after")
    def _quota(self) -> "ExportControlEvent":
        if self.mode == "quota" and self.quota_tonnes_per_year is None:
            raise ValueError("mode 'quota' needs quota_tonnes_per_year")
        if self.quota_calendar is not None:
            if self.quota_tonnes_per_year is None:
                raise ValueError("quota_calendar needs quota_tonnes_per_year")
            if len(self.quota_calendar) != 12 or min(self.quota_calendar) < 0 or not 0 < sum(self.quota_calendar) < 1e300:
                raise ValueError("quota_calendar must be 12 non-negative monthly weights with a positive, finite sum")
        if self.effective is not None and self.effective < self.date:
            raise ValueError("effective must not come before the announcement date")
        if self.in_force_since is not None:
            if self.mode != "licence":
                raise ValueError("in_force_since applies to licence controls only")
            if self.in_force_since >= self.effective_date:
                raise ValueError("in_force_since must come before the date the control takes effect in the scenario")
        return self

    @property
    def effective_date(self) -> dt.date:
        """The day the control takes effect on the ground."""
        return self.effective or self.date


class SuspendEvent(_Event):
    """Suspend an announced export control (by its ``id``) before it takes effect: nothing changes
    on the ground, and buyers stop buying ahead.  A control already in effect is changed or
    lifted with an ``export_control`` event instead."""

    type: Literal["suspend"]
    control: str


class CounterMeasureEvent(_Event):
    """Switch a counter-measure (from the dataset's countermeasures table) on or off."""

    type: Literal["counter_measure"]
    measure: str
    active: bool = True


class StockpileReleaseEvent(_Event):
    """Release a strategic stockpile into the region's supply at a daily rate (0 stops it)."""

    type: Literal["stockpile_release"]
    region: str
    product: str
    tonnes_per_day: Number


class StockpileBuyEvent(_Event):
    """A government buys into its strategic stockpile at a daily rate (0 stops it): from its
    producers' stock first, then from its region's receiving stock, as much as there is.  What
    it buys is held off the market until a ``stockpile_release`` event releases it."""

    type: Literal["stockpile_buy"]
    region: str
    product: str
    tonnes_per_day: Number


class OutputLimitEvent(_Event):
    """A production quota: from ``date`` a region makes at most ``share_of_baseline`` times its
    baseline output of a product (a later event changes it; a large number lifts it)."""

    type: Literal["output_limit"]
    region: str
    product: str
    share_of_baseline: Number


class OutputHaltEvent(_Event):
    """An output halt: for ``days`` days from ``date`` only ``1 - share`` of a region's capacity
    to make a product runs (a plant stopped, a mine closed), on top of any output limit."""

    type: Literal["output_halt"]
    region: str
    product: str
    share: Number
    days: StrictInt = Field(..., ge=1, le=3650)


class CapacityEvent(_Event):
    """New capacity coming online, ramping linearly over ``ramp_days``."""

    type: Literal["capacity"]
    region: str
    product: str
    tonnes_per_year: Number
    ramp_days: StrictInt = Field(0, ge=0, le=3650)


class PoliticalCalendarEvent(_Event):
    """A dated period of a side's political calendar (the run-up to an election, a party
    congress, a summit) in which its government bears a different amount of pain: from
    ``date`` until ``until`` the side's resolve is multiplied by ``resolve_multiplier`` (below 1
    it bears less, as before an election; above 1 more).  No built-in scenario sets one: no
    source in the shared data gives a multiplier, so it is the analyst's stated assumption."""

    type: Literal["political_calendar"]
    side: Literal["US", "CN"]
    until: dt.date
    resolve_multiplier: Number
    what: str = ""


class TalksEvent(_Event):
    """A round of talks. Scripted runs record it; negotiated runs bargain at it."""

    type: Literal["talks"]
    name: str


Event = Annotated[Union[TariffEvent, ExportControlEvent, SuspendEvent, CounterMeasureEvent, StockpileReleaseEvent,
                        StockpileBuyEvent, OutputLimitEvent, OutputHaltEvent, CapacityEvent, TalksEvent,
                        PoliticalCalendarEvent],
                  Field(discriminator="type")]


Strategy = Literal["reciprocal", "generous_reciprocal", "grim_trigger", "pressure_threshold"]


class NegotiationSettings(_Strict):
    """Simulated bargaining: from ``start`` on, ``talks`` events are rounds of the game and
    events marked ``outcome: true`` are left out (the game decides the outcomes)."""

    enabled: bool = False
    start: dt.date | None = None
    strategies: dict[Literal["US", "CN"], Strategy] = Field(
        default_factory=lambda: {"US": "reciprocal", "CN": "reciprocal"})
    parameters: dict[str, Number] = Field(default_factory=dict)


class Scenario(_Strict):
    """A scenario: baseline, horizon, timeline, uncertainties and ensemble settings."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
    description: Annotated[str, StringConstraints(max_length=20_000)] = ""
    baseline: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = "baseline-2024"
    start: dt.date
    horizon_days: StrictInt = Field(..., gt=0, le=3650)
    time_step_days: Literal[1] = 1
    # Strict: YAML's ``members: true`` is not 1 member.
    members: StrictInt = Field(200, gt=0)
    seed: StrictInt = Field(0, ge=0, le=MAX_SEED, description="random draws use the seed's low 63 bits, so larger "
                            "seeds would repeat smaller ones")
    trajectories: StrictInt = Field(200, ge=0, description="members whose daily paths are kept")
    parameters: dict[str, Number] = Field(default_factory=dict)
    inventory_days: dict[str, Number] = Field(default_factory=dict)
    deferrable_days: dict[str, Number] = Field(default_factory=dict, description=(
        "per sector: days of its output firms can build without the input and finish later "
        "(default: the dataset's responses table)"))
    firms: StrictInt | None = Field(None, ge=1, le=256, description=(
        "firms per sector, each with its own days of cover (default: standoff.layout.DEFAULT_FIRMS)"))
    stockpiles: dict[str, dict[str, Number]] = Field(default_factory=dict)
    events: list[Event] = Field(default_factory=list)
    negotiation: NegotiationSettings = Field(default_factory=NegotiationSettings)
    #: The YAML file the scenario came from (if any), so later errors can name it.
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this scenario was read from, or ``None``."""
        return self._source

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        return _no_control_chars(v)

    @field_validator("description")
    @classmethod
    def _plain_description(cls, v: str) -> str:
        return _no_control_chars(v, allow_newlines=True)

    @field_validator("start")
    @classmethod
    def _representable(cls, v: dt.date) -> dt.date:
        if not EARLIEST <= v <= LATEST:
            raise ValueError(f"start must lie between {EARLIEST} and {LATEST} (dates outside cannot be stored)")
        return v

    @field_validator("events")
    @classmethod
    def _sorted(cls, v: list[Any]) -> list[Any]:
        for i, ev in enumerate(v):
            if ev._at is None:
                ev._at = i
        return sorted(v, key=lambda e: e.date)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.horizon_days)

    def day_of(self, date: dt.date) -> int:
        return (date - self.start).days

    def network(self) -> Network:
        return load_network(self.baseline)

    def to_yaml(self) -> str:
        """The scenario as YAML, every default filled in (what was actually run)."""
        data = json.loads(self.model_dump_json(exclude_none=True))
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def digest(self) -> str:
        """A short hash of the resolved scenario, for run catalogues."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def with_(self, **changes: Any) -> "Scenario":
        """A copy with top-level fields replaced (validated).

        A copy with a shorter horizon (or a later start) keeps only the events inside it: the others
        could not act, and a saved run's scenario file must load again (loading refuses an event
        outside the horizon, a likely typo in a file someone wrote)."""
        data = self.model_dump()
        data.update(changes)
        try:
            new = Scenario.model_validate(data)
        except ValidationError as exc:
            err = _best_error(exc)
            raise StandoffError(err["msg"].removeprefix("Value error, "), file=self._source,
                                field=_fmt_loc(tuple(err["loc"])), value=err.get("input")) from None
        new._source = self._source
        if "events" not in changes:  # same events in the same (date) order: keep their places in the file
            for old, ev in zip(self.events, new.events):
                ev._at = old._at
            if "horizon_days" in changes or "start" in changes:
                new.events = [ev for ev in new.events if 0 <= new.day_of(ev.date) < new.horizon_days]
        # The checks loading makes, so that a copy is a scenario whose saved file loads again.
        net = new.network()
        _check_names(new, net, self._source)
        _check_ranges(new, net, self._source)
        return new

    def negotiating(self) -> "Scenario":
        """A copy in which the bargaining model decides the talks (``negotiation.enabled``)."""
        neg = self.negotiation.model_dump()
        neg["enabled"] = True
        return self.with_(negotiation=neg)


def _best_error(exc: ValidationError) -> Any:
    """The most telling of pydantic's errors: a failed check beats a type mismatch, and for a
    mapping given where a number or distribution is allowed, the distribution's complaint."""
    errs = exc.errors()
    for e in errs:
        if e["type"] == "value_error":
            return e
    for e in errs:
        if "Distribution" in e["loc"] and e["type"] != "model_type":
            return e
    return errs[0]


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    """``('events', 0, 'tariff', 'rate', 'float')`` -> ``events[0].rate``: drop union and tag names."""
    tags = {"tariff", "export_control", "counter_measure", "stockpile_release", "stockpile_buy", "output_limit",
            "output_halt", "capacity", "talks"}
    out = ""
    prev: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(prev, int) and part in tags) or part in ("float", "int", "str", "bool", "Distribution") \
                or any(ch in str(part) for ch in "[-"):
            pass
        else:
            out += ("." if out else "") + str(part)
        prev = part
    return out


def _at(k: int, ev: Any) -> int:
    """The event's place in the file as written (``k`` is its place in date order)."""
    return ev._at if ev._at is not None else k


def _check_names(sc: Scenario, net: Network, file: str | None) -> None:
    def need(dim: str, name: str, fld: str) -> None:
        if name not in getattr(net, dim + "s"):
            known = ", ".join(getattr(net, dim + "s"))
            raise StandoffError(f"unknown {dim}; known: {known}", file=file, field=fld, value=name)

    for name, val in sc.parameters.items():
        if name not in net.parameters.index:
            raise StandoffError("unknown parameter; known: " + ", ".join(net.parameters.index), file=file,
                                field=f"parameters.{name}", value=name)
        if isinstance(val, str):
            raise StandoffError("a parameter must be a number or a distribution", file=file,
                                field=f"parameters.{name}", value=val)
    for holder in sc.inventory_days:
        if holder not in net.sectors and holder not in net.products:
            raise StandoffError("unknown sector or product", file=file, field=f"inventory_days.{holder}", value=holder)
    for sname, val in sc.deferrable_days.items():
        need("sector", sname, f"deferrable_days.{sname}")
        if isinstance(val, str) or not _in_bounds(val, 0.0, 365.0):
            raise StandoffError("must be a number or bounded distribution of days in [0, 365]", file=file,
                                field=f"deferrable_days.{sname}", value=_shown(val))
    for reg, prods in sc.stockpiles.items():
        need("region", reg, f"stockpiles.{reg}")
        for prod in prods:
            need("product", prod, f"stockpiles.{reg}.{prod}")
    neg = sc.negotiation
    if neg.enabled and neg.start is not None and not 0 <= sc.day_of(neg.start) < sc.horizon_days:
        raise StandoffError(f"negotiation start outside the horizon {sc.start} to {sc.end}", file=file,
                            field="negotiation.start", value=str(neg.start))
    for name, val in neg.parameters.items():
        if name in RENAMED_NEG_PARAMETERS:
            raise StandoffError(RENAMED_NEG_PARAMETERS[name], file=file, field=f"negotiation.parameters.{name}",
                                value=name)
        if name not in net.negotiation.index and name not in NEG_OVERRIDES_ONLY:
            raise StandoffError("unknown negotiation parameter; known: " + ", ".join([*net.negotiation.index,
                                                                                      *NEG_OVERRIDES_ONLY]),
                                file=file, field=f"negotiation.parameters.{name}", value=name)
        if isinstance(val, str):
            raise StandoffError("a negotiation parameter must be a number or a distribution", file=file,
                                field=f"negotiation.parameters.{name}", value=val)
    for k, ev in enumerate(sc.events):
        where = f"events[{_at(k, ev)}]"
        day = sc.day_of(ev.date)
        if not 0 <= day < sc.horizon_days:
            raise StandoffError(f"event date outside the horizon {sc.start} to {sc.end}", file=file,
                                field=f"{where}.date", value=str(ev.date))
        if isinstance(ev, TariffEvent):
            need("region", ev.importer, f"{where}.importer")
            need("region", ev.exporter, f"{where}.exporter")
            if ev.groups != "all":
                for g in ev.groups:
                    need("group", g, f"{where}.groups")
            _check_postponable(sc, net, ev, where, file)
        elif isinstance(ev, ExportControlEvent):
            need("region", ev.exporter, f"{where}.exporter")
            for p in ev.products:
                need("product", p, f"{where}.products")
            if ev.destinations != "all":
                for r in ev.destinations:
                    need("region", r, f"{where}.destinations")
            # An effective date after the horizon is allowed: the announcement acts within it (buyers
            # buy ahead), as in a run of London 2025 that ends before October's controls take effect.
            if ev.in_force_since is not None and ev.effective_date != sc.start:
                raise StandoffError(f"a control in force before the scenario (in_force_since) must take effect on its "
                                    f"start, {sc.start}", file=file, field=f"{where}.in_force_since",
                                    value=str(ev.in_force_since))
            if isinstance(ev.coverage, dict):
                if ev.mode != "licence":
                    raise StandoffError("coverage by sector applies to licence controls only", file=file,
                                        field=f"{where}.coverage", value=ev.mode)
                for sname, val in ev.coverage.items():
                    need("sector", sname, f"{where}.coverage.{sname}")
                    if isinstance(val, str) or not _in_bounds(val, 0.0, 1.0):
                        raise StandoffError("a coverage must be a share in [0, 1] (number or bounded distribution)",
                                            file=file, field=f"{where}.coverage.{sname}", value=_shown(val))
                for pname in ev.products:
                    users = [net.sectors[s] for s in range(len(net.sectors))
                             if net.products[int(net.critical[s])] == pname]
                    if not users:
                        raise StandoffError(f"coverage by sector needs a product that sectors use; no sector uses "
                                            f"{pname} directly (give it its own event with one coverage)", file=file,
                                            field=f"{where}.coverage", value=sorted(ev.coverage))
        elif isinstance(ev, SuspendEvent):
            targets = [(j, c) for j, c in enumerate(sc.events) if isinstance(c, ExportControlEvent)
                       and c.id == ev.control]
            if not targets:
                known = sorted(c.id for c in sc.events if isinstance(c, ExportControlEvent) and c.id)
                raise StandoffError("no export_control event with this id; known: " + (", ".join(known) or "none"),
                                    file=file, field=f"{where}.control", value=ev.control)
            tgt = targets[0][1]
            if not tgt.date <= ev.date <= tgt.effective_date:
                raise StandoffError(f"a suspension must fall between the control's announcement ({tgt.date}) and "
                                    f"its effective date ({tgt.effective_date}); to change a control in effect, add "
                                    "an export_control event", file=file, field=f"{where}.date", value=str(ev.date))
        elif isinstance(ev, CounterMeasureEvent):
            need("measure", ev.measure, f"{where}.measure")
        elif isinstance(ev, (StockpileReleaseEvent, StockpileBuyEvent, OutputLimitEvent, OutputHaltEvent,
                             CapacityEvent)):
            need("region", ev.region, f"{where}.region")
            need("product", ev.product, f"{where}.product")
        elif isinstance(ev, PoliticalCalendarEvent) and not ev.until > ev.date:
            raise StandoffError(f"a period of the political calendar must end after it starts ({ev.date})", file=file,
                                field=f"{where}.until", value=str(ev.until))
    # One period at a time per side: the end of one resets the side's resolve, which would cut
    # short another still running.
    periods = sorted((ev.side, ev.date, ev.until, k, ev) for k, ev in enumerate(sc.events)
                     if isinstance(ev, PoliticalCalendarEvent))
    for a, b in zip(periods, periods[1:]):
        if a[0] == b[0] and b[1] < a[2]:
            raise StandoffError(f"overlaps the {a[0]} side's period of the political calendar from {a[1]} to "
                                f"{a[2]}; give one period with its multiplier for the overlap", file=file,
                                field=f"events[{_at(b[3], b[4])}].date", value=str(b[1]))
    _check_ranges(sc, net, file)


def _check_postponable(sc: Scenario, net: Network, ev: TariffEvent, where: str, file: str | None) -> None:
    """A postponable increase is a term of the talks between the two sides: on their own goods, all groups."""
    if not ev.postponable:
        if ev.announced is not None:
            raise StandoffError("announced applies to a postponable increase only; add postponable: true", file=file,
                                field=f"{where}.announced", value=str(ev.announced))
        return
    pair = {net.us_region, net.cn_region}
    if {ev.importer, ev.exporter} != pair or ev.importer == ev.exporter:
        raise StandoffError(f"a postponable increase is a term of the talks, so it must be a tariff one negotiating "
                            f"side ({net.us_region} or {net.cn_region}) levies on its opponent", file=file,
                            field=f"{where}.importer", value=ev.importer)
    if ev.groups != "all":
        raise StandoffError("a deal sets one tariff on all the goods the two sides trade, so a postponable increase "
                            "must cover all groups", file=file, field=f"{where}.groups", value=ev.groups)
    if ev.outcome:
        raise StandoffError("a postponable increase is decided by the talks and an outcome is dropped when they "
                            "are simulated: mark it as one of the two", file=file, field=f"{where}.outcome", value="true")
    if ev.announced is not None and ev.announced > ev.date:
        raise StandoffError(f"an increase is announced on or before its date ({ev.date}); one announced before the "
                            "scenario's start is pending from its first day", file=file, field=f"{where}.announced",
                            value=str(ev.announced))
    rivals = [(k, o) for k, o in enumerate(sc.events) if isinstance(o, TariffEvent) and o.postponable and o is not ev
              and o.importer == ev.importer and o.date >= ev.date and max(o.announced or sc.start, sc.start) <= ev.date]
    if rivals:
        k, o = rivals[0]
        raise StandoffError(f"two postponable increases by {ev.importer} pending at once (the later dated {o.date}); "
                            "a side has one pending increase at a time: give the later one's announcement after "
                            "this one's date", file=file, field=f"events[{_at(k, o)}].announced",
                            value=str(o.announced or sc.start))


#: Physical bounds of numeric fields (a distribution must stay inside them too).  The one
#: table of bounds: the schema checks against it, and the dashboard's levers and the
#: resilience search take their limits from it.
FIELD_BOUNDS = {"rate": (0.0, 10.0), **{t.field: t.bounds for t in ROUTE_TERMS if t.field},
                "quota_tonnes_per_year": (0.0, 1e9), "tonnes_per_day": (0.0, 1e7), "tonnes_per_year": (0.0, 1e9),
                "inventory_days": (0.0, 3650.0), "stockpile": (0.0, 1e9), "share_of_baseline": (0.0, 1e6),
                "share": (0.0, 1.0), "resolve_multiplier": (0.01, 100.0)}
#: Fields of events checked against :data:`FIELD_BOUNDS` (an export control's from ``layout.ROUTE_TERMS``).
_EVENT_FIELDS = ("rate", *(t.field for t in ROUTE_TERMS if t.field), "quota_tonnes_per_year", "tonnes_per_day",
                 "tonnes_per_year", "share_of_baseline", "share", "resolve_multiplier")


def _in_bounds(val: Number, lo: float, hi: float, net: Network | None = None) -> bool:
    if isinstance(val, str):
        if net is None:
            return True
        row = net.parameters.loc[val[1:]]
        a, b = min(row["low"], row["value"]), max(row["high"], row["value"])
    elif isinstance(val, (int, float)):
        a, b = val, val
    else:
        a, b = val.bounds()
    return lo <= a and b <= hi


def _shown(val: Number) -> object:
    return val if isinstance(val, (int, float, str)) else val.model_dump(exclude_none=True)


def _check_ranges(sc: Scenario, net: Network, file: str | None) -> None:
    for k, ev in enumerate(sc.events):
        k = _at(k, ev)
        for fld in _EVENT_FIELDS:
            lo, hi = FIELD_BOUNDS[fld]
            val = getattr(ev, fld, None)
            if val is None or isinstance(val, dict):  # coverage by sector is checked with the names
                continue
            if isinstance(val, str) and val[1:] not in net.parameters.index:
                raise StandoffError("unknown dataset parameter; known: " + ", ".join(net.parameters.index),
                                    file=file, field=f"events[{k}].{fld}", value=val)
            if not _in_bounds(val, lo, hi, net):
                shown = val if isinstance(val, (int, float)) else val.model_dump(exclude_none=True)
                raise StandoffError(f"must lie in [{lo:g}, {hi:g}]", file=file, field=f"events[{k}].{fld}", value=shown)
    for table, given in (("parameters", sc.parameters), ("negotiation", sc.negotiation.parameters)):
        for name, val in given.items():
            dom = domain(table, name)
            if not _in_bounds(val, dom.lo, dom.hi):
                unbounded = "" if isinstance(val, (int, float)) else \
                    " (a distribution must stay inside it, so an unbounded distribution, lognormal or normal without " \
                    "low/high, cannot be used)"
                fld = f"parameters.{name}" if table == "parameters" else f"negotiation.parameters.{name}"
                raise StandoffError(f"must lie in its domain {dom.text()}{unbounded}", file=file, field=fld,
                                    value=_shown(val))
    for name, val in sc.inventory_days.items():
        if not _in_bounds(val, *FIELD_BOUNDS["inventory_days"]):
            raise StandoffError("days of cover must lie in [0, 3650]", file=file, field=f"inventory_days.{name}",
                                value=val if isinstance(val, (int, float)) else val.model_dump(exclude_none=True))
    for reg, prods in sc.stockpiles.items():
        for prod, val in prods.items():
            if not _in_bounds(val, *FIELD_BOUNDS["stockpile"]):
                raise StandoffError("stockpile must lie in [0, 1e9] t", file=file, field=f"stockpiles.{reg}.{prod}",
                                    value=val if isinstance(val, (int, float)) else val.model_dump(exclude_none=True))


def safe_name(name: str) -> str:
    """``name`` as one safe folder-name component: letters, digits, ``.``, ``_`` and ``-`` only.

    Scenario names come from users' files and web pages; a name such as ``../../x``,
    ``a/b`` or ``[red]x`` must not decide where a run is written.

    Examples
    --------
    >>> safe_name("../../escaped")
    'escaped'
    >>> safe_name("[bold]my run/2025")
    'bold-my-run-2025'
    """
    import re
    slug = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "-", name)
    slug = re.sub(r"[-.]*-[-.]*", "-", slug).strip("-.")
    return slug[:60] or "scenario"


def resolve_baseline(baseline: str, file: str | None) -> str:
    """A scenario's ``baseline`` as the loader should read it.

    A built-in dataset name stays a name; a relative folder is taken relative to the
    scenario file's folder (as a person reading the file would), not the working directory.
    """
    if baseline in builtin_datasets() or file is None or Path(baseline).is_absolute():
        return baseline
    beside = Path(file).parent / baseline
    return str(beside.resolve()) if beside.is_dir() else baseline


def scenario_from_dict(data: Any, file: str | None = None) -> Scenario:
    """Validate a parsed YAML mapping into a :class:`Scenario` (names checked against the dataset)."""
    if not isinstance(data, dict):
        raise StandoffError("a scenario must be a YAML mapping (key: value lines)", file=file,
                            value=type(data).__name__)
    if isinstance(data.get("baseline"), str):
        data = {**data, "baseline": resolve_baseline(data["baseline"], file)}
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        err = _best_error(exc)
        msg = err["msg"].removeprefix("Value error, ")
        shown = err.get("input")
        shown = None if isinstance(shown, dict) else str(shown) if isinstance(shown, dt.date) else shown
        raise StandoffError(msg, file=file, field=_fmt_loc(tuple(err["loc"])) or None, value=shown) from None
    try:
        net = sc.network()
    except StandoffError as exc:
        if exc.file is not None:  # a table of the dataset is at fault: that file is the one to name
            raise
        raise StandoffError(exc.message, file=file, field="baseline", value=sc.baseline) from None
    _check_names(sc, net, file)
    sc._source = file
    return sc


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with standoff."""
    root = resources.files("standoff") / "scenarios"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_scenario(ref: str | Path) -> Scenario:
    """Load a scenario by built-in name (``london-2025``) or YAML path.

    Raises
    ------
    StandoffError
        Naming the file, field and value at fault.
    """
    path = Path(ref)
    if not path.exists():
        if str(ref) in builtin_scenarios():
            path = Path(str(resources.files("standoff") / "scenarios" / f"{ref}.yaml"))
        else:
            raise StandoffError(f"no such scenario file or built-in scenario; built in: {', '.join(builtin_scenarios())}",
                                value=str(ref))
    return scenario_from_dict(read_yaml_file(path), file=str(path))


def read_yaml_file(path: Path) -> Any:
    """Parse a YAML file within :mod:`standoff.yamlio`'s bounds: a regular file, read with a byte limit."""
    from .files import read_bounded
    from .yamlio import MAX_BYTES
    raw = read_bounded(path, MAX_BYTES, "scenario file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StandoffError(f"not UTF-8 text (byte {exc.start + 1})", file=str(path)) from None
    return load_yaml(text, str(path))
