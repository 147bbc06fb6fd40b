"""The compiled kernel: a block of members advanced side by side through the whole horizon.

:func:`run_block` is the day's timeline.  It sets up the state (grouped by mechanism in the
containers of :mod:`standoff.layout`), then each day calls the stages in the order of
:data:`standoff.day.DAY`, the one table of the day (each stage's module, arguments, the state
it changes and what it does); each stage is a compiled function in the module of its mechanism.

State arrays carry the member on their last axis and every loop over members is innermost
and (almost) free of branches, so the compiler vectorises across members.  Per member, the
floating-point operations come in the same order as in the object-per-node
:mod:`standoff.core.reference`, whose :class:`~standoff.core.reference.Member` has a method of the
same name for each stage, and the two agree bit for bit (tested stage by stage and whole).
Only per-member summaries and the daily paths of the first ``trajectories`` members are
written out, so memory does not grow with the member count beyond the summaries.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import kernel_jit
from .controls import lead_days, refresh_control_flags, review_licences
from ..layout import (REBUILD_SHARE, A_RESOLVE, S_RESMULT_US, A_ANNOUNCE_TARIFF, A_POSTPONABLE_TARIFF, S_PRE_TUS,
                     S_SCHED_US, S_SCHED_DAY_US, S_SCHED_FROM_US, A_BUY, A_CAPACITY, A_OUTPUT_HALT, A_OUTPUT_LIMIT,
                     A_CM, A_CTRL_COVER_ADD, A_TERM, ROUTE_TERM_FREE, T_COVER,  # noqa: F401
                     MODE_LICENCE,
                     A_CTRL_MODE, A_CTRL_QUOTA, I_INSPECT, LICENCE_CONTRACTS,
                     LICENCE_KINDS, A_RELEASE, A_TALKS, A_TARIFF, CN_SIDE, I_CAPGROW,
                     I_DEFW, I_DIV, I_EPS, I_FLEX, I_HEADROOM, I_INVDAYS, I_MAXORD, I_ORDADJ, I_PCAP, I_PFLOOR,
                     I_PREM, I_PRESP, I_PT, I_REDIR, I_REDIR_CN, I_SIGMA, I_STOCKOUT, I_SUBMAX, I_SUBRATE,
                     I_TRADE_ADJ, I_TRANSIT0, I_TRANSIT1, LEAK_EXTRA_DAYS, N_STATE,
                     O_CAUSE, O_DEAL_TCN, O_DEAL_TUS, O_FC_CN, O_FC_US, O_QSTAR_CN, O_QSTAR_US, PAIN_KINDS, PARAMS,
                     READINESS_WINDOW, RING_DAYS, S_ACTIVE, S_TRUST_CN, S_TRUST_US, Acc, Ctrl, Goods, Market, Net, Par, Paths, Pol,
                     Scratch, Sectors, Ship, Stocks)
from .markets import update_markets
from .negotiation import init_state, play_negotiation
from .politics import book_pain, count_leverage_lost
from .production import firms_sum, produce_day, sector_pulls, supply_sectors
from .trade import book_material_trade, divert, import_needs, land_arrivals, ship_usual, trade_goods


# nogil: a Dask worker's communication thread must be able to send one chunk's results (the
# first chunk carries every kept daily path, ~40 MB) while the next chunk computes; holding the
# GIL for a whole block starved it, so on two workers the client waited seconds for chunk 0.
@kernel_jit(error_model="numpy", nogil=True)
def run_block(first: int, horizon: int, seed: np.uint64, neg_on: bool, neg_start: int, n_keep: int, inp: Any,
              tl: Any, nin: Any, out: Any, tr: Any) -> None:
    """Simulate members ``first .. first + M - 1`` (``M = inp.glob.shape[0]``) together, writing outputs in place.

    The day's timeline is :data:`standoff.day.DAY`, called in its order with its arguments.
    Each stage is a compiled function in the module of its mechanism, with a twin of the same
    name in :class:`standoff.core.reference.Member` (but kernel bookkeeping); the order of
    floating-point operations for each member is the reference's, so results match it bit for bit.
    """
    net, par, stocks, market, sec, ship, ctrl, goods, pol, acc, paths, scr, initial = \
        init_block(first, n_keep, inp, nin, out, tr)
    evT = np.ascontiguousarray(inp.ev.T)
    run_days(0, horizon, horizon, first, seed, neg_on, neg_start, tl, evT, 0, net, par, stocks, market, sec, ship,
             ctrl, goods, pol, acc, paths, scr)
    write_outputs(net, stocks, sec, ship, pol, acc, initial, out)


@kernel_jit(error_model="numpy", inline="always")
def run_days(t0: int, t1: int, horizon: int, first: int, seed: np.uint64, neg_on: bool, neg_start: int, tl: Any,
             evT: np.ndarray, ap: int, net: Any, par: Any, stocks: Any, market: Any, sec: Any, ship: Any, ctrl: Any,
             goods: Any, pol: Any, acc: Any, paths: Any, scr: Any) -> int:
    """Days ``t0 .. t1 - 1`` of a block whose state is at the start of day ``t0`` (``ap``: the
    index of the first timeline action not yet applied).  Returns the next action's index.

    A run is ``run_days(0, horizon, ...)``; a run saved at day ``d`` and resumed is
    ``run_days(0, d, ...)`` then, from the state as it was, ``run_days(d, horizon, ...)``: the
    same days in the same order with the same counter-based draws, so the same bits
    (:mod:`standoff.state`).
    """
    tail_start = max(horizon - 30, 0)
    for t in range(t0, t1):  # the day of standoff.day.DAY (tests/test_day.py checks this loop against it)
        ap, talks_today = apply_actions(t, ap, tl, evT, stocks, ctrl, goods, pol)
        play_negotiation(t, first, seed, neg_on, neg_start, talks_today, net, par, pol, goods, ctrl, acc)
        record_politics(t, pol, paths)
        refresh_control_flags(ctrl)
        land_arrivals(t, stocks, ship, acc)
        produce_day(net, par, stocks, acc, scr)
        sector_pulls(net, par, market, sec)
        import_needs(net, par, stocks, market, sec, ship, ctrl, scr)
        review_licences(t, first, seed, net, par, stocks, ctrl)
        ship_usual(t, net, stocks, market, ship, ctrl, scr)
        divert(t, stocks, ship, ctrl, acc, scr)
        supply_sectors(t, net, par, stocks, sec, pol, acc, paths, scr)
        update_markets(t, net, par, stocks, market, sec, ship, ctrl, acc, paths, scr)
        book_material_trade(t, net, ship, ctrl, market, pol, acc, paths)
        trade_goods(net, par, goods, pol, acc, scr)
        count_leverage_lost(net, par, stocks, pol)
        book_pain(pol)
        track_after_deal(t, horizon, tail_start, neg_on, net, sec, ship, acc)
        record_pain(t, pol, paths)
    return ap


# ---------------------------------------------------------------- set-up

@kernel_jit(error_model="numpy", inline="always")
def init_block(first: int, n_keep: int, inp: Any, nin: Any, out: Any, tr: Any) -> tuple:
    """A block's state at the start: the containers of :mod:`standoff.layout`, at the baseline's steady state.

    Returns ``(net, par, stocks, market, sec, ship, ctrl, goods, pol, acc, paths, scr, initial)``;
    ``initial`` is each product's total holding, for the material balance.
    """
    M = inp.glob.shape[0]
    n_keep_here = max(0, min(M, n_keep - first))
    net = network_constants(nin)
    par = member_parameters(inp)
    R, S = net.demand0.shape
    P = net.prod0.shape[1]
    G = net.trade_v0.shape[2]
    C = net.cm_blocked.shape[0]
    n_rt = net.rt_p.shape[0]
    n_gt = net.gt_e.shape[0]
    D = RING_DAYS
    KC = nin.firm_mult.shape[0]
    NC = LICENCE_CONTRACTS
    NL = len(LICENCE_KINDS)
    nr = max(n_rt, 1)
    W = READINESS_WINDOW
    NK = len(PAIN_KINDS)

    # ---- state, member last ----
    stocks = Stocks(np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)),
                    np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)),
                    np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)),
                    np.zeros((R, P, M)), np.zeros((R, P, M)), np.zeros((R, P, M)), np.full((R, P, M), np.inf),
                    np.zeros((R, P, M)))
    market = Market(np.ones((R, P, M)), np.ones((R, P, M)), np.ones((R, P, M)), np.ones((R, P, M)),
                    np.zeros((R, P, M)))
    sec = Sectors(np.zeros((R, S, KC, M)), np.zeros((R, S, KC, M)), np.zeros((R, S, M)), np.zeros((R, S, M)),
                  np.zeros((R, S, M)), np.zeros((R, S, M)), np.zeros((R, S, M)), np.zeros((R, S, KC, M)),
                  np.zeros((R, S, KC, M)))
    ship = Ship(np.zeros((D, P, R, M)), np.zeros((P, R, M)), np.zeros((P, R, M)), np.zeros((P, R, M)),
                np.zeros((P, R, M)), np.zeros((P, R, R, M)), np.zeros((P, R, R, M)), np.zeros((R, R, M), dtype=np.int64),
                np.zeros((R, R, M), dtype=np.int64), np.zeros((R, R, M), dtype=np.int64), np.zeros((D, P, R, M)))
    c_term = np.empty((ROUTE_TERM_FREE.shape[0], P, R, R, M))
    for k in range(ROUTE_TERM_FREE.shape[0]):
        c_term[k] = ROUTE_TERM_FREE[k]
    ctrl = Ctrl(np.zeros((P, R, R, M), dtype=np.int64), c_term, np.zeros((P, R, M)),
                np.zeros((nr, NC, M), dtype=np.int64), np.zeros((nr, NC, M)),
                np.zeros((nr, NC, M)), np.zeros((nr, M)), np.full((P, R, R, M), -1.0), np.full((P, R, R, M), -1.0),
                np.zeros((P, R, R, M)),
                np.zeros((R, M)), np.zeros((P, NL, M)),
                np.zeros((P, R, M)),
                np.zeros((P, R, M)), np.zeros((P, R, M)), np.zeros((P, R, R), dtype=np.bool_),
                np.array([1, 0, 0], dtype=np.int64))
    goods = Goods(np.zeros((R, R, G, M)), np.zeros((R, R, G, M)), np.zeros((C, M)), np.full((max(n_gt, 1), M), -1.0),
                  np.zeros((max(n_gt, 1), M)), np.zeros((max(n_gt, 1), M)), np.zeros((max(n_gt, 1), M)))
    pol = Pol(np.zeros((2, NK, M)), np.zeros((2, NK, M)), np.zeros((2, NK, M)), np.zeros(M), np.zeros(M),
              np.zeros((M, N_STATE)), inp.npar, nin.salience, nin.decay_days)
    acc = Acc(np.full((R, S, M), np.nan), np.zeros((R, S, M)), np.zeros((R, S, M)), np.ones((R, P, M)),
              np.full((R, P, M), np.nan), np.zeros((P, R, 2, M)), np.zeros((2, 2, M)), np.ones((R, W, M)),
              np.full((R, M), float(W)), np.ones((R, M)), np.zeros((P, M)), np.zeros((P, M)), np.zeros((R, M)),
              np.zeros((R, M)), np.zeros((R, M)), out.negotiation, out.rebuild_days, np.zeros((R, S, M)),
              np.zeros((R, S, M)), np.zeros((R, S, M)), np.zeros((R, 3, M)))
    # In the order of layout.PATH_FIELDS (numba cannot build it from the table; tests/test_layout.py checks).
    paths = Paths(n_keep_here, tr.cover_days, tr.output_fraction, tr.price_multiple, tr.imports_t, tr.pain_cum_usd_bn,
                  tr.trust, tr.pressure_ratio, tr.agreement_in_force, tr.requirement_fraction, tr.exports_t,
                  tr.route_exports_t, tr.route_transshipped_t, tr.licences, tr.fob_price, tr.speculative_t,
                  tr.expectation)
    scr = Scratch(np.zeros((6, M)), np.zeros((4, M)), np.zeros(net.bid.shape[2]), np.zeros((R, M)), np.zeros((R, M)))
    initial = np.zeros((P, M))
    set_steady_state(net, par, inp, stocks, sec, ship, goods, pol, acc, initial)
    return net, par, stocks, market, sec, ship, ctrl, goods, pol, acc, paths, scr, initial



@kernel_jit(error_model="numpy")
def network_constants(nin: Any) -> Any:
    """The network's arrays with what the stages derive from them once: trading routes and goods
    links, which markets exist, inverse coefficients, world and non-Chinese production."""
    demand0 = nin.demand
    crit = nin.critical
    coef = nin.coef
    share0 = nin.share
    flow0 = nin.flows
    prod0 = nin.production
    use0 = nin.use
    side = nin.side
    trade_v0 = nin.trade_value
    R, S = demand0.shape
    P = prod0.shape[1]
    units_per_t = 1000.0 / nin.unit_kg
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
            if side[r] != CN_SIDE:
                outside[p] += prod0[r, p]
    rt_p, rt_e, rt_i = np.nonzero(share0 > 0.0)
    n_rt = rt_p.shape[0]
    gt_e, gt_i, gt_g = np.nonzero(trade_v0 > 0.0)
    # Receiving stocks hold inputs of production stages only; sectors hold their own
    # inventories (counting a distributor stock on top would count the same days twice).
    input_use0 = use0.copy()
    for r in range(R):
        for s in range(S):
            input_use0[r, crit[s]] -= demand0[r, s]
    for r in range(R):
        for p in range(P):
            input_use0[r, p] = max(input_use0[r, p], 0.0)
    # A regional market exists where the product is made, used, received or used by a sector
    # (standoff.network.Network.markets); elsewhere its position target is zero and its price
    # never moves.
    market = nin.market.copy()
    KF = nin.firm_mult.shape[0]
    cmult_k = nin.firm_mult / KF
    inv_kc = 1.0 / KF
    return Net(demand0, crit, coef, inv_coef, share0, flow0, prod0, use0, input_use0, nin.stage_order, nin.zone, side,
               nin.value_per_day, units_per_t, nin.price_usd_per_t, trade_v0, nin.base_tariff, nin.cm_group,
               nin.cm_imposer, nin.cm_target, nin.cm_blocked, nin.cm_multiplier, market, is_crit, world_prod0,
               outside, rt_p, rt_e, rt_i, gt_e, gt_i, gt_g, cmult_k, inv_kc, nin.first_claim, nin.key_product, nin.lead_sector,
               nin.cn_idx, nin.us_idx, nin.bid_n, nin.bid, nin.bid_down, nin.bid_qty)


@kernel_jit(error_model="numpy")
def member_parameters(inp: Any) -> Any:
    """Per-member parameter rows (member on the last axis) and the reciprocals the stages use."""
    gp = np.ascontiguousarray(inp.glob.T)
    M = gp.shape[1]
    # Rows of the parameter matrix as 1-d arrays: LLVM vectorises a member loop that reads
    # ``pcap[m]`` but not one that reads ``gp[I_PCAP, m]`` next to other 2-d reads (it
    # cannot rule out a dependence between them).
    neg_eps = np.empty(M)
    neg_inv_flex = np.empty(M)
    for m in range(M):
        neg_eps[m] = -gp[I_EPS, m]
        neg_inv_flex[m] = -1.0 / gp[I_FLEX, m]
    return Par(gp, 1.0 / gp[I_ORDADJ], 1.0 / gp[I_PRESP], 1.0 / gp[I_INVDAYS], 1.0 / gp[I_TRADE_ADJ],
               gp[I_SUBRATE] / 365.0, gp[I_CAPGROW] / 365.0, gp[I_PFLOOR], gp[I_PCAP], gp[I_MAXORD],
               gp[I_STOCKOUT], gp[I_DEFW], gp[I_SUBMAX], gp[I_PREM], gp[I_DIV], gp[I_REDIR], gp[I_REDIR_CN],
               neg_eps, neg_inv_flex, inp.sector_days, inp.pool_days, inp.defer_days)


@kernel_jit(error_model="numpy")
def set_steady_state(net: Any, par: Any, inp: Any, stocks: Any, sec: Any, ship: Any, goods: Any, pol: Any,
                     acc: Any, initial: np.ndarray) -> None:
    """The baseline's steady state: stocks at their targets, sectors' firms at their days of cover,
    arrivals of the trade shipped before the start in transit, tariffs at their baseline."""
    gp = par.gp
    pool_days = par.pool_days
    sector_days = par.sector_days
    prod0 = net.prod0
    demand0 = net.demand0
    flow0 = net.flow0
    zone = net.zone
    stock = stocks.stock
    stock_tgt = stocks.stock_tgt
    recv = stocks.recv
    sinv = sec.sinv
    ssum = sec.ssum
    ring = ship.ring
    pipe = ship.pipe
    R, P, M = stock.shape
    S = demand0.shape[1]
    G = net.trade_v0.shape[2]
    D = ring.shape[0]
    KC = sinv.shape[2]
    cmult_k = net.cmult_k
    lead = np.zeros((R, R, M))
    for r in range(R):
        for p in range(P):
            for m in range(M):
                stock_tgt[r, p, m] = pool_days[m, p] * prod0[r, p]
                stock[r, p, m] = stock_tgt[r, p, m]
                recv[r, p, m] = pool_days[m, p] * net.input_use0[r, p]
                stocks.cap[r, p, m] = prod0[r, p] * (1.0 + gp[I_HEADROOM, m])
                stocks.spile[r, p, m] = inp.stockpile[m, r, p]
                stocks.shipped_prev[r, p, m] = prod0[r, p]
        for s in range(S):
            for c in range(KC):
                for m in range(M):
                    sinv[r, s, c, m] = sector_days[m, s] * demand0[r, s] * cmult_k[c]
            for m in range(M):
                ssum[r, s, m] = firms_sum(sinv, r, s, m)
    for e in range(R):
        for i in range(R):
            for m in range(M):
                if e == i:
                    lead[e, i, m] = 1.0
                elif zone[e] == zone[i]:
                    lead[e, i, m] = gp[I_TRANSIT0, m]
                else:
                    lead[e, i, m] = gp[I_TRANSIT1, m]
                ship.dl[e, i, m] = lead_days(lead[e, i, m], D)
                ship.dleak[e, i, m] = lead_days(lead[e, i, m] + LEAK_EXTRA_DAYS, D)
                ship.dinsp[e, i, m] = lead_days(lead[e, i, m] + gp[I_INSPECT, m], D)
            for gg in range(G):
                for m in range(M):
                    goods.tariff[e, i, gg, m] = net.tau0[e, i, gg]
                    goods.tv[e, i, gg, m] = net.trade_v0[e, i, gg]
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
                ship.pipe0[p, i, m] = pipe[p, i, m]
    for p in range(P):
        for m in range(M):
            initial[p, m] = held(stocks, sec, ship, net.crit, p, m)
    out_neg = acc.out_neg
    for m in range(M):
        init_state(pol.nst[m], pol.npar[m])
        out_neg[m] = 0.0
        out_neg[m, 0] = np.nan
        out_neg[m, 1] = np.nan
        out_neg[m, O_FC_US] = np.nan
        out_neg[m, O_FC_CN] = np.nan
        out_neg[m, O_CAUSE] = np.nan
        out_neg[m, O_DEAL_TUS] = np.nan
        out_neg[m, O_DEAL_TCN] = np.nan
        out_neg[m, O_QSTAR_US] = np.nan
        out_neg[m, O_QSTAR_CN] = np.nan
        for r in range(R):
            acc.out_rebuild[m, r] = np.nan


# ---------------------------------------------------------------- the timeline and the bookkeeping stages

@kernel_jit(error_model="numpy", inline="always")
def apply_actions(t: int, ap: int, tl: Any, evT: np.ndarray, stocks: Any, ctrl: Any, goods: Any, pol: Any) -> tuple:
    """Stage: a new day (today's pain starts at zero), and the scenario's actions dated up to today
    change tariffs, controls, counter-measures, stockpile releases and capacity.  Returns the next
    action's index and whether talks are held today."""
    pol.pain_today[:] = 0.0
    talks_today = False
    M = evT.shape[1]
    n_act = tl.day.shape[0]
    while ap < n_act and tl.day[ap] <= t:
        kind = tl.kind[ap]
        a0 = tl.a0[ap]
        a1 = tl.a1[ap]
        a2 = tl.a2[ap]
        v = evT[tl.col[ap]]
        if kind == A_TARIFF:
            goods.tariff[a0, a1, a2, :] = v
        elif kind == A_CTRL_MODE:
            for m in range(M):
                ctrl.c_mode[a0, a1, a2, m] = int(v[m])
                if int(v[m]) != MODE_LICENCE:
                    ctrl.au_open[a0, a1, a2, m] = -1.0  # the licence regime ends: the next starts afresh
            ctrl.flags[0] = 1
        elif kind == A_CTRL_QUOTA:
            ctrl.c_quota[a0, a1, :] = v
        elif kind == A_CM:
            goods.cm_on[a0, :] = v
        elif kind == A_RELEASE:
            stocks.release[a0, a1, :] = v
        elif kind == A_BUY:
            stocks.buy[a0, a1, :] = v
        elif kind == A_OUTPUT_LIMIT:
            stocks.olim[a0, a1, :] = v
        elif kind == A_OUTPUT_HALT:
            stocks.ohalt[a0, a1, :] = v
        elif kind == A_CAPACITY:
            for m in range(M):
                stocks.cap[a0, a1, m] += v[m]
        elif kind == A_TALKS:
            talks_today = True
        elif kind == A_RESOLVE:  # a dated period of a side's political calendar starts or ends
            for m in range(M):
                pol.nst[m, S_RESMULT_US + a0] = v[m]
        elif kind == A_ANNOUNCE_TARIFF:  # the side's pending increase: the table counts it, both sides price it
            for m in range(M):
                pol.nst[m, S_SCHED_US + a0] = v[m]
                pol.nst[m, S_SCHED_DAY_US + a0] = a1
                pol.nst[m, S_SCHED_FROM_US + a0] = -1.0
        elif kind == A_POSTPONABLE_TARIFF:
            for m in range(M):
                pol.nst[m, S_SCHED_US + a2] = v[m]
                pol.nst[m, S_SCHED_DAY_US + a2] = t
                if pol.nst[m, S_ACTIVE] > 0.5:
                    # A truce in force postpones it: it stays pending, and reverting (a lapse, a
                    # collapse) brings it in.
                    pol.nst[m, S_PRE_TUS + a2] = v[m]
                    pol.nst[m, S_SCHED_FROM_US + a2] = -1.0
                else:
                    pol.nst[m, S_SCHED_FROM_US + a2] = goods.tariff[a0, a1, 0, m]  # in: its pain still to come
                    for g in range(goods.tariff.shape[2]):
                        goods.tariff[a0, a1, g, m] = v[m]
        elif kind == A_CTRL_COVER_ADD:
            for m in range(M):
                ctrl.c_term[T_COVER, a0, a1, a2, m] += v[m]
        elif kind >= A_TERM:
            ctrl.c_term[kind - A_TERM, a0, a1, a2, :] = v
            ctrl.flags[0] = 1  # cheap: the flags are refreshed once, and depend on mode and announcement only
        ap += 1
    return ap, talks_today


@kernel_jit(error_model="numpy", inline="always")
def record_politics(t: int, pol: Any, paths: Any) -> None:
    """Stage: the kept members' trust, pressure ratios and agreement in force today."""
    nst = pol.nst
    for m in range(paths.n):
        paths.trust[m, t, 0] = nst[m, S_TRUST_US]
        paths.trust[m, t, 1] = nst[m, S_TRUST_CN]
        paths.pressure[m, t, 0] = pol.rho_us[m]
        paths.pressure[m, t, 1] = pol.rho_cn[m]
        paths.agreement[m, t] = nst[m, S_ACTIVE]


@kernel_jit(error_model="numpy", inline="always")
def record_pain(t: int, pol: Any, paths: Any) -> None:
    """Stage: the kept members' cumulative pain per side."""
    pain_tot = pol.pain_tot
    for m in range(paths.n):
        for sd in range(2):
            tot = 0.0
            for kk in range(pain_tot.shape[1]):
                tot += pain_tot[sd, kk, m]
            paths.pain[m, t, sd] = tot


@kernel_jit(error_model="numpy", inline="always")
def track_after_deal(t: int, horizon: int, tail_start: int, neg_on: bool, net: Any, sec: Any, ship: Any,
                     acc: Any) -> None:
    """Stage: China's share of each region's magnets over the last 30 days, and after the first
    agreement, how long autos take to hold 90% of their target inventory again."""
    magnet = net.key_product
    autos = net.lead_sector
    cn_idx = net.cn_idx
    shipped = ship.shipped
    dep_cn = acc.dep_cn
    dep_all = acc.dep_all
    dipped = acc.dipped
    out_neg = acc.out_neg
    out_rebuild = acc.out_rebuild
    demand0 = net.demand0
    R = demand0.shape[0]
    M = dep_cn.shape[1]
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
                    low = sec.ssum[r, autos, m] < REBUILD_SHARE * sec.sect_tgt[r, autos, m]
                    if low:
                        dipped[r, m] = 1.0
                    elif dipped[r, m] > 0.0:
                        out_rebuild[m, r] = t - a_day
            if t == horizon - 1:
                for r in range(R):
                    if np.isnan(out_rebuild[m, r]) and dipped[r, m] == 0.0 and demand0[r, autos] > 0.0:
                        out_rebuild[m, r] = 0.0


@kernel_jit(error_model="numpy")
def write_outputs(net: Any, stocks: Any, sec: Any, ship: Any, pol: Any, acc: Any, initial: np.ndarray,
                  out: Any) -> None:
    """The per-member outputs, member first; material balance: final - initial - produced + consumed (~0)."""
    R, S = net.demand0.shape
    P = net.prod0.shape[1]
    M = initial.shape[1]
    for m in range(M):
        for p in range(P):
            h = held(stocks, sec, ship, net.crit, p, m)
            out.material_balance_t[m, p] = h - initial[p, m] - acc.produced[p, m] + acc.consumed[p, m]
        for r in range(R):
            for s in range(S):
                out.first_stockout_day[m, r, s] = acc.o_stockout[r, s, m]
                out.output_loss_usd_bn[m, r, s] = acc.o_loss[r, s, m]
                out.units_lost[m, r, s] = acc.o_units[r, s, m]
                out.output_delayed_usd_bn[m, r, s] = acc.o_delay[r, s, m]
                out.units_delayed[m, r, s] = acc.o_udelay[r, s, m]
                out.stopped_weeks[m, r, s] = acc.o_stopd[r, s, m] / 7.0
                KF = sec.dfr.shape[2]
                owed = 0.0
                hit = 0.0
                for c in range(KF):
                    owed += sec.dfr[r, s, c, m]
                    hit += sec.fstop[r, s, c, m]
                d0 = net.demand0[r, s]
                out.unfinished_usd_bn[m, r, s] = owed / d0 * net.value_day[r, s] * 1e-9 if d0 > 0.0 else 0.0
                out.share_affected[m, r, s] = hit / KF
            out.readiness_min[m, r] = acc.readiness[r, m]
            for p in range(P):
                out.peak_price_multiple[m, r, p] = acc.o_peak[r, p, m]
                out.stockpile_empty_day[m, r, p] = acc.o_spile_empty[r, p, m]
            da = acc.dep_all[r, m]
            out.china_share_end[m, r] = acc.dep_cn[r, m] / da if da > 0.0 else np.nan
        for sd in range(2):
            for kk in range(pol.pain_tot.shape[1]):
                out.pain_usd_bn[m, sd, kk] = pol.pain_tot[sd, kk, m]
            for gk in range(2):
                out.goods_trade_usd_bn[m, sd, gk] = acc.o_goods[sd, gk, m]
        for r in range(R):
            for k in range(3):
                out.control_rent_usd_bn[m, r, k] = acc.o_rent[r, k, m]
        for p in range(P):
            for i in range(R):
                for fk in range(2):
                    out.re_trade_t[m, p, i, fk] = acc.o_re[p, i, fk, m]


@kernel_jit(error_model="numpy", inline="always")
def held(stocks: Any, sec: Any, ship: Any, crit: np.ndarray, p: int, m: int) -> float:
    """All of product ``p`` that member ``m`` holds anywhere: stocks, stockpiles, traders, sectors, in transit."""
    stock = stocks.stock
    recv = stocks.recv
    spile = stocks.spile
    spec = stocks.spec
    ssum = sec.ssum
    pipe = ship.pipe
    tot = 0.0
    for r in range(stock.shape[0]):
        tot += stock[r, p, m] + recv[r, p, m] + spile[r, p, m] + spec[r, p, m]
        for s in range(crit.shape[0]):
            if crit[s] == p:
                tot += ssum[r, s, m]
    for i in range(pipe.shape[1]):
        tot += pipe[p, i, m]
    return tot
