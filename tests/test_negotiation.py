"""Game behaviour of the bargaining model."""
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import standoff
from standoff import simulate
from standoff.cli import app

from .conftest import make

# A standoff that starts on day 10 with talks every 30 days from day 40 on.
TALKS = [{"date": f"2025-{m:02d}-{d:02d}", "type": "talks", "name": f"round {i}"}
         for i, (m, d) in enumerate([(2, 10), (3, 12), (4, 11), (5, 11), (6, 10)])]


def standoff_events(us_rate=1.45, cn_rate=1.25):
    return [
        {"date": "2025-01-10", "type": "tariff", "importer": "USA", "exporter": "CHN", "rate": us_rate},
        {"date": "2025-01-10", "type": "tariff", "importer": "CHN", "exporter": "USA", "rate": cn_rate},
        {"date": "2025-01-10", "type": "export_control", "exporter": "CHN", "products": ["HREO", "METAL", "MAGNET"],
         "approval_share": 0.25, "delay_days": 50},
        *TALKS,
    ]


def negotiated(strategies=("reciprocal", "reciprocal"), members=200, horizon=400, **params):
    base = {"resolve_us": 0.3, "resolve_cn": 0.3, "compliance_mean_us": 0.9, "compliance_mean_cn": 0.9,
            "compliance_sd_us": 0.05, "compliance_sd_cn": 0.05, "trust0_us": 0.7, "trust0_cn": 0.7,
            # the US reads intentions, not the licences in the trade, unless a test says otherwise
            "evidence_weight": 0.0,
            # no measures outside the deal and an extension decided without the day's noise,
            # unless a test says otherwise: the tests below are of monitoring and the ladder
            "measure_rate_us": 0.0, "measure_rate_cn": 0.0, "extension_noise": 0.0}
    base.update(params)
    base = {k: v for k, v in base.items() if v is not None}  # None: leave the input to the model
    sc = make(members=members, horizon_days=horizon, trajectories=0, events=standoff_events(),
              negotiation={"enabled": True, "start": "2025-01-20",
                           "strategies": {"US": strategies[0], "CN": strategies[1]}, "parameters": base})
    return simulate(sc)


def collapse_share(res, within=180):
    agree = res.ds.negotiation.sel(neg_output="first_agreement_day").values
    coll = res.ds.negotiation.sel(neg_output="first_collapse_day").values
    has = ~np.isnan(agree)
    assert has.mean() > 0.8, "most members should reach an agreement for the comparison to mean anything"
    lived = np.where(np.isnan(coll), np.inf, coll) - agree
    return float(np.mean(lived[has] < within))


def test_noiseless_monitoring_and_reciprocity_keep_the_truce():
    # evidence_weight 0: the US reads China's intended compliance, not the licences in the trade
    # (which lag a deal by the review time: see the ladder tests below)
    res = negotiated(noise_us=0.0, noise_cn=0.0, evidence_weight=0.0)
    surv = res.truce_survival().set_index("days")["p_survive"]
    assert surv[90] >= 0.95
    assert collapse_share(res) <= 0.05


def test_more_monitoring_noise_raises_the_collapse_probability():
    # repairs off, so that what a perceived breach leads to is the ladder's upper rungs
    # repairs off and compliance near the breach threshold, so that perceived breaches last long
    # enough to climb the ladder (accusation, then limited retaliation, then collapse)
    near = dict(repair_success=0.0, compliance_mean_us=0.7, compliance_mean_cn=0.7)
    quiet = collapse_share(negotiated(noise_us=0.02, noise_cn=0.02, **near))
    noisy = collapse_share(negotiated(noise_us=0.35, noise_cn=0.35, **near))
    assert noisy > quiet + 0.1


def test_grim_trigger_collapses_more_often_than_reciprocity():
    kw = dict(noise_us=0.25, noise_cn=0.25)
    recip = collapse_share(negotiated(**kw))
    grim = collapse_share(negotiated(("grim_trigger", "grim_trigger"), **kw))
    assert grim > recip


def test_generous_reciprocity_forgives_some_breaches():
    kw = dict(noise_us=0.3, noise_cn=0.3, forgiveness=0.8)
    recip = collapse_share(negotiated(**kw))
    generous = collapse_share(negotiated(("generous_reciprocal", "generous_reciprocal"), **kw))
    assert generous <= recip


@pytest.mark.parametrize("us_rate,cn_rate,first", [(1.45, 0.3, "CN"), (0.3, 1.45, "US")])
def test_side_whose_pain_grows_faster_concedes_earlier(us_rate, cn_rate, first):
    # Both sides sell elsewhere the same share of what they lose, so the tariffs set whose pain grows faster.
    same_redirect = {"exporter_redirect_share": 0.3, "china_export_redirect_share": 0.3}
    sc = make(members=100, horizon_days=300, trajectories=0, events=standoff_events(us_rate, cn_rate),
              parameters=same_redirect,
              negotiation={"enabled": True, "start": "2025-01-20",
                           "parameters": {"resolve_us": 0.3, "resolve_cn": 0.3}})
    res = simulate(sc)
    us = res.ds.negotiation.sel(neg_output="first_concession_day_us").values
    cn = res.ds.negotiation.sel(neg_output="first_concession_day_cn").values
    us, cn = np.where(np.isnan(us), 1e9, us), np.where(np.isnan(cn), 1e9, cn)
    if first == "CN":
        assert np.mean(cn) < np.mean(us)
    else:
        assert np.mean(us) < np.mean(cn)


def test_negotiated_runs_are_reproducible():
    a = negotiated(members=40, noise_us=0.3, noise_cn=0.3)
    b = negotiated(members=40, noise_us=0.3, noise_cn=0.3)
    np.testing.assert_array_equal(a.ds.negotiation.values, b.ds.negotiation.values)


def test_negotiated_london_drops_scripted_outcomes_and_bargains():
    from standoff import load_scenario
    sc = load_scenario("london-2025")
    neg = sc.negotiation.model_dump()
    neg["enabled"] = True
    res = simulate(sc.with_(members=40, negotiation=neg))
    assert float(res.ds.negotiation.sel(neg_output="rounds").mean()) >= 1
    ab = res.agreement_by_date()
    assert ab["p_agreement"].is_monotonic_increasing
    assert {"china_share_ante", "china_share_end_median", "rebuild_days_median"} <= set(res.status_quo_ante().columns)


runner = CliRunner()


def test_negotiate_flag_prints_truce_survival(tmp_path):
    res = runner.invoke(app, ["run", "london-2025", "-n", "30", "--negotiate", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    for needle in ("Will the first truce hold", "90 days", "365 days", "Who blinks first", "status quo ante",
                   "Leverage left"):
        assert needle in res.output


def test_leverage_left_reports_both_sides():
    from standoff import load_scenario
    sc = load_scenario("london-2025")
    neg = sc.negotiation.model_dump()
    neg["enabled"] = True
    res = simulate(sc.with_(members=30, negotiation=neg))
    lev = res.leverage().set_index("side")
    assert set(lev.index) == {"US", "CN"}
    assert (lev["pressure_ratio_end_median"] >= 0).all()
    pr_end = res.ds.pressure_ratio.isel(time=-1).sel(side="US").median().item()
    assert lev.loc["US", "pressure_ratio_end_median"] == pr_end
    assert 0 <= lev.attrs["controller_share_outside_end"] <= 1


@pytest.mark.parametrize("extra,needles", [
    ("negotiation: {enabled: true, strategies: {US: tit_for_tat}}\n", ["negotiation.strategies.US", "tit_for_tat"]),
    ("negotiation: {enabled: true, parameters: {bluff: 1}}\n", ["negotiation.parameters.bluff"]),
    ("events:\n  - {date: 2025-01-10, type: talks}\n", ["events[0].name", "Field required"]),
    ("events:\n  - {date: 2025-01-10, type: talks, name: x, walkout: true}\n", ["events[0].walkout"]),
])
def test_bad_negotiation_input(tmp_path, extra, needles):
    f = tmp_path / "s.yaml"
    f.write_text("name: t\nstart: 2025-01-01\nhorizon_days: 60\nmembers: 2\n" + extra)
    res = runner.invoke(app, ["run", str(f), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    for n in needles:
        assert n in res.output, (n, res.output)
    assert not (tmp_path / "o").exists()


def test_streamed_truce_survival_matches_the_full_run():
    """A streamed run counts truce survival exactly as the full results do, whatever the chunking."""
    from standoff.ensemble import SerialExecutor, plan
    from standoff.results import StreamingSummary
    res = negotiated(noise_us=0.25, noise_cn=0.25, members=300)
    pl = plan(res.scenario)
    acc = StreamingSummary(pl)
    ex = SerialExecutor(chunk_members=256)
    for ch in ex.map(pl, ex.split(res.scenario.members)):
        acc.add(ch)
    want = res.truce_survival()
    got = acc.truce_survival()
    assert want["members_with_agreement"].iloc[0] > 100  # enough agreements for the comparison to mean something
    pd.testing.assert_frame_equal(got, want)
    assert acc.headline_metrics()["p_truce_survives_90d"] == res.headline_metrics()["p_truce_survives_90d"]



# ---------------------------------------------------------------- the escalation ladder

def _out(res, name):
    return res.ds.negotiation.sel(neg_output=name).values


def test_slow_licensing_read_in_the_trade_is_seen_as_a_breach():
    """After a deal, contracts pending review keep the licensed share low for weeks: a US that reads
    the trade accuses China far more often than one that reads intentions (2025's 'totally violated')."""
    intent = negotiated(noise_us=0.0, noise_cn=0.0, evidence_weight=0.0)
    trade = negotiated(noise_us=0.0, noise_cn=0.0, evidence_weight=1.0)
    assert _out(trade, "accusations").mean() > _out(intent, "accusations").mean() + 0.3


#: Compliance just around the breach threshold (0.6): perceived breaches last long enough to climb.
SHAKY = dict(noise_us=0.25, noise_cn=0.25, compliance_mean_us=0.62, compliance_mean_cn=0.62)


def test_a_repair_that_always_works_prevents_limited_retaliation():
    kw = SHAKY
    mend = negotiated(repair_success=1.0, **kw)
    assert _out(mend, "accusations").sum() > 0 and _out(mend, "repairs").sum() > 0
    assert _out(mend, "limited_retaliations").sum() == 0
    # what still ends a truce is a lapse at its 90-day expiry when trust is low, never a retaliation
    life = _out(mend, "first_collapse_day") - _out(mend, "first_agreement_day")
    assert (life[np.isfinite(life)] >= 89).all()


def test_when_repair_fails_sides_retaliate_in_a_limited_way_before_any_collapse():
    kw = SHAKY
    fail = negotiated(repair_success=0.0, **kw)
    mend = negotiated(repair_success=1.0, **kw)
    assert _out(fail, "limited_retaliations").sum() > 0
    assert collapse_share(fail) > collapse_share(mend) + 0.1
    # a collapse is always preceded by limited retaliation (the ladder is climbed, not jumped);
    # a lapse at a deadline is no collapse of the ladder
    coll = ~np.isnan(_out(fail, "first_collapse_day")) & (_out(fail, "first_end_cause") != 1)
    assert coll.sum() > 0
    assert (_out(fail, "limited_retaliations")[coll] > 0).all()


def test_a_path_can_show_accusation_repair_and_limited_retaliation_before_a_collapse():
    res = negotiated(repair_success=0.5, **SHAKY)
    assert _out(res, "ladder_before_collapse").mean() > 0.05


def test_grim_trigger_has_no_ladder():
    res = negotiated(strategies=("grim_trigger", "grim_trigger"), noise_us=0.25, noise_cn=0.25)
    assert _out(res, "repairs").sum() == 0 and _out(res, "limited_retaliations").sum() == 0


def _ends(res):
    neg = res.ds.negotiation
    agree = neg.sel(neg_output="first_agreement_day").values
    coll = neg.sel(neg_output="first_collapse_day").values
    cause = neg.sel(neg_output="first_end_cause").values
    return agree, coll, cause


def test_without_measures_and_with_a_certain_extension_the_truce_lasts_to_the_horizon():
    """No measures outside the deal, perfect monitoring of full compliance, full trust and exact
    readings of resolve (so no side concedes more than its own pressure ratio): extending is
    worth at least its concession to each side, every first agreement is extended at each
    deadline and holds to the horizon."""
    res = negotiated(noise_us=0.0, noise_cn=0.0, compliance_mean_us=1.0, compliance_mean_cn=1.0,
                     compliance_sd_us=0.0, compliance_sd_cn=0.0, threshold=0.0, trust0_us=1.0, trust0_cn=1.0,
                     belief_sd=0.0, members=60)
    agree, coll, cause = _ends(res)
    has = ~np.isnan(agree)
    assert has.mean() > 0.8
    assert np.isnan(coll[has]).all() and np.isnan(cause[has]).all()
    assert (res.ds.negotiation.sel(neg_output="extensions").values[has] >= 1).all()


def test_measures_outside_the_deal_end_truces_and_are_named_as_the_cause():
    """With perfect monitoring of a deal kept steadily (no noise, no day-to-day swings in
    compliance, so nobody perceives a breach of the deal itself), truces still end when one side
    takes measures outside the deal that the other reads as breaches and repairs fail: the cause
    says so, and more measures end more truces."""
    common = dict(noise_us=0.0, noise_cn=0.0, compliance_sd_us=0.0, compliance_sd_cn=0.0, repair_success=0.0,
                  members=120, horizon=400)
    few = negotiated(measure_rate_us=0.005, **common)
    many = negotiated(measure_rate_us=0.05, **common)
    a, c, cause = _ends(many)
    ended = ~np.isnan(c)
    assert ended.mean() > 0.3
    assert set(np.unique(cause[ended])) <= {2.0, 1.0}  # measures (or a lapse), never the deal's own breach
    assert (cause[ended] == 2.0).mean() > 0.5
    assert many.ds.negotiation.sel(neg_output="measures_outside_deal").values.mean() > \
        few.ds.negotiation.sel(neg_output="measures_outside_deal").values.mean()
    assert collapse_share(many, within=300) > collapse_share(few, within=300)


def test_a_truce_that_nobody_trusts_lapses_at_its_deadline():
    """Trust far below the threshold, no noise in the extension: the first truce lapses at its
    first deadline (agreement_days after it was made), and the cause is the lapse."""
    res = negotiated(trust0_us=0.1, trust0_cn=0.1, noise_us=0.0, noise_cn=0.0, compliance_mean_us=0.62,
                     compliance_mean_cn=0.62, threshold=0.6, trust_memory_days=3650.0, collapse_days=3650.0,
                     repair_days=365.0, members=60)
    agree, coll, cause = _ends(res)
    ended = ~np.isnan(coll)
    assert ended.mean() > 0.5
    assert (cause[ended] == 1.0).all()
    np.testing.assert_allclose(coll[ended] - agree[ended], 90.0)


def test_a_perceived_breach_of_the_deal_is_named_as_the_cause():
    """Grim trigger on noisy monitoring, no measures outside the deal: truces that end, end for a
    perceived breach of the deal."""
    res = negotiated(strategies=("grim_trigger", "grim_trigger"), noise_us=0.3, noise_cn=0.3, compliance_mean_us=0.75,
                     compliance_mean_cn=0.75, members=80)
    _, coll, cause = _ends(res)
    ended = ~np.isnan(coll)
    assert ended.mean() > 0.3
    assert set(np.unique(cause[ended])) <= {3.0, 1.0} and (cause[ended] == 3.0).mean() > 0.5


def test_noise_in_the_extension_spreads_the_lifespan():
    """The plain rule gives a lifespan that sits at multiples of the 90-day term or runs past the
    horizon; noise in the decision to extend gives lapses at many deadlines, so more distinct
    lifespans among truces that ended."""
    common = dict(members=160, horizon=500, trust0_us=0.6, trust0_cn=0.6)
    plain = negotiated(**common)
    noisy = negotiated(extension_noise=0.2, **common)
    def spread(res):
        a, c, _ = _ends(res)
        life = (c - a)[~np.isnan(c)]
        return len(np.unique(np.round(life / 90.0))) if len(life) else 0
    a, c, cause = _ends(noisy)
    assert (cause[~np.isnan(c)] == 1.0).any()
    assert spread(noisy) >= spread(plain)


def test_truce_ends_and_the_life_table_add_up():
    """The causes and 'still in force' cover every member with an agreement once; the life
    table's survival never rises, its hazards are shares, and with nothing censored its median
    is the members' median lifespan (to within a period's interpolation)."""
    res = negotiated(measure_rate_us=0.03, extension_noise=0.1, members=120, horizon=500)
    te = res.truce_ends()
    agree, coll, cause = _ends(res)
    has = ~np.isnan(agree)
    assert te["members"].sum() == has.sum()
    assert abs(te["share"].sum() - 1.0) < 1e-12
    ls = res.truce_lifespan(30)
    s = ls["in_force_after"].values
    assert (np.diff(s) <= 1e-12).all() and ((ls["hazard"] >= 0) & (ls["hazard"] <= 1)).all()
    assert ls["ended"].sum() == int((has & ~np.isnan(coll)).sum())
    if (~np.isnan(coll[has])).all():
        assert abs(ls.attrs["median_days"] - np.median(coll[has] - agree[has])) <= 30


def test_rounds_held_during_a_truce_extend_it_on_average():
    """Talks towards a fuller deal: a scheduled round during a truce at which both sides would
    extend (the deadline's rule, here a coin-flip around the threshold) and nobody walks out sets
    a new deadline and settles standing accusations.  Adding rounds in July to October gives
    truces in force then more chances to be extended: more extensions, and first truces that
    last longer on average (restricted to the horizon), never less."""
    extra = [{"date": f"2025-{m:02d}-15", "type": "talks", "name": f"extra {m}"} for m in (7, 8, 9, 10)]
    params = dict(trust0_us=0.6, trust0_cn=0.6, compliance_mean_us=0.6, compliance_mean_cn=0.6, threshold=0.6,
                  extension_noise=0.1, noise_us=0.0, noise_cn=0.0, compliance_sd_us=0.0, compliance_sd_cn=0.0,
                  members=120, horizon=400)
    base = negotiated(**params)
    more_events = standoff_events() + extra
    sc = base.scenario.with_(events=[*[e.model_dump(exclude_none=True) for e in base.scenario.events], *extra])
    more = simulate(sc)
    assert len(more.scenario.events) == len(more_events)

    def lived(res):
        agree, coll, _ = _ends(res)
        has = ~np.isnan(agree)
        return np.where(np.isnan(coll), 400.0, coll)[has] - agree[has]

    a, b = lived(base), lived(more)
    assert a.size > 60 and a.size == b.size
    ext = lambda r: r.ds.negotiation.sel(neg_output="extensions").values.sum()  # noqa: E731
    assert ext(more) > ext(base)
    assert b.mean() > a.mean() + 5.0


# ---------------------------------------------------------------- resolve from evidence

def test_both_resolves_come_from_one_share_of_gdp_on_each_sides_economy():
    """By default each side's resolve is the dataset's one ``resolve`` (% of GDP a year, the same
    draw for both sides) on its own GDP: the two differ only by the economies' sizes in every
    member, and ``negotiation.resolve`` is the one resolve input a sensitivity study sees."""
    from standoff import load_scenario
    from standoff.ensemble import plan
    from standoff.layout import N_RES_CN, N_RES_US
    pl = plan(load_scenario("london-2025").negotiating().with_(members=64))
    npar = pl.draw(0, 64)["npar"]
    assert np.ptp(npar[:, N_RES_US]) > 0  # drawn, not one number
    np.testing.assert_allclose(npar[:, N_RES_US] / npar[:, N_RES_CN], 29000 / 18700, rtol=1e-12)
    assert [u.key for u in pl.uncertain_inputs() if "resolve" in u.key] == ["negotiation.resolve"]


def test_a_scenario_may_set_one_sides_resolve_and_the_other_keeps_the_shared_one():
    from standoff import load_scenario
    from standoff.ensemble import plan
    from standoff.layout import N_RES_CN, N_RES_US
    base = load_scenario("london-2025").negotiating().with_(members=32)
    neg = base.negotiation.model_dump()
    neg["parameters"] = {**neg["parameters"], "resolve": 0.4, "resolve_cn": 0.9}
    npar = plan(base.with_(negotiation=neg)).draw(0, 32)["npar"]
    np.testing.assert_allclose(npar[:, N_RES_US], 0.4 / 100 * 29000 / 365)
    np.testing.assert_allclose(npar[:, N_RES_CN], 0.9 / 100 * 18700 / 365)


def _refusal(tmp_path, text):
    """The message of the StandoffError a scenario file with ``text`` is refused with."""
    from standoff.ensemble import plan
    from standoff.errors import StandoffError
    from standoff.scenario import load_scenario
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(StandoffError) as e:
        plan(load_scenario(f))
    return str(e.value)


def test_a_side_resolve_outside_the_domain_is_refused_with_its_field(tmp_path):
    msg = _refusal(tmp_path, "name: x\nstart: 2025-01-01\nhorizon_days: 30\nnegotiation: {enabled: true, "
                             "parameters: {resolve_cn: -1}}\n")
    assert "negotiation.parameters.resolve_cn" in msg and "-1" in msg


def test_a_period_of_the_political_calendar_moves_who_concedes_and_when():
    """``political_calendar``: while a side's resolve is halved (an election near) its pressure
    passes it sooner, and in no member later; the other side is untouched (its first passing
    day is the same in every member); after the period its resolve is back (a period that ends
    before any pressure builds changes nothing)."""
    from standoff.outcomes import Outcome
    base = standoff_events()
    cal = {"date": "2025-01-15", "type": "political_calendar", "side": "US", "until": "2025-12-31",
           "resolve_multiplier": 0.5, "what": "an election near"}
    early = {**cal, "until": "2025-01-16"}
    runs = {}
    for name, extra in (("none", []), ("cal", [cal]), ("early", [early])):
        sc = make(members=64, horizon_days=400, trajectories=0, events=[*base, *extra],
                  negotiation={"enabled": False, "parameters": {"resolve_us": 0.8, "resolve_cn": 0.8}})
        res = simulate(sc)
        runs[name] = (Outcome.parse("concede:US").values(res), Outcome.parse("concede:CN").values(res))
    us0, cn0 = runs["none"]
    us1, cn1 = runs["cal"]
    assert (us1 <= us0).all() and (us1 < us0).any()
    np.testing.assert_array_equal(cn1, cn0)
    np.testing.assert_array_equal(runs["early"][0], us0)


def test_a_political_calendar_that_ends_before_it_starts_is_refused(tmp_path):
    head = "name: x\nstart: 2025-01-01\nhorizon_days: 90\nevents:\n"
    msg = _refusal(tmp_path, head + "  - {date: 2025-03-01, type: political_calendar, side: US, until: 2025-02-01, "
                                    "resolve_multiplier: 0.5}\n")
    assert "events[0" in msg and "until" in msg and "2025-02-01" in msg
    msg = _refusal(tmp_path, head + "  - {date: 2025-01-05, type: political_calendar, side: US, until: 2025-02-01, "
                                    "resolve_multiplier: 0}\n")
    assert "resolve_multiplier" in msg
    # two periods of one side that overlap: the first's end would reset the second's multiplier
    msg = _refusal(tmp_path, head +
                   "  - {date: 2025-01-05, type: political_calendar, side: US, until: 2025-02-10, resolve_multiplier: 0.5}\n"
                   "  - {date: 2025-02-01, type: political_calendar, side: US, until: 2025-03-01, resolve_multiplier: 0.7}\n"
                   "  - {date: 2025-02-01, type: political_calendar, side: CN, until: 2025-03-01, resolve_multiplier: 0.7}\n")
    assert "events[1" in msg and "overlaps" in msg and "2025-02-01" in msg


# ---------------------------------------------------------------- bargaining with private information,
# deal terms from the game, compliance as a choice

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from standoff.core.negotiation import bargain, chosen_compliance  # noqa: E402

_bargain = bargain.py_func
_chosen = chosen_compliance.py_func
ratio = st.floats(0.0, 3.0)


@settings(max_examples=300, deadline=None)
@given(ratio, ratio, ratio, ratio, st.floats(0.0, 1.0))
def test_bargain_splits_offer_and_demand_or_ends_in_an_impasse(rus, rcn, rcn_seen, rus_seen, delay):
    c_us, c_cn = _bargain(rus, rcn, rcn_seen, rus_seen, delay)
    if c_us < 0:  # an impasse: some demand exceeds its offer by more than twice what a round's delay costs
        gap = max(min(1, rus_seen) - min(1, rus), min(1, rcn_seen) - min(1, rcn))
        assert gap / 2 > min(rus, rcn) * delay
        return
    for c, offer, want in ((c_us, min(1, rus), min(1, rus_seen)), (c_cn, min(1, rcn), min(1, rcn_seen))):
        assert 0.0 <= c <= 1.0
        assert min(offer, want) - 1e-12 <= c <= max(offer, want) + 1e-12


@settings(max_examples=200, deadline=None)
@given(ratio, ratio, st.floats(0.0, 1.0))
def test_read_exactly_each_side_concedes_its_own_ratio_and_a_round_never_stalls(rus, rcn, delay):
    assert _bargain(rus, rcn, rcn, rus, delay) == (min(1.0, rus), min(1.0, rcn))


@settings(max_examples=300, deadline=None)
@given(st.floats(0.01, 2.0), st.floats(0.01, 2.0), st.floats(0.01, 2.0), st.floats(0.0, 0.3), st.floats(0.0, 0.5),
       st.floats(0.3, 0.8))
def test_chosen_compliance_falls_with_the_concession_and_rises_with_the_relief(c1, c2, relief, sd_q, noise, theta):
    lo, hi = sorted((c1, c2))
    q_lo, q_hi = _chosen(lo, relief, sd_q, noise, theta), _chosen(hi, relief, sd_q, noise, theta)
    assert q_hi <= q_lo + 1e-12  # a bigger concession is never honoured more
    for q in (q_lo, q_hi):  # defect outright, or stay at or above the breach threshold
        assert q == 0.0 or theta - 1e-12 <= q <= 1.0
    # more relief from the truce never lowers compliance
    assert _chosen(hi, 2 * relief, sd_q, noise, theta) >= q_hi - 1e-12


def test_a_concession_far_beyond_the_truces_relief_is_not_honoured():
    assert _chosen(0.5, 0.5, 0.12, 0.2, 0.6) > 0.7  # worth what it costs: complied with, above the threshold
    assert _chosen(0.9, 0.5, 0.12, 0.2, 0.6) == 0.0  # costs nearly twice the relief: defected from
    assert _chosen(0.0, 0.5, 0.12, 0.2, 0.6) == 1.0  # nothing conceded: nothing to shade


def _neg(res, name):
    return res.ds.negotiation.sel(neg_output=name).values


def test_private_information_brings_impasses_and_later_deals_and_exact_readings_none():
    exact = negotiated(belief_sd=0.0, members=120)
    unsure = negotiated(belief_sd=0.6, belief_learning=0.3, members=120)
    assert np.all(_neg(exact, "impasses") == 0)
    assert _neg(unsure, "impasses").mean() > 0.2
    a0, a1 = _neg(exact, "first_agreement_day"), _neg(unsure, "first_agreement_day")
    assert np.nanmean(np.where(np.isnan(a1), 400, a1)) > np.nanmean(np.where(np.isnan(a0), 400, a0))


def test_deal_tariffs_come_back_towards_the_status_quo_ante_and_keep_what_a_scenario_says():
    from standoff.ensemble import status_quo_ante
    sc_net = make().network()
    base_us, base_cn = status_quo_ante(sc_net, "us"), status_quo_ante(sc_net, "cn")
    res = negotiated(belief_sd=0.0, members=60)
    t_us, t_cn = _neg(res, "first_deal_tariff_us"), _neg(res, "first_deal_tariff_cn")
    dealt = np.isfinite(t_us)
    assert dealt.mean() > 0.8
    # (outputs are stored in single precision) between the status quo ante and the tariff in force when the deal was made (1.45, 1.25)
    assert np.all((t_us[dealt] >= base_us - 1e-6) & (t_us[dealt] <= 1.45 + 1e-6))
    assert np.all((t_cn[dealt] >= base_cn - 1e-6) & (t_cn[dealt] <= 1.25 + 1e-6))
    # a side that concedes in full goes all the way back; the concession is the share taken back
    c_us = _neg(res, "concession_us")[dealt]
    np.testing.assert_allclose(t_us[dealt], base_us + (1.45 - base_us) * (1 - c_us), atol=1e-6)
    kept = negotiated(belief_sd=0.0, members=60, tariff_kept_us=0.3)
    assert np.nanmin(_neg(kept, "first_deal_tariff_us")) >= base_us + 0.3 - 1e-6


def test_compliance_is_chosen_at_the_deal_unless_a_scenario_imposes_it():
    chosen = negotiated(compliance_mean_us=None, compliance_mean_cn=None, members=60)
    q = _neg(chosen, "chosen_compliance_cn")
    dealt = np.isfinite(_neg(chosen, "first_agreement_day"))
    assert dealt.mean() > 0.8 and np.all(np.isnan(q[~dealt]))
    theta = 0.6  # the default threshold
    assert np.all((q[dealt] == 0.0) | (q[dealt] >= theta))
    imposed = negotiated(members=60)  # the helper imposes 0.9 on both sides
    assert np.all(_neg(imposed, "defections") == 0)


def test_stopped_plants_make_a_sector_loud_but_change_nothing_physical():
    """``stoppage_voice``: lost output weighs more in its side's pain while its firms stand
    stopped; material, output and losses are the same (it is politics only), and the US side
    passes its resolve no later in any member."""
    from standoff.outcomes import Outcome
    runs = {}
    for v in (0.0, 3.0):
        sc = make(members=40, horizon_days=300, trajectories=0, events=standoff_events()[:3],
                  parameters={"stoppage_voice": v},
                  negotiation={"enabled": False, "parameters": {"resolve": 0.05}})
        runs[v] = simulate(sc)
    quiet, loud = runs[0.0], runs[3.0]
    np.testing.assert_array_equal(quiet.ds["output_loss_usd_bn"].values, loud.ds["output_loss_usd_bn"].values)
    p0 = quiet.ds["pain_usd_bn"].sel(side="US", pain_kind="output").values
    p1 = loud.ds["pain_usd_bn"].sel(side="US", pain_kind="output").values
    assert np.all(p1 >= p0 - 1e-9) and np.any(p1 > p0 * 1.05)
    assert loud.ds["stopped_weeks"].sel(region="USA").values.sum() > 0  # plants did stop
    c0, c1 = Outcome.parse("concede:US").values(quiet), Outcome.parse("concede:US").values(loud)
    assert np.all(c1 <= c0)


def test_the_controller_counts_the_leverage_it_loses_as_capacity_outside_it_grows():
    """``chokepoint_value_share``: new capacity outside the controller lowers its share of world
    capacity, and the share of its leverage lost, times the value of the output it holds hostage,
    is strategic pain to it; nothing physical changes, and without new capacity there is none."""
    new_plant = {"date": "2025-02-01", "type": "capacity", "region": "JPN", "product": "MAGNET",
                 "tonnes_per_year": 20000, "ramp_days": 30}
    runs = {}
    for share in (0.0, 0.5):
        for events, growth in ((standoff_events()[:3], 0.0), ([*standoff_events()[:3], new_plant], 0.0)):
            sc = make(members=16, horizon_days=200, trajectories=0, events=events,
                      parameters={"chokepoint_value_share": share, "capacity_growth_per_year": growth})
            runs[(share, len(events))] = simulate(sc)

    def strategic_cn(res):
        return res.ds["pain_usd_bn"].sel(side="CN", pain_kind="strategic").values

    # no capacity added outside: no leverage lost, whatever the chokepoint is worth
    np.testing.assert_array_equal(strategic_cn(runs[(0.0, 3)]), strategic_cn(runs[(0.5, 3)]))
    # a new plant in Japan: the controller's strategic pain rises, its material and output do not move
    assert np.all(strategic_cn(runs[(0.5, 4)]) > strategic_cn(runs[(0.0, 4)]))
    np.testing.assert_array_equal(runs[(0.5, 4)].ds["output_loss_usd_bn"].values,
                                  runs[(0.0, 4)].ds["output_loss_usd_bn"].values)


def test_an_imposed_compliance_is_reported_as_the_mean_in_force():
    res = negotiated(members=30)  # the helper imposes 0.9 on both sides
    q = _neg(res, "chosen_compliance_us")
    dealt = np.isfinite(_neg(res, "first_agreement_day"))
    np.testing.assert_allclose(q[dealt], 0.9, rtol=1e-6)


def test_an_older_scenario_setting_a_tariff_floor_is_told_what_replaced_it(tmp_path):
    msg = _refusal(tmp_path, "name: x\nstart: 2025-01-01\nhorizon_days: 90\nnegotiation:\n  enabled: true\n"
                             "  parameters: {tariff_floor_us: 0.49}\nevents: []\n")
    assert "negotiation.parameters.tariff_floor_us" in msg and "tariff_kept_us" in msg and "status quo ante" in msg


def test_a_dataset_row_with_an_old_tariff_floor_is_refused_with_what_replaced_it(tmp_path):
    import shutil
    from standoff.errors import StandoffError
    from importlib import resources

    from standoff.network import load_network
    src = resources.files("standoff") / "data" / "baseline-2024"
    dst = tmp_path / "mine"
    shutil.copytree(src, dst)
    (dst / "negotiation.csv").write_text("name,value,low,high,unit,source,note\n"
                                         "tariff_floor_us,0.49,0.49,0.49,fraction,GVA,copied from an older dataset\n")
    with pytest.raises(StandoffError) as e:
        load_network(str(dst))
    assert "negotiation.csv" in str(e.value) and "tariff_kept_us" in str(e.value)


def test_talks_over_a_dataset_without_goods_trade_are_refused_and_its_status_quo_is_no_tariff(tmp_path):
    """Deal terms are tariffs on goods: a dataset whose trade_goods.csv is empty has none to set, so
    a negotiated run is refused with the field named (not run on an empty tariff table), and the
    status quo ante it would return to is 0, not NaN."""
    import shutil
    from importlib import resources

    from standoff.ensemble import plan, status_quo_ante
    from standoff.errors import StandoffError
    from standoff.network import load_network
    from standoff.scenario import load_scenario
    dst = tmp_path / "nogoods"
    shutil.copytree(resources.files("standoff") / "data" / "baseline-2024", dst)
    for table in ("trade_goods", "countermeasures"):  # counter-measures name goods groups
        path = dst / f"{table}.csv"
        path.write_text(path.read_text().splitlines()[0] + "\n")
    net = load_network(str(dst))
    assert status_quo_ante(net, "us") == 0.0 and status_quo_ante(net, "cn") == 0.0
    f = tmp_path / "s.yaml"
    f.write_text(f"name: x\nbaseline: {dst}\nstart: 2025-01-01\nhorizon_days: 60\nnegotiation: {{enabled: true}}\n"
                 "events: []\n")
    with pytest.raises(StandoffError) as e:
        plan(load_scenario(f))
    assert "negotiation.enabled" in str(e.value) and "trade_goods.csv" in str(e.value)
    f.write_text(f"name: x\nbaseline: {dst}\nstart: 2025-01-01\nhorizon_days: 60\nevents: []\n")
    plan(load_scenario(f))  # without talks the dataset runs


# ---------------------------------------------------------------- extension at a deadline

from standoff.core.negotiation import extends  # noqa: E402

_extends = extends.py_func
share = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(share, ratio, ratio, share, share, st.floats(0.0, 0.3), st.floats(0.01, 0.99), st.floats(0.01, 0.99),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_a_side_extends_more_readily_the_more_a_lapse_would_hurt_and_the_less_it_concedes(
        trust, rho_pre, rho_now, conc, q, sd, u1, u2, more_trust, more_pain):
    now = _extends(trust, rho_pre, rho_now, conc, q, sd, u1, u2)
    if now:  # more trust, more pressure at stake, or a smaller concession never turn a yes into a no
        assert _extends(min(1.0, trust + more_trust), rho_pre, rho_now, conc, q, sd, u1, u2)
        assert _extends(trust, rho_pre + more_pain, rho_now, conc, q, sd, u1, u2)
        assert _extends(trust, rho_pre, rho_now + more_pain, conc, q, sd, u1, u2)
        assert _extends(trust, rho_pre, rho_now, conc * 0.5, q, sd, u1, u2)
    else:  # and less of them never turn a no into a yes
        assert not _extends(trust * 0.5, rho_pre, rho_now, conc, q, sd, u1, u2)
        assert not _extends(trust, rho_pre, rho_now, min(1.0, conc + more_trust), q, sd, u1, u2)


def test_a_side_under_no_noise_extends_exactly_when_the_trusted_stake_covers_its_concession():
    assert _extends(0.8, 0.5, 0.3, 0.5, 0.76, 0.0, 0.5, 0.5)       # 0.8 x 0.5 = 0.40 >= 0.38
    assert not _extends(0.7, 0.5, 0.3, 0.5, 0.76, 0.0, 0.5, 0.5)   # 0.35 < 0.38
    assert _extends(0.7, 0.5, 0.9, 0.5, 0.76, 0.0, 0.5, 0.5)       # the standoff has gone on hurting: 0.63
    assert _extends(0.0, 0.5, 0.3, 0.0, 0.76, 0.0, 0.5, 0.5)       # nothing conceded, nothing to lose


def test_an_older_scenario_weighting_the_relief_of_an_extension_is_told_it_was_retired(tmp_path):
    msg = _refusal(tmp_path, "name: x\nstart: 2025-01-01\nhorizon_days: 90\nnegotiation:\n  enabled: true\n"
                             "  parameters: {extension_relief_weight: 0.2}\nevents: []\n")
    assert "negotiation.parameters.extension_relief_weight" in msg and "retired" in msg and "extension_noise" in msg


# ---------------------------------------------------------------- looking ahead at pressure

from standoff.core.negotiation import init_state, projected_ratio  # noqa: E402
from standoff.layout import N_LOOK, N_RES_CN, N_RES_US, NEG_PARAMS, N_STATE  # noqa: E402

_projected = projected_ratio.py_func


def _game(look: float, resolve: float = 2.0):
    npar = np.zeros(len(NEG_PARAMS))
    npar[N_RES_US] = resolve
    npar[N_LOOK] = look
    npar[N_RES_CN] = resolve
    st = np.zeros(N_STATE)
    init_state.py_func(st, npar)
    return npar, st


def test_a_side_projects_its_pressure_ahead_at_todays_rate_of_change():
    npar, st = _game(look=10.0)
    assert _projected(1.0, npar, st, 0) == 0.5          # first day: nothing to project from
    assert _projected(1.2, npar, st, 0) == pytest.approx((1.2 + 10.0 * 0.2) / 2.0)   # rising: it expects more
    assert _projected(0.2, npar, st, 0) == 0.0          # falling fast: never below no pressure
    npar0, st0 = _game(look=0.0)
    for total in (1.0, 3.0, 0.5):                        # look_ahead_days 0: pressure as remembered
        assert _projected(total, npar0, st0, 0) == total / 2.0


def test_looking_ahead_moves_a_side_whose_pain_is_rising_no_later():
    """In london-2025 China's pain rises through April (lost US sales): a side that looks ahead
    passes its resolve no later than one that weighs only remembered pain, member by member."""
    from standoff import load_scenario
    base = load_scenario("london-2025").negotiating()
    days = {}
    for look in (0.0, 10.5):
        neg = base.negotiation.model_dump()
        neg["parameters"] = {**neg.get("parameters", {}), "look_ahead_days": look}
        res = simulate(base.with_(members=60, trajectories=0, negotiation=neg))
        days[look] = _neg(res, "first_concession_day_cn")
    ahead, remembered = (np.where(np.isnan(d), np.inf, d) for d in (days[10.5], days[0.0]))
    assert np.median(ahead) < np.median(remembered)


# ---------------------------------------------------------------- increases a truce postpones (a freeze)

def _postponable(rate=2.0, date="2025-03-15", announced="2025-01-01", **extra):
    ev = {"date": date, "type": "tariff", "importer": "USA", "exporter": "CHN", "rate": rate, "postponable": True,
          **extra}
    if announced is not None:
        ev["announced"] = announced
    return ev


def _negotiated_with(events, members, horizon=220, **params):
    base = {"resolve_us": 0.3, "resolve_cn": 0.3, "evidence_weight": 0.0, "measure_rate_us": 0.0,
            "measure_rate_cn": 0.0, "extension_noise": 0.0, "belief_sd": 0.0, **params}
    return make(members=members, horizon_days=horizon, trajectories=0, events=[*standoff_events(), *events],
                negotiation={"enabled": True, "start": "2025-01-20", "parameters": base})


@pytest.mark.parametrize("rate", [2.0, 1.0])
def test_a_truce_postpones_an_announced_increase_and_a_lapse_brings_it_in(rate):
    """Followed day by day in the reference (the kernel is bit-identical to it: test_reference):
    the increase is pending from its announcement; on its date it applies where no truce is in
    force, and where one is, the tariff stays at the deal's and the change waits, still pending
    (both sides price it as due at once); when that truce lapses the tariff goes to the event's
    rate, not back to where it stood at the deal (also for a rate below the tariff in force, 1.45:
    what the event would have set), and nothing is pending any more."""
    from standoff.core.reference import actions_by_day, new_member
    from standoff.ensemble import plan
    from standoff.layout import S_ACTIVE, S_DEAL_TUS, S_PRE_TUS, S_SCHED_DAY_US, S_SCHED_FROM_US, S_SCHED_US
    # trust far below the threshold: truces lapse at their first deadline
    sc = _negotiated_with([_postponable(rate=rate)], members=8, trust0_us=0.1, trust0_cn=0.1, threshold=0.6,
                          compliance_mean_us=0.62, compliance_mean_cn=0.62, trust_memory_days=3650.0,
                          collapse_days=3650.0, repair_days=365.0)
    pl = plan(sc)
    net = pl.net
    us, cn = net.regions.index("USA"), net.regions.index("CHN")
    date = sc.day_of(__import__("datetime").date(2025, 3, 15))
    by_day = actions_by_day(pl)
    inputs = pl.draw(0, 8)
    seen = {"postponed": 0, "applied": 0, "lapsed after": 0}
    for k in range(8):
        m = new_member(pl, inputs, k, 0)
        active_on_date = False
        for t in range(sc.horizon_days):
            was = m.nst[S_ACTIVE] > 0.5
            before = m.tariff[(cn, us, 0)]
            m.step(t, by_day.get(t, []))
            now = m.tariff[(cn, us, 0)]
            if t < date:
                assert m.nst[S_SCHED_US] == rate  # announced on day 0, pending until its date
            elif t > date and (not active_on_date or m.nst[S_ACTIVE] < 0.5):
                # applied on its date, or brought in by a lapse: no longer pending (it has come in,
                # from the tariff it rose from, or a later deal took over from it)
                assert m.nst[S_SCHED_US] == 0.0 or m.nst[S_SCHED_FROM_US] >= 0.0, t
            if t == date:
                if was and m.nst[S_ACTIVE] > 0.5:
                    active_on_date = True
                    seen["postponed"] += 1
                    assert now == before and m.nst[S_PRE_TUS] == rate
                    assert m.nst[S_SCHED_US] == rate and m.nst[S_SCHED_DAY_US] == date  # still pending
                    assert m.nst[S_SCHED_FROM_US] == -1.0
                elif not was:
                    seen["applied"] += 1
                    assert now == rate and m.nst[S_SCHED_FROM_US] == before  # in, from the tariff before it
            if t > date and active_on_date and m.nst[S_ACTIVE] > 0.5:
                assert m.nst[S_SCHED_US] == rate  # postponed: pending while the truce lasts
            if t > date and active_on_date and was and m.nst[S_ACTIVE] < 0.5:
                seen["lapsed after"] += 1
                assert now == rate  # reverting brings the postponed change in
                assert m.nst[S_SCHED_FROM_US] == m.nst[S_DEAL_TUS] and m.nst[S_SCHED_DAY_US] == t
                active_on_date = False
    assert seen["postponed"] >= 2 and seen["lapsed after"] >= 1, seen


def test_the_table_counts_an_announced_increase_as_part_of_the_escalation():
    """With exact readings each side takes back its own pressure ratio of its escalation; a pending
    increase is part of it, so the first deal's US tariff is the status quo ante plus the share kept
    of the increase's rate, not of the tariff in force (1.45), whether the deal comes before the
    increase's date (a freeze, or part of the rise going ahead) or after it (applied by then)."""
    from standoff.ensemble import status_quo_ante
    base_us = status_quo_ante(make().network(), "us")
    res = simulate(_negotiated_with([_postponable()], members=60))
    t_us, c_us = _neg(res, "first_deal_tariff_us"), _neg(res, "concession_us")
    dealt = np.isfinite(t_us)
    assert dealt.mean() > 0.8
    np.testing.assert_allclose(t_us[dealt], base_us + (2.0 - base_us) * (1 - c_us[dealt]), atol=1e-6)
    plain = simulate(_negotiated_with([], members=60))
    assert np.nanmedian(_neg(plain, "first_deal_tariff_us")) < np.nanmedian(t_us)


def test_without_talks_a_postponable_increase_is_left_to_the_outcome_events():
    """Its fate is the talks'; without them the scenario's outcome events say what became of it
    (truce-2018's List 3 rise: postponed, then applied on 10 May 2019)."""
    from standoff.ensemble import plan
    ev = _postponable()
    with_it = plan(make(horizon_days=220, events=[*standoff_events(), ev]))
    without = plan(make(horizon_days=220, events=standoff_events()))
    np.testing.assert_array_equal(with_it.actions["kind"], without.actions["kind"])
    from standoff.layout import A_ANNOUNCE_TARIFF, A_POSTPONABLE_TARIFF
    sc = standoff.load_scenario("truce-2018")
    # announced (24 Sep 2018) before a later start: pending from the copy's first day
    late = plan(sc.with_(members=2, start=__import__("datetime").date(2018, 10, 1), horizon_days=400))
    k = list(late.actions["kind"]).index(A_ANNOUNCE_TARIFF)
    assert late.actions["day"][k] == 0
    off = plan(sc.with_(members=2, negotiation={**sc.negotiation.model_dump(), "enabled": False}))
    assert A_POSTPONABLE_TARIFF in plan(sc.with_(members=2)).actions["kind"]
    assert A_POSTPONABLE_TARIFF not in off.actions["kind"]


@pytest.mark.parametrize("change, field, needle", [
    ({"importer": "EU"}, "importer", "negotiating side"),
    ({"groups": ["agriculture"]}, "groups", "all groups"),
    ({"outcome": True}, "outcome", "one of the two"),
    ({"announced": "2025-04-01"}, "announced", "on or before its date"),
    ({"postponable": False}, "announced", "postponable increase only"),
])
def test_a_postponable_increase_that_is_not_a_term_of_the_talks_is_refused(tmp_path, change, field, needle):
    import yaml
    ev = {**_postponable(), **change}
    if change.get("importer") == "EU":
        ev["exporter"] = "CHN"
    doc = {"name": "x", "start": "2025-01-01", "horizon_days": 120, "negotiation": {"enabled": True},
           "events": [ev]}
    msg = _refusal(tmp_path, yaml.safe_dump(doc))
    assert f"events[0].{field}" in msg and needle in msg, msg


def test_two_postponable_increases_pending_at_once_are_refused(tmp_path):
    import yaml
    doc = {"name": "x", "start": "2025-01-01", "horizon_days": 120, "negotiation": {"enabled": True},
           "events": [_postponable(date="2025-03-01"), _postponable(rate=2.5, date="2025-04-01")]}
    msg = _refusal(tmp_path, yaml.safe_dump(doc))
    assert "events[1].announced" in msg and "pending at once" in msg, msg
    doc["events"][1]["announced"] = "2025-03-02"
    from standoff.scenario import load_scenario
    f = tmp_path / "ok.yaml"
    f.write_text(yaml.safe_dump(doc))
    load_scenario(f)  # one after the other: accepted


# ---------------------------------------------------------------- an announced increase, priced ahead

def _daily_mean_pain(v0, tau, new, tau0, pt, sigma, div, prem, redir, adj, lead, term):
    """The oracle: trade_goods' own daily steps for one link (imports toward the target over the
    adjustment time, the exporter placing a share of lost sales elsewhere over the same time), from
    the steady state at ``tau``, with the increase on day ``lead``; the extra pain a day over the term."""
    from standoff.core.trade import buyer_loss, import_target
    inv = 1.0 / adj
    star = [import_target(v0, x, tau0, pt, sigma) for x in (tau, new)]
    cs = [buyer_loss(v0, x, tau0, pt, sigma, div, 0.0, 0.0) for x in (tau, new)]
    tv, red = star[0], (v0 - star[0]) * redir
    lost0 = v0 - star[0]
    imp = exp_ = 0.0
    for d in range(int(term)):
        k = 1 if d >= lead else 0
        tv += (star[k] - tv) * inv
        lost = v0 - tv
        red += (lost * redir - red) * inv
        imp += cs[k] + prem * div * lost - (cs[0] + prem * div * lost0)
        exp_ += (lost - red) - (lost0 - lost0 * redir)
    return imp / term, exp_ / term


def _daily_still_to_come(v0, tau, new, tau0, pt, sigma, div, prem, redir, adj, lead, term):
    """The oracle for an increase that came in ``-lead`` days ago: the same daily steps from the day
    it came in; the mean extra pain a day over the next term less today's."""
    from standoff.core.trade import buyer_loss, import_target
    inv, e = 1.0 / adj, int(-lead)
    star = [import_target(v0, x, tau0, pt, sigma) for x in (tau, new)]
    cs = buyer_loss(v0, new, tau0, pt, sigma, div, 0.0, 0.0)
    tv, red = star[0], (v0 - star[0]) * redir
    imp, exp_ = [], []
    for _ in range(e + int(term)):
        tv += (star[1] - tv) * inv
        lost = v0 - tv
        red += (lost * redir - red) * inv
        imp.append(cs + prem * div * lost)
        exp_.append(lost - red)
    return (np.mean(imp[e:]) - imp[e], np.mean(exp_[e:]) - exp_[e])


@pytest.mark.parametrize("lead, adj, redir", [(-10, 60, 0.3), (-30, 60, 0.0), (-5, 120, 0.5)])
def test_an_increase_that_came_in_is_weighed_for_the_pain_still_to_come(lead, adj, redir):
    """After it comes in, the sides weigh what is still to come from it, as the daily steps would
    bring it (within 5%), continuous with what they weighed the day before for the exporter (the
    buyers' surplus loss is felt at once), and less as the days pass."""
    from standoff.core.trade import pending_tariff_pain
    args = (1.4e9, 0.12, 0.175, 0.027, 1.0, 3.0, 0.62, 0.08, redir, float(adj))
    got = pending_tariff_pain(*args, float(lead), 90.0)
    np.testing.assert_allclose(got, _daily_still_to_come(*args, float(lead), 90.0), rtol=0.05)
    assert got[1] > 0
    at_once, just_in = pending_tariff_pain(*args, 0.0, 90.0), pending_tariff_pain(*args, -1e-9, 90.0)
    assert just_in[1] == pytest.approx(at_once[1], rel=1e-6)
    later = pending_tariff_pain(*args, float(lead) - 30.0, 90.0)
    assert later[0] < got[0] and later[1] < got[1]


@pytest.mark.parametrize("lead, adj, redir", [(0, 60, 0.9), (31, 60, 0.9), (60, 30, 0.3), (10, 120, 0.0)])
def test_an_announced_increase_is_priced_as_the_daily_steps_would_inflict_it(lead, adj, redir):
    """The closed form a side uses for an increase not yet in force agrees with the model's own
    daily goods-trade steps over a deal's term (within 5%: continuous time against daily steps, about
    half a day's shift, which matters most when the increase would be in force for a few weeks)."""
    from standoff.core.trade import pending_tariff_pain
    args = (1.4e9, 0.12, 0.175, 0.027, 1.0, 3.0, 0.62, 0.08, redir, float(adj), float(lead), 90.0)
    got = pending_tariff_pain(*args)
    want = _daily_mean_pain(*args)
    np.testing.assert_allclose(got, want, rtol=0.05)
    assert got[0] > 0 and got[1] > 0
    # nothing when due after the term or when it is no increase; more for a larger increase
    assert pending_tariff_pain(*args[:10], 90.0, 90.0) == (0.0, 0.0)
    assert pending_tariff_pain(*args[:2], 0.12, *args[3:]) == (0.0, 0.0)
    bigger = pending_tariff_pain(*args[:2], 0.25, *args[3:])
    assert bigger[0] > got[0] and bigger[1] > got[1]


def test_an_announced_increase_moves_each_side_no_later_and_changes_nothing_physical():
    """Two runs, common random numbers, no round that could end in a deal: an increase announced on
    1 January for 15 April, and the same increase with no announcement before its date.  Each side
    prices the announced one ahead (the importer's buyers, the exporter), so neither side passes
    its resolve later in any member, China earlier in some; trade, output and pain are the same bits
    (the threat is weighed, not felt)."""
    events = [e for e in standoff_events() if e["type"] != "talks"]  # no scheduled round
    params = {"resolve_us": 0.3, "resolve_cn": 0.3, "trigger_ratio": 100.0}  # and none that pressure calls
    runs = {}
    for name, announced in (("announced", "2025-01-01"), ("unannounced", "2025-04-15")):
        sc = make(members=60, horizon_days=200, trajectories=0,
                  events=[*events, _postponable(date="2025-04-15", announced=announced)],
                  negotiation={"enabled": True, "start": "2025-01-20", "parameters": params})
        runs[name] = simulate(sc)
    a, u = runs["announced"], runs["unannounced"]
    for side in ("us", "cn"):
        fa, fu = (np.where(np.isnan(x), np.inf, x) for x in (_neg(a, f"first_concession_day_{side}"),
                                                           _neg(u, f"first_concession_day_{side}")))
        assert (fa <= fu).all(), side
    fa, fu = (np.where(np.isnan(x), np.inf, x) for x in (_neg(a, "first_concession_day_cn"),
                                                       _neg(u, "first_concession_day_cn")))
    assert (fa < fu).any()
    assert np.isnan(_neg(a, "first_agreement_day")).all()  # no deal: nothing but the weighing differs
    for name in a.ds.data_vars:
        if name not in ("negotiation", "pressure_ratio") and "member" in a.ds[name].dims:
            np.testing.assert_array_equal(a.ds[name].values, u.ds[name].values, err_msg=name)
