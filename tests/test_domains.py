"""The parameter domains (standoff.domains): every value inside them gives a finite answer, and a
full ban is never answered with a silent "no stockout".

Hypothesis draws every model parameter at once from its whole declared domain (not the
dataset's plausible range), ends included, so the corners where a division or a power
degenerates are visited; the run's own NaN check (ensemble.check_finite) would raise there.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standoff import simulate
from standoff.domains import NEGOTIATION_DOMAINS, PARAMETER_DOMAINS, Domain, range_problem
from standoff.layout import NEG_PARAMS, PARAMS
from standoff.network import builtin_datasets, load_network
from standoff.scenario import scenario_from_dict


def _value(dom: Domain) -> st.SearchStrategy[float]:
    # The ends themselves, and anything between (log-spaced where the domain spans decades).
    inner = st.floats(dom.lo, dom.hi, allow_nan=False, allow_infinity=False)
    if dom.lo > 0 and dom.hi / dom.lo > 100:
        inner = st.floats(math.log(dom.lo), math.log(dom.hi)).map(math.exp).map(lambda x: min(max(x, dom.lo), dom.hi))
    return st.one_of(st.sampled_from([dom.lo, dom.hi]), inner)


#: Parameters of the kernel whose domain the property draws from: all of them.
DRAWN = [p for p in PARAMS]
#: Where the stockout claim holds: with more than half of a sector's use removable by
#: substitution and thrift (the domain allows up to 0.9), a full ban may legitimately leave
#: it short of nothing, so for the stockout claim that one parameter is drawn from [0, 0.5]
#: (NaN-freedom is still checked over the whole domain by the ends test below).
STOCKOUT_CLAIM = {**PARAMETER_DOMAINS,
                  "substitution_max_share": Domain(0.0, 0.5, "half of use at most, for the stockout claim")}


def _ban(net, parameters: dict, negotiation: dict | None = None, horizon: int = 365) -> dict:
    doc = {"name": "ban", "baseline": net.name, "start": "2025-01-01", "horizon_days": horizon, "members": 4,
           "seed": 3, "trajectories": 2, "parameters": parameters,
           "events": [{"date": "2025-01-05", "type": "export_control", "exporter": net.cn_region,
                       "products": list(net.products), "mode": "ban"}]}
    if negotiation is not None:
        doc["negotiation"] = {"enabled": True, "start": "2025-01-10", "parameters": negotiation}
        doc["events"].append({"date": "2025-03-01", "type": "talks", "name": "round"})
    return doc


def test_every_kernel_and_game_parameter_has_a_domain():
    assert set(PARAMS) <= set(PARAMETER_DOMAINS)
    from standoff.domains import domain
    from standoff.layout import COMPLIANCE_MEANS, NEG_OVERRIDES_ONLY, NEG_TABLE_ROWS, SIDE_RESOLVES
    assert set(NEG_TABLE_ROWS) <= set(NEGOTIATION_DOMAINS)
    # a side's own resolve (a scenario's override) lies in the shared resolve's domain
    assert all(domain("negotiation", r) == NEGOTIATION_DOMAINS["resolve"] for r in SIDE_RESOLVES)
    # an imposed mean compliance is a share (by default each side chooses its own)
    assert all((domain("negotiation", c).lo, domain("negotiation", c).hi) == (0.0, 1.0) for c in COMPLIANCE_MEANS)
    assert {p for p in NEG_PARAMS if not p.startswith("strategy_")} <= set(NEG_TABLE_ROWS) | set(NEG_OVERRIDES_ONLY)


@pytest.mark.parametrize("name", builtin_datasets())
def test_builtin_datasets_lie_inside_the_domains(name):
    net = load_network(name)
    for table, doms in (("parameters", PARAMETER_DOMAINS), ("negotiation", NEGOTIATION_DOMAINS)):
        df = net.parameters if table == "parameters" else net.negotiation
        for pname, row in df.iterrows():
            assert range_problem(row["value"], row["low"], row["high"], doms[pname]) is None, (name, pname)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({p: _value(STOCKOUT_CLAIM[p]) for p in DRAWN}))
def test_anywhere_in_the_domains_a_full_ban_gives_finite_results_and_a_stockout(values):
    net = load_network("baseline-2024")
    res = simulate(scenario_from_dict(_ban(net, values)))  # raises if any output is NaN or infinite
    ds = res.ds
    for name in ("output_loss_usd_bn", "pain_usd_bn", "material_balance_t", "peak_price_multiple", "units_lost"):
        assert np.isfinite(ds[name].values).all(), name
    day = ds.first_stockout_day.sel(region=net.us_region, sector=net.lead_sector).values
    # A full ban on the key product for a year: the US lead sector (weeks of cover, most of its
    # supply from the controller) runs short in every member, whatever the parameters.
    assert np.isfinite(day).all(), (day, values)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({p: _value(NEGOTIATION_DOMAINS[p]) for p in NEGOTIATION_DOMAINS}))
def test_anywhere_in_the_game_domains_the_negotiated_run_is_finite(values):
    net = load_network("baseline-2024")
    res = simulate(scenario_from_dict(_ban(net, {}, negotiation=values, horizon=240)))
    assert np.isfinite(res.ds.pain_usd_bn.values).all()
    assert np.isfinite(res.ds.trust.values).all() and np.isfinite(res.ds.pressure_ratio.values).all()


@pytest.mark.parametrize("name", builtin_datasets())
@pytest.mark.parametrize("end", ["lo", "hi"])
def test_every_dataset_at_the_ends_of_the_domains(name, end):
    net = load_network(name)
    values = {p: getattr(PARAMETER_DOMAINS[p], end) for p in DRAWN}
    res = simulate(scenario_from_dict(_ban(net, values)))
    assert np.isfinite(res.ds.output_loss_usd_bn.values).all()
    if values["substitution_max_share"] <= 0.5:
        day = res.ds.first_stockout_day.sel(region=net.us_region, sector=net.lead_sector).values
        assert np.isfinite(day).all(), (name, end, day)
