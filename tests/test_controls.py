"""The licensing authority (standoff.core.controls.review_contracts): review times, grants,
refusals, buyers who give up or leave, licences that stay valid, supply that comes back in steps,
and an authority with a start, a rate and an order."""
import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.core.controls import MODE_LICENCE, MODE_NONE, review_contracts
from standoff.layout import (CT_GRANTED, CT_LEFT, CT_NONE, CT_OUT, CT_PENDING, LICENCE_CONTRACTS, LICENCE_KINDS,
                             LK_APPLIED, LK_BACKLOG, LK_CANCELLED, LK_GRANTED, LK_LEFT, LK_PENDING, LK_REFUSED,
                             LK_WAITED, ROUTE_TERM_FREE, T_AGAIN, T_APPR, T_DELAY, T_OPEN, T_PRIO, T_RATE, T_RMIN,
                             T_TRADER, T_WARM, Ctrl)

NC = LICENCE_CONTRACTS


class Route:
    """Licensed routes of product 0 from region 0 to regions 1..K, for ``M`` members, driven day by
    day through the kernel's ``review_contracts`` (the authority is region 0's, shared by the K routes)."""

    def __init__(self, M=64, appr=1.0, rmin=7.0, rmax=63.0, patience=1e9, reapply=30.0, validity=365.0,
                 need=1.0, seed=11, K=1, **terms):
        R = K + 1
        self.M, self.K = M, K
        self.c_term = np.empty((len(ROUTE_TERM_FREE), 1, R, R, M))
        for k, v in enumerate(ROUTE_TERM_FREE):
            self.c_term[k] = v
        self.appr, self.rmax, self.rmin = self.c_term[T_APPR], self.c_term[T_DELAY], self.c_term[T_RMIN]
        self.appr[:], self.rmax[:], self.rmin[:] = appr, rmax, rmin
        index = {"open": T_OPEN, "rate": T_RATE, "prio": T_PRIO, "trader": T_TRADER, "again": T_AGAIN,
                 "warm": T_WARM}
        for name, val in terms.items():  # a number, or one per route
            self.c_term[index[name], 0, 0, 1:] = np.asarray(val, dtype=float).reshape(-1, 1) * np.ones((K, M)) \
                if np.ndim(val) else val
        mode = np.full((1, R, R, M), MODE_NONE, dtype=np.int64)
        mode[0, 0, 1:] = MODE_LICENCE
        share = np.zeros((1, R, R))
        share[0, 0, 1:] = 1.0
        self.share = share
        lic = np.zeros((1, R, R), dtype=np.bool_)
        lic[0, 0, 1:] = True
        self.need = np.full((R, 1, M), need)
        self.ctrl = Ctrl(mode, self.c_term, np.zeros((1, R, M)), np.zeros((K, NC, M), dtype=np.int64),
                         np.zeros((K, NC, M)), np.zeros((K, NC, M)), np.zeros((K, M)), np.full((1, R, R, M), -1.0),
                         np.full((1, R, R, M), -1.0), np.zeros((1, R, R, M)), np.zeros((R, M)), np.zeros((1, len(LICENCE_KINDS), M)),
                         np.zeros((1, R, M)), np.zeros((1, R, M)), np.zeros((1, R, M)), lic, np.zeros(3, np.int64))
        self.ct_state, self.ct_day = self.ctrl.ct_state, self.ctrl.ct_day
        self.mode = mode
        self.patience = np.full(M, patience)
        self.reapply = np.full(M, reapply)
        self.validity = np.full(M, validity)
        self.seed = np.uint64(seed)

    def day(self, t):
        review_contracts(t, 0, self.seed, self.ctrl, self.need, self.share, np.zeros(self.K, np.int64),
                         np.zeros(self.K, np.int64), np.arange(1, self.K + 1), self.patience, self.reapply,
                         self.validity)
        n = self.ctrl.lic_n[0].copy()
        return (self.ctrl.ct_ok[0].copy() if self.K == 1 else self.ctrl.ct_ok.copy()), n


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


def test_what_buyers_see_is_the_share_of_applicants_licensed():
    """``ct_seen``: -1 while nobody has applied; 0 while every application waits; the share of
    applicants holding a licence once decisions come (all of them with approval 1; with
    refusals, below 1, the buyers gone for good counted as refused)."""
    r = Route(appr=1.0, need=0.0)
    r.day(0)
    assert (r.ctrl.ct_seen[0, 0, 1] == -1.0).all()  # no order, no application, nothing seen
    r = Route(appr=1.0, rmin=7.0, rmax=63.0)
    r.day(0)
    assert (r.ctrl.ct_seen[0, 0, 1] == 0.0).all()
    for t in range(1, 70):
        ok, _ = r.day(t)
        assert np.allclose(r.ctrl.ct_seen[0, 0, 1], ok)  # everyone applied on day 0
    assert (r.ctrl.ct_seen[0, 0, 1] == 1.0).all()
    r = Route(appr=0.5, rmin=0.0, rmax=0.0, again=0.0)
    for t in range(5):
        ok, _ = r.day(t)
    seen = r.ctrl.ct_seen[0, 0, 1]
    assert np.allclose(seen, ok) and 0.2 < seen.mean() < 0.8  # the refused left: still applicants


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
        assert set(np.unique(r.ct_state)) <= {CT_NONE, CT_PENDING, CT_GRANTED, CT_OUT, CT_LEFT}


def test_the_same_seed_gives_the_same_licences_and_another_seed_others():
    a, b, c = Route(seed=1), Route(seed=1), Route(seed=2)
    pa = np.array([a.day(t)[0] for t in range(70)])
    pb = np.array([b.day(t)[0] for t in range(70)])
    pc = np.array([c.day(t)[0] for t in range(70)])
    assert np.array_equal(pa, pb) and not np.array_equal(pa, pc)


def test_the_authority_decides_nothing_before_it_starts():
    r = Route(appr=1.0, rmin=0.0, rmax=10.0, open=40.0)
    for t in range(40):
        ok, n = r.day(t)
        assert (ok == 0.0).all() and (n[LK_GRANTED] == 0).all(), t
    ok, n = r.day(40)  # every review is over by now: all decided on the first day
    assert (ok == 1.0).all()
    assert (n[LK_WAITED] == 40 * NC).all()  # each waited from day 0


def test_a_busy_authority_decides_no_more_than_its_capacity_and_keeps_a_backlog():
    rate = 0.25  # a quarter of the route's buyers a week: 2 contracts a week
    r = Route(appr=1.0, rmin=0.0, rmax=0.0, rate=rate)
    decided = np.zeros(r.M)
    for t in range(29):
        _, n = r.day(t)
        decided += n[LK_GRANTED] + n[LK_REFUSED]
        assert (decided <= rate * NC / 7.0 * (t + 1) + 1e-9).all()
        assert (decided >= np.floor(rate * NC / 7.0 * (t + 1) - 1e-9) - 1).all()  # and no fewer (rounding)
        assert (n[LK_BACKLOG] == n[LK_PENDING]).all()  # every review is over: all pending wait for the authority
    assert (decided == 8).all() and (n[LK_PENDING] == 0).all()  # 2 a week: the route's 8 buyers in 4 weeks


def test_busy_authorities_decide_in_order_priority_then_end_users_then_first_come():
    r = Route(M=8, appr=1.0, rmin=0.0, rmax=0.0, rate=[0.5, 0.5], prio=[1.0, 0.0], trader=[0.0, 0.5], K=2)
    order = []
    for t in range(60):
        before = r.ct_state.copy()
        r.day(t)
        for j, c in zip(*np.nonzero((before[:, :, 0] != CT_GRANTED) & (r.ct_state[:, :, 0] == CT_GRANTED))):
            order.append((t, int(j), int(c)))
    assert len(order) == 2 * NC
    day = {(j, c): t for t, j, c in order}
    # route 1 (priority 0) first: its end users (contracts 0-3) before its traders (4-7); then route 0
    assert max(day[(1, c)] for c in range(NC)) <= min(day[(0, c)] for c in range(NC))
    assert max(day[(1, c)] for c in range(NC // 2)) <= min(day[(1, c)] for c in range(NC // 2, NC))
    assert max(day.values()) > 7  # the capacity did bind


def test_a_refused_buyer_that_does_not_reapply_leaves_for_good():
    r = Route(appr=0.0, rmin=0.0, rmax=0.0, again=0.0)
    _, n = r.day(0)
    assert (n[LK_LEFT] == NC).all() and (r.ct_state == CT_LEFT).all()
    for t in range(1, 400):
        _, n = r.day(t)
        assert (n[LK_APPLIED] == 0).all()


def test_some_refused_buyers_try_again_as_the_reapply_share_says():
    r = Route(M=2000, appr=0.0, rmin=0.0, rmax=0.0, again=0.3)
    _, n = r.day(0)
    assert abs(n[LK_LEFT].sum() / (NC * r.M) - 0.7) < 0.02


def test_a_warm_start_holds_licences_that_expire_over_their_validity():
    r = Route(M=256, appr=0.0, rmin=0.0, rmax=0.0, validity=365.0, warm=1.0)
    ok, n = r.day(0)
    assert (ok == 1.0).all() and (n[LK_APPLIED] == 0).all()
    ends = r.ct_day[0]
    assert ends.min() > 0 and ends.max() < 365 and abs(ends.mean() - 182.5) < 10


@settings(max_examples=30, deadline=None)
@given(slow=st.floats(0.05, 2.0), faster=st.floats(1.0, 20.0), start=st.floats(0.0, 60.0),
       seed=st.integers(0, 2**31))
def test_an_authority_that_decides_faster_never_licenses_less_by_any_day(slow, faster, start, seed):
    """With approval 1 and buyers who wait, more capacity means at least as many licences every day,
    and the first licence no later."""
    a = Route(M=16, appr=1.0, rmin=7.0, rmax=63.0, rate=slow, open=start, seed=seed, K=2)
    b = Route(M=16, appr=1.0, rmin=7.0, rmax=63.0, rate=slow * faster, open=start, seed=seed, K=2)
    first_a = np.full(16, np.inf)
    first_b = np.full(16, np.inf)
    for t in range(200):
        oa, _ = a.day(t)
        ob, _ = b.day(t)
        assert (ob.sum(axis=0) >= oa.sum(axis=0)).all(), t
        first_a = np.where(np.isinf(first_a) & (oa.sum(axis=0) > 0), t, first_a)
        first_b = np.where(np.isinf(first_b) & (ob.sum(axis=0) > 0), t, first_b)
    assert (first_b <= first_a).all()


def test_counts_add_up_under_a_busy_authority():
    r = Route(appr=0.5, rmin=3.0, rmax=40.0, patience=45.0, reapply=10.0, validity=60.0, rate=0.3, open=20.0,
              again=0.5, K=2)
    applied = decided = 0.0
    for t in range(300):
        _, n = r.day(t)
        applied += n[LK_APPLIED].sum()
        decided += n[LK_GRANTED].sum() + n[LK_REFUSED].sum() + n[LK_CANCELLED].sum()
        pending = (r.ct_state == CT_PENDING).sum()
        assert n[LK_PENDING].sum() == pending and n[LK_BACKLOG].sum() <= pending
        assert applied - decided == pending
        assert n[LK_WAITED].sum() >= 0


def test_an_idle_authority_that_grants_everything_at_once_is_no_control():
    """Approval 1, coverage 1, no review, unlimited capacity, no start, no chill and no customs
    delay: every output is bit for bit that of no control (the licence counts apart, and the rent:
    it is booked on any route under a control, here the ~1e-16 wedges between regional prices that
    exist without one)."""
    from standoff.ensemble import plan, run_chunk

    from .conftest import control, make
    free = dict(approval=1.0, delay=0.0, review_min_days=0.0, coverage=1.0, leakage=0.0, authority_start_days=0.0,
                chill_share=0.0)
    common = dict(horizon_days=150, parameters={"customs_inspection_days": 0.0})
    sc_ctrl = make(events=[control(**free)], **common)
    sc_none = make(events=[], **common)
    a = run_chunk(plan(sc_ctrl), 0, 4, full_precision=True).arrays
    b = run_chunk(plan(sc_none), 0, 4, full_precision=True).arrays
    assert a["traj:licences"].sum() > 0  # the regime did run
    for key in b:
        if key in ("traj:licences", "inputs", "control_rent_usd_bn"):
            continue
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert np.abs(a["control_rent_usd_bn"]).max() < 1e-12 and not b["control_rent_usd_bn"].any()


def test_the_chill_holds_back_uncovered_trade_and_fades():
    from .conftest import control, run
    base = dict(approval=1.0, delay=0.0, coverage=0.0, products=["MAGNET"], destinations=["USA"])
    cold = run(events=[control(**base, chill_share=0.8, chill_days=40.0)], horizon_days=120)
    warm = run(events=[control(**base)], horizon_days=120)
    r = [str(x) for x in cold.ds.route.values].index("MAGNET CHN>USA")
    xc = cold.ds["route_exports_t"].isel(route=r).median("traj_member").values
    xw = warm.ds["route_exports_t"].isel(route=r).median("traj_member").values
    start = 31  # 1 February
    assert xc[start:start + 10].sum() < 0.5 * xw[start:start + 10].sum()
    assert np.allclose(xc[start + 45:start + 50].sum(), xw[start + 45:start + 50].sum(), rtol=0.5)


def test_an_authority_that_decides_faster_never_ships_less_by_any_day():
    """The same members under a slow and a fast authority (approval 1, buyers who wait): the
    controlled routes' cumulative exports are never lower with the fast one, on any day."""
    from standoff.ensemble import plan, run_chunk

    from .conftest import control, make
    terms = dict(approval=1.0, delay=63.0, review_min_days=7.0, coverage=1.0, authority_start_days=20.0,
                 destinations=["USA", "EU", "JPN"], products=["MAGNET"])
    runs = {}
    for rate in (0.1, 0.4):
        sc = make(events=[control(**terms, decision_rate=rate)], horizon_days=200, trajectories=8, members=8,
                  parameters={"licence_patience_days": 3000.0})
        runs[rate] = run_chunk(plan(sc), 0, 8, full_precision=True).arrays["traj:route_exports_t"]
    slow, fast = (np.cumsum(runs[r], axis=1) for r in (0.1, 0.4))  # [member, day, route]
    assert (fast.sum(axis=2) >= slow.sum(axis=2) - 1e-9).all()
    assert (fast.sum(axis=2)[:, -1] > slow.sum(axis=2)[:, -1]).all() or (fast > slow + 1e-6).any()


def test_a_regime_in_force_before_the_start_does_not_collapse_on_day_one():
    """gallium-ban-2024 starts inside the 2023 licences: buyers hold them, so few stop in the first
    months (a renewal that waits in review can); started cold, every importer applies on day one
    and a third of sectors outside the US stop within four months."""
    import standoff
    sc = standoff.load_scenario("gallium-ban-2024").with_(members=40, trajectories=0, horizon_days=150)
    warm = standoff.simulate(sc).ds["first_stockout_day"]
    events = [e.model_copy(update={"in_force_since": None}) if e.type == "export_control" else e
              for e in sc.events]
    cold = standoff.simulate(sc.with_(events=events)).ds["first_stockout_day"]
    outside = [r for r in sc.network().regions if r not in ("CHN", "USA")]  # the ban on the US starts in Dec
    early_warm = (warm.sel(region=outside) < 120).mean().item()  # stocks last about two months
    early_cold = (cold.sel(region=outside) < 120).mean().item()
    # warm, only a renewal that waits in review can stop a buyer early; cold, every buyer waits
    assert early_cold > 0.1 and early_warm < early_cold / 5, (early_warm, early_cold)


def test_leakage_grows_with_the_price_wedge():
    """No wedge, no leak; the share an event sets at the full wedge; in proportion in between."""
    from standoff.core.controls import leak_share
    assert leak_share(0.2, 0.0, 1.0, 1.0) == 0.2  # no wedge set: the full share at once
    assert leak_share(0.2, 1.0, 1.0, 1.0) == 0.0
    assert leak_share(0.2, 1.0, 0.8, 1.0) == 0.0  # cheaper outside: nothing to gain
    assert abs(leak_share(0.2, 1.0, 1.5, 1.0) - 0.1) < 1e-12
    assert leak_share(0.2, 1.0, 5.0, 1.0) == 0.2


def test_leaked_tonnes_are_declared_to_third_countries_not_the_importer():
    from .conftest import control, run
    res = run(events=[control(mode="ban", products=["MAGNET"], destinations=["USA"], leakage=0.3)], horizon_days=90)
    r = [str(x) for x in res.ds.route.values].index("MAGNET CHN>USA")
    declared = res.ds["route_exports_t"].isel(route=r).values[:, 40:]
    via = res.ds["route_transshipped_t"].isel(route=r).values[:, 40:]
    assert np.allclose(declared, 0.0) and via.sum() > 0  # banned: nothing declared to the US, some leaks
    cu = res.customs()
    assert "via third countries" in set(cu["destination"])


def test_transshipment_is_capped_by_its_capacity():
    """Leaked tonnes never exceed ``leakage_capacity`` times the route's normal daily trade, and a
    tighter capacity leaks less."""
    import standoff

    from .conftest import control, make
    ban = dict(mode="ban", products=["MAGNET"], destinations=["USA"], leakage=0.3)
    capped = standoff.simulate(make(events=[control(**ban, leakage_capacity=0.02)], horizon_days=90))
    free = standoff.simulate(make(events=[control(**ban)], horizon_days=90))
    net = capped.scenario.network()
    p, e, i = (net.products.index("MAGNET"), net.regions.index("CHN"), net.regions.index("USA"))
    flow0 = float(net.flows[p, e, i])
    r = [str(x) for x in capped.ds.route.values].index("MAGNET CHN>USA")
    via_c = capped.ds["route_transshipped_t"].isel(route=r).values
    via_f = free.ds["route_transshipped_t"].isel(route=r).values
    assert via_c.max() <= 0.02 * flow0 * (1 + 2.0 ** -12)  # daily paths keep 12 mantissa bits
    assert via_f.max() > 0.02 * flow0 and via_c.sum() < via_f.sum()


def test_screened_licences_starve_defense_not_civilian_users():
    """A licence regime that bars military end users: the same licences, the same members; the
    importer's first-claim (defense) sector may not draw the licensed tonnes, so it produces less
    and stops no later, while its civilian sectors lose no more.  (The US buys a sixth of its
    magnets outside China, several times what its defense uses, so the test closes those routes:
    with them open defense, drawing first on them, loses nothing either way.)"""
    import standoff

    from .conftest import control, make
    terms = dict(approval=0.6, delay=45.0, review_min_days=10.0, products=["HREO", "METAL", "MAGNET"],
                 destinations=["USA"])
    others = [control(exporter=e, mode="ban", products=["MAGNET"], destinations=["USA"]) for e in ("JPN", "OAS")]
    out = {}
    for screen in (0.0, 1.0):
        res = standoff.simulate(make(events=[control(**terms, military_screen=screen), *others], horizon_days=240,
                                     members=24, trajectories=0))
        out[screen] = res.ds
    lost0 = out[0.0]["units_lost"].sel(region="USA").mean("member")
    lost1 = out[1.0]["units_lost"].sel(region="USA").mean("member")
    assert float(lost1.sel(sector="defense")) > float(lost0.sel(sector="defense")) * 1.05 + 1e-9
    for s in lost0.sector.values:
        if s != "defense":
            assert float(lost1.sel(sector=s)) <= float(lost0.sel(sector=s)) * (1 + 1e-9), s
    d0 = out[0.0]["first_stockout_day"].sel(region="USA", sector="defense").fillna(1e9)
    d1 = out[1.0]["first_stockout_day"].sel(region="USA", sector="defense").fillna(1e9)
    assert (d1 <= d0).all()


def test_civilian_only_stock_is_never_more_than_the_stock():
    """The part of a region's receiving stock licensed for civilian use only stays between zero and
    that stock, day by day (reference member, screened licences, traders and producers drawing)."""
    from standoff.core.reference import actions_by_day, new_member
    from standoff.ensemble import plan

    from .conftest import control, make
    sc = make(events=[control(approval=0.8, delay=30.0, destinations=["USA", "JPN", "EU"], military_screen=1.0)],
              horizon_days=150, members=3, trajectories=0)
    pl = plan(sc)
    inputs = pl.draw(0, 3)
    by_day = actions_by_day(pl)
    seen = 0.0
    for member in range(3):  # whether a member's screened licences leave civilian-only stock is a draw
        m = new_member(pl, inputs, member, 0)
        for t in range(150):
            m.step(t, by_day.get(t, []))
            for row in m.h:
                for h in row:
                    assert -1e-12 <= h.recv_civ <= h.recv + 1e-9
                    seen = max(seen, h.recv_civ)
    assert seen > 0.0


def test_defense_draws_first_but_not_on_civilian_only_stock():
    """One region, one product, the first-claim sector and one other: of 10 t on hand, 8 t licensed
    for civilian use only, defense (pulling 5) gets the 2 t free of that, the other sector (pulling
    4) gets its 4 t from the civilian-only part, and 4 t stay, all civilian-only."""
    from standoff.core.production import allocate_to_sectors
    recv = np.array([[[10.0]]])
    civ = np.array([[[8.0]]])
    pull = np.array([[[5.0], [4.0]]])  # [region, sector, member]
    cpull = pull[:, :, None, :].copy()  # one firm each
    sinv = np.zeros((1, 2, 1, 1))
    allocate_to_sectors(recv, civ, pull, cpull, sinv, np.array([0, 0]), 0, np.zeros((4, 1)))
    assert sinv[0, :, 0, 0].tolist() == [2.0, 4.0]
    assert recv[0, 0, 0] == 4.0 and civ[0, 0, 0] == 4.0
    # without civilian-only stock, defense is served in full
    recv, civ, sinv = np.array([[[10.0]]]), np.zeros((1, 1, 1)), np.zeros((1, 2, 1, 1))
    allocate_to_sectors(recv, civ, pull, cpull, sinv, np.array([0, 0]), 0, np.zeros((4, 1)))
    assert sinv[0, :, 0, 0].tolist() == [5.0, 4.0]


def test_state_buying_holds_stock_off_the_market_and_raises_the_price():
    """China's state buys heavy oxides into its reserve: the same members, with and without; the
    material balance holds (tonnes move from producers into the stockpile, none made or lost),
    and China's heavy-oxide price peaks no lower.  (Not higher here: in baseline-2024 China's
    metal makers, the only users of its heavy oxides, have no margin at baseline prices, so they
    bid no more than the baseline price until their metal fetches more; what the reserve takes
    from stock does not stop their metal in 90 days.)"""
    import standoff

    from .conftest import make
    buy = [{"date": "2025-02-01", "type": "stockpile_buy", "region": "CHN", "product": "HREO", "tonnes_per_day": 20.0},
           {"date": "2025-05-01", "type": "stockpile_buy", "region": "CHN", "product": "HREO", "tonnes_per_day": 0.0}]
    a = standoff.simulate(make(events=buy, horizon_days=180, members=16, trajectories=0)).ds
    b = standoff.simulate(make(events=[], horizon_days=180, members=16, trajectories=0)).ds
    assert float(abs(a.material_balance_t).max()) < 1e-6 * 1e4
    pa = a.peak_price_multiple.sel(region="CHN", product="HREO")
    pb = b.peak_price_multiple.sel(region="CHN", product="HREO")
    assert (pa.values >= pb.values - 1e-9).all()


def test_importers_pay_at_least_what_their_supplier_gets_at_home_plus_the_tax():
    """China's state buys heavy oxides and China taxes their export: Other Asia (which buys all of
    its heavy oxides abroad) is asked at least China's price times one plus the tax while China
    legally ships to it.  The floor bounds the price's target, which the price follows at the
    price response (``price_response_days``), so once China has shipped every day for four of
    those, Other Asia's price is within 2% of the floor or above it; and it is higher than without
    the tax (the floor binds)."""
    import standoff

    from .conftest import control, make
    buy = {"date": "2025-02-01", "type": "stockpile_buy", "region": "CHN", "product": "HREO", "tonnes_per_day": 30.0}
    runs = {}
    for tax in (0.0, 0.5):
        ev = [buy, control(approval=1.0, delay=0.0, products=["HREO"], export_tax=tax)]
        runs[tax] = standoff.simulate(make(events=ev, horizon_days=150, members=6, trajectories=6)).ds
    ds = runs[0.5]
    pj = ds.price_multiple.sel(region="OAS", product="HREO").values
    pc = ds.price_multiple.sel(region="CHN", product="HREO").values
    r = [str(x) for x in ds.route.values].index("HREO CHN>OAS")
    legal = ds.route_exports_t.isel(route=r).values > 0
    legal[:, :31] = False  # the tax applies from 1 February
    assert legal.mean() > 0.5
    # four of each member's price response times (e**-4: 2% of the gap left)
    resp = ds.inputs.sel(input="parameters.price_response_days").values[:legal.shape[0]]
    settled = np.zeros_like(legal)
    for k in range(legal.shape[0]):
        w = int(np.ceil(4 * resp[k]))
        for t in range(w, legal.shape[1]):
            settled[k, t] = legal[k, t - w:t + 1].all()
    assert settled.mean() > 0.2
    assert (pj[settled] >= pc[settled] * 1.5 * 0.98).all()
    pj0 = runs[0.0].price_multiple.sel(region="OAS", product="HREO").values
    assert pj.mean() > pj0.mean() * 1.1


def test_production_quotas_and_halts_cap_output_day_by_day():
    """China's light-oxide output limited to 70% of its baseline, then half its capacity halted
    for 20 days: day by day no more is made than the limit, the halt and the capacity allow, the
    halt ends when it says, and China's price rises."""
    import standoff
    from standoff.core.reference import actions_by_day, new_member
    from standoff.ensemble import plan

    from .conftest import make
    ev = [{"date": "2025-02-01", "type": "output_limit", "region": "CHN", "product": "LREO", "share_of_baseline": 0.7},
          {"date": "2025-03-01", "type": "output_halt", "region": "CHN", "product": "LREO", "share": 0.5, "days": 20}]
    sc = make(events=ev, horizon_days=120, members=2, trajectories=0)
    pl = plan(sc)
    m = new_member(pl, pl.draw(0, 1), 0, 0)
    by_day = actions_by_day(pl)
    net = sc.network()
    c, p = net.regions.index("CHN"), net.products.index("LREO")
    prod0 = float(net.production[c, p])
    feb1, mar1 = sc.day_of(sc.events[0].date), sc.day_of(sc.events[1].date)
    made = []
    for t in range(120):
        m.step(t, by_day.get(t, []))
        made.append(m.h[c][p].prod_today)
    made = np.array(made)
    assert made[:feb1].max() > 0.7 * prod0  # before the quota output follows orders, above 70%
    assert (made[feb1:] <= 0.7 * prod0 * (1 + 1e-12)).all()
    assert (made[mar1:mar1 + 20] <= 0.35 * prod0 * (1 + 1e-12)).all()
    assert made[mar1 + 20:].max() > 0.35 * prod0  # the halt is over
    limited = standoff.simulate(sc.with_(members=8)).ds.peak_price_multiple.sel(region="CHN", product="LREO")
    free = standoff.simulate(make(events=[], horizon_days=120, members=8, trajectories=0)).ds
    assert float(limited.mean()) > float(free.peak_price_multiple.sel(region="CHN", product="LREO").mean())


def test_prices_are_shown_only_where_a_product_has_a_market(london):
    """London-2025's Europe neither makes, uses nor imports heavy oxides, so it has no heavy-oxide
    price to report (it used to read as an unmoved 1.00); Other Asia buys them and has one."""
    pr = london.prices()
    pairs = set(zip(pr["region"], pr["product"]))
    assert ("EU", "HREO") not in pairs and ("OAS", "HREO") in pairs and ("EU", "MAGNET") in pairs
    assert pairs == london.markets() & pairs


def test_a_price_the_bids_would_take_past_the_cap_is_flagged_as_the_cap():
    """A full ban on China's magnets, metal and heavy oxides leaves markets outside China with
    almost nothing: the last users' bids are thousands of times the price, which no spot market
    quotes, so price_cap bounds the price; every peak is at most the member's cap, prices()
    says in how many members it reached it, and the summary says to read it as 'at least'."""
    import standoff
    from standoff.present import print_summary
    from rich.console import Console

    from .conftest import control, make
    res = standoff.simulate(make(events=[control(mode="ban")], horizon_days=365, members=16, trajectories=0))
    cap = res.ds.inputs.sel(input="parameters.price_cap").values
    peak = res.ds.peak_price_multiple.sel(region="USA", product="MAGNET").values
    assert (peak <= cap * (1 + 1e-6)).all()  # peaks are kept as float32
    pr = res.prices().set_index(["region", "product"])
    assert pr.loc[("USA", "MAGNET"), "at_cap"] > 0.5
    assert abs(pr.loc[("USA", "MAGNET"), "at_cap"] - np.mean(peak >= cap * (1 - 1e-5))) < 1e-12
    con = Console(record=True, width=200)
    print_summary(res, con)
    text = con.export_text()
    assert "At the cap: " in text and "USA MAGNET" in text


def _ceiling(bids, qty, short, ms=np.inf, down=None, prices=None, coef=None, price_t=None, p=0):
    from standoff.core.markets import market_ceiling
    n = len(bids)
    down = np.full(n, -1, dtype=np.int64) if down is None else np.array(down, dtype=np.int64)
    P = 1 if price_t is None else len(price_t)
    prices = np.ones((1, P, 1)) if prices is None else np.array(prices, dtype=float).reshape(1, P, 1)
    return market_ceiling(p, n, np.array(bids, dtype=float), down, np.array(qty, dtype=float),
                          np.zeros((P, P)) if coef is None else np.array(coef, dtype=float),
                          np.ones(P) if price_t is None else np.array(price_t, dtype=float), prices, 0, 0,
                          short, ms, np.zeros(n))


def test_the_bid_at_the_margin_climbs_the_ladder_as_the_shortage_deepens():
    """Three users bidding 5, 50 and 500 times the price, using 20, 30 and 50 t: with no shortage
    the lowest bid bounds the price; a shortage of 20% prices out the first user (bid 5); one of
    21% reaches into the second (50); 50% exactly, the second; more, the third; nothing left, the
    last bid.  The order in which users are listed does not matter, and a price the cover asks
    at or below every bid is not bounded (inf)."""
    b, q = [50.0, 5.0, 500.0], [30.0, 20.0, 50.0]
    assert _ceiling(b, q, 0.0) == 5.0
    assert _ceiling(b, q, 0.2) == 5.0
    assert _ceiling(b, q, 0.21) == 50.0
    assert _ceiling(b, q, 0.5) == 50.0
    assert _ceiling(b, q, 0.51) == 500.0
    assert _ceiling(b, q, 1.0) == 500.0
    assert _ceiling(b[::-1], q[::-1], 0.3) == 50.0
    assert _ceiling(b, q, 0.9, ms=4.0) == np.inf


def test_a_producer_bids_what_its_product_fetches_less_its_other_inputs():
    """A maker of product 1 from 0.5 t of product 0 and 0.25 t of product 2 per tonne (prices 10,
    100, 40 US$/t): at baseline prices it can pay (100 - 0.25 * 40) / (0.5 * 10) = 18 times
    product 0's price; when its product fetches twice as much and its other input costs three
    times as much, (200 - 30) / 5 = 34; a baseline shortfall (``bid``) is added back."""
    coef = [[0, 0, 0], [0.5, 0, 0.25], [0, 0, 0]]
    pt = [10.0, 100.0, 40.0]
    assert abs(_ceiling([0.0], [1.0], 0.5, down=[1], coef=coef, price_t=pt) - 18.0) < 1e-12
    assert abs(_ceiling([0.0], [1.0], 0.5, down=[1], coef=coef, price_t=pt, prices=[1, 2, 3]) - 34.0) < 1e-12
    assert abs(_ceiling([5.0], [1.0], 0.5, down=[1], coef=coef, price_t=pt) - 19.0) < 1e-12


def test_every_bid_in_the_built_in_datasets_is_at_least_the_baseline_price():
    """No user would buy in the baseline at a price above its bid: sector bids are at least 1, and
    a producer's bid at baseline prices is at least 1 (the shortfall of a dataset whose prices
    leave no margin is added back), so with no shortage nothing pulls a price below 1."""
    from standoff.network import builtin_datasets, load_network
    for name in builtin_datasets():
        net = load_network(name)
        n, bid, down, qty = net.bid_ladder
        R, P = n.shape
        for r in range(R):
            for p in range(P):
                if n[r, p]:
                    w = _ceiling(bid[r, p, :n[r, p]], qty[r, p, :n[r, p]], 0.0, down=down[r, p, :n[r, p]],
                                 coef=net.coef, price_t=net.price_usd_per_t, p=p)
                    assert w >= 1.0 - 1e-12, (name, net.regions[r], net.products[p], w)


def test_who_earns_the_rent_and_export_pain_nets_the_higher_prices():
    """China licenses magnets, taxes their export and lets some leak: its exporters earn the
    wedge between importers' prices and the home price plus tax, its state the tax, traders the
    wedge on leaked tonnes; without a tax the state earns nothing, without leakage the traders
    nothing, and with no control nobody does.  China's export pain is net of what the tonnes
    still shipped fetch, so it stays below the lost tonnes valued at the baseline price."""
    import standoff

    from .conftest import control, make
    net = make().network()
    pt = xr.DataArray(net.price_usd_per_t, dims="product", coords={"product": net.products})
    runs = {}
    for name, kw in (("taxed", dict(export_tax=0.2, leakage=0.3)), ("plain", dict(leakage=0.0)),):
        ev = [control(approval=0.3, delay=30.0, products=["MAGNET"], **kw)]
        runs[name] = standoff.simulate(make(events=ev, horizon_days=200, members=8, trajectories=0)).ds
    none = standoff.simulate(make(events=[], horizon_days=200, members=8, trajectories=0)).ds
    rent = {k: v.control_rent_usd_bn.sel(region="CHN") for k, v in runs.items()}
    assert (rent["taxed"].sel(rent_kind="exporters") > 0).all() and (rent["taxed"].sel(rent_kind="state") > 0).all()
    assert (rent["taxed"].sel(rent_kind="traders") > 0).any()
    assert (rent["plain"].sel(rent_kind="state") == 0).all() and (rent["plain"].sel(rent_kind="traders") == 0).all()
    assert (none.control_rent_usd_bn == 0).all()
    assert (rent["plain"].sel(rent_kind="exporters") > 0).all()
    for ds in runs.values():
        pain = ds.pain_usd_bn.sel(side="CN", pain_kind="exports")
        lost = (ds.re_trade_t.sel(flow_kind="lost") * pt).sum(("product", "region")) * 1e-9
        assert (pain <= lost + 1e-12).all() and (pain < lost).any()


def test_a_quota_feeds_fear_only_as_far_as_it_refuses_orders():
    """Buyers' expected scarcity counts a quota at the share of today's orders it cannot fill: a
    quota far above what is ordered refuses nothing and feeds no fear (expectations stay at 0 and
    prices at 1), while one far below it does."""
    import standoff

    from .conftest import control, make
    runs = {}
    for q in (1e9, 100.0):
        ev = [control(mode="quota", products=["MAGNET"], quota_tonnes_per_year=q)]
        runs[q] = standoff.simulate(make(events=ev, horizon_days=120, members=4, trajectories=4)).ds
    loose = runs[1e9].expectation.sel(region="USA", product="MAGNET").values
    tight = runs[100.0].expectation.sel(region="USA", product="MAGNET").values
    assert loose.max() == 0.0 and float(np.abs(runs[1e9].price_multiple.values - 1.0).max()) == 0.0
    assert tight.max() > 0.3


def test_fear_runs_ahead_of_a_licence_regime_and_fades_as_licences_flow():
    """Buyers read a licence regime by what they see: while their applications wait, the covered
    trade is feared withheld in full, whatever share the authority will approve; once licences
    are granted the fear fades.  With every application approved, an authority that starts
    deciding 45 days late raises expectations (and prices) in those weeks; one that decides at
    once leaves them at 0 from the control, and both end near 0 when the licences flow."""
    import standoff

    from .conftest import control, make
    runs = {}
    for start, delay in ((45.0, 30.0), (0.0, 1.0)):
        ev = [control(products=["MAGNET"], approval=1.0, delay=delay, review_min_days=0.0,
                      authority_start_days=start)]
        runs[start] = standoff.simulate(make(events=ev, horizon_days=240, members=4, trajectories=4)).ds
    t0 = 31  # the control takes effect on 1 Feb
    late = runs[45.0].expectation.sel(region="USA", product="MAGNET").values  # (member, day)
    at_once = runs[0.0].expectation.sel(region="USA", product="MAGNET").values
    assert late[:, t0 + 40].min() > 0.5, late[:, t0 + 40]  # momentum alone gave 0.14-0.44
    assert at_once[:, t0 + 40].max() < 0.05, at_once[:, t0 + 40]
    assert late[:, -1].max() < 0.05, late[:, -1]  # the regime goes on; the fear has passed
    assert float(runs[45.0].price_multiple.sel(region="USA", product="MAGNET").max()) > \
        float(runs[0.0].price_multiple.sel(region="USA", product="MAGNET").max())
