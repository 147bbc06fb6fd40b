"""Chain production and downstream sectors.

Stages produce to replace what they shipped and to restore their finished-goods stock,
up to capacity and limited by the scarcest input (Leontief).  Sectors draw their critical
input from the region's receiving stock into their own inventories and produce as much
as that input allows; defense draws first.

State arrays hold ensemble members on their last axis, so every loop below runs over a
block of members at once (the compiler turns those inner loops into vector instructions).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import kernel_jit
from ..layout import I_DEFCOST, I_FINISH, I_VOICE, PK_OUTPUT, PK_STRATEGIC


@kernel_jit(error_model="numpy")
def produce(stage_order: np.ndarray, coef: np.ndarray, inv_coef: np.ndarray, cap: np.ndarray, stock: np.ndarray,
            stock_tgt: np.ndarray, recv: np.ndarray, recv_civ: np.ndarray, shipped_prev: np.ndarray,
            inv_adjust: np.ndarray, prod_today: np.ndarray, input_used: np.ndarray, q: np.ndarray,
            prod0: np.ndarray, olim: np.ndarray, ohalt: np.ndarray) -> None:
    """One day of production at every stage, upstream first, for a block of members.

    ``inv_adjust`` is one over the days over which a stage closes its stock gap (per
    member), ``inv_coef`` holds ``1 / coef`` where ``coef > 0``, ``q`` is scratch.  Producers
    are civilian users: they draw first on inputs licensed for civilian end use only
    (``recv_civ``, the part of ``recv`` the first-claim sector may not draw).  A stage makes no
    more than its capacity, its output limit (``olim`` times its baseline output ``prod0``: a
    production quota) and the share of it not halted (``ohalt``: an output halt) allow.
    """
    R = stock.shape[0]
    P = stock.shape[1]
    M = stock.shape[2]
    for k in range(stage_order.shape[0]):
        p = stage_order[k]
        for r in range(R):
            for m in range(M):
                c = cap[r, p, m]
                lim = olim[r, p, m]
                c = min(c, lim * prod0[r, p]) if lim < np.inf else c
                c = c * (1.0 - ohalt[r, p, m])
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
                        rv = max(recv[r, j, m] - used, 0.0)
                        recv[r, j, m] = rv
                        recv_civ[r, j, m] = min(max(recv_civ[r, j, m] - used, 0.0), rv)
                        input_used[r, j, m] += used
            for m in range(M):
                stock[r, p, m] += q[m]
                prod_today[r, p, m] = q[m]


@kernel_jit(error_model="numpy")
def allocate_to_sectors(recv: np.ndarray, recv_civ: np.ndarray, pull: np.ndarray, cpull: np.ndarray,
                        sinv: np.ndarray, crit: np.ndarray, defense: int, scratch: np.ndarray) -> None:
    """Share each region's receiving stock among its sectors' pulls; defense first.

    The first-claim (defense) sector draws first, but not on what was licensed for civilian end
    use only (``recv_civ``: the controller screens out military end users); the other sectors
    share the rest in proportion to their pulls, drawing first on the civilian-only part (the
    licences are theirs).  Within a sector, what it gets is shared among its firms in
    proportion to their own pulls (``cpull``), so the thinly stocked firms are not favoured.
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
                    free = avail[m] - recv_civ[r, p, m]
                    ok = free > 0.0 and pl > 0.0
                    give = min(pl, free)
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
                            recv_civ[r, p, m] = max(recv_civ[r, p, m] - give, 0.0)
                        for c in range(K):
                            for m in range(M):
                                sinv[r, s, c, m] += cpull[r, s, c, m] * f[m]
            for m in range(M):
                if recv[r, p, m] > 0.0:
                    recv[r, p, m] = max(avail[m], 0.0)
                    recv_civ[r, p, m] = min(recv_civ[r, p, m], recv[r, p, m])


# ---------------------------------------------------------------- stages of the day

@kernel_jit(error_model="numpy", inline="always")
def produce_day(net: Any, par: Any, stocks: Any, acc: Any, scr: Any) -> None:
    """Stage: every stage of the chain produces (:func:`produce`); output and inputs used are booked
    for the material balance."""
    input_used = stocks.input_used
    prod_today = stocks.prod_today
    produced = acc.produced
    consumed = acc.consumed
    input_used[:] = 0.0
    produce(net.stage_order, net.coef, net.inv_coef, stocks.cap, stocks.stock, stocks.stock_tgt, stocks.recv,
            stocks.recv_civ, stocks.shipped_prev, par.inv_adj, prod_today, input_used, scr.x[0], net.prod0,
            stocks.olim, stocks.ohalt)
    R, P, M = prod_today.shape
    for p in range(P):
        for r in range(R):
            for m in range(M):
                produced[p, m] += prod_today[r, p, m]
                consumed[p, m] += input_used[r, p, m]


@kernel_jit(error_model="numpy", inline="always")
def sector_pulls(net: Any, par: Any, market: Any, sec: Any) -> None:
    """Stage: each sector's requirement (after substitution and the price response, which together
    cut it by at most ``substitution_max_share``) and what each of its firms pulls: today's use
    plus a share of the gap to its target inventory."""
    demand0 = net.demand0
    crit = net.crit
    cmult_k = net.cmult_k
    inv_kc = net.inv_kc
    sector_days = par.sector_days
    inv_adj = par.inv_adj
    submax = par.submax
    pe_mult = market.pe_mult
    sub = sec.sub
    req = sec.req
    sect_tgt = sec.sect_tgt
    pull = sec.pull
    cpull = sec.cpull
    sinv = sec.sinv
    R, S, M = req.shape
    KC = sinv.shape[2]
    for r in range(R):
        for s in range(S):
            if demand0[r, s] <= 0.0:
                continue  # req, pull and target stay zero
            d0 = demand0[r, s]
            pc = crit[s]
            for m in range(M):
                base = d0 * (1.0 - sub[r, s, m])
                # Thrift under high prices and substitution together cut the requirement by at
                # most substitution_max_share: a critical input's use cannot be priced away (at an
                # elasticity of 3 and a 1000x price, use fell to 1e-9 of normal with no output lost).
                req[r, s, m] = max(base * pe_mult[r, pc, m], d0 * (1.0 - submax[m]))
                sect_tgt[r, s, m] = sector_days[m, s] * base
                pull[r, s, m] = 0.0
            for c in range(KC):
                ck = cmult_k[c]
                for m in range(M):
                    cp = req[r, s, m] * inv_kc + max(sect_tgt[r, s, m] * ck - sinv[r, s, c, m], 0.0) * inv_adj[m]
                    cpull[r, s, c, m] = cp
                    pull[r, s, m] += cp


@kernel_jit(error_model="numpy", inline="always")
def supply_sectors(t: int, net: Any, par: Any, stocks: Any, sec: Any, pol: Any, acc: Any, paths: Any,
                   scr: Any) -> None:
    """Stage: sectors draw their input (:func:`allocate_to_sectors`, defense first), and each firm
    uses what it holds up to its share of the requirement.

    A firm short of the input builds without it what it can park (``defer_days`` of its output,
    per sector: vehicles finished later), so that output is delayed, not lost; on a day it is not
    short it finishes parked units with what it holds beyond today's use, up to ``finish_rate``
    times its daily requirement.  A firm has stopped on a day its output, parked units included,
    falls below the stockout threshold of its requirement.  Books output lost and delayed (value
    and units), the output pain of each side (lost output, plus ``deferral_cost_share`` of the
    value of delayed output), firm-days stopped, first stoppages and defense readiness.
    """
    demand0 = net.demand0
    crit = net.crit
    side = net.side
    value_day = net.value_day
    units_per_t = net.units_per_t
    defense = net.first_claim
    inv_kc = net.inv_kc
    g_stockout = par.stockout
    g_defw = par.defw
    defer_days = par.defer_days
    finish = par.gp[I_FINISH]
    defcost = par.gp[I_DEFCOST]
    voice = par.gp[I_VOICE]
    sinv = sec.sinv
    dfr = sec.dfr
    fstop = sec.fstop
    req = sec.req
    ssum = sec.ssum
    sub = sec.sub
    sinv_p = stocks.sinv_p
    pain_today = pol.pain_today
    consumed = acc.consumed
    o_loss = acc.o_loss
    o_units = acc.o_units
    o_delay = acc.o_delay
    o_udelay = acc.o_udelay
    o_stopd = acc.o_stopd
    o_stockout = acc.o_stockout
    ready_sum = acc.ready_sum
    ready_buf = acc.ready_buf
    readiness = acc.readiness
    n_keep = paths.n
    tr_output = paths.output
    tr_cover = paths.cover
    tr_requirement = paths.requirement
    R, S, M = req.shape
    KC = sinv.shape[2]
    W = ready_buf.shape[1]
    x1 = scr.x[0]
    x2 = scr.x[1]
    x3 = scr.x[2]
    dly = scr.x[3]
    fint = scr.x[4]
    stp = scr.x[5]
    gone = scr.y[0]  # free once allocate_to_sectors has run
    held = scr.y[1]
    allocate_to_sectors(stocks.recv, stocks.recv_civ, sec.pull, sec.cpull, sinv, crit, defense, scr.y)
    sinv_p[:] = 0.0
    for r in range(R):
        sd = side[r]
        for s in range(S):
            if demand0[r, s] <= 0.0:
                for m in range(n_keep):
                    tr_output[m, t, r, s] = 1.0
                    tr_cover[m, t, r, s] = 0.0
                    tr_requirement[m, t, r, s] = 1.0
                continue
            pc = crit[s]
            d0 = demand0[r, s]
            got = x1
            for m in range(M):
                got[m] = 0.0
                gone[m] = 0.0
                dly[m] = 0.0
                fint[m] = 0.0
                stp[m] = 0.0
            defers = False
            for m in range(M):
                defers = defers or defer_days[m, s] > 0.0
            if not defers:
                # No firm of this sector can build without the input (nothing parked, nothing to
                # finish): the same arithmetic with df = fin = 0, in a loop the compiler vectorises.
                for c in range(KC):
                    for m in range(M):
                        rq = req[r, s, m] * inv_kc
                        hold = sinv[r, s, c, m]
                        cj = min(rq, hold)
                        sinv[r, s, c, m] = hold - cj
                        got[m] += cj
                        gone[m] += rq - cj
                        sf = 1.0 if cj < g_stockout[m] * rq else 0.0
                        fstop[r, s, c, m] = max(fstop[r, s, c, m], sf)
                        stp[m] += inv_kc * sf
            for c in range(KC if defers else 0):
                for m in range(M):
                    rq = req[r, s, m] * inv_kc
                    hold = sinv[r, s, c, m]
                    cj = min(rq, hold)
                    left = hold - cj
                    short = rq - cj
                    owed = dfr[r, s, c, m]
                    df = min(short, max(defer_days[m, s] * d0 * inv_kc - owed, 0.0))
                    fin = min(owed, left, finish[m] * rq) if short <= 0.0 else 0.0
                    sinv[r, s, c, m] = left - fin
                    dfr[r, s, c, m] = owed + df - fin
                    got[m] += cj
                    gone[m] += short - df  # exactly zero for a firm that is not short
                    dly[m] += df
                    fint[m] += fin
                    sf = 1.0 if cj + df < g_stockout[m] * rq else 0.0
                    fstop[r, s, c, m] = max(fstop[r, s, c, m], sf)
                    stp[m] += inv_kc * sf
            vd = value_day[r, s]
            upt = units_per_t[r, s]
            loss_v = x3
            frac_v = x2
            t_f = float(t)
            # What the firms hold together, firm by firm from zero (firms_sum's order), with the
            # member innermost so the compiler vectorises it.
            for m in range(M):
                held[m] = 0.0
            for c in range(KC):
                for m in range(M):
                    held[m] += sinv[r, s, c, m]
            for m in range(M):
                rq = req[r, s, m]
                consumed[pc, m] += got[m] + fint[m]
                lost = min(gone[m] / rq, 1.0)  # the firms' shares of rq may add to a hair more than rq
                made = 1.0 - lost
                cs = held[m]
                ssum[r, s, m] = cs
                sinv_p[r, pc, m] += cs
                short = gone[m]
                loss = lost * vd
                late = dly[m] / rq * vd
                o_loss[r, s, m] += loss * 1e-9
                o_units[r, s, m] += short * upt
                o_delay[r, s, m] += late * 1e-9
                o_udelay[r, s, m] += dly[m] * upt
                o_stopd[r, s, m] += stp[m]
                so = o_stockout[r, s, m]
                o_stockout[r, s, m] = t_f if (made < g_stockout[m] and so != so) else so
                loss_v[m] = loss + late * defcost[m]
                frac_v[m] = made
            if sd >= 0:
                if s == defense:
                    for m in range(M):
                        pain_today[sd, PK_STRATEGIC, m] += loss_v[m] * g_defw[m] * 1e-9
                else:
                    for m in range(M):
                        # a sector with stopped plants is loud: its lost output weighs more
                        pain_today[sd, PK_OUTPUT, m] += loss_v[m] * (1.0 + voice[m] * stp[m]) * 1e-9
            if s == defense:
                w = t % W
                for m in range(M):
                    ready_sum[r, m] += frac_v[m] - ready_buf[r, w, m]
                    ready_buf[r, w, m] = frac_v[m]
                    readiness[r, m] = min(readiness[r, m], ready_sum[r, m] / W)
            for m in range(n_keep):
                tr_requirement[m, t, r, s] = req[r, s, m] / demand0[r, s]
                tr_output[m, t, r, s] = x2[m]
                tr_cover[m, t, r, s] = ssum[r, s, m] / (demand0[r, s] * (1.0 - sub[r, s, m]))


@kernel_jit(error_model="numpy", inline="always")
def firms_sum(sinv: np.ndarray, r: int, s: int, m: int) -> float:
    """What the firms of sector ``s`` in region ``r`` hold together (member ``m``)."""
    tot = 0.0
    for c in range(sinv.shape[2]):
        tot += sinv[r, s, c, m]
    return tot
