"""A/B throughput of two versions of the kernel in one process, runs alternating.

Machines here drift by tens of percent from one minute to the next, so two versions are
compared by alternating them in one process on the same members, not against old figures::

    cp -r OLD_CHECKOUT/src/standoff /tmp/ab/standoff_old     # the old package under another name
    PYTHONPATH=/tmp/ab python bench/ab_kernel.py --old standoff_old

prints member-days/s of each run and the ratio new/old of the medians.  Both versions must
use relative imports inside the package (standoff does).
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="importable name of the old package")
    ap.add_argument("--members", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--scenario", default="london-2025")
    a = ap.parse_args()
    versions = {}
    for label, name in (("old", a.old), ("new", "standoff")):
        ens = importlib.import_module(f"{name}.ensemble")
        scen = importlib.import_module(f"{name}.scenario")
        sc = scen.load_scenario(a.scenario).with_(members=a.members, trajectories=0)
        pl = ens.plan(sc)
        ens.run_chunk(pl, 0, 256)  # compile or load
        versions[label] = (ens, pl, sc.horizon_days)
    rates: dict[str, list[float]] = {"old": [], "new": []}
    for k in range(a.rounds):
        for label in (("old", "new") if k % 2 == 0 else ("new", "old")):
            ens, pl, T = versions[label]
            t0 = time.perf_counter()
            ens.run_chunk(pl, 0, a.members)
            rates[label].append(a.members * T / (time.perf_counter() - t0))
    for label in ("old", "new"):
        print(f"{label}: " + ", ".join(f"{r:,.0f}" for r in rates[label]) + " member-days/s")
    ratio = statistics.median(rates["new"]) / statistics.median(rates["old"])
    print(f"new / old (medians of {a.rounds}): {ratio:.3f}")


if __name__ == "__main__":
    main()
