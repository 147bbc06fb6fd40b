"""Nowcasting: observations as data, conditioning, and twin experiments (standoff.nowcast)."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from standoff import load_scenario, simulate
from standoff.cli import app
from standoff.errors import StandoffError
from standoff.nowcast import load_observations, systematic_resample, weighted_quantile

HEADER = "series,period,region,product,partner,sector,value,sd,source\n"


@pytest.fixture(scope="module")
def twin_ensemble():
    sc = load_scenario("london-2025").with_(members=800, trajectories=800, horizon_days=240)
    return simulate(sc)


def test_a_twin_experiments_intervals_cover_the_hidden_truth_at_their_nominal_rate(twin_ensemble):
    """150 twin experiments on london-2025 (800 members): a hidden member's April and May magnet
    exports from China and US magnet prices, with noise of the stated size, condition the rest.
    The forecasts' central 80% intervals of the US auto loss and the US magnet price in July
    cover the hidden member's values at 80% within three binomial standard errors (the trials
    share one ensemble, so the error is if anything larger); and the posterior mean of the input
    the prices inform, price_flexibility, comes nearer the hidden member's than the prior mean,
    by more than three standard errors."""
    from standoff.twin import key_price_in, lead_sector_loss, observations_of, twin_trials
    tw = twin_trials(twin_ensemble, observations_of(twin_ensemble),
                     {"loss": lead_sector_loss, "price": key_price_in("2025-07")}, trials=150)
    assert (np.abs(tw.coverage - 0.8) <= 3 * tw.mc_error()).all(), (tw.coverage, tw.mc_error())
    assert tw.ess.mean() < 0.5 * 800  # the data are informative: the weights are far from equal
    g = tw.input_gain().set_index("input")
    assert g.loc["parameters.price_flexibility", "gain"] > 3 * g.loc["parameters.price_flexibility", "se"]


def test_conditioning_on_nothing_informative_keeps_the_ensemble(twin_ensemble, tmp_path):
    """An observation with a huge sd weighs every member alike: ESS is the member count and the
    resampled ensemble is the prior's members, each once."""
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "price,2025-05,USA,MAGNET,,,1.3,1e9,test\n")
    c = twin_ensemble.condition(f)
    assert c.ess == pytest.approx(800, rel=1e-9)
    assert sorted(c.index.tolist()) == list(range(800))
    assert c.posterior.ds.sizes["member"] == 800 and c.fit()["observation"].iloc[0].startswith("MAGNET price in USA")


def test_systematic_resampling_keeps_each_member_about_n_times_its_weight():
    w = np.array([0.5, 0.25, 0.125, 0.125])
    idx = systematic_resample(w, np.random.default_rng(1))
    assert np.bincount(idx, minlength=4).tolist() == [2, 1, 0, 1] or np.bincount(idx, minlength=4).tolist() == [2, 1, 1, 0]
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.6, 0.2]), [0.5])[0] == 2.0


@pytest.mark.parametrize("row, field, needle", [
    ("volume,2025-04,CHN,MAGNET,ALL,,0.5,0.1,x", "row 2.series", "unknown series"),
    ("exports,2025-13,CHN,MAGNET,ALL,,0.5,0.1,x", "row 2.period", "a month"),
    ("exports,2030-04,CHN,MAGNET,ALL,,0.5,0.1,x", "row 2.period", "horizon"),
    ("exports,2025-04,XXX,MAGNET,ALL,,0.5,0.1,x", "row 2.region", "unknown region"),
    ("exports,2025-04,CHN,UNOBTAINIUM,ALL,,0.5,0.1,x", "row 2.product", "unknown product"),
    ("exports,2025-04,CHN,MAGNET,CHN,,0.5,0.1,x", "row 2.partner", "destination"),
    ("exports,2025-04,CHN,MAGNET,ALL,,-1,0.1,x", "row 2.value", "non-negative"),
    ("exports,2025-04,CHN,MAGNET,ALL,,0.5,0,x", "row 2.sd", "positive"),
    ("stockout,2025-06,USA,,,autos,,5,x", "row 2.period", "on a day"),
    ("stockout,2025-06-05,USA,,,spaceships,,5,x", "row 2.sector", "unknown sector"),
])
def test_a_bad_observation_names_the_file_row_and_field(tmp_path, row, field, needle):
    f = tmp_path / "o.csv"
    f.write_text(HEADER + row + "\n")
    with pytest.raises(StandoffError) as e:
        load_observations(f, load_scenario("london-2025"))
    msg = str(e.value)
    assert str(f) in msg and field in msg and needle in msg


def test_the_nowcast_command_writes_the_forecast_and_refuses_bad_input_cleanly(tmp_path):
    runner = CliRunner()
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "exports,2025-04,CHN,MAGNET,ALL,,0.5,0.08,\"automakers' letter (AAI)\"\n"
                 "stockout,2025-06-02,USA,,,autos,,7,validation row\n")
    out = tmp_path / "nc"
    r = runner.invoke(app, ["nowcast", "london-2025", "--observed", str(f), "-n", "60", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert "effective sample size" in r.output
    for name in ("fit.csv", "inputs_moved.csv", "weights.csv", "observations.csv"):
        assert (out / "nowcast" / name).is_file(), name
    r = runner.invoke(app, ["rerun", str(out)])
    assert r.exit_code != 0 and "nowcast" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    page = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert "A nowcast: conditioned on what has been published" in page and "effective sample size" in page
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "exports,2025-04,CHN,MAGNET,ALL,,0.5,-3,x\n")
    r = runner.invoke(app, ["nowcast", "london-2025", "--observed", str(bad), "-n", "20", "-o", str(tmp_path / "nb")])
    assert r.exit_code != 0 and "row 2.sd" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "nb").exists()


def test_the_readme_observations_example_is_valid(tmp_path):
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    text = re.search(r"### Nowcast.+?```csv\n(.+?)```", readme, re.S).group(1)
    f = tmp_path / "obs.csv"
    f.write_text(text)
    obs = load_observations(f, load_scenario("london-2025"))
    assert [o.series for o in obs] == ["exports", "price", "stockout"]


def test_a_resample_move_step_spreads_the_duplicates_and_keeps_the_fit(twin_ensemble):
    """After resampling, one resample-move step (random-walk proposals on the inputs, simulated
    afresh, accepted by Metropolis-Hastings) moves some members (acceptance strictly between 0
    and 1), leaves more distinct members than the resample, and the moved ensemble still fits
    the observations: each observed value lies inside its p10-p90 after the move as before."""
    import dataclasses

    from standoff.nowcast import condition, rejuvenate, simulated
    from standoff.twin import observations_of
    templates = observations_of(twin_ensemble)
    h = 3
    obs = []
    for ob in templates:
        v = float(simulated(twin_ensemble, ob)[h])
        obs.append(dataclasses.replace(ob, value=v, sd=ob.sd if ob.sd > 0 else -ob.sd * v))
    c = condition(twin_ensemble, obs, exclude=[h])
    before = len(set(c.index.tolist()))
    m = rejuvenate(c)
    assert 0.0 < m.acceptance < 1.0 and m.distinct > before
    fit = m.fit()
    assert ((fit["posterior_p10"] <= fit["value"]) & (fit["value"] <= fit["posterior_p90"])).all(), fit
    assert m.posterior.ds.attrs["rejuvenated"] == 1


def test_a_nowcasts_intervals_are_those_of_its_effective_members(twin_ensemble, tmp_path):
    """The resampled ensemble repeats members, so its tables' Monte Carlo intervals are those of
    the weights' effective sample size (design effect members / ESS), wider than the same members
    counted as independent; the design effect survives saving and loading the run, and a
    resample-move step keeps it."""
    from standoff import Results
    from standoff.nowcast import rejuvenate
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "exports,2025-04,CHN,MAGNET,ALL,,0.5,0.03,test\nprice,2025-05,USA,MAGNET,,,1.3,0.05,test\n")
    c = twin_ensemble.condition(f)
    post = c.posterior
    assert c.ess < 400 and post.deff == pytest.approx(800 / c.ess)
    naive = Results(post.ds.copy(), post.scenario)
    naive.ds.attrs.pop("effective_members")
    assert naive.deff == 1.0
    for bad in (float("nan"), 0.0, -5.0, 1e9):  # a hand-edited folder: the members counted as independent
        naive.ds.attrs["effective_members"] = bad
        assert naive.deff == 1.0 and np.isfinite(naive.stockouts()["p_stockout_lo"]).all()
    naive.ds.attrs.pop("effective_members")
    a = post.stockouts().set_index(["region", "sector"])
    b = naive.stockouts().set_index(["region", "sector"])
    mid = (a["p_stockout"] > 0.1) & (a["p_stockout"] < 0.9)
    assert mid.any()
    assert ((a["p_stockout_hi"] - a["p_stockout_lo"])[mid] > (b["p_stockout_hi"] - b["p_stockout_lo"])[mid]).all()
    la, lb = post.losses(), naive.losses()
    assert ((la["median_hi"] - la["median_lo"]) >= (lb["median_hi"] - lb["median_lo"])).all()
    assert ((la["median_hi"] - la["median_lo"]) > (lb["median_hi"] - lb["median_lo"])).any()
    import io

    from rich.console import Console

    from standoff.present import print_summary
    buf = io.StringIO()
    print_summary(post, Console(file=buf, width=250))
    assert f"800 members resampled, {c.ess:.0f} effective" in buf.getvalue()
    back = Results.load(post.save(tmp_path / "run"))
    assert back.deff == pytest.approx(post.deff)
    assert rejuvenate(c).posterior.deff == pytest.approx(post.deff)


@pytest.mark.parametrize("name", ["baseline", "london-2025", "crisis-2010", "gallium-2023", "gallium-ban-2024",
                                  "truce-2018"])
def test_conditioning_works_on_every_built_in_scenario(name, tmp_path):
    """Each built-in scenario (its own dataset's names) conditions on a price observation of its
    key product in the US side's region and takes a resample-move step."""
    import datetime as dt
    sc = load_scenario(name).with_(members=12, trajectories=12)
    net = sc.network()
    month = (sc.start + dt.timedelta(days=60)).strftime("%Y-%m")
    f = tmp_path / "o.csv"
    f.write_text(HEADER + f"price,{month},{net.us_region},{net.key_product},,,1.0,0.2,test\n")
    c = simulate(sc).condition(f, moves=1)
    assert c.posterior.ds.sizes["member"] == 12 and np.isfinite(c.loglik).all()
    assert len(c.fit()) == 1


def test_the_same_observation_twice_is_refused_naming_both_rows(tmp_path):
    """Counted twice, one published number would weigh twice in the likelihood."""
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "exports,2025-04,CHN,MAGNET,ALL,,0.5,0.1,Reuters\n"
                 "price,2025-04,USA,MAGNET,,,1.2,0.1,x\n"
                 "exports,2025-04,CHN,MAGNET,ALL,,0.45,0.1,Bloomberg\n")
    with pytest.raises(StandoffError) as e:
        load_observations(f, load_scenario("london-2025"))
    assert "row 4.series" in str(e.value) and "row 2" in str(e.value) and str(f) in str(e.value)


def test_an_observation_no_member_can_match_is_refused(twin_ensemble, tmp_path):
    """A value so far off that every member's likelihood underflows is an error, not NaN weights."""
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "price,2025-05,USA,MAGNET,,,1e300,1e-300,typo\n")
    with pytest.raises(StandoffError) as e:
        twin_ensemble.condition(f)
    assert "no member has a finite likelihood" in str(e.value) and str(f) in str(e.value)


def test_a_comparison_with_a_nowcast_is_unpaired_and_counts_its_effective_members(twin_ensemble, tmp_path):
    """A nowcast's member k is a copy of some drawn member, not member k of the prior: pairing it
    with the prior run (same seed, same members) would compare unrelated members; and its mean's
    interval is that of its effective members, wider than its count says."""
    from standoff import Results
    from standoff.analysis import compare
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "exports,2025-04,CHN,MAGNET,ALL,,0.5,0.03,test\nprice,2025-05,USA,MAGNET,,,1.3,0.05,test\n")
    post = twin_ensemble.condition(f).posterior
    assert post.scenario.seed == twin_ensemble.scenario.seed and post.scenario.members == twin_ensemble.scenario.members
    out = compare(twin_ensemble, post)
    assert not out.attrs["paired"] and out.attrs["resampled"]
    assert "paired_95ci" not in out.columns
    naive = Results(post.ds.copy(), post.scenario)
    naive.ds.attrs.pop("effective_members")
    plain = compare(twin_ensemble, naive)
    assert plain.attrs["paired"]  # counted as drawn, the same members would (wrongly) pair

    def width(df):
        return df["unpaired_95ci"].str.lstrip("±").astype(float)
    wide, narrow = width(out), width(plain)
    varies = narrow > 0
    assert varies.any() and (wide[varies] > narrow[varies]).all()
