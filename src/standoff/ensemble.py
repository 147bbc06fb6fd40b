"""Ensembles: sampling uncertain inputs, compiling the timeline, and running members.

Every uncertain number is drawn from a counter-based stream keyed by the seed, the
number's name and the member's global index (:mod:`standoff.core.rng`), so results do not
depend on how members are chunked, and two scenarios that share a seed share their
draws (common random numbers).  Executors run chunks of members: :class:`SerialExecutor`
in this process, :class:`DaskExecutor` on a Dask cluster; both give identical results.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import numpy as np
from scipy import special

from .core import engine
from .core.controls import LEAK_EXTRA_DAYS, MODES
from .errors import StandoffError
from .layout import (A_TERM, DEFAULT_FIRMS, OUTPUT_SHAPES, ROUTE_TERMS, T_AHEAD, T_COVER, T_WARM, TRAJ_SHAPES, Inputs, NetIn,
                     Outputs, PathsOut, Timeline, firm_cover_multipliers)
from .layout import dim_sizes as layout_dim_sizes
from .core.negotiation import NEG_PARAMS, STRATEGIES
from .layout import COMPLIANCE_MEANS, SIDE_RESOLVES, TARIFFS_KEPT
from .network import DAYS_PER_YEAR, Network
from .core.rng import uniforms
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from .state import SavedState
from .scenario import (CapacityEvent, CounterMeasureEvent, Distribution, ExportControlEvent, Number, Scenario,
                       OutputHaltEvent, OutputLimitEvent, PoliticalCalendarEvent, StockpileBuyEvent,
                       StockpileReleaseEvent,
                       SuspendEvent, TalksEvent, TariffEvent)

#: Members per chunk's unit of work: small enough for a smooth progress bar, large enough to
#: amortise the Python work of a chunk.  Chunks are whole multiples of it, which keeps chunking
#: invisible, and a saved state (:mod:`standoff.state`) holds one block per multiple of it.
BLOCK = 256
#: Members per call of the compiled kernel inside a chunk run from day 0 to the horizon.  A
#: member's results do not depend on it (every draw is keyed by member); 64 keeps a block's firm
#: arrays (regions x sectors x firms x members) in the cache between the day's stages: measured
#: on london-2025, 2,048 members, five alternating rounds (bench/speed_summary.py's machine),
#: 248,000 member-days/s at 64 against 235,000 at 128 and 210,000 at 256 with 16 firms a sector,
#: and 328,000 / 312,000 / 292,000 with 4.
KERNEL_BLOCK = 64


def _ppf(d: Distribution, u: np.ndarray) -> np.ndarray:
    if d.dist == "uniform":
        return d.low + (d.high - d.low) * u  # type: ignore[operator]
    if d.dist == "triangular":
        return _triangular(u, d.low, d.mode, d.high)  # type: ignore[arg-type]
    if d.dist == "normal":
        x = d.mean + d.sd * special.ndtri(u)  # type: ignore[operator]
        lo, hi = d.bounds()
        return np.clip(x, lo, hi)
    if d.dist == "lognormal":
        return d.median * np.exp(d.sigma * special.ndtri(u))  # type: ignore[operator]
    vals = np.asarray(d.values, dtype=float)
    return vals[np.minimum((u * len(vals)).astype(np.int64), len(vals) - 1)]


def _triangular(u: np.ndarray, lo: float, mode: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.full_like(u, lo)
    c = (mode - lo) / (hi - lo)
    return np.where(u < c, lo + np.sqrt(u * (hi - lo) * (mode - lo)),
                    hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode)))


@dataclass(frozen=True)
class Uncertain:
    """One named input of the ensemble: a constant or a distribution."""

    key: str
    spec: Number | tuple[float, float, float]  # a triangular (low, mode, high) for dataset ranges

    def sample(self, seed: int, start: int, n: int) -> np.ndarray:
        if isinstance(self.spec, (int, float)):
            return np.full(n, float(self.spec))
        return self.transform(uniforms(seed, self.key, start, n))

    def transform(self, u: np.ndarray) -> np.ndarray:
        """Values at quantiles ``u`` of the input's distribution (for designed experiments)."""
        s = self.spec
        if isinstance(s, (int, float)):
            return np.full(len(u), float(s))
        if isinstance(s, tuple):
            return _triangular(u, *s)
        assert isinstance(s, Distribution)
        return _ppf(s, u)

    @property
    def is_random(self) -> bool:
        if isinstance(self.spec, (int, float)):
            return False
        if isinstance(self.spec, tuple):
            return self.spec[0] < self.spec[2]
        return True


@dataclass
class Plan:
    """Everything the kernel needs that does not depend on the member: the compiled run."""

    scenario: Scenario
    net: Network
    params: list[Uncertain]            # in engine.PARAMS order
    sector_days: list[Uncertain]
    pool_days: list[Uncertain]
    defer_days: list[Uncertain]          # per sector: days of output firms can build incomplete
    stockpile: dict[tuple[int, int], Uncertain]
    columns: list[tuple[Uncertain, float]]  # event value columns with a scale
    actions: dict[str, np.ndarray]
    talks: list[tuple[int, str]]
    neg: list[tuple[Uncertain, float]]   # NEG_PARAMS order, with a scale to kernel units
    neg_on: bool
    neg_start: int
    #: Quantiles to use instead of the random draws, by input key, over all members (for
    #: Sobol/Morris designs); members not covered draw as usual.
    u_override: dict[str, np.ndarray] | None = None
    #: Added to each negotiation input after scaling (NEG_PARAMS order): the status quo ante
    #: tariff under what a side keeps in a deal (``TARIFFS_KEPT``), zero elsewhere.
    neg_offset: tuple[float, ...] = ()

    def _sample(self, u: "Uncertain", start: int, n: int) -> np.ndarray:
        if self.u_override and u.key in self.u_override:
            return u.transform(self.u_override[u.key][start:start + n])
        return u.sample(self.scenario.seed, start, n)

    @property
    def members(self) -> int:
        return self.scenario.members

    def uncertain_inputs(self) -> list[Uncertain]:
        """Every input that varies between members, each once (for sensitivity and tornado charts)."""
        seen: dict[str, Uncertain] = {}
        for u in [*self.params, *self.sector_days, *self.pool_days, *self.defer_days, *self.stockpile.values(),
                  *(c for c, _ in self.columns), *(u for u, _ in self.neg)]:
            if u.is_random and u.key not in seen:
                seen[u.key] = u
        return list(seen.values())

    def draw(self, start: int, n: int) -> dict[str, np.ndarray]:
        """Per-member inputs for members ``start .. start + n - 1``."""
        R, P = len(self.net.regions), len(self.net.products)
        glob = np.column_stack([self._sample(u, start, n) for u in self.params])
        sd = np.column_stack([self._sample(u, start, n) for u in self.sector_days])
        pd_ = np.column_stack([self._sample(u, start, n) for u in self.pool_days])
        dd = np.column_stack([self._sample(u, start, n) for u in self.defer_days])
        sp = np.zeros((n, R, P))
        for (r, p), u in self.stockpile.items():
            sp[:, r, p] = self._sample(u, start, n)
        ev = np.column_stack([self._sample(u, start, n) * scale for u, scale in self.columns]) if self.columns \
            else np.zeros((n, 1))
        npar = np.column_stack([self._sample(u, start, n) * scale for u, scale in self.neg])
        if self.neg_offset:
            npar = npar + np.asarray(self.neg_offset)
        return {"glob": np.ascontiguousarray(glob), "sector_days": np.ascontiguousarray(sd),
                "pool_days": np.ascontiguousarray(pd_), "stockpile": sp, "ev": np.ascontiguousarray(ev),
                "npar": np.ascontiguousarray(npar), "defer_days": np.ascontiguousarray(dd)}


def _gdp_bn_per_day(sc: Scenario, net: Network, side: str) -> float:
    """A side's GDP (``gdp_us_bn_per_year``, ``gdp_cn_bn_per_year``: the dataset's, or the
    scenario's number) in US$ bn a day: the unit a resolve in % of GDP is turned into."""
    name = f"gdp_{side}_bn_per_year"
    val = sc.negotiation.parameters.get(name, float(net.negotiation.loc[name, "value"]))
    if not isinstance(val, (int, float)):
        raise StandoffError("a GDP is a number, not a distribution (it scales a resolve the same way in every "
                            "member)", file=sc.source, field=f"negotiation.parameters.{name}", value=str(val))
    return float(val) / DAYS_PER_YEAR


def status_quo_ante(net: Network, side: str) -> float:
    """The tariff the ``side`` (``"us"`` or ``"cn"``) charged the other before the standoff: the
    dataset's base tariffs on the other side's goods (``trade_goods.csv``), weighted by the
    baseline trade in each group.  A deal that takes back the whole escalation returns here."""
    imp, exp_ = (net.us_region, net.cn_region) if side == "us" else (net.cn_region, net.us_region)
    e, i = net.index("region", exp_), net.index("region", imp)
    w = net.trade_value[e, i]
    if w.sum() > 0:
        return float((net.base_tariff[e, i] * w).sum() / w.sum())
    return float(net.base_tariff[e, i].mean()) if net.groups else 0.0  # no goods table: no tariff to return to


def _param_spec(sc: Scenario, net: Network, name: str) -> Uncertain:
    key = f"parameters.{name}"
    if name in sc.parameters:
        return Uncertain(key, sc.parameters[name])
    row = net.parameters.loc[name]
    return Uncertain(key, (float(row["low"]), float(row["value"]), float(row["high"])))


def plan(sc: Scenario) -> Plan:
    """Compile a scenario against its dataset into a :class:`Plan`."""
    net = sc.network()
    missing = [p for p in engine.PARAMS if p not in net.parameters.index]
    if missing:
        raise StandoffError(f"dataset {net.name} lacks parameters {missing}")
    params = [_param_spec(sc, net, p) for p in engine.PARAMS]
    for name in ("transit_days_same_zone", "transit_days_cross_zone"):
        # Arrivals are booked in a ring of RING_DAYS days; a leaked shipment adds LEAK_EXTRA_DAYS.
        u = params[engine.PARAMS.index(name)]
        worst = float(u.transform(np.array([1.0 - 1e-9]))[0])
        inspect = params[engine.PARAMS.index("customs_inspection_days")]
        worst_extra = max(LEAK_EXTRA_DAYS, float(inspect.transform(np.array([1.0 - 1e-9]))[0]))
        if worst + worst_extra >= engine.RING_DAYS - 1:
            raise StandoffError(f"transit times of {engine.RING_DAYS - 2 - worst_extra:.0f} days or more are not "
                                "supported (an unbounded distribution reaches them too)", file=sc.source, field=u.key,
                                value=u.spec)

    def days(holder: str, row: object) -> Uncertain:
        key = f"inventory_days.{holder}"
        if holder in sc.inventory_days:
            return Uncertain(key, sc.inventory_days[holder])
        return Uncertain(key, (float(row["low"]), float(row["days_cover"]), float(row["high"])))  # type: ignore[index]

    sector_days = [days(s, net.sector_days.loc[s]) for s in net.sectors]
    pool_days = [days(p, net.pool_days.loc[p]) for p in net.products]
    defer_days = []
    for sname in net.sectors:
        row = net.defer_days.loc[sname]
        key = f"responses.{sname}.deferrable_days"
        defer_days.append(Uncertain(key, sc.deferrable_days[sname]) if sname in sc.deferrable_days else
                          Uncertain(key, (float(row["low"]), float(row["days"]), float(row["high"]))))
    stockpile: dict[tuple[int, int], Uncertain] = {}
    for _, row in net.stockpile.iterrows():
        r, p = net.regions.index(row["region"]), net.products.index(row["product"])
        stockpile[(r, p)] = Uncertain(f"stockpiles.{row['region']}.{row['product']}",
                                      (float(row["low"]), float(row["tonnes"]), float(row["high"])))
    for reg, prods in sc.stockpiles.items():
        for prod, val in prods.items():
            stockpile[(net.regions.index(reg), net.products.index(prod))] = Uncertain(f"stockpiles.{reg}.{prod}", val)

    columns: list[tuple[Uncertain, float]] = []
    col_of: dict[tuple[str, float], int] = {}

    def col(key: str, val: Number, scale: float = 1.0) -> int:
        if isinstance(val, str):
            u = _param_spec(sc, net, val[1:])
        else:
            u = Uncertain(key, val)
        ident = (u.key if u.is_random else f"const:{u.spec}", scale)
        if ident not in col_of:
            col_of[ident] = len(columns)
            columns.append((u, scale))
        return col_of[ident]

    neg_cfg = sc.negotiation
    neg_start = sc.day_of(neg_cfg.start) if neg_cfg.start is not None else 0
    neg: list[tuple[Uncertain, float]] = []
    for slot in NEG_PARAMS:
        name, key = slot, f"negotiation.{slot}"
        if name.startswith("strategy_"):
            side = name[-2:].upper()
            neg.append((Uncertain(key, float(STRATEGIES[neg_cfg.strategies.get(side, "reciprocal")])), 1.0))
            continue
        if name in SIDE_RESOLVES and name not in neg_cfg.parameters:
            # Resolve from evidence: the one shared share of GDP (the same key, so the same draw
            # for both sides) on each side's own GDP; a side's pain relative to its economy then
            # decides who blinks first, not two independent assumptions.
            key, name = "negotiation.resolve", "resolve"
        if name in neg_cfg.parameters:
            u = Uncertain(key, neg_cfg.parameters[name])
        elif name in COMPLIANCE_MEANS and name not in net.negotiation.index:
            u = Uncertain(key, -1.0)  # the side chooses its compliance at each deal (unless a dataset imposes one)
        else:
            row = net.negotiation.loc[name]
            u = Uncertain(key, (float(row["low"]), float(row["value"]), float(row["high"])))
        scale = 1.0
        if slot in SIDE_RESOLVES:  # % of the side's GDP per year -> US$ bn per day
            scale = _gdp_bn_per_day(sc, net, slot[-2:]) / 100.0
        neg.append((u, scale))
    neg_offset = tuple(status_quo_ante(net, slot[-2:]) if slot in TARIFFS_KEPT else 0.0 for slot in NEG_PARAMS)
    if neg_cfg.enabled and not net.groups:
        # A deal's terms are tariffs on the goods the two sides trade; with none there is nothing to set.
        raise StandoffError(f"the talks bargain over tariffs on goods trade, and dataset {net.name}'s trade_goods.csv "
                            "has no rows; add the goods the two sides trade, or leave negotiation off",
                            file=sc.source, field="negotiation.enabled", value="true")

    rows: list[tuple[int, int, int, int, int, int]] = []
    talks: list[tuple[int, str]] = []
    # Suspensions of announced controls (dropped, like any outcome, when the game decides).
    suspended = {ev.control: sc.day_of(ev.date) for ev in sc.events if isinstance(ev, SuspendEvent)
                 and not (neg_cfg.enabled and ev.outcome and sc.day_of(ev.date) >= neg_start)}
    for k, ev in enumerate(sc.events):
        day = sc.day_of(ev.date)
        if neg_cfg.enabled and ev.outcome and day >= neg_start:
            continue  # the game decides this outcome
        name = ev.id or str(k)
        key = f"events.{name}"
        if isinstance(ev, TariffEvent):
            e, i = net.regions.index(ev.exporter), net.regions.index(ev.importer)
            groups = net.groups if ev.groups == "all" else ev.groups
            if ev.postponable and not neg_cfg.enabled:
                continue  # its fate is the talks'; without them the outcome events say what became of it
            c = col(f"{key}.rate", ev.rate)
            if ev.postponable:
                side = 0 if ev.importer == net.us_region else 1
                announced = max(sc.day_of(ev.announced), 0) if ev.announced is not None else 0
                if announced < day:
                    rows.append((announced, engine.A_ANNOUNCE_TARIFF, side, day, 0, c))
                rows.append((day, engine.A_POSTPONABLE_TARIFF, e, i, side, c))
                continue
            for gname in groups:
                rows.append((day, engine.A_TARIFF, e, i, net.groups.index(gname), c))
        elif isinstance(ev, ExportControlEvent):
            rows += _control_rows(sc, net, ev, day, key, col, suspended.get(ev.id) if ev.id else None)
        elif isinstance(ev, CounterMeasureEvent):
            rows.append((day, engine.A_CM, net.measures.index(ev.measure), 0, 0,
                         col(f"{key}.active", 1.0 if ev.active else 0.0)))
        elif isinstance(ev, StockpileReleaseEvent):
            rows.append((day, engine.A_RELEASE, net.regions.index(ev.region), net.products.index(ev.product), 0,
                         col(f"{key}.tonnes_per_day", ev.tonnes_per_day)))
        elif isinstance(ev, StockpileBuyEvent):
            rows.append((day, engine.A_BUY, net.regions.index(ev.region), net.products.index(ev.product), 0,
                         col(f"{key}.tonnes_per_day", ev.tonnes_per_day)))
        elif isinstance(ev, OutputLimitEvent):
            rows.append((day, engine.A_OUTPUT_LIMIT, net.regions.index(ev.region), net.products.index(ev.product), 0,
                         col(f"{key}.share_of_baseline", ev.share_of_baseline)))
        elif isinstance(ev, OutputHaltEvent):
            r, p = net.regions.index(ev.region), net.products.index(ev.product)
            rows.append((day, engine.A_OUTPUT_HALT, r, p, 0, col(f"{key}.share", ev.share)))
            if day + ev.days < sc.horizon_days:
                rows.append((day + ev.days, engine.A_OUTPUT_HALT, r, p, 0, col(f"{key}.ends", 0.0)))
        elif isinstance(ev, CapacityEvent):
            ramp = max(ev.ramp_days, 1)
            c = col(f"{key}.tonnes_per_year", ev.tonnes_per_year, 1.0 / DAYS_PER_YEAR / ramp)
            r, p = net.regions.index(ev.region), net.products.index(ev.product)
            for d in range(day, min(day + ramp, sc.horizon_days)):
                rows.append((d, engine.A_CAPACITY, r, p, 0, c))
        elif isinstance(ev, PoliticalCalendarEvent):
            side = 0 if ev.side == "US" else 1
            rows.append((day, engine.A_RESOLVE, side, 0, 0, col(f"{key}.resolve_multiplier", ev.resolve_multiplier)))
            end = sc.day_of(ev.until)
            if end < sc.horizon_days:
                rows.append((end, engine.A_RESOLVE, side, 0, 0, col(f"{key}.ends", 1.0)))
        elif isinstance(ev, TalksEvent):
            rows.append((day, engine.A_TALKS, 0, 0, 0, col(f"{key}.marker", 0.0)))
            talks.append((day, ev.name))
    rows.sort(key=lambda x: x[0])  # stable: same-day events keep their written order
    arr = np.array(rows, dtype=np.int64).reshape(-1, 6)
    actions = {n: np.ascontiguousarray(arr[:, j]) for j, n in enumerate(("day", "kind", "a0", "a1", "a2", "col"))}
    return Plan(sc, net, params, sector_days, pool_days, defer_days, stockpile, columns, actions, talks, neg, neg_cfg.enabled,
                neg_start, neg_offset=neg_offset)


@dataclass
class Chunk:
    """Outputs of members ``start .. start + n - 1``."""

    start: int
    n: int
    arrays: dict[str, np.ndarray]
    #: Each block's state at the day a run was asked to save it (first member -> arrays), and
    #: the digest of what decided its world before that day (:mod:`standoff.state`).
    states: dict[int, dict[str, np.ndarray]] | None = None
    digests: dict[int, str] | None = None


def _control_rows(sc: Scenario, net: Network, ev: ExportControlEvent, day: int, key: str, col: Any,
                  suspended: int | None) -> list[tuple[int, int, int, int, int, int]]:
    """Timeline rows of one export-control event: buying ahead from its announcement until it takes
    effect (or is suspended), and its terms on every named route from its effective day (none if
    it was suspended first)."""
    R = len(net.regions)
    e = net.regions.index(ev.exporter)
    dests = [i for i in range(R) if i != e] if ev.destinations == "all" else \
        [net.regions.index(d) for d in ev.destinations if d != ev.exporter]
    eff = sc.day_of(ev.effective_date)
    by_sector = isinstance(ev.coverage, dict)
    cv = None if (by_sector or ev.coverage is None) else col(f"{key}.coverage", ev.coverage)
    rows: list[tuple[int, int, int, int, int, int]] = []
    if eff > day:
        on = cv if cv is not None else col(f"{key}.announced", 1.0)
        off = col(f"{key}.announced_end", 0.0)
        end = suspended if suspended is not None else eff
        for pname in ev.products:
            p = net.products.index(pname)
            for i in dests:
                rows += [(day, A_TERM + T_AHEAD, p, e, i, on), (end, A_TERM + T_AHEAD, p, e, i, off)]
    if suspended is not None:
        return rows  # suspended before it took effect: nothing changes on the ground
    cm = col(f"{key}.mode", float(MODES[ev.mode]))
    # Every term the event sets (coverage apart: it may be given by sector, or kept as in force).
    # A term not given (None) keeps the value in force on the route.
    terms = [(A_TERM + k, col(f"{key}.{term.field}", getattr(ev, term.field)))
             for k, term in enumerate(ROUTE_TERMS)
             if term.field not in (None, "coverage") and getattr(ev, term.field) is not None]
    # Warm only when the control says it was in force before the scenario: a later regime on the
    # route (after a ban, say) starts cold.
    terms.append((A_TERM + T_WARM, col(f"{key}.in_force", 1.0 if ev.in_force_since is not None else 0.0)))
    demand = np.asarray(net.demand, dtype=float)
    for pname in ev.products:
        p = net.products.index(pname)
        for i in dests:
            rows += [(eff, engine.A_CTRL_MODE, p, e, i, cm)] + [(eff, kind, p, e, i, c) for kind, c in terms]
            if cv is not None:
                rows.append((eff, A_TERM + T_COVER, p, e, i, cv))
            if not by_sector:
                continue
            # Coverage by buying sector: the importer's sectors' shares of its use of the product
            # (the world's, where the importer has no such sector), each times its coverage.
            users = [s for s in range(len(net.sectors)) if int(net.critical[s]) == p]
            w = demand[i, users] if demand[i, users].sum() > 0.0 else demand[:, users].sum(axis=0)
            w = w / w.sum() if w.sum() > 0.0 else np.full(len(users), 1.0 / len(users))
            rows.append((eff, A_TERM + T_COVER, p, e, i, col(f"{key}.coverage_reset", 0.0)))
            for s, ws in zip(users, w):
                sname = net.sectors[s]
                val = ev.coverage.get(sname, 1.0)  # type: ignore[union-attr]  # unnamed sectors: fully covered
                rows.append((eff, engine.A_CTRL_COVER_ADD, p, e, i, col(f"{key}.coverage.{sname}", val, float(ws))))
    if ev.quota_tonnes_per_year is not None:
        # The year's quota as an annual rate month by month: weight k of the calendar (scaled to a
        # mean of 1) from the k-th month after the effective date; evenly without a calendar.
        cal = ev.quota_calendar or [1.0] * 12
        mean_w = sum(cal) / 12.0
        eff_date = ev.effective_date
        for k, w in enumerate(cal if ev.quota_calendar else cal[:1]):
            y, mth = divmod(eff_date.month - 1 + k, 12)
            d = sc.day_of(eff_date.replace(year=eff_date.year + y, month=mth + 1, day=1)) if k else eff
            if d >= sc.horizon_days:
                break
            for pname in ev.products:
                rows.append((d, engine.A_CTRL_QUOTA, net.products.index(pname), e, 0,
                             col(f"{key}.quota", ev.quota_tonnes_per_year, w / mean_w)))
    return rows


def export_routes(net: Network) -> list[tuple[str, str, str]]:
    """The trade routes between two regions as (product, exporter, importer), in the kernel's
    order: the ``route`` axis of exports by destination (``route_exports_t``)."""
    p, e, i = np.nonzero(np.asarray(net.share) > 0.0)
    return [(net.products[a], net.regions[b], net.regions[c]) for a, b, c in zip(p, e, i) if b != c]


def route_coords(net: Network) -> dict[str, tuple[str, list[str]]]:
    """Coordinates of the ``route`` axis: a label ``PRODUCT EXPORTER>IMPORTER`` and its three parts."""
    routes = export_routes(net)
    return {"route": ("route", [f"{p} {e}>{i}" for p, e, i in routes] or ["none"]),
            "route_product": ("route", [p for p, _, _ in routes] or [""]),
            "route_from": ("route", [e for _, e, _ in routes] or [""]),
            "route_to": ("route", [i for _, _, i in routes] or [""])}


def dim_sizes(net: Network) -> dict[str, int]:
    """Size of every output dimension for ``net`` (see :mod:`standoff.layout`)."""
    return layout_dim_sizes(len(net.regions), len(net.sectors), len(net.products), len(export_routes(net)))


def kernel_inputs(pl: Plan) -> tuple[NetIn, Timeline]:
    """The network's arrays and the plan's timeline as the kernel takes them (:mod:`standoff.layout`)."""
    net = pl.net
    a = pl.actions
    nin = NetIn(net.demand, net.critical, net.coef, net.share, net.flows, net.production, net.use, net.stage_order,
                net.zone, net.side, net.value_per_day, net.unit_kg, net.price_usd_per_t, net.trade_value,
                net.base_tariff, net.cm_group, net.cm_imposer, net.cm_target, net.cm_blocked, net.cm_multiplier,
                net.salience, net.decay_days,
                net.sectors.index(net.first_claim_sector) if net.first_claim_sector else -1,
                net.products.index(net.key_product), net.sectors.index(net.lead_sector),
                net.regions.index(net.cn_region), net.regions.index(net.us_region),
                firm_cover_multipliers(pl.scenario.firms or DEFAULT_FIRMS), net.markets, *net.bid_ladder)
    return nin, Timeline(a["day"], a["kind"], a["a0"], a["a1"], a["a2"], a["col"])


def run_chunk(pl: Plan, start: int, n: int, full_precision: bool = False, save_day: int | None = None,
              resume: "SavedState | None" = None) -> Chunk:
    """Run members ``start .. start + n - 1`` in this process.

    Per-member outputs are returned as float32 unless ``full_precision`` (float64, as the
    kernel computes them; used to compare with :mod:`standoff.core.reference` bit for bit).
    ``save_day``: also keep each block's state at the start of that day (``Chunk.states``);
    ``resume``: start each block from a saved state instead of day 0 (:mod:`standoff.state`).
    """
    net = pl.net
    sizes = dim_sizes(net)
    T = pl.scenario.horizon_days
    n_keep = min(pl.scenario.trajectories, pl.members)
    keep_here = max(0, min(n, n_keep - start))
    out = {k: np.zeros((n, *[sizes[d] for d in dims])) for k, dims in OUTPUT_SHAPES.items()}
    tr = {k: np.zeros((keep_here, T, *[sizes[d] for d in dims]), dtype=np.float64) for k, dims in TRAJ_SHAPES.items()}
    inputs = pl.draw(start, n)
    nin, tl = kernel_inputs(pl)
    states: dict[int, dict[str, np.ndarray]] = {}
    digests: dict[int, str] = {}
    # Blocks of BLOCK members where states are saved or resumed (their layout), else KERNEL_BLOCK.
    blk = BLOCK if (save_day is not None or resume is not None) else KERNEL_BLOCK
    for b in range(0, n, blk):
        m = min(blk, n - b)
        sl = slice(b, b + m)
        kb = max(0, min(m, keep_here - b))
        trs = {k: (v[b:b + kb] if kb > 0 else np.zeros((0, *v.shape[1:]))) for k, v in tr.items()}
        inp = Inputs(*[np.ascontiguousarray(inputs[f][sl]) for f in Inputs._fields])
        outs = Outputs(*[out[k][sl] for k in OUTPUT_SHAPES])
        paths = PathsOut(*[trs[k] for k in TRAJ_SHAPES])
        if save_day is None and resume is None:
            engine.run_block(start + b, T, np.uint64(pl.scenario.seed), pl.neg_on, pl.neg_start, n_keep, inp, tl, nin,
                             outs, paths)
            continue
        saved = _run_block_in_steps(pl, start + b, n_keep, inp, tl, nin, outs, paths, save_day, resume)
        if saved is not None:
            states[start + b], digests[start + b] = saved
    check_finite(pl, start, out, tr)
    # Per-member outputs are kept as float32 (days are exact, money to 7 digits): half the memory.
    dtype = np.float64 if full_precision else np.float32
    out = {k: v.astype(dtype) for k, v in out.items()}
    out.update({f"traj:{k}": (v if full_precision else bitround(v.astype(np.float32), PATH_BITS)) for k, v in tr.items()})
    out["inputs"] = np.column_stack([pl._sample(u, start, n) for u in pl.uncertain_inputs()]) \
        if pl.uncertain_inputs() else np.zeros((n, 0))
    return Chunk(start, n, out, states if save_day is not None else None, digests if save_day is not None else None)


def _run_block_in_steps(pl: Plan, first: int, n_keep: int, inp: Inputs, tl: Timeline, nin: NetIn, outs: Outputs,
                        paths: PathsOut, save_day: int | None,
                        resume: "SavedState | None") -> tuple[dict[str, np.ndarray], str] | None:
    """One block as :func:`engine.run_block` runs it, but in steps: from a saved state (at its
    day, after checking that the world before it is this plan's) and/or stopping at
    ``save_day`` to copy the state.  Returns the saved arrays and the world's digest, or None."""
    from . import state as S
    T = pl.scenario.horizon_days
    seed = np.uint64(pl.scenario.seed)
    st = engine.init_block(first, n_keep, inp, nin, outs, paths)
    evT = np.ascontiguousarray(inp.ev.T)
    t0, ap = 0, 0
    if resume is not None:
        if first not in resume.blocks:
            raise StandoffError("the saved state has no block starting at this member (resume with the saving "
                                "run's members, in one process)", field="resume", value=first)
        if S.world_digest(pl, first, inp, nin, tl, resume.day) != resume.digests.get(first):
            raise StandoffError(f"this scenario's world before {resume.date} (day {resume.day}) is not the saved "
                                f"run's ({resume.scenario}): the dataset, seed, members, horizon, a drawn input or "
                                "an event dated before that day differs; only events from that day on may differ",
                                field="resume", value=resume.date)
        S.restore(st, resume.blocks[first])
        t0 = resume.day
        ap = int(np.searchsorted(tl.day, t0, side="left"))  # the actions dated before it are applied
    saved = None
    if save_day is not None:
        if save_day < t0:
            raise StandoffError("the day to save the state is before the day the run resumes from",
                                field="save_state", value=save_day)
        ap = engine.run_days(t0, save_day, T, first, seed, pl.neg_on, pl.neg_start, tl, evT, ap, *st[:-1])
        saved = (S.snapshot(st), S.world_digest(pl, first, inp, nin, tl, save_day))
        t0 = save_day
    engine.run_days(t0, T, T, first, seed, pl.neg_on, pl.neg_start, tl, evT, ap, *st[:-1])
    net, _, stocks, _, sec, ship, _, _, pol, acc, _, _, initial = st
    engine.write_outputs(net, stocks, sec, ship, pol, acc, initial, outs)
    return saved


#: Mantissa bits the daily paths keep (of float32's 23): a relative error of at most 2**-13 (1.2e-4,
#: about four significant digits), which no chart or monthly table shows, and the run folder
#: compresses about three times smaller (its low bits are zeros, not noise).  Per-member outputs
#: keep all their bits.
PATH_BITS = 12


def bitround(a: np.ndarray, keep: int) -> np.ndarray:
    """``a`` (float32, finite) rounded to ``keep`` mantissa bits, to nearest, ties to even
    (bit rounding, Klöwer et al. 2021, Nature Computational Science 1: 713-724): what is lost is
    below the model's accuracy and what is left compresses well.  Returns a new array."""
    drop = np.uint32(23 - keep)
    b = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    half = np.uint32((1 << (23 - keep - 1)) - 1)
    odd = (b >> drop) & np.uint32(1)
    r = (b + half + odd) & ~np.uint32((1 << (23 - keep)) - 1)
    return r.view(np.float32)


#: Outputs in which NaN means "did not happen within the horizon" (or "no demand to share"),
#: not a fault.  Every other output and every daily path must be a finite number.
NAN_ALLOWED = frozenset({"first_stockout_day", "negotiation", "rebuild_days", "stockpile_empty_day",
                         "china_share_end"})


def check_finite(pl: Plan, start: int, out: dict[str, np.ndarray], paths: dict[str, np.ndarray]) -> None:
    """Refuse a chunk whose results hold NaN or infinity where a number is required.

    A run that exits 0 with NaN losses, or with "no stockout" because a comparison with NaN
    is always false, is the worst answer a user can get: a confident wrong one.  The
    parameter domains (:mod:`standoff.domains`) keep known causes out; this is the net for
    unknown ones.  The first bad member is run again in :mod:`standoff.core.reference` to name
    the day and the stage where its numbers first go bad.

    Raises
    ------
    StandoffError
        Naming the member, the day (and date), the stage and the state arrays at fault.
    """
    bad_members: set[int] = set()
    bad_outputs: list[str] = []
    for name, arr in [*out.items(), *((f"path {k}", v) for k, v in paths.items())]:
        if arr.size == 0:
            continue
        flat = arr.reshape(arr.shape[0], -1)
        wrong = np.isinf(flat) if name in NAN_ALLOWED else ~np.isfinite(flat)
        rows = np.nonzero(wrong.any(axis=1))[0]
        if len(rows):
            bad_outputs.append(name)
            bad_members.update(int(r) for r in rows)
    if not bad_members:
        return
    member = start + min(bad_members)
    from .core.reference import first_nonfinite  # only when something went wrong: the reference is slow
    where = first_nonfinite(pl, member)
    sc = pl.scenario
    if where is None:
        place = "no stage's state went bad, so the fault is in how the outputs are summarised"
    else:
        day, stage, arrays = where
        date = sc.start + dt.timedelta(days=day)
        place = (f"its numbers first go bad on day {day} ({date}) in stage {stage}" +
                 (f" (state arrays {', '.join(arrays)})" if arrays else ""))
    raise StandoffError(
        f"the model produced NaN or infinity in {', '.join(bad_outputs[:6])} for {len(bad_members)} member(s) of this "
        f"chunk; nothing was written. Member {member} (seed {sc.seed}): {place}. Every input lay in its declared "
        "domain, so this is a defect of standoff: please report it with the scenario file",
        file=sc.source)


def chunks(members: int, n_chunks: int) -> list[tuple[int, int]]:
    """Split ``members`` into at most ``n_chunks`` ranges whose starts are multiples of :data:`BLOCK`."""
    blocks = math.ceil(members / BLOCK)
    n_chunks = max(1, min(n_chunks, blocks))
    per = math.ceil(blocks / n_chunks)
    out = []
    for c in range(n_chunks):
        s = c * per * BLOCK
        if s >= members:
            break
        out.append((s, min(members, s + per * BLOCK) - s))
    return out


class Executor(Protocol):
    """Runs a plan's chunks and yields them as they finish (any order)."""

    def map(self, pl: Plan, ranges: list[tuple[int, int]]) -> Iterator[Chunk]: ...


class SerialExecutor:
    """Runs chunks one after another in this process."""

    def __init__(self, chunk_members: int = BLOCK) -> None:
        self.chunk_members = chunk_members

    def split(self, members: int) -> list[tuple[int, int]]:
        return chunks(members, math.ceil(members / self.chunk_members))

    def map(self, pl: Plan, ranges: list[tuple[int, int]]) -> Iterator[Chunk]:
        for s, n in ranges:
            yield run_chunk(pl, s, n)


ProgressFn = Callable[[int, int], None]


# ---------------------------------------------------------------- before a run: memory and compilation

def memory_needed(pl: Plan) -> int:
    """Bytes a full (not streamed) run of ``pl`` holds at its peak, roughly.

    Per member: the outputs in float64 in the chunks and again when they are joined, and the
    sampled inputs; plus the kept daily paths (``trajectories`` members) twice over.  An
    estimate for refusing runs that cannot fit, not an accounting: it errs high by ~20%.
    """
    sizes = dim_sizes(pl.net)
    per_member = sum(math.prod(sizes[d] for d in dims) for dims in OUTPUT_SHAPES.values())
    per_member = 2 * 8 * per_member + 2 * 8 * len(pl.uncertain_inputs())
    T = pl.scenario.horizon_days
    keep = min(pl.scenario.trajectories, pl.members)
    per_path = sum(math.prod(sizes[d] for d in dims) for dims in TRAJ_SHAPES.values())
    return int(pl.members * per_member + 2 * 8 * keep * T * per_path + 300e6)


#: Where Linux states a container's memory limit (cgroup v2, then v1).
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def _own_cgroup_limits() -> list[str]:
    """The memory limit files of this process's cgroup (v2 or v1) and of each cgroup above it
    (the tightest counts)."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as fh:
            lines = fh.read(4096).splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        hier, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        parts = [p for p in path.split("/") if p]
        for k in range(len(parts), 0, -1):
            if hier == "0" and controllers == "":  # cgroup v2
                out.append("/sys/fs/cgroup/" + "/".join(parts[:k]) + "/memory.max")
            elif "memory" in controllers.split(","):  # cgroup v1
                out.append("/sys/fs/cgroup/memory/" + "/".join(parts[:k]) + "/memory.limit_in_bytes")
    return out


def _memory_total() -> int:
    """Memory this process may use: the machine's, or less where a cgroup (a container, a
    systemd slice, a batch job) or an address-space limit says so.  0 if it cannot be told."""
    import os
    limits = []
    try:
        limits.append(int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")))
    except (ValueError, OSError, AttributeError):  # not POSIX
        pass
    for path in (*_own_cgroup_limits(), *CGROUP_LIMITS):
        try:
            with open(path, encoding="ascii") as fh:
                text = fh.read(64).strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:  # "max", or v1's huge number, mean no limit
            limits.append(int(text))
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            limits.append(int(soft))
    except (ImportError, ValueError, OSError):
        pass
    return min(limits) if limits else 0


def check_memory(pl: Plan, fraction: float = 0.8) -> None:
    """Refuse a full run that would need more than ``fraction`` of this machine's memory.

    Raises
    ------
    StandoffError
        Naming ``members``, the memory the run needs and what the machine has, and pointing
        to ``--stream`` (summaries in memory that does not grow with members).
    """
    total = _memory_total()
    need = memory_needed(pl)
    if total and need > fraction * total:
        raise StandoffError(f"a full run of {pl.members:,} members needs about {need / 2**30:,.1f} GiB of memory and "
                            f"this process may use {total / 2**30:,.1f} GiB (the machine's memory or its container's limit); use --stream (summaries only, memory that "
                            "does not grow with members) or fewer members", file=pl.scenario.source,
                            field="members", value=pl.members)


def engine_ready() -> bool:
    """Whether the compiled kernel is already loaded in this process."""
    return bool(engine.run_block.signatures)


def engine_cached() -> bool:
    """Whether numba's on-disk cache holds the kernel compiled from the current sources.

    A cold compile takes about a minute; loading takes seconds.  Reads the cache index the
    way numba does (its stamp must be the digest of today's kernel modules, see
    :mod:`standoff.core._jit`); False if that cannot be told.
    """
    try:
        return bool(engine.run_block._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - numba internals: when in doubt, say "compiling"
        return False


def warm_up(pl: Plan) -> None:
    """Compile (or load from the cache) the kernel by running one member of ``pl`` (a few ms once compiled)."""
    run_chunk(pl, 0, 1)
