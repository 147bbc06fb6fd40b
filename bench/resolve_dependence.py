"""Who blinks first, and what it depends on.

By default both sides' resolves come from one share of GDP (``resolve``, % of GDP per year a
government bears before it concedes: the same draw for both sides, on each side's own GDP), so
who blinks first follows from each side's pain relative to its economy.  This prints, for
london-2025 with the talks simulated:

1. P(China's pressure passes its resolve first) at fixed values of the shared ``resolve``;
2. the same when a scenario imposes its own view of one side (``resolve_us``/``resolve_cn``
   set apart, the grid of the earlier, independent resolves), to show how far an analyst's
   asymmetric assumption would have to go to change the answer;
3. with a period of the US political calendar (``political_calendar``: the US bears half the
   pain from 1 May to the end of the horizon, an illustration, not a source).

    python bench/resolve_dependence.py [--members 100] [--values 0.2 0.5 1.0]
"""
from __future__ import annotations

import argparse

from standoff import load_scenario, simulate


def p_cn_first(base, members: int, params: dict, events: list | None = None) -> float:
    neg = base.negotiation.model_dump()
    neg["parameters"] = {**neg.get("parameters", {}), **params}
    sc = base.with_(members=members, trajectories=0, negotiation=neg)
    if events:
        data = sc.model_dump(mode="json")
        data["events"] = [*data["events"], *events]
        sc = type(sc).model_validate(data)
    return float(simulate(sc).concessions().attrs["p_cn_first"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--values", type=float, nargs="+", default=[0.2, 0.5, 1.0])
    args = ap.parse_args()
    base = load_scenario("london-2025").negotiating()
    n = args.members
    print(f"london-2025 --negotiate, {n} members: P(China's pressure passes its resolve first)")
    print("\n1. the shared resolve (% of GDP per year, both sides)")
    for v in args.values:
        print(f"   resolve {v:>5g}: {p_cn_first(base, n, {'resolve': v}):>5.0%}")
    print("\n2. each side's own resolve set apart (an analyst's asymmetric view)")
    print("   resolve_us \\ resolve_cn " + " ".join(f"{v:>7g}" for v in args.values))
    for ru in args.values:
        cells = [f"{p_cn_first(base, n, {'resolve_us': ru, 'resolve_cn': rc}):>7.0%}" for rc in args.values]
        print(f"   {ru:>23g} " + " ".join(cells))
    cal = [{"date": "2025-05-01", "type": "political_calendar", "side": "US", "until": "2026-12-31",
            "resolve_multiplier": 0.5, "what": "illustration: the US bears half the pain from May"}]
    print("\n3. the US bears half the pain from 1 May (political_calendar, illustration)")
    for v in args.values:
        print(f"   resolve {v:>5g}: {p_cn_first(base, n, {'resolve': v}, cal):>5.0%}")


if __name__ == "__main__":
    main()
