"""Does conditioning on what was published help?  Twin experiments and a hindcast.

1. Twin experiments (london-2025, through August 2025): a hidden member of the ensemble is the
   truth; its April and May magnet exports from China and US magnet prices, with noise of the
   stated size, condition the rest (:mod:`standoff.twin`).  Prints the coverage of the
   forecasts' central 80% intervals (the US auto loss, the US magnet price in July) with its
   binomial standard error, the mean effective sample size, and the inputs the data inform
   (mean reduction of the squared error of the input's mean, in prior variances).
2. Hindcast: london-2025 conditioned on what was published by the end of May 2025 in
   ``../shared/data`` (China's magnet exports in April, about half of normal: the automakers'
   letter, AAI), against the date CLEPA reported European supplier plants shut (4 June 2025):
   the continuous ranked probability score (CRPS, days; lower is better) of the forecast first
   EU auto stockout, unconditioned and conditioned.  That date is an upper bound on the first
   stoppage ("shut by 4 Jun"), so read the score as indicative.

    python bench/nowcast_skill.py [--members 1600] [--trials 400]
"""
from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np


def crps(x: np.ndarray, w: np.ndarray, y: float) -> float:
    """CRPS of a weighted ensemble ``x`` (weights ``w``) at observation ``y``:
    E|X - y| - E|X - X'| / 2 (Gneiting & Raftery 2007)."""
    w = w / w.sum()
    return float(np.sum(w * np.abs(x - y)) - 0.5 * np.sum(w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])))


def twins(members: int, trials: int) -> None:
    from standoff import load_scenario, simulate
    from standoff.twin import key_price_in, lead_sector_loss, observations_of, twin_trials

    t = time.time()
    sc = load_scenario("london-2025").with_(members=members, trajectories=members, horizon_days=240)
    res = simulate(sc)
    tw = twin_trials(res, observations_of(res), {"US autos loss": lead_sector_loss,
                                                 "US magnet price, July": key_price_in("2025-07")}, trials=trials)
    print(f"1. twin experiments: london-2025, {members} members, {trials} hidden members ({time.time() - t:.0f} s)")
    for name, cov in zip(("US autos loss", "US magnet price, July"), tw.coverage):
        print(f"   80% interval covers the truth: {name}: {cov:.1%} (binomial se {tw.mc_error():.1%})")
    print(f"   mean effective sample size {tw.ess.mean():.0f} of {members - 1}")
    g = tw.input_gain()
    print("   inputs the data inform most (gain in prior variances, +- se):")
    for _, r in g.head(5).iterrows():
        print(f"     {r['input']}: {r['gain']:.2f} +- {r['se']:.2f}")


def main() -> None:
    from standoff import load_scenario, simulate
    from standoff.nowcast import Observation, condition

    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1600)
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--hindcast-only", action="store_true")
    args = ap.parse_args()

    if not args.hindcast_only:
        twins(args.members, args.trials)

    sc = load_scenario("london-2025").with_(members=args.members // 2, trajectories=args.members // 2)
    res = simulate(sc)
    obs = [Observation("exports", dt.date(2025, 4, 1), dt.date(2025, 4, 30), "CHN", "MAGNET", "ALL", "", 0.5, 0.08,
                       "AAI (automakers' letter): China's magnet exports fell about 50% in April", 2)]
    c = condition(res, obs, resample=False)
    d = res.ds["first_stockout_day"].sel(region="EU", sector="autos").values.astype(float)
    d = np.where(np.isnan(d), sc.horizon_days, d)
    y = float(sc.day_of(dt.date(2025, 6, 4)))
    flat = np.full(len(d), 1.0 / len(d))
    print(f"\n2. hindcast: london-2025, {len(d)} members, conditioned on China's April magnet exports (0.5 +- 0.08)")
    print(f"   effective sample size {c.ess:.0f}")
    print(f"   CRPS of the first EU auto stockout against 4 June 2025: unconditioned {crps(d, flat, y):.2f} days, "
          f"conditioned {crps(d, c.weights, y):.2f} days")
    from standoff.nowcast import weighted_quantile
    for label, w in (("unconditioned", flat), ("conditioned", c.weights)):
        lo, hi = weighted_quantile(d, w, [0.1, 0.9])
        when = [str(sc.start + dt.timedelta(days=int(v))) for v in (lo, hi)]
        print(f"   {label}: 80% interval {when[0]} to {when[1]}, covers 4 June: {lo <= y <= hi}")


if __name__ == "__main__":
    main()
