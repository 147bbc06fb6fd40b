"""The compiled step kernel: one member's whole horizon per call, members in a loop.

State lives in small per-member arrays; each day applies the timeline, releases
stockpiles, lands arrivals, produces, orders, ships under controls, diverts, supplies
sectors, updates prices, substitution, capacity and goods trade, and books pain.  Only
per-member summaries and the daily paths of the first ``trajectories`` members are
written out, so memory does not grow with the member count beyond the summaries.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .controls import LEAK_EXTRA_DAYS, LICENCE_STAGES, MODE_LICENCE, MODE_NONE, MODE_QUOTA, process_licences, schedule
from .markets import substitution_step, target_price
from .network import PAIN_KINDS
from .negotiation import (N_RES_CN, N_RES_US, N_STATE, O_FC_CN, O_FC_US, S_ACTIVE, S_TRUST_CN, S_TRUST_US, init_state,
                          negotiate_day)
from .politics import update_pressure
from .production import allocate_to_sectors, produce
from .trade import buyer_loss, import_target

#: Dataset parameters the kernel reads, in the order of the per-member parameter vector.
PARAMS = (
    "import_demand_elasticity", "tariff_pass_through", "trade_diversion_share", "diversion_cost_premium",
    "exporter_redirect_share", "trade_adjust_days", "re_price_elasticity", "price_flexibility", "price_cap",
    "price_floor", "price_response_days", "substitution_max_share", "substitution_rate_per_year",
    "capacity_growth_per_year", "investment_signal_days", "order_adjust_days", "capacity_headroom",
    "transit_days_same_zone", "transit_days_cross_zone", "stockout_threshold", "defense_strategic_weight",
    "max_order_multiple",
)
(I_SIGMA, I_PT, I_DIV, I_PREM, I_REDIR, I_TRADE_ADJ, I_EPS, I_FLEX, I_PCAP, I_PFLOOR, I_PRESP, I_SUBMAX, I_SUBRATE,
 I_CAPGROW, I_INVDAYS, I_ORDADJ, I_HEADROOM, I_TRANSIT0, I_TRANSIT1, I_STOCKOUT, I_DEFW, I_MAXORD) = range(len(PARAMS))

# Action kinds compiled from the timeline.
A_TARIFF, A_CTRL_MODE, A_CTRL_APPR, A_CTRL_DELAY, A_CTRL_LEAK, A_CTRL_QUOTA, A_CM, A_RELEASE, A_CAPACITY, \
    A_TALKS = range(10)

RING_DAYS = 512
#: Firms in a sector differ in how much inventory they hold.  Each sector is split into
#: equal cohorts whose days of cover are the quartile midpoints of a lognormal with this
#: log-sd, scaled to the sector's mean (assumption: the best-stocked quarter holds about
#: three times what the thinnest holds).  The thinnest cohort runs out first.
COHORT_SIGMA = 0.5
_z = np.array([-1.1503, -0.3186, 0.3186, 1.1503])
COHORT_MULT = np.exp(COHORT_SIGMA * _z) / np.exp(COHORT_SIGMA * _z).mean()
K_COHORTS = COHORT_MULT.shape[0]
INV_KC = 1.0 / K_COHORTS
READINESS_WINDOW = 30


@njit(cache=True, error_model="numpy", inline="always")
def _csum(sinv: np.ndarray, r: int, s: int) -> float:
    tot = 0.0
    for c in range(sinv.shape[2]):
        tot += sinv[r, s, c]
    return tot


@njit(cache=True, error_model="numpy", inline="always")
def _lsum(lq: np.ndarray, p: int, e: int, i: int) -> float:
    tot = 0.0
    for c in range(lq.shape[3]):
        tot += lq[p, e, i, c]
    return tot


@njit(cache=True, error_model="numpy")
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
              tr_requirement: np.ndarray) -> None:
    """Simulate members ``first .. first + n - 1`` (``n = glob.shape[0]``), writing outputs in place."""
    n = glob.shape[0]
    R, S = demand0.shape
    P = prod0.shape[1]
    G = trade_v0.shape[2]
    C = cm_blocked.shape[0]
    D = RING_DAYS
    n_act = act_day.shape[0]

    # Per-member state, allocated once and reset for each member.
    stock = np.zeros((R, P)); stock_tgt = np.zeros((R, P)); recv = np.zeros((R, P)); cap = np.zeros((R, P))
    KC = K_COHORTS
    cmult = COHORT_MULT
    cmult_k = COHORT_MULT / K_COHORTS
    units_per_t = 1000.0 / kg_unit
    inv_coef = np.zeros_like(coef)
    for p in range(P):
        for q in range(P):
            if coef[p, q] > 0.0:
                inv_coef[p, q] = 1.0 / coef[p, q]
    sinv = np.zeros((R, S, KC)); cpull = np.zeros((R, S, KC)); sub = np.zeros((R, S)); spile = np.zeros((R, P)); release = np.zeros((R, P))
    ring = np.zeros((D, P, R)); pipe = np.zeros((P, R)); pipe0 = np.zeros((P, R))
    price = np.ones((R, P)); signal = np.ones((R, P)); shipped_prev = np.zeros((R, P))
    prod_today = np.zeros((R, P)); input_used = np.zeros((R, P)); req = np.zeros((R, S)); pull = np.zeros((R, S))
    sect_tgt = np.zeros((R, S)); need = np.zeros((R, P)); pos_tgt = np.zeros((R, P)); unmet = np.zeros((P, R))
    shipped = np.zeros((P, R, R)); lead = np.zeros((R, R)); arrivals = np.zeros((P, R))
    tariff = np.zeros((R, R, G)); tv = np.zeros((R, R, G)); cm_on = np.zeros(C)
    c_mode = np.zeros((P, R, R), dtype=np.int64); c_appr = np.ones((P, R, R)); c_delay = np.zeros((P, R, R))
    c_leak = np.zeros((P, R, R)); c_quota = np.zeros((P, R))
    lq = np.zeros((P, R, R, LICENCE_STAGES))  # licence applications pending, t, by review stage
    ready_buf = np.ones((R, READINESS_WINDOW)); ready_sum = np.zeros(R)
    produced = np.zeros(P); consumed = np.zeros(P); initial = np.zeros(P)
    world_prod0 = np.zeros(P)
    for p in range(P):
        world_prod0[p] = prod0[:, p].sum()
    # Sparse lists: the routes that carry trade in the baseline, and the goods-trade entries.
    rt_p, rt_e, rt_i = np.nonzero(share0 > 0.0)
    n_rt = rt_p.shape[0]
    gt_e, gt_i, gt_g = np.nonzero(trade_v0 > 0.0)
    n_gt = gt_e.shape[0]
    gt_tau = np.zeros(n_gt); gt_vstar = np.zeros(n_gt); gt_cs = np.zeros(n_gt)
    outside = np.zeros(P)
    for p in range(P):
        for r in range(R):
            if side[r] != 1:
                outside[p] += prod0[r, p]
    need_firm = np.zeros((R, P))
    tot_pe = np.zeros((P, R)); ctl_pe = np.zeros((P, R)); frac_pe = np.zeros((P, R))
    ctrl_in = np.zeros((P, R), dtype=np.int64)  # licence controls on routes into (product, importer)
    pe_mult = np.ones((R, P)); sinv_p = np.zeros((R, P))
    is_crit = np.zeros(P, dtype=np.bool_)
    for s in range(S):
        is_crit[crit[s]] = True
    pain_today = np.zeros((2, len(PAIN_KINDS)))
    pressure = np.zeros((2, len(PAIN_KINDS)))
    nst = np.zeros(N_STATE)
    dep_cn = np.zeros(R)
    dep_all = np.zeros(R)
    dipped = np.zeros(R)
    tail_start = max(horizon - 30, 0)
    # Receiving stocks hold inputs of production stages only; sectors hold their own
    # inventories (counting a distributor stock on top would count the same days twice).
    input_use0 = use0.copy()
    for r in range(R):
        for s in range(S):
            input_use0[r, crit[s]] -= demand0[r, s]
    for r in range(R):
        for p in range(P):
            input_use0[r, p] = max(input_use0[r, p], 0.0)

    for k in range(n):
        g = glob[k]
        order_adj = g[I_ORDADJ]
        # Reciprocals of the per-member time constants: a division costs several multiplies
        # and these are used for every sector, route and day.
        inv_adj = 1.0 / order_adj
        inv_presp = 1.0 / g[I_PRESP]
        inv_sig = 1.0 / g[I_INVDAYS]
        inv_tadj = 1.0 / g[I_TRADE_ADJ]
        sub_rate = g[I_SUBRATE] / 365.0
        cap_grow = g[I_CAPGROW] / 365.0
        eps = g[I_EPS]
        # ---- initial steady state ----
        for r in range(R):
            for p in range(P):
                stock_tgt[r, p] = pool_days[k, p] * prod0[r, p]
                stock[r, p] = stock_tgt[r, p]
                recv[r, p] = pool_days[k, p] * input_use0[r, p]
                cap[r, p] = prod0[r, p] * (1.0 + g[I_HEADROOM])
                spile[r, p] = stockpile0[k, r, p]
                release[r, p] = 0.0
                price[r, p] = 1.0
                signal[r, p] = 1.0
                shipped_prev[r, p] = prod0[r, p]
            for s in range(S):
                for c in range(KC):
                    sinv[r, s, c] = sector_days[k, s] * demand0[r, s] * cmult[c] / KC
                sub[r, s] = 0.0
            ready_sum[r] = READINESS_WINDOW
            for w in range(READINESS_WINDOW):
                ready_buf[r, w] = 1.0
        for j in range(n_gt):
            gt_tau[j] = -1.0  # forces the first computation
        pe_mult[:] = 1.0
        ctrl_in[:] = 0
        ctrl_dirty = True
        for e in range(R):
            for i in range(R):
                if e == i:
                    lead[e, i] = 1.0
                elif zone[e] == zone[i]:
                    lead[e, i] = g[I_TRANSIT0]
                else:
                    lead[e, i] = g[I_TRANSIT1]
                for gg in range(G):
                    tariff[e, i, gg] = tau0[e, i, gg]
                    tv[e, i, gg] = trade_v0[e, i, gg]
        ring[:] = 0.0
        pipe[:] = 0.0
        c_mode[:] = MODE_NONE
        c_appr[:] = 1.0
        c_delay[:] = 0.0
        c_leak[:] = 0.0
        c_quota[:] = 0.0
        cm_on[:] = 0.0
        lq[:] = 0.0
        for p in range(P):
            for e in range(R):
                for i in range(R):
                    f = flow0[p, e, i]
                    if f > 0.0:
                        L = int(round(lead[e, i]))
                        for d in range(L):  # arrivals on days 0 .. L-1, as if shipped before the start
                            ring[d % D, p, i] += f
                        pipe[p, i] += f * L
            for i in range(R):
                pipe0[p, i] = pipe[p, i]
        for p in range(P):
            produced[p] = 0.0
            consumed[p] = 0.0
            tot = 0.0
            for r in range(R):
                tot += stock[r, p] + recv[r, p] + spile[r, p]
                for s in range(S):
                    if crit[s] == p:
                        tot += _csum(sinv, r, s)
            for i in range(R):
                tot += pipe[p, i]
            initial[p] = tot
        for r in range(R):
            for s in range(S):
                out_stockout[k, r, s] = np.nan
                out_loss[k, r, s] = 0.0
                out_units[k, r, s] = 0.0
            out_readiness[k, r] = 1.0
            for p in range(P):
                out_peak[k, r, p] = 1.0
                out_spile_empty[k, r, p] = np.nan
        out_pain[k] = 0.0
        out_re_trade[k] = 0.0
        out_goods[k] = 0.0
        pressure[:] = 0.0
        init_state(nst, npar[k])
        out_neg[k] = 0.0
        out_neg[k, 0] = np.nan
        out_neg[k, 1] = np.nan
        out_neg[k, O_FC_US] = np.nan
        out_neg[k, O_FC_CN] = np.nan
        dep_cn[:] = 0.0
        dep_all[:] = 0.0
        dipped[:] = 0.0
        for r in range(R):
            out_rebuild[k, r] = np.nan
        keep = first + k < n_keep

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
                v = ev[k, act_col[ap]]
                if kind == A_TARIFF:
                    tariff[a0, a1, a2] = v
                elif kind == A_CTRL_MODE:
                    c_mode[a0, a1, a2] = int(v)
                    ctrl_dirty = True
                elif kind == A_CTRL_APPR:
                    c_appr[a0, a1, a2] = v
                elif kind == A_CTRL_DELAY:
                    c_delay[a0, a1, a2] = v
                elif kind == A_CTRL_LEAK:
                    c_leak[a0, a1, a2] = v
                elif kind == A_CTRL_QUOTA:
                    c_quota[a0, a1] = v
                elif kind == A_CM:
                    cm_on[a0] = v
                elif kind == A_RELEASE:
                    release[a0, a1] = v
                elif kind == A_CAPACITY:
                    cap[a0, a1] += v
                elif kind == A_TALKS:
                    talks_today = True
                ap += 1

            # ---- the political game (yesterday's pressure, today's rounds and compliance) ----
            rho_us = pressure[0].sum() / npar[k, N_RES_US]
            rho_cn = pressure[1].sum() / npar[k, N_RES_CN]
            if t >= neg_start:
                if rho_us >= 1.0 and np.isnan(out_neg[k, O_FC_US]):
                    out_neg[k, O_FC_US] = t
                if rho_cn >= 1.0 and np.isnan(out_neg[k, O_FC_CN]):
                    out_neg[k, O_FC_CN] = t
            if neg_on and t >= neg_start:
                negotiate_day(t, first + k, seed, talks_today, npar[k], nst, pressure, tariff, c_appr, c_delay,
                              c_mode, cm_on, cm_imposer, us_idx, cn_idx, out_neg[k])
            if keep:
                tr_trust[k, t, 0] = nst[S_TRUST_US]
                tr_trust[k, t, 1] = nst[S_TRUST_CN]
                tr_pressure[k, t, 0] = rho_us
                tr_pressure[k, t, 1] = rho_cn
                tr_agreement[k, t] = nst[S_ACTIVE]

            if ctrl_dirty:
                ctrl_in[:] = 0
                for p in range(P):
                    for e in range(R):
                        for i in range(R):
                            if e != i and c_mode[p, e, i] == MODE_LICENCE:
                                ctrl_in[p, i] += 1
                ctrl_dirty = False

            # ---- stockpile releases and arrivals ----
            for r in range(R):
                for p in range(P):
                    if release[r, p] > 0.0 and spile[r, p] > 0.0:
                        a = min(release[r, p], spile[r, p])
                        spile[r, p] -= a
                        recv[r, p] += a
                        if spile[r, p] <= 1e-12 and np.isnan(out_spile_empty[k, r, p]):
                            out_spile_empty[k, r, p] = t  # how long the stockpile lasted
            slot = t % D
            for p in range(P):
                for i in range(R):
                    a = ring[slot, p, i]
                    arrivals[p, i] = a
                    if a != 0.0:
                        recv[i, p] += a
                        pipe[p, i] = max(pipe[p, i] - a, 0.0)
                        ring[slot, p, i] = 0.0

            # ---- production ----
            input_used[:] = 0.0
            produce(stage_order, coef, cap, stock, stock_tgt, recv, shipped_prev, inv_adj, prod_today, input_used, inv_coef)
            for p in range(P):
                for r in range(R):
                    produced[p] += prod_today[r, p]
                    consumed[p] += input_used[r, p]

            # ---- requirements, sector pulls and import needs ----
            for r in range(R):
                for s in range(S):
                    if demand0[r, s] <= 0.0:
                        req[r, s] = 0.0
                        pull[r, s] = 0.0
                        sect_tgt[r, s] = 0.0
                        continue
                    base = demand0[r, s] * (1.0 - sub[r, s])
                    req[r, s] = base * pe_mult[r, crit[s]]
                    sect_tgt[r, s] = sector_days[k, s] * base
                    tot_pull = 0.0
                    for c in range(KC):
                        cp = req[r, s] * INV_KC + max(sect_tgt[r, s] * cmult_k[c] - sinv[r, s, c], 0.0) * inv_adj
                        cpull[r, s, c] = cp
                        tot_pull += cp
                    pull[r, s] = tot_pull
            for i in range(R):
                for p in range(P):
                    use_now = 0.0
                    # Today's input use is added back so that production and sectors (which pull
                    # after ordering) are treated alike; the steady state is then exact.
                    position = recv[i, p] + input_used[i, p] + pipe[p, i]
                    target = pool_days[k, p] * input_use0[i, p] + pipe0[p, i]
                    # Pending licence applications count at the approval share in force (what the
                    # buyer expects to receive), and the target position grows by the expected
                    # licence pipeline (use from that supplier times the review time), as an
                    # order-up-to policy does for any longer lead time.
                    position_firm = position
                    target_firm = target
                    if ctrl_in[p, i] > 0:
                        for e in range(R):
                            if e != i and c_mode[p, e, i] == MODE_LICENCE:
                                position += _lsum(lq, p, e, i) * c_appr[p, e, i]
                                target += share0[p, e, i] * use0[i, p] * c_delay[p, e, i]
                    for s in range(S):
                        if crit[s] == p:
                            use_now += req[i, s]
                            position += _csum(sinv, i, s)
                            target += sect_tgt[i, s]
                    for q in range(P):
                        use_now += prod_today[i, q] * coef[q, p]
                    pos_tgt[i, p] = target
                    # Buyers cannot order (or apply for licences for) far more than they use.
                    cap_o = g[I_MAXORD] * max(use_now, use0[i, p])
                    need[i, p] = min(max(use_now + (target - position) * inv_adj, 0.0), cap_o)
                    # What a buyer seeks elsewhere while its licences are pending ignores them: it
                    # hedges, so a stricter control never makes it look elsewhere less.
                    if ctrl_in[p, i] > 0:
                        for s in range(S):
                            if crit[s] == p:
                                position_firm += _csum(sinv, i, s)
                                target_firm += sect_tgt[i, s]
                        need_firm[i, p] = min(max(use_now + (target_firm - position_firm) * inv_adj, 0.0), cap_o)
                    else:
                        need_firm[i, p] = need[i, p]

            # ---- shipments under controls (round 1: usual suppliers) ----
            shipped[:] = 0.0
            unmet[:] = 0.0
            tot_pe[:] = 0.0
            ctl_pe[:] = 0.0
            for j in range(n_rt):
                p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
                o = need[i, p] * share0[p, e, i]
                tot_pe[p, e] += o
                if i != e and c_mode[p, e, i] == MODE_QUOTA:
                    ctl_pe[p, e] += o
            # Every buyer of an exporter gets the same share of its order (pro rata to stock).
            for p in range(P):
                for e in range(R):
                    if tot_pe[p, e] > 0.0:
                        frac_pe[p, e] = min(1.0, stock[e, p] / tot_pe[p, e])
            for j in range(n_rt):
                p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
                o = need[i, p] * share0[p, e, i]
                if o <= 0.0:
                    continue
                frac = frac_pe[p, e]
                quota_frac = 1.0
                if ctl_pe[p, e] > 0.0:
                    quota_frac = min(1.0, (c_quota[p, e] / 365.0) / max(ctl_pe[p, e] * frac, 1e-300))
                q = o * frac
                if i == e or c_mode[p, e, i] == MODE_NONE:
                    schedule(ring, pipe, t, p, i, q, lead[e, i])
                    sent = q
                elif c_mode[p, e, i] == MODE_LICENCE:
                    # An application joins the review queue; what the buyer lacks today
                    # (without counting on the licence) it tries to buy elsewhere (round 2).
                    lq[p, e, i, 0] += o
                    unmet[p, i] += need_firm[i, p] * share0[p, e, i]
                    continue
                else:
                    af = quota_frac if c_mode[p, e, i] == MODE_QUOTA else 0.0  # a ban ships nothing
                    ok = q * af
                    leak = (q - ok) * c_leak[p, e, i]
                    schedule(ring, pipe, t, p, i, ok, lead[e, i])
                    schedule(ring, pipe, t, p, i, leak, lead[e, i] + LEAK_EXTRA_DAYS)
                    sent = ok + leak
                stock[e, p] = max(stock[e, p] - sent, 0.0)
                shipped[p, e, i] += sent
                unmet[p, i] += o - sent
            # ---- licence review: decided applications ship if approved, from what the
            # exporter has left after its domestic and uncontrolled customers ----
            process_licences(lq, c_mode, c_appr, c_delay, c_leak, stock, ring, pipe, shipped, lead, t,
                             rt_p, rt_e, rt_i)

            # ---- round 2: diversion to any supplier with stock and no control on the route ----
            for p in range(P):
                short_p = 0.0
                for i in range(R):
                    short_p += unmet[p, i]
                if short_p <= 1e-12:
                    continue
                for e in range(R):
                    if stock[e, p] <= 0.0:
                        continue
                    want = 0.0
                    for i in range(R):
                        if i != e and unmet[p, i] > 0.0 and c_mode[p, e, i] == MODE_NONE:
                            want += unmet[p, i]
                    if want <= 0.0:
                        continue
                    f = min(1.0, stock[e, p] / want)
                    for i in range(R):
                        if i != e and unmet[p, i] > 0.0 and c_mode[p, e, i] == MODE_NONE:
                            q = unmet[p, i] * f
                            schedule(ring, pipe, t, p, i, q, lead[e, i])
                            stock[e, p] = max(stock[e, p] - q, 0.0)
                            shipped[p, e, i] += q
                            unmet[p, i] -= q
                            out_re_trade[k, p, i, 1] += q
            for r in range(R):
                for p in range(P):
                    s_ = 0.0
                    for i in range(R):
                        s_ += shipped[p, r, i]
                    shipped_prev[r, p] = s_

            # ---- sectors: supply, consumption, losses, stockouts ----
            allocate_to_sectors(recv, pull, cpull, sinv, crit, defense)
            sinv_p[:] = 0.0
            for r in range(R):
                for s in range(S):
                    if req[r, s] <= 0.0:
                        if keep:
                            tr_output[k, t, r, s] = 1.0
                            tr_cover[k, t, r, s] = 0.0
                            tr_requirement[k, t, r, s] = 1.0
                        continue
                    c = 0.0
                    for j in range(KC):
                        cj = min(req[r, s] * INV_KC, sinv[r, s, j])
                        sinv[r, s, j] -= cj
                        c += cj
                    consumed[crit[s]] += c
                    frac = c / req[r, s]
                    sinv_p[r, crit[s]] += _csum(sinv, r, s)
                    short = req[r, s] - c
                    loss = (1.0 - frac) * value_day[r, s]
                    out_loss[k, r, s] += loss * 1e-9
                    out_units[k, r, s] += short * units_per_t[s]
                    if frac < g[I_STOCKOUT] and np.isnan(out_stockout[k, r, s]):
                        out_stockout[k, r, s] = t
                    sd = side[r]
                    if sd >= 0:
                        if s == defense:
                            pain_today[sd, 3] += loss * g[I_DEFW] * 1e-9
                        else:
                            pain_today[sd, 0] += loss * 1e-9
                    if s == defense:
                        w = t % READINESS_WINDOW
                        ready_sum[r] += frac - ready_buf[r, w]
                        ready_buf[r, w] = frac
                        out_readiness[k, r] = min(out_readiness[k, r], ready_sum[r] / READINESS_WINDOW)
                    if keep:
                        tr_requirement[k, t, r, s] = req[r, s] / demand0[r, s]
                        tr_output[k, t, r, s] = frac
                        tr_cover[k, t, r, s] = _csum(sinv, r, s) / (demand0[r, s] * (1.0 - sub[r, s]))

            # ---- markets: prices, substitution, new capacity ----
            for r in range(R):
                for p in range(P):
                    denom = pos_tgt[r, p] + stock_tgt[r, p]
                    if denom > 0.0:
                        have = recv[r, p] + pipe[p, r] + stock[r, p] + sinv_p[r, p]
                        m_star = target_price(have / denom, g[I_FLEX], g[I_PFLOOR], g[I_PCAP])
                        price[r, p] += (m_star - price[r, p]) * inv_presp
                    signal[r, p] += (price[r, p] - signal[r, p]) * inv_sig
                    if is_crit[p] and price[r, p] != 1.0:  # only a sector's own input moves its demand
                        pe_mult[r, p] = price[r, p] ** (-eps)
                    else:
                        pe_mult[r, p] = 1.0
                    if price[r, p] > out_peak[k, r, p]:
                        out_peak[k, r, p] = price[r, p]
                    if keep:
                        tr_price[k, t, r, p] = price[r, p]
                for s in range(S):
                    sub[r, s] = substitution_step(sub[r, s], price[r, crit[s]], g[I_SUBMAX], sub_rate)
            for p in range(P):
                if outside[p] <= 0.0:
                    continue
                for r in range(R):
                    if side[r] != 1 and prod0[r, p] > 0.0 and signal[r, p] > 1.5:
                        grow = cap_grow * world_prod0[p] * prod0[r, p] / outside[p]
                        cap[r, p] += grow * min(signal[r, p] - 1.5, 1.0)

            # ---- rare-earth trade lost and export revenue lost ----
            for j in range(n_rt):
                p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
                if e == i:
                    continue
                gap = flow0[p, e, i] - shipped[p, e, i]
                if gap > 0.0:
                    out_re_trade[k, p, i, 0] += gap
                    if side[e] >= 0:
                        pain_today[side[e], 1] += gap * price_t[p] * 1e-9
            if keep:
                for p in range(P):
                    for i in range(R):
                        tr_imports[k, t, p, i] = arrivals[p, i]

            # ---- goods trade: tariffs and counter-measures ----
            for j in range(n_gt):
                e = gt_e[j]; i = gt_i[j]; gg = gt_g[j]
                v0 = trade_v0[e, i, gg]
                tau = tariff[e, i, gg]
                if tau != gt_tau[j]:  # the powers only change with the tariff
                    gt_tau[j] = tau
                    gt_vstar[j] = import_target(v0, tau, tau0[e, i, gg], g[I_PT], g[I_SIGMA])
                    gt_cs[j] = buyer_loss(v0, tau, tau0[e, i, gg], g[I_PT], g[I_SIGMA], g[I_DIV], 0.0, 0.0)
                vstar = gt_vstar[j]
                for c in range(C):
                    if cm_on[c] > 0.0 and cm_imposer[c] == e and cm_target[c] == i and cm_group[c] == gg:
                        vstar = max(vstar - cm_blocked[c], 0.0)
                tv[e, i, gg] += (vstar - tv[e, i, gg]) * inv_tadj
                lost = v0 - tv[e, i, gg]
                cost = gt_cs[j] + g[I_PREM] * g[I_DIV] * max(lost, 0.0)
                if side[i] >= 0:
                    pain_today[side[i], 2] += cost * 1e-9
                    out_goods[k, side[i], 0] += lost * 1e-9
                if side[e] >= 0 and lost > 0.0:
                    pain_today[side[e], 1] += lost * (1.0 - g[I_REDIR]) * 1e-9
                    out_goods[k, side[e], 1] += lost * 1e-9
            for c in range(C):
                if cm_on[c] > 0.0 and side[cm_target[c]] >= 0:
                    pain_today[side[cm_target[c]], 3] += cm_blocked[c] * cm_mult[c] * 1e-9
            for sd in range(2):
                for kk in range(len(PAIN_KINDS)):
                    out_pain[k, sd, kk] += pain_today[sd, kk]
            update_pressure(pressure, pain_today, salience, decay_days)

            # ---- after an agreement: dependence and inventory rebuild ----
            if t >= tail_start and magnet >= 0:
                for i in range(R):
                    dep_cn[i] += shipped[magnet, cn_idx, i]
                    for e2 in range(R):
                        dep_all[i] += shipped[magnet, e2, i]
            # Rebuild time: from the first agreement until autos hold 90% of their target again,
            # counting any further fall after the deal (licences and shipping lag); 0 if they never
            # fell below 90% after it.
            a_day = out_neg[k, 0]
            if autos >= 0 and not np.isnan(a_day) and t > a_day:
                for r in range(R):
                    if np.isnan(out_rebuild[k, r]) and demand0[r, autos] > 0.0:
                        tgt = sect_tgt[r, autos]
                        low = _csum(sinv, r, autos) < 0.9 * tgt
                        if low:
                            dipped[r] = 1.0
                        elif dipped[r] > 0.0:
                            out_rebuild[k, r] = t - a_day
                if t == horizon - 1:
                    for r in range(R):
                        if np.isnan(out_rebuild[k, r]) and dipped[r] == 0.0 and demand0[r, autos] > 0.0:
                            out_rebuild[k, r] = 0.0
            if keep:
                for sd in range(2):
                    tr_pain[k, t, sd] = out_pain[k, sd].sum()

        # ---- material balance: final holdings - initial - produced + consumed (should be ~0) ----
        for p in range(P):
            tot = 0.0
            for r in range(R):
                tot += stock[r, p] + recv[r, p] + spile[r, p]
                for s in range(S):
                    if crit[s] == p:
                        tot += _csum(sinv, r, s)
            for i in range(R):
                tot += pipe[p, i]
            out_balance[k, p] = tot - initial[p] - produced[p] + consumed[p]
        for i in range(R):
            out_dependence[k, i] = dep_cn[i] / dep_all[i] if dep_all[i] > 0.0 else np.nan
