"""Levers a person moves: the dashboard's sliders and the resilience search's measures.

Each lever rewrites a scenario mapping (the YAML as data) and the scenario schema validates
the result, so a lever can never produce a scenario a file could not.  The dashboard
(:mod:`standoff.web.app`) and ``standoff resilience`` (:mod:`standoff.analysis`) both use
these functions; a stockpile is released the same way in both.
"""
from __future__ import annotations

import copy
from typing import Any

from .errors import StandoffError
from .layout import RELEASE_DAYS
from .scenario import FIELD_BOUNDS, Scenario, scenario_from_dict


#: Resilience levers: the smallest and largest value each can take, and the default top of a search.
#: Substitution is a share of demand, so it cannot pass 1; tonnages are bounded as the scenario schema bounds them.
LEVER_RANGES: dict[str, tuple[float, float, float]] = {
    "stockpile": (0.0, FIELD_BOUNDS["stockpile"][1], 5000.0),
    "capacity": (0.0, FIELD_BOUNDS["tonnes_per_year"][1], 5000.0),
    "substitution": (0.0, 1.0, 1.0),
}
LEVERS = tuple(LEVER_RANGES)
#: The unit of each lever's value (``{product}`` is the product it acts on).
LEVER_UNITS = {"stockpile": "t of {product}", "capacity": "t/yr of {product}",
               "substitution": "share of use substituted"}


def add_stockpile_release(data: dict, region: str, product: str, tonnes: float, event_id: str,
                          release_days: int = RELEASE_DAYS) -> None:
    """Give ``region`` a strategic stockpile of ``tonnes`` of ``product`` and release it evenly over
    ``release_days`` from the first export control (or the start), in the mapping ``data``."""
    events = data.setdefault("events", [])
    data.setdefault("stockpiles", {}).setdefault(region, {})[product] = float(tonnes)
    ctrl = [e for e in events if e.get("type") == "export_control"]
    date = str(min(str(e["date"]) for e in ctrl)) if ctrl else str(data["start"])
    events.append({"date": date, "type": "stockpile_release", "region": region, "product": product,
                   "tonnes_per_day": float(tonnes) / release_days, "id": event_id})


def apply_dashboard_levers(data: dict, lv: Any, net: Any = None) -> dict:
    """The scenario mapping with the dashboard's levers (:class:`standoff.web.app.Levers`) applied (a copy).

    ``None`` leaves a lever as the scenario has it.  Approval share and licence delay apply
    to every licence control; the tariff scale multiplies every fixed tariff rate.  The
    inventory lever sets the dataset's lead sector's days of cover and the stockpile lever
    releases the key product in the US side's region (``net``: the scenario's network, read
    from ``data`` if not given; see the dataset's declaration.csv).
    """
    if net is None and (lv.inventory_days_lead_sector is not None or lv.stockpile_us_key_product_t):
        net = scenario_from_dict(copy.deepcopy(data)).network()
    d = copy.deepcopy(data)
    events = d.setdefault("events", [])
    for ev in events:
        if ev.get("type") == "export_control" and ev.get("mode", "licence") == "licence":
            if lv.approval_share is not None:
                ev["approval_share"] = lv.approval_share
            if lv.delay_days is not None:
                ev["delay_days"] = lv.delay_days
        if ev.get("type") == "tariff" and lv.tariff_scale is not None and isinstance(ev.get("rate"), (int, float)):
            ev["rate"] = round(float(ev["rate"]) * lv.tariff_scale, 6)
    if lv.inventory_days_lead_sector is not None:
        d.setdefault("inventory_days", {})[net.lead_sector] = lv.inventory_days_lead_sector
    if lv.stockpile_us_key_product_t:
        add_stockpile_release(d, net.us_region, net.key_product, lv.stockpile_us_key_product_t, "dashboard-release")
    neg = d.setdefault("negotiation", {})
    if lv.negotiate:
        neg["enabled"] = True
    strat = neg.setdefault("strategies", {"US": "reciprocal", "CN": "reciprocal"})
    if lv.strategy_us:
        strat["US"] = lv.strategy_us
    if lv.strategy_cn:
        strat["CN"] = lv.strategy_cn
    return d


def apply_lever(sc: Scenario, lever: str, region: str, product: str, value: float,
                release_days: int = RELEASE_DAYS) -> Scenario:
    """The scenario with a resilience measure of size ``value`` added.

    ``stockpile``: ``value`` tonnes of ``product`` held by ``region``, released evenly over
    ``release_days`` from the first export control; ``capacity``: ``value`` t/yr of new
    capacity of ``product`` in ``region`` from the start (with the metal it needs);
    ``substitution``: the maximum substitution share, fixed at ``value``.
    """
    data = copy.deepcopy(sc.model_dump(mode="json"))
    if lever == "stockpile":
        add_stockpile_release(data, region, product, value, "resilience-release", release_days)
    elif lever == "capacity":
        data["events"].append({"date": str(sc.start), "type": "capacity", "region": region, "product": product,
                               "tonnes_per_year": float(value), "id": "resilience-capacity"})
        # with the capacity for the direct inputs it needs (tonnes of input per tonne, coefficients.csv)
        net = sc.network()
        p = net.products.index(product)
        for q, qname in enumerate(net.products):
            if net.coef[p, q] > 0.0 and q != p:
                data["events"].append({"date": str(sc.start), "type": "capacity", "region": region, "product": qname,
                                       "tonnes_per_year": float(value) * float(net.coef[p, q]),
                                       "id": f"resilience-{qname.lower()}"})
    elif lever == "substitution":
        data.setdefault("parameters", {})["substitution_max_share"] = float(value)
    else:
        raise StandoffError(f"lever must be one of {LEVERS}", field="--lever", value=lever)
    return scenario_from_dict(data)
