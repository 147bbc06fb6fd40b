"""Chain production and downstream sectors.

Stages produce to replace what they shipped and to restore their finished-goods stock,
up to capacity and limited by the scarcest input (Leontief).  Sectors draw their critical
input from the region's receiving stock into their own inventories and produce as much
as that input allows; defense draws first.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def produce(stage_order: np.ndarray, coef: np.ndarray, cap: np.ndarray, stock: np.ndarray,
            stock_tgt: np.ndarray, recv: np.ndarray, shipped_prev: np.ndarray, inv_adjust: float,
            prod_today: np.ndarray, input_used: np.ndarray, inv_coef: np.ndarray) -> None:
    """One day of production at every stage, upstream first.

    ``inv_adjust`` is one over the days over which a stage closes its stock gap, and
    ``inv_coef`` holds ``1 / coef`` where ``coef > 0`` (multiplying beats dividing here).
    """
    R = stock.shape[0]
    P = stock.shape[1]
    for k in range(stage_order.shape[0]):
        p = stage_order[k]
        for r in range(R):
            prod_today[r, p] = 0.0
            if cap[r, p] <= 0.0:
                continue
            q = shipped_prev[r, p] + (stock_tgt[r, p] - stock[r, p]) * inv_adjust
            q = min(max(q, 0.0), cap[r, p])
            for j in range(P):
                if coef[p, j] > 0.0:
                    q = min(q, recv[r, j] * inv_coef[p, j])
            if q <= 0.0:
                continue
            for j in range(P):
                if coef[p, j] > 0.0:
                    used = q * coef[p, j]
                    recv[r, j] = max(recv[r, j] - used, 0.0)
                    input_used[r, j] += used
            stock[r, p] += q
            prod_today[r, p] = q


@njit(cache=True, error_model="numpy")
def allocate_to_sectors(recv: np.ndarray, pull: np.ndarray, cpull: np.ndarray, sinv: np.ndarray,
                        crit: np.ndarray, defense: int) -> None:
    """Share each region's receiving stock among its sectors' pulls; defense first.

    Within a sector, what it gets is shared among its firm cohorts in proportion to
    their own pulls (``cpull``), so the thinly stocked cohorts are not favoured.
    """
    R = recv.shape[0]
    S = pull.shape[1]
    for r in range(R):
        for p in range(recv.shape[1]):
            avail = recv[r, p]
            if avail <= 0.0:
                continue
            if defense >= 0 and crit[defense] == p and pull[r, defense] > 0.0:
                give = min(pull[r, defense], avail)
                _to_cohorts(sinv, cpull, r, defense, give, pull[r, defense])
                avail -= give
            tot = 0.0
            for s in range(S):
                if s != defense and crit[s] == p:
                    tot += pull[r, s]
            if tot > 0.0 and avail > 0.0:
                f = min(1.0, avail / tot)
                for s in range(S):
                    if s != defense and crit[s] == p:
                        give = pull[r, s] * f
                        _to_cohorts(sinv, cpull, r, s, give, pull[r, s])
                        avail -= give
            recv[r, p] = max(avail, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def _to_cohorts(sinv: np.ndarray, cpull: np.ndarray, r: int, s: int, give: float, total: float) -> None:
    if total <= 0.0:
        return
    f = give / total
    for c in range(sinv.shape[2]):
        sinv[r, s, c] += cpull[r, s, c] * f
