"""Invariants of the engine: steady state, conservation, non-negativity, monotonicity, reproducibility."""
import numpy as np
import pandas as pd
import pytest

from standoff import simulate
from standoff.ensemble import SerialExecutor
from standoff.testing import assert_conserved

from .conftest import control, run


def test_baseline_stays_at_steady_state():
    res = simulate("baseline", members=16)
    ds = res.ds
    assert float(ds.output_loss_usd_bn.max()) == 0.0
    assert np.isnan(ds.first_stockout_day).all()
    assert float(abs(ds.price_multiple - 1).max()) < 1e-9
    assert float(abs(ds.cover_days.diff("time")).max()) < 1e-9
    assert float(abs(ds.pain_usd_bn).max()) < 1e-9
    # every region keeps shipping abroad what it shipped in the baseline year
    net = res.scenario.network()
    abroad = net.flows.sum(axis=2) - np.einsum("pee->pe", net.flows)  # [product, exporter]
    assert np.allclose(ds.exports_t.values, abroad[None, None], rtol=2.0 ** -12)  # paths keep 12 mantissa bits
    assert_conserved(res)


def test_material_is_conserved_under_controls_and_releases(london):
    assert_conserved(london)


def test_stocks_and_prices_stay_in_bounds(london):
    ds = london.ds
    assert float(ds.cover_days.min()) >= 0
    assert float(ds.imports_t.min()) >= 0
    assert float(ds.exports_t.min()) >= 0
    assert float(ds.output_fraction.min()) >= 0 and float(ds.output_fraction.max()) <= 1 + 1e-12
    assert float(ds.price_multiple.min()) >= 0.4 - 1e-9 and float(ds.price_multiple.max()) <= 20 + 1e-9


def test_london_2025_runs_out_in_importing_regions_not_in_china(london):
    so = london.stockouts().set_index(["region", "sector"])
    for reg in ("USA", "EU"):
        assert so.loc[(reg, "autos"), "p_stockout"] > 0.5
        # controls from 4 April (day 93); a stockout needs at least the stocks in hand to run down
        assert 93 + 20 < so.loc[(reg, "autos"), "median_day"] < 93 + 150
    # Japan makes part of its own magnets and its buyers stock up when they fear scarcity: it runs
    # short in a minority of members
    assert 0.05 < so.loc[("JPN", "autos"), "p_stockout"] < so.loc[("USA", "autos"), "p_stockout"]
    assert so.loc[("CHN", "autos"), "p_stockout"] < 0.1
    # defense draws first and holds longer stocks
    assert so.loc[("USA", "defense"), "p_stockout"] < so.loc[("USA", "autos"), "p_stockout"]


def test_exporters_that_sell_elsewhere_feel_less_export_pain():
    def export_pain(cn_share):
        res = run(horizon_days=200, events=[
            {"date": "2025-01-10", "type": "tariff", "importer": "USA", "exporter": "CHN", "rate": 1.0},
            {"date": "2025-01-10", "type": "tariff", "importer": "CHN", "exporter": "USA", "rate": 1.0}],
            parameters={"china_export_redirect_share": cn_share})
        p = res.ds.pain_usd_bn.sel(pain_kind="exports")
        return p.sel(side="CN").values, p.sel(side="US").values, res.ds.goods_trade_usd_bn.values

    cn_lo, us_lo, trade_lo = export_pain(0.2)
    cn_hi, us_hi, trade_hi = export_pain(0.8)
    assert (cn_hi < cn_lo).all() and (cn_hi > 0).all()
    # In the long run pain is the unsold share of lost sales (0.2 / 0.8 of it); early on, before
    # exporters have found other buyers, both feel nearly all of it, so the ratio lies between.
    assert (cn_hi / cn_lo > 0.2 / 0.8).all() and (cn_hi / cn_lo < 1.0).all()
    np.testing.assert_array_equal(us_hi, us_lo)  # the US exporters' own share is unchanged
    np.testing.assert_array_equal(trade_hi, trade_lo)  # trade itself is the same; only who feels it changes


def test_china_magnet_exports_fall_when_licensing_starts(london):
    net = london.scenario.network()
    c, p = net.index("region", "CHN"), net.index("product", "MAGNET")
    base = net.flows[p, c].sum() - net.flows[p, c, c]
    x = london.ds.exports_t.sel(region="CHN", product="MAGNET").values  # [member, day]
    assert np.allclose(x[:, :93], base, rtol=2.0 ** -12)  # (paths keep 12 mantissa bits) before 4 April (day 93) trade is as in 2024
    # Covered magnets wait for their licences; uncovered ones (Dy-free grades) still ship after
    # customs inspection, so exports fall, but not to zero (the coverage is 0.05-0.95 by sector).
    assert 0.2 * base < x[:, 93:120].mean() < 0.8 * base


def test_tariffs_cost_both_sides(london):
    pain = london.pain().set_index(["side", "pain_kind"])["median"]
    assert pain[("US", "consumers")] > 0 and pain[("US", "exports")] > 0
    assert pain[("CN", "consumers")] > 0 and pain[("CN", "exports")] > 0


def test_same_seed_same_result_and_different_seed_differs():
    a = run(events=[control(approval={"dist": "uniform", "low": 0.1, "high": 0.5})])
    b = run(events=[control(approval={"dist": "uniform", "low": 0.1, "high": 0.5})])
    c = run(seed=8, events=[control(approval={"dist": "uniform", "low": 0.1, "high": 0.5})])
    assert a.ds.identical(b.ds)
    assert not np.array_equal(a.ds.output_loss_usd_bn.values, c.ds.output_loss_usd_bn.values)


def test_chunking_does_not_change_results():
    from .conftest import make
    sc = make(members=600, events=[control()])
    one = simulate(sc, executor=SerialExecutor(chunk_members=1024))
    many = simulate(sc, executor=SerialExecutor(chunk_members=256))
    for name in ("first_stockout_day", "output_loss_usd_bn", "pain_usd_bn", "inputs"):
        np.testing.assert_array_equal(one.ds[name].values, many.ds[name].values)


def test_the_kernels_block_size_does_not_change_results(monkeypatch):
    """Every draw is keyed by member, so calling the kernel on blocks of 16, 64 or 256 members
    (``ensemble.KERNEL_BLOCK``) gives the same numbers, negotiation and daily paths included."""
    import standoff.ensemble as ens
    from standoff import load_scenario
    sc = load_scenario("london-2025").negotiating().with_(members=70, trajectories=20)
    got = {}
    for blk in (16, 64, 256):
        monkeypatch.setattr(ens, "KERNEL_BLOCK", blk)
        got[blk] = simulate(sc).ds
    for blk in (16, 256):
        for name in got[64].data_vars:
            np.testing.assert_array_equal(got[blk][name].values, got[64][name].values, err_msg=f"{name} at {blk}")


def _stockout(res, region="USA", sector="autos"):
    d = res.ds.first_stockout_day.sel(region=region, sector=sector).values
    return np.where(np.isnan(d), np.inf, d)


@pytest.mark.parametrize("looser,stricter", [
    (control(approval=0.6), control(approval=0.2)),
    (control(delay=20.0), control(delay=80.0)),
    (control(day="2025-03-01"), control(day="2025-02-01")),
    (control(approval=0.3), control(mode="ban")),
])
def test_stricter_controls_never_delay_a_stockout(looser, stricter):
    """Exactly, in every member, with the effects that can postpone a shortfall held off: prices
    trimming demand, customs inspection of licensed goods (a refused buyer buys from another
    supplier at once, whose goods are not inspected), and fear (a stricter control makes buyers
    stock up earlier); see test_properties for the 3-day tolerance with demand response on."""
    exact = {"customs_inspection_days": 0.0, "re_price_elasticity": 0.0, "substitution_max_share": 0.0,
             "precaution_max": 0.0, "speculation_days": 0.0}
    a = _stockout(run(events=[looser], parameters=exact))
    b = _stockout(run(events=[stricter], parameters=exact))
    assert np.all(b <= a), "same members (common random numbers), stricter control, later stockout"
    assert np.any(b < a) or np.all(np.isinf(a) == np.isinf(b))


def test_bigger_stockpile_never_brings_a_stockout_forward():
    ev = [control(mode="ban"), {"date": "2025-02-01", "type": "stockpile_release", "region": "USA",
                                "product": "MAGNET", "tonnes_per_day": 2.0}]
    small = run(events=ev, stockpiles={"USA": {"MAGNET": 50}})
    big = run(events=ev, stockpiles={"USA": {"MAGNET": 2000}})
    a, b = _stockout(small, sector="defense"), _stockout(big, sector="defense")
    assert np.all(b >= a)
    assert np.mean(np.minimum(b, 240)) > np.mean(np.minimum(a, 240))


def test_more_inventory_never_brings_a_stockout_forward():
    lean = _stockout(run(events=[control()], inventory_days={"autos": 30}))
    deep = _stockout(run(events=[control()], inventory_days={"autos": 90}))
    assert np.all(deep >= lean)
    assert np.all(deep[np.isfinite(lean)] > lean[np.isfinite(lean)])


def test_streaming_summary_matches_the_full_results():
    from standoff.ensemble import SerialExecutor, plan
    from standoff.results import StreamingSummary

    from .conftest import make
    sc = make(members=600, events=[control()])
    full = simulate(sc)
    pl = plan(sc)
    acc = StreamingSummary(pl)
    ex = SerialExecutor()
    for ch in ex.map(pl, ex.split(sc.members)):
        acc.add(ch)
    assert acc.members == 600
    a = full.stockouts().set_index(["region", "sector"])
    b = acc.stockouts().set_index(["region", "sector"])
    # one table function for both: every column equal, intervals and dates included
    pd.testing.assert_frame_equal(a, b)
    med = np.median(full.ds.output_loss_usd_bn.values, axis=0)
    band = acc.band("output_loss_usd_bn")[..., 1]
    ok = med > 1e-3
    assert np.all(np.abs(band[ok] - med[ok]) / med[ok] < 0.05)
    # the sampled members' daily paths are kept, identical to the full run's, in any chunking
    paths = acc.paths()
    assert paths.sizes["traj_member"] == sc.trajectories
    np.testing.assert_array_equal(paths["price_multiple"].values, full.ds["price_multiple"].values)
    bands = acc.path_bands("cover_days").set_index(["time", "region", "sector"])
    want = full.ds["cover_days"].quantile(0.5, dim="traj_member").to_series()
    np.testing.assert_allclose(bands["median"].values, want.reindex(bands.index).values, rtol=1e-6)


def test_stockpile_lasts_its_size_over_its_release_rate():
    ev = [control(mode="ban"), {"date": "2025-02-01", "type": "stockpile_release", "region": "USA",
                                "product": "MAGNET", "tonnes_per_day": 2.0}]
    res = run(events=ev, stockpiles={"USA": {"MAGNET": 100}})
    sp = res.stockpiles().set_index(["region", "product"]).loc[("USA", "MAGNET")]
    assert sp["p_exhausted"] == 1.0
    assert sp["median_days_it_lasted"] == pytest.approx(100 / 2.0 - 1, abs=1)


def test_weekly_losses_add_up_to_the_cumulative_loss():
    res = run(events=[control(mode="ban")], trajectories=24)
    wk = res.weekly_losses().set_index(["region", "sector"])
    assert wk.loc[("USA", "autos"), "peak_week_bn"] > 0
    # a week's loss cannot exceed a week of the sector's output
    from standoff.network import load_network
    net = load_network()
    r, s = net.index("region", "USA"), net.index("sector", "autos")
    assert wk.loc[("USA", "autos"), "peak_week_bn"] <= 7 * net.value_per_day[r, s] * 1e-9 + 1e-9


# ---------------------------------------------------------------- announcements, effective dates, suspensions

def _exports(res):
    return res.ds.exports_t.sel(region="CHN", product="MAGNET").values


def test_a_control_takes_effect_on_its_effective_date_and_buyers_buy_ahead_before_it():
    ann = control(day="2025-02-01", effective="2025-03-01", approval=0.0, coverage=1.0, id="c")
    res = run(events=[ann], trajectories=24)
    x = _exports(res)
    base = x[:, 0].mean()
    assert np.allclose(x[:, :31], base)                 # before the announcement: as in the baseline
    assert x[:, 31:59].mean() > 1.02 * base             # announced: buyers buy ahead
    assert x[:, 62:90].mean() < 0.5 * base              # in effect, nothing licensed: exports collapse
    quiet = {"buy_ahead_days": 0.0, "precaution_max": 0.0, "speculation_days": 0.0}
    none = run(events=[ann], trajectories=24, parameters=quiet)
    assert np.allclose(_exports(none)[:, :59], base)   # no buying ahead, no fear: nothing moves before the effect


def test_a_control_suspended_before_its_effective_date_changes_nothing_on_the_ground():
    ann = control(day="2025-02-01", effective="2025-03-01", approval=0.0, id="c")
    sus = {"date": "2025-02-20", "type": "suspend", "control": "c"}
    quiet = {"buy_ahead_days": 0.0, "precaution_max": 0.0, "speculation_days": 0.0}
    free = run(events=[], parameters=quiet)
    held = run(events=[ann, sus], parameters=quiet)
    for name in ("first_stockout_day", "output_loss_usd_bn", "re_trade_t", "pain_usd_bn"):
        np.testing.assert_array_equal(free.ds[name].values, held.ds[name].values)
    # with buying ahead, only the weeks between announcement and suspension differ
    ahead = run(events=[ann, sus], trajectories=24)
    x = _exports(ahead)
    assert x[:, 31:50].mean() > x[:, 0].mean()


def test_licences_granted_stay_valid_when_a_later_event_tightens_the_terms():
    """A stricter event (approval 0) leaves granted licences in force: exports do not fall back to
    what a control that was strict from the start allows."""
    easy = control(day="2025-02-01", approval=1.0, delay=0.0, coverage=1.0)
    tight = control(day="2025-03-01", approval=0.0, delay=63.0, coverage=1.0)
    later = _exports(run(events=[easy, tight], trajectories=24))
    strict = _exports(run(events=[control(day="2025-02-01", approval=0.0, coverage=1.0)], trajectories=24))
    assert later[:, 70:150].mean() > 2 * strict[:, 70:150].mean()


# ---------------------------------------------------------------- two tiers, expectations, speculation

def test_a_quota_splits_the_market_into_a_domestic_and_a_dearer_export_tier():
    quota = control(mode="quota", products=["HREO"], quota_tonnes_per_year=100.0)
    res = run(events=[quota], trajectories=24, horizon_days=240)
    ds = res.ds
    fob = ds.fob_price.sel(product="HREO", region="CHN").values
    dom = ds.price_multiple.sel(product="HREO", region="CHN").values
    assert np.median(fob.max(axis=1)) > 2.0 * np.median(dom.max(axis=1))  # the rent of the quota
    tiers = res.price_tiers().set_index("product")
    assert tiers.loc["HREO", "wedge_at_peak"] > 1.5


def test_expected_scarcity_raises_targets_and_prices_and_traders_give_the_hoard_back():
    quota = control(mode="quota", products=["HREO"], quota_tonnes_per_year=100.0)
    lift = control(day="2025-06-01", mode="none", products=["HREO"])
    calm = {"precaution_max": 0.0, "speculation_days": 0.0}
    fear = run(events=[quota, lift], trajectories=24, horizon_days=400)
    none = run(events=[quota, lift], trajectories=24, horizon_days=400, parameters=calm)
    pf = fear.ds.peak_price_multiple.sel(product="HREO", region="OAS").values  # the one HREO importer
    pn = none.ds.peak_price_multiple.sel(product="HREO", region="OAS").values
    assert np.all(pf >= pn - 1e-9) and np.median(pf) > np.median(pn)  # fear makes the bubble bigger
    spec = fear.ds.speculative_t.sel(product="HREO").sum("region").values
    assert spec.max() > 0.0 and np.median(spec[:, -1]) < 0.1 * np.median(spec.max(axis=1))  # built, then given back
    assert float(none.ds.speculative_t.values.max()) == 0.0


def test_a_quota_calendar_moves_the_allocation_within_the_year():
    even = control(mode="quota", products=["HREO"], quota_tonnes_per_year=600.0)
    late = dict(even, quota_calendar=[0.2] * 6 + [1.8] * 6)
    a = run(events=[even], trajectories=24, horizon_days=330)
    b = run(events=[late], trajectories=24, horizon_days=330)
    xa = a.ds.exports_t.sel(product="HREO", region="CHN").values
    xb = b.ds.exports_t.sel(product="HREO", region="CHN").values
    first, second = slice(40, 180), slice(220, 320)
    assert xb[:, first].mean() < xa[:, first].mean() and xb[:, second].mean() > xa[:, second].mean()
