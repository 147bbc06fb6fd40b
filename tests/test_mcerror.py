"""Monte Carlo error: intervals that cover, a stopping rule, censoring, undecided back-tests, replay."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from standoff import load_scenario, simulate
from standoff.analysis import compare
from standoff.api import precision_estimate, rerun, simulate_until
from standoff.cli import app
from standoff.mcerror import members_for, proportion_ci, quantile_ci, quantile_ci_counts, restricted
from standoff.validation import Observation, run_validation

from .conftest import control, make

runner = CliRunner()


# ---------------------------------------------------------------- 1. intervals that cover

@pytest.mark.parametrize("p,n", [(0.03, 60), (0.5, 200), (0.9, 40)])
def test_binomial_interval_covers_a_known_probability(p, n):
    """Over many seeded ensembles of a toy outcome with known probability, ~95% of intervals cover it."""
    rng = np.random.default_rng(12345)
    hits = 0
    trials = 2000
    for _ in range(trials):
        k = int(rng.binomial(n, p))
        lo, hi = proportion_ci(k, n)
        hits += lo <= p <= hi
    assert 0.92 <= hits / trials <= 0.985, hits / trials


def test_order_statistic_interval_covers_a_known_median():
    rng = np.random.default_rng(7)
    true_median = np.log(2.0)  # exponential(1)
    hits = 0
    for _ in range(2000):
        lo, hi = quantile_ci(rng.exponential(size=101), 0.5)
        hits += lo <= true_median <= hi
    assert 0.94 <= hits / 2000 <= 0.99  # order-statistic intervals are conservative (>= 95%)


def test_counts_and_samples_give_the_same_quantile_interval():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 50, size=300).astype(float)
    x[rng.random(300) < 0.2] = np.inf  # never
    counts = np.bincount(np.where(np.isfinite(x), x, 50).astype(int), minlength=51)
    assert quantile_ci(x, 0.5) == quantile_ci_counts(counts, 0.5)
    assert quantile_ci(x, 0.9) == quantile_ci_counts(counts, 0.9)


def test_members_repeated_twice_give_the_interval_of_the_members_once():
    """A design effect of 2 on an ensemble in which every member appears twice gives exactly the
    intervals of the members counted once (quantiles, from samples or day counts) and the
    Wilson interval of half the count (proportions)."""
    rng = np.random.default_rng(11)
    x = np.round(rng.exponential(30.0, size=150))
    x[rng.random(150) < 0.15] = np.inf
    x2 = np.repeat(x, 2)
    counts = np.bincount(np.where(np.isfinite(x2), x2, 400).astype(int), minlength=401)
    for q in (0.1, 0.5, 0.9):
        assert quantile_ci(x2, q, deff=2.0) == quantile_ci(x, q)
        assert quantile_ci_counts(counts, q, deff=2.0) == quantile_ci(x, q)
    assert proportion_ci(2 * 37, 300, deff=2.0) == pytest.approx(proportion_ci(37, 150), abs=1e-12)
    assert proportion_ci(37, 150, deff=1.0) == proportion_ci(37, 150)


def test_a_resampled_ensembles_intervals_cover_at_their_level_with_the_design_effect():
    """Importance resampling of a toy (prior N(0, 1), one observation 1 with sd 0.5: a normal
    posterior with mean 0.8 and variance 0.2; 400 members, about 170 effective): over 600 seeded
    resamples the 95% intervals of the posterior median and of P(x > 1) cover the true values at
    least 92% of the time with the design effect n / ESS, and at most 88% without it (the
    repeated members counted as independent: too narrow)."""
    import math

    from scipy import stats

    from standoff.nowcast import systematic_resample
    rng = np.random.default_rng(5)
    n, trials = 400, 600
    true_p = 1.0 - stats.norm.cdf(0.2 / math.sqrt(0.2))
    with_d = np.zeros(2)
    without = np.zeros(2)
    for _ in range(trials):
        x = rng.standard_normal(n)
        w = np.exp(-0.5 * ((x - 1.0) / 0.5) ** 2)
        w /= w.sum()
        deff = n * float(np.sum(w ** 2))
        xs = x[systematic_resample(w, rng)]
        k = int(np.sum(xs > 1.0))
        for d, tally in ((deff, with_d), (1.0, without)):
            lo, hi = quantile_ci(xs, 0.5, deff=d)
            tally[0] += lo <= 0.8 <= hi
            lo, hi = proportion_ci(k, n, deff=d)
            tally[1] += lo <= true_p <= hi
    assert (with_d / trials >= 0.92).all(), with_d / trials
    assert (without / trials <= 0.88).all(), without / trials


def test_stockout_table_carries_intervals(london):
    so = london.stockouts().set_index(["region", "sector"])
    r = so.loc[("USA", "autos")]
    assert r["p_stockout_lo"] <= r["p_stockout"] <= r["p_stockout_hi"]
    assert r["median_day_lo"] <= r["median_day"] <= r["median_day_hi"]
    assert members_for(0.5, 0.02) == 2401


# ---------------------------------------------------------------- 2. run until precise

def test_stopping_rule_adds_members_until_the_interval_is_narrow_enough():
    sc = make(members=20, horizon_days=200, events=[control(approval={"dist": "uniform", "low": 0.0, "high": 0.6})])
    res, rep = simulate_until(sc, {"stockout:USA:autos@150": 0.08}, max_members=640)
    r = rep[0]
    assert r["met"] and r["half_width"] <= 0.08 and res.scenario.members == r["members"]
    assert res.scenario.members in (20, 40, 80, 160, 320, 640)
    if res.scenario.members > 20:  # it stopped at the first count that met the target
        smaller = simulate(sc.with_(members=res.scenario.members // 2))
        assert precision_estimate(smaller, "stockout:USA:autos@150")[2] > 0.08
    # the same numbers as a plain run of that many members (chunking changes nothing)
    plain = simulate(sc.with_(members=res.scenario.members, trajectories=min(sc.trajectories, 20)))
    np.testing.assert_array_equal(plain.ds["first_stockout_day"].values, res.ds["first_stockout_day"].values)


def test_stopping_rule_says_when_the_cap_is_reached():
    sc = make(members=10, horizon_days=120, events=[control(approval={"dist": "uniform", "low": 0.0, "high": 0.6})])
    res, rep = simulate_until(sc, {"loss:USA:autos": 1e-9}, max_members=40)
    assert not rep[0]["met"] and res.scenario.members == 40


def test_precision_option_is_checked_and_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = runner.invoke(app, ["run", "baseline", "--precision", "stockout:USA:autos", "--catalogue", "none"])
    assert bad.exit_code == 2 and "--precision" in bad.output
    bad = runner.invoke(app, ["run", "baseline", "--precision", "stockout:MARS:autos=0.1", "--catalogue", "none"])
    assert bad.exit_code == 2 and "MARS" in bad.output
    ok = runner.invoke(app, ["run", "baseline", "-n", "50", "-q", "--precision", "stockout:USA:autos=0.05",
                             "--catalogue", "none"])
    assert ok.exit_code == 0, ok.output
    assert "Monte Carlo precision" in ok.output and "P(stockout:USA:autos" in ok.output


# ---------------------------------------------------------------- 3. censoring

def test_compare_never_differences_two_censored_values():
    """Two runs of different horizons in which US defense never runs out: no difference, not 181 days."""
    a = simulate(load_scenario("london-2025").with_(members=24, horizon_days=365))
    b = simulate(load_scenario("london-2025").with_(members=24))
    df = compare(a, b, ["stockout:USA:defense"]).set_index("outcome")
    assert len(df) == 2
    p_row = df.loc["stockout:USA:defense P(within 365 days)"]
    rm_row = df.loc["stockout:USA:defense restricted mean days (to day 365)"]
    assert p_row["mean_a"] == p_row["mean_b"] == 0.0 and p_row["difference"] == 0.0
    assert rm_row["mean_a"] == rm_row["mean_b"] == 365.0 and rm_row["difference"] == 0.0
    assert "censored" in rm_row["note"] and rm_row["censored_a"] == 1.0


def test_restricted_time_counts_never_as_tau():
    assert list(restricted(np.array([3.0, np.nan, np.inf, 500.0]), 365.0)) == [3.0, 365.0, 365.0, 365.0]


# ---------------------------------------------------------------- 4. back-test verdicts that do not flip

def _toy(low: float, high: float) -> Observation:
    """An observation on a sampled input whose distribution is known: uniform(0.5, 1.5), median 1."""
    return Observation("baseline", f"toy {low}-{high}", "1", "toy", low, high, "-",
                       lambda res: res.ds["inputs"].sel(input="parameters.price_flexibility").values,
                       horizon_days=5)


def test_validate_says_undecided_when_the_interval_straddles_the_edge(monkeypatch):
    from standoff import scenario as scen
    real = scen.load_scenario

    def with_flex(ref):
        sc = real(ref)
        if sc.name == "baseline":
            sc = sc.with_(parameters={"price_flexibility": {"dist": "uniform", "low": 0.5, "high": 1.5}})
        return sc
    monkeypatch.setattr(scen, "load_scenario", with_flex)
    df = run_validation(members=40, observations=[_toy(0.0, 1.0), _toy(0.0, 3.0), _toy(2.0, 3.0)])
    v = list(df["verdict"])
    assert v[0] == "undecided at 40 members"  # the edge sits at the true median
    assert v[1] == "yes" and v[2] == "no"
    # raising the members narrows the interval but cannot decide an edge at the true median
    df = run_validation(members=40, observations=[_toy(0.0, 1.0)], max_members=160)
    assert df["verdict"].iloc[0] == "undecided at 160 members" and df["members"].iloc[0] == 160
    # an edge near the median is decided once the interval is narrow enough
    df = run_validation(members=10, observations=[_toy(0.0, 1.08)], max_members=640)
    assert df["verdict"].iloc[0] == "yes" and df["members"].iloc[0] > 10


# ---------------------------------------------------------------- 5. replay

def test_rerun_confirms_a_fresh_run_and_names_what_changed(tmp_path):
    folder = tmp_path / "r"
    simulate(make(members=16, horizon_days=60, events=[control()])).save(folder)
    r = rerun(folder)
    assert r["identical"] and r["arrays_differ"] == [] and r["changed_since"] == {}
    res = runner.invoke(app, ["rerun", str(folder)])
    assert res.exit_code == 0 and "bit-identical" in res.output
    # What an older version wrote: other numbers, recorded consistently in run.json (digests of the
    # results and of the file), so the replay is trusted and names what changed since.
    import xarray as xr

    from standoff.files import sha256_file
    from standoff.results import results_digest
    ds = xr.load_dataset(folder / "results.nc", engine="h5netcdf")
    ds["output_loss_usd_bn"] = ds["output_loss_usd_bn"] * 1.01
    (folder / "results.nc").unlink()
    ds.to_netcdf(folder / "results.nc", engine="h5netcdf")
    meta = json.loads((folder / "run.json").read_text())
    meta["results_digest"] = results_digest(ds)
    meta["files_sha256"]["results.nc"] = sha256_file(folder / "results.nc")
    meta["standoff_version"] = "0.0.1"
    (folder / "run.json").write_text(json.dumps(meta))
    res = runner.invoke(app, ["rerun", str(folder)])
    assert res.exit_code == 1 and "differs" in res.output and "standoff_version was 0.0.1" in res.output
