"""Issue 28's speed figures, measured in one run of one process, printed as the README's table.

    python bench/speed_summary.py [--members 8000]

Measures, on london-2025: the kernel at 16 firms per sector against 4 (``run_chunk``, no daily
paths, alternating rounds, medians), the engine's member-days/s (``simulate`` with its default
200 daily paths), two Dask workers against one, the size of the default run's folder (500
members, written by ``Results.save``), and the wall time of ``standoff --help`` and of a small
run (``standoff run london-2025 -n 50``, from a warm compiled cache) as a user starts them.
Machines here drift by tens of percent from one minute to the next: read ratios measured in
one run, not absolute figures from different runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(cmd: list[str], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def _folder_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=8000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()

    import standoff
    from standoff.ensemble import plan, run_chunk
    from standoff.parallel import DaskExecutor
    from standoff.scenario import load_scenario

    sc = load_scenario("london-2025")
    T = sc.horizon_days
    rows: list[tuple[str, str]] = []

    # Firms: the same members at 16 and at 4 firms per sector, rounds alternating.
    n = 2048
    plans = {k: plan(sc.with_(members=n, trajectories=0, firms=k)) for k in (16, 4)}
    for pl in plans.values():
        run_chunk(pl, 0, 64)  # load the compiled engine
    rate: dict[int, list[float]] = {16: [], 4: []}
    for r in range(a.rounds):
        for k in ((16, 4) if r % 2 == 0 else (4, 16)):
            t = time.perf_counter()
            run_chunk(plans[k], 0, n)
            rate[k].append(n * T / (time.perf_counter() - t))
    r16, r4 = statistics.median(rate[16]), statistics.median(rate[4])
    rows.append(("kernel, 16 firms per sector against 4 (`run_chunk`, no daily paths)",
                 f"{r16:,.0f} against {r4:,.0f} member-days/s: {r16 / r4:.2f} x"))

    # The engine as a user calls it.
    big = sc.with_(members=a.members)
    t = time.perf_counter()
    standoff.simulate(big)
    eng = a.members * T / (time.perf_counter() - t)
    rows.append((f"engine, one core (`simulate`, {a.members:,} members, 200 daily paths)", f"{eng:,.0f} member-days/s"))

    # Dask: two local workers against one.
    dk = {}
    for w in (1, 2):
        with DaskExecutor(n_workers=w) as ex:
            standoff.simulate(big.with_(members=2048), executor=ex)  # warm the workers
            t = time.perf_counter()
            standoff.simulate(big, executor=ex)
            dk[w] = a.members * T / (time.perf_counter() - t)
    rows.append(("Dask, two local workers against one", f"{dk[2]:,.0f} against {dk[1]:,.0f} member-days/s: "
                                                        f"{dk[2] / dk[1]:.2f} x"))

    # The default run's folder.
    tmp = Path(tempfile.mkdtemp())
    try:
        res = standoff.simulate(sc)
        res.save(tmp / "run")
        rows.append((f"default run folder (london-2025, {sc.members} members, {sc.trajectories} with daily paths)",
                     f"{_folder_mib(tmp / 'run'):.1f} MiB (results.nc {(tmp / 'run' / 'results.nc').stat().st_size / 2**20:.1f} MiB)"))
        exe = shutil.which("standoff") or str(Path(sys.executable).parent / "standoff")
        rows.append(("`standoff --help`, wall time (best of 3)", f"{_wall([exe, '--help']):.2f} s"))
        first = [sys.executable, "-c", "from standoff.scenario import load_scenario; "
                 "from standoff.ensemble import plan, warm_up; "
                 "warm_up(plan(load_scenario('london-2025').with_(members=50)))"]
        rows.append(("a new process to its first member (interpreter, imports, plan, compiled engine loaded from "
                     "the cache, one member run; best of 3)", f"{_wall(first):.2f} s"))
        small = [exe, "run", "london-2025", "-n", "50", "--quiet", "--catalogue", "none", "--overwrite",
                 "--out", str(tmp / "small")]
        rows.append(("`standoff run london-2025 -n 50 --quiet`, wall time, warm cache (best of 3)",
                     f"{_wall(small):.2f} s"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"| measure (one run of bench/speed_summary.py, {os.cpu_count()} cores) | figure |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
