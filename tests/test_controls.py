"""The licence review handles any number of review stages, as the per-route reference does."""
import numpy as np
import pytest

from standoff.controls import MODE_BAN, MODE_LICENCE, MODE_NONE, MODE_QUOTA, process_licences


def review_one(queue, mode, appr, delay, leak, stock):
    """One route and member, written as standoff.reference writes it (a list per queue)."""
    K = len(queue)
    q = list(queue)
    pending = 0.0
    for x in q:
        pending += x
    if pending <= 0.0:
        return q, 0.0, 0.0, stock
    if mode in (MODE_BAN, MODE_QUOTA):
        return [0.0] * K, 0.0, 0.0, stock
    if mode == MODE_NONE:
        decided, a = pending, 1.0
        q = [0.0] * K
    else:
        rate = 1.0 if delay <= 0.0 else min(1.0, K / delay)
        decided = q[K - 1] * rate
        for j in range(K - 1, 0, -1):
            move = q[j - 1] * rate
            q[j] += move
            q[j - 1] -= move
        q[K - 1] -= decided
        a = appr
    approved = decided * a
    ship = min(approved, stock)
    if approved > ship:
        q[K - 1] += approved - ship
    leaked = min(decided * (1.0 - a) * leak, max(stock - ship, 0.0)) if mode == MODE_LICENCE else 0.0
    return q, ship, leaked, max(stock - ship - leaked, 0.0)


@pytest.mark.parametrize("K", [1, 2, 3, 5])
def test_any_number_of_review_stages_matches_the_reference(K):
    rng = np.random.default_rng(K)
    M, R, P, D = 64, 2, 1, 16
    lq = rng.uniform(0, 10, (1, K, M)) * (rng.uniform(size=(1, K, M)) > 0.2)
    lq[0, :, :4] = 0.0  # some members have nothing pending
    mode = np.zeros((P, R, R, M), dtype=np.int64)
    mode[0, 0, 1] = rng.choice([MODE_NONE, MODE_LICENCE, MODE_LICENCE, MODE_QUOTA, MODE_BAN], M)
    appr = rng.uniform(0, 1, (P, R, R, M))
    delay = rng.choice([0.0, 2.0, 30.0, 63.0], (P, R, R, M))
    leak = rng.uniform(0, 0.3, (P, R, R, M))
    stock = rng.uniform(0, 8, (R, P, M))
    ring = np.zeros((D, P, R, M))
    pipe = np.zeros((P, R, M))
    shipped = np.zeros((P, R, R, M))
    dl = np.full((R, R, M), 2, dtype=np.int64)
    dleak = np.full((R, R, M), 9, dtype=np.int64)
    before_q, before_stock = lq.copy(), stock.copy()
    process_licences(lq, mode, appr, delay, leak, stock, ring, pipe, shipped, dl, dleak, 0,
                     np.array([0]), np.array([0]), np.array([1]), np.zeros(M), np.zeros(M), np.zeros((K, M)))
    for m in range(M):
        q, ship, leaked, st = review_one(list(before_q[0, :, m]), mode[0, 0, 1, m], appr[0, 0, 1, m],
                                         delay[0, 0, 1, m], leak[0, 0, 1, m], before_stock[0, 0, m])
        assert list(lq[0, :, m]) == q, m
        assert stock[0, 0, m] == st
        assert ring[2, 0, 1, m] == ship and ring[9, 0, 1, m] == leaked
        assert shipped[0, 0, 1, m] == ship + leaked
        assert pipe[0, 1, m] == ship + leaked
    assert (lq >= 0).all() and (stock >= 0).all()
