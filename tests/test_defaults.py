"""Every analysis command with its defaults, on a scenario of every built-in dataset.

Defaults (compare's outcomes, sensitivity's and discover's outcome, resilience's region and
sector) come from the dataset's declaration, so none of them names a region, sector or
product of one dataset: `compare` on two gallium-2023 runs used to fail with "unknown name in
outcome 'loss:USA:autos'".
"""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from standoff import simulate
from standoff.cli import app
from standoff.network import builtin_datasets
from standoff.outcomes import Outcome, default_event, default_outcomes
from standoff.scenario import builtin_scenarios, load_scenario

runner = CliRunner()


def _scenario_on(dataset: str) -> str:
    for name in builtin_scenarios():
        if load_scenario(name).baseline == dataset:
            return name
    raise AssertionError(f"no built-in scenario runs on {dataset}")


@pytest.mark.parametrize("dataset", builtin_datasets())
def test_compare_discover_sensitivity_and_resilience_with_their_defaults(dataset, tmp_path):
    name = _scenario_on(dataset)
    sc = load_scenario(name).with_(members=24, trajectories=2)
    a, b = tmp_path / "a", tmp_path / "b"
    ra = simulate(sc)
    ra.save(a)
    simulate(sc.with_(seed=sc.seed + 1)).save(b)
    net = sc.network()
    res = runner.invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 0, res.output
    for o in default_outcomes(net):
        assert o.base in res.output.replace("\n", "") or o.kind in res.output
    days = default_event(net).values(ra)
    cut = float(np.quantile(days, 0.25, method="lower"))  # some members at or below it, not all if they differ
    res = runner.invoke(app, ["discover", str(a), "--below", f"{cut:g}"])
    if (days > cut).any():
        assert res.exit_code == 0, res.output
        assert "PRIM box" in res.output and f"{net.us_region}:{net.lead_sector}" in res.output
    else:  # the US lead sector never (or always equally) runs short here: a clear refusal, not an error
        assert res.exit_code == 2 and "every member shows the outcome" in res.output, res.output
    res = runner.invoke(app, ["sensitivity", name, "--method", "morris", "--n", "2", "--input",
                              f"inventory_days.{net.lead_sector}", "--input", "parameters.order_adjust_days"])
    assert res.exit_code == 0, res.output
    assert f"loss:{net.us_region}:{net.lead_sector}" in res.output
    res = runner.invoke(app, ["resilience", name, "--members", "8", "--within", "120", "--target", "1.0"])
    assert res.exit_code == 0, res.output
    assert f"P({net.us_region} " in res.output


def test_outcomes_are_parsed_once_with_their_names_checked():
    net = load_scenario("gallium-2023").network()
    o = Outcome.parse(f"stockout:{net.us_region}:{net.lead_sector}@90", net)
    assert o.time_to_event and o.within == 90 and o.base == f"stockout:{net.us_region}:{net.lead_sector}"
    for bad, needle in (("loss:USA:autos", "unknown sector"), ("loss:X", "outcome must be"),
                        ("pain:EU", "unknown side"), ("loss:USA:rf_power_chips@5", "@DAYS")):
        with pytest.raises(Exception, match=needle):
            Outcome.parse(bad, net)
