"""`standoff calibrate`: the grid search on a toy game with a known answer, the out-of-sample rule,
the calibrated rows, and the command end to end on a small ensemble."""
import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from standoff.calibrate import EPISODES, calibrate, grid_search, window_probability, write_calibration
from standoff.cli import app
from standoff.errors import StandoffError


def toy_game(params):
    """A truce that lasts longer the higher the threshold of patience and the better repairs work:
    lifespan = 40 + 200 * repair * patience (known optimum for any target in range)."""
    return 40.0 + 200.0 * params["repair"] * params["patience"]


def test_grid_search_finds_the_known_answer_of_a_toy_game():
    grid = {"repair": [0.2, 0.4, 0.6, 0.8], "patience": [0.25, 0.5, 1.0]}
    r = grid_search(toy_game, grid, target=160.0)           # 40 + 200 * 0.6 * 1.0 = 160
    assert r.best == {"repair": 0.6, "patience": 1.0} and r.best_value == 160.0
    assert len(r.table) == 12 and r.table["distance"].min() == 0.0
    # twice too long is as far as half as long
    r2 = grid_search(lambda p: p["x"], {"x": [40.0, 160.0]}, target=80.0)
    assert r2.table["distance"].iloc[0] == pytest.approx(r2.table["distance"].iloc[1])


def test_a_point_where_nothing_happens_is_never_chosen():
    r = grid_search(lambda p: np.nan if p["x"] < 1 else 500.0, {"x": [0.0, 1.0]}, target=100.0)
    assert r.best == {"x": 1.0}


def test_fitting_and_testing_on_one_episode_is_refused():
    with pytest.raises(StandoffError, match="different episodes"):
        calibrate("truce-2018", "truce-2018", {"threshold": [0.6]}, members=4)
    with pytest.raises(StandoffError, match="unknown episode"):
        calibrate("truce-2019", "london-2025", {"threshold": [0.6]}, members=4)


def test_calibrated_rows_say_calibrated_and_on_what(tmp_path):
    outcome = {"fit_on": "truce-2018", "test_on": "london-2025", "best": {"threshold": 0.55},
               "fit_median": 150.0, "test_median": 70.0, "test_holds": False}
    path = write_calibration(tmp_path / "cal.csv", outcome)
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["name"] == "threshold" and float(rows[0]["value"]) == 0.55
    assert rows[0]["source"] == "CALIBRATED"
    assert EPISODES["truce-2018"].observation in rows[0]["note"] and "does not hold" in rows[0]["note"]


def test_the_command_fits_on_one_episode_and_tests_on_the_other(tmp_path):
    out = tmp_path / "calibrated.csv"
    res = CliRunner().invoke(app, ["calibrate", "--fit-on", "truce-2018", "--test-on", "london-2025",
                                   "--param", "threshold=0.5,0.6", "--param", "repair_success=0.6",
                                   "-n", "16", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "tested on london-2025" in res.output and out.exists()
    flat = " ".join(res.output.split())
    assert "P(within 15 days of the observed)" in flat and "with the dataset's own values" in flat
    bad = CliRunner().invoke(app, ["calibrate", "--fit-on", "truce-2018", "--test-on", "london-2025",
                                   "--param", "thresold=0.5", "-n", "4", "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0 and "unknown negotiation parameter" in bad.output


def test_by_default_the_rows_go_beside_the_runs_not_into_the_working_directory(tmp_path, monkeypatch):
    """A clone stays clean: the default file is under runs/, and the output says how to use it."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["calibrate", "--fit-on", "truce-2018", "--test-on", "london-2025",
                                   "--param", "threshold=0.5", "--param", "repair_success=0.6", "-n", "8"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "calibrated.csv").exists()
    written = list((tmp_path / "runs").glob("calibration-truce-2018-*.csv"))
    assert len(written) == 1 and "negotiation: parameters:" in res.output.replace("\n", " ")
    folder = CliRunner().invoke(app, ["calibrate", "--fit-on", "truce-2018", "--test-on", "london-2025",
                                      "--param", "threshold=0.5", "-n", "4", "--out", str(tmp_path)])
    assert folder.exit_code != 0 and "--out" in folder.output


def test_the_likelihood_is_the_share_of_members_whose_truce_ends_near_the_observed_day():
    """Members that never reach a truce count as not ending near it; a window no member lands in
    still has a finite (smoothed) log-likelihood, below any window some member lands in."""
    life = np.array([100.0, 150.0, 160.0, 174.0, 176.0, 400.0])
    w = window_probability(life, members=10, observed=160.0, window=15.0)
    assert w["p_window"] == 0.3 and w["p_window_lo"] < 0.3 < w["p_window_hi"]
    assert w["log_likelihood"] == pytest.approx(np.log(3.5 / 11))
    none = window_probability(life, members=10, observed=1000.0)
    assert none["p_window"] == 0.0 and np.isfinite(none["log_likelihood"])
    assert none["log_likelihood"] < window_probability(life, 10, 400.0)["log_likelihood"]


def test_calibration_by_likelihood_reports_the_test_against_the_datasets_own_values():
    out = calibrate("truce-2018", "london-2025", {"threshold": [0.45, 0.6]}, members=24)
    assert out["objective"] == "likelihood"
    best = out["grid"].set_index("threshold")["log_likelihood"]
    assert best.loc[out["best"]["threshold"]] == best.max()
    for key in ("test_p_window", "default_p_window", "fit_p_window"):
        assert out[key + "_lo"] <= out[key] <= out[key + "_hi"]
    with pytest.raises(StandoffError, match="objective"):
        calibrate("truce-2018", "london-2025", {"threshold": [0.6]}, members=4, objective="mode")
