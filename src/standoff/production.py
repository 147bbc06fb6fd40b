"""Chain production and downstream sectors.

Stages produce to replace what they shipped and to restore their finished-goods stock,
up to capacity and limited by the scarcest input (Leontief).  Sectors draw their critical
input from the region's receiving stock into their own inventories and produce as much
as that input allows; defense draws first.

State arrays hold ensemble members on their last axis, so every loop below runs over a
block of members at once (the compiler turns those inner loops into vector instructions).
"""
from __future__ import annotations

import numpy as np
from ._jit import kernel_jit


@kernel_jit(error_model="numpy")
def produce(stage_order: np.ndarray, coef: np.ndarray, inv_coef: np.ndarray, cap: np.ndarray, stock: np.ndarray,
            stock_tgt: np.ndarray, recv: np.ndarray, shipped_prev: np.ndarray, inv_adjust: np.ndarray,
            prod_today: np.ndarray, input_used: np.ndarray, q: np.ndarray) -> None:
    """One day of production at every stage, upstream first, for a block of members.

    ``inv_adjust`` is one over the days over which a stage closes its stock gap (per
    member), ``inv_coef`` holds ``1 / coef`` where ``coef > 0``, ``q`` is scratch.
    """
    R = stock.shape[0]
    P = stock.shape[1]
    M = stock.shape[2]
    for k in range(stage_order.shape[0]):
        p = stage_order[k]
        for r in range(R):
            for m in range(M):
                c = cap[r, p, m]
                x = shipped_prev[r, p, m] + (stock_tgt[r, p, m] - stock[r, p, m]) * inv_adjust[m]
                x = min(max(x, 0.0), c)
                q[m] = x if c > 0.0 else 0.0
            for j in range(P):
                if coef[p, j] > 0.0:
                    ic = inv_coef[p, j]
                    for m in range(M):
                        q[m] = min(q[m], recv[r, j, m] * ic)
            for j in range(P):
                if coef[p, j] > 0.0:
                    cf = coef[p, j]
                    for m in range(M):
                        used = q[m] * cf
                        recv[r, j, m] = max(recv[r, j, m] - used, 0.0)
                        input_used[r, j, m] += used
            for m in range(M):
                stock[r, p, m] += q[m]
                prod_today[r, p, m] = q[m]


@kernel_jit(error_model="numpy")
def allocate_to_sectors(recv: np.ndarray, pull: np.ndarray, cpull: np.ndarray, sinv: np.ndarray,
                        crit: np.ndarray, defense: int, scratch: np.ndarray) -> None:
    """Share each region's receiving stock among its sectors' pulls; defense first.

    Within a sector, what it gets is shared among its firm cohorts in proportion to
    their own pulls (``cpull``), so the thinly stocked cohorts are not favoured.
    ``scratch`` holds four values per member.
    """
    R = recv.shape[0]
    P = recv.shape[1]
    S = pull.shape[1]
    K = sinv.shape[2]
    M = recv.shape[2]
    avail = scratch[0]
    f = scratch[1]
    tot = scratch[2]
    share = scratch[3]
    for r in range(R):
        for p in range(P):
            for m in range(M):
                avail[m] = recv[r, p, m]
            if defense >= 0 and crit[defense] == p:
                d = defense
                for m in range(M):
                    pl = pull[r, d, m]
                    ok = avail[m] > 0.0 and pl > 0.0
                    give = min(pl, avail[m])
                    f[m] = give / pl if ok else 0.0
                    avail[m] = avail[m] - give if ok else avail[m]
                for c in range(K):
                    for m in range(M):
                        sinv[r, d, c, m] += cpull[r, d, c, m] * f[m]
            n_others = 0
            for m in range(M):
                tot[m] = 0.0
            for s in range(S):
                if s != defense and crit[s] == p:
                    n_others += 1
                    for m in range(M):
                        tot[m] += pull[r, s, m]
            if n_others > 0:
                for m in range(M):
                    ok = tot[m] > 0.0 and avail[m] > 0.0 and recv[r, p, m] > 0.0
                    share[m] = min(1.0, avail[m] / tot[m]) if ok else 0.0
                for s in range(S):
                    if s != defense and crit[s] == p:
                        for m in range(M):
                            pl = pull[r, s, m]
                            give = pl * share[m]
                            f[m] = give / pl if pl > 0.0 else 0.0
                            avail[m] -= give
                        for c in range(K):
                            for m in range(M):
                                sinv[r, s, c, m] += cpull[r, s, c, m] * f[m]
            for m in range(M):
                if recv[r, p, m] > 0.0:
                    recv[r, p, m] = max(avail[m], 0.0)
