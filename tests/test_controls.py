"""The licence review handles any number of review stages, as the per-route reference does."""
import numpy as np
import pytest

from standoff.controls import MODE_BAN, MODE_LICENCE, MODE_NONE, MODE_QUOTA, process_licences
from standoff.reference import review_licences


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
        q, st = list(before_q[0, :, m]), before_stock[0, 0, m]
        ship = leaked = 0.0
        if sum(q) > 0.0:  # the reference reviews only routes with applications pending
            q, ship, leaked = review_licences(q, mode[0, 0, 1, m], appr[0, 0, 1, m], delay[0, 0, 1, m],
                                              leak[0, 0, 1, m], st)
            st = max(st - ship - leaked, 0.0)
        assert list(lq[0, :, m]) == q, m
        assert stock[0, 0, m] == st
        assert ring[2, 0, 1, m] == ship and ring[9, 0, 1, m] == leaked
        assert shipped[0, 0, 1, m] == ship + leaked
        assert pipe[0, 1, m] == ship + leaked
    assert (lq >= 0).all() and (stock >= 0).all()
