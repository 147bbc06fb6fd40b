"""Export controls: licensing with an approval share and delays, quotas, bans, leakage.

A shipment requested under a control is split into an approved part, which leaves after
a licence delay drawn from a distribution, a leaked part, which reaches the buyer late
through third countries, and the rest, which stays with the exporter.  Nothing is lost.
"""
from __future__ import annotations

import numpy as np
from numba import njit

MODE_NONE, MODE_LICENCE, MODE_QUOTA, MODE_BAN = 0, 1, 2, 3
MODES = {"none": MODE_NONE, "licence": MODE_LICENCE, "quota": MODE_QUOTA, "ban": MODE_BAN}

#: Licence review is a queue of this many stages, each left at rate ``stages / delay``,
#: so the review time of an application is Erlang (gamma) distributed with the mean
#: delay of the control in force and a coefficient of variation of 1/sqrt(3) ~ 0.58
#: (assumption: shared data give only the 45-working-day limit and ">= 6 weeks").
#: When the delay or approval share changes, the queue already waiting feels it at once,
#: so a backlog clears quickly after a political deal.
LICENCE_STAGES = 3
#: Extra days a leaked shipment spends passing through a third country (assumption).
LEAK_EXTRA_DAYS = 30.0


@njit(cache=True, error_model="numpy", inline="always")
def schedule(ring: np.ndarray, pipe: np.ndarray, t: int, p: int, i: int, qty: float, lead: float) -> None:
    """Put ``qty`` into the arrival ring ``lead`` days ahead."""
    D = ring.shape[0]  # a power of two, so the modulo is a mask
    if qty <= 0.0:
        return
    d = min(max(int(lead + 0.5), 1), D - 1)
    ring[(t + d) & (D - 1), p, i] += qty
    pipe[p, i] += qty


@njit(cache=True, error_model="numpy")
def process_licences(lq: np.ndarray, mode: np.ndarray, appr: np.ndarray, delay: np.ndarray, leak: np.ndarray,
                     stock: np.ndarray, ring: np.ndarray, pipe: np.ndarray, shipped: np.ndarray,
                     lead: np.ndarray, t: int, rt_p: np.ndarray, rt_e: np.ndarray, rt_i: np.ndarray) -> None:
    """One day of licence review on every route.

    Applications move through the review stages; those decided today are approved at the
    route's approval share and shipped from the exporter's stock (what the stock cannot
    cover waits, approved, in the last stage).  A share ``leak`` of the refused quantity
    reaches the buyer through third countries.  When a control is lifted, everything
    pending is approved; under a ban everything pending is refused.
    """
    K = lq.shape[3]
    for j in range(rt_p.shape[0]):  # applications only exist on routes that carry trade
        p = rt_p[j]
        e = rt_e[j]
        i = rt_i[j]
        if e == i:
            continue
        pending = 0.0
        for k in range(K):
            pending += lq[p, e, i, k]
        if pending <= 0.0:
            continue
        m = mode[p, e, i]
        if m == MODE_BAN or m == MODE_QUOTA:
            for k in range(K):
                lq[p, e, i, k] = 0.0
            continue
        if m == MODE_NONE:
            decided = pending
            a = 1.0
            for k in range(K):
                lq[p, e, i, k] = 0.0
        else:
            rate = 1.0 if delay[p, e, i] <= 0.0 else min(1.0, K / delay[p, e, i])
            decided = lq[p, e, i, K - 1] * rate
            for k in range(K - 1, 0, -1):
                move = lq[p, e, i, k - 1] * rate
                lq[p, e, i, k] += move
                lq[p, e, i, k - 1] -= move
            lq[p, e, i, K - 1] -= decided
            a = appr[p, e, i]
        approved = decided * a
        ship = min(approved, stock[e, p])
        if approved > ship:
            lq[p, e, i, K - 1] += approved - ship
        refused_leak = 0.0
        if m == MODE_LICENCE:
            refused_leak = min(decided * (1.0 - a) * leak[p, e, i], max(stock[e, p] - ship, 0.0))
        schedule(ring, pipe, t, p, i, ship, lead[e, i])
        schedule(ring, pipe, t, p, i, refused_leak, lead[e, i] + LEAK_EXTRA_DAYS)
        stock[e, p] = max(stock[e, p] - ship - refused_leak, 0.0)
        shipped[p, e, i] += ship + refused_leak
