"""Report, comparison, sensitivity, scenario discovery, resilience search and the run catalogue."""
import json
import multiprocessing as mp
import shutil
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from standoff import Results, load_scenario, simulate
from standoff.analysis import compare, find_box, rank_inputs, resilience
from standoff.catalogue import Catalogue
from standoff.cli import app
from standoff.report import fan_data, write_report

from .conftest import control, make

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs") / "london"
    res = simulate("london-2025", members=60)
    res.save(d)
    return d


def test_report_contains_the_charts_data(run_dir, tmp_path):
    res = Results.load(run_dir)
    page = write_report(res, tmp_path / "rep")
    html = page.read_text()
    blocks = dict(re.findall(r'data-chart="([a-z_]+)">(.*?)</script>', html, flags=re.S))
    assert {"cover_autos", "price_magnet", "imports_magnet", "stockout_days", "tornado_usa_autos"} <= set(blocks)
    cover = pd.DataFrame(json.loads(blocks["cover_autos"]))
    usa = cover[cover.panel == "USA"].set_index("date")
    expect = fan_data(res.ds["cover_days"], {"region": "USA", "sector": "autos"})
    np.testing.assert_allclose(usa["median"].values, expect["median"].values, rtol=1e-6)
    so = pd.DataFrame(json.loads(blocks["stockout_days"]))
    d = res.ds.first_stockout_day.sel(region="USA", sector="autos").values
    got = so[so.region == "USA"]["first_stockout_day"].values
    np.testing.assert_array_equal(np.nan_to_num(got, nan=-1), np.nan_to_num(d, nan=-1))
    assert (tmp_path / "rep" / "charts" / "cover_autos.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Data sources" in html and "USGS" in html and "MOFCOM" in html


def test_compare_with_common_random_numbers_is_sharper_than_unpaired():
    base = simulate(make(members=200, events=[control(approval=0.2)]))
    policy = simulate(make(members=200, events=[control(approval=0.2)], inventory_days={"autos": 70}))
    df = compare(base, policy, ["loss:USA:autos"]).iloc[0]
    assert df["difference"] < 0  # more inventory, less loss
    paired = float(df["paired_95ci"].lstrip("±"))
    unpaired = float(df["unpaired_95ci"].lstrip("±"))
    assert paired < unpaired


def test_sobol_ranks_the_dominant_input_first():
    model = lambda X: 10 * X[:, 1] + 1.0 * X[:, 0] + 0.1 * X[:, 2]  # noqa: E731
    df = rank_inputs(model, ["a", "b", "c"], "sobol", n=256)
    assert df["input"].iloc[0] == "b"
    row = df.set_index("input").loc["b"]
    assert row["ST"] > 0.9 and row["ST_conf"] < 0.2


def test_morris_ranks_the_dominant_input_first():
    model = lambda X: X[:, 0] ** 2 + 20 * X[:, 2]  # noqa: E731
    assert rank_inputs(model, ["a", "b", "c"], "morris", n=40)["input"].iloc[0] == "c"


def test_sensitivity_on_the_scenario_finds_the_approval_share():
    from standoff.analysis import sensitivity
    sc = make(members=8, events=[control(approval={"dist": "uniform", "low": 0.05, "high": 0.9})])
    df = sensitivity(sc, "loss:USA:autos", "morris", n=8,
                     inputs=["events.0.approval_share", "parameters.price_floor", "parameters.tariff_pass_through"])
    assert df["input"].iloc[0] == "events.0.approval_share"


def test_who_blinks_first_depends_on_how_much_china_sells_elsewhere():
    from standoff.analysis import sensitivity
    from standoff.outcomes import Outcome
    war = [{"date": "2025-01-10", "type": "tariff", "importer": "USA", "exporter": "CHN", "rate": 1.45},
           {"date": "2025-01-10", "type": "tariff", "importer": "CHN", "exporter": "USA", "rate": 1.25}]
    # resolve high enough that China holds out past the first weeks, when it has not yet
    # placed lost sales elsewhere and every share of them hurts alike
    sc = make(members=8, horizon_days=400, events=war,
              negotiation={"enabled": False, "parameters": {"resolve_cn": 0.5, "resolve_us": 0.5}})
    days = Outcome.parse("concede:CN").values(simulate(sc))
    assert (days < 400).all()  # China's pressure passes its resolve within the horizon
    df = sensitivity(sc, "concede:CN", "morris", n=8,
                     inputs=["parameters.china_export_redirect_share", "parameters.price_floor",
                             "parameters.exporter_redirect_share"]).set_index("input")["mu_star"]
    assert df.index[0] == "parameters.china_export_redirect_share"
    assert df.iloc[0] > 0 and df.iloc[1:].max() < df.iloc[0]


def test_who_blinks_first_is_an_outcome_whose_mean_is_its_probability():
    """first:SIDE is 1 where that side's pressure passes its resolve before the other's (the other
    never passing counts as later): its mean is concessions()'s p_cn_first / p_us_first, the two
    never add to more than one, and a sensitivity study can rank what decides it."""
    from standoff.analysis import sensitivity
    from standoff.outcomes import Outcome
    sc = load_scenario("london-2025").negotiating().with_(members=40, trajectories=0)
    res = simulate(sc)
    cn, us = Outcome.parse("first:CN").values(res), Outcome.parse("first:US").values(res)
    assert set(np.unique(cn)) <= {0.0, 1.0} and (cn + us <= 1.0).all()
    cc = res.concessions()
    assert cn.mean() == cc.attrs["p_cn_first"] and us.mean() == cc.attrs["p_us_first"]
    # With the US's resolve set apart (an analyst's view), the shared resolve is China's alone,
    # and where it is high enough China outlasts the US (bench/resolve_dependence.py, resolve_us
    # 0.2: China first in 95% at resolve_cn 0.5, in none at 1.0).
    neg = sc.negotiation.model_dump()
    neg["parameters"] = {**neg["parameters"], "resolve_us": 0.2}
    df = sensitivity(sc.with_(negotiation=neg), "first:CN", "morris", n=8,
                     inputs=["negotiation.resolve", "parameters.price_floor"]).set_index("input")["mu_star"]
    assert df.index[0] == "negotiation.resolve" and df.loc["negotiation.resolve"] > 0


@pytest.mark.parametrize("flag", [[], ["--negotiate"]])
def test_sensitivity_can_simulate_the_talks(flag, monkeypatch):
    import standoff.analysis
    seen = {}

    def fake(sc, outcome, **kw):
        seen["negotiating"] = sc.negotiation.enabled
        df = pd.DataFrame({"input": ["x"], "mu_star": [0.0]})
        df.attrs["evaluations"] = 1
        return df
    monkeypatch.setattr(standoff.analysis, "sensitivity", fake)
    res = runner.invoke(app, ["sensitivity", "london-2025", "--outcome", "concede:CN", "--method", "morris", *flag])
    assert res.exit_code == 0, res.output
    assert seen["negotiating"] is bool(flag)


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.uniform(size=(3000, 5)), columns=list("abcde"))
    y = ((x.b > 0.6) & (x.d < 0.4)).values
    box = find_box(x, y, threshold=0.9)
    lim = box.limits.set_index("input")
    assert set(lim.index) == {"b", "d"}
    assert abs(lim.loc["b", "low"] - 0.6) < 0.05 and abs(lim.loc["d", "high"] - 0.4) < 0.05
    assert box.density > 0.9 and box.coverage > 0.8


def test_resilience_returns_the_boundary_value():
    sc = make(members=24, horizon_days=200, events=[control(mode="ban")])
    value, evals = resilience(sc, "stockpile", "USA", "defense", within_days=200, target=0.1, low=0.0,
                              high=3000.0, tol=50.0)
    assert value is not None
    at = evals[np.isclose(evals["value"], value)]["p_stockout"].iloc[0]
    below = evals[evals["value"] < value]
    assert at <= 0.1
    assert (below["value"].max() >= value - 50.0) and (below.sort_values("value")["p_stockout"].iloc[-1] > 0.1)


def _register(args):
    path, folder = args
    return Catalogue(path).register(Results.load(folder), folder)


def test_catalogue_survives_concurrent_runs(run_dir, tmp_path):
    path = tmp_path / "cat.duckdb"
    folders = []
    for k in range(8):  # eight runs: the same results under eight ids, as eight `standoff run`s would leave
        f = tmp_path / f"run{k}"
        shutil.copytree(run_dir, f)
        meta = json.loads((f / "run.json").read_text())
        meta["run_id"] = f"{k:02d}" + meta["run_id"][2:]
        (f / "run.json").write_text(json.dumps(meta))
        folders.append(str(f))
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        ids = pool.map(_register, [(str(path), f) for f in folders])
    df = Catalogue(path).list()
    assert sorted(df["id"]) == sorted(ids) and len(set(ids)) == 8
    # registering a folder again (a run that adopt() found first) adds no second row
    assert _register((str(path), folders[0])) == ids[0] and len(Catalogue(path).list()) == 8
    row = Catalogue(path).get(ids[0][:6])
    assert row["members"] == 60 and row["scenario"] == "london-2025"
    again = Catalogue(path).load(ids[0])
    assert again.ds.sizes["member"] == 60


def test_bad_run_references(tmp_path, run_dir):
    res = runner.invoke(app, ["runs", "show", "nope", "--catalogue", str(tmp_path / "c.duckdb")])
    assert res.exit_code == 2 and "no run catalogue" in res.output
    Catalogue(tmp_path / "c.duckdb").register(Results.load(run_dir), run_dir)
    res = runner.invoke(app, ["runs", "show", "zzzz", "--catalogue", str(tmp_path / "c.duckdb")])
    assert res.exit_code == 2 and "zzzz" in res.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.nc").write_bytes(b"not netcdf")
    (broken / "scenario.yaml").write_text("name: x\n")
    res = runner.invoke(app, ["report", str(broken)])
    assert res.exit_code == 2 and "run.json" in res.output
    (broken / "run.json").write_text("{}")
    res = runner.invoke(app, ["report", str(broken)])
    assert res.exit_code == 2 and "results.nc" in res.output
    assert not (broken / "report").exists()


def test_unknown_sensitivity_input_is_named():
    res = runner.invoke(app, ["sensitivity", "london-2025", "--input", "parameters.bogus", "--n", "4"])
    assert res.exit_code == 2 and "parameters.bogus" in res.output


def test_report_does_not_overwrite(run_dir, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    res = runner.invoke(app, ["report", str(run_dir), "--out", str(out)])
    assert res.exit_code == 2 and (out / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("spec,needle", [("loss:USA:autoz", "unknown sector"), ("loss:USA", "outcome must be"),
                                         ("pain:EU", "unknown side"), ("concede:EU", "unknown side")])
def test_bad_sensitivity_outcome_is_named_before_any_run(spec, needle, monkeypatch):
    import standoff.api
    monkeypatch.setattr(standoff.api, "simulate", lambda *a, **k: pytest.fail("ran before checking the outcome"))
    res = runner.invoke(app, ["sensitivity", "london-2025", "--outcome", spec, "--n", "4"])
    assert res.exit_code == 2 and needle in res.output and spec in res.output


def test_a_catalogue_from_before_streamed_runs_is_upgraded_in_place(run_dir, tmp_path):
    """A catalogue written before the ``streamed`` column existed still opens, lists and takes new runs."""
    import duckdb
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (id VARCHAR PRIMARY KEY, created TIMESTAMP, scenario VARCHAR, scenario_digest VARCHAR, "
                "seed BIGINT, members BIGINT, negotiate BOOLEAN, version VARCHAR, path VARCHAR, "
                "p_stockout_usa_autos DOUBLE, median_stockout_day_usa_autos DOUBLE, median_loss_usa_autos_bn DOUBLE, "
                "median_pain_us_bn DOUBLE, median_pain_cn_bn DOUBLE, p_truce_survives_90d DOUBLE, metrics JSON)")
    import shutil
    old_dir = tmp_path / "old-run"  # an earlier run in a folder of its own (a folder holds one run)
    shutil.copytree(run_dir, old_dir)
    meta = json.loads((old_dir / "run.json").read_text())
    (old_dir / "run.json").write_text(json.dumps({**meta, "run_id": "old0000001"}))
    con.execute("INSERT INTO runs VALUES ('old0000001', now(), 'london-2025', 'x', 1, 60, false, '0.1', ?, "
                "0.5, 100, 1, 1, 1, NULL, '{}')", [str(old_dir)])
    con.close()
    new_id = Catalogue(path).register(Results.load(run_dir), run_dir)
    df = Catalogue(path).list().set_index("id")
    assert set(df.index) == {"old0000001", new_id}
    assert not df["streamed"].any()
    assert Catalogue(path).load("old0000001").ds.sizes["member"] == 60


def test_resilience_reports_units_intervals_and_where_the_curve_rises():
    """Every evaluation carries its 95% Monte Carlo interval (containing the estimate), the value's
    unit names the product, and 'rises' marks only a value whose interval lies wholly above a
    smaller value's."""
    sc = make(members=24, horizon_days=200, events=[control(mode="ban")])
    value, evals = resilience(sc, "stockpile", "USA", "autos", within_days=200, target=0.5, low=0.0,
                              high=3000.0, tol=200.0)
    assert evals.attrs["unit"] == "t of MAGNET"
    assert ((evals["p_lo"] <= evals["p_stockout"]) & (evals["p_stockout"] <= evals["p_hi"])).all()
    for k, r in evals.iterrows():
        assert r["rises"] == bool((evals["p_hi"].iloc[:k] < r["p_lo"]).any())


def test_resilience_says_when_nothing_was_needed():
    from typer.testing import CliRunner
    from standoff.cli import app
    r = CliRunner().invoke(app, ["resilience", "baseline", "--members", "8", "--within", "60"])
    assert r.exit_code == 0, r.output
    assert "Already within the target without more" in r.output and "not a measure that was needed" in r.output
