"""The run command end to end: summary printed, files written and readable."""
import json

import numpy as np
import pandas as pd
import xarray as xr
from typer.testing import CliRunner

from standoff import Results
from standoff.cli import app

runner = CliRunner()


def test_run_writes_results_and_prints_a_summary(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "london-2025", "-n", "40", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "when each sector runs out" in res.output
    assert "USA" in res.output and "autos" in res.output
    assert {p.name for p in out.iterdir()} == {"results.nc", "summary", "scenario.yaml", "run.json"}
    ds = xr.load_dataset(out / "results.nc", engine="h5netcdf")
    assert ds.sizes["member"] == 40
    so = pd.read_csv(out / "summary" / "stockouts.csv")
    assert {"region", "sector", "p_stockout", "median_day", "p10_day", "p90_day"} <= set(so.columns)
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 3 and meta["members"] == 40
    again = Results.load(out)
    assert again.scenario.members == 40 and again.scenario.seed == 3
    # the saved scenario reruns to the same numbers
    from standoff import simulate
    rerun = simulate(again.scenario)
    assert (rerun.ds.output_loss_usd_bn.values == ds.output_loss_usd_bn.values).all()


def test_data_shows_sources():
    res = runner.invoke(app, ["data", "sourcing"])
    assert res.exit_code == 0
    assert "MAG" in res.output and "ASSUMPTION" in res.output


def test_scenarios_lists_builtins():
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0 and "london-2025" in res.output and "baseline" in res.output


def test_streamed_run_writes_summaries_that_match_a_full_run(tmp_path, monkeypatch):
    from standoff import simulate
    out = tmp_path / "s"
    cat = tmp_path / "cat.duckdb"
    res = runner.invoke(app, ["run", "london-2025", "-n", "300", "--seed", "5", "--stream", "--out", str(out),
                              "--catalogue", str(cat)])
    assert res.exit_code == 0, res.output
    assert "streamed" in res.output
    so = pd.read_csv(out / "stockouts.csv").set_index(["region", "sector"])
    full = simulate("london-2025", members=300, seed=5).stockouts().set_index(["region", "sector"])
    assert (so["p_stockout"] - full["p_stockout"]).abs().max() < 1e-9
    # "never" (not within the horizon) is written as a word; as a number it is infinity
    days = pd.to_numeric(so["median_day"].replace("never", "inf"))
    assert (days == full["median_day"]).all()
    assert {"output_loss_usd_bn.csv", "pain_usd_bn.csv", "scenario.yaml", "run.json", "paths.nc",
            "bands_price_multiple.csv"} <= {p.name for p in out.iterdir()}
    bands = pd.read_csv(out / "bands_price_multiple.csv")
    assert len(bands) == 546 * 7 * 4 and (bands["p10"] <= bands["median"]).all() and (bands["median"] <= bands["p90"]).all()
    # registered in the catalogue with the same headline numbers as a full run (money to within a ~2% bin)
    from standoff.catalogue import Catalogue
    row = Catalogue(cat).list().iloc[0]
    assert bool(row["streamed"]) and row["members"] == 300 and row["path"] == str(out.resolve())
    want = simulate("london-2025", members=300, seed=5).headline_metrics()
    assert abs(row["p_stockout_lead"] - want["p_stockout_lead"]) < 1e-12
    assert row["median_stockout_day_lead"] == want["median_stockout_day_lead"]
    for k in ("median_loss_lead_bn", "median_pain_us_bn", "median_pain_cn_bn"):
        assert abs(row[k] / want[k] - 1) < 0.025, k
    listed = runner.invoke(app, ["runs", "list", "--catalogue", str(cat)])
    assert listed.exit_code == 0 and "True" in listed.output
    # commands that need per-member results say why they cannot use it, by id or by folder
    monkeypatch.setattr("standoff.catalogue.DEFAULT_PATH", cat)
    for ref in (row["id"], str(out)):
        res = runner.invoke(app, ["report", ref])
        assert res.exit_code == 2 and "streamed" in res.output and "Traceback" not in res.output, res.output


def test_quiet_streamed_run_prints_no_tables(tmp_path):
    out = tmp_path / "q"
    args = ["run", "london-2025", "-n", "40", "--stream", "--out", str(out), "--catalogue", "none"]
    loud = runner.invoke(app, args + ["--overwrite"])
    quiet = runner.invoke(app, args + ["--overwrite", "--quiet"])
    assert loud.exit_code == 0 and quiet.exit_code == 0, quiet.output
    assert "when each sector runs out" in loud.output
    assert "when each sector runs out" not in quiet.output and "streamed summaries written" in quiet.output


def test_summary_csvs_say_never_and_carry_their_units(tmp_path):
    """A stockout that never happened reads 'never' (not inf) in summary/*.csv, and
    summary/columns.csv gives every column of every table a unit or says it is a label."""
    import standoff
    res = standoff.simulate(standoff.load_scenario("london-2025").with_(members=12, trajectories=4))
    out = tmp_path / "run"
    res.save(out)
    text = (out / "summary" / "stockouts.csv").read_text()
    assert "never" in text and "inf" not in text
    cols = pd.read_csv(out / "summary" / "columns.csv")
    for f in (out / "summary").glob("*.csv"):
        if f.name == "columns.csv":
            continue
        have = set(pd.read_csv(f, nrows=0).columns)
        assert have == set(cols[cols["table"] == f.stem]["column"]), f.name
    assert not cols["unit"].str.startswith("a label, or").any(), cols[cols["unit"].str.startswith("a label, or")]
    so = res.stockouts()
    back = pd.read_csv(out / "summary" / "stockouts.csv")
    assert (back["median_day"].astype(str) == "never").sum() == int(np.isinf(so["median_day"]).sum())


def test_runs_prune_deletes_only_old_run_folders_that_are_standoffs_and_only_when_told(tmp_path):
    import time as _time
    cat = tmp_path / "cat.duckdb"
    folders = []
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"  # a run put outside the catalogue's folder
    r = runner.invoke(app, ["run", "baseline", "-n", "2", "--out", str(elsewhere), "--catalogue", str(cat), "--quiet"])
    assert r.exit_code == 0, r.output
    for k in range(4):
        out = tmp_path / f"run{k}"
        r = runner.invoke(app, ["run", "baseline", "-n", "2", "--out", str(out), "--catalogue", str(cat), "--quiet"])
        assert r.exit_code == 0, r.output
        folders.append(out)
        _time.sleep(0.05)
    (folders[0] / "my-notes.txt").write_text("mine")  # the oldest holds a file of the user's: never deleted
    r = runner.invoke(app, ["runs", "prune", "--keep", "1", "--catalogue", str(cat)])
    assert r.exit_code == 0 and "would delete 2 run folders" in r.output and "forget 3 runs" in r.output
    assert all(f.exists() for f in folders)  # a dry run changes nothing
    r = runner.invoke(app, ["runs", "prune", "--keep", "1", "--yes", "--catalogue", str(cat)])
    assert r.exit_code == 0, r.output
    assert folders[0].exists() and (folders[0] / "my-notes.txt").read_text() == "mine"
    assert not folders[1].exists() and not folders[2].exists() and folders[3].exists()
    assert elsewhere.exists() and (elsewhere / "results.nc").exists()  # only forgotten, never deleted
    from standoff.catalogue import Catalogue
    left = set(Catalogue(cat).list()["path"])
    assert left == {str(folders[0]), str(folders[3])}
    r = runner.invoke(app, ["runs", "prune", "--keep", "-1", "--catalogue", str(cat)])
    assert r.exit_code != 0 and "--keep" in r.output


def test_a_saved_run_is_compressed_and_reads_back_bit_for_bit(tmp_path):
    import h5py

    from standoff import simulate
    res = simulate("london-2025", members=6)
    res.save(tmp_path / "r")
    with h5py.File(tmp_path / "r" / "results.nc") as f:
        assert f["cover_days"].compression == "gzip" and f["cover_days"].shuffle
    back = Results.load(tmp_path / "r")
    from standoff.results import WORKING_PATHS
    assert set(back.ds.data_vars) == set(res.ds.data_vars) - set(WORKING_PATHS)
    for k in back.ds.data_vars:
        np.testing.assert_array_equal(back.ds[k].values, res.ds[k].values, err_msg=k)
    res.save(tmp_path / "all", all_paths=True)  # asked for: every path, bit for bit
    every = Results.load(tmp_path / "all")
    for k in res.ds.data_vars:
        np.testing.assert_array_equal(every.ds[k].values, res.ds[k].values, err_msg=k)


def test_daily_paths_keep_four_significant_digits_and_outputs_all_their_bits():
    """Daily paths are bit-rounded to 12 mantissa bits (relative error at most 2**-13), per-member
    outputs are not: the same run at full precision agrees to that bound, and bit rounding rounds
    to nearest (never further than half a unit of the kept bits) and keeps zeros and signs."""
    from standoff.ensemble import PATH_BITS, bitround, plan, run_chunk
    from standoff.scenario import load_scenario
    pl = plan(load_scenario("london-2025").with_(members=3, trajectories=3))
    lo, hi = run_chunk(pl, 0, 3), run_chunk(pl, 0, 3, full_precision=True)
    for k, v in hi.arrays.items():
        if k.startswith("traj:"):
            exact = v.astype(np.float32).astype(np.float64)
            got = lo.arrays[k].astype(np.float64)
            assert np.all(np.abs(got - exact) <= np.abs(exact) * 2.0 ** -(PATH_BITS + 1) * (1 + 1e-9)), k
    x = np.array([0.0, -0.0, 1.0, -3.14159, 1e-30, 7e20, 45.123], np.float32)
    y = bitround(x, PATH_BITS)
    assert y[0] == 0.0 and np.signbit(y[1]) and y[2] == 1.0 and y[3] < 0
    assert np.all(np.abs(y.astype(np.float64) - x) <= np.abs(x.astype(np.float64)) * 2.0 ** -(PATH_BITS + 1))
    assert np.all(bitround(y, PATH_BITS) == y)  # rounding what is rounded changes nothing


def test_data_tables_are_titled_with_the_dataset_not_a_loop_variable():
    """Issue 29: the title read "dataset JPN" (a name reused as a loop variable in load_network)."""
    for args, want in ((["data"], "baseline-2024"), (["data", "sources"], "baseline-2024"),
                       (["data", "--baseline", "baseline-gallium-2022", "sources"], "baseline-gallium-2022")):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert want in res.output and "dataset JPN" not in res.output and "dataset EU" not in res.output


def test_compare_says_which_run_is_a_and_which_is_b(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, seed in ((a, "1"), (b, "2")):
        r = runner.invoke(app, ["run", "baseline", "-n", "4", "--seed", seed, "--out", str(out), "--quiet",
                                "--catalogue", str(tmp_path / "c.duckdb")])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["compare", str(a), str(b)])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())  # the title may wrap
    assert flat.index("B: baseline (") < flat.index("minus A: baseline (")
    assert "nan" not in r.output


def test_run_leaves_the_working_paths_out_unless_all_paths(tmp_path):
    """`standoff run` writes the daily paths the report and dashboard read; `--all-paths` adds
    the working ones (expectations, traders' stock, requirements, cumulative pain, the agreement
    flag), and `standoff rerun` of either folder is identical."""
    from standoff.results import WORKING_PATHS
    for flag, folder in (([], tmp_path / "lean"), (["--all-paths"], tmp_path / "all")):
        res = runner.invoke(app, ["run", "baseline", "-n", "4", "--out", str(folder), "--quiet", "--catalogue", "none",
                                  *flag])
        assert res.exit_code == 0, res.output
        with xr.open_dataset(folder / "results.nc", engine="h5netcdf") as ds:
            names = set(ds.data_vars)
        assert ("price_multiple" in names) and (set(WORKING_PATHS) <= names) == bool(flag)
        assert not (set(WORKING_PATHS) & names) or flag
        again = runner.invoke(app, ["rerun", str(folder)])
        assert again.exit_code == 0 and "identical" in again.output.lower(), again.output
