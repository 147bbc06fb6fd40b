"""The domain of every model parameter: the values for which the model's arithmetic means something.

A dataset gives each parameter a value and a sourced range (``parameters.csv``,
``negotiation.csv``); a scenario may override it with a number or a distribution.  Neither
may leave the parameter's *domain* declared here: the values for which the mechanism that
reads it is defined.  A time constant of 0 days divides by zero, an elasticity of a million
turns prices into 0**inf, a share of 5 creates material; all of them used to give a run that
exits 0 with NaN losses or "no stockout" under a full ban.  This is the one table of such
limits: the scenario schema (:mod:`standoff.scenario`), the dataset loader
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


_TAU = "a time constant: at least the one-day time step"
_SHARE = "a share"
_PROB = "a probability"
_DAYS = "days"

#: Dataset parameters (``parameters.csv``): name -> domain.
PARAMETER_DOMAINS: dict[str, Domain] = {
    "import_demand_elasticity": Domain(0.0, 20.0, "an import-demand elasticity (Armington values lie below 20)"),
    "tariff_pass_through": Domain(0.0, 1.0, _SHARE),
    "trade_diversion_share": Domain(0.0, 1.0, _SHARE),
    "diversion_cost_premium": Domain(0.0, 5.0, "a price premium as a share of the price"),
    "exporter_redirect_share": Domain(0.0, 1.0, _SHARE),
    "trade_adjust_days": Domain(1.0, 3650.0, _TAU),
    "re_price_elasticity": Domain(0.0, 3.0, "a short-run own-price elasticity of a critical input (|e| <= 3 keeps "
                                  "price**(-e) finite over the allowed price range)"),
    "price_flexibility": Domain(0.05, 20.0, "the exponent 1/flexibility of the price rule must stay finite"),
    "price_cap": Domain(1.0, 1000.0, "a multiple of the baseline price, at least 1"),
    "price_floor": Domain(0.01, 1.0, "a positive multiple of the baseline price, at most 1"),
    "price_response_days": Domain(1.0, 3650.0, _TAU),
    "substitution_max_share": Domain(0.0, 0.9, "a share of use that substitution and thrift can remove (an input "
                                     "that can be replaced entirely is no chokepoint)"),
    "substitution_rate_per_year": Domain(0.0, 1.0, "a share of demand substituted per year (at most all of it in a year)"),
    "capacity_growth_per_year": Domain(0.0, 1.0, "a share of the market added per year"),
    "investment_signal_days": Domain(1.0, 3650.0, _TAU),
    "order_adjust_days": Domain(1.0, 3650.0, _TAU),
    "capacity_headroom": Domain(0.0, 1.0, "spare capacity as a share of baseline output (at most double)"),
    "transit_days_same_zone": Domain(0.0, 90.0, "days at sea (the longest trip must fit the arrival ring)"),
    "transit_days_cross_zone": Domain(0.0, 90.0, "days at sea (the longest trip must fit the arrival ring)"),
    "licence_approval_share": Domain(0.0, 1.0, _PROB),
    "stockout_threshold": Domain(0.5, 1.0, "a share of the requirement; below one half 'stockout' loses its meaning"),
    "defense_strategic_weight": Domain(0.0, 100.0, "a weight on money value"),
    "max_order_multiple": Domain(1.0, 10.0, "a multiple of current use, at least 1 (buyers must be able to order "
                                 "what they use)"),
    "china_export_redirect_share": Domain(0.0, 1.0, _SHARE),
    "licence_delay_days": Domain(0.0, 365.0, _DAYS),
    "licence_review_min_days": Domain(0.0, 365.0, _DAYS),
    "customs_inspection_days": Domain(0.0, 30.0, "days in customs (the longest trip must fit the arrival ring)"),
    "licence_patience_days": Domain(1.0, 3650.0, _DAYS + ", at least one"),
    "licence_reapply_days": Domain(1.0, 3650.0, _DAYS + ", at least one"),
    "licence_validity_days": Domain(1.0, 3650.0, _DAYS + ", at least one"),
    "buy_ahead_days": Domain(0.0, 365.0, "days of purchases"),
    "finish_rate": Domain(0.0, 10.0, "a multiple of daily use"),
    "deferral_cost_share": Domain(0.0, 1.0, "a share of value"),
    "expectation_days": Domain(1.0, 3650.0, _TAU),
    "precaution_max": Domain(0.0, 10.0, "a multiple of the target stock"),
    "speculation_days": Domain(0.0, 365.0, "days of use"),
    "momentum_scale": Domain(0.01, 10.0, "a share of the moving average; divides the momentum"),
}

#: Negotiation parameters (``negotiation.csv``): name -> domain.
NEGOTIATION_DOMAINS: dict[str, Domain] = {
    "resolve_us": Domain(0.001, 100.0, "% of GDP per year; pain is divided by it"),
    "resolve_cn": Domain(0.001, 100.0, "% of GDP per year; pain is divided by it"),
    "trust0_us": Domain(0.0, 1.0, "trust is a share"),
    "trust0_cn": Domain(0.0, 1.0, "trust is a share"),
    "noise_us": Domain(0.0, 5.0, "a standard deviation of observed compliance"),
    "noise_cn": Domain(0.0, 5.0, "a standard deviation of observed compliance"),
    "compliance_mean_us": Domain(0.0, 1.0, _SHARE),
    "compliance_sd_us": Domain(0.0, 1.0, "a standard deviation of a share"),
    "compliance_mean_cn": Domain(0.0, 1.0, _SHARE),
    "compliance_sd_cn": Domain(0.0, 1.0, "a standard deviation of a share"),
    "threshold": Domain(0.0, 1.0, "a compliance share"),
    "forgiveness": Domain(0.0, 1.0, _PROB),
    "agreement_days": Domain(1.0, 3650.0, _DAYS + ", at least one"),
    "trust_memory_days": Domain(1.0, 3650.0, _TAU),
    "walkout_scale": Domain(0.01, 10.0, "divides the zone of agreement"),
    "near_margin": Domain(0.0, 10.0, "a zone of agreement"),
    "trigger_ratio": Domain(0.01, 100.0, "a multiple of resolve"),
    "min_days_between_rounds": Domain(1.0, 3650.0, _DAYS + ", at least one"),
    "collapse_days": Domain(1.0, 3650.0, _DAYS + ", at least one"),
    "tariff_floor_us": Domain(0.0, 10.0, "a tariff rate (10 = 1,000%)"),
    "tariff_floor_cn": Domain(0.0, 10.0, "a tariff rate (10 = 1,000%)"),
    "approval_commit": Domain(0.0, 1.0, _PROB),
    "delay_commit": Domain(0.0, 365.0, _DAYS),
    "retaliation_compliance": Domain(0.0, 1.0, _SHARE),
    "repair_days": Domain(1.0, 365.0, _DAYS + ", at least one"),
    "repair_success": Domain(0.0, 1.0, _PROB),
    "evidence_weight": Domain(0.0, 1.0, "a weight in a convex combination"),
}

#: Bounds for a parameter a dataset adds that no mechanism reads (kept for its own use).
OPEN = Domain(0.0, 1e9, "a non-negative number (no mechanism of standoff reads this parameter)")


def domain(table: str, name: str) -> Domain:
    """The domain of parameter ``name`` of ``table`` (``parameters`` or ``negotiation``)."""
    doms = PARAMETER_DOMAINS if table == "parameters" else NEGOTIATION_DOMAINS
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
