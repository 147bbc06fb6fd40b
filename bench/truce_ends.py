"""How truces end and who blinks first, with and without each side looking ahead.

For london-2025 and truce-2018 with the talks simulated, prints for each set-up: who blinks first
(the share of members in which each side's pressure passes its resolve within the horizon, the
median date, and which side passes it first), each side's tariff in the first deal, the first
agreement's median date, the share of first truces in force at their first 90-day deadline that
were extended there, how first truces end, and the first truce's median lifespan (life table).

Set-ups:

1. ``model``: the defaults (a side weighs the pressure it projects ``look_ahead_days`` ahead at
   today's rate of change; at a deadline it extends if the pressure a lapse would bring back,
   trusted, outweighs its concession);
2. ``no look-ahead``: the same with ``look_ahead_days`` 0 (pressure as remembered).

    python bench/truce_ends.py [--members 300] [--scenario london-2025 truce-2018]

Run by hand; the README quotes one run (illustrative).  Nothing here is asserted by tests.
"""
from __future__ import annotations

import argparse

import numpy as np

from standoff import load_scenario, simulate

SETUPS = {"model": {}, "no look-ahead": {"look_ahead_days": 0.0}}


def summarise(name: str, members: int, params: dict) -> None:
    base = load_scenario(name).negotiating()
    neg = base.negotiation.model_dump()
    neg["parameters"] = {**neg.get("parameters", {}), **params}
    res = simulate(base.with_(members=members, trajectories=0, negotiation=neg))
    g = res.ds["negotiation"]
    agree = g.sel(neg_output="first_agreement_day").values
    coll = g.sel(neg_output="first_collapse_day").values
    horizon = res.scenario.horizon_days
    cc = res.concessions().set_index("side")
    for side in ("US", "CN"):
        r = cc.loc[side]
        when = r["median_date"].date() if r["median_date"] == r["median_date"] else "never"
        print(f"   {side}: passes its resolve in {r['p_concedes']:.0%} (median {when}); "
              f"its tariff in the first deal {r['median_tariff_in_first_deal']:.0%}")
    print(f"   China first in {cc.attrs['p_cn_first']:.0%} of members")
    dealt = np.isfinite(agree)
    if not dealt.any():
        print("   no member reached an agreement")
        return
    med = int(np.nanmedian(agree))
    print(f"   first agreement in {dealt.mean():.0%} of members, median {res.scenario.start + np.timedelta64(med, 'D')}")
    life = np.where(np.isnan(coll), np.inf, coll) - agree
    at_deadline = dealt & (life >= 89) & (agree + 90 < horizon)
    extended = at_deadline & (life > 92)
    print(f"   first truces in force at day 89: {at_deadline.sum()}; extended at the first deadline: "
          f"{extended.sum() / max(at_deadline.sum(), 1):.0%}")
    ends = res.truce_ends()
    for _, row in ends.iterrows():
        print(f"   {row.iloc[0]}: {row['share']:.0%}")
    lt = res.truce_lifespan()
    print(f"   median lifespan {lt.attrs.get('median_days', float('nan')):.0f} days")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=300)
    ap.add_argument("--scenario", nargs="+", default=["london-2025", "truce-2018"])
    a = ap.parse_args()
    for name in a.scenario:
        for setup, params in SETUPS.items():
            print(f"{name}, {setup}:")
            summarise(name, a.members, params)


if __name__ == "__main__":
    main()
