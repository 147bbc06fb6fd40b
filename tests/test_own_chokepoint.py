"""Bring your own chokepoint: the template, `standoff data --check` with errors naming file, row
and column, and a user-made chokepoint with names the code has never seen, run end to end."""
from pathlib import Path

from typer.testing import CliRunner

from standoff import simulate
from standoff.cli import app
from standoff.scenario import load_scenario

runner = CliRunner()


def _template(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    res = runner.invoke(app, ["data", "--template", str(folder)])
    assert res.exit_code == 0, res.output
    return folder


def test_the_template_passes_the_check_and_is_a_steady_state(tmp_path):
    folder = _template(tmp_path)
    res = runner.invoke(app, ["data", "--check", str(folder)])
    assert res.exit_code == 0, res.output
    assert "steady state" in res.output and "key product PART" in res.output


def test_a_bad_row_is_named_by_file_row_and_column(tmp_path):
    folder = _template(tmp_path)
    f = folder / "sourcing.csv"
    f.write_text(f.read_text().replace("BUY,PART,HOLD,0.8", "BUY,PART,HOLD,eight"))
    res = runner.invoke(app, ["data", "--check", str(folder)])
    assert res.exit_code != 0
    assert "sourcing.csv" in res.output and "row 3.share" in res.output and "eight" in res.output
    assert "Traceback" not in res.output


def test_a_declaration_naming_an_unknown_product_is_refused(tmp_path):
    folder = _template(tmp_path)
    f = folder / "declaration.csv"
    f.write_text(f.read_text().replace("key_product,PART", "key_product,MAGNETS"))
    res = runner.invoke(app, ["data", "--check", str(folder)])
    assert res.exit_code != 0 and "declaration.csv" in res.output and "MAGNETS" in res.output


def test_a_made_up_chokepoint_runs_end_to_end(tmp_path):
    folder = _template(tmp_path)
    (folder / "s.yaml").write_text(
        "name: mine\nbaseline: .\nstart: 2025-01-01\nhorizon_days: 150\nmembers: 24\nseed: 2\n"
        "events:\n"
        "  - {date: 2025-02-01, type: export_control, exporter: HOLD, products: [PART], mode: licence,\n"
        "     approval_share: 0.2, review_min_days: 7, delay_days: 60}\n")
    res = simulate(load_scenario(folder / "s.yaml"))
    so = res.stockouts().set_index(["region", "sector"])
    assert so.loc[("BUY", "assembly"), "p_stockout"] > 0.5          # the buyer runs short
    assert so.loc[("HOLD", "assembly"), "p_stockout"] == 0.0        # the holder does not
    assert not res.firms().empty and not res.customs().empty
    out = runner.invoke(app, ["run", str(folder / "s.yaml"), "--out", str(tmp_path / "run"), "-q"])
    assert out.exit_code == 0, out.output


def test_the_gallium_chokepoint_runs_from_its_declaration():
    """The second built-in chokepoint: summaries lead with its own product, sectors and importers."""
    for name in ("gallium-2023", "gallium-ban-2024"):
        res = simulate(load_scenario(name).with_(members=16, trajectories=16))
        net = res.scenario.network()
        assert net.key_product == "GAHP" and net.cn_region in res.ds.region.values
        tiers = res.price_tiers()
        assert not tiers.empty and set(tiers["product"]) <= set(net.products)
    ban = simulate(load_scenario("gallium-ban-2024").with_(members=32))
    so = ban.stockouts().set_index(["region", "sector"])
    assert so.loc[("USA", "rf_power_chips"), "p_stockout"] > so.loc[("EU", "rf_power_chips"), "p_stockout"]


def test_the_template_comes_with_a_scenario_that_runs(tmp_path):
    """`standoff data --template` writes an example scenario beside the dataset; it loads with the
    folder as its baseline, runs, and its licence regime bites on the buyer."""
    from typer.testing import CliRunner

    import standoff
    from standoff.cli import app
    folder = tmp_path / "mine"
    r = CliRunner().invoke(app, ["data", "--template", str(folder)])
    assert r.exit_code == 0, r.output
    sc = standoff.load_scenario(folder / "example-scenario.yaml").with_(members=16, trajectories=0)
    assert sc.network().regions == ["HOLD", "BUY", "THIRD"]
    res = standoff.simulate(sc)
    standoff.testing.assert_conserved(res)
    assert float(res.ds.re_trade_t.sel(region="BUY", flow_kind="lost").sum()) > 0
