"""Saving every member's state on a day and continuing from it (standoff.state)."""
from __future__ import annotations

import numpy as np
import pytest

from standoff import load_scenario, simulate
from standoff.errors import StandoffError
from standoff.state import load_state

from .conftest import control, make


def _same(a, b) -> None:
    for name in a.ds.data_vars:
        assert np.array_equal(a.ds[name].values, b.ds[name].values, equal_nan=True), name


@pytest.fixture(scope="module")
def negotiated():
    return load_scenario("london-2025").negotiating().with_(members=40, trajectories=6)


@pytest.mark.parametrize("day", [1, 97, 300])
def test_a_run_resumed_from_a_saved_state_is_the_uninterrupted_run(negotiated, day, tmp_path):
    """london-2025 with the talks simulated (licences, firms, the game, kept daily paths): saved at
    a day, written to disk, read back and resumed, every output and path is bit for bit the
    uninterrupted run's; and saving a state does not change the run that saves it."""
    plain = simulate(negotiated)
    saving = simulate(negotiated, save_state=day)
    _same(plain, saving)
    path = saving.state.save(tmp_path / "state.npz")
    resumed = simulate(negotiated, resume=path)
    _same(plain, resumed)


def test_a_branch_from_a_saved_state_is_the_fresh_run_of_the_branch():
    """Same world until 1 May, then two policies: resuming the saved state with the other
    policy's events from that day is bit for bit a fresh run of the other policy's scenario."""
    base = [control("2025-02-01", approval=0.3)]
    then = [{"date": "2025-05-01", "type": "stockpile_release", "region": "USA", "product": "MAGNET",
             "tonnes_per_day": 4.0}]
    a = make(events=base, members=16, horizon_days=200)
    b = make(events=base + then, members=16, horizon_days=200)
    saved = simulate(a, save_state="2025-05-01").state
    _same(simulate(b), simulate(b, resume=saved))
    assert not np.array_equal(simulate(a).ds.output_loss_usd_bn.values, simulate(b).ds.output_loss_usd_bn.values)


def test_a_world_that_differs_before_the_saved_day_is_refused():
    base = [control("2025-02-01", approval=0.3)]
    saved = simulate(make(events=base, members=8, horizon_days=120), save_state="2025-03-01").state
    other = make(events=[control("2025-02-01", approval=0.4)], members=8, horizon_days=120)
    with pytest.raises(StandoffError, match="before 2025-03-01"):
        simulate(other, resume=saved)
    with pytest.raises(StandoffError, match="8 members"):
        simulate(make(events=base, members=9, horizon_days=120), resume=saved)
    with pytest.raises(StandoffError, match="inside the horizon"):
        simulate(make(events=base, members=8, horizon_days=120), save_state="2026-03-01")


def test_a_file_that_is_not_a_state_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(StandoffError) as e:
        load_state(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(StandoffError, match="no such state file"):
        load_state(tmp_path / "missing.npz")


def test_the_cli_saves_a_state_in_the_run_folder_and_resumes_from_it(tmp_path):
    """`standoff run --save-state DATE` writes state.npz beside the results; `--resume FILE` with a
    branch that differs only after that day gives the branch's fresh results; a scenario that
    differs before it is refused naming --resume; rerun of the saving run still replays."""
    import xarray as xr
    from typer.testing import CliRunner

    from standoff.cli import app
    runner = CliRunner()
    a = tmp_path / "a.yaml"
    a.write_text("name: a\nbaseline: baseline-2024\nstart: 2025-01-01\nhorizon_days: 150\nmembers: 12\nseed: 3\n"
                 "events:\n  - {date: 2025-02-01, type: export_control, exporter: CHN, products: [MAGNET], "
                 "approval_share: 0.3}\n")
    b = tmp_path / "b.yaml"
    b.write_text(a.read_text().replace("name: a", "name: b") +
                 "  - {date: 2025-04-01, type: tariff, importer: USA, exporter: CHN, rate: 1.0}\n")
    r = runner.invoke(app, ["run", str(a), "-q", "-o", str(tmp_path / "ra"), "--catalogue", "none",
                            "--save-state", "2025-04-01"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ra" / "state.npz").is_file() and "state.npz" in r.output
    for name, extra in (("rb", []), ("rb2", ["--resume", str(tmp_path / "ra" / "state.npz")])):
        r = runner.invoke(app, ["run", str(b), "-q", "-o", str(tmp_path / name), "--catalogue", "none", *extra])
        assert r.exit_code == 0, r.output
    with xr.open_dataset(tmp_path / "rb" / "results.nc") as x, xr.open_dataset(tmp_path / "rb2" / "results.nc") as y:
        for v in x.data_vars:
            assert np.array_equal(x[v].values, y[v].values, equal_nan=True), v
    c = tmp_path / "c.yaml"
    c.write_text(a.read_text().replace("approval_share: 0.3", "approval_share: 0.5"))
    r = runner.invoke(app, ["run", str(c), "-q", "-o", str(tmp_path / "rc"), "--catalogue", "none",
                            "--resume", str(tmp_path / "ra" / "state.npz")])
    assert r.exit_code != 0 and "--resume" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "rc").exists()
    r = runner.invoke(app, ["rerun", str(tmp_path / "ra")])
    assert r.exit_code == 0, r.output


def test_a_resumed_run_is_the_reference_models_run_bit_for_bit():
    """Every lever (tariffs, each control mode, quotas, reserves, output limits and halts, a
    political calendar, counter-measures): the kernel saved at day 90 and resumed gives, in
    full precision, exactly what the independent reference model gives uninterrupted."""
    from standoff.core.reference import run_reference
    from standoff.ensemble import plan, run_chunk
    from standoff.state import SavedState

    from .test_reference import EVERY_LEVER
    pl = plan(make(events=EVERY_LEVER, horizon_days=200, members=3, trajectories=3))
    saving = run_chunk(pl, 0, 3, full_precision=True, save_day=90)
    state = SavedState(90, "2025-04-01", "test", 3, saving.states, saving.digests)
    resumed = run_chunk(pl, 0, 3, full_precision=True, resume=state)
    for key, want in run_reference(pl, 0, 3).items():
        np.testing.assert_array_equal(resumed.arrays[key], want, err_msg=key)
