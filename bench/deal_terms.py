"""What a simulated deal gives, and how private information delays it.

For london-2025 and truce-2018 with the talks simulated, prints the first deal's tariffs (each
side on the other, median and p10-p90 over the members that reach a deal), each side's
concession (share of its escalation taken back), the first agreement's date, rounds ending in an
impasse, the first truce's lifespan and who blinks first, in three set-ups:

1. ``model``: the defaults (deals may go back to the status quo ante; each side misjudges the
   other's resolve, ``belief_sd``);
2. ``read exactly``: the same with ``belief_sd`` 0 (no private information);
3. ``old model``: ``belief_sd`` 0, what Geneva kept given as an input (``tariff_kept_*``: 0.30
   and 0.10 on the 2024 status quo ante, i.e. the old ``tariff_floor_*`` of 0.49 and 0.31) and
   the old assumed compliance means (0.85 US, 0.75 China) instead of chosen ones: the model
   before December 2026's change.

    python bench/deal_terms.py [--members 200] [--scenario london-2025 truce-2018]
"""
from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from standoff import load_scenario, simulate

SETUPS = {
    "model": {},
    "read exactly": {"belief_sd": 0.0},
    "old model": {"belief_sd": 0.0, "tariff_kept_us": 0.30, "tariff_kept_cn": 0.10,
                  "compliance_mean_us": 0.85, "compliance_mean_cn": 0.75},
}


def _q(x: np.ndarray) -> str:
    x = x[np.isfinite(x)]
    if not len(x):
        return "n/a"
    lo, med, hi = np.quantile(x, [0.1, 0.5, 0.9])
    return f"{med:.2f} ({lo:.2f}-{hi:.2f})"


def summarise(name: str, members: int, params: dict) -> None:
    base = load_scenario(name).negotiating()
    neg = base.negotiation.model_dump()
    neg["parameters"] = {**neg.get("parameters", {}), **params}
    sc = base.with_(members=members, trajectories=0, negotiation=neg)
    res = simulate(sc)
    g = res.ds["negotiation"]

    def v(k: str) -> np.ndarray:
        return g.sel(neg_output=k).values

    agree = v("first_agreement_day")
    med_day = np.nanmedian(agree) if np.isfinite(agree).any() else np.nan
    when = str(sc.start + dt.timedelta(days=int(med_day))) if np.isfinite(med_day) else "never"
    life = np.where(np.isnan(v("first_collapse_day")), sc.horizon_days - agree, v("first_collapse_day") - agree)
    print(f"   deal: {np.isfinite(agree).mean():.0%} of members, median {when}; "
          f"impasses per member {np.mean(v('impasses')):.2f}; first truce lasts {_q(life)} days")
    print(f"   US tariff on China in the deal {_q(v('first_deal_tariff_us'))}; China's on the US "
          f"{_q(v('first_deal_tariff_cn'))}")
    print(f"   concessions: US {_q(v('concession_us'))}, China {_q(v('concession_cn'))}; "
          f"China first {float(res.concessions().attrs['p_cn_first']):.0%}")
    print(f"   compliance at the first deal: US {_q(v('chosen_compliance_us'))}, China "
          f"{_q(v('chosen_compliance_cn'))}; deals with a defection per member {np.mean(v('defections')):.2f}")
    cause = v("first_end_cause")
    dealt = np.isfinite(agree)
    shares = ", ".join(f"{label} {np.mean(cause[dealt] == k):.0%}" for k, label in
                       ((1, "lapsed"), (2, "outside measure"), (3, "breach")))
    print(f"   first truce ended: {shares}, still in force {np.mean(np.isnan(cause[dealt])):.0%}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--scenario", nargs="+", default=["london-2025", "truce-2018"])
    args = ap.parse_args()
    for name in args.scenario:
        print(f"{name} --negotiate, {args.members} members")
        for label, params in SETUPS.items():
            print(f" {label}:")
            summarise(name, args.members, params)


if __name__ == "__main__":
    main()
