"""Digests of every output of every built-in scenario, scripted and negotiated, in float64.

A refactor of the kernel that must not change a single number (the stage split, a new
layout) is checked by running this before and after and comparing the two files::

    python bench/digests.py --out before.json      # on the old commit
    python bench/digests.py --compare before.json  # on the new one: exit 1 and the arrays that differ

The digest of an array is SHA-256 over its float64 bytes, so equal digests mean bit-identical
outputs.  Machine-specific (the compiler targets this CPU), so it is a check to run, not a test.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np


def digests(members: int = 48) -> dict[str, dict[str, str]]:
    from standoff.ensemble import plan, run_chunk
    from standoff.scenario import builtin_scenarios, load_scenario

    out: dict[str, dict[str, str]] = {}
    for name in builtin_scenarios():
        for negotiate in (False, True):
            sc = load_scenario(name).with_(members=members, trajectories=min(members, 8))
            if negotiate:
                sc = sc.negotiating()
            chunk = run_chunk(plan(sc), 0, members, full_precision=True)
            key = f"{name}{' --negotiate' if negotiate else ''}"
            out[key] = {k: hashlib.sha256(np.ascontiguousarray(v, dtype=np.float64).tobytes()).hexdigest()[:16]
                        for k, v in sorted(chunk.arrays.items())}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=48)
    ap.add_argument("--out", help="write the digests to this JSON file")
    ap.add_argument("--compare", help="compare with a JSON file written by --out")
    a = ap.parse_args()
    d = digests(a.members)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(d, f, indent=1, sort_keys=True)
        print(f"{sum(len(v) for v in d.values())} digests of {len(d)} runs written to {a.out}")
    if a.compare:
        with open(a.compare) as f:
            old = json.load(f)
        diff = [(run, arr) for run in old for arr in old[run] if d.get(run, {}).get(arr) != old[run][arr]]
        n = sum(len(v) for v in old.values())
        if diff:
            for run, arr in diff:
                print(f"DIFFERS: {run}: {arr}")
            print(f"{len(diff)} of {n} arrays differ")
            return 1
        print(f"all {n} arrays of {len(old)} runs bit-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
