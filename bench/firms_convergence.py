"""How the answers depend on the number of firms per sector, and what each resolution costs.

Each sector's use is split over ``firms`` equal firms whose days of cover are the quantile
midpoints of a lognormal spread (``standoff.layout.firm_cover_multipliers``).  This runs
london-2025 at several resolutions with the same seed and members (common random numbers) and
prints, for US and EU autos, the median first stoppage, output lost and delayed, the share of
the sector's output that stopped at least once and the firm-weeks stopped (per firm-equivalent
of the sector), with the run's throughput.  The default (``standoff.layout.DEFAULT_FIRMS``) is
the smallest resolution beyond which the medians move less than their Monte Carlo error.

    python bench/firms_convergence.py [--members 400] [--firms 1 2 4 8 16 32 64]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from standoff import load_scenario, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="london-2025")
    ap.add_argument("--members", type=int, default=400)
    ap.add_argument("--firms", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    args = ap.parse_args()
    simulate(load_scenario(args.scenario).with_(members=8, trajectories=0))  # compile outside the timing
    print(f"{args.scenario}, {args.members} members, same seed at every resolution")
    print(f"{'firms':>5} {'region':>6} {'first stop (day)':>17} {'lost bn':>8} {'delayed bn':>10} "
          f"{'share stopped':>13} {'weeks stopped':>13} {'member-days/s':>14}")
    for k in args.firms:
        sc = load_scenario(args.scenario).with_(members=args.members, trajectories=0, firms=k)
        t0 = time.perf_counter()
        res = simulate(sc)
        rate = args.members * sc.horizon_days / (time.perf_counter() - t0)
        ds = res.ds
        for reg in ("USA", "EU"):
            sel = {"region": reg, "sector": "autos"}
            day = ds.first_stockout_day.sel(**sel).values
            day = np.where(np.isnan(day), np.inf, day)
            print(f"{k:>5} {reg:>6} {np.median(day):>17.1f} {np.median(ds.output_loss_usd_bn.sel(**sel)):>8.2f} "
                  f"{np.median(ds.output_delayed_usd_bn.sel(**sel)):>10.2f} "
                  f"{np.median(ds.share_affected.sel(**sel)):>13.3f} {np.median(ds.stopped_weeks.sel(**sel)):>13.2f} "
                  f"{rate:>14,.0f}")


if __name__ == "__main__":
    main()
