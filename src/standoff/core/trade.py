"""Trade: the chokepoint's material moving between regions, and bilateral trade in goods.

Material (stages :func:`land_arrivals`, :func:`import_needs`, :func:`ship_usual`,
:func:`divert`, :func:`book_material_trade`): each region orders up to a target inventory
position; usual suppliers ship pro rata to their stock under the controls in force (licences
go through :func:`standoff.core.controls.review_licences`); what buyers still lack they buy from
any supplier without a control on the route; shipments arrive after a transit time.

Goods (stage :func:`trade_goods`), partial equilibrium: a group's imports follow
``((1 + pt*tau) / (1 + pt*tau0)) ** -sigma`` of their baseline value, adjusting over
``trade_adjust_days``; a share of lost imports is bought from third countries at a premium;
the exporter sells a share elsewhere.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._jit import kernel_jit
from .controls import chill_now, diverts_to, leak_share, quota_fill, schedule, tag
from ..layout import (T_AHEAD, T_CHILL, T_CHILL_DAYS, T_COVER, T_LEAK, T_LEAK_CAP, T_LEAK_WEDGE, T_SCREEN, T_TAX,
                     CN_SIDE, I_AHEAD, I_DIV, I_PRECMAX, I_PT, I_SIGMA, MODE_LICENCE, MODE_NONE, MODE_QUOTA,
                     PK_CONSUMERS, PK_EXPORTS, PK_STRATEGIC)


@kernel_jit(error_model="numpy", inline="always")
def import_target(v0: float, tau: float, tau0: float, pass_through: float, sigma: float) -> float:
    """Imports a tariff ``tau`` sustains, given baseline value ``v0`` at tariff ``tau0``."""
    return v0 * ((1.0 + pass_through * tau) / (1.0 + pass_through * tau0)) ** (-sigma)


@kernel_jit(error_model="numpy")
def buyer_loss(v0: float, tau: float, tau0: float, pass_through: float, sigma: float, diversion: float,
               premium: float, lost: float) -> float:
    """Buyers' loss per day from a tariff above its baseline level.

    With constant-elasticity import demand the consumer-surplus loss of a price rise by a
    factor ``r`` is ``v0 / (sigma - 1) * (1 - r ** (1 - sigma))`` (it includes the tariff
    paid).  The diverted share of lost imports is bought from third countries, costing only
    a premium on what is diverted.
    """
    r = (1.0 + pass_through * tau) / (1.0 + pass_through * tau0)
    if r <= 1.0 or sigma <= 1.0:
        cs = 0.0
    else:
        cs = v0 / (sigma - 1.0) * (1.0 - r ** (1.0 - sigma))
    return cs * (1.0 - diversion) + premium * diversion * max(lost, 0.0)


@kernel_jit(error_model="numpy")
def pending_tariff_pain(v0: float, tau: float, tau_new: float, tau0: float, pass_through: float, sigma: float,
                        diversion: float, premium: float, redirect: float, adjust_days: float, lead: float,
                        term: float) -> tuple[float, float]:
    """The pain a day, averaged over a deal's term, that an announced tariff increase would add:
    ``(the importer's buyers, the exporter)``, in the link's value units a day.

    The increase from ``tau`` (in force) to ``tau_new`` is due in ``lead`` days (0: it comes in at
    once, as a postponed increase does when a truce lapses); a deal made today would keep it away
    for ``term`` days.  Over those days it would be in force for ``L = term - lead`` (none if
    ``lead >= term``), and :func:`trade_goods`' own dynamics give what it would cost, in the
    continuous approximation of its daily steps: the buyers' consumer-surplus loss
    (:func:`buyer_loss`) rises at once; imports fall toward the new target over ``adjust_days``
    (``dv (1 - exp(-u))``, ``u`` days over ``adjust_days``), and the buyers pay ``premium`` on the
    diverted share of what they lose; the exporter places ``redirect`` of its lost sales elsewhere
    over the same time, so what it has not placed is ``dv ((1 - r)(1 - exp(-u)) + r u exp(-u))``.
    The means over the term are closed forms.  An increase that is no increase costs nothing.

    A negative ``lead`` is an increase that came in ``-lead`` days ago: what is returned is then
    the pain still to come from it, the mean over the term of its pain less the pain it causes
    today (the buyers' surplus loss, felt at once, has none; the premium and the exporter's lost
    sales still ramp in; a side expecting its lost sales to be placed elsewhere counts no relief).

    Examples
    --------
    >>> pending_tariff_pain(100.0, 0.1, 0.1, 0.0, 1.0, 3.0, 0.6, 0.08, 0.9, 60.0, 0.0, 90.0)
    (0.0, 0.0)
    >>> pending_tariff_pain(100.0, 0.1, 0.3, 0.0, 1.0, 3.0, 0.6, 0.08, 0.9, 60.0, 90.0, 90.0)  # due after the term
    (0.0, 0.0)
    """
    if term <= 0.0 or tau_new <= tau or lead >= term:
        return 0.0, 0.0
    dv = max(import_target(v0, tau, tau0, pass_through, sigma) - import_target(v0, tau_new, tau0, pass_through, sigma),
             0.0)
    if lead < 0.0:
        x = -lead / adjust_days   # days since it came in, in adjustment times
        big_u = term / adjust_days
        ex = math.exp(-x)
        rise = ex * (1.0 - (1.0 - math.exp(-big_u)) / big_u)  # mean of exp(-x) - exp(-x-s) over the term
        hump = ((1.0 + x) * ex - (1.0 + x + big_u) * math.exp(-x - big_u)) / big_u - x * ex
        return premium * diversion * dv * rise, max(dv * ((1.0 - redirect) * rise + redirect * hump), 0.0)
    span = term - max(lead, 0.0)
    u = span / adjust_days
    e = math.exp(-u)  # libm's, in the kernel and in the reference alike
    ramp = adjust_days / term * (u - 1.0 + e)            # mean of 1 - exp(-u) over the term
    hump = adjust_days / term * (1.0 - (1.0 + u) * e)    # mean of u exp(-u) over the term
    dcs = buyer_loss(v0, tau_new, tau0, pass_through, sigma, diversion, 0.0, 0.0) - \
        buyer_loss(v0, tau, tau0, pass_through, sigma, diversion, 0.0, 0.0)
    importer = max(dcs, 0.0) * span / term + premium * diversion * dv * ramp
    exporter = dv * ((1.0 - redirect) * ramp + redirect * hump)
    return importer, exporter


# ---------------------------------------------------------------- stages of the day: material trade

@kernel_jit(error_model="numpy", inline="always")
def land_arrivals(t: int, stocks: Any, ship: Any, acc: Any) -> None:
    """Stage: released stockpiles and today's arrivals join each region's receiving stock (the part
    licensed for civilian end use only joins its civilian-only part); a government buying into
    its stockpile takes from its producers' stock first, then from the receiving stock (the
    unrestricted part first), as much as there is up to its daily rate."""
    recv = stocks.recv
    stock = stocks.stock
    buy = stocks.buy
    recv_civ = stocks.recv_civ
    ring_civ = ship.ring_civ
    spile = stocks.spile
    release = stocks.release
    ring = ship.ring
    pipe = ship.pipe
    arrivals = ship.arrivals
    o_spile_empty = acc.o_spile_empty
    R, P, M = recv.shape
    D = ring.shape[0]
    for r in range(R):
        for p in range(P):
            for m in range(M):
                if release[r, p, m] > 0.0 and spile[r, p, m] > 0.0:
                    a = min(release[r, p, m], spile[r, p, m])
                    spile[r, p, m] -= a
                    recv[r, p, m] += a
                    if spile[r, p, m] <= 1e-12 and np.isnan(o_spile_empty[r, p, m]):
                        o_spile_empty[r, p, m] = t  # how long the stockpile lasted
                b = buy[r, p, m]
                if b > 0.0:
                    a1 = min(b, stock[r, p, m])
                    a2 = min(b - a1, recv[r, p, m])
                    stock[r, p, m] -= a1
                    recv[r, p, m] -= a2
                    recv_civ[r, p, m] = min(recv_civ[r, p, m], recv[r, p, m])
                    spile[r, p, m] += a1 + a2
    slot = t & (D - 1)
    for p in range(P):
        for i in range(R):
            for m in range(M):
                a = ring[slot, p, i, m]
                arrivals[p, i, m] = a
                recv[i, p, m] += a
                pipe[p, i, m] = max(pipe[p, i, m] - a, 0.0)
                ring[slot, p, i, m] = 0.0
                recv_civ[i, p, m] += ring_civ[slot, p, i, m]
                ring_civ[slot, p, i, m] = 0.0


@kernel_jit(error_model="numpy", inline="always")
def import_needs(net: Any, par: Any, stocks: Any, market: Any, sec: Any, ship: Any, ctrl: Any, scr: Any) -> None:
    """Stage: every region orders each product up to a target inventory position.

    The position is what is on hand, in transit and held by the sectors that use it.  A
    pending licence is not counted: a buyer cannot know it will be granted, so what it lacks
    it seeks elsewhere meanwhile, and when a policy eases it orders what it still wants (use
    plus restocking), never a backlog of everything ordered while it waited.  Between a
    control's announcement and its effect, buyers from an announced route raise their target
    by ``buy_ahead_days`` of what they buy on that route, times the announced coverage.  Buyers
    who expect scarcity (``market.expect``, :func:`standoff.core.markets.expectations`) raise their
    inventory target (not the pipeline's) by up to ``precaution_max`` of normal.
    """
    c_ahead = ctrl.c_term[T_AHEAD]
    any_ahead = ctrl.flags[2] != 0
    recv = stocks.recv
    input_used = stocks.input_used
    prod_today = stocks.prod_today
    need = stocks.need
    pos_tgt = stocks.pos_tgt
    pipe = ship.pipe
    pipe0 = ship.pipe0
    req = sec.req
    ssum = sec.ssum
    sect_tgt = sec.sect_tgt
    pool_days = par.pool_days
    inv_adj = par.inv_adj
    g_maxord = par.maxord
    ahead_days = par.gp[I_AHEAD]
    precmax = par.gp[I_PRECMAX]
    expect = market.expect
    input_use0 = net.input_use0
    share0 = net.share0
    use0 = net.use0
    coef = net.coef
    crit = net.crit
    R, P, M = recv.shape
    S = crit.shape[0]
    use_now = scr.x[0]
    position = scr.x[1]
    target = scr.x[2]
    inv_tgt = scr.x[3]
    for i in range(R):
        for p in range(P):
            for m in range(M):
                use_now[m] = 0.0
                position[m] = recv[i, p, m] + input_used[i, p, m] + pipe[p, i, m]
                inv_tgt[m] = pool_days[m, p] * input_use0[i, p]
                target[m] = inv_tgt[m] + pipe0[p, i, m]
            if any_ahead:
                for e in range(R):
                    shu = share0[p, e, i] * use0[i, p]
                    if e == i or shu <= 0.0:
                        continue
                    for m in range(M):
                        target[m] += c_ahead[p, e, i, m] * ahead_days[m] * shu
            for s in range(S):
                if crit[s] == p:
                    for m in range(M):
                        use_now[m] += req[i, s, m]
                        position[m] += ssum[i, s, m]
                        target[m] += sect_tgt[i, s, m]
                        inv_tgt[m] += sect_tgt[i, s, m]
            for m in range(M):
                target[m] += precmax[m] * expect[i, p, m] * inv_tgt[m]  # + 0.0 without expected scarcity
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


@kernel_jit(error_model="numpy", inline="always")
def _chill(t: int, ctrl: Any, p: int, e: int, i: int, m: int) -> float:
    """The chill in force today on a route (:func:`standoff.core.controls.chill_now`)."""
    return chill_now(t, ctrl.c_term[T_CHILL, p, e, i, m], ctrl.c_term[T_CHILL_DAYS, p, e, i, m],
                     ctrl.au_since[p, e, i, m])


@kernel_jit(error_model="numpy", inline="always")
def ship_usual(t: int, net: Any, stocks: Any, market: Any, ship: Any, ctrl: Any, scr: Any) -> None:
    """Stage: round 1 of shipping, from each buyer's usual suppliers, under the controls in force.

    Every buyer of an exporter gets the same share of its order (pro rata to stock).  Free
    trade ships at once; under a quota the allowance ships and a share of the rest leaks
    through third countries; under a licence the uncovered share and the licensed contracts'
    share ship after customs inspection (``dinsp``) and a share of the rest leaks; a ban ships
    nothing.  What a buyer lacks today it tries to buy elsewhere (:func:`divert`).
    """
    stock = stocks.stock
    need = stocks.need
    shipped = ship.shipped
    unmet = ship.unmet
    ring = ship.ring
    pipe = ship.pipe
    dl = ship.dl
    dleak = ship.dleak
    dinsp = ship.dinsp
    tot_pe = ctrl.tot_pe
    ctl_pe = ctrl.ctl_pe
    frac_pe = ctrl.frac_pe
    c_mode = ctrl.c_mode
    c_quota = ctrl.c_quota
    c_leak = ctrl.c_term[T_LEAK]
    c_cover = ctrl.c_term[T_COVER]
    ct_ok = ctrl.ct_ok
    lic_route = ctrl.lic_route
    any_quota = ctrl.flags[1] != 0
    share0 = net.share0
    rt_p = net.rt_p
    rt_e = net.rt_e
    rt_i = net.rt_i
    flow0 = net.flow0
    R, P, M = stock.shape
    n_rt = rt_p.shape[0]
    x3 = scr.x[2]
    shipped[:] = 0.0
    ship.leaked[:] = 0.0
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
    for p in range(P):
        for e in range(R):
            for m in range(M):
                tp = tot_pe[p, e, m]
                frac_pe[p, e, m] = min(1.0, stock[e, p, m] / tp) if tp > 0.0 else frac_pe[p, e, m]
    for j in range(n_rt):
        p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
        sh = share0[p, e, i]
        sched_a = scr.x[0]
        sched_b = scr.x[1]
        sched_c = scr.x[4]
        sched_civ = scr.x[5]
        any_civ = False
        own = i == e
        lic_here = (not own) and lic_route[p, e, i]
        if any_quota:
            for m in range(M):
                x3[m] = quota_fill(c_quota[p, e, m], ctl_pe[p, e, m], frac_pe[p, e, m])
        for m in range(M):
            o = need[i, p, m] * sh
            q = o * frac_pe[p, e, m]
            md = c_mode[p, e, i, m]
            free = own or md == MODE_NONE
            licensed = (not free) and md == MODE_LICENCE
            if licensed:
                cv = c_cover[p, e, i, m]
                af = (1.0 - cv) * (1.0 - _chill(t, ctrl, p, e, i, m)) + cv * ct_ok[j, m]
            else:
                af = (x3[m] if any_quota else 1.0) if md == MODE_QUOTA else 0.0  # a ban ships nothing
            ok = q * af
            leak = (q - ok) * leak_share(c_leak[p, e, i, m], ctrl.c_term[T_LEAK_WEDGE, p, e, i, m],
                                         market.price[i, p, m], market.price[e, p, m])
            lcap = ctrl.c_term[T_LEAK_CAP, p, e, i, m]
            leak = min(leak, lcap * flow0[p, e, i]) if lcap < np.inf else leak
            live = o > 0.0
            sent = (q if free else ok + leak) if live else 0.0
            # Customs inspect every shipment of a product a control covers any of (a delay, not a
            # refusal); a licence control that covers nothing changes nothing.
            inspected = licensed and c_cover[p, e, i, m] > 0.0
            sched_a[m] = (q if free else (0.0 if inspected else ok)) if live else 0.0
            sched_b[m] = leak if (live and not free) else 0.0
            ship.leaked[p, e, i, m] = sched_b[m]
            sched_c[m] = ok if (live and inspected) else 0.0
            civ = q * c_cover[p, e, i, m] * ct_ok[j, m] * ctrl.c_term[T_SCREEN, p, e, i, m] if (live and inspected) else 0.0
            sched_civ[m] = civ
            any_civ = any_civ or civ > 0.0
            stock[e, p, m] = max(stock[e, p, m] - sent, 0.0)
            shipped[p, e, i, m] += sent
            unmet[p, i, m] += (o - sent) if live else 0.0
        schedule(ring, pipe, t, p, i, sched_a, dl[e, i])
        if not own:
            schedule(ring, pipe, t, p, i, sched_b, dleak[e, i])
        if lic_here:
            schedule(ring, pipe, t, p, i, sched_c, dinsp[e, i])
        if any_civ:
            tag(ship.ring_civ, t, p, i, sched_civ, dinsp[e, i])


@kernel_jit(error_model="numpy", inline="always")
def divert(t: int, stocks: Any, ship: Any, ctrl: Any, acc: Any, scr: Any) -> None:
    """Stage: round 2 of shipping: what buyers still lack they buy from any supplier with stock and
    no control on the route (a licence control that covers nothing is none); then each region's
    shipments of the day are totalled."""
    stock = stocks.stock
    shipped_prev = stocks.shipped_prev
    shipped = ship.shipped
    unmet = ship.unmet
    ring = ship.ring
    pipe = ship.pipe
    dl = ship.dl
    c_mode = ctrl.c_mode
    c_cover = ctrl.c_term[T_COVER]
    o_re = acc.o_re
    R, P, M = stock.shape
    active = scr.x[2]
    want = scr.x[3]
    fr = scr.x[4]
    qv = scr.x[5]
    for p in range(P):
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
            for m in range(M):
                want[m] = 0.0
            for i in range(R):
                if i == e:
                    continue
                for m in range(M):
                    u = unmet[p, i, m]
                    want[m] += u if (u > 0.0 and diverts_to(c_mode[p, e, i, m], c_cover[p, e, i, m],
                                                             _chill(t, ctrl, p, e, i, m))) else 0.0
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
                for m in range(M):
                    u = unmet[p, i, m]
                    open_ = diverts_to(c_mode[p, e, i, m], c_cover[p, e, i, m], _chill(t, ctrl, p, e, i, m))
                    qq = u * fr[m] if (fr[m] > 0.0 and u > 0.0 and open_) else 0.0
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


@kernel_jit(error_model="numpy", inline="always")
def book_material_trade(t: int, net: Any, ship: Any, ctrl: Any, market: Any, pol: Any, acc: Any, paths: Any) -> None:
    """Stage: the chokepoint's trade lost against the baseline, the export revenue it costs each
    side, and the rent a control creates; the daily imports, exports by exporter and by
    destination, and licence counts (what customs offices and licensing authorities publish) of
    the kept members.

    Export pain is revenue lost against the baseline's, net: what the tonnes still shipped fetch
    at today's prices (legal tonnes at the importer's price, leaked tonnes at the exporter's home
    price, what a transshipper pays) is set against the baseline's tonnes at the baseline price,
    over all of a side's routes, and only a net loss is pain (a controller that earns more than
    before feels none, but its gain does not offset other pains).  The rent (``o_rent``, by
    exporting region, :data:`standoff.layout.RENT_KINDS`): on a controlled route, exporters earn
    the importer's price over the home price plus the export tax on legal tonnes, the state
    earns the tax, traders the importer's price over the home price on leaked tonnes."""
    shipped = ship.shipped
    arrivals = ship.arrivals
    pain_today = pol.pain_today
    o_re = acc.o_re
    flow0 = net.flow0
    side = net.side
    price_t = net.price_t
    rt_p = net.rt_p
    rt_e = net.rt_e
    rt_i = net.rt_i
    P = flow0.shape[0]
    R = flow0.shape[1]
    M = shipped.shape[3]
    n_keep = paths.n
    tr_imports = paths.imports
    tr_exports = paths.exports
    tr_routes = paths.route_exports
    tr_leaked = paths.route_leaked
    leaked = ship.leaked
    tr_lic = paths.licences
    lic_n = ctrl.lic_n
    price = market.price
    c_mode = ctrl.c_mode
    c_tax = ctrl.c_term[T_TAX]
    o_rent = acc.o_rent
    for j in range(rt_p.shape[0]):
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
            lk = leaked[p, e, i, m]
            lg = shipped[p, e, i, m] - lk
            pi = price[i, p, m]
            pe = price[e, p, m]
            if se >= 0:
                pain_today[se, PK_EXPORTS, m] += (f0 - lg * pi - lk * pe) * pt * 1e-9
            tx = c_tax[p, e, i, m]
            if c_mode[p, e, i, m] != MODE_NONE:
                o_rent[e, 0, m] += lg * max(pi - pe * (1.0 + tx), 0.0) * pt * 1e-9
                o_rent[e, 2, m] += lk * max(pi - pe, 0.0) * pt * 1e-9
            if tx > 0.0:
                o_rent[e, 1, m] += lg * pe * tx * pt * 1e-9
    for sd in range(2):  # only a net loss is pain (today's export pain so far is this stage's alone)
        for m in range(M):
            pain_today[sd, PK_EXPORTS, m] = max(pain_today[sd, PK_EXPORTS, m], 0.0)
    for p in range(P):
        for i in range(R):
            for m in range(n_keep):
                tr_imports[m, t, p, i] = arrivals[p, i, m]
        # What each region ships abroad today (usual buyers, licences, leakage, diversion):
        # the series customs offices publish, so it can be set beside them.
        for e in range(R):
            for m in range(n_keep):
                xs = 0.0
                for i in range(R):
                    xs += shipped[p, e, i, m] if i != e else 0.0
                tr_exports[m, t, p, e] = xs
        for k in range(lic_n.shape[1]):
            for m in range(n_keep):
                tr_lic[m, t, p, k] = lic_n[p, k, m]
    # The export (FOB) price of each exporter: what today's shipments fetch at their destinations
    # (their price multiples weighted by the tonnes shipped to each); with nothing shipped, the
    # day before's.  Inside the exporter its own regional price is the domestic tier.
    tr_fob = paths.fob
    for p in range(P):
        for e in range(R):
            for m in range(n_keep):
                w = 0.0
                v = 0.0
                for i in range(R):
                    if i != e:
                        q = shipped[p, e, i, m]
                        w += q
                        v += q * price[i, p, m]
                prev = tr_fob[m, t - 1, p, e] if t > 0 else 1.0
                tr_fob[m, t, p, e] = v / w if w > 0.0 else prev
    # Exports by destination, route by route (the trading routes between two regions, in order).
    x = 0
    for j in range(rt_p.shape[0]):
        p = rt_p[j]; e = rt_e[j]; i = rt_i[j]
        if e == i:
            continue
        for m in range(n_keep):
            # The exporter's customs declare leaked tonnes to the third country they pass through,
            # not to the importer: they are its own series (route_transshipped_t).
            tr_routes[m, t, x] = shipped[p, e, i, m] - leaked[p, e, i, m]
            tr_leaked[m, t, x] = leaked[p, e, i, m]
        x += 1


# ---------------------------------------------------------------- stages of the day: goods trade

@kernel_jit(error_model="numpy", inline="always")
def trade_goods(net: Any, par: Any, goods: Any, pol: Any, acc: Any, scr: Any) -> None:
    """Stage: goods trade under tariffs and counter-measures, and the pain it causes each side.

    Each link's imports move toward what its tariff sustains over the trade adjustment time;
    buyers lose consumer surplus and pay a premium on what they buy elsewhere; exporters find
    other buyers for a share of lost sales over the same time, and the rest is their pain.
    Counter-measures block trade and cost the targeted side strategically.
    """
    tariff = goods.tariff
    tv = goods.tv
    cm_on = goods.cm_on
    gt_tau = goods.gt_tau
    gt_vstar = goods.gt_vstar
    gt_cs = goods.gt_cs
    gt_red = goods.gt_red
    pain_today = pol.pain_today
    o_goods = acc.o_goods
    gp = par.gp
    inv_tadj = par.inv_tadj
    g_prem = par.prem
    g_div = par.div
    trade_v0 = net.trade_v0
    tau0 = net.tau0
    side = net.side
    cm_imposer = net.cm_imposer
    cm_target = net.cm_target
    cm_group = net.cm_group
    cm_blocked = net.cm_blocked
    cm_mult = net.cm_mult
    gt_e = net.gt_e
    gt_i = net.gt_i
    gt_g = net.gt_g
    M = tv.shape[3]
    C = cm_blocked.shape[0]
    vstar = scr.x[0]
    for j in range(gt_e.shape[0]):
        e = gt_e[j]; i = gt_i[j]; gg = gt_g[j]
        v0 = trade_v0[e, i, gg]
        t0 = tau0[e, i, gg]
        for m in range(M):
            tau = tariff[e, i, gg, m]
            if tau != gt_tau[j, m]:  # the powers only change with the tariff
                gt_tau[j, m] = tau
                gt_vstar[j, m] = import_target(v0, tau, t0, gp[I_PT, m], gp[I_SIGMA, m])
                gt_cs[j, m] = buyer_loss(v0, tau, t0, gp[I_PT, m], gp[I_SIGMA, m], gp[I_DIV, m], 0.0, 0.0)
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
        redir = par.redir_cn if se == CN_SIDE else par.redir
        for m in range(M):
            tv[e, i, gg, m] += (vstar[m] - tv[e, i, gg, m]) * inv_tadj[m]
            lost = v0 - tv[e, i, gg, m]
            cost = gt_cs[j, m] + g_prem[m] * g_div[m] * max(lost, 0.0)
            if si >= 0:
                pain_today[si, PK_CONSUMERS, m] += cost * 1e-9
                o_goods[si, 0, m] += lost * 1e-9
            # Exporters find other buyers for a share of what they lose, over the time
            # trade takes to follow a tariff (goods made for one market are not sold in
            # another overnight); what they have not placed is their pain.
            red = gt_red[j, m]
            red += (max(lost, 0.0) * redir[m] - red) * inv_tadj[m]
            gt_red[j, m] = red
            if se >= 0 and lost > 0.0:
                pain_today[se, PK_EXPORTS, m] += max(lost - red, 0.0) * 1e-9
                o_goods[se, 1, m] += lost * 1e-9
    for c in range(C):
        st = side[cm_target[c]]
        if st >= 0:
            hit = cm_blocked[c] * cm_mult[c] * 1e-9
            for m in range(M):
                if cm_on[c, m] > 0.0:
                    pain_today[st, PK_STRATEGIC, m] += hit
