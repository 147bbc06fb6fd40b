"""Who blinks first, as a function of the two resolves (both are assumptions).

Runs london-2025 with the talks simulated at fixed values of ``resolve_us`` and ``resolve_cn``
(% of GDP per year a government bears before it concedes) and prints the share of members in
which China's pressure passes its resolve first, with the share of negotiated members whose
first truce path includes an accusation, a repair attempt and limited retaliation.

    python bench/resolve_dependence.py [--members 100] [--values 0.2 0.5 1.0]
"""
from __future__ import annotations

import argparse

import numpy as np

from standoff import load_scenario, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--values", type=float, nargs="+", default=[0.2, 0.5, 1.0])
    args = ap.parse_args()
    base = load_scenario("london-2025").negotiating()
    print(f"london-2025 --negotiate, {args.members} members: P(China blinks first) [ladder share]")
    print("resolve_us \\ resolve_cn " + " ".join(f"{v:>14g}" for v in args.values))
    for ru in args.values:
        cells = []
        for rc in args.values:
            neg = base.negotiation.model_dump()
            neg["parameters"] = {**neg.get("parameters", {}), "resolve_us": ru, "resolve_cn": rc}
            res = simulate(base.with_(members=args.members, trajectories=0, negotiation=neg))
            cc = res.concessions()
            lad = float(np.nanmean(res.ds.negotiation.sel(neg_output="ladder_before_collapse").values))
            cells.append(f"{cc.attrs['p_cn_first']:>7.0%} [{lad:>4.0%}]")
        print(f"{ru:>23g} " + " ".join(cells))


if __name__ == "__main__":
    main()
