"""The shipped dataset: sourced, consistent, and close to the sourced aggregates."""
import numpy as np
import pytest

from standoff.network import load_network


@pytest.fixture(scope="module")
def net():
    return load_network()


def test_every_row_has_a_known_source_and_assumptions_say_why(net):
    keys = set(net.tables["sources"]["key"])
    for name, df in net.tables.items():
        if "source" not in df.columns:
            continue
        assert set(df["source"]) <= keys, name
        if "note" in df.columns:
            blank = df[(df["source"] == "ASSUMPTION") & (df["note"].str.strip() == "")]
            assert blank.empty, f"{name}: assumptions without reasoning: {blank.index.tolist()}"


def test_steady_state_balances(net):
    # production equals what a region ships; use equals what it receives
    assert np.allclose(net.production, net.flows.sum(axis=2).T)
    assert np.allclose(net.use, net.flows.sum(axis=1).T)
    # use = final demand + inputs to production
    final = np.zeros_like(net.use)
    for s, p in enumerate(net.critical):
        final[:, p] += net.demand[:, s]
    assert np.allclose(net.use, final + net.production @ net.coef)


def test_shares_match_sourced_aggregates(net):
    # China ~92-94% of NdFeB magnets (S232 92%, IEA25 94%); ~91% of separation (IEA25)
    assert 0.90 <= net.production_share("MAGNET")["CHN"] <= 0.95
    assert 0.88 <= net.production_share("LREO")["CHN"] <= 0.94
    # China's magnet exports 58,152 t in 2024 (AD); to the US 7,444 t (MAG)
    m = net.index("product", "MAGNET")
    c = net.index("region", "CHN")
    exports = (net.flows[m, c].sum() - net.flows[m, c, c]) * 365
    assert exports == pytest.approx(58152, rel=0.02)
    assert net.flows[m, c, net.index("region", "USA")] * 365 == pytest.approx(7444, rel=0.01)
    # US-China goods trade 2024: US exports 143.5, imports ~439 $bn (CRS IF12990)
    u = net.index("region", "USA")
    assert net.trade_value[u, c].sum() * 365 / 1e9 == pytest.approx(143.5, rel=0.01)
    assert net.trade_value[c, u].sum() * 365 / 1e9 == pytest.approx(439, rel=0.01)


def test_parameter_ranges_contain_their_values(net):
    p = net.parameters
    assert ((p["low"] <= p["value"]) & (p["value"] <= p["high"])).all()


def test_the_model_wide_parameter_table_is_complete_and_sourced():
    """Every parameter a mechanism reads is declared once in defaults/, with a source the
    defaults' sources.csv cites and a domain that holds its value and range."""
    from standoff.layout import NEG_TABLE_ROWS, PARAMS
    from standoff.network import model_defaults
    d = model_defaults()
    assert set(PARAMS) <= set(d["parameters"]["name"])
    assert set(NEG_TABLE_ROWS) <= set(d["negotiation"]["name"])  # both sides' resolves from the one 'resolve' row
    assert set(d["parameters"]["source"]) | set(d["negotiation"]["source"]) <= set(d["sources"]["key"])


def test_a_dataset_overrides_only_the_rows_it_gives(tmp_path):
    import shutil
    from importlib import resources
    folder = tmp_path / "mine"
    shutil.copytree(str(resources.files("standoff") / "data_template"), folder)
    (folder / "parameters.csv").write_text("name,value,low,high,unit,source,note\n"
                                           "price_cap,10,8,12,x baseline,ASSUMPTION,a cap of my own\n")
    load_network.cache_clear()
    net = load_network(folder)
    p = net.tables["parameters"].set_index("name")
    assert p.loc["price_cap", "value"] == 10 and p.loc["price_cap", "origin"] == "mine"
    assert (p.drop(index="price_cap")["origin"] == "model").all()
    assert net.parameters.loc["order_adjust_days", "value"] == 30  # the model-wide value


def test_the_models_constants_are_declared_with_their_sources():
    """The structural constants (contracts per route, leak days, the firms' spread, the release
    span, substitution effort, the investment signal, the rebuild share) are rows of
    defaults/constants.csv with a unit, a source the defaults cite and the reasoning, and the
    kernel's cache stamp covers that file."""
    import csv
    from importlib import resources

    from standoff import layout
    from standoff.core._jit import kernel_modules
    from standoff.network import model_defaults
    path = resources.files("standoff") / "defaults" / "constants.csv"
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    keys = set(model_defaults()["sources"]["key"])
    for row in rows:
        assert row["source"] in keys and row["note"].strip() and row["unit"].strip(), row["name"]
    values = {r["name"]: float(r["value"]) for r in rows}
    assert layout.LICENCE_CONTRACTS == values["licence_contracts"] and layout.FIRM_SIGMA == values["firm_cover_sigma"]
    assert layout.LEAK_EXTRA_DAYS == values["leak_extra_days"] and layout.RELEASE_DAYS == values["release_days"]
    assert any(p.name == "constants.csv" for p in kernel_modules())


def test_markets_are_where_a_product_is_made_used_or_imported(net):
    """One definition, read by the engine (its prices) and by results (which prices to show)."""
    mk = net.markets
    R, P = net.production.shape
    for r in range(R):
        for p in range(P):
            want = (net.production[r, p] > 0 or net.use[r, p] > 0 or net.flows[p, :, r].sum() > 0
                    or any(net.critical[s] == p and net.demand[r, s] > 0 for s in range(len(net.sectors))))
            assert bool(mk[r, p]) == bool(want), (net.regions[r], net.products[p])
    assert mk.any(axis=0).all()  # every product has a market somewhere
