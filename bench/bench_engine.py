"""Engine throughput: member-days per second, peak memory, and the ratio to a reference.

The reference is the same model run by the Python interpreter one member at a time
(numba disabled, ``NUMBA_DISABLE_JIT=1`` in a subprocess): the straightforward way to
write the model.  Both are first checked to give identical results on a small case.

Usage::

    python bench/bench_engine.py                 # london-2025, 20,000 members
    python bench/bench_engine.py --members 1000000 --stream   # bounded-memory run
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def _reference(scenario: str, members: int, horizon: int) -> dict:
    code = f"""
import json, time, numpy as np, standoff
from standoff.ensemble import plan, run_chunk
sc = standoff.load_scenario({scenario!r}).with_(members={members}, horizon_days={horizon}, trajectories=0)
pl = plan(sc)
t = time.perf_counter(); ch = run_chunk(pl, 0, {members}); dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "loss": ch.arrays["output_loss_usd_bn"].tolist(),
                   "stockout": np.nan_to_num(ch.arrays["first_stockout_day"], nan=-1).tolist()}}))
"""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="london-2025")
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--ref-members", type=int, default=2)
    ap.add_argument("--ref-horizon", type=int, default=120)
    ap.add_argument("--stream", action="store_true", help="bounded memory: reduce chunks as they finish")
    ap.add_argument("--dask", type=int, default=0, help="also run on a local Dask cluster with N workers")
    args = ap.parse_args()

    import standoff
    from standoff.ensemble import plan, run_chunk

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sc0 = standoff.load_scenario(args.scenario)
    # 1. identical results against the reference on a small case
    small = sc0.with_(members=args.ref_members, horizon_days=args.ref_horizon, trajectories=0)
    fast = run_chunk(plan(small), 0, args.ref_members)
    ref = _reference(args.scenario, args.ref_members, args.ref_horizon)
    same = np.allclose(fast.arrays["output_loss_usd_bn"], np.array(ref["loss"]), rtol=1e-9, atol=1e-12) and \
        np.array_equal(np.nan_to_num(fast.arrays["first_stockout_day"], nan=-1), np.array(ref["stockout"]))
    print(f"reference check ({args.ref_members} members x {args.ref_horizon} days): "
          f"{'identical' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)
    ref_rate = args.ref_members * args.ref_horizon / ref["seconds"]
    t = time.perf_counter()
    run_chunk(plan(small), 0, args.ref_members)
    small_rate = args.ref_members * args.ref_horizon / (time.perf_counter() - t)
    print(f"reference (interpreted, one member at a time): {ref_rate:,.0f} member-days/s")

    # 2. compiled engine, one core
    sc = sc0.with_(members=args.members, trajectories=min(200, args.members))
    pl = plan(sc)
    T = sc.horizon_days
    t = time.perf_counter()
    if args.stream:
        from standoff.ensemble import SerialExecutor
        from standoff.results import StreamingSummary  # noqa: F401
        acc = StreamingSummary(pl)
        for ch in SerialExecutor().map(pl, SerialExecutor().split(args.members)):
            acc.add(ch)
        res_desc = f"streamed summaries of {acc.members:,} members"
    else:
        res = standoff.simulate(sc)
        res_desc = f"Dataset of {res.ds.nbytes / 2**20:,.0f} MiB"
    dt = time.perf_counter() - t
    rate = args.members * T / dt
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine ({args.scenario}, {args.members:,} members x {T} days, one core): {rate:,.0f} member-days/s "
          f"in {dt:.1f} s; peak RSS {peak:,.0f} MiB; {res_desc}")
    print(f"ratio to the reference: {rate / ref_rate:,.0f}x (same small case compiled: {small_rate:,.0f} md/s)")

    if args.dask:
        from standoff.parallel import DaskExecutor
        with DaskExecutor(n_workers=args.dask) as ex:
            standoff.simulate(sc.with_(members=min(args.members, 4096)), executor=ex)  # warm the workers
            t = time.perf_counter()
            standoff.simulate(sc, executor=ex)
            ddt = time.perf_counter() - t
        print(f"dask, {args.dask} workers: {args.members * T / ddt:,.0f} member-days/s "
              f"({dt / ddt:.2f}x one core)")


if __name__ == "__main__":
    main()
