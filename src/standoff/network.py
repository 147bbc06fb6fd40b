"""The baseline supply network: regions, chain stages, sectors and bilateral trade.

The dataset is a folder of small CSV tables (one per component, every row with its
source).  :func:`load_network` reads and checks them and derives the steady state the
engine starts from: who uses how much of each product, the trade flows that supply it
and the production that feeds those flows.  Everything is in tonnes per day (material)
or US dollars per day (money).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import StandoffError
from .domains import domain, range_problem
from .files import MAX_TABLE_BYTES, read_bounded
from .layout import (NEG_PARAMS, NEG_TABLE_ROWS, PAIN_KINDS, PARAMS, RENAMED_NEG_PARAMETERS,  # noqa: F401 - re-exported
                     SIDES)

DAYS_PER_YEAR = 365.0

#: Columns every table must have, and which of them are numeric and non-negative.
SCHEMA: dict[str, dict[str, list[str]]] = {
    "regions": {"cols": ["region", "name", "side", "zone", "note"], "num": []},
    "products": {"cols": ["product", "name", "unit", "stage", "price_usd_per_kg", "price_source"],
                 "num": ["price_usd_per_kg"]},
    "sectors": {"cols": ["sector", "name", "critical_input", "kg_per_unit", "unit_name", "source"],
                "num": ["kg_per_unit"]},
    "demand": {"cols": ["region", "sector", "tonnes_per_year", "source"], "num": ["tonnes_per_year"]},
    "sourcing": {"cols": ["importer", "product", "exporter", "share", "source"], "num": ["share"]},
    "coefficients": {"cols": ["product", "input", "tonnes_per_tonne", "source"], "num": ["tonnes_per_tonne"]},
    "inventory": {"cols": ["holder", "kind", "days_cover", "low", "high", "source"],
                  "num": ["days_cover", "low", "high"]},
    "stockpile": {"cols": ["region", "product", "tonnes", "low", "high", "source"],
                  "num": ["tonnes", "low", "high"]},
    "output_value": {"cols": ["region", "sector", "usd_bn_per_year", "source"], "num": ["usd_bn_per_year"]},
    "trade_goods": {"cols": ["exporter", "importer", "group", "usd_bn_per_year", "base_tariff", "source"],
                    "num": ["usd_bn_per_year", "base_tariff"]},
    "countermeasures": {"cols": ["measure", "imposer", "target", "group", "blocked_usd_bn_per_year",
                                 "downstream_multiplier", "source"],
                        "num": ["blocked_usd_bn_per_year", "downstream_multiplier"]},
    "parameters": {"cols": ["name", "value", "low", "high", "unit", "source"], "num": ["value", "low", "high"]},
    "politics": {"cols": ["side", "pain_kind", "group", "salience", "decay_days", "source"],
                 "num": ["salience", "decay_days"]},
    "negotiation": {"cols": ["name", "value", "low", "high", "unit", "source"], "num": ["value", "low", "high"]},
    "sources": {"cols": ["key", "citation", "url"], "num": []},
    "responses": {"cols": ["sector", "deferrable_days", "low", "high", "source"],
                  "num": ["deferrable_days", "low", "high"]},
    "declaration": {"cols": ["key", "value"], "num": []},
}
#: What a dataset's ``declaration.csv`` says about its standoff (the code names no region,
#: product or sector: the two sides are the regions whose ``side`` is US and CN in regions.csv).
DECLARATION_KEYS = {
    "key_product": "the chokepoint product summaries, charts and the dashboard lead with",
    "other_products": "further controlled products whose prices the summary shows (space-separated; may be empty)",
    "headline_sectors": "sectors the summary, report and dashboard lead with (space-separated); the first is the "
                        "lead sector whose inventory rebuild after a deal is tracked",
    "first_claim_sector": "the sector that draws first on a region's stock (defense priority; may be empty)",
    "headline_importers": "importing regions the report and dashboard show first (space-separated)",
}
#: Tables a dataset may leave out (an empty table of the same columns is used).  A dataset's
#: ``parameters`` and ``negotiation`` hold only the rows where it differs from the model-wide
#: table in the package (``defaults/``); see :func:`model_defaults`.
OPTIONAL = {"responses", "parameters", "negotiation"}
#: Tables a dataset's rows are merged into from the package's ``defaults/`` folder.
DEFAULTED = ("parameters", "negotiation")
#: Numeric columns a table may leave out or leave blank in a row (NaN where not given).
OPTIONAL_COLS: dict[str, list[str]] = {
    "output_value": ["units_per_year"],  # units the sector makes a year (vehicles), beside its money value
}
#: How far a region's kilograms per unit, implied by its tonnes (demand.csv) and its units
#: (output_value.csv), may stray from the sector's kg_per_unit before the tables are taken to
#: disagree: a factor of 2 either way (EV shares differ between regions; a factor of 3.4, as
#: 3,080 t of US autos' magnets at 1 kg against 10.5 M vehicles, is a disagreement).
UNIT_TOLERANCE = 2.0
#: The columns that identify a row of each table: a second row with the same key would
#: silently win (or add up), so it is refused with both rows named.
KEYS: dict[str, tuple[str, ...]] = {
    "regions": ("region",), "products": ("product",), "sectors": ("sector",), "demand": ("region", "sector"),
    "sourcing": ("importer", "product", "exporter"), "coefficients": ("product", "input"), "inventory": ("holder",),
    "stockpile": ("region", "product"), "output_value": ("region", "sector"),
    "trade_goods": ("exporter", "importer", "group"), "countermeasures": ("measure",), "parameters": ("name",),
    "politics": ("side", "pain_kind"), "negotiation": ("name",), "sources": ("key",), "responses": ("sector",),
    "declaration": ("key",),
}
#: Tables whose rows give a value with its sourced range: (value column, low, high).
RANGED = {"parameters": ("value", "low", "high"), "negotiation": ("value", "low", "high"),
          "inventory": ("days_cover", "low", "high"), "stockpile": ("tonnes", "low", "high"),
          "responses": ("deferrable_days", "low", "high")}
#: Numeric columns that must be strictly positive (a zero divides: units become NaN, prices 0**x).
POSITIVE = {"sectors": ["kg_per_unit"], "products": ["price_usd_per_kg"]}
#: Columns that are shares.
SHARES = {"sourcing": ["share"]}
ZONES = ("asia", "west")


@dataclass(frozen=True)
class Network:
    """The baseline network as labelled tables and the arrays the engine runs on.

    Attributes
    ----------
    tables
        The raw tables, as read (each row carries ``source`` and ``note``).
    regions, products, sectors, groups, measures
        Names along each dimension, in array order.
    demand
        Final demand of each sector for its critical input, t/day, ``[region, sector]``.
    use, production
        Steady-state use and production, t/day, ``[region, product]``.
    flows
        Steady-state shipments, t/day, ``[product, exporter, importer]`` (domestic on the diagonal).
    """

    name: str
    tables: dict[str, pd.DataFrame]
    regions: list[str]
    products: list[str]
    sectors: list[str]
    groups: list[str]
    measures: list[str]
    side: np.ndarray          # [R] 0 = US, 1 = CN, -1 = third country
    zone: np.ndarray          # [R] 0 asia / 1 west
    critical: np.ndarray      # [S] product index of the sector's critical input
    kg_per_unit: np.ndarray   # [S] the sector's kg of its critical input per unit of output
    unit_kg: np.ndarray       # [R, S] per region: from its tonnes and units where output_value.csv gives units
    price_usd_per_t: np.ndarray  # [P]
    coef: np.ndarray          # [P out, P in] t input per t output
    share: np.ndarray         # [P, E, I]
    demand: np.ndarray        # [R, S] t/day
    use: np.ndarray           # [R, P] t/day
    flows: np.ndarray         # [P, E, I] t/day
    production: np.ndarray    # [R, P] t/day
    stage_order: np.ndarray   # product indices, upstream first
    value_per_day: np.ndarray  # [R, S] USD/day of output
    trade_value: np.ndarray   # [E, I, G] USD/day
    base_tariff: np.ndarray   # [E, I, G]
    cm_group: np.ndarray      # [C]
    cm_imposer: np.ndarray    # [C]
    cm_target: np.ndarray     # [C]
    cm_blocked: np.ndarray    # [C] USD/day
    cm_multiplier: np.ndarray  # [C]
    sector_days: pd.DataFrame = field(repr=False)   # index sector: days_cover, low, high
    defer_days: pd.DataFrame = field(repr=False)    # index sector: days, low, high (days of output built incomplete)
    pool_days: pd.DataFrame = field(repr=False)     # index product
    stockpile: pd.DataFrame = field(repr=False)     # rows region, product, tonnes, low, high
    parameters: pd.DataFrame = field(repr=False)    # index name: value, low, high
    negotiation: pd.DataFrame = field(repr=False)   # index name: value, low, high
    salience: np.ndarray = field(repr=False)        # [side, pain kind]
    decay_days: np.ndarray = field(repr=False)      # [side, pain kind]
    declaration: dict = field(repr=False, default_factory=dict)  # declaration.csv: key -> value
    #: SHA-256 (16 hex digits) of the dataset's table files, so a run records which data it used.
    digest: str = ""

    def index(self, dim: str, name: str) -> int:
        """Position of ``name`` along ``dim`` (``region``, ``product``, ``sector``, ``group``, ``measure``)."""
        names = getattr(self, dim + "s")
        try:
            return names.index(name)
        except ValueError:
            raise StandoffError(f"unknown {dim} {name!r}; known: {', '.join(names)}", value=name) from None

    def steady_state_table(self) -> pd.DataFrame:
        """Production, use, imports and exports per region and product, t/yr."""
        rows = []
        for r, reg in enumerate(self.regions):
            for p, prod in enumerate(self.products):
                imports = self.flows[p, :, r].sum() - self.flows[p, r, r]
                exports = self.flows[p, r, :].sum() - self.flows[p, r, r]
                rows.append({"region": reg, "product": prod,
                             "production_t_per_year": self.production[r, p] * DAYS_PER_YEAR,
                             "use_t_per_year": self.use[r, p] * DAYS_PER_YEAR,
                             "imports_t_per_year": imports * DAYS_PER_YEAR,
                             "exports_t_per_year": exports * DAYS_PER_YEAR})
        return pd.DataFrame(rows)

    # ---- the standoff the dataset declares (declaration.csv and the side column of regions.csv)
    @property
    def us_region(self) -> str:
        """The region on the ``US`` side (the importer facing the chokepoint)."""
        return self.regions[int(np.nonzero(self.side == 0)[0][0])]

    @property
    def cn_region(self) -> str:
        """The region on the ``CN`` side (the holder of the chokepoint)."""
        return self.regions[int(np.nonzero(self.side == 1)[0][0])]

    @property
    def key_product(self) -> str:
        return self.declaration["key_product"]

    @property
    def other_products(self) -> list[str]:
        return self.declaration.get("other_products", "").split()

    @property
    def headline_sectors(self) -> list[str]:
        return self.declaration["headline_sectors"].split()

    @property
    def lead_sector(self) -> str:
        return self.headline_sectors[0]

    @property
    def markets(self) -> np.ndarray:
        """Which regions have a market for which products (bool, region x product): where a product
        is made, used, imported or a sector's critical input.  Elsewhere nothing is held, bought
        or sold, so there is no price (the engine keeps it at 1 and results leave it out)."""
        R, P = self.production.shape
        m = (self.production > 0.0) | (self.use > 0.0) | (self.flows.sum(axis=1).T > 0.0)
        for s in range(len(self.sectors)):
            m[:, int(self.critical[s])] |= self.demand[:, s] > 0.0
        return m

    @property
    def bid_ladder(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Who bids for a region's product in a shortage, for how much, and at what quantity.

        The users of product ``p`` in region ``r`` are its sectors (``critical`` input) and its
        producers of anything made from ``p`` (``coefficients.csv``).  A sector's bid is what a
        stoppage costs it per tonne: its output value over its tonnes of use
        (``output_value.csv`` / ``demand.csv``), as a multiple of the product's baseline price; a
        sector without an output value makes no bid.  A producer's bid depends on prices on the
        day (what it sells its product for, less its other inputs, per tonne of ``p``) and is
        computed then (:func:`standoff.core.markets.market_ceiling`); here it is marked by the
        product it makes, and its ``bid`` holds what the baseline prices leave it short of
        breaking even (the dataset's prices come from different sources, and a producer that
        makes its product in the baseline must be able to pay the baseline price).  Every user
        buys at the baseline price in the baseline, so no bid is below 1.

        Returns
        -------
        n : int array [R, P]
            Number of bidding classes.
        bid : float array [R, P, K]
            A sector's bid (x baseline price); for a producer class, its baseline shortfall
            (US$/t of its product, 0 where the baseline prices leave it a margin).
        down : int array [R, P, K]
            The product a producer class makes; -1 for a sector class.
        qty : float array [R, P, K]
            Each class's baseline use of ``p`` (t/day): the ladder's steps.
        """
        R, P = self.production.shape
        S = len(self.sectors)
        K = S + P
        n = np.zeros((R, P), dtype=np.int64)
        bid = np.zeros((R, P, K))
        down = np.full((R, P, K), -1, dtype=np.int64)
        qty = np.zeros((R, P, K))
        for r in range(R):
            for p in range(P):
                for s in range(S):
                    d = self.demand[r, s]
                    if int(self.critical[s]) == p and d > 0.0 and self.value_per_day[r, s] > 0.0:
                        k = n[r, p]
                        bid[r, p, k] = max(self.value_per_day[r, s] / (d * self.price_usd_per_t[p]), 1.0)
                        qty[r, p, k] = d
                        n[r, p] = k + 1
                for q in range(P):
                    if q != p and self.coef[q, p] > 0.0 and self.production[r, q] > 0.0:
                        k = n[r, p]
                        down[r, p, k] = q
                        margin0 = self.price_usd_per_t[q] - float(self.coef[q] @ self.price_usd_per_t)
                        bid[r, p, k] = max(-margin0, 0.0)
                        qty[r, p, k] = self.production[r, q] * self.coef[q, p]
                        n[r, p] = k + 1
        return n, bid, down, qty

    @property
    def first_claim_sector(self) -> str | None:
        return self.declaration.get("first_claim_sector", "").strip() or None

    @property
    def headline_importers(self) -> list[str]:
        return self.declaration["headline_importers"].split()

    def production_share(self, product: str) -> pd.Series:
        """Each region's share of world production of ``product``."""
        p = self.index("product", product)
        prod = self.production[:, p]
        return pd.Series(prod / prod.sum(), index=self.regions, name=f"share of {product}")


def builtin_datasets() -> list[str]:
    """Names of the datasets shipped with standoff (``baseline-2024``, ...)."""
    return sorted(p.name for p in (resources.files("standoff") / "data").iterdir() if p.is_dir())


def _dataset_dir(name: str | Path) -> Path:
    path = Path(name)
    if path.is_dir() and str(name) not in builtin_datasets():  # a built-in name is never shadowed by a local folder
        return path
    root = resources.files("standoff") / "data" / str(name)
    if not root.is_dir():
        known = sorted(p.name for p in (resources.files("standoff") / "data").iterdir() if p.is_dir())
        raise StandoffError(f"no baseline dataset {str(name)!r}; built in: {', '.join(known)}",
                            field="baseline", value=str(name))
    return Path(str(root))


def _read_table(folder: Path, table: str) -> pd.DataFrame:
    path = folder / f"{table}.csv"
    if not path.exists():
        if table in OPTIONAL:
            return pd.DataFrame({c: pd.Series(dtype=float if c in SCHEMA[table]["num"] else str)
                                 for c in SCHEMA[table]["cols"]})
        raise StandoffError("missing table of the dataset", file=str(path))
    raw = read_bounded(path, MAX_TABLE_BYTES, "dataset table")
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises several kinds for malformed CSV
        raise StandoffError(f"cannot read CSV: {exc}", file=str(path)) from None
    spec = SCHEMA[table]
    missing = [c for c in spec["cols"] if c not in df.columns]
    if missing:
        raise StandoffError(f"missing columns {missing}", file=str(path))
    for col in OPTIONAL_COLS.get(table, []):
        if col not in df.columns:
            df[col] = ""
        for i, raw in enumerate(df[col]):
            if str(raw).strip() == "":
                continue
            try:
                val = float(raw)
            except ValueError:
                raise StandoffError("not a number (leave it blank if not known)", file=str(path),
                                    field=f"row {i + 2}.{col}", value=raw) from None
            if not (np.isfinite(val) and val > 0):
                raise StandoffError("must be a positive number, or blank", file=str(path), field=f"row {i + 2}.{col}",
                                    value=raw)
        df[col] = pd.to_numeric(df[col].replace("", np.nan))
    for col in spec["num"]:
        for i, raw in enumerate(df[col]):
            try:
                val = float(raw)
            except ValueError:
                raise StandoffError("not a number", file=str(path), field=f"row {i + 2}.{col}",
                                    value=raw) from None
            if not np.isfinite(val) or val < 0:
                raise StandoffError("must be a finite non-negative number", file=str(path),
                                    field=f"row {i + 2}.{col}", value=raw)
        df[col] = df[col].astype(float)
    _check_rows(df, table, path)
    return df


def _check_rows(df: pd.DataFrame, table: str, path: Path) -> None:
    """Row-level checks that need no other table: unique keys, positive and share columns, ranges."""
    key = KEYS[table]
    seen: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(df[list(key)].itertuples(index=False, name=None)):
        k = tuple(str(v).strip() for v in row)
        if k in seen:
            raise StandoffError(f"duplicate row: rows {seen[k]} and {i + 2} both give {', '.join(key)} = "
                                f"{', '.join(k)} (one would silently win)", file=str(path),
                                field=f"row {i + 2}.{key[0]}", value=", ".join(k))
        seen[k] = i + 2
    for col in POSITIVE.get(table, []):
        for i, v in enumerate(df[col]):
            if not v > 0:
                raise StandoffError("must be positive (it divides)", file=str(path), field=f"row {i + 2}.{col}", value=v)
    for col in SHARES.get(table, []):
        for i, v in enumerate(df[col]):
            if not 0 <= v <= 1:
                raise StandoffError("a share must lie in [0, 1]", file=str(path), field=f"row {i + 2}.{col}", value=v)
    if table in RANGED:
        vcol, lcol, hcol = RANGED[table]
        for i, row in enumerate(df.itertuples(index=False)):
            v, lo, hi = getattr(row, vcol), getattr(row, lcol), getattr(row, hcol)
            if table in ("parameters", "negotiation"):
                problem = range_problem(v, lo, hi, domain(table, row.name))
                where = f"row {i + 2} ({row.name})"
            else:
                problem = None if lo <= v <= hi else (f"need {lcol} <= {vcol} <= {hcol} "
                                                       f"({lo:g} <= {v:g} <= {hi:g} does not hold)")
                where = f"row {i + 2}.{vcol}"
            if problem:
                raise StandoffError(problem, file=str(path), field=where, value=v)


def _check_names(df: pd.DataFrame, col: str, known: list[str], path: Path) -> None:
    for i, v in enumerate(df[col]):
        if v not in known:
            raise StandoffError(f"unknown name; known: {', '.join(known)}", file=str(path),
                                field=f"row {i + 2}.{col}", value=v)


def _defaults_dir() -> Path:
    return Path(str(resources.files("standoff") / "defaults"))


@lru_cache(maxsize=1)
def model_defaults() -> dict[str, pd.DataFrame]:
    """The model-wide parameter tables (``defaults/parameters.csv``, ``negotiation.csv``) and the
    sources they cite, checked like a dataset's (each value, low and high inside its domain)."""
    folder = _defaults_dir()
    out = {tab: _read_table(folder, tab) for tab in (*DEFAULTED, "sources")}
    keys = set(out["sources"]["key"])
    for tab in DEFAULTED:
        for i, v in enumerate(out[tab]["source"]):
            if v not in keys:
                raise StandoffError("source key not listed in sources.csv", file=str(folder / f"{tab}.csv"),
                                    field=f"row {i + 2}.source", value=v)
    return out


def _merge_defaults(t: dict[str, pd.DataFrame], folder: Path) -> None:
    """Fill a dataset's parameter tables from the model-wide ones, where the dataset has no row of
    its own; each row says where it comes from (``origin``: ``model`` or the dataset's folder)."""
    d = model_defaults()
    for tab in DEFAULTED:
        own = t[tab].copy()
        if "note" not in own.columns:
            own["note"] = ""
        own["origin"] = folder.name
        base = d[tab][[c for c in d[tab].columns if not c.startswith("domain_")]].copy()
        base["origin"] = "model"
        base = base[~base["name"].isin(set(own["name"]))]
        t[tab] = pd.concat([base, own[base.columns]], ignore_index=True)
    have = set(t["sources"]["key"])
    extra = d["sources"][~d["sources"]["key"].isin(have)]
    t["sources"] = pd.concat([t["sources"], extra], ignore_index=True)


@lru_cache(maxsize=8)
def load_network(name: str | Path = "baseline-2024") -> Network:
    """Read a baseline dataset and derive its steady state.

    Parameters
    ----------
    name
        A built-in dataset name (``"baseline-2024"``) or a folder of CSV tables with the
        same layout.

    Returns
    -------
    Network
        Checked tables and the steady-state arrays.

    Raises
    ------
    StandoffError
        If a table is missing, malformed, names an unknown region/product/sector, cites an
        unknown source, or the sourcing shares of a user do not sum to one.

    Examples
    --------
    >>> net = load_network()
    >>> round(float(net.production_share(net.key_product)[net.cn_region]), 2)
    0.92
    """
    folder = _dataset_dir(name)
    t = {tab: _read_table(folder, tab) for tab in SCHEMA}
    # A dataset's rows may cite its own sources or the model-wide ones (defaults/sources.csv).
    src_keys = set(t["sources"]["key"]) | set(model_defaults()["sources"]["key"])
    for tab, df in t.items():
        for col in [c for c in df.columns if c == "source" or c == "price_source"]:
            for i, v in enumerate(df[col]):
                if v not in src_keys:
                    raise StandoffError("source key not listed in sources.csv", file=str(folder / f"{tab}.csv"),
                                        field=f"row {i + 2}.{col}", value=v)
    _merge_defaults(t, folder)

    regions = list(t["regions"]["region"])
    products = list(t["products"]["product"])
    sectors = list(t["sectors"]["sector"])
    groups = sorted(set(t["trade_goods"]["group"]))
    measures = list(t["countermeasures"]["measure"])
    R, P, S, G = len(regions), len(products), len(sectors), len(groups)
    f = lambda tab: folder / f"{tab}.csv"  # noqa: E731

    _check_names(t["sectors"], "critical_input", products, f("sectors"))
    for col in ("region",):
        _check_names(t["demand"], col, regions, f("demand"))
        _check_names(t["output_value"], col, regions, f("output_value"))
        _check_names(t["stockpile"], col, regions, f("stockpile"))
    _check_names(t["demand"], "sector", sectors, f("demand"))
    _check_names(t["output_value"], "sector", sectors, f("output_value"))
    _check_names(t["stockpile"], "product", products, f("stockpile"))
    for col in ("importer", "exporter"):
        _check_names(t["sourcing"], col, regions, f("sourcing"))
        _check_names(t["trade_goods"], col, regions, f("trade_goods"))
    _check_names(t["sourcing"], "product", products, f("sourcing"))
    _check_names(t["coefficients"], "product", products, f("coefficients"))
    _check_names(t["coefficients"], "input", products, f("coefficients"))
    _check_names(t["countermeasures"], "imposer", regions, f("countermeasures"))
    _check_names(t["countermeasures"], "target", regions, f("countermeasures"))
    _check_names(t["countermeasures"], "group", groups, f("countermeasures"))
    _check_names(t["inventory"], "holder", sectors + products, f("inventory"))
    for i, v in enumerate(t["regions"]["side"]):
        if v not in ("US", "CN", "third"):
            raise StandoffError("side must be US, CN or third", file=str(f("regions")), field=f"row {i + 2}.side",
                                value=v)

    for label in ("US", "CN"):
        if list(t["regions"]["side"]).count(label) != 1:
            raise StandoffError(f"exactly one region must be on side {label} (the two sides of the standoff)",
                                file=str(f("regions")), field="side", value=list(t["regions"]["side"]))
    for i, v in enumerate(t["regions"]["zone"]):
        if v not in ZONES:
            raise StandoffError(f"zone must be one of {', '.join(ZONES)} (it sets the transit time)",
                                file=str(f("regions")), field=f"row {i + 2}.zone", value=v)
    for row_name in t["negotiation"]["name"]:
        if row_name in RENAMED_NEG_PARAMETERS:  # a table copied from an older dataset: its row would be ignored
            raise StandoffError(RENAMED_NEG_PARAMETERS[row_name], file=str(f("negotiation")), field="name",
                                value=row_name)
    for tab, needed in (("parameters", PARAMS), ("negotiation", NEG_TABLE_ROWS)):
        have = set(t[tab]["name"])
        lacking = [n for n in needed if n not in have and not n.startswith("strategy_")]
        if lacking:
            raise StandoffError(f"missing rows for {', '.join(lacking)} (every mechanism's parameter needs a value "
                                "and range; copy the rows of a built-in dataset and adapt them)",
                                file=str(f(tab)), field="name", value=lacking[0])
    side = np.array([{"US": 0, "CN": 1}.get(v, -1) for v in t["regions"]["side"]], dtype=np.int64)
    zone = np.array([0 if z == "asia" else 1 for z in t["regions"]["zone"]], dtype=np.int64)
    critical = np.array([products.index(c) for c in t["sectors"]["critical_input"]], dtype=np.int64)
    kg_per_unit = t["sectors"]["kg_per_unit"].to_numpy(float)
    price = t["products"]["price_usd_per_kg"].to_numpy(float) * 1000.0

    coef = np.zeros((P, P))
    for _, row in t["coefficients"].iterrows():
        coef[products.index(row["product"]), products.index(row["input"])] = row["tonnes_per_tonne"]

    demand = np.zeros((R, S))
    for _, row in t["demand"].iterrows():
        demand[regions.index(row["region"]), sectors.index(row["sector"])] = row["tonnes_per_year"] / DAYS_PER_YEAR

    if not demand.sum() > 0:
        raise StandoffError("every demand row is zero: nothing uses any product, so there is nothing to simulate",
                            file=str(f("demand")), field="tonnes_per_year", value=0)
    r_us = int(np.nonzero(side == 0)[0][0])
    if not demand[r_us].sum() > 0:
        raise StandoffError(f"the US-side region {regions[r_us]} has no demand: the standoff's importer must use "
                            "something the chokepoint supplies", file=str(f("demand")), field=f"region={regions[r_us]}",
                            value=0)
    share = np.zeros((P, R, R))
    for _, row in t["sourcing"].iterrows():
        share[products.index(row["product"]), regions.index(row["exporter"]), regions.index(row["importer"])] += \
            row["share"]

    # Downstream first: a product's use is known once every product made from it is known.
    order_down: list[int] = []
    remaining = set(range(P))
    while remaining:
        ready = [p for p in sorted(remaining)
                 if not any(coef[q, p] > 0 for q in remaining if q != p)]
        if not ready:
            raise StandoffError("coefficients form a cycle", file=str(f("coefficients")))
        order_down.extend(ready)
        remaining -= set(ready)

    use = np.zeros((R, P))
    flows = np.zeros((P, R, R))
    production = np.zeros((R, P))
    for p in order_down:
        use[:, p] = demand[:, critical == p].sum(axis=1) + production @ coef[:, p]
        for i in range(R):
            total = share[p, :, i].sum()
            if use[i, p] > 0 and abs(total - 1.0) > 1e-6:
                raise StandoffError(
                    f"shares of {regions[i]}'s supply of {products[p]} sum to {total:.3f}, not 1",
                    file=str(f("sourcing")), field=f"importer={regions[i]}, product={products[p]}", value=total)
        flows[p] = share[p] * use[None, :, p]
        production[:, p] = flows[p].sum(axis=1)

    value_per_day = np.zeros((R, S))
    unit_kg = np.tile(kg_per_unit, (R, 1))
    for i, row in t["output_value"].iterrows():
        r, s = regions.index(row["region"]), sectors.index(row["sector"])
        value_per_day[r, s] = row["usd_bn_per_year"] * 1e9 / DAYS_PER_YEAR
        units = row["units_per_year"]
        if units == units and demand[r, s] > 0:  # given: units lost follow the region's own tonnes per unit
            unit_kg[r, s] = demand[r, s] * DAYS_PER_YEAR * 1000.0 / units
            ratio = unit_kg[r, s] / kg_per_unit[s]
            if not 1 / UNIT_TOLERANCE <= ratio <= UNIT_TOLERANCE:
                raise StandoffError(
                    f"tonnes, units and money disagree: {demand[r, s] * DAYS_PER_YEAR:,.0f} t a year (demand.csv) "
                    f"over {units:,.0f} units is {unit_kg[r, s]:.3g} kg a unit, {ratio:.2f} times the sector's "
                    f"kg_per_unit of {kg_per_unit[s]:g} (sectors.csv); one of the three is wrong (tolerance: a factor "
                    f"of {UNIT_TOLERANCE:g})", file=str(f("output_value")), field=f"row {i + 2}.units_per_year",
                    value=units)

    trade_value = np.zeros((R, R, G))
    base_tariff = np.zeros((R, R, G))
    for _, row in t["trade_goods"].iterrows():
        e, i, g = regions.index(row["exporter"]), regions.index(row["importer"]), groups.index(row["group"])
        trade_value[e, i, g] = row["usd_bn_per_year"] * 1e9 / DAYS_PER_YEAR
        base_tariff[e, i, g] = row["base_tariff"]

    cm = t["countermeasures"]
    decl = dict(zip(t["declaration"]["key"], t["declaration"]["value"]))
    for key in ("key_product", "headline_sectors", "headline_importers"):
        if not decl.get(key, "").strip():
            raise StandoffError(f"the declaration needs {key!r}: {DECLARATION_KEYS[key]}", file=str(f("declaration")),
                                field=key)
    for i, (key, val) in enumerate(decl.items()):
        if key not in DECLARATION_KEYS:
            raise StandoffError("unknown key; known: " + ", ".join(DECLARATION_KEYS), file=str(f("declaration")),
                                field=f"row {i + 2}.key", value=key)
        dim = {"key_product": products, "other_products": products, "headline_sectors": sectors,
               "first_claim_sector": sectors, "headline_importers": regions}[key]
        for item in val.split():
            if item not in dim:
                raise StandoffError(f"unknown name; known: {', '.join(dim)}", file=str(f("declaration")),
                                    field=f"row {i + 2}.value", value=item)
    _check_names(t["responses"], "sector", sectors, f("responses"))
    resp = t["responses"].set_index("sector")
    defer = pd.DataFrame({"days": 0.0, "low": 0.0, "high": 0.0}, index=pd.Index(sectors, name="sector"))
    for sname, row in resp.iterrows():
        if not row["low"] <= row["deferrable_days"] <= row["high"]:
            raise StandoffError("need low <= deferrable_days <= high", file=str(f("responses")),
                                field=f"{sname}.deferrable_days", value=row["deferrable_days"])
        defer.loc[sname] = [row["deferrable_days"], row["low"], row["high"]]
    inv = t["inventory"].set_index("holder")
    for s in sectors:
        if s not in inv.index:
            raise StandoffError(f"no inventory row for sector {s!r}", file=str(f("inventory")))
    for p in products:
        if p not in inv.index:
            raise StandoffError(f"no inventory row for product {p!r}", file=str(f("inventory")))
    params = t["parameters"].set_index("name")
    salience = np.zeros((2, len(PAIN_KINDS)))
    decay = np.ones((2, len(PAIN_KINDS)))
    seen = set()
    for i, row in t["politics"].iterrows():
        if row["side"] not in SIDES or row["pain_kind"] not in PAIN_KINDS:
            raise StandoffError(f"side must be one of {SIDES} and pain_kind one of {PAIN_KINDS}",
                                file=str(f("politics")), field=f"row {i + 2}", value=f"{row['side']}/{row['pain_kind']}")
        if row["decay_days"] < 1:
            raise StandoffError("decay_days must be at least 1", file=str(f("politics")), field=f"row {i + 2}.decay_days",
                                value=row["decay_days"])
        si, ki = SIDES.index(row["side"]), PAIN_KINDS.index(row["pain_kind"])
        salience[si, ki] = row["salience"]
        decay[si, ki] = row["decay_days"]
        seen.add((si, ki))
    if len(seen) != 2 * len(PAIN_KINDS):
        raise StandoffError("politics needs one row per side and pain kind", file=str(f("politics")))
    import hashlib
    h = hashlib.sha256()
    for tab in sorted(SCHEMA):
        if (folder / f"{tab}.csv").exists():
            h.update(tab.encode())
            h.update((folder / f"{tab}.csv").read_bytes())
    for tab in (*DEFAULTED, "sources"):  # the model-wide rows the dataset takes are part of its data
        h.update(b"defaults/" + tab.encode())
        h.update((_defaults_dir() / f"{tab}.csv").read_bytes())
    return Network(
        digest=h.hexdigest()[:16],
        name=str(name), tables=t, regions=regions, products=products, sectors=sectors, groups=groups,
        measures=measures, side=side, zone=zone, critical=critical, kg_per_unit=kg_per_unit, unit_kg=unit_kg,
        price_usd_per_t=price, coef=coef, share=share, demand=demand, use=use, flows=flows,
        production=production, stage_order=np.array(order_down[::-1], dtype=np.int64),
        value_per_day=value_per_day, trade_value=trade_value, base_tariff=base_tariff,
        cm_group=np.array([groups.index(g) for g in cm["group"]], dtype=np.int64),
        cm_imposer=np.array([regions.index(g) for g in cm["imposer"]], dtype=np.int64),
        cm_target=np.array([regions.index(g) for g in cm["target"]], dtype=np.int64),
        cm_blocked=cm["blocked_usd_bn_per_year"].to_numpy(float) * 1e9 / DAYS_PER_YEAR,
        cm_multiplier=cm["downstream_multiplier"].to_numpy(float),
        sector_days=inv.loc[sectors, ["days_cover", "low", "high"]], defer_days=defer,
        pool_days=inv.loc[products, ["days_cover", "low", "high"]],
        stockpile=t["stockpile"], parameters=params[["value", "low", "high", "unit", "source", "note"]],
        negotiation=t["negotiation"].set_index("name")[["value", "low", "high", "unit", "source", "note"]],
        salience=salience, decay_days=decay, declaration=decl,
    )
