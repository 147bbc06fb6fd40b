"""Licences for contracts (standoff.core.controls.review_contracts): review times, grants, refusals,
buyers who give up, licences that stay valid, and supply that comes back in steps."""
import numpy as np

from standoff.core.controls import MODE_LICENCE, MODE_NONE, review_contracts
from standoff.layout import CT_GRANTED, CT_NONE, CT_OUT, CT_PENDING, LICENCE_CONTRACTS

NC = LICENCE_CONTRACTS


class Route:
    """One licensed route (product 0 from region 0 to region 1) for ``M`` members."""

    def __init__(self, M=64, appr=1.0, rmin=7.0, rmax=63.0, patience=1e9, reapply=30.0, validity=365.0,
                 need=1.0, seed=11):
        self.M = M
        self.ct_state = np.zeros((1, NC, M), dtype=np.int64)
        self.ct_day = np.zeros((1, NC, M))
        self.ct_since = np.zeros((1, NC, M))
        self.ct_ok = np.zeros((1, M))
        self.lic_n = np.zeros((1, 5, M))
        self.mode = np.full((1, 2, 2, M), MODE_NONE, dtype=np.int64)
        self.mode[0, 0, 1] = MODE_LICENCE
        self.appr = np.full((1, 2, 2, M), appr)
        self.rmax = np.full((1, 2, 2, M), rmax)
        self.rmin = np.full((1, 2, 2, M), rmin)
        self.need = np.full((2, 1, M), need)
        self.share = np.zeros((1, 2, 2))
        self.share[0, 0, 1] = 1.0
        self.lic = np.zeros((1, 2, 2), dtype=np.bool_)
        self.lic[0, 0, 1] = True
        self.patience = np.full(M, patience)
        self.reapply = np.full(M, reapply)
        self.validity = np.full(M, validity)
        self.seed = np.uint64(seed)
        self.ct_next = np.zeros((1, 3, M))

    def day(self, t):
        review_contracts(t, 0, self.seed, self.ct_state, self.ct_day, self.ct_since, self.ct_ok, self.lic_n,
                         self.mode, self.appr, self.rmax, self.rmin, self.need, self.share, np.array([0]),
                         np.array([0]), np.array([1]), self.lic, self.patience, self.reapply, self.validity,
                         self.ct_next)
        return self.ct_ok[0].copy(), self.lic_n[0].copy()


def test_reviews_take_between_the_shortest_and_the_longest_time():
    r = Route(appr=1.0, rmin=7.0, rmax=63.0)
    first_grant = np.full((NC, r.M), np.nan)
    for t in range(80):
        r.day(t)
        newly = (r.ct_state[0] == CT_GRANTED) & np.isnan(first_grant)
        first_grant[newly] = t
    assert not np.isnan(first_grant).any()
    assert first_grant.min() >= 7 and first_grant.max() <= 63
    assert first_grant.std() > 5  # drawn, not one number


def test_supply_comes_back_in_steps_as_each_buyers_licence_arrives():
    r = Route(appr=1.0)
    oks = np.array([r.day(t)[0] for t in range(70)])
    assert np.allclose(oks * NC, np.round(oks * NC))  # multiples of one contract
    assert (np.diff(oks, axis=0) >= 0).all()  # with approval 1 and no expiry, never down
    assert oks[0].max() == 0.0 and oks[-1].min() == 1.0
    # members' paths differ: licences are per contract, not one smooth share
    assert len({tuple(oks[:, m]) for m in range(r.M)}) > r.M // 2


def test_zero_review_and_full_approval_licenses_everything_the_first_day():
    r = Route(appr=1.0, rmin=0.0, rmax=0.0)
    ok, n = r.day(5)
    assert (ok == 1.0).all() and (n[0] == NC).all() and (n[1] == NC).all() and (n[4] == 0).all()


def test_refused_buyers_apply_again_after_their_wait():
    r = Route(appr=0.0, rmin=0.0, rmax=0.0, reapply=30.0)
    _, n0 = r.day(0)
    assert (n0[2] == NC).all() and (r.ct_state[0] == CT_OUT).all()
    for t in range(1, 30):
        _, n = r.day(t)
        assert (n[0] == 0).all()
    _, n30 = r.day(30)
    assert (n30[0] == NC).all()  # everyone applies again on day 30


def test_buyers_who_wait_too_long_cancel():
    r = Route(appr=1.0, rmin=50.0, rmax=60.0, patience=20.0)
    cancelled = 0.0
    for t in range(40):
        _, n = r.day(t)
        cancelled += n[3].sum()
        assert (n[1] == 0).all()
    assert cancelled == NC * r.M


def test_granted_licences_stay_valid_when_the_terms_tighten():
    r = Route(appr=1.0, rmin=0.0, rmax=0.0, validity=100.0)
    r.day(0)
    r.appr[:] = 0.0
    r.rmax[:] = 63.0
    for t in range(1, 100):
        ok, _ = r.day(t)
        assert (ok == 1.0).all()
    ok, n = r.day(100)  # expired: the buyers apply again under the new terms
    assert (ok == 0.0).all() and (n[0] == NC).all()


def test_a_faster_regime_speeds_up_what_is_pending():
    r = Route(appr=1.0, rmin=60.0, rmax=90.0)
    r.day(0)
    assert (r.ct_state[0] == CT_PENDING).all()
    r.rmax[:] = 10.0  # a deal: every review within 10 days
    for t in range(1, 10):
        r.day(t)
    assert (r.ct_state[0] == CT_PENDING).all()
    ok, _ = r.day(10)
    assert (ok == 1.0).all()


def test_no_order_no_application():
    r = Route(need=0.0)
    _, n = r.day(0)
    assert (n == 0).all() and (r.ct_state[0] == CT_NONE).all()


def test_counts_add_up_and_states_are_valid():
    r = Route(appr=0.4, rmin=3.0, rmax=40.0, patience=30.0, reapply=10.0, validity=60.0)
    applied = decided = 0.0
    for t in range(200):
        ok, n = r.day(t)
        applied += n[0].sum()
        decided += n[1].sum() + n[2].sum() + n[3].sum()
        pending = (r.ct_state[0] == CT_PENDING).sum()
        assert n[4].sum() == pending
        assert applied - decided == pending
        assert ((ok >= 0) & (ok <= 1)).all()
        assert set(np.unique(r.ct_state)) <= {CT_NONE, CT_PENDING, CT_GRANTED, CT_OUT}


def test_the_same_seed_gives_the_same_licences_and_another_seed_others():
    a, b, c = Route(seed=1), Route(seed=1), Route(seed=2)
    pa = np.array([a.day(t)[0] for t in range(70)])
    pb = np.array([b.day(t)[0] for t in range(70)])
    pc = np.array([c.day(t)[0] for t in range(70)])
    assert np.array_equal(pa, pb) and not np.array_equal(pa, pc)


def test_the_skip_cache_changes_nothing():
    """Days on which no contract can change are skipped; the same route with the cache cleared every
    day (so nothing is skipped) goes through the same states and counts."""
    a = Route(appr=0.4, rmin=3.0, rmax=40.0, patience=30.0, reapply=10.0, validity=60.0)
    b = Route(appr=0.4, rmin=3.0, rmax=40.0, patience=30.0, reapply=10.0, validity=60.0)
    for t in range(250):
        if t == 120:
            for r in (a, b):
                r.rmax[:] = 15.0  # a deal shortens the longest review
        b.ct_next[:] = 0.0
        oa, na = a.day(t)
        ob, nb = b.day(t)
        assert np.array_equal(oa, ob) and np.array_equal(na, nb), t
        assert np.array_equal(a.ct_state, b.ct_state) and np.array_equal(a.ct_day, b.ct_day)
