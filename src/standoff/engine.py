"""The compiled step kernel: a block of members advanced side by side through the whole horizon.

State lives in arrays with the ensemble member on the last axis; each day applies the
timeline, plays the negotiation game, releases stockpiles, lands arrivals, produces,
orders, ships under controls, reviews licences, diverts, supplies sectors, updates prices,
substitution, capacity and goods trade, and books pain and pressure.  Every loop over
members is innermost and (almost) free of branches, so the compiler vectorises across
members; per member, the floating-point operations come in the same order as in the
object-per-node :mod:`standoff.reference`, and the two agree bit for bit (tested).  Only
per-member summaries and the daily paths of the first ``trajectories`` members are written
out, so memory does not grow with the member count beyond the summaries.
"""
from __future__ import annotations

import numpy as np
from ._jit import kernel_jit

from .controls import (LEAK_EXTRA_DAYS, LICENCE_STAGES, MODE_LICENCE, MODE_NONE, MODE_QUOTA, lead_days, process_licences,
                       schedule)
from .markets import pow_pos, substitution_step
from .layout import PAIN_KINDS
from .negotiation import (N_RES_CN, N_RES_US, N_STATE, O_FC_CN, O_FC_US, S_ACTIVE, S_TRUST_CN, S_TRUST_US, init_state,
                          negotiate_day)
from .politics import update_pressure
from .production import allocate_to_sectors, produce
from .trade import buyer_loss, import_target

from .layout import (A_CAPACITY, A_CM, A_CTRL_APPR, A_CTRL_DELAY, A_CTRL_LEAK, A_CTRL_MODE,  # noqa: F401
                     A_CTRL_QUOTA, A_RELEASE, A_TALKS, A_TARIFF, CN_SIDE, COHORT_MULT, COHORT_SIGMA, I_CAPGROW,
                     I_DEFW, I_DIV, I_EPS, I_FLEX, I_HEADROOM, I_INVDAYS, I_MAXORD, I_ORDADJ, I_PCAP, I_PFLOOR,
                     I_PREM, I_PRESP, I_PT, I_REDIR, I_REDIR_CN, I_SIGMA, I_STOCKOUT, I_SUBMAX, I_SUBRATE,
                     I_TRADE_ADJ, I_TRANSIT0, I_TRANSIT1, INV_KC, K_COHORTS, PARAMS, READINESS_WINDOW, RING_DAYS)


@kernel_jit(error_model="numpy")
def run_block(first: int, horizon: int, glob: np.ndarray, sector_days: np.ndarray, pool_days: np.ndarray,
              stockpile0: np.ndarray, ev: np.ndarray,
              act_day: np.ndarray, act_kind: np.ndarray, act_a0: np.ndarray, act_a1: np.ndarray,
              act_a2: np.ndarray, act_col: np.ndarray,
              demand0: np.ndarray, crit: np.ndarray, coef: np.ndarray, share0: np.ndarray, flow0: np.ndarray,
              prod0: np.ndarray, use0: np.ndarray, stage_order: np.ndarray, zone: np.ndarray, side: np.ndarray,
              value_day: np.ndarray, kg_unit: np.ndarray, price_t: np.ndarray, trade_v0: np.ndarray,
              tau0: np.ndarray, cm_group: np.ndarray, cm_imposer: np.ndarray, cm_target: np.ndarray,
              cm_blocked: np.ndarray, cm_mult: np.ndarray, defense: int, n_keep: int,
              seed: np.uint64, neg_on: bool, neg_start: int, npar: np.ndarray, salience: np.ndarray,
              decay_days: np.ndarray, magnet: int, autos: int, cn_idx: int, us_idx: int,
              out_stockout: np.ndarray, out_loss: np.ndarray, out_units: np.ndarray, out_peak: np.ndarray,
              out_readiness: np.ndarray, out_pain: np.ndarray, out_re_trade: np.ndarray, out_goods: np.ndarray,
              out_balance: np.ndarray, out_neg: np.ndarray, out_dependence: np.ndarray, out_rebuild: np.ndarray,
              out_spile_empty: np.ndarray,
              tr_cover: np.ndarray, tr_output: np.ndarray, tr_price: np.ndarray, tr_imports: np.ndarray,
              tr_pain: np.ndarray, tr_trust: np.ndarray, tr_pressure: np.ndarray, tr_agreement: np.ndarray,
              tr_requirement: np.ndarray, tr_exports: np.ndarray) -> None:
    """Simulate members ``first .. first + M - 1`` (``M = glob.shape[0]``) together, writing outputs in place.

    State arrays carry the member on their last axis and every loop over members is
    innermost, so the members of a block advance through each day side by side and the
    compiler can vectorise across them.  The order of floating-point operations for each
    member is the one :mod:`standoff.reference` follows, so results match it bit for bit.
    """
    M = glob.shape[0]
    R, S = demand0.shape
    P = prod0.shape[1]
    G = trade_v0.shape[2]
    C = cm_blocked.shape[0]
    D = RING_DAYS
    KC = K_COHORTS
    LS = LICENCE_STAGES
    W = READINESS_WINDOW
    NK = len(PAIN_KINDS)
    n_act = act_day.shape[0]
    n_keep_here = max(0, min(M, n_keep - first))

    # ---- per-member inputs, member last ----
    gp = np.ascontiguousarray(glob.T)
    evT = np.ascontiguousarray(ev.T)
    inv_adj = 1.0 / gp[I_ORDADJ]
    inv_presp = 1.0 / gp[I_PRESP]
    inv_sig = 1.0 / gp[I_INVDAYS]
    inv_tadj = 1.0 / gp[I_TRADE_ADJ]
    sub_rate = gp[I_SUBRATE] / 365.0
    # Rows of the parameter matrix as 1-d arrays: LLVM vectorises a member loop that reads
    # ``g_pcap[m]`` but not one that reads ``gp[I_PCAP, m]`` next to other 2-d reads (it
    # cannot rule out a dependence between them).
    g_pfloor = gp[I_PFLOOR]
    g_pcap = gp[I_PCAP]
    g_maxord = gp[I_MAXORD]
    g_stockout = gp[I_STOCKOUT]
    g_defw = gp[I_DEFW]
    g_submax = gp[I_SUBMAX]
    g_prem = gp[I_PREM]
    g_div = gp[I_DIV]
    g_redir = gp[I_REDIR]
    g_redir_cn = gp[I_REDIR_CN]
    cap_grow = gp[I_CAPGROW] / 365.0
    neg_eps = np.empty(M)
    neg_inv_flex = np.empty(M)
    for m in range(M):
        neg_eps[m] = -gp[I_EPS, m]
        neg_inv_flex[m] = -1.0 / gp[I_FLEX, m]

    # ---- constants of the network ----
    cmult = COHORT_MULT
    cmult_k = COHORT_MULT / K_COHORTS
    units_per_t = 1000.0 / kg_unit
    inv_coef = np.zeros_like(coef)
    for p in range(P):
        for q in range(P):
            if coef[p, q] > 0.0:
                inv_coef[p, q] = 1.0 / coef[p, q]
    is_crit = np.zeros(P, dtype=np.bool_)
    for s in range(S):
        is_crit[crit[s]] = True
    world_prod0 = np.zeros(P)
    outside = np.zeros(P)
    for p in range(P):
        for r in range(R):
            world_prod0[p] += prod0[r, p]
            if side[r] != 1:
                outside[p] += prod0[r, p]
    rt_p, rt_e, rt_i = np.nonzero(share0 > 0.0)
    n_rt = rt_p.shape[0]
    route_of = np.full((P, R, R), -1, dtype=np.int64)
    for j in range(n_rt):
        route_of[rt_p[j], rt_e[j], rt_i[j]] = j
    gt_e, gt_i, gt_g = np.nonzero(trade_v0 > 0.0)
    n_gt = gt_e.shape[0]
    # Receiving stocks hold inputs of production stages only; sectors hold their own
    # inventories (counting a distributor stock on top would count the same days twice).
    input_use0 = use0.copy()
    for r in range(R):
        for s in range(S):
            input_use0[r, crit[s]] -= demand0[r, s]
    for r in range(R):
        for p in range(P):
            input_use0[r, p] = max(input_use0[r, p], 0.0)

    # ---- state, member last ----
    stock = np.zeros((R, P, M)); stock_tgt = np.zeros((R, P, M)); recv = np.zeros((R, P, M)); cap = np.zeros((R, P, M))
    spile = np.zeros((R, P, M)); release = np.zeros((R, P, M)); price = np.ones((R, P, M)); signal = np.ones((R, P, M))
    shipped_prev = np.zeros((R, P, M)); prod_today = np.zeros((R, P, M)); input_used = np.zeros((R, P, M))
    need = np.zeros((R, P, M)); need_firm = np.zeros((R, P, M)); pos_tgt = np.zeros((R, P, M))
    pe_mult = np.ones((R, P, M)); sinv_p = np.zeros((R, P, M))
    sinv = np.zeros((R, S, KC, M)); cpull = np.zeros((R, S, KC, M))
    ssum = np.zeros((R, S, M))  # each sector's inventory (its cohorts summed), as of the end of yesterday
    sub = np.zeros((R, S, M)); req = np.zeros((R, S, M)); pull = np.zeros((R, S, M)); sect_tgt = np.zeros((R, S, M))
    ring = np.zeros((D, P, R, M)); pipe = np.zeros((P, R, M)); pipe0 = np.zeros((P, R, M))
    unmet = np.zeros((P, R, M)); arrivals = np.zeros((P, R, M))
    tot_pe = np.zeros((P, R, M)); ctl_pe = np.zeros((P, R, M)); frac_pe = np.zeros((P, R, M))
    shipped = np.zeros((P, R, R, M))
    lead = np.zeros((R, R, M)); dl = np.zeros((R, R, M), dtype=np.int64); dleak = np.zeros((R, R, M), dtype=np.int64)
    tariff = np.zeros((R, R, G, M)); tv = np.zeros((R, R, G, M)); cm_on = np.zeros((C, M))
    c_mode = np.zeros((P, R, R, M), dtype=np.int64); c_appr = np.ones((P, R, R, M)); c_delay = np.zeros((P, R, R, M))
    c_leak = np.zeros((P, R, R, M)); c_quota = np.zeros((P, R, M))
    lq = np.zeros((max(n_rt, 1), LS, M))  # licence applications pending, t, by route and review stage
    lpend = np.zeros((max(n_rt, 1), M))  # ... summed over the stages
    lq_new = np.zeros((LS, M))  # scratch for the licence review: the queue after today's moves
    ready_buf = np.ones((R, W, M)); ready_sum = np.full((R, M), float(W)); readiness = np.ones((R, M))
    produced = np.zeros((P, M)); consumed = np.zeros((P, M)); initial = np.zeros((P, M))
    pain_today = np.zeros((2, NK, M)); pain_tot = np.zeros((2, NK, M)); pressure = np.zeros((2, NK, M))
    o_stockout = np.full((R, S, M), np.nan); o_loss = np.zeros((R, S, M)); o_units = np.zeros((R, S, M))
    o_peak = np.ones((R, P, M)); o_spile_empty = np.full((R, P, M), np.nan)
    o_re = np.zeros((P, R, 2, M)); o_goods = np.zeros((2, 2, M))
    gt_tau = np.full((max(n_gt, 1), M), -1.0)  # -1 forces the first computation
    gt_vstar = np.zeros((max(n_gt, 1), M)); gt_cs = np.zeros((max(n_gt, 1), M))
    gt_red = np.zeros((max(n_gt, 1), M))  # lost sales the exporter has found other buyers for, $/day
    dep_cn = np.zeros((R, M)); dep_all = np.zeros((R, M)); dipped = np.zeros((R, M))
    rho_us = np.zeros(M); rho_cn = np.zeros(M)
    nst = np.zeros((M, N_STATE))
    # scratch, one value per member
    x1 = np.zeros(M); x2 = np.zeros(M); x3 = np.zeros(M); x4 = np.zeros(M); x5 = np.zeros(M); x6 = np.zeros(M)
    scratch = np.zeros((4, M))
    tail_start = max(horizon - 30, 0)

    # ---- initial steady state ----
    for r in range(R):
        for p in range(P):
            for m in range(M):
                stock_tgt[r, p, m] = pool_days[m, p] * prod0[r, p]
                stock[r, p, m] = stock_tgt[r, p, m]
                recv[r, p, m] = pool_days[m, p] * input_use0[r, p]
                cap[r, p, m] = prod0[r, p] * (1.0 + gp[I_HEADROOM, m])
                spile[r, p, m] = stockpile0[m, r, p]
                shipped_prev[r, p, m] = prod0[r, p]
        for s in range(S):
            for c in range(KC):
                for m in range(M):
                    sinv[r, s, c, m] = sector_days[m, s] * demand0[r, s] * cmult[c] / KC
            for m in range(M):
                ssum[r, s, m] = _cohort_sum(sinv, r, s, m)
    for e in range(R):
        for i in range(R):
            for m in range(M):
                if e == i:
                    lead[e, i, m] = 1.0
                elif zone[e] == zone[i]:
                    lead[e, i, m] = gp[I_TRANSIT0, m]
                else:
                    lead[e, i, m] = gp[I_TRANSIT1, m]
                dl[e, i, m] = lead_days(lead[e, i, m], D)
                dleak[e, i, m] = lead_days(lead[e, i, m] + LEAK_EXTRA_DAYS, D)
            for gg in range(G):
                for m in range(M):
                    tariff[e, i, gg, m] = tau0[e, i, gg]
                    tv[e, i, gg, m] = trade_v0[e, i, gg]
    for p in range(P):
        for e in range(R):
            for i in range(R):
                f = flow0[p, e, i]
                if f > 0.0:
                    for m in range(M):
                        L = int(round(lead[e, i, m]))
                        for d in range(L):  # arrivals on days 0 .. L-1, as if shipped before the start
                            ring[d % D, p, i, m] += f
                        pipe[p, i, m] += f * L
        for i in range(R):
            for m in range(M):
                pipe0[p, i, m] = pipe[p, i, m]
    for p in range(P):
        for m in range(M):
            initial[p, m] = _held(stock, recv, spile, ssum, pipe, crit, p, m)
    for m in range(M):
        init_state(nst[m], npar[m])
        out_neg[m] = 0.0
        out_neg[m, 0] = np.nan
        out_neg[m, 1] = np.nan
        out_neg[m, O_FC_US] = np.nan
        out_neg[m, O_FC_CN] = np.nan
        for r in range(R):
            out_rebuild[m, r] = np.nan
    # A regional market exists where the product is made, used as an input, received or used
    # by a sector; elsewhere its position target is zero and its price never moves.
    market = np.zeros((R, P), dtype=np.bool_)
    for r in range(R):
        for p in range(P):
            market[r, p] = prod0[r, p] > 0.0 or input_use0[r, p] > 0.0 or use0[r, p] > 0.0
            for e in range(R):
                market[r, p] = market[r, p] or flow0[p, e, r] > 0.0
            for s in range(S):
                market[r, p] = market[r, p] or (crit[s] == p and demand0[r, s] > 0.0)
    ctrl_dirty = True
    lic_in = np.zeros((P, R), dtype=np.bool_)  # some member has a licence control on a route into (p, i)
    lic_route = np.zeros((P, R, R), dtype=np.bool_)  # ... on route (p, e, i)
    any_quota = False

    ap = 0
    for t in range(horizon):
        talks_today = False
        pain_today[:] = 0.0
        # ---- timeline ----
        while ap < n_act and act_day[ap] <= t:
            kind = act_kind[ap]
            a0 = act_a0[ap]
            a1 = act_a1[ap]
            a2 = act_a2[ap]
            v = evT[act_col[ap]]
            if kind == A_TARIFF:
                tariff[a0, a1, a2, :] = v
            elif kind == A_CTRL_MODE:
                for m in range(M):
                    c_mode[a0, a1, a2, m] = int(v[m])
                ctrl_dirty = True
            elif kind == A_CTRL_APPR:
                c_appr[a0, a1, a2, :] = v
            elif kind == A_CTRL_DELAY:
                c_delay[a0, a1, a2, :] = v
            elif kind == A_CTRL_LEAK:
                c_leak[a0, a1, a2, :] = v
            elif kind == A_CTRL_QUOTA:
                c_quota[a0, a1, :] = v
            elif kind == A_CM:
                cm_on[a0, :] = v
            elif kind == A_RELEASE:
                release[a0, a1, :] = v
            elif kind == A_CAPACITY:
                for m in range(M):
                    cap[a0, a1, m] += v[m]
            elif kind == A_TALKS:
                talks_today = True
            ap += 1

        # ---- the political game (yesterday's pressure, today's rounds and compliance) ----
        for m in range(M):
            su = 0.0
            sc = 0.0
            for kk in range(NK):
                su += pressure[0, kk, m]
                sc += pressure[1, kk, m]
            rho_us[m] = su / npar[m, N_RES_US]
            rho_cn[m] = sc / npar[m, N_RES_CN]
        if t >= neg_start:
            for m in range(M):
                if rho_us[m] >= 1.0 and np.isnan(out_neg[m, O_FC_US]):
                    out_neg[m, O_FC_US] = t
                if rho_cn[m] >= 1.0 and np.isnan(out_neg[m, O_FC_CN]):
                    out_neg[m, O_FC_CN] = t
        if neg_on and t >= neg_start:
            for m in range(M):
                negotiate_day(t, first + m, seed, talks_today, npar[m], nst[m], pressure[:, :, m],
                              tariff[:, :, :, m], c_appr[:, :, :, m], c_delay[:, :, :, m], c_mode[:, :, :, m],
                              cm_on[:, m], cm_imposer, us_idx, cn_idx, out_neg[m])
        for m in range(n_keep_here):
            tr_trust[m, t, 0] = nst[m, S_TRUST_US]
            tr_trust[m, t, 1] = nst[m, S_TRUST_CN]
            tr_pressure[m, t, 0] = rho_us[m]
            tr_pressure[m, t, 1] = rho_cn[m]
            tr_agreement[m, t] = nst[m, S_ACTIVE]

        if ctrl_dirty:
            lic_in[:] = False
            lic_route[:] = False
            any_quota = False
            for p in range(P):
                for e in range(R):
                    for i in range(R):
                        for m in range(M):
                            md = c_mode[p, e, i, m]
                            if e != i and md == MODE_LICENCE:
                                lic_in[p, i] = True
                                lic_route[p, e, i] = True
                            if e != i and md == MODE_QUOTA:
                                any_quota = True
            ctrl_dirty = False

        # ---- stockpile releases and arrivals ----
        for r in range(R):
            for p in range(P):
                for m in range(M):
                    if release[r, p, m] > 0.0 and spile[r, p, m] > 0.0:
                        a = min(release[r, p, m], spile[r, p, m])
                        spile[r, p, m] -= a
                        recv[r, p, m] += a
                        if spile[r, p, m] <= 1e-12 and np.isnan(o_spile_empty[r, p, m]):
                            o_spile_empty[r, p, m] = t  # how long the stockpile lasted
        slot = t & (D - 1)
        for p in range(P):
            for i in range(R):
                for m in range(M):
                    a = ring[slot, p, i, m]
                    arrivals[p, i, m] = a
                    recv[i, p, m] += a
                    pipe[p, i, m] = max(pipe[p, i, m] - a, 0.0)
                    ring[slot, p, i, m] = 0.0

        # ---- production ----
        input_used[:] = 0.0
        produce(stage_order, coef, inv_coef, cap, stock, stock_tgt, recv, shipped_prev, inv_adj, prod_today,
                input_used, x1)
        for p in range(P):
            for r in range(R):
                for m in range(M):
                    produced[p, m] += prod_today[r, p, m]
                    consumed[p, m] += input_used[r, p, m]

        # ---- requirements and sector pulls ----
        for r in range(R):
            for s in range(S):
                if demand0[r, s] <= 0.0:
                    continue  # req, pull and target stay zero
                d0 = demand0[r, s]
                pc = crit[s]
                for m in range(M):
                    base = d0 * (1.0 - sub[r, s, m])
                    req[r, s, m] = base * pe_mult[r, pc, m]
                    sect_tgt[r, s, m] = sector_days[m, s] * base
                    pull[r, s, m] = 0.0
                for c in range(KC):
                    ck = cmult_k[c]
                    for m in range(M):
                        cp = req[r, s, m] * INV_KC + max(sect_tgt[r, s, m] * ck - sinv[r, s, c, m], 0.0) * inv_adj[m]
                        cpull[r, s, c, m] = cp
                        pull[r, s, m] += cp
        # ---- import needs: order up to a target position ----
        for j in range(n_rt):
            for m in range(M):
                lpend[j, m] = 0.0
            for k in range(LS):
                for m in range(M):
                    lpend[j, m] += lq[j, k, m]
        use_now = x1
        position = x2
        target = x3
        position_firm = x4
        target_firm = x5
        for i in range(R):
            for p in range(P):
                for m in range(M):
                    use_now[m] = 0.0
                    position[m] = recv[i, p, m] + input_used[i, p, m] + pipe[p, i, m]
                    target[m] = pool_days[m, p] * input_use0[i, p] + pipe0[p, i, m]
                lic = lic_in[p, i]
                if lic:
                    for m in range(M):
                        position_firm[m] = position[m]
                        target_firm[m] = target[m]
                    # Pending licence applications count at the approval share in force (what
                    # the buyer expects to receive), and the target position grows by the
                    # expected licence pipeline (use from that supplier times the review time),
                    # as an order-up-to policy does for any longer lead time.
                    for e in range(R):
                        if e == i or not lic_route[p, e, i]:
                            continue
                        j = route_of[p, e, i]
                        jj = max(j, 0)
                        has_q = 1.0 if j >= 0 else 0.0  # a route without baseline trade has no applications
                        shu = share0[p, e, i] * use0[i, p]
                        for m in range(M):
                            on = c_mode[p, e, i, m] == MODE_LICENCE
                            position[m] += lpend[jj, m] * has_q * c_appr[p, e, i, m] if on else 0.0
                            target[m] += shu * c_delay[p, e, i, m] if on else 0.0
                for s in range(S):
                    if crit[s] == p:
                        for m in range(M):
                            use_now[m] += req[i, s, m]
                            position[m] += ssum[i, s, m]
                            target[m] += sect_tgt[i, s, m]
                for q in range(P):
                    cf = coef[q, p]
                    if cf != 0.0:
                        for m in range(M):
                            use_now[m] += prod_today[i, q, m] * cf
                u0 = use0[i, p]
                for m in range(M):
                    pos_tgt[i, p, m] = target[m]
                    # Buyers cannot order (or apply for licences for) far more than they use.
                    cap_o = g_maxord[m] * max(use_now[m], u0)
                    need[i, p, m] = min(max(use_now[m] + (target[m] - position[m]) * inv_adj[m], 0.0), cap_o)
                if lic:
                    # What a buyer seeks elsewhere while its licences are pending ignores them:
                    # it hedges, so a stricter control never makes it look elsewhere less.
                    for s in range(S):
                        if crit[s] == p:
                            for m in range(M):
                                position_firm[m] += ssum[i, s, m]
                                target_firm[m] += sect_tgt[i, s, m]
                    for m in range(M):
                        cap_o = g_maxord[m] * max(use_now[m], u0)
                        need_firm[i, p, m] = min(max(use_now[m] + (target_firm[m] - position_firm[m]) * inv_adj[m],
                                                     0.0), cap_o)
                else:
                    for m in range(M):
                        need_firm[i, p, m] = need[i, p, m]

        # ---- shipments under controls (round 1: usual suppliers) ----
        shipped[:] = 0.0
        unmet[:] = 0.0
        tot_pe[:] = 0.0
        ctl_pe[:] = 0.0
        for j in range(n_rt):
            p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
            sh = share0[p, e, i]
            for m in range(M):
                o = need[i, p, m] * sh
                tot_pe[p, e, m] += o
            if any_quota and i != e:
                for m in range(M):
                    ctl_pe[p, e, m] += need[i, p, m] * sh if c_mode[p, e, i, m] == MODE_QUOTA else 0.0
        # Every buyer of an exporter gets the same share of its order (pro rata to stock).
        for p in range(P):
            for e in range(R):
                for m in range(M):
                    tp = tot_pe[p, e, m]
                    frac_pe[p, e, m] = min(1.0, stock[e, p, m] / tp) if tp > 0.0 else frac_pe[p, e, m]
        for j in range(n_rt):
            p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
            sh = share0[p, e, i]
            sched_a = x1
            sched_b = x2
            own = i == e
            if any_quota:
                for m in range(M):
                    cp = ctl_pe[p, e, m]
                    x3[m] = min(1.0, (c_quota[p, e, m] / 365.0) / max(cp * frac_pe[p, e, m], 1e-300)) if cp > 0.0 else 1.0
            for m in range(M):
                o = need[i, p, m] * sh
                q = o * frac_pe[p, e, m]
                md = c_mode[p, e, i, m]
                free = own or md == MODE_NONE
                licensed = (not free) and md == MODE_LICENCE
                af = (x3[m] if any_quota else 1.0) if md == MODE_QUOTA else 0.0  # a ban ships nothing
                ok = q * af
                leak = (q - ok) * c_leak[p, e, i, m]
                live = o > 0.0
                sent = (q if free else (0.0 if licensed else ok + leak)) if live else 0.0
                sched_a[m] = (q if free else (0.0 if licensed else ok)) if live else 0.0
                sched_b[m] = leak if (live and not free and not licensed) else 0.0
                # An application joins the review queue; what the buyer lacks today (without
                # counting on the licence) it tries to buy elsewhere (round 2).
                lq[j, 0, m] += o if (licensed and live) else 0.0
                stock[e, p, m] = max(stock[e, p, m] - sent, 0.0)
                shipped[p, e, i, m] += sent
                unmet[p, i, m] += ((need_firm[i, p, m] * sh) if licensed else o - sent) if live else 0.0
            schedule(ring, pipe, t, p, i, sched_a, dl[e, i])
            if not own:
                schedule(ring, pipe, t, p, i, sched_b, dleak[e, i])
        # ---- licence review: decided applications ship if approved, from what the
        # exporter has left after its domestic and uncontrolled customers ----
        process_licences(lq, c_mode, c_appr, c_delay, c_leak, stock, ring, pipe, shipped, dl, dleak, t,
                         rt_p, rt_e, rt_i, x1, x2, lq_new)

        # ---- round 2: diversion to any supplier with stock and no control on the route ----
        for p in range(P):
            active = x3
            any_active = False
            for m in range(M):
                sp = 0.0
                for i in range(R):
                    sp += unmet[p, i, m]
                active[m] = 1.0 if sp > 1e-12 else 0.0
                any_active = any_active or sp > 1e-12
            if not any_active:
                continue
            for e in range(R):
                want = x4
                fr = x5
                for m in range(M):
                    want[m] = 0.0
                for i in range(R):
                    if i == e:
                        continue
                    for m in range(M):
                        u = unmet[p, i, m]
                        want[m] += u if (u > 0.0 and c_mode[p, e, i, m] == MODE_NONE) else 0.0
                any_f = False
                for m in range(M):
                    go = active[m] > 0.0 and stock[e, p, m] > 0.0 and want[m] > 0.0
                    fr[m] = min(1.0, stock[e, p, m] / want[m]) if go else 0.0
                    any_f = any_f or go
                if not any_f:
                    continue
                for i in range(R):
                    if i == e:
                        continue
                    qv = x6
                    for m in range(M):
                        u = unmet[p, i, m]
                        qq = u * fr[m] if (fr[m] > 0.0 and u > 0.0 and c_mode[p, e, i, m] == MODE_NONE) else 0.0
                        stock[e, p, m] = max(stock[e, p, m] - qq, 0.0)
                        shipped[p, e, i, m] += qq
                        unmet[p, i, m] = u - qq
                        o_re[p, i, 1, m] += qq
                        qv[m] = qq
                    schedule(ring, pipe, t, p, i, qv, dl[e, i])
        for r in range(R):
            for p in range(P):
                for m in range(M):
                    shipped_prev[r, p, m] = 0.0
                for i in range(R):
                    for m in range(M):
                        shipped_prev[r, p, m] += shipped[p, r, i, m]

        # ---- sectors: supply, consumption, losses, stockouts ----
        allocate_to_sectors(recv, pull, cpull, sinv, crit, defense, scratch)
        sinv_p[:] = 0.0
        for r in range(R):
            sd = side[r]
            for s in range(S):
                if demand0[r, s] <= 0.0:
                    for m in range(n_keep_here):
                        tr_output[m, t, r, s] = 1.0
                        tr_cover[m, t, r, s] = 0.0
                        tr_requirement[m, t, r, s] = 1.0
                    continue
                pc = crit[s]
                got = x1
                for m in range(M):
                    got[m] = 0.0
                for c in range(KC):
                    for m in range(M):
                        cj = min(req[r, s, m] * INV_KC, sinv[r, s, c, m])
                        sinv[r, s, c, m] -= cj
                        got[m] += cj
                vd = value_day[r, s]
                upt = units_per_t[s]
                loss_v = x3
                frac_v = x2
                t_f = float(t)
                for m in range(M):
                    rq = req[r, s, m]
                    consumed[pc, m] += got[m]
                    frac = got[m] / rq
                    cs = _cohort_sum(sinv, r, s, m)
                    ssum[r, s, m] = cs
                    sinv_p[r, pc, m] += cs
                    short = rq - got[m]
                    loss = (1.0 - frac) * vd
                    o_loss[r, s, m] += loss * 1e-9
                    o_units[r, s, m] += short * upt
                    so = o_stockout[r, s, m]
                    o_stockout[r, s, m] = t_f if (frac < g_stockout[m] and so != so) else so
                    loss_v[m] = loss
                    frac_v[m] = frac
                if sd >= 0:
                    if s == defense:
                        for m in range(M):
                            pain_today[sd, 3, m] += loss_v[m] * g_defw[m] * 1e-9
                    else:
                        for m in range(M):
                            pain_today[sd, 0, m] += loss_v[m] * 1e-9
                if s == defense:
                    w = t % W
                    for m in range(M):
                        ready_sum[r, m] += frac_v[m] - ready_buf[r, w, m]
                        ready_buf[r, w, m] = frac_v[m]
                        readiness[r, m] = min(readiness[r, m], ready_sum[r, m] / W)
                for m in range(n_keep_here):
                    tr_requirement[m, t, r, s] = req[r, s, m] / demand0[r, s]
                    tr_output[m, t, r, s] = x2[m]
                    tr_cover[m, t, r, s] = ssum[r, s, m] / (demand0[r, s] * (1.0 - sub[r, s, m]))

        # ---- markets: prices, substitution, new capacity ----
        cover = x1
        m_star = x2
        pscr = scratch[:2]
        for r in range(R):
            for p in range(P):
                if not market[r, p]:  # nothing held, used or made here: the price stays at 1
                    for m in range(n_keep_here):
                        tr_price[m, t, r, p] = price[r, p, m]
                    continue
                for m in range(M):
                    denom = pos_tgt[r, p, m] + stock_tgt[r, p, m]
                    c = (recv[r, p, m] + pipe[p, r, m] + stock[r, p, m] + sinv_p[r, p, m]) / denom if denom > 0.0 \
                        else 1.0
                    x3[m] = c
                    cover[m] = c if c > 1e-9 else 1.0  # a harmless stand-in where the price is set otherwise
                pow_pos(cover, neg_inv_flex, m_star, pscr)
                for m in range(M):
                    c = x3[m]
                    ms = min(max(m_star[m], g_pfloor[m]), g_pcap[m])
                    ms = ms if c > 1e-9 else g_pcap[m]
                    pr = price[r, p, m]
                    ok = pos_tgt[r, p, m] + stock_tgt[r, p, m] > 0.0
                    pr = pr + (ms - pr) * inv_presp[m] if ok else pr
                    price[r, p, m] = pr
                    signal[r, p, m] += (pr - signal[r, p, m]) * inv_sig[m]
                    o_peak[r, p, m] = pr if pr > o_peak[r, p, m] else o_peak[r, p, m]
                if is_crit[p]:  # only a sector's own input moves its demand
                    pow_pos(price[r, p], neg_eps, x4, pscr)
                    for m in range(M):
                        pe_mult[r, p, m] = x4[m] if price[r, p, m] != 1.0 else 1.0
                for m in range(n_keep_here):
                    tr_price[m, t, r, p] = price[r, p, m]
            for s in range(S):
                pc = crit[s]
                for m in range(M):
                    sub[r, s, m] = substitution_step(sub[r, s, m], price[r, pc, m], g_submax[m], sub_rate[m])
        for p in range(P):
            if outside[p] <= 0.0:
                continue
            for r in range(R):
                if side[r] != 1 and prod0[r, p] > 0.0:
                    for m in range(M):
                        if signal[r, p, m] > 1.5:
                            grow = cap_grow[m] * world_prod0[p] * prod0[r, p] / outside[p]
                            cap[r, p, m] += grow * min(signal[r, p, m] - 1.5, 1.0)

        # ---- rare-earth trade lost and export revenue lost ----
        for j in range(n_rt):
            p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
            if e == i:
                continue
            f0 = flow0[p, e, i]
            se = side[e]
            pt = price_t[p]
            for m in range(M):
                gap = f0 - shipped[p, e, i, m]
                if gap > 0.0:
                    o_re[p, i, 0, m] += gap
                    if se >= 0:
                        pain_today[se, 1, m] += gap * pt * 1e-9
        for p in range(P):
            for i in range(R):
                for m in range(n_keep_here):
                    tr_imports[m, t, p, i] = arrivals[p, i, m]
            # What each region ships abroad today (usual buyers, licences, leakage, diversion):
            # the series customs offices publish, so it can be set beside them.
            for e in range(R):
                for m in range(n_keep_here):
                    xs = 0.0
                    for i in range(R):
                        xs += shipped[p, e, i, m] if i != e else 0.0
                    tr_exports[m, t, p, e] = xs

        # ---- goods trade: tariffs and counter-measures ----
        for j in range(n_gt):
            e = gt_e[j]; i = gt_i[j]; gg = gt_g[j]
            v0 = trade_v0[e, i, gg]
            t0 = tau0[e, i, gg]
            for m in range(M):
                tau = tariff[e, i, gg, m]
                if tau != gt_tau[j, m]:  # the powers only change with the tariff
                    gt_tau[j, m] = tau
                    gt_vstar[j, m] = import_target(v0, tau, t0, gp[I_PT, m], gp[I_SIGMA, m])
                    gt_cs[j, m] = buyer_loss(v0, tau, t0, gp[I_PT, m], gp[I_SIGMA, m], gp[I_DIV, m], 0.0, 0.0)
            vstar = x1
            for m in range(M):
                vstar[m] = gt_vstar[j, m]
            for c in range(C):
                if cm_imposer[c] == e and cm_target[c] == i and cm_group[c] == gg:
                    b = cm_blocked[c]
                    for m in range(M):
                        if cm_on[c, m] > 0.0:
                            vstar[m] = max(vstar[m] - b, 0.0)
            si = side[i]
            se = side[e]
            redir = g_redir_cn if se == CN_SIDE else g_redir
            for m in range(M):
                tv[e, i, gg, m] += (vstar[m] - tv[e, i, gg, m]) * inv_tadj[m]
                lost = v0 - tv[e, i, gg, m]
                cost = gt_cs[j, m] + g_prem[m] * g_div[m] * max(lost, 0.0)
                if si >= 0:
                    pain_today[si, 2, m] += cost * 1e-9
                    o_goods[si, 0, m] += lost * 1e-9
                # Exporters find other buyers for a share of what they lose, over the time
                # trade takes to follow a tariff (goods made for one market are not sold in
                # another overnight); what they have not placed is their pain.
                red = gt_red[j, m]
                red += (max(lost, 0.0) * redir[m] - red) * inv_tadj[m]
                gt_red[j, m] = red
                if se >= 0 and lost > 0.0:
                    pain_today[se, 1, m] += max(lost - red, 0.0) * 1e-9
                    o_goods[se, 1, m] += lost * 1e-9
        for c in range(C):
            st = side[cm_target[c]]
            if st >= 0:
                hit = cm_blocked[c] * cm_mult[c] * 1e-9
                for m in range(M):
                    if cm_on[c, m] > 0.0:
                        pain_today[st, 3, m] += hit
        for sd in range(2):
            for kk in range(NK):
                for m in range(M):
                    pain_tot[sd, kk, m] += pain_today[sd, kk, m]
        update_pressure(pressure, pain_today, salience, decay_days)

        # ---- after an agreement: dependence and inventory rebuild ----
        if t >= tail_start and magnet >= 0:
            for i in range(R):
                for m in range(M):
                    dep_cn[i, m] += shipped[magnet, cn_idx, i, m]
                for e2 in range(R):
                    for m in range(M):
                        dep_all[i, m] += shipped[magnet, e2, i, m]
        if neg_on and autos >= 0:
            # Rebuild time: from the first agreement until autos hold 90% of their target
            # again, counting any further fall after the deal (licences and shipping lag);
            # 0 if they never fell below 90% after it.
            for m in range(M):
                a_day = out_neg[m, 0]
                if np.isnan(a_day) or t <= a_day:
                    continue
                for r in range(R):
                    if np.isnan(out_rebuild[m, r]) and demand0[r, autos] > 0.0:
                        low = ssum[r, autos, m] < 0.9 * sect_tgt[r, autos, m]
                        if low:
                            dipped[r, m] = 1.0
                        elif dipped[r, m] > 0.0:
                            out_rebuild[m, r] = t - a_day
                if t == horizon - 1:
                    for r in range(R):
                        if np.isnan(out_rebuild[m, r]) and dipped[r, m] == 0.0 and demand0[r, autos] > 0.0:
                            out_rebuild[m, r] = 0.0
        for m in range(n_keep_here):
            for sd in range(2):
                tot = 0.0
                for kk in range(NK):
                    tot += pain_tot[sd, kk, m]
                tr_pain[m, t, sd] = tot

    # ---- outputs, member first; material balance: final - initial - produced + consumed (~0) ----
    for m in range(M):
        for p in range(P):
            held = _held(stock, recv, spile, ssum, pipe, crit, p, m)
            out_balance[m, p] = held - initial[p, m] - produced[p, m] + consumed[p, m]
        for r in range(R):
            for s in range(S):
                out_stockout[m, r, s] = o_stockout[r, s, m]
                out_loss[m, r, s] = o_loss[r, s, m]
                out_units[m, r, s] = o_units[r, s, m]
            out_readiness[m, r] = readiness[r, m]
            for p in range(P):
                out_peak[m, r, p] = o_peak[r, p, m]
                out_spile_empty[m, r, p] = o_spile_empty[r, p, m]
            out_dependence[m, r] = dep_cn[r, m] / dep_all[r, m] if dep_all[r, m] > 0.0 else np.nan
        for sd in range(2):
            for kk in range(NK):
                out_pain[m, sd, kk] = pain_tot[sd, kk, m]
            for gk in range(2):
                out_goods[m, sd, gk] = o_goods[sd, gk, m]
        for p in range(P):
            for i in range(R):
                for fk in range(2):
                    out_re_trade[m, p, i, fk] = o_re[p, i, fk, m]


@kernel_jit(error_model="numpy", inline="always")
def _cohort_sum(sinv: np.ndarray, r: int, s: int, m: int) -> float:
    tot = 0.0
    for c in range(K_COHORTS):
        tot += sinv[r, s, c, m]
    return tot


@kernel_jit(error_model="numpy", inline="always")
def _held(stock: np.ndarray, recv: np.ndarray, spile: np.ndarray, ssum: np.ndarray, pipe: np.ndarray,
          crit: np.ndarray, p: int, m: int) -> float:
    """All of product ``p`` that member ``m`` holds anywhere: stocks, stockpiles, sectors, in transit."""
    tot = 0.0
    for r in range(stock.shape[0]):
        tot += stock[r, p, m] + recv[r, p, m] + spile[r, p, m]
        for s in range(crit.shape[0]):
            if crit[s] == p:
                tot += ssum[r, s, m]
    for i in range(pipe.shape[1]):
        tot += pipe[p, i, m]
    return tot
