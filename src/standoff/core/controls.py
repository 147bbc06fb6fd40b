"""Export controls: licences for contracts and coverage; the rules that quotas, bans and leakage follow.

A control covers a share of a route's trade (by element content or grade).  Covered trade
needs a licence, and a licence is for a contract: each route's covered trade is split into
:data:`~standoff.layout.LICENCE_CONTRACTS` buyers, each applying, waiting, being granted or
refused, giving up and applying again (:func:`review_contracts`).  A route ships its uncovered
share and its licensed contracts' share of what buyers order today, after customs inspection;
a share of the rest leaks through third countries and the rest stays with the exporter, while
its buyers look elsewhere.  Nothing is lost, and nothing ordered while waiting piles up: when
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

from ..layout import (CT_GRANTED, CT_NONE, CT_OUT, CT_PENDING, I_PATIENCE, I_REAPPLY, I_VALIDITY,  # noqa: F401
                     T_AHEAD, T_APPR, T_DELAY, T_RMIN,
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
def review_contracts(t: int, first: int, seed: np.uint64, ct_state: np.ndarray, ct_day: np.ndarray,
                     ct_since: np.ndarray, ct_ok: np.ndarray, lic_n: np.ndarray, mode: np.ndarray, appr: np.ndarray,
                     rmax: np.ndarray, rmin: np.ndarray, need: np.ndarray, share0: np.ndarray, rt_p: np.ndarray,
                     rt_e: np.ndarray, rt_i: np.ndarray, lic_route: np.ndarray, patience: np.ndarray,
                     reapply: np.ndarray, validity: np.ndarray, ct_next: np.ndarray) -> None:
    """One day of licence review on every licensed route, contract by contract, for a block of members.

    A contract whose licence expired or whose buyer's wait to apply again is over has no
    application; a buyer without one applies if it orders anything today, and its review takes
    a time drawn uniformly between the shortest review and the longest (the legal limit) in
    force.  A review that ends (or passes the longest review now in force: a faster regime
    speeds up what is pending) is granted with the approval share in force, for the licence's
    validity, or refused, and the buyer applies again after ``reapply`` days.  A buyer whose
    application has waited ``patience`` days cancels it and applies again after ``reapply``.
    ``ct_ok[j, m]`` is the share of route ``j``'s contracts licensed at the end of the day;
    ``lic_n`` counts today's applications, grants, refusals, cancellations and what is pending.
    ``ct_next[j, 0..2, m]`` caches, per route and member, the first day any contract can change,
    the longest review it was computed under and the number pending: until that day (and while
    the longest review is unchanged) the contracts are left as they are, which changes nothing.
    Draws are counter-based (member, application day, route, contract), so a member's licences
    do not depend on the block it runs in, and one application gets the same review draw and
    decision under any terms (a longer review decides it later, not differently).
    """
    NC = ct_state.shape[1]
    M = ct_state.shape[2]
    lic_n[:] = 0.0
    inv_nc = 1.0 / NC
    for j in range(rt_p.shape[0]):
        p = rt_p[j]
        e = rt_e[j]
        i = rt_i[j]
        if e == i or not lic_route[p, e, i]:
            continue
        sh = share0[p, e, i]
        for m in range(M):
            if mode[p, e, i, m] != MODE_LICENCE:
                continue
            lim = rmax[p, e, i, m]
            if t < ct_next[j, 0, m] and lim == ct_next[j, 1, m]:
                lic_n[p, 4, m] += ct_next[j, 2, m]  # nothing can change today
                continue
            wants = need[i, p, m] * sh > 0.0
            lo = min(rmin[p, e, i, m], lim)
            a = appr[p, e, i, m]
            n_ok = 0
            n_pend = 0.0
            nxt = np.inf
            for c in range(NC):
                st = ct_state[j, c, m]
                d = ct_day[j, c, m]
                since = ct_since[j, c, m]
                stream = STREAM_LICENCE + 2 * (j * NC + c)
                if (st == CT_GRANTED or st == CT_OUT) and t >= d:
                    st = CT_NONE
                if st == CT_NONE and wants:
                    u = kernel_uniform(seed, first + m, t, stream)
                    st = CT_PENDING
                    since = float(t)
                    d = t + lo + u * (lim - lo)
                    lic_n[p, 0, m] += 1.0
                if st == CT_PENDING:
                    if t >= min(d, since + lim):
                        # keyed by the application day: the same application gets the same
                        # decision whenever it is decided (common random numbers across terms)
                        u = kernel_uniform(seed, first + m, int(since), stream + 1)
                        if u < a:
                            st = CT_GRANTED
                            d = t + validity[m]
                            lic_n[p, 1, m] += 1.0
                        else:
                            st = CT_OUT
                            d = t + reapply[m]
                            lic_n[p, 2, m] += 1.0
                    elif t - since >= patience[m]:
                        st = CT_OUT
                        d = t + reapply[m]
                        lic_n[p, 3, m] += 1.0
                if st == CT_PENDING:
                    lic_n[p, 4, m] += 1.0
                    n_pend += 1.0
                    nxt = min(nxt, min(d, since + lim), since + patience[m])
                elif st == CT_NONE:
                    nxt = min(nxt, t + 1.0)  # applies as soon as it orders
                else:
                    nxt = min(nxt, d)
                if st == CT_GRANTED:
                    n_ok += 1
                ct_state[j, c, m] = st
                ct_day[j, c, m] = d
                ct_since[j, c, m] = since
            ct_ok[j, m] = n_ok * inv_nc
            ct_next[j, 0, m] = nxt
            ct_next[j, 1, m] = lim
            ct_next[j, 2, m] = n_pend


@kernel_jit(error_model="numpy", inline="always")
def diverts_to(mode: int, cover: float) -> bool:
    """Whether buyers short elsewhere can buy on a route: no control, or a licence control that
    covers nothing (round 2 of shipping, :func:`standoff.core.trade.divert`)."""
    return mode == MODE_NONE or (mode == MODE_LICENCE and cover <= 0.0)


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
    review_contracts(t, first, seed, ctrl.ct_state, ctrl.ct_day, ctrl.ct_since, ctrl.ct_ok, ctrl.lic_n, ctrl.c_mode,
                     ctrl.c_term[T_APPR], ctrl.c_term[T_DELAY], ctrl.c_term[T_RMIN], stocks.need, net.share0, net.rt_p, net.rt_e, net.rt_i,
                     ctrl.lic_route, gp[I_PATIENCE], gp[I_REAPPLY], gp[I_VALIDITY], ctrl.ct_next)
