"""Charts for notebooks: each returns a matplotlib figure with what it says it draws, and a wrong
label is refused by name with the labels there are."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from standoff.errors import StandoffError

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def res():
    import standoff
    return standoff.simulate(standoff.load_scenario("london-2025").with_(members=24, trajectories=24))


def test_fan_draws_the_median_and_two_bands_of_the_kept_members(res):
    fig = res.plot_fan("cover_days", region="USA", sector="autos")
    ax = fig.axes[0]
    med = ax.lines[0].get_ydata()
    want = res.ds.cover_days.sel(region="USA", sector="autos").quantile(0.5, dim="traj_member").values
    np.testing.assert_allclose(med, want)
    assert len(ax.collections) == 2  # p10-p90 and p25-p75


def test_fans_of_two_runs_overlay_on_one_axes(res):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    res.plot_fan("price_multiple", region="USA", product="MAGNET", ax=ax, color="C0", label="a")
    res.plot_fan("price_multiple", region="EU", product="MAGNET", ax=ax, color="C1", label="b")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "a: median" in labels and "b: median" in labels and len(ax.lines) == 2


def test_stockout_curves_end_at_the_probability_of_a_stockout(res):
    fig = res.plot_stockouts("USA", ["autos", "defense"])
    so = res.stockouts().set_index(["region", "sector"])
    for line, sector in zip(fig.axes[0].lines, ["autos", "defense"]):
        y = line.get_ydata()
        assert (np.diff(y) >= 0).all()
        assert abs(y[-1] - so.loc[("USA", sector), "p_stockout"]) < 1e-12


def test_price_tiers_show_domestic_fob_and_only_markets_that_buy(res):
    fig = res.plot_price_tiers("HREO", regions=["EU", "OAS"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:2] == ["CHN (domestic)", "CHN export (FOB)"]
    assert "OAS" in labels and "EU" not in labels  # Europe buys no heavy oxides in this dataset


def test_tornado_from_results_and_from_a_sensitivity_table(res):
    fig = res.plot_tornado(top=5)
    assert len(fig.axes[0].patches) == 5
    table = pd.DataFrame({"input": ["a", "b"], "ST": [0.6, 0.2], "ST_conf": [0.05, 0.04], "S1": [0.5, 0.1],
                          "S1_conf": [0.05, 0.04]})
    from standoff.plots import tornado
    fig = tornado(table)
    assert [round(p.get_width(), 2) for p in fig.axes[0].patches] == [0.6, 0.2]


@pytest.mark.parametrize("call, field", [
    (lambda r: r.plot_fan("no_such_path"), "var"),
    (lambda r: r.plot_fan("cover_days", region="USA"), "sector"),
    (lambda r: r.plot_fan("cover_days", region="Atlantis", sector="autos"), "region"),
    (lambda r: r.plot_stockouts("Atlantis"), "region"),
    (lambda r: r.plot_price_tiers("UNOBTAINIUM"), "product"),
])
def test_a_wrong_label_is_refused_by_name(res, call, field):
    with pytest.raises(StandoffError) as err:
        call(res)
    assert err.value.field == field


def test_a_run_without_daily_paths_says_so():
    import standoff
    res = standoff.simulate(standoff.load_scenario("london-2025").with_(members=4, trajectories=0, horizon_days=40))
    with pytest.raises(StandoffError, match="trajectories"):
        res.plot_fan("cover_days", region="USA", sector="autos")


def test_the_notebook_summary_names_the_run_and_its_stockouts(res):
    h = res._repr_html_()
    assert "london-2025" in h and "P(stockout)" in h and "USA" in h and "autos" in h
    assert "london-2025" in repr(res)


def test_simulate_shows_a_progress_bar_when_asked(capsys):
    import standoff
    standoff.simulate(standoff.load_scenario("baseline").with_(members=4, horizon_days=20, trajectories=0),
                      progress=True)
    out = capsys.readouterr()
    assert "4/4" in out.out + out.err
