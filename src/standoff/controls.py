"""Export controls: licensing with an approval share and delays, quotas, bans, leakage.

A shipment requested under a control is split into an approved part, which leaves after
a licence delay drawn from a distribution, a leaked part, which reaches the buyer late
through third countries, and the rest, which stays with the exporter.  Nothing is lost.
"""
from __future__ import annotations

import numpy as np
from typing import Any
from ._jit import kernel_jit

from .layout import (LEAK_EXTRA_DAYS, LICENCE_STAGES, MODE_BAN, MODE_LICENCE, MODE_NONE,  # noqa: F401 - re-exported
                     MODE_QUOTA, MODES)


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
def process_licences(lq: np.ndarray, mode: np.ndarray, appr: np.ndarray, delay: np.ndarray, leak: np.ndarray,
                     stock: np.ndarray, ring: np.ndarray, pipe: np.ndarray, shipped: np.ndarray,
                     dl: np.ndarray, dleak: np.ndarray, t: int, rt_p: np.ndarray, rt_e: np.ndarray,
                     rt_i: np.ndarray, q1: np.ndarray, q2: np.ndarray, nq: np.ndarray) -> None:
    """One day of licence review on every route, for a block of members.

    Applications (``lq[route, stage, member]``, any number of stages) move through the review
    stages; those decided today are approved at the route's approval share and shipped from
    the exporter's stock (what the stock cannot cover waits, approved, in the last stage).  A
    share ``leak`` of the refused quantity reaches the buyer through third countries.  When a
    control is lifted, everything pending is approved; under a ban or a quota everything
    pending is refused.  ``q1`` and ``q2`` are scratch of one value per member, ``nq`` of one
    value per stage and member.
    """
    K = lq.shape[1]
    M = lq.shape[2]
    for j in range(rt_p.shape[0]):  # applications only exist on routes that carry trade
        p = rt_p[j]
        e = rt_e[j]
        i = rt_i[j]
        if e == i:
            continue
        live = False
        for m in range(M):
            tot = 0.0
            for k in range(K):
                tot += lq[j, k, m]
            if tot > 0.0:
                live = True
                break
        if not live:
            continue
        # The review moves each stage on at the same rate, last stage first; nq holds the
        # new queue before the control in force decides what happens to it.
        for m in range(M):
            dd = delay[p, e, i, m]
            q1[m] = 1.0 if dd <= 0.0 else min(1.0, K / dd)  # the rate
            nq[K - 1, m] = lq[j, K - 1, m]
        for k in range(K - 1, 0, -1):
            for m in range(M):
                mv = lq[j, k - 1, m] * q1[m]
                nq[k, m] = nq[k, m] + mv
                nq[k - 1, m] = lq[j, k - 1, m] - mv
        for m in range(M):
            pending = 0.0
            for k in range(K):
                pending += lq[j, k, m]
            md = mode[p, e, i, m]
            act = pending > 0.0
            cleared = md == MODE_BAN or md == MODE_QUOTA  # everything pending is refused
            lifted = md == MODE_NONE                       # everything pending is approved
            review = md == MODE_LICENCE
            dec_r = lq[j, K - 1, m] * q1[m]
            n_last = nq[K - 1, m] - dec_r
            decided = pending if lifted else dec_r
            a = 1.0 if lifted else appr[p, e, i, m]
            approved = decided * a
            st = stock[e, p, m]
            ship = min(approved, st)
            back = approved - ship   # approved but not in stock: waits in the last stage
            last = (0.0 if lifted else n_last)
            last = last + back if approved > ship else last
            refused_leak = min(decided * (1.0 - a) * leak[p, e, i, m], max(st - ship, 0.0)) if review else 0.0
            moves = act and (lifted or review)
            for k in range(K - 1):
                lq[j, k, m] = lq[j, k, m] if not act else (0.0 if (cleared or lifted) else nq[k, m])
            lq[j, K - 1, m] = lq[j, K - 1, m] if not act else (0.0 if cleared else last)
            q1[m] = ship if moves else 0.0
            q2[m] = refused_leak if moves else 0.0
            stock[e, p, m] = max(st - ship - refused_leak, 0.0) if moves else st
            shipped[p, e, i, m] += (ship + refused_leak) if moves else 0.0
        schedule(ring, pipe, t, p, i, q1, dl[e, i])
        schedule(ring, pipe, t, p, i, q2, dleak[e, i])


@kernel_jit(error_model="numpy", inline="always")
def refresh_control_flags(ctrl: Any) -> None:
    """Stage: after the timeline changed a control, note which routes any member licenses.

    ``lic_in[p, i]``: some member has a licence control on a route into ``(p, i)``;
    ``lic_route[p, e, i]``: on that route; ``flags[1]``: some route is under a quota.  The
    ordering and shipping stages skip the licence and quota arithmetic where nobody needs it.
    """
    flags = ctrl.flags
    if flags[0] == 0:
        return
    c_mode = ctrl.c_mode
    lic_in = ctrl.lic_in
    lic_route = ctrl.lic_route
    P, R = c_mode.shape[0], c_mode.shape[1]
    M = c_mode.shape[3]
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
    flags[1] = 1 if any_quota else 0
    flags[0] = 0


@kernel_jit(error_model="numpy", inline="always")
def review_licences(t: int, net: Any, stocks: Any, ship: Any, ctrl: Any, scr: Any) -> None:
    """Stage: licence review on every route; decided applications ship if approved, from what
    the exporter has left after its domestic and uncontrolled customers (:func:`process_licences`)."""
    process_licences(ctrl.lq, ctrl.c_mode, ctrl.c_appr, ctrl.c_delay, ctrl.c_leak, stocks.stock, ship.ring,
                     ship.pipe, ship.shipped, ship.dl, ship.dleak, t, net.rt_p, net.rt_e, net.rt_i, scr.x[0],
                     scr.x[1], ctrl.lq_new)
