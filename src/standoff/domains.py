"""The domain of every model parameter: the values for which the model's arithmetic means something.

A dataset gives each parameter a value and a sourced range (``parameters.csv``,
``negotiation.csv``); a scenario may override it with a number or a distribution.  Neither
may leave the parameter's *domain* declared here: the values for which the mechanism that
reads it is defined.  A time constant of 0 days divides by zero, an elasticity of a million
turns prices into 0**inf, a share of 5 creates material; all of them used to give a run that
exits 0 with NaN losses or "no stockout" under a full ban.  The domains live beside each
parameter's value, range and source in the package's table of model-wide parameters
(``defaults/parameters.csv``, ``defaults/negotiation.csv``); this module reads them.  The
scenario schema (:mod:`standoff.scenario`), the dataset loader
(:mod:`standoff.network`, so ``standoff data --check`` too) and the dashboard (which goes
through the scenario schema) all check against it.

Why the bounds are what they are (each is a limit of meaning, not a plausible range; the
plausible range is the dataset's low-high, with its source):

- time constants (``*_days`` that set a rate of adjustment) are at least one day, the model's
  time step: a first-order adjustment ``x += (target - x) / tau`` overshoots and can diverge
  for ``tau < 1``;
- shares and probabilities lie in [0, 1];
- elasticities and flexibilities are bounded where ``price ** (-elasticity)`` stays a
  representable number over the price range the model allows (floor 0.01x to cap 1000x);
- multiples of a baseline (caps, floors, order multiples) are positive and the cap is at
  least 1 (a cap below the baseline price would make the steady state a shortage);
- delays that place a shipment in the arrival ring (transit, inspection) keep the longest
  trip within the ring (:data:`standoff.layout.RING_DAYS`); ``plan`` checks the sum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .layout import COMPLIANCE_MEANS, SIDE_RESOLVES


@dataclass(frozen=True)
class Domain:
    """The closed interval ``[lo, hi]`` a parameter must lie in, and why."""

    lo: float
    hi: float
    why: str

    def contains(self, x: float) -> bool:
        return math.isfinite(x) and self.lo <= x <= self.hi

    def text(self) -> str:
        return f"[{self.lo:g}, {self.hi:g}] ({self.why})"


DEFAULTS = "defaults"


def _load(table: str) -> dict[str, Domain]:
    """Domains from the package's table of model-wide parameters (``defaults/TABLE.csv``)."""
    import csv
    from importlib import resources
    text = (resources.files("standoff") / DEFAULTS / f"{table}.csv").read_text(encoding="utf-8")
    return {row["name"]: Domain(float(row["domain_low"]), float(row["domain_high"]), row["domain_why"])
            for row in csv.DictReader(text.splitlines())}


#: Dataset parameters (``parameters.csv``): name -> domain (from ``defaults/parameters.csv``).
PARAMETER_DOMAINS: dict[str, Domain] = _load("parameters")
#: Negotiation parameters (``negotiation.csv``): name -> domain (from ``defaults/negotiation.csv``).
NEGOTIATION_DOMAINS: dict[str, Domain] = _load("negotiation")

#: A mean compliance a scenario imposes on a side (``compliance_mean_us``, ``_cn``; no table holds
#: one: by default each side chooses its compliance at a deal).
COMPLIANCE_MEAN = Domain(0.0, 1.0, "a share of the deal's commitments honoured")

#: Bounds for a parameter a dataset adds that no mechanism reads (kept for its own use).
OPEN = Domain(0.0, 1e9, "a non-negative number (no mechanism of standoff reads this parameter)")


def domain(table: str, name: str) -> Domain:
    """The domain of parameter ``name`` of ``table`` (``parameters`` or ``negotiation``)."""
    doms = PARAMETER_DOMAINS if table == "parameters" else NEGOTIATION_DOMAINS
    if table == "negotiation" and name in SIDE_RESOLVES:  # one side's own resolve
        name = "resolve"
    if table == "negotiation" and name in COMPLIANCE_MEANS:
        return COMPLIANCE_MEAN  # a scenario's own view; by default compliance is chosen
    return doms.get(name, OPEN)


def range_problem(value: float, low: float, high: float, dom: Domain) -> str | None:
    """What is wrong with a dataset row ``value, low, high`` in domain ``dom``, or ``None``.

    Examples
    --------
    >>> range_problem(30, 15, 45, PARAMETER_DOMAINS["order_adjust_days"]) is None
    True
    >>> range_problem(0, 0, 0, PARAMETER_DOMAINS["order_adjust_days"])[:28]
    'value 0 outside its domain ['
    """
    for label, x in (("value", value), ("low", low), ("high", high)):
        if not dom.contains(x):
            return f"{label} {x:g} outside its domain {dom.text()}"
    if not low <= value <= high:
        return f"need low <= value <= high (low {low:g}, value {value:g}, high {high:g})"
    return None
