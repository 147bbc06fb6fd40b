"""Property-based invariants over random scenarios (hypothesis)."""
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from standoff.testing import assert_conserved

from .conftest import run

PRODUCTS = ["LREO", "HREO", "METAL", "MAGNET"]
REGIONS = ["USA", "JPN", "EU", "OAS", "AUS", "ROW"]

control_st = st.fixed_dictionaries({
    "date": st.dates(min_value=__import__("datetime").date(2025, 1, 1),
                     max_value=__import__("datetime").date(2025, 4, 1)).map(str),
    "type": st.just("export_control"),
    "exporter": st.just("CHN"),
    "products": st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=4, unique=True),
    "destinations": st.one_of(st.just("all"), st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True)),
    "mode": st.sampled_from(["licence", "ban", "quota", "none"]),
    "approval_share": st.floats(0, 1),
    "coverage": st.floats(0, 1),
    "review_min_days": st.floats(0, 30),
    "delay_days": st.floats(0, 120),
    "leakage": st.floats(0, 0.3),
    "quota_tonnes_per_year": st.floats(0, 100000),
}, optional={
    # the licensing authority's terms (left out: as in force, an idle authority on a new control)
    "authority_start_days": st.floats(0, 60),
    "decision_rate": st.one_of(st.floats(0, 2), st.just(1e6)),
    "priority": st.floats(0, 3),
    "trader_share": st.floats(0, 1),
    "reapply_share": st.floats(0, 1),
    "chill_share": st.floats(0, 1),
    "chill_days": st.floats(0, 90),
    "leakage_wedge": st.floats(0, 3),
    "leakage_capacity": st.one_of(st.floats(0, 2), st.just(1e6)),
    "military_screen": st.floats(0, 1),
})
tariff_st = st.fixed_dictionaries({
    "date": st.just("2025-02-01"), "type": st.just("tariff"),
    "importer": st.sampled_from(["USA", "CHN"]), "exporter": st.sampled_from(["USA", "CHN"]),
    "rate": st.floats(0, 2),
})
release_st = st.fixed_dictionaries({
    "date": st.just("2025-03-01"), "type": st.just("stockpile_release"), "region": st.sampled_from(["USA", "JPN"]),
    "product": st.sampled_from(PRODUCTS), "tonnes_per_day": st.floats(0, 5),
})

buy_st = st.fixed_dictionaries({
    "date": st.just("2025-02-15"), "type": st.just("stockpile_buy"), "region": st.sampled_from(["CHN", "USA", "JPN"]),
    "product": st.sampled_from(PRODUCTS), "tonnes_per_day": st.floats(0, 50),
})

limit_st = st.fixed_dictionaries({
    "date": st.just("2025-02-10"), "type": st.just("output_limit"), "region": st.sampled_from(["CHN", "JPN"]),
    "product": st.sampled_from(PRODUCTS), "share_of_baseline": st.floats(0, 2),
})
halt_st = st.fixed_dictionaries({
    "date": st.just("2025-02-20"), "type": st.just("output_halt"), "region": st.sampled_from(["CHN", "JPN"]),
    "product": st.sampled_from(PRODUCTS), "share": st.floats(0, 1), "days": st.integers(1, 60),
})

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(events=st.lists(st.one_of(control_st, tariff_st, release_st, buy_st, limit_st, halt_st), max_size=4))
def test_random_scenarios_conserve_material_and_stay_non_negative(events):
    res = run(events=events, members=8, horizon_days=150)
    assert_conserved(res)
    ds = res.ds
    assert float(ds.cover_days.min()) >= 0
    assert float(ds.imports_t.min()) >= 0
    of = ds.output_fraction.values
    assert of.min() >= 0 and of.max() <= 1 + 1e-12
    assert np.isfinite(ds.pain_usd_bn.values).all()
    assert float(ds.output_loss_usd_bn.min()) >= 0


def _days(res):
    d = res.ds.first_stockout_day.values
    return np.where(np.isnan(d), np.inf, d)


def _control(share, delay):
    return [{"date": "2025-02-01", "type": "export_control", "exporter": "CHN",
             "products": ["HREO", "METAL", "MAGNET"], "approval_share": share, "delay_days": delay}]


#: Held off for the exact monotonicity: prices trimming demand, customs inspection of licensed
#: goods (a refused buyer buys elsewhere at once, and those goods skip the inspection), and fear
#: (precautionary targets and speculation feed back on prices and orders).
#: Licences outlast the horizon too: a licence that expires is applied for again on a day that
#: depends on the earlier decisions, so its draws are no longer common to both runs and a stricter
#: regime can, by chance in one member, renew luckier (found by hypothesis with 90-day licences:
#: approval 0.5 against 0.5625, longest review 7 days).  Renewals are tested on average elsewhere.
NO_DEMAND_RESPONSE = {"re_price_elasticity": 0.0, "substitution_max_share": 0.0, "customs_inspection_days": 0.0,
                      "precaution_max": 0.0, "speculation_days": 0.0, "licence_validity_days": 400.0}


#: Transit times held equal: a buyer refused a licence diverts at once to any supplier with
#: spare stock, and a supplier in its own zone delivers 25 days sooner than the controller
#: across zones would have (10 against 35 days), so with the dataset's transit times a
#: stricter control can postpone a first stockout (found by hypothesis: approval 0.75 against
#: 0.875, longest review 89 days, member 7, EU motors: day 106 against 105).
#:
#: Even with equal transit times the supply side is not exactly monotone, and the reason is a
#: mechanism of the model, not a fault (traced with the reference, December 2026, on the example
#: a random search found: approval 0.625 against 0.75, longest review 44 days, member 2, OAS
#: motors stops on day 75 under the looser control and day 76 under the stricter).  A buyer orders
#: up to a target position that counts what is in transit (``import_needs``), and a supplier short
#: of stock fills every order in the same proportion (``ship_usual``).  Under the looser control
#: China ships more to OAS from day 57; OAS's pipeline grows, so from that day it orders less from
#: its own magnet makers, who are short and ration, and ship the difference to their other buyers
#: (OAS -> USA magnets 93.5 t by day 80 against 92.9).  Until the extra Chinese magnets land, 20
#: days later, OAS's users receive slightly less (firms' stock 0.005 t lower on day 61, output
#: 0.9899 against 0.9902 of the requirement on day 75, just across the 0.99 threshold).  So a
#: stricter control can postpone a first stockout, by no more than the transit time (after that
#: the looser control's extra shipments have arrived), and only through a threshold a hair away.
EQUAL_TRANSIT = {"transit_days_same_zone": 20.0, "transit_days_cross_zone": 20.0}


@SETTINGS
@given(a=st.floats(0, 1), b=st.floats(0, 1), delay=st.floats(5, 90))
@example(a=0.75, b=0.875, delay=89.0)
@example(a=0.5, b=0.5625, delay=7.0)
@example(a=0.625, b=0.75, delay=44.0)  # OAS motors: day 76 strict, 75 loose (rationing while in transit)
def test_lower_approval_share_never_delays_a_stockout(a, b, delay):
    """Supply side, with demand held at its requirement, no inspection delay and equal transit
    times (20 days), common random numbers (the same buyer applies on the same day and draws the
    same review time and decision under both shares): a stricter control brings no first stockout
    later than the looser one by more than the transit time, in any member, region or sector
    (see EQUAL_TRANSIT for why it can by less), and none later on average: the restricted mean
    day over members, regions and sectors is no later under the stricter control."""
    lo, hi = sorted((a, b))
    held = {**NO_DEMAND_RESPONSE, **EQUAL_TRANSIT}
    horizon = 200
    strict = _days(run(events=_control(lo, delay), members=8, horizon_days=horizon, parameters=held))
    loose = _days(run(events=_control(hi, delay), members=8, horizon_days=horizon, parameters=held))
    assert np.all(strict <= loose + EQUAL_TRANSIT["transit_days_same_zone"])
    assert np.minimum(strict, horizon).mean() <= np.minimum(loose, horizon).mean()


@SETTINGS
@given(a=st.floats(0, 1), b=st.floats(0, 1), delay=st.floats(5, 90))
@example(a=0.75, b=0.875, delay=89.0)
@example(a=0.625, b=0.5625, delay=31.0)  # loose stops on day 195, strict after the horizon's end
def test_instant_diversion_postpones_a_stockout_by_less_than_the_transit_gap(a, b, delay):
    """With the usual transit times (10 days within a zone, 35 across), a refused buyer's
    diverted order from a nearer supplier arrives at most 25 days before the licensed one
    would have: the stated bound of this effect of instant diversion (no qualification or
    contracting delay is modelled).  A stockout under the looser control is never avoided
    under the stricter one, unless it comes in the horizon's last 25 days (the stricter one's
    may then fall after the end: censored, not avoided)."""
    lo, hi = sorted((a, b))
    horizon = 200
    held = {**NO_DEMAND_RESPONSE, "transit_days_same_zone": 10.0, "transit_days_cross_zone": 35.0}
    strict = _days(run(events=_control(lo, delay), members=8, horizon_days=horizon, parameters=held))
    loose = _days(run(events=_control(hi, delay), members=8, horizon_days=horizon, parameters=held))
    fin = np.isfinite(strict) & np.isfinite(loose)
    assert np.all(strict[fin] <= loose[fin] + 25)
    avoided = ~np.isfinite(strict) & np.isfinite(loose)
    assert np.all(loose[avoided] >= horizon - 25)


@SETTINGS
@given(a=st.floats(0, 1), b=st.floats(0, 1), delay=st.floats(5, 90))
@example(a=0.5, b=0.5625, delay=9.0)  # CI: ROW electronics stops 29 days later under the stricter control
@example(a=0.5, b=0.5625, delay=7.0)  # CI: two members with a stockout under the looser control only
@example(a=0.5625, b=0.90625, delay=10.0)  # CI: the only pair stopping under both, 182 against 180 days
def test_with_demand_response_a_stricter_control_brings_more_and_earlier_stockouts_on_average(a, b, delay):
    """With prices cutting demand, a stricter control raises prices, and thrift and substitution
    then trim a sector's requirement by up to substitution_max_share (30%): in one member a
    sector's first shortfall can come weeks later under the stricter control, or not at all
    (CI found 29 days, and stockouts under the looser control only; the same examples fail at
    the commit before this session's changes, so this is the model, not a regression).  What
    holds is the aggregate: at least as many stockouts, and on average no later (within a day)."""
    lo, hi = sorted((a, b))
    # Inspection held off (licensed goods from China arrive a week later than what a refused buyer
    # buys elsewhere) and fear held off (a stricter control makes buyers stock up sooner, which
    # can postpone their own shortfall by weeks: a real effect of hoarding, not a tolerance).
    no_insp = {"customs_inspection_days": 0.0, "precaution_max": 0.0, "speculation_days": 0.0}
    strict = _days(run(events=_control(lo, delay), members=8, horizon_days=200, parameters=no_insp))
    loose = _days(run(events=_control(hi, delay), members=8, horizon_days=200, parameters=no_insp))
    assert np.isfinite(strict).sum() >= np.isfinite(loose).sum()
    # The restricted mean over every region, sector and member (no stockout = the horizon), not
    # the mean over the pairs where both stop: with one such pair that was one member's day (CI:
    # 182 against 180, a=0.5625, b=0.90625).  Within a day: nearly equal approvals differ by a
    # member's day here and there.
    assert np.minimum(strict, 200).mean() <= np.minimum(loose, 200).mean() + 1.0


# ---------------------------------------------------------------- licences for contracts, coverage

def _licence(cover, appr=0.25, delay=63.0, rmin=7.0):
    return [{"date": "2025-02-01", "type": "export_control", "exporter": "CHN", "products": ["HREO", "METAL", "MAGNET"],
             "coverage": cover, "approval_share": appr, "delay_days": delay, "review_min_days": rmin}]


#: Customs inspection is the one effect of a licence control on what it does not hold up; fear
#: (precautionary stock, speculation) is held off with it where a test needs exact comparisons.
NO_INSPECTION = {"customs_inspection_days": 0.0, "precaution_max": 0.0, "speculation_days": 0.0}
COMPARED = ("first_stockout_day", "output_loss_usd_bn", "peak_price_multiple", "re_trade_t", "pain_usd_bn",
            "readiness_min", "china_share_end")


def _same(a, b):
    for name in COMPARED:
        assert np.array_equal(a.ds[name].values, b.ds[name].values, equal_nan=True), name


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(appr=st.floats(0, 1), delay=st.floats(0, 120))
def test_a_licence_control_that_covers_nothing_changes_nothing(appr, delay):
    free = run(events=[], members=8, horizon_days=200)
    zero = run(events=_licence(0.0, appr, delay), members=8, horizon_days=200)
    _same(free, zero)


def test_full_coverage_with_every_licence_granted_at_once_is_no_control():
    free = run(events=[], members=8, horizon_days=200, parameters=NO_INSPECTION)
    open_ = run(events=_licence(1.0, appr=1.0, delay=0.0, rmin=0.0), members=8, horizon_days=200,
                parameters=NO_INSPECTION)
    _same(free, open_)


@SETTINGS
@given(a=st.floats(0, 1), b=st.floats(0, 1), appr=st.floats(0, 0.6))
def test_stricter_coverage_never_gives_a_later_first_stockout(a, b, appr):
    """Tolerance as for the approval share with demand response (5 days: prices trim demand), with
    customs inspection held off (see the note below)."""
    lo, hi = sorted((a, b))
    strict = _days(run(events=_licence(hi, appr), members=8, horizon_days=200, parameters=NO_INSPECTION))
    loose = _days(run(events=_licence(lo, appr), members=8, horizon_days=200, parameters=NO_INSPECTION))
    fin = np.isfinite(strict) & np.isfinite(loose)
    assert np.all(strict[fin] <= loose[fin] + 5)
    assert np.all(~np.isfinite(strict) <= ~np.isfinite(loose))


# With customs inspection on, the property above does not hold: inspected goods from the usual
# supplier arrive up to two weeks late while buyers a stricter control refuses divert at once to
# any supplier with stock (diversion has no switching delay), so a stricter coverage can postpone
# a first stockout (hypothesis found 19 days: coverage 0.0625 against 0.031, approval 0, 16
# firms). This is a known limit of instant diversion, stated in the README, not a tolerance.


# ---------------------------------------------------------------- firms

def test_the_firm_spread_keeps_the_sectors_stock_and_orders_the_firms():
    from standoff.layout import firm_cover_multipliers
    for k in (1, 2, 3, 4, 7, 16, 64):
        m = firm_cover_multipliers(k)
        assert abs(m.mean() - 1.0) < 1e-12 and (np.diff(m) > 0).all()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(firms=st.sampled_from([1, 3, 16, 40]))
def test_more_firms_never_change_total_stock_and_without_a_control_nothing_happens(firms):
    base = run(events=[], members=4, horizon_days=120, firms=4)
    res = run(events=[], members=4, horizon_days=120, firms=firms)
    cover = res.ds.cover_days.values
    np.testing.assert_allclose(cover, base.ds.cover_days.values, rtol=1e-9)  # same sector stocks, any resolution
    for name in ("output_loss_usd_bn", "output_delayed_usd_bn", "unfinished_usd_bn", "stopped_weeks",
                 "share_affected"):
        assert float(np.abs(res.ds[name].values).max()) == 0.0, name
    assert np.isnan(res.ds.first_stockout_day.values).all()


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), appr=st.floats(0.0, 0.5), firms=st.sampled_from([4, 9, 16]))
def test_a_firm_with_more_cover_never_stops_before_one_with_less(seed, appr, firms):
    """Day by day, the firms that have stopped are always the thinnest ones (a prefix in cover order)."""
    from standoff.ensemble import plan
    from standoff.core.reference import actions_by_day, new_member
    from .conftest import make
    sc = make(events=_licence(1.0, appr), members=2, horizon_days=160, seed=seed, firms=firms)
    pl = plan(sc)
    inputs = pl.draw(0, 2)
    by_day = actions_by_day(pl)
    for k in range(2):
        m = new_member(pl, inputs, k, 0)
        for t in range(sc.horizon_days):
            m.step(t, by_day.get(t, []))
            for row in m.sec:
                for c in row:
                    flags = c.stopped
                    assert all(flags[j + 1] <= flags[j] for j in range(len(flags) - 1)), (t, c.r, c.s, flags)


# ---------------------------------------------------------------- prices: expectations and speculation

def test_without_a_control_prices_stay_at_one_and_no_speculative_stock_builds():
    res = run(events=[], members=6, horizon_days=200, trajectories=6)
    ds = res.ds
    assert float(np.abs(ds.price_multiple.values - 1.0).max()) == 0.0
    assert float(np.abs(ds.fob_price.values - 1.0).max()) == 0.0
    assert float(ds.speculative_t.values.max()) == 0.0 and float(ds.expectation.values.max()) == 0.0
    assert float(np.abs(ds.peak_price_multiple.values - 1.0).max()) == 0.0


@SETTINGS
@given(events=st.lists(st.one_of(control_st, tariff_st, release_st), max_size=3))
def test_speculative_stock_and_expectations_stay_bounded(events):
    res = run(events=events, members=4, horizon_days=150, trajectories=4)
    ds = res.ds
    ex = ds.expectation.values
    assert ex.min() >= 0.0 and ex.max() <= 1.0 + 1e-12
    assert ds.speculative_t.values.min() >= 0.0
    net = res.scenario.network()
    cap = 60.0 * np.asarray(net.use).T[None, None, :, :].swapaxes(2, 3)  # speculation_days high x use
    assert (ds.speculative_t.values <= cap + 1e-9).all()
    assert_conserved(res)


@SETTINGS
@given(a=st.floats(0, 1), b=st.floats(0, 1), delay=st.floats(5, 90))
@example(a=0.0, b=0.03125, delay=5.0)  # was 30% (the floor switched on with any shipment)
@example(a=0.75, b=1.0, delay=17.0)  # 0.14%: within the tolerance
def test_a_stricter_control_never_lowers_the_outside_price_at_equal_expectations(a, b, delay):
    """The issue's property, with buyers' fear and demand held as in the supply-side stockout
    property (no precaution, speculation, price response or inspection; equal transit times): a
    lower approval share never lowers a region's peak price outside China, in any member or
    product, beyond 1% of it.  Measured over 42 random pairs the largest drop is 0.23% (the
    smoothed price, and the arbitrage floor's weight moving with what each supplier ships).
    Hypothesis first found the pinned example at 30% (approval 0 against 0.03125, reviews of 5
    days: the US magnet peak 8.7 against 12.3): China's trickle of licences kept Other Asia
    cheap, Japan and Europe (near 16 x) still shipped a little to the US, and the arbitrage
    floor, applied in full to any shipment, pulled the US to their price, while with no
    licences nobody shipped to the US and no floor applied.  The floor now pulls the target by
    the share of the market's use that supplier's shipments make (standoff.core.markets.
    arbitrage_floors).  With demand response on, a stricter control can still lower a member's
    outside peak (13% in one of 12 random pairs: substitution, and diverted orders from nearer
    suppliers), so that case holds on average, not member by member."""
    lo, hi = sorted((a, b))
    held = {**NO_DEMAND_RESPONSE, **EQUAL_TRANSIT}
    strict = run(events=_control(lo, delay), members=8, horizon_days=200, parameters=held).ds
    loose = run(events=_control(hi, delay), members=8, horizon_days=200, parameters=held).ds
    ps = strict.peak_price_multiple.drop_sel(region="CHN").values
    pl = loose.peak_price_multiple.drop_sel(region="CHN").values
    assert np.all(ps >= pl * (1.0 - 1e-2)), float(((pl - ps) / pl).max())


def test_with_licence_renewals_a_stricter_regime_is_no_later_on_average():
    """With the default 90-day licences (renewed on days that depend on earlier decisions), a
    lower approval share brings first stockouts no later on average over members (restricted
    mean to the horizon), though one member may renew luckier."""
    horizon = 200
    held = {**NO_DEMAND_RESPONSE, **EQUAL_TRANSIT, "licence_validity_days": 90.0}
    for lo, hi in ((0.3, 0.8), (0.5, 0.5625)):
        strict = _days(run(events=_control(lo, 30.0), members=48, horizon_days=horizon, parameters=held))
        loose = _days(run(events=_control(hi, 30.0), members=48, horizon_days=horizon, parameters=held))
        s, lo_ = np.minimum(strict, horizon), np.minimum(loose, horizon)
        assert s.mean() <= lo_.mean() + 0.5, (lo, hi, s.mean(), lo_.mean())


# ---------------------------------------------------------------- the game: pain and concession

_TALKS = [{"date": f"2025-{m:02d}-10", "type": "talks", "name": f"round {m}"} for m in range(2, 10)]


@SETTINGS
@given(a=st.floats(0, 2), b=st.floats(0, 2), other=st.floats(0, 1.5), side=st.sampled_from(["CN", "US"]),
       negotiate=st.booleans())
def test_raising_a_sides_pain_never_makes_it_concede_later(a, b, other, side, negotiate):
    """A higher tariff on a side's exports (more export pain for it, common random numbers)
    never postpones the first day its pressure passes its resolve, in any member, with the
    talks scripted or simulated (rounds monthly from February)."""
    from standoff.outcomes import Outcome
    lo, hi = sorted((a, b))
    target, imposer = ("CHN", "USA") if side == "CN" else ("USA", "CHN")
    days = []
    for rate in (lo, hi):
        ev = [{"date": "2025-01-10", "type": "tariff", "importer": imposer, "exporter": target, "rate": rate},
              {"date": "2025-01-10", "type": "tariff", "importer": target, "exporter": imposer, "rate": other},
              *_TALKS]
        neg = {"enabled": negotiate, "start": "2025-01-20", "parameters": {"resolve": 0.3}}
        days.append(Outcome.parse(f"concede:{side}").values(
            run(events=ev, members=8, horizon_days=300, trajectories=0, negotiation=neg)))
    assert np.all(days[1] <= days[0]), (days[0], days[1])
