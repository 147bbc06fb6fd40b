"""Export controls: the licensing authority, coverage, the chill, leakage; the rules quotas and bans follow.

A control covers a share of a route's trade (by element content or grade).  Covered trade
needs a licence, and a licence is for a contract: each route's covered trade is split into
:data:`~standoff.layout.LICENCE_CONTRACTS` buyers who apply when they order.  Each exporter's
licensing authority starts deciding some time after a regime takes effect and decides at a
finite pace, pooled over its routes and in order when it is busy (priority, end users before
traders, first come); it grants or refuses, and a refused buyer tries again or leaves for good
(:func:`review_contracts`; a regime in force before the scenario starts warm).  A route ships
its uncovered share (held back for a while by the chill, :func:`chill_now`, while exporters
prove what they ship) and its licensed contracts' share of what buyers order today, after
customs inspection; a share of the rest leaks through third countries, growing with the price
wedge (:func:`leak_share`), and the rest stays with the exporter, while its buyers look
elsewhere.  The terms a scenario sets per route are the rows of :data:`standoff.layout.ROUTE_TERMS`.  Nothing is lost, and nothing ordered while waiting piles up: when
a policy eases, buyers order what they still want (use plus restocking), not a backlog.

What happens to the goods lives where they ship: :func:`standoff.core.trade.ship_usual` ships
the uncovered and licensed shares (after customs inspection, whose delay
``customs_inspection_days`` is set up with the transit times in
:func:`standoff.core.engine.set_steady_state`) and the leaked share; its twin is
:meth:`standoff.core.reference.Member.ship_usual`.
"""
from __future__ import annotations

import numpy as np
from typing import Any
from ._jit import kernel_jit

from ..layout import (CT_GRANTED, CT_LEFT, CT_NONE, CT_OUT, CT_PENDING, I_PATIENCE, I_REAPPLY,  # noqa: F401
                     I_VALIDITY, LK_APPLIED, LK_BACKLOG, LK_CANCELLED, LK_GRANTED, LK_LEFT, LK_PENDING, LK_REFUSED,
                     LK_WAITED, T_AGAIN, T_AHEAD, T_APPR, T_DELAY, T_OPEN, T_PRIO, T_RATE, T_RMIN, T_TRADER, T_WARM,
                     LEAK_EXTRA_DAYS, LICENCE_CONTRACTS, MODE_BAN, MODE_LICENCE, MODE_NONE, MODE_QUOTA, MODES,
                     STREAM_LICENCE)
from .rng import kernel_uniform


@kernel_jit(error_model="numpy")
def lead_days(lead: float, ring_days: int) -> int:
    """Whole days from shipment to arrival, at least one and within the arrival ring."""
    return min(max(int(lead + 0.5), 1), ring_days - 1)


@kernel_jit(error_model="numpy")
def schedule(ring: np.ndarray, pipe: np.ndarray, t: int, p: int, i: int, qty: np.ndarray,
             days: np.ndarray) -> None:
    """Put each member's ``qty`` into the arrival ring ``days`` ahead (both per member)."""
    D = ring.shape[0]  # a power of two, so the modulo is a mask
    M = qty.shape[0]
    d0 = days[0]
    same = True
    for m in range(M):
        if days[m] != d0:
            same = False
            break
    if same:  # every member has the same lead time on this route: one slot, a vector add
        sl = (t + d0) & (D - 1)
        for m in range(M):
            q = qty[m]
            q = q if q > 0.0 else 0.0
            ring[sl, p, i, m] += q
            pipe[p, i, m] += q
        return
    for m in range(M):
        q = qty[m]
        if q > 0.0:
            ring[(t + days[m]) & (D - 1), p, i, m] += q
            pipe[p, i, m] += q


@kernel_jit(error_model="numpy")
def tag(ring: np.ndarray, t: int, p: int, i: int, qty: np.ndarray, days: np.ndarray) -> None:
    """Mark ``qty`` of what :func:`schedule` put in the arrival ring as licensed for civilian end use
    only (``ring`` is ``Ship.ring_civ``; the pipeline already counts it)."""
    D = ring.shape[0]
    for m in range(qty.shape[0]):
        q = qty[m]
        if q > 0.0:
            ring[(t + days[m]) & (D - 1), p, i, m] += q


@kernel_jit(error_model="numpy", inline="always")
def _start_regime(t: int, j: int, m: int, first: int, seed: np.uint64, p: int, e: int, i: int, ctrl: Any,
                  validity: float) -> None:
    """A licence regime takes effect on route ``j`` for member ``m`` today.  Cold, the authority
    first decides ``authority_start_days`` later and the chill starts; warm (in force before the
    scenario starts), it is at work already and every buyer holds a licence with a remaining life
    drawn uniformly over its validity (assumption: in a settled regime refused buyers have left)."""
    c_term = ctrl.c_term
    NC = ctrl.ct_state.shape[1]
    if c_term[T_WARM, p, e, i, m] > 0.0:
        ctrl.au_open[p, e, i, m] = float(t)
        ctrl.au_since[p, e, i, m] = -np.inf
        for c in range(NC):
            u = kernel_uniform(seed, first + m, t, STREAM_LICENCE + 3 * (j * NC + c) + 2)
            ctrl.ct_state[j, c, m] = CT_GRANTED
            ctrl.ct_day[j, c, m] = t + u * validity
            ctrl.ct_since[j, c, m] = float(t)
    else:
        ctrl.au_open[p, e, i, m] = t + c_term[T_OPEN, p, e, i, m]
        ctrl.au_since[p, e, i, m] = float(t)


@kernel_jit(error_model="numpy", inline="always")
def _ready(t: int, d: float, since: float, lim: float) -> bool:
    """Whether a pending application's review is over: its drawn review time has passed, or the
    longest review now in force has (a faster regime speeds up what is pending)."""
    return t >= min(d, since + lim)


@kernel_jit(error_model="numpy", inline="always")
def _decide(t: int, j: int, c: int, m: int, first: int, seed: np.uint64, p: int, e: int, i: int, ctrl: Any,
            reapply: float, validity: float) -> None:
    """The authority decides contract ``c`` of route ``j``: granted with the approval share in
    force, for the licence's validity; or refused, and the buyer applies again after ``reapply``
    days with the route's ``reapply_share``, or leaves for other suppliers for good.  Draws are
    keyed by the application day: the same application gets the same decision whenever it is
    decided (common random numbers across terms)."""
    NC = ctrl.ct_state.shape[1]
    since = ctrl.ct_since[j, c, m]
    stream = STREAM_LICENCE + 3 * (j * NC + c)
    lic_n = ctrl.lic_n
    lic_n[p, LK_WAITED, m] += t - since
    if kernel_uniform(seed, first + m, int(since), stream + 1) < ctrl.c_term[T_APPR, p, e, i, m]:
        ctrl.ct_state[j, c, m] = CT_GRANTED
        ctrl.ct_day[j, c, m] = t + validity
        lic_n[p, LK_GRANTED, m] += 1.0
    else:
        lic_n[p, LK_REFUSED, m] += 1.0
        if kernel_uniform(seed, first + m, int(since), stream + 2) < ctrl.c_term[T_AGAIN, p, e, i, m]:
            ctrl.ct_state[j, c, m] = CT_OUT
            ctrl.ct_day[j, c, m] = t + reapply
        else:
            ctrl.ct_state[j, c, m] = CT_LEFT
            ctrl.ct_day[j, c, m] = np.inf
            lic_n[p, LK_LEFT, m] += 1.0


@kernel_jit(error_model="numpy")
def review_contracts(t: int, first: int, seed: np.uint64, ctrl: Any, need: np.ndarray, share0: np.ndarray,
                     rt_p: np.ndarray, rt_e: np.ndarray, rt_i: np.ndarray, patience: np.ndarray,
                     reapply: np.ndarray, validity: np.ndarray) -> None:
    """One day of the licensing authority on every licensed route, for a block of members.

    1. *Applications.*  A licence regime that takes effect on a route starts it
       (:func:`_start_regime`).  A contract whose licence expired, or whose buyer's wait to apply
       again is over, has no application; a buyer without one applies if it orders anything
       today, and its review takes a time drawn uniformly between the shortest review and the
       longest (the legal limit) in force.
    2. *Decisions.*  Each exporter's authority decides applications whose review is over (and
       whose route it has begun to decide, ``authority_start_days`` after the regime took effect),
       up to its capacity: each open route adds ``decision_rate`` of its contracts per week,
       pooled over the exporter's routes, the fraction left over carried to tomorrow (unused
       capacity is not banked).  When applications outnumber the capacity it decides them in
       order: lower ``priority`` first, a route's end users before its traders (the last
       ``trader_share`` of its contracts), then first come (application day, route, contract).
       With unlimited capacity and no start delay this is a review drawn between the shortest
       and the longest time: the idle authority.  A busy one overruns the legal limit, as the
       sources report (reviews of 60 and 90 days against 45 working days).
    3. *Waiting.*  A buyer whose application has waited ``patience`` days cancels it and applies
       again after ``reapply`` (losing its place).

    ``ct_ok[j, m]`` is the share of route ``j``'s contracts licensed at the end of the day, and
    ``ct_seen`` the share of its applicants (every contract with an application, a licence, a
    refusal or a buyer gone) licensed: what buyers see of the regime (-1 while nobody has applied);
    ``lic_n`` counts the day's licence events (``LICENCE_KINDS``).  Draws are counter-based
    (member, application day, route, contract), so a member's licences do not depend on the
    block it runs in.
    """
    ct_state = ctrl.ct_state
    ct_day = ctrl.ct_day
    ct_since = ctrl.ct_since
    c_mode = ctrl.c_mode
    c_term = ctrl.c_term
    au_open = ctrl.au_open
    lic_n = ctrl.lic_n
    NC = ct_state.shape[1]
    M = ct_state.shape[2]
    R = c_mode.shape[1]
    n_rt = rt_p.shape[0]
    lic_n[:] = 0.0
    inv_nc = 1.0 / NC
    for e in range(R):
        any_here = False
        for j in range(n_rt):
            if rt_e[j] == e and rt_i[j] != e and ctrl.lic_route[rt_p[j], e, rt_i[j]]:
                any_here = True
        if not any_here:
            continue
        for m in range(M):
            # 1. applications (and regimes that start or end today)
            cap = ctrl.au_carry[e, m]
            n_ready = 0
            for j in range(n_rt):
                i = rt_i[j]
                if rt_e[j] != e or i == e:
                    continue
                p = rt_p[j]
                if c_mode[p, e, i, m] != MODE_LICENCE:
                    continue
                if au_open[p, e, i, m] < 0.0:
                    _start_regime(t, j, m, first, seed, p, e, i, ctrl, validity[m])
                wants = need[i, p, m] * share0[p, e, i] > 0.0
                lim = c_term[T_DELAY, p, e, i, m]
                lo = min(c_term[T_RMIN, p, e, i, m], lim)
                is_open = t >= au_open[p, e, i, m]
                if is_open:
                    cap += c_term[T_RATE, p, e, i, m] * NC / 7.0
                for c in range(NC):
                    st = ct_state[j, c, m]
                    if (st == CT_GRANTED or st == CT_OUT) and t >= ct_day[j, c, m]:
                        st = CT_NONE
                        ct_state[j, c, m] = st
                    if st == CT_NONE and wants:
                        u = kernel_uniform(seed, first + m, t, STREAM_LICENCE + 3 * (j * NC + c))
                        ct_state[j, c, m] = CT_PENDING
                        ct_since[j, c, m] = float(t)
                        ct_day[j, c, m] = t + lo + u * (lim - lo)
                        lic_n[p, LK_APPLIED, m] += 1.0
                        st = CT_PENDING
                    if st == CT_PENDING and is_open and _ready(t, ct_day[j, c, m], ct_since[j, c, m], lim):
                        n_ready += 1
            if n_ready == 0:
                ctrl.au_carry[e, m] = 0.0
                continue
            # 2. decisions: all that are ready, or as many as the capacity allows, in order
            if cap >= n_ready:
                for j in range(n_rt):
                    i = rt_i[j]
                    p = rt_p[j]
                    if rt_e[j] != e or i == e or c_mode[p, e, i, m] != MODE_LICENCE or t < au_open[p, e, i, m]:
                        continue
                    lim = c_term[T_DELAY, p, e, i, m]
                    for c in range(NC):
                        if ct_state[j, c, m] == CT_PENDING and _ready(t, ct_day[j, c, m], ct_since[j, c, m], lim):
                            _decide(t, j, c, m, first, seed, p, e, i, ctrl, reapply[m], validity[m])
                ctrl.au_carry[e, m] = 0.0
                continue
            k = int(cap)
            ctrl.au_carry[e, m] = cap - k
            for _ in range(k):
                best_j = -1
                best_c = -1
                best_key = np.inf
                best_since = np.inf
                for j in range(n_rt):
                    i = rt_i[j]
                    p = rt_p[j]
                    if rt_e[j] != e or i == e or c_mode[p, e, i, m] != MODE_LICENCE or t < au_open[p, e, i, m]:
                        continue
                    lim = c_term[T_DELAY, p, e, i, m]
                    n_end_users = NC - int(c_term[T_TRADER, p, e, i, m] * NC + 0.5)
                    for c in range(NC):
                        if ct_state[j, c, m] != CT_PENDING or not _ready(t, ct_day[j, c, m], ct_since[j, c, m], lim):
                            continue
                        key = c_term[T_PRIO, p, e, i, m] + (0.5 if c >= n_end_users else 0.0)
                        since = ct_since[j, c, m]
                        if key < best_key or (key == best_key and since < best_since):
                            best_key = key
                            best_since = since
                            best_j = j
                            best_c = c
                _decide(t, best_j, best_c, m, first, seed, rt_p[best_j], e, rt_i[best_j], ctrl, reapply[m],
                        validity[m])
    # 3. buyers who stop waiting; what is pending and ready but undecided; the licensed shares
    for j in range(n_rt):
        p = rt_p[j]
        e = rt_e[j]
        i = rt_i[j]
        if e == i or not ctrl.lic_route[p, e, i]:
            continue
        for m in range(M):
            if c_mode[p, e, i, m] != MODE_LICENCE:
                continue
            lim = c_term[T_DELAY, p, e, i, m]
            n_ok = 0
            n_app = 0
            for c in range(NC):
                st = ct_state[j, c, m]
                if st == CT_PENDING and t - ct_since[j, c, m] >= patience[m]:
                    st = CT_OUT
                    ct_state[j, c, m] = st
                    ct_day[j, c, m] = t + reapply[m]
                    lic_n[p, LK_CANCELLED, m] += 1.0
                if st == CT_PENDING:
                    lic_n[p, LK_PENDING, m] += 1.0
                    if t >= au_open[p, e, i, m] and _ready(t, ct_day[j, c, m], ct_since[j, c, m], lim):
                        lic_n[p, LK_BACKLOG, m] += 1.0
                if st == CT_GRANTED:
                    n_ok += 1
                if st != CT_NONE:
                    n_app += 1
            ctrl.ct_ok[j, m] = n_ok * inv_nc
            ctrl.ct_seen[p, e, i, m] = n_ok / n_app if n_app > 0 else -1.0


@kernel_jit(error_model="numpy", inline="always")
def chill_now(t: int, chill: float, days: float, since: float) -> float:
    """Share of a licensed route's uncovered trade held back today: exporters of goods the new rules
    may cover stop until they can show what they ship (composition analyses, safety data sheets),
    ``chill`` at the regime's start (``since``), fading linearly to nothing over ``days``."""
    if days <= 0.0 or chill <= 0.0:
        return 0.0
    return chill * max(0.0, 1.0 - (t - since) / days)


@kernel_jit(error_model="numpy", inline="always")
def leak_share(leak: float, full_wedge: float, p_importer: float, p_exporter: float) -> float:
    """Share of what a control holds back that leaks through third countries today: smuggling
    and transshipment pay when the importer's price is above the exporter's, so the share grows
    in proportion to that wedge up to ``leak`` at ``full_wedge`` (0: ``leak`` at once).  A later
    event with a lower ``leakage`` is enforcement tightening."""
    if full_wedge <= 0.0:
        return leak
    w = p_importer / p_exporter - 1.0 if p_exporter > 0.0 else 0.0
    return leak * min(1.0, max(w, 0.0) / full_wedge)


@kernel_jit(error_model="numpy", inline="always")
def quota_fill(quota_per_year: float, orders: float, frac: float) -> float:
    """Share of today's orders under an exporter's quota that the quota lets through: its daily
    allowance over the orders the exporter can serve (``orders`` times ``frac``, the share its
    stock covers), at most one; one when nothing is ordered under it.  Shipping applies it
    (:func:`standoff.core.trade.ship_usual`), and buyers fear the rest
    (:func:`standoff.core.markets.expectations`)."""
    if orders <= 0.0:
        return 1.0
    return min(1.0, (quota_per_year / 365.0) / max(orders * frac, 1e-300))


@kernel_jit(error_model="numpy", inline="always")
def diverts_to(mode: int, cover: float, chill: float) -> bool:
    """Whether buyers short elsewhere can buy on a route: no control, or a licence control that
    covers nothing and no longer chills its exporters (round 2 of shipping,
    :func:`standoff.core.trade.divert`)."""
    return mode == MODE_NONE or (mode == MODE_LICENCE and cover <= 0.0 and chill <= 0.0)


@kernel_jit(error_model="numpy", inline="always")
def refresh_control_flags(ctrl: Any) -> None:
    """Stage: after the timeline changed a control, note which routes any member licenses.

    ``lic_route[p, e, i]``: some member has a licence control on that route; ``flags[1]``: some
    route is under a quota; ``flags[2]``: some route is announced (buyers buy ahead).  The
    ordering and shipping stages skip the licence and quota arithmetic where nobody needs it.
    """
    flags = ctrl.flags
    if flags[0] == 0:
        return
    c_mode = ctrl.c_mode
    lic_route = ctrl.lic_route
    c_ahead = ctrl.c_term[T_AHEAD]
    P, R = c_mode.shape[0], c_mode.shape[1]
    M = c_mode.shape[3]
    lic_route[:] = False
    any_quota = False
    any_ahead = False
    for p in range(P):
        for e in range(R):
            for i in range(R):
                for m in range(M):
                    md = c_mode[p, e, i, m]
                    if e != i and md == MODE_LICENCE:
                        lic_route[p, e, i] = True
                    if e != i and md == MODE_QUOTA:
                        any_quota = True
                    if e != i and c_ahead[p, e, i, m] > 0.0:
                        any_ahead = True
    flags[1] = 1 if any_quota else 0
    flags[2] = 1 if any_ahead else 0
    flags[0] = 0


@kernel_jit(error_model="numpy", inline="always")
def review_licences(t: int, first: int, seed: np.uint64, net: Any, par: Any, stocks: Any, ctrl: Any) -> None:
    """Stage: licence review, contract by contract, on every licensed route
    (:func:`review_contracts`); shipping then sends what each route's licences allow."""
    gp = par.gp
    review_contracts(t, first, seed, ctrl, stocks.need, net.share0, net.rt_p, net.rt_e, net.rt_i, gp[I_PATIENCE],
                     gp[I_REAPPLY], gp[I_VALIDITY])
