"""Calibrate the licensing authority's pace of decisions on one observation, in the open.

The observation: CLEPA (European auto suppliers) reported ~25% of their members' licence
applications granted by 4 June 2025, two months into Announcement 18 (rare-earths.md 3b).  That
share is the joint outcome of when the authority started deciding, how fast it decided and how
many decisions granted a licence; the start and the approval share are set from other sources
(defaults/parameters.csv), so only the pace, ``licence_decision_rate``, is fitted here::

    python bench/calibrate_authority.py --members 120

runs london-2025 at a grid of fixed rates, prints the median share granted by 4 June
(magnets, all destinations, from the kept members' daily licence counts) for each, and the
rate at which it is 25% (log-linear interpolation), with the rates giving 18% and 33% as a range.
The gallium episode (first licences about 7 weeks in) and the rest of the back-tests take no
part: they test the result.
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=120)
    ap.add_argument("--rates", default="0.03,0.05,0.08,0.12,0.18,0.27,0.4")
    a = ap.parse_args()
    from standoff import simulate
    from standoff.scenario import load_scenario
    from standoff.validation import MEASURES

    rates = [float(x) for x in a.rates.split(",")]
    shares = []
    base = load_scenario("london-2025")
    for r in rates:
        sc = base.with_(members=a.members, trajectories=a.members,
                        parameters={**base.parameters, "licence_decision_rate": r})
        x = MEASURES["granted_share"](simulate(sc), product="MAGNET", at="2025-06-04")
        med = float(np.nanmedian(x))
        shares.append(med)
        print(f"decision rate {r:5.3f}/week: median share granted by 4 June {med:.3f}", flush=True)
    lr, sh = np.log(rates), np.array(shares)
    order = np.argsort(sh)
    for target in (0.18, 0.25, 0.33):
        print(f"share {target:.2f} at rate {float(np.exp(np.interp(target, sh[order], lr[order]))):.3f}/week")


if __name__ == "__main__":
    main()
