"""Engine throughput: member-days per second, peak memory, and the ratio to a reference.

The reference is :mod:`standoff.core.reference`: the same model written as a per-agent
simulator would write it, in plain Python with one object per node (holding, sector,
route, goods link), stepping one member at a time.  Both are first checked to give
bit-identical outputs on a small case; the benchmark stops if they differ.

Usage::

    python bench/bench_engine.py                 # london-2025, 20,000 members
    python bench/bench_engine.py --members 1000000 --stream   # bounded-memory run
    python bench/bench_engine.py --members 1000000 --stream --horizon 730   # two years
    python bench/bench_engine.py --stages        # where a day's time goes, stage by stage
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np


def _timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="london-2025")
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--ref-members", type=int, default=4)
    ap.add_argument("--ref-horizon", type=int, default=240)
    ap.add_argument("--horizon", type=int, default=None, help="override the scenario's horizon (days)")
    ap.add_argument("--stream", action="store_true", help="bounded memory: reduce chunks as they finish")
    ap.add_argument("--dask", type=int, default=0, help="also run on a local Dask cluster with N workers")
    ap.add_argument("--stages", action="store_true", help="only: time each stage of the day on its own")
    args = ap.parse_args()
    if args.stages:
        stage_shares(args.scenario, min(args.members, 1024))
        return

    import standoff
    from standoff.ensemble import plan, run_chunk

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sc0 = standoff.load_scenario(args.scenario)
    # 1. bit-identical results against the object-per-node reference on a small case
    from standoff.core.reference import run_reference
    small = sc0.with_(members=args.ref_members, horizon_days=args.ref_horizon, trajectories=0)
    pl_small = plan(small)
    fast = run_chunk(pl_small, 0, args.ref_members, full_precision=True).arrays
    t = time.perf_counter()
    ref = run_reference(pl_small, 0, args.ref_members)
    ref_rate = args.ref_members * args.ref_horizon / (time.perf_counter() - t)
    differ = [k for k, v in ref.items() if not np.array_equal(fast[k], v, equal_nan=True)]
    print(f"reference check ({args.ref_members} members x {args.ref_horizon} days, {len(ref)} outputs): "
          f"{'bit-identical' if not differ else 'DIFFERENT in ' + ', '.join(differ)}")
    if differ:
        sys.exit(1)
    print(f"reference (object per node, one member at a time, plain Python): {ref_rate:,.0f} member-days/s")

    # 2. compiled engine, one core
    sc = sc0.with_(members=args.members, trajectories=min(200, args.members))
    if args.horizon:
        sc = sc.with_(horizon_days=args.horizon)
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
    print(f"ratio to the reference: {rate / ref_rate:,.0f}x")
    # the kernel alone: no daily paths, no result assembly (best of three on up to 4,096 members)
    n_k = min(args.members, 4096)
    pl_k = plan(sc.with_(members=n_k, trajectories=0))
    best = min(_timed(run_chunk, pl_k, 0, n_k) for _ in range(3))
    print(f"kernel alone ({n_k:,} members, no daily paths, best of 3): {n_k * T / best:,.0f} member-days/s")

    if args.dask:
        # Against one Dask worker (the "one-worker throughput") and against the in-process run above.
        from standoff.parallel import DaskExecutor
        rates = {}
        for n_workers in sorted({1, args.dask}):
            with DaskExecutor(n_workers=n_workers) as ex:
                standoff.simulate(sc.with_(members=min(args.members, 4096)), executor=ex)  # warm the workers
                t = time.perf_counter()
                standoff.simulate(sc, executor=ex)
                rates[n_workers] = args.members * T / (time.perf_counter() - t)
        print(f"dask, 1 worker: {rates[1]:,.0f} member-days/s")
        print(f"dask, {args.dask} workers: {rates[args.dask]:,.0f} member-days/s ({rates[args.dask] / rates[1]:.2f}x one "
              f"worker; {rates[args.dask] / rate:.2f}x the one-core run above)")

def stage_shares(scenario: str, members: int) -> None:
    """Time each compiled stage of the day, called from Python on one block of members.

    The day is ``standoff.day.DAY``, stage by stage with the arguments it names, with a timer
    around each; the calls cross from Python into compiled code, which adds a few microseconds
    per call, small against a stage's work on a block of ``members``.
    """
    from standoff.core import engine
    from standoff.day import DAY, kernel_function
    from standoff.ensemble import dim_sizes, kernel_inputs, plan
    from standoff.layout import OUTPUT_SHAPES, TRAJ_SHAPES, Inputs, Outputs, PathsOut
    from standoff.scenario import load_scenario

    sc = load_scenario(scenario).with_(members=members, trajectories=0)
    pl = plan(sc)
    T = sc.horizon_days
    nin, tl = kernel_inputs(pl)
    draw = pl.draw(0, members)
    inp = Inputs(*[np.ascontiguousarray(draw[f]) for f in Inputs._fields])
    sizes = dim_sizes(pl.net)
    out = Outputs(*[np.zeros((members, *[sizes[d] for d in dims])) for dims in OUTPUT_SHAPES.values()])
    tr = PathsOut(*[np.zeros((0, T, *[sizes[d] for d in dims])) for dims in TRAJ_SHAPES.values()])
    funcs = [(st, kernel_function(st)) for st in DAY]
    times: dict[str, float] = {}

    for _rep in range(2):  # the first pass compiles each stage for calls from Python; time the second
        times.clear()
        net, par, stocks, market, sec, ship, ctrl, goods, pol, acc, paths, scr, initial = \
            engine.init_block(0, 0, inp, nin, out, tr)
        state = {"first": 0, "seed": np.uint64(sc.seed), "neg_on": pl.neg_on, "neg_start": pl.neg_start,
                 "horizon": T, "tail_start": max(T - 30, 0), "ap": 0, "tl": tl, "evT": np.ascontiguousarray(inp.ev.T),
                 "talks_today": False, "net": net, "par": par, "stocks": stocks, "market": market, "sec": sec,
                 "ship": ship, "ctrl": ctrl, "goods": goods, "pol": pol, "acc": acc, "paths": paths, "scr": scr}
        for t in range(T):
            state["t"] = t
            for st, fn in funcs:
                args = [state[a] for a in st.args]
                t0 = time.perf_counter()
                r = fn(*args)
                times[st.name] = times.get(st.name, 0.0) + time.perf_counter() - t0
                if st.returns:
                    state.update(zip(st.returns, r))
    total = sum(times.values())
    print(f"{scenario}, {members:,} members x {T} days, stages called from Python: "
          f"{members * T / total:,.0f} member-days/s")
    for name, sec_ in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<22} {100 * sec_ / total:5.1f}%")


if __name__ == "__main__":
    main()
