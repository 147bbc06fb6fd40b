"""Pain to pressure: interest groups with salience and decay, weighed against resolve.

Each side's daily pain has four kinds (output lost, export revenue lost, buyers' loss from
tariffs, strategic cost).  An interest group stands behind each kind (automakers and
manufacturers, farmers and exporters, consumers and retailers, the defense establishment);
its pressure is the salience-weighted pain averaged over its memory (``decay_days``).  A
government's pressure ratio is total pressure over its resolve, the weighted pain per day it
tolerates.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import kernel_jit
from ..layout import I_CHOKE, I_HEADROOM, PK_STRATEGIC



@kernel_jit(error_model="numpy")
def update_pressure(pressure: np.ndarray, pain_today: np.ndarray, salience: np.ndarray,
                    decay_days: np.ndarray) -> None:
    """Exponential memory of salience-weighted daily pain (US$ bn/day).

    ``pressure`` and ``pain_today`` are indexed ``[side, kind, member]``.
    """
    for s in range(pressure.shape[0]):
        for k in range(pressure.shape[1]):
            a = 1.0 / decay_days[s, k]
            sal = salience[s, k]
            for m in range(pressure.shape[2]):
                pressure[s, k, m] += a * (sal * pain_today[s, k, m] - pressure[s, k, m])


@kernel_jit(error_model="numpy", inline="always")
def book_pain(pol: Any) -> None:
    """Stage: today's pain joins each side's total and its interest groups' pressure."""
    pain_today = pol.pain_today
    pain_tot = pol.pain_tot
    for sd in range(pain_tot.shape[0]):
        for kk in range(pain_tot.shape[1]):
            for m in range(pain_tot.shape[2]):
                pain_tot[sd, kk, m] += pain_today[sd, kk, m]
    update_pressure(pol.pressure, pain_today, pol.salience, pol.decay_days)


@kernel_jit(error_model="numpy", inline="always")
def count_leverage_lost(net: Any, par: Any, stocks: Any, pol: Any) -> None:
    """Stage: the controlling side counts the leverage it loses as capacity outside it grows.

    Its leverage is its share of world capacity of the key product; a standoff that draws new
    capacity elsewhere (the investment signal, announced projects) lowers it for good.  Its
    chokepoint is worth ``chokepoint_value_share`` of the output outside its side whose critical
    input is the key product, a day; the share of its baseline leverage lost times that value
    is strategic pain to it, so a long standoff costs the controller its lever as well as its
    sales.
    """
    kp = net.key_product
    cn = net.cn_idx
    if kp < 0 or cn < 0 or net.world_prod0[kp] <= 0.0 or net.prod0[cn, kp] <= 0.0:
        return
    side = net.side
    crit = net.crit
    value_day = net.value_day
    R, S = value_day.shape
    held = 0.0
    for r in range(R):
        if side[r] != side[cn]:
            for s in range(S):
                if crit[s] == kp:
                    held += value_day[r, s]
    if held <= 0.0:
        return
    cap = stocks.cap
    share = par.gp[I_CHOKE]
    head = par.gp[I_HEADROOM]
    prod0 = net.prod0
    pain_today = pol.pain_today
    sc = side[cn]
    for m in range(cap.shape[2]):
        # the baseline share from the starting capacities, as they were set (so no rounding
        # difference reads as leverage lost while nothing has been built)
        tot0 = 0.0
        tot = 0.0
        for r in range(R):
            tot0 += prod0[r, kp] * (1.0 + head[m])
            tot += cap[r, kp, m]
        lev0 = prod0[cn, kp] * (1.0 + head[m]) / tot0
        lev = cap[cn, kp, m] / tot if tot > 0.0 else 0.0
        lost = max(lev0 - lev, 0.0) / lev0
        pain_today[sc, PK_STRATEGIC, m] += held * share[m] * lost * 1e-9
