"""The second hostile probe (issue "Never a confident wrong answer, never a user's file lost").

One test (or a few) per numbered item of the issue and its "also fix" list.  Each reproduces
what the probe found on a fresh clone and asserts the behaviour that replaces it: a named
error (file, field, value) and nothing written, or the right answer.  The dashboard's chunked
body is tested against a real server on loopback.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from standoff import simulate
from standoff.catalogue import Catalogue
from standoff.cli import app
from standoff.errors import StandoffError
from standoff.network import load_network
from standoff.scenario import load_scenario, scenario_from_dict

from .test_first_hour import _cli, _small

runner = CliRunner()
BAN = ("events:\n  - {date: 2025-01-05, type: export_control, exporter: CHN, products: [HREO, METAL, MAGNET], "
       "mode: ban}\n")


def _scenario(tmp_path: Path, extra: str, name: str = "probe") -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"name: {name}\nstart: 2025-01-01\nhorizon_days: 200\nmembers: 4\nseed: 1\ntrajectories: 2\n"
                 + extra)
    return p


def _dataset(tmp_path: Path, name: str = "data") -> Path:
    folder = tmp_path / name
    shutil.copytree(str(resources.files("standoff") / "data" / "baseline-2024"), folder)
    return folder


def _override(folder: Path, table: str) -> None:
    """Give the dataset its own parameters or negotiation table: the model-wide rows, copied
    (a dataset's own rows override the package's defaults/ ones)."""
    src = Path(str(resources.files("standoff") / "defaults" / f"{table}.csv"))
    import csv
    import io
    rows = list(csv.reader(io.StringIO(src.read_text())))
    keep = [r[:7] for r in rows]  # without the domain columns
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(keep)
    (folder / f"{table}.csv").write_text(buf.getvalue())


def _edit(folder: Path, table: str, old: str, new: str) -> None:
    if table in ("parameters", "negotiation") and not (folder / f"{table}.csv").exists():
        _override(folder, table)
    f = folder / f"{table}.csv"
    text = f.read_text()
    assert old in text, (table, old)
    f.write_text(text.replace(old, new, 1))


def _check(folder: Path) -> tuple[int, str]:
    load_network.cache_clear()
    res = runner.invoke(app, ["data", "--check", str(folder)])
    return res.exit_code, res.output


# ---------------------------------------------------------------- 1. degenerate parameters

@pytest.mark.parametrize("param, value", [
    ("order_adjust_days", 0), ("price_response_days", 0), ("price_flexibility", 0), ("re_price_elasticity", 1e6),
    ("trade_adjust_days", 0), ("customs_inspection_days", 1e6), ("licence_approval_share", 5),
])
def test_degenerate_parameters_are_refused_with_their_domain(tmp_path, param, value):
    f = _scenario(tmp_path, f"parameters: {{{param}: {value}}}\n" + BAN)
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 2, res.output
    assert f"parameters.{param}" in res.output and "domain" in res.output and str(f) in res.output
    assert "transit_days" not in res.output or param.startswith("transit")  # blamed on itself, not another


def test_degenerate_dataset_parameters_are_refused_by_data_check(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder, "parameters", "price_response_days,14,7,30", "price_response_days,0,0,0")
    code, out = _check(folder)
    assert code == 2 and "parameters.csv" in out and "price_response_days" in out and "domain" in out


def test_a_negotiation_parameter_outside_its_domain_is_refused(tmp_path):
    f = _scenario(tmp_path, "negotiation: {enabled: true, parameters: {walkout_scale: 0}}\n")
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 2 and "negotiation.parameters.walkout_scale" in res.output


def test_with_cannot_bypass_the_domains(tmp_path):
    sc = load_scenario(_scenario(tmp_path, ""))
    with pytest.raises(StandoffError, match="order_adjust_days"):
        sc.with_(parameters={"order_adjust_days": 0.0})


def test_nan_results_fail_the_run_naming_member_day_and_stage(tmp_path):
    """The net under the domains: a scenario that slips past validation (built here without
    it) and divides by zero fails loudly, with the member, the day and the stage named."""
    from standoff.ensemble import plan, run_chunk
    sc = load_scenario(_scenario(tmp_path, BAN))
    bad = sc.model_copy(deep=True)
    bad.parameters["price_flexibility"] = 0.0
    bad._source = sc._source
    with pytest.raises(StandoffError) as err:
        run_chunk(plan(bad), 0, 4)
    msg = str(err.value)
    assert "NaN or infinity" in msg and "Member 0" in msg and "day 0 (2025-01-01)" in msg
    assert "stage update_markets" in msg and "nothing was written" in msg


# ---------------------------------------------------------------- 2. the orphan sweep

def test_the_sweep_never_removes_a_users_folder(tmp_path):
    home = tmp_path / "home"
    proj = home / ".proj"
    (proj / "summary").mkdir(parents=True)
    (proj / "run.json").write_text("{}")
    old = time.time() - 7200
    os.utime(proj, (old, old))
    empty = home / ".empty"
    empty.mkdir()
    os.utime(empty, (old, old))
    r = _cli(["run", str(_small(tmp_path)), "-q", "--out", "myrun"], home)
    assert r.returncode == 0, r.stderr
    assert proj.is_dir() and (proj / "summary").is_dir() and empty.is_dir()
    assert "removed" not in r.stdout


def test_a_reserved_folder_left_by_a_killed_run_is_removed_and_a_live_one_kept(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / ".standoff-runs").touch()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    left = runs / "killed-20250101T000000-s1"
    left.mkdir()
    (left / ".reserved").write_text(json.dumps({"pid": dead.pid, "host": host}))
    live = runs / "live-20250101T000000-s1"
    live.mkdir()
    (live / ".reserved").write_text(json.dumps({"pid": os.getpid(), "host": host}))
    user = runs / "notes"  # a user's own empty folder in runs/: not standoff's
    user.mkdir()
    r = _cli(["run", str(_small(tmp_path)), "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert not left.exists() and live.exists() and user.exists()


# ---------------------------------------------------------------- 3. chunked bodies (real server)

def test_a_chunked_body_is_cut_off_at_the_limit(tmp_path):
    pytest.importorskip("fastapi")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "standoff"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--workdir", str(tmp_path / "w"),
                             "--catalogue", str(tmp_path / "c.duckdb")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        rss0 = _rss(proc.pid)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.putrequest("POST", "/api/runs")
        c.putheader("Transfer-Encoding", "chunked")
        c.putheader("Content-Type", "application/json")
        c.endheaders()
        chunk = b"x" * (1 << 20)
        sent = 0
        try:
            for _ in range(100):  # 100 MB offered; the server must stop reading after 2 MB
                c.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += 1
            c.send(b"0\r\n\r\n")
        except OSError:
            pass
        r = c.getresponse()
        assert r.status == 413 and b"larger than" in r.read()
        assert _rss(proc.pid) - rss0 < 60e6  # the body was never held whole
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) * 1024
    return 0.0


def test_the_dashboard_limits_its_queue_and_disk(tmp_path, monkeypatch):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    import standoff.web.app as web
    monkeypatch.setattr(web, "MAX_QUEUED", 0)
    client = TestClient(web.create_app(tmp_path / "w", catalogue=tmp_path / "c.duckdb"))
    r = client.post("/api/runs", json={"scenario": "baseline", "members": 2})
    assert r.status_code == 429 and "queued" in r.json()["detail"]
    monkeypatch.setattr(web, "MAX_QUEUED", 8)
    client = TestClient(web.create_app(tmp_path / "w", catalogue=tmp_path / "c.duckdb", max_disk_bytes=10))
    (tmp_path / "w" / "runs" / "big").write_bytes(b"x" * 100)
    r = client.post("/api/runs", json={"scenario": "baseline", "members": 2})
    assert r.status_code == 507 and "GiB" in r.json()["detail"]


# ---------------------------------------------------------------- 4. dataset rows

@pytest.mark.parametrize("table, old, new, needles", [
    ("output_value", "USA,autos,500,", "USA,autos,500,ASSUMPTION,x\nUSA,autos,50000,", ["duplicate", "USA, autos"]),
    ("parameters", "price_cap,15,8,20", "price_cap,25,8,20", ["price_cap", "low <= value <= high"]),
    ("parameters", "price_cap,15,8,20", "price_cap,15,20,8", ["price_cap", "low <= value <= high"]),
    ("parameters", "tariff_pass_through,1.0,0.9,1.0", "tariff_pass_through,5,0.9,5", ["tariff_pass_through",
                                                                                      "domain [0, 1]"]),
    ("regions", "USA,United States,US,west", "USA,United States,US,mars", ["zone", "mars"]),
    ("sectors", "autos,Autos and EVs,MAGNET,0.5", "autos,Autos and EVs,MAGNET,0", ["kg_per_unit", "positive"]),
    # the probe's case: US autos' 3,080 t at 1 kg a vehicle against the 10.5 M vehicles of their output value
    ("sectors", "autos,Autos and EVs,MAGNET,0.5", "autos,Autos and EVs,MAGNET,1.0", ["output_value.csv",
                                                                                     "tonnes, units and money disagree",
                                                                                     "0.29 times"]),
    ("output_value", "USA,autos,500,", "USA,autos,500,", ["output_value.csv"]),  # placeholder: units blanked below
    ("products", "MAGNET,Sintered NdFeB permanent magnets,t,magnet,49", "MAGNET,Sintered NdFeB permanent magnets,t,"
     "magnet,0", ["price_usd_per_kg", "positive"]),
    ("inventory", "autos,sector,21,14,35", "autos,sector,21,30,35", ["inventory.csv", "days_cover"]),
    ("sourcing", "USA,MAGNET,CHN,", "USA,MAGNET,CHN,", ["sourcing.csv"]),  # placeholder replaced below
])
def test_bad_dataset_rows_are_named(tmp_path, table, old, new, needles):
    folder = _dataset(tmp_path)
    if table == "output_value" and old == new:  # a unit count that is not a number
        f = folder / "output_value.csv"
        f.write_text(f.read_text().replace(",10500000\n", ",ten million\n"))
        needles = ["output_value.csv", "units_per_year", "ten million"]
    elif table == "sourcing":  # a duplicate sourcing row would add up silently
        f = folder / "sourcing.csv"
        lines = f.read_text().splitlines()
        row = next(ln for ln in lines if ln.startswith("USA,MAGNET,CHN,"))
        f.write_text("\n".join([*lines, row]) + "\n")
        needles = ["sourcing.csv", "duplicate"]
    else:
        _edit(folder, table, old, new)
    code, out = _check(folder)
    assert code == 2, out
    assert "Traceback" not in out and "internal error" not in out
    for n in needles:
        assert n in out, (n, out)


@pytest.mark.parametrize("what", ["duplicate_product", "missing_negotiation_row", "us_no_demand", "all_demand_zero",
                                  "duplicate_parameter"])
def test_structural_dataset_faults_name_file_and_row(tmp_path, what):
    folder = _dataset(tmp_path)
    if what == "duplicate_product":
        f = folder / "products.csv"
        lines = f.read_text().splitlines()
        f.write_text("\n".join([*lines, lines[1]]) + "\n")
        needles = ["products.csv", "duplicate"]
    elif what == "duplicate_parameter":
        _override(folder, "parameters")
        f = folder / "parameters.csv"
        lines = f.read_text().splitlines()
        f.write_text("\n".join([*lines, lines[1]]) + "\n")
        needles = ["parameters.csv", "duplicate"]
    elif what == "missing_negotiation_row":
        # A dataset can no longer lack a row (the model-wide table fills it); an unknown source
        # key in a row of its own is named with the file and row.
        _override(folder, "negotiation")
        f = folder / "negotiation.csv"
        f.write_text(f.read_text().replace("repair_days,7,3,14,days,LDN", "repair_days,7,3,14,days,NOSUCH"))
        needles = ["negotiation.csv", "NOSUCH", "source key"]
    elif what == "us_no_demand":
        f = folder / "demand.csv"
        lines = f.read_text().splitlines()
        f.write_text("\n".join(ln if not ln.startswith("USA,") else ",".join(
            [*ln.split(",")[:2], "0", *ln.split(",")[3:]]) for ln in lines) + "\n")
        needles = ["demand.csv", "USA", "no demand"]
    else:
        f = folder / "demand.csv"
        lines = f.read_text().splitlines()
        f.write_text("\n".join([lines[0], *(",".join([*ln.split(",")[:2], "0", *ln.split(",")[3:]])
                                            for ln in lines[1:])]) + "\n")
        needles = ["demand.csv", "zero"]
    code, out = _check(folder)
    assert code == 2, out
    assert "internal error" not in out
    for n in needles:
        assert n in out, (n, out)


# ---------------------------------------------------------------- 5. replacing a run

def test_replacing_a_run_replaces_its_catalogue_row(tmp_path):
    cat = tmp_path / "runs" / "catalogue.duckdb"
    r1 = _cli(["run", str(_small(tmp_path, "first")), "-q", "--out", "X"], tmp_path)
    assert r1.returncode == 0, r1.stderr
    old_id = Catalogue(cat).list()["id"].iloc[0]
    r2 = _cli(["run", str(_small(tmp_path, "second", seed=2)), "-q", "--out", "X", "--overwrite"], tmp_path)
    assert r2.returncode == 0, r2.stderr
    df = Catalogue(cat).list()
    assert len(df) == 1 and df["scenario"].iloc[0] == "second" and df["id"].iloc[0] != old_id
    with pytest.raises(StandoffError, match="no run with this id"):
        Catalogue(cat).load(old_id)


def test_an_id_whose_folder_holds_another_run_is_refused(tmp_path):
    from standoff.runstore import new_run_id
    sc = scenario_from_dict({"name": "a", "start": "2025-01-01", "horizon_days": 20, "members": 2})
    res = simulate(sc)
    res.save(tmp_path / "X")
    cat = Catalogue(tmp_path / "c.duckdb")
    meta = json.loads((tmp_path / "X" / "run.json").read_text())
    stale = {**meta, "run_id": new_run_id()}
    cat._insert(stale, tmp_path / "other")  # a row from before, pointing at a folder reused since
    con = cat._connect()
    con.execute("UPDATE runs SET path = ? WHERE id = ?", [str((tmp_path / "X").resolve()), stale["run_id"]])
    con.close()
    with pytest.raises(StandoffError, match="now holds another run"):
        cat.load(stale["run_id"])


# ---------------------------------------------------------------- 6. rerun checks the stored files

@pytest.mark.parametrize("tamper", ["nan", "drop", "replace"])
def test_rerun_refuses_stored_results_that_were_changed(tmp_path, tamper):
    import xarray as xr

    sc = scenario_from_dict({"name": "a", "start": "2025-01-01", "horizon_days": 30, "members": 3, "seed": 4})
    folder = tmp_path / "run"
    simulate(sc).save(folder)
    nc = folder / "results.nc"
    ds = xr.load_dataset(nc, engine="h5netcdf")
    if tamper == "nan":
        ds["output_loss_usd_bn"][:] = np.nan
    elif tamper == "drop":
        ds = ds.drop_vars("pain_usd_bn")
    else:
        ds = xr.load_dataset(simulate(sc.with_(seed=5)).save(tmp_path / "other") / "results.nc", engine="h5netcdf")
    nc.unlink()
    ds.to_netcdf(nc, engine="h5netcdf")
    res = runner.invoke(app, ["rerun", str(folder)])
    assert res.exit_code == 2, res.output
    assert "results.nc" in res.output and "bit-identical" not in res.output


def test_rerun_of_an_untouched_run_is_bit_identical(tmp_path):
    sc = scenario_from_dict({"name": "a", "start": "2025-01-01", "horizon_days": 30, "members": 3, "seed": 4})
    simulate(sc).save(tmp_path / "run")
    res = runner.invoke(app, ["rerun", str(tmp_path / "run")])
    assert res.exit_code == 0 and "bit-identical" in res.output


# ---------------------------------------------------------------- 7. control characters

@pytest.mark.parametrize("raw", [b"\x00", b"\x07", b"\x1b", "\ufffe".encode()])
def test_raw_control_characters_in_yaml_are_named_errors(tmp_path, raw):
    f = tmp_path / "c.yaml"
    f.write_bytes(b"name: a" + raw + b"b\nstart: 2025-01-01\nhorizon_days: 10\n")
    r = _cli(["check", str(f)], tmp_path)
    assert r.returncode == 2 and "malformed YAML" in r.stderr and "internal error" not in r.stderr


def test_an_escaped_nul_in_a_name_fails_validation_not_the_save(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text('name: "a\\0b"\nstart: 2025-01-01\nhorizon_days: 10\n')
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 2 and "name" in res.output and "U+0000" in res.output


def test_raw_control_characters_on_the_dashboard_are_a_4xx(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from standoff.web.app import create_app
    client = TestClient(create_app(tmp_path / "w", catalogue=tmp_path / "c.duckdb"), raise_server_exceptions=False)
    for ch in ("\x00", "\x07", "\x1b", "\ufffe"):
        r = client.post("/api/runs", json={"yaml_text": f"name: a{ch}b\nstart: 2025-01-01\nhorizon_days: 10\n",
                                           "members": 2})
        assert r.status_code == 400 and "malformed YAML" in r.json()["detail"], r.text


# ---------------------------------------------------------------- 8. files without a size

def test_files_without_a_size_are_refused_not_read(tmp_path):
    r = _cli(["check", "/dev/zero"], tmp_path, timeout=60)
    assert r.returncode == 2 and "regular file" in r.stderr
    (tmp_path / "z.yaml").symlink_to("/dev/zero")
    r = _cli(["check", str(tmp_path / "z.yaml")], tmp_path, timeout=60)
    assert r.returncode == 2 and "device" in r.stderr
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    r = _cli(["check", str(fifo)], tmp_path, timeout=60)
    assert r.returncode == 2 and "FIFO" in r.stderr


@pytest.mark.parametrize("command", [["report"], ["rerun"], ["compare", "{run}"]])
def test_a_fifo_named_results_nc_is_refused(tmp_path, command):
    sc = scenario_from_dict({"name": "a", "start": "2025-01-01", "horizon_days": 20, "members": 2})
    folder = tmp_path / "run"
    simulate(sc).save(folder)
    (folder / "results.nc").unlink()
    os.mkfifo(folder / "results.nc")
    args = [command[0], str(folder), *[a.format(run=str(folder)) for a in command[1:]]]
    r = _cli(args, tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "FIFO" in r.stderr and "internal error" not in r.stderr


def test_a_dataset_table_that_is_a_fifo_is_refused(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "politics.csv").unlink()
    os.mkfifo(folder / "politics.csv")
    code, out = _check(folder)
    assert code == 2 and "politics.csv" in out and "FIFO" in out


# ---------------------------------------------------------------- 9. memory limits

def test_the_memory_check_reads_the_containers_limit(tmp_path, monkeypatch):
    from standoff import ensemble
    limit = tmp_path / "memory.max"
    limit.write_text(str(400 * 2**20))
    monkeypatch.setattr(ensemble, "CGROUP_LIMITS", (str(limit),))
    monkeypatch.setattr(ensemble, "_own_cgroup_limits", lambda: [])
    assert ensemble._memory_total() == 400 * 2**20
    sc = load_scenario("london-2025").with_(members=5000)
    with pytest.raises(StandoffError, match="GiB"):
        ensemble.check_memory(ensemble.plan(sc))
    limit.write_text("max")
    assert ensemble._memory_total() > 400 * 2**20


def test_a_sensitivity_design_that_cannot_fit_is_refused_before_it_runs(tmp_path):
    res = runner.invoke(app, ["sensitivity", "baseline", "--n", "100000000"])
    assert res.exit_code == 2 and "--n" in res.output and "GiB" in res.output


# ---------------------------------------------------------------- 10. one bad catalogue row

def test_a_bad_run_json_does_not_stop_later_runs(tmp_path):
    runs = tmp_path / "runs"
    r = _cli(["run", str(_small(tmp_path)), "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    first = next(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))
    bad = runs / "edited"
    shutil.copytree(first, bad)
    meta = json.loads((bad / "run.json").read_text())
    meta["run_id"] = "ffffffffff"
    meta["headline"] = {k: "abc" for k in meta["headline"]}
    meta.pop("writer", None)
    (bad / "run.json").write_text(json.dumps(meta))
    for seed in (2, 3):
        r = _cli(["run", str(_small(tmp_path, seed=seed)), "-q"], tmp_path)
        assert r.returncode == 0, r.stderr
    assert len(Catalogue(runs / "catalogue.duckdb").list()) == 3


# ---------------------------------------------------------------- also fix

def test_dates_that_cannot_be_stored_are_refused(tmp_path):
    for start in ("0001-01-01", "2262-06-01"):
        res = runner.invoke(app, ["check", str(_scenario(tmp_path, "").with_name("x.yaml"))])
        f = tmp_path / "d.yaml"
        f.write_text(f"name: d\nstart: {start}\nhorizon_days: 10\n")
        res = runner.invoke(app, ["check", str(f)])
        assert res.exit_code == 2 and "start" in res.output and start in res.output


def test_a_run_killed_before_saving_leaves_no_folder_behind_it(tmp_path):
    """The reserved folder is marked; the next run removes it once its writer is gone."""
    runs = tmp_path / "runs"
    code = ("import os, sys\nfrom pathlib import Path\nfrom standoff.runstore import new_run_folder\n"
            "new_run_folder(Path('runs'), 'killed', 1)\nos._exit(9)\n")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path)
    assert any(p.name.startswith("killed") for p in runs.iterdir())
    r = _cli(["run", str(_small(tmp_path)), "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert not any(p.name.startswith("killed") for p in runs.iterdir())


def test_a_locked_or_unwritable_destination_fails_before_simulating(tmp_path):
    r = _cli(["run", str(_small(tmp_path)), "-q", "--out", "/proc/self/x"], tmp_path)
    assert r.returncode == 2 and "--out" in r.stderr and "internal error" not in r.stderr
    assert "compiling" not in r.stderr and "members" not in r.stderr  # refused before the engine ran
    (tmp_path / "cat").mkdir()
    r = _cli(["run", str(_small(tmp_path)), "-q", "--catalogue", str(tmp_path / "cat")], tmp_path)
    assert r.returncode == 2 and "catalogue" in r.stderr and "members" not in r.stderr


@pytest.mark.parametrize("args, field", [
    (["run", "baseline", "--dask", "garbage"], "--dask"),
    (["run", "baseline", "--dask", "local", "--workers", "0"], "--workers"),
    (["run", "baseline", "--max-members", "-1", "--precision", "loss:USA:autos=0.5"], "--max-members"),
    (["serve", "--port", "99999"], "--port"),
])
def test_bad_options_are_named_errors(tmp_path, args, field):
    r = _cli(args, tmp_path, timeout=120)
    assert r.returncode == 2 and field in r.stderr and "internal error" not in r.stderr, r.stderr


def test_bad_distributions_and_quota_weights_are_refused(tmp_path):
    f = _scenario(tmp_path, "parameters: {price_cap: {dist: normal, mean: 10, sd: 1, low: 12, high: 9}}\n")
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 2 and "low" in res.output
    f = _scenario(tmp_path, "events:\n  - {date: 2025-01-02, type: export_control, exporter: CHN, products: [MAGNET], "
                            "mode: quota, quota_tonnes_per_year: 5, quota_calendar: [1e308, 1e308, 1e308, 1, 1, 1, "
                            "1, 1, 1, 1, 1, 1]}\n")
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 2 and "finite sum" in res.output


def test_members_true_is_not_one_member(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("name: t\nstart: 2025-01-01\nhorizon_days: 10\nmembers: true\n")
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 2 and "members" in res.output


def test_formula_looking_names_are_escaped_in_csvs(tmp_path):
    sc = scenario_from_dict({"name": "=HYPERLINK(1)", "start": "2025-01-01", "horizon_days": 20, "members": 2})
    folder = simulate(sc).save(tmp_path / "run")
    from standoff.files import csv_safe
    import pandas as pd
    df = csv_safe(pd.DataFrame({"name": ["=1+1", "+x", "-y", "@z", "ok"], "v": [-1.0, 2.0, 3.0, 4.0, 5.0]}))
    assert list(df["name"]) == ["'=1+1", "'+x", "'-y", "'@z", "ok"] and list(df["v"]) == [-1.0, 2.0, 3.0, 4.0, 5.0]
    for f in (folder / "summary").glob("*.csv"):
        for line in f.read_text().splitlines():
            assert not any(cell.startswith(("=", "@")) for cell in line.split(","))


def test_concurrent_runs_do_not_adopt_each_others_live_folders(tmp_path):
    from standoff.catalogue import _live_writer
    assert not _live_writer({"pid": os.getpid(), "host": socket.gethostname()})  # ourselves: registered by us
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert _live_writer({"pid": other.pid, "host": socket.gethostname()})
    finally:
        other.kill()
        other.wait()
    assert not _live_writer({"pid": other.pid, "host": socket.gethostname()})


def test_the_sides_gdp_comes_from_the_data_not_a_module_constant(tmp_path):
    """A resolve in % of GDP is scaled by the sides' GDP from defaults/negotiation.csv, which a
    dataset or scenario may set (a number: it scales every member alike)."""
    from standoff.ensemble import plan
    from standoff.layout import NEG_PARAMS
    sc = load_scenario(_scenario(tmp_path, ""))
    i = NEG_PARAMS.index("resolve_us")
    scale = plan(sc).neg[i][1]
    assert scale == pytest.approx(29000 / 365 / 100)
    doubled = plan(sc.with_(negotiation={"parameters": {"gdp_us_bn_per_year": 58000}})).neg[i][1]
    assert doubled == pytest.approx(2 * scale)
    with pytest.raises(StandoffError, match="GDP is a number"):
        plan(sc.with_(negotiation={"parameters": {"gdp_us_bn_per_year": {"dist": "uniform", "low": 1, "high": 2}}}))
