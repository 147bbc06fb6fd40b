"""Outcomes as objects: what a comparison, a sensitivity study, scenario discovery, a resilience
search, a precision target or the dashboard asks of a run, parsed once.

An outcome is written as a short spec (in the manner of EMA Workbench's ``ScalarOutcome``: a
name, how it is read from the results, and whether it is censored):

- ``loss:REGION:SECTOR``: output lost, US$ bn;
- ``stockout:REGION:SECTOR``: the first stockout day, a time to an event (censored at the
  horizon when it does not happen); ``@DAYS`` asks "within DAYS days" where a probability is
  wanted (precision targets);
- ``pain:SIDE``: total pain, US$ bn;
- ``price:REGION:PRODUCT``: the peak price multiple;
- ``concede:SIDE``: the first day a side's pressure passes its resolve, a time to an event;
- ``first:SIDE``: 1 where that side's pressure passes its resolve before the other's (the
  other's never passing counts as later), else 0: who blinks first, whose mean is its
  probability (``Results.concessions().attrs["p_cn_first"]``).

:func:`default_outcomes` derives the outcomes a command shows by default from the dataset's
declaration (the US side, the lead sector, the headline importers), so no default names a
region, sector or product of one dataset.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import StandoffError
from .layout import SIDES

if TYPE_CHECKING:
    from .network import Network

#: The kinds of outcome and the dimensions their names run along.
KINDS: dict[str, tuple[str, ...]] = {"loss": ("region", "sector"), "stockout": ("region", "sector"),
                                     "pain": ("side",), "price": ("region", "product"), "concede": ("side",),
                                     "first": ("side",)}
#: Kinds that are days until an event, censored at the horizon when it does not happen.
TIME_TO_EVENT = ("stockout", "concede")
FORMS = ("loss:REGION:SECTOR, stockout:REGION:SECTOR, pain:SIDE, price:REGION:PRODUCT, concede:SIDE or "
         "first:SIDE")


@dataclass(frozen=True)
class Outcome:
    """One outcome of a run: its kind, the names it reads (region and sector, region and product,
    or side) and, for a time-to-event outcome, an optional window in days."""

    kind: str
    names: tuple[str, ...]
    within: int | None = None

    # ---- parsing
    @classmethod
    def parse(cls, spec: str, net: "Network | None" = None, field: str = "outcome") -> "Outcome":
        """Parse ``spec``; with ``net``, check its names against the dataset.

        Raises
        ------
        StandoffError
            Naming ``field`` and the spec: a malformed spec, an unknown kind or an unknown name.
        """
        if isinstance(spec, Outcome):
            if net is not None:
                spec.check(net, field)
            return spec
        text, at, within = str(spec).partition("@")
        parts = text.split(":")
        dims = KINDS.get(parts[0])
        if dims is None or len(parts) != len(dims) + 1:
            raise StandoffError("outcome must be " + FORMS, field=field, value=spec)
        days = None
        if at:
            if parts[0] not in TIME_TO_EVENT or not within.isdigit():
                raise StandoffError("'@DAYS' takes a whole number of days, after stockout:... or concede:...",
                                    field=field, value=spec)
            days = int(within)
        out = cls(parts[0], tuple(parts[1:]), days)
        if net is not None:
            out.check(net, field)
        return out

    def check(self, net: "Network", field: str = "outcome") -> None:
        """Refuse a name the dataset does not have."""
        for dim, name in zip(KINDS[self.kind], self.names, strict=True):
            known = list(SIDES) if dim == "side" else getattr(net, dim + "s")
            if name not in known:
                raise StandoffError(f"unknown {dim} in outcome; known: {', '.join(known)}", field=field,
                                    value=self.spec)

    # ---- what it is
    @property
    def spec(self) -> str:
        """The outcome written as a spec (``loss:USA:autos``)."""
        return ":".join((self.kind, *self.names)) + (f"@{self.within}" if self.within is not None else "")

    @property
    def base(self) -> str:
        """The spec without its window."""
        return ":".join((self.kind, *self.names))

    @property
    def time_to_event(self) -> bool:
        return self.kind in TIME_TO_EVENT

    def __str__(self) -> str:
        return self.spec

    # ---- reading it from results
    def _select(self, res: Any) -> np.ndarray:
        ds = res.ds
        try:
            if self.kind == "loss":
                return ds["output_loss_usd_bn"].sel(region=self.names[0], sector=self.names[1]).values
            if self.kind == "stockout":
                return ds["first_stockout_day"].sel(region=self.names[0], sector=self.names[1]).values
            if self.kind == "pain":
                return ds["pain_usd_bn"].sel(side=self.names[0]).sum("pain_kind").values
            if self.kind == "price":
                return ds["peak_price_multiple"].sel(region=self.names[0], product=self.names[1]).values
            if self.kind == "first":
                other = [s for s in SIDES if s != self.names[0]][0]
                mine = ds["negotiation"].sel(neg_output=f"first_concession_day_{self.names[0].lower()}").values
                theirs = ds["negotiation"].sel(neg_output=f"first_concession_day_{other.lower()}").values
                a, b = np.where(np.isnan(mine), np.inf, mine), np.where(np.isnan(theirs), np.inf, theirs)
                return (a < b).astype(float)
            return ds["negotiation"].sel(neg_output=f"first_concession_day_{self.names[0].lower()}").values
        except KeyError as exc:
            raise StandoffError(f"unknown name in outcome: {exc}", field="outcome", value=self.spec) from None

    def values(self, res: Any) -> np.ndarray:
        """Per-member values; a time-to-event outcome that did not happen counts as the horizon
        (the restricted time to the event)."""
        x = self._select(res)
        if self.time_to_event:
            return np.where(np.isnan(x), res.scenario.horizon_days, x)
        return x

    def event_days(self, res: Any) -> np.ndarray:
        """Per-member day of a time-to-event outcome, ``inf`` where it did not happen."""
        if not self.time_to_event:
            raise StandoffError("not a time-to-event outcome (stockout:REGION:SECTOR or concede:SIDE)",
                                field="outcome", value=self.spec)
        d = self._select(res)
        return np.where(np.isnan(d), np.inf, d.astype(float))

    def censored_share(self, res: Any) -> float:
        """Share of members in which a time-to-event outcome did not happen (0 for other kinds)."""
        if not self.time_to_event:
            return 0.0
        return float(np.mean(~np.isfinite(self.event_days(res))))


def default_outcomes(net: "Network") -> list[Outcome]:
    """What ``compare`` shows by default, from the dataset's declaration: the lead sector's loss
    in each headline importer (the US side first), the US side's first stockouts of the lead
    sector and of the first-claim sector, and each side's pain."""
    lead = net.lead_sector
    regions = [net.us_region, *[r for r in net.headline_importers if r != net.us_region]]
    out = [Outcome("loss", (r, lead)) for r in regions]
    out.append(Outcome("stockout", (net.us_region, lead)))
    if net.first_claim_sector and net.first_claim_sector != lead:
        out.append(Outcome("stockout", (net.us_region, net.first_claim_sector)))
    out += [Outcome("pain", ("US",)), Outcome("pain", ("CN",))]
    return out


def default_outcome(net: "Network") -> Outcome:
    """The one outcome a command explains by default (sensitivity): the US side's lead-sector loss."""
    return Outcome("loss", (net.us_region, net.lead_sector))


def default_event(net: "Network") -> Outcome:
    """The event scenario discovery looks for by default: the US side's lead sector running out."""
    return Outcome("stockout", (net.us_region, net.lead_sector))
