"""Results: a labelled xarray Dataset plus summary tables, saved atomically.

Member-level outputs have a ``member`` dimension; daily paths of the first
``scenario.trajectories`` members have ``traj_member`` and ``time``.  Summaries report
medians and the p10-p90 range across members.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import StandoffError
from .files import check_regular, sha256_file, write_csv
from .layout import END_CAUSES, FIXED_LABELS, NEG_OUTPUTS, OUTPUT_SHAPES, PAIN_KINDS, TRAJ_SHAPES
from .mcerror import proportion_ci, quantile_ci, quantile_ci_counts
from .scenario import Scenario, read_yaml_file, scenario_from_dict

if TYPE_CHECKING:  # the ensemble imports the compiled engine; reading a saved run must not
    from .ensemble import Chunk, Plan

UNITS = {
    "first_stockout_day": "day of the horizon, 0 = scenario start (NaN: no stockout)",
    "output_loss_usd_bn": "US$ bn, cumulative",
    "units_lost": "units of the sector's product (see sectors table)",
    "output_delayed_usd_bn": "US$ bn, cumulative: output built without the input and finished later (not lost)",
    "units_delayed": "units built incomplete (parked) over the horizon",
    "unfinished_usd_bn": "US$ bn of parked incomplete output still unfinished at the horizon",
    "stopped_weeks": "firm-weeks stopped, each firm weighted by its share of the sector (1 = the whole sector for a week)",
    "share_affected": "share of the sector's output (firms by size) that stopped on at least one day",
    "peak_price_multiple": "x baseline price",
    "readiness_min": "lowest 30-day mean share of the first-claim sector's requirement met (defense readiness)",
    "pain_usd_bn": "US$ bn, cumulative",
    "re_trade_t": "t, cumulative (lost: below baseline imports; diverted: from other suppliers)",
    "goods_trade_usd_bn": "US$ bn, cumulative",
    "control_rent_usd_bn": "US$ bn, cumulative, booked to the exporting region: what a control adds to the price of "
                           "the tonnes still shipped (exporters: importer's price over home price plus tax on legal "
                           "tonnes of controlled routes; state: the export tax; traders: importer's over home price "
                           "on leaked tonnes)",
    "material_balance_t": "t (final - initial - produced + consumed; zero when conserved)",
    "cover_days": "days of baseline requirement held by the sector",
    "output_fraction": "share of requirement met",
    "price_multiple": "x baseline price",
    "imports_t": "t/day arriving",
    "exports_t": "t/day shipped abroad (usual buyers, licensed, leaked and diverted)",
    "route_exports_t": "t/day shipped on the route and declared to its importer (what the exporter's customs publish "
                       "by destination; leaked tonnes are declared to a third country)",
    "route_transshipped_t": "t/day of the route's trade shipped through third countries (leakage): in the exporter's "
                            "customs, exports to those countries; in the importer's, imports from them",
    "licences": "licence contracts per day (applied, granted, refused, cancelled) and pending at day's end",
    "fob_price": "x baseline: the export (FOB) price: what the region's shipments of the product fetch at their destinations",
    "speculative_t": "t held by traders for the expected gain (withheld from the market)",
    "expectation": "buyers' expected scarcity (0-1): controls on their imports or rising prices",
    "pain_cum_usd_bn": "US$ bn, cumulative",
    "negotiation": "per-member outcomes of the political game (see neg_output)",
    "china_share_end": "the controlling side's share of the key product shipped to the region in the last 30 days",
    "rebuild_days": "days from the first agreement until the lead sector holds 90% of its target inventory",
    "stockpile_empty_day": "day of the horizon a released strategic stockpile ran out (NaN: never)",
    "trust": "belief that the other side complies (0-1)",
    "pressure_ratio": "domestic pressure over resolve",
    "agreement_in_force": "1 while an agreement is in force",
    "requirement_fraction": "requirement after substitution and price response, x baseline demand",
}


#: The destination of the customs table's leaked tonnes: declared to the countries they pass through.
THIRD_COUNTRIES = "via third countries"


def assemble(pl: Plan, parts: list[Chunk]) -> xr.Dataset:
    """Join chunk outputs (any order) into one Dataset."""
    parts = sorted(parts, key=lambda c: c.start)
    net, sc = pl.net, pl.scenario
    coords = {"region": net.regions, "sector": net.sectors, "product": net.products, **FIXED_LABELS}
    data: dict[str, tuple] = {}
    for name, dims in OUTPUT_SHAPES.items():
        arr = np.concatenate([c.arrays[name] for c in parts])
        data[name] = (("member", *dims), arr, {"units": UNITS[name]})
    T = sc.horizon_days
    times = pd.date_range(sc.start, periods=T, freq="D")
    for name, dims in TRAJ_SHAPES.items():
        arr = np.concatenate([c.arrays[f"traj:{name}"] for c in parts])
        data[name] = (("traj_member", "time", *dims), arr, {"units": UNITS[name]})
    inputs = pl.uncertain_inputs()
    data["inputs"] = (("member", "input"), np.concatenate([c.arrays["inputs"] for c in parts]),
                      {"description": "sampled value of each uncertain input"})
    from .ensemble import route_coords
    ds = xr.Dataset(data, coords={**coords, **route_coords(net), "member": np.arange(sc.members), "time": times,
                                  "traj_member": np.arange(data["cover_days"][1].shape[0]),
                                  "input": [u.key for u in inputs]})
    ds["demand_t_per_day"] = (("region", "sector"), net.demand, {"units": "t/day baseline requirement"})
    ds.attrs.update({"scenario": sc.name, "seed": sc.seed, "members": sc.members, "start": str(sc.start),
                     "horizon_days": T, "scenario_digest": sc.digest(), "dataset_digest": net.digest,
                     "standoff_version": package_version()})
    return ds


def platform_info() -> dict[str, str]:
    """What a bit-for-bit replay depends on besides the inputs: interpreter, numerical libraries, CPU."""
    import platform

    import numba
    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "machine": platform.machine(), "system": platform.system(), "processor": platform.processor() or ""}


def results_digest(ds: xr.Dataset) -> str:
    """SHA-256 over every data variable's values, by name: equal digests mean bit-identical results."""
    import hashlib
    h = hashlib.sha256()
    for name in sorted(ds.data_vars):
        h.update(name.encode())
        h.update(np.ascontiguousarray(ds[name].values).tobytes())
    return h.hexdigest()


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("standoff")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _q(x: np.ndarray, q: float) -> float:
    """Quantile that treats ``inf`` (never) as larger than any day, without NaN from inf - inf."""
    if not x.size:
        return float("nan")
    # The empirical (inverted-CDF) quantile never interpolates between a day and "never".
    v = float(np.quantile(np.where(np.isfinite(x), x, np.inf), q, method="inverted_cdf"))
    return v


class Results:
    """The outcome of :func:`standoff.simulate`: a Dataset and summary tables.

    Attributes
    ----------
    ds
        The labelled arrays (see ``ds.data_vars`` for names and units).
    scenario
        The resolved scenario that was run.
    """

    def __init__(self, ds: xr.Dataset, scenario: Scenario, run_id: str | None = None) -> None:
        self.ds = ds
        self.scenario = scenario
        #: Every member's state at the day a run was asked to save it (``simulate(save_state=...)``).
        self.state: Any = None
        #: The run folder it was read from (:meth:`load`), or None.
        self.folder: Path | None = None
        #: The catalogue id, given when the run is first saved (``None`` before).
        self.run_id = run_id

    @property
    def deff(self) -> float:
        """The design effect of the members for Monte Carlo error (:mod:`standoff.mcerror`): 1 for an
        ensemble of independent members; members over the effective sample size for a nowcast's
        resampled ensemble (``ds.attrs['effective_members']``), whose repeated members carry less
        information than their count.  Every interval the tables report uses it."""
        ne = float(self.ds.attrs.get("effective_members", 0.0))
        n = self.ds.sizes["member"]
        # Absent, or not a count of members (a hand-edited folder): the members as independent.
        return n / ne if (math.isfinite(ne) and 0.0 < ne < n) else 1.0

    # ---- summaries ----
    def stockouts(self) -> pd.DataFrame:
        """First-stockout day per region and sector: share of members with a stockout, median, p10, p90.

        Members without a stockout count as never (``inf``), so a median of ``inf`` means
        fewer than half the members ran out within the horizon.  ``p_stockout_lo``/``_hi``
        and ``median_day_lo``/``_hi`` are 95% Monte Carlo intervals (Wilson; order
        statistics), see :mod:`standoff.mcerror`.
        """
        d = self.ds["first_stockout_day"].values
        T = self.scenario.horizon_days
        return stockout_table(self.ds.region.values.tolist(), self.ds.sector.values.tolist(),
                              self.ds["demand_t_per_day"].values, stockout_counts(d, T), self.scenario.start,
                              deff=self.deff)

    def _band(self, name: str, dims: tuple[str, ...]) -> pd.DataFrame:
        """p10, median and p90 across members by ``dims``, with the 95% Monte Carlo interval of
        each (``median_lo``/``_hi``, ``p10_lo``/``_hi``, ``p90_lo``/``_hi``: order statistics,
        :mod:`standoff.mcerror`)."""
        import itertools
        da = self.ds[name]
        q = da.quantile([0.1, 0.5, 0.9], dim="member")
        df = q.to_dataframe(name=name).reset_index().pivot_table(index=list(dims), columns="quantile", values=name)
        df.columns = ["p10", "median", "p90"]
        arr = da.transpose("member", *dims).values.reshape(da.sizes["member"], -1)
        keys = list(itertools.product(*[da[d].values.tolist() for d in dims]))
        de = self.deff
        ci = pd.DataFrame([(*quantile_ci(arr[:, j], 0.5, deff=de), *quantile_ci(arr[:, j], 0.1, deff=de),
                            *quantile_ci(arr[:, j], 0.9, deff=de)) for j in range(arr.shape[1])],
                          columns=["median_lo", "median_hi", "p10_lo", "p10_hi", "p90_lo", "p90_hi"],
                          index=pd.MultiIndex.from_tuples(keys, names=list(dims)) if len(dims) > 1 else
                          pd.Index([k[0] for k in keys], name=dims[0]))
        return df.join(ci).reset_index()

    def losses(self) -> pd.DataFrame:
        """Cumulative output loss (US$ bn) and units lost per region and sector."""
        a = self._band("output_loss_usd_bn", ("region", "sector"))
        b = self._band("units_lost", ("region", "sector")).rename(
            columns={c: f"units_{c}" for c in ("p10", "median", "p90", "median_lo", "median_hi", "p10_lo", "p10_hi",
                                               "p90_lo", "p90_hi")})
        return a.merge(b, on=["region", "sector"])

    def prices(self) -> pd.DataFrame:
        """Peak price multiple per region and product, where the product has a market: a region
        that neither makes, uses, holds nor imports a product has no price for it (it is left
        out, not shown as an unmoved 1.00)."""
        df = self._band("peak_price_multiple", ("region", "product"))
        keep = self.markets()
        df = df[[(r, p) in keep for r, p in zip(df["region"], df["product"])]].reset_index(drop=True)
        # The users' bid at the margin bounds a price (a market finding) unless it is above
        # price_cap, an assumed bound (a market with almost nothing left): a peak that reached the
        # member's cap is the cap, not a price the market found.  The share of members where that
        # happened, so nobody reads it as a result.
        df["at_cap"] = 0.0
        if "parameters.price_cap" in [str(x) for x in self.ds["input"].values]:
            cap = self.ds["inputs"].sel(input="parameters.price_cap").values
            peak = self.ds["peak_price_multiple"]
            df["at_cap"] = [float(np.mean(peak.sel(region=r, product=p).values >= cap * (1 - 1e-5)))
                            for r, p in zip(df["region"], df["product"])]
        return df

    def markets(self) -> set[tuple[str, str]]:
        """The (region, product) pairs with a market: where the product is made, used or imported
        (:attr:`standoff.network.Network.markets`, which the engine uses too)."""
        net = self.scenario.network()
        mk = net.markets
        return {(r, p) for i, r in enumerate(net.regions) for j, p in enumerate(net.products) if mk[i, j]}

    def pain(self) -> pd.DataFrame:
        """Cumulative pain per side and kind (US$ bn)."""
        return self._band("pain_usd_bn", ("side", "pain_kind"))

    def trade(self) -> pd.DataFrame:
        """Rare-earth imports lost and diverted per product and region (t)."""
        return self._band("re_trade_t", ("product", "region", "flow_kind"))

    def rents(self) -> pd.DataFrame:
        """Who earns what a control adds to the price of the tonnes still shipped (US$ bn,
        cumulative), per exporting region and kind (exporters, state, traders); regions that
        earned nothing in any member are left out."""
        df = self._band("control_rent_usd_bn", ("region", "rent_kind"))
        return df[df["p90"] > 0.0].reset_index(drop=True)

    def goods(self) -> pd.DataFrame:
        """Goods trade lost per side (US$ bn): imports and exports."""
        return self._band("goods_trade_usd_bn", ("side", "goods_kind"))

    def readiness(self) -> pd.DataFrame:
        """Lowest 30-day defense readiness per region."""
        return self._band("readiness_min", ("region",))

    def _neg(self, name: str) -> np.ndarray:
        return self.ds["negotiation"].sel(neg_output=name).values

    def agreement_by_date(self) -> pd.DataFrame:
        """Probability that a first agreement has been reached by each talks date and the horizon's end."""
        sc = self.scenario
        first = self._neg("first_agreement_day")
        dates = sorted({ev.date for ev in sc.events if ev.type == "talks"} | {sc.end - pd.Timedelta(days=1).to_pytimedelta()})
        rows = []
        for d in dates:
            day = sc.day_of(d)
            k = int(np.sum(np.nan_to_num(first, nan=np.inf) <= day))
            lo, hi = proportion_ci(k, first.size, deff=self.deff)
            rows.append({"date": d, "day": day, "p_agreement": k / first.size, "p_agreement_lo": lo,
                         "p_agreement_hi": hi})
        return pd.DataFrame(rows)

    def truce_survival(self, days: tuple[int, ...] = (30, 90, 365)) -> pd.DataFrame:
        """Probability that the first agreement survives ``days``, among members that reached one.

        A member whose agreement is still in force at the end of the horizon but began less
        than ``days`` before it is censored: it is left out and counted in ``censored``.
        """
        agree = self._neg("first_agreement_day")
        collapse = self._neg("first_collapse_day")
        return truce_table(days, [truce_counts(agree, collapse, self.scenario.horizon_days, d) for d in days],
                           deff=self.deff)

    # ---------------------------------------------------------------- notebooks

    def __repr__(self) -> str:
        sc = self.scenario
        return (f"<standoff Results: {sc.name}, {self.ds.sizes['member']} members (seed {sc.seed}), "
                f"{sc.horizon_days} days from {sc.start}; .ds, .stockouts(), .prices(), .plot_fan(...)>")

    def _repr_html_(self) -> str:
        """A compact summary for notebooks: the headline sectors' stockouts in the headline
        importing regions (probability with its 95% Monte Carlo interval, median date), the key
        product's price peaks, and how first truces ended when talks are simulated."""
        import html
        from .present import cell, fmt_p
        sc = self.scenario
        net = sc.network()
        so = self.stockouts()
        so = so[so["region"].isin(net.headline_importers) & so["sector"].isin(net.headline_sectors)]
        rows = "".join(
            f"<tr><td>{html.escape(r.region)}</td><td>{html.escape(r.sector)}</td>"
            f"<td>{fmt_p(r.p_stockout, r.p_stockout_lo, r.p_stockout_hi)}</td>"
            f"<td>{'after the horizon' if pd.isna(r.median_date) else r.median_date.date()}</td></tr>"
            for r in so.itertuples())
        pr = self.prices()
        pr = pr[pr["product"] == net.key_product]
        prices = ", ".join(f"{html.escape(r.region)} {cell(round(r.median, 2))}x" for r in pr.itertuples())
        parts = [f"<div><b>standoff</b> {html.escape(sc.name)}: {self.ds.sizes['member']} members (seed {sc.seed}), "
                 f"{sc.horizon_days} days from {sc.start}",
                 "<table><tr><th>region</th><th>sector</th><th>P(stockout) (95% MC)</th><th>median date</th></tr>"
                 f"{rows}</table>",
                 f"<p>Peak {html.escape(net.key_product)} price (median member, x baseline): {prices}</p>"]
        if sc.negotiation.enabled:
            te = self.truce_ends()
            parts.append("<p>First truces: " + "; ".join(
                f"{html.escape(r.end)} {fmt_p(r.share, r.share_lo, r.share_hi)}" for r in te.itertuples()) + "</p>")
        parts.append("<p style='color:gray'>Tables: .stockouts(), .losses(), .prices(), .price_tiers(), "
                     ".authority(), .customs(); charts: .plot_stockouts(), .plot_fan(var, ...), "
                     ".plot_price_tiers(product), .plot_tornado(); the data: .ds (xarray)</p></div>")
        return "".join(parts)

    def plot_fan(self, var: str = "cover_days", ax: Any = None, color: str = "C0", label: str | None = None,
                 **sel: str) -> Any:
        """A fan chart of a daily path (:func:`standoff.plots.fan`); returns the figure."""
        from .plots import fan
        return fan(self, var, ax=ax, color=color, label=label, **sel)

    def plot_stockouts(self, region: str | None = None, sectors: list[str] | None = None) -> Any:
        """When each sector first runs dry, as a cumulative share of members (:func:`standoff.plots.stockouts`)."""
        from .plots import stockouts
        return stockouts(self, region, sectors)

    def plot_price_tiers(self, product: str | None = None, regions: list[str] | None = None) -> Any:
        """Domestic, export (FOB) and outside prices of a product (:func:`standoff.plots.price_tiers`)."""
        from .plots import price_tiers
        return price_tiers(self, product, regions)

    def plot_tornado(self, top: int = 12, region: str | None = None, sector: str | None = None) -> Any:
        """The uncertain inputs that swing lost output most (:func:`standoff.plots.tornado`)."""
        from .plots import tornado
        kw = {k: v for k, v in (("region", region), ("sector", sector)) if v is not None}
        return tornado(self, top=top, **kw)

    def truce_ends(self) -> pd.DataFrame:
        """How first truces end, among members that reached an agreement: the share that lapsed at a
        deadline, collapsed after a measure outside the deal read as a breach, collapsed after a
        perceived breach of the deal, or still held at the horizon (censored), each with its 95%
        Monte Carlo interval and the median lifespan of those that ended so (for those still in
        force: the days they were observed)."""
        agree = self._neg("first_agreement_day")
        coll = self._neg("first_collapse_day")
        cause = self._neg("first_end_cause")
        has = ~np.isnan(agree)
        n = int(has.sum())
        rows = []
        for code, name in [*END_CAUSES.items(), (0, "still in force at the horizon")]:
            pick = has & (np.isnan(cause) if code == 0 else cause == code)
            k = int(pick.sum())
            lo, hi = proportion_ci(k, n, deff=self.deff) if n else (float("nan"), float("nan"))
            life = (np.where(np.isnan(coll), self.scenario.horizon_days, coll) - agree)[pick]
            rows.append({"end": name, "share": k / n if n else float("nan"), "share_lo": lo, "share_hi": hi,
                         "members": k, "median_days": float(np.median(life)) if k else float("nan")})
        return pd.DataFrame(rows)

    def truce_lifespan(self, period_days: int = 30) -> pd.DataFrame:
        """The first truce's lifespan as a life table: for each period of ``period_days`` after the
        agreement, the truces at risk at its start, those that ended in it, the hazard (ended over
        at risk) and the share still in force at its end (the product of one less each hazard:
        Kaplan-Meier, so a truce still in force at the horizon counts while it is observed).
        ``attrs['median_days']`` is the median lifespan (NaN when more than half outlive what is
        observed) and ``attrs['members']`` the truces counted."""
        agree = self._neg("first_agreement_day")
        coll = self._neg("first_collapse_day")
        has = ~np.isnan(agree)
        ended = ~np.isnan(coll[has])
        life = np.where(ended, coll[has] - agree[has], self.scenario.horizon_days - agree[has])
        rows = []
        surv = 1.0
        median = float("nan")
        top = int(np.max(life)) if life.size else -1
        for start in range(0, top + 1, period_days):
            end = start + period_days
            at_risk = int(np.sum(life >= start))
            if at_risk == 0:
                break
            d = int(np.sum(ended & (life >= start) & (life < end)))
            h = d / at_risk
            before = surv
            surv *= 1.0 - h
            if np.isnan(median) and surv <= 0.5 < before:
                median = float(start + period_days * (before - 0.5) / (before - surv))
            rows.append({"from_day": start, "to_day": end, "at_risk": at_risk, "ended": d, "hazard": h,
                         "in_force_after": surv})
        df = pd.DataFrame(rows, columns=["from_day", "to_day", "at_risk", "ended", "hazard", "in_force_after"])
        df.attrs["median_days"] = median
        df.attrs["members"] = int(has.sum())
        return df

    def headline_metrics(self) -> dict:
        """The catalogue's headline numbers (the US side's lead sector, pain medians, truce survival at 90 days)."""
        pain = self.ds["pain_usd_bn"].sum("pain_kind")
        net = self.scenario.network()
        lead = {"region": net.us_region, "sector": net.lead_sector}
        return headline(self.stockouts(), lead, float(np.median(self.ds["output_loss_usd_bn"].sel(**lead))),
                        float(np.median(pain.sel(side="US"))), float(np.median(pain.sel(side="CN"))),
                        self.truce_survival() if self.scenario.negotiation.enabled else None)

    def concessions(self) -> pd.DataFrame:
        """When each side's pressure first reaches its resolve (it would concede), and what it gave in the
        first deal: the share of its escalation taken back, the tariff it then charges the other, and the
        mean compliance it chose (0: it defected) or a scenario imposed (medians over members with a deal)."""
        start = pd.Timestamp(self.scenario.start)
        rows = []
        us, cn = self._neg("first_concession_day_us"), self._neg("first_concession_day_cn")
        for side, x, depth in (("US", us, self._neg("concession_us")), ("CN", cn, self._neg("concession_cn"))):
            y = np.where(np.isnan(x), np.inf, x)
            got = ~np.isnan(self._neg("first_agreement_day"))
            tariff = self._neg(f"first_deal_tariff_{side.lower()}")
            comply = self._neg(f"chosen_compliance_{side.lower()}")
            lo, hi = proportion_ci(int(np.isfinite(y).sum()), y.size, deff=self.deff)
            rows.append({"side": side, "p_concedes": float(np.isfinite(y).mean()), "p_concedes_lo": lo,
                         "p_concedes_hi": hi,
                         "median_date": start + pd.Timedelta(days=_q(y, 0.5)) if np.isfinite(_q(y, 0.5)) else pd.NaT,
                         "p10_date": start + pd.Timedelta(days=_q(y, 0.1)) if np.isfinite(_q(y, 0.1)) else pd.NaT,
                         "p90_date": start + pd.Timedelta(days=_q(y, 0.9)) if np.isfinite(_q(y, 0.9)) else pd.NaT,
                         "median_concession_in_first_deal": float(np.median(depth[got])) if got.any() else float("nan"),
                         "median_tariff_in_first_deal": float(np.median(tariff[got])) if got.any() else float("nan"),
                         "median_compliance_in_first_deal": float(np.median(comply[got])) if got.any() else float("nan")})
        df = pd.DataFrame(rows)
        a, b = np.where(np.isnan(us), np.inf, us), np.where(np.isnan(cn), np.inf, cn)
        df.attrs["p_us_first"] = float(np.mean(a < b))
        df.attrs["p_cn_first"] = float(np.mean(b < a))
        df.attrs["p_us_first_ci"] = proportion_ci(int(np.sum(a < b)), a.size, deff=self.deff)
        df.attrs["p_cn_first_ci"] = proportion_ci(int(np.sum(b < a)), a.size, deff=self.deff)
        return df

    def rounds(self) -> pd.DataFrame:
        """Rounds held, near-collapses, impasses (rounds that broke up on demands the other would not meet),
        agreements, deals a side chose to defect from, collapses and extensions per member (mean and median)."""
        names = ["rounds", "near_collapses", "impasses", "agreements", "defections", "collapses", "extensions"]
        return pd.DataFrame([{"measure": n, "mean": float(np.mean(self._neg(n))), "median": float(np.median(self._neg(n)))}
                             for n in names])

    def status_quo_ante(self) -> pd.DataFrame:
        """The end state against the status quo ante (the 2024 baseline, before escalation), per importing region.

        The controller's share of the key product's supply (remaining dependence), the days the lead sector needed after the
        first agreement to hold 90% of target inventory again (rebuild time), and the magnet
        price and the lead sector's cover at the end (from the kept daily paths).
        """
        net = self.scenario.network()
        kp, lead = net.key_product, net.lead_sector
        m = net.index("product", kp)
        c = net.index("region", net.cn_region)
        rows = []
        for r, reg in enumerate(net.regions):
            if reg == net.cn_region or net.use[r, m] <= 0:
                continue
            share_end = self.ds["china_share_end"].sel(region=reg).values
            rb = self.ds["rebuild_days"].sel(region=reg).values
            cover = self.ds["cover_days"].sel(region=reg, sector=lead).isel(time=-1).values
            price = self.ds["price_multiple"].sel(region=reg, product=kp).isel(time=-1).values
            days0 = float(self.ds["demand_t_per_day"].sel(region=reg, sector=lead)) > 0
            key = f"inventory_days.{lead}"
            no_conflict_cover = float(np.median(self.ds["inputs"].sel(input=key).values)) \
                if key in self.ds["input"].values else float(net.sector_days.loc[lead, "days_cover"])
            rows.append({"region": reg, "china_share_ante": float(net.share[m, c, r]),
                         "china_share_end_median": float(np.nanmedian(share_end)) if np.isfinite(share_end).any() else np.nan,
                         "rebuild_days_median": float(np.nanmedian(rb)) if np.isfinite(rb).any() else np.nan,
                         "p_rebuilt": float(np.mean(np.isfinite(rb))),
                         "lead_cover_end_days": float(np.median(cover)) if days0 and cover.size else np.nan,
                         "lead_cover_no_conflict_days": no_conflict_cover if days0 else np.nan,
                         "key_price_end": float(np.median(price)) if price.size else np.nan})
        return pd.DataFrame(rows)

    def leverage(self) -> pd.DataFrame:
        """Leverage left at the end of the horizon: each side's pressure ratio (pain it still feels
        over its resolve; below 1 it could hold out) and China's share of magnet supply outside China."""
        pr = self.ds["pressure_ratio"].isel(time=-1)
        share = self.ds["china_share_end"]
        outside = [r for r in share.region.values if r != self.scenario.network().cn_region]
        rows = [{"side": s, "pressure_ratio_end_median": float(pr.sel(side=s).median()) if pr.size else np.nan,
                 "pressure_ratio_end_p90": float(pr.sel(side=s).quantile(0.9)) if pr.size else np.nan}
                for s in ("US", "CN")]
        df = pd.DataFrame(rows)
        df.attrs["controller_share_outside_end"] = float(np.nanmedian(share.sel(region=outside).values))
        return df

    def stockpiles(self) -> pd.DataFrame:
        """How long released strategic stockpiles last: the share of members in which each runs
        out within the horizon and the median day it does (only stockpiles that were released)."""
        sc = self.scenario
        released = {(e.region, e.product) for e in sc.events if e.type == "stockpile_release"}
        rows = []
        for reg, prod in sorted(released):
            d = self.ds["stockpile_empty_day"].sel(region=reg, product=prod).values
            x = np.where(np.isnan(d), np.inf, d)
            first = min(sc.day_of(e.date) for e in sc.events if e.type == "stockpile_release"
                        and e.region == reg and e.product == prod)
            med = _q(x, 0.5)
            rows.append({"region": reg, "product": prod, "released_from_day": first,
                         "p_exhausted": float(np.isfinite(x).mean()), "median_day_exhausted": med,
                         "median_days_it_lasted": med - first if np.isfinite(med) else float("inf")})
        return pd.DataFrame(rows, columns=["region", "product", "released_from_day", "p_exhausted",
                                           "median_day_exhausted", "median_days_it_lasted"])

    def weekly_losses(self) -> pd.DataFrame:
        """Output lost per week (US$ bn) per region and sector, from the kept daily paths: the median
        over members of the worst week and of the average week with a loss."""
        of = self.ds["output_fraction"]
        if of.sizes.get("traj_member", 0) == 0:
            return pd.DataFrame(columns=["region", "sector", "peak_week_bn", "mean_loss_week_bn"])
        net = self.scenario.network()
        value = xr.DataArray(net.value_per_day * 1e-9, dims=("region", "sector"),
                             coords={"region": net.regions, "sector": net.sectors})
        daily = (1.0 - of) * value
        weekly = daily.coarsen(time=7, boundary="trim").sum()
        peak = weekly.max("time").median("traj_member")
        lossy = weekly.where(weekly > 1e-6)
        mean = lossy.mean("time").fillna(0.0).median("traj_member")
        df = xr.Dataset({"peak_week_bn": peak, "mean_loss_week_bn": mean}).to_dataframe().reset_index()
        return df[df["peak_week_bn"] > 0].reset_index(drop=True)

    def firms(self) -> pd.DataFrame:
        """What firms went through, per region and sector (medians over members, with p10 and p90 of
        the output lost and delayed): the first stoppage (the first firm to stop), the share of
        the sector's output that stopped on at least one day, firm-weeks stopped (each firm
        weighted by its share: 1 = the whole sector for a week), output lost and output delayed
        (built incomplete and finished later), in US$ bn and units, and what was still
        unfinished at the horizon.  Rows where no member lost or delayed anything are left out.
        """
        ds = self.ds
        cols = ["region", "sector", "median_first_stop_day", "share_affected", "stopped_weeks", "lost_usd_bn",
                "lost_p10", "lost_p90", "delayed_usd_bn", "delayed_p10", "delayed_p90", "unfinished_usd_bn",
                "units_lost", "units_delayed"]
        if "output_delayed_usd_bn" not in ds:
            return pd.DataFrame(columns=cols)
        rows = []
        for reg in ds.region.values:
            for sec in ds.sector.values:
                sel = {"region": reg, "sector": sec}
                lost = ds.output_loss_usd_bn.sel(**sel).values
                late = ds.output_delayed_usd_bn.sel(**sel).values
                if lost.max() <= 0.0 and late.max() <= 0.0:
                    continue
                day = ds.first_stockout_day.sel(**sel).values
                rows.append({"region": str(reg), "sector": str(sec),
                             "median_first_stop_day": _q(np.where(np.isnan(day), np.inf, day), 0.5),
                             "share_affected": float(np.median(ds.share_affected.sel(**sel).values)),
                             "stopped_weeks": float(np.median(ds.stopped_weeks.sel(**sel).values)),
                             "lost_usd_bn": _q(lost, 0.5), "lost_p10": _q(lost, 0.1), "lost_p90": _q(lost, 0.9),
                             "delayed_usd_bn": _q(late, 0.5), "delayed_p10": _q(late, 0.1),
                             "delayed_p90": _q(late, 0.9),
                             "unfinished_usd_bn": float(np.median(ds.unfinished_usd_bn.sel(**sel).values)),
                             "units_lost": float(np.median(ds.units_lost.sel(**sel).values)),
                             "units_delayed": float(np.median(ds.units_delayed.sel(**sel).values))})
        return pd.DataFrame(rows, columns=cols)

    def price_tiers(self) -> pd.DataFrame:
        """The two tiers a control makes of one market, per controlled product and exporter, from the
        kept daily paths: the peak of the domestic price (inside the exporter) and of the export
        (FOB) price (what its shipments fetch abroad), as multiples of the baseline (median, p10,
        p90 over members), the median date of the FOB peak, and the median wedge (FOB over
        domestic) at that peak: the rent that licences and quotas create."""
        ds = self.ds
        cols = ["product", "exporter", "domestic_peak", "domestic_p10", "domestic_p90", "fob_peak", "fob_p10",
                "fob_p90", "fob_peak_date", "wedge_at_peak"]
        if ds.sizes.get("traj_member", 0) == 0 or "fob_price" not in ds:
            return pd.DataFrame(columns=cols)
        rows = []
        for prod, exp in self.controlled_routes():
            fob = ds.fob_price.sel(product=prod, region=exp).values          # [member, time]
            dom = ds.price_multiple.sel(region=exp, product=prod).values
            fpk = fob.max(axis=1)
            dpk = dom.max(axis=1)
            at = fob.argmax(axis=1)
            wedge = fob[np.arange(len(at)), at] / dom[np.arange(len(at)), at]
            day = int(np.median(at))
            rows.append({"product": prod, "exporter": exp, "domestic_peak": float(np.median(dpk)),
                         "domestic_p10": float(np.quantile(dpk, 0.1)), "domestic_p90": float(np.quantile(dpk, 0.9)),
                         "fob_peak": float(np.median(fpk)), "fob_p10": float(np.quantile(fpk, 0.1)),
                         "fob_p90": float(np.quantile(fpk, 0.9)),
                         "fob_peak_date": str(self.scenario.start + dt.timedelta(days=day)),
                         "wedge_at_peak": float(np.median(wedge))})
        return pd.DataFrame(rows, columns=cols)

    def controlled_routes(self) -> list[tuple[str, str]]:
        """(product, exporter) pairs some export-control event of the scenario names, the largest
        baseline export value first (the one a summary leads with)."""
        from .scenario import ExportControlEvent
        net = self.scenario.network()
        pairs: list[tuple[str, str]] = []
        for ev in self.scenario.events:
            if isinstance(ev, ExportControlEvent):
                pairs += [(p, ev.exporter) for p in ev.products if (p, ev.exporter) not in pairs]

        def value(pair: tuple[str, str]) -> float:
            p, e = net.products.index(pair[0]), net.regions.index(pair[1])
            return float((net.flows[p, e].sum() - net.flows[p, e, e]) * net.price_usd_per_t[p])
        return sorted(pairs, key=lambda pr: -value(pr))

    def customs(self) -> pd.DataFrame:
        """Monthly exports of every controlled product by its controlling exporter, to all
        destinations and to each destination (what customs offices publish), from the kept daily paths.

        One row per month, product, exporter and destination (``ALL`` for the total): the median,
        p10 and p90 over members of the month's mean t/day, and the median as a multiple of the
        baseline flow (``x_baseline``: "exports to the US fell n%" is ``1 - x_baseline``).  Leaked
        tonnes are declared to the third countries they pass through (:data:`THIRD_COUNTRIES`,
        no baseline), not to their final destination, as the exporter's customs record them; the
        importer's statistics record them as imports from those countries.
        """
        cols = ["month", "product", "exporter", "destination", "median_t_per_day", "p10", "p90", "x_baseline"]
        ds = self.ds
        if ds.sizes.get("traj_member", 0) == 0 or "route_exports_t" not in ds:
            return pd.DataFrame(columns=cols)
        net = self.scenario.network()
        rows = []

        def add(da: xr.DataArray, prod: str, exp: str, dest: str, base: float) -> None:
            monthly = da.resample(time="MS").mean()
            q = monthly.quantile([0.1, 0.5, 0.9], dim="traj_member").values
            for k, month in enumerate(monthly.time.dt.strftime("%Y-%m").values):
                rows.append({"month": month, "product": prod, "exporter": exp, "destination": dest,
                             "median_t_per_day": q[1, k], "p10": q[0, k], "p90": q[2, k],
                             "x_baseline": q[1, k] / base if base > 0 else np.nan})

        r = ds["route_exports_t"]
        for prod, exp in self.controlled_routes():
            p, e = net.products.index(prod), net.regions.index(exp)
            base_all = float(sum(net.flows[p, e, i] for i in range(len(net.regions)) if i != e))
            add(ds["exports_t"].sel(product=prod, region=exp), prod, exp, "ALL", base_all)
            mine = np.nonzero((r["route_product"].values == prod) & (r["route_from"].values == exp))[0]
            for j in mine:
                dest = str(r["route_to"].values[j])
                add(r.isel(route=j), prod, exp, dest, float(net.flows[p, e, net.regions.index(dest)]))
            if "route_transshipped_t" in ds and len(mine):
                # Declared to third countries on the way to any destination (none in the baseline).
                add(ds["route_transshipped_t"].isel(route=mine).sum("route"), prod, exp, THIRD_COUNTRIES, 0.0)
        return pd.DataFrame(rows, columns=cols)

    def condition(self, observations: Any, seed: int | None = None, moves: int = 0) -> Any:
        """This ensemble weighted and resampled by what has been published
        (:func:`standoff.nowcast.condition`): ``observations`` is a table's path or a list of
        :class:`~standoff.nowcast.Observation`; ``moves`` resample-move steps follow
        (:func:`standoff.nowcast.rejuvenate`).  Returns a :class:`~standoff.nowcast.Conditioned`
        whose ``posterior`` is the forecast ensemble."""
        from .nowcast import condition, rejuvenate
        c = condition(self, observations, seed=seed)
        for k in range(moves):
            c = rejuvenate(c, seed_offset=k + 1)
        return c

    def licences(self) -> pd.DataFrame:
        """Monthly licence counts per product, from the kept daily paths: the median over members of
        contracts applied for, granted, refused and cancelled in the month, refused buyers who left
        for good, the applications pending and the backlog (reviews over, not yet reached by the
        authority) at its end, and the mean days from application to decision of the month's
        decisions (median over the members that decided any).

        A contract is one buyer's share of a route's covered trade (``LICENCE_CONTRACTS`` per
        route), so the counts are comparable across months and scenarios, not with the number of
        licences an authority issues.
        """
        ds = self.ds
        cols = ["month", "product", "applied", "granted", "refused", "cancelled", "left", "pending_end", "backlog_end",
                "mean_days_to_decision"]
        if ds.sizes.get("traj_member", 0) == 0 or "licences" not in ds:
            return pd.DataFrame(columns=cols)
        lic = ds["licences"]
        active = lic.sum(("traj_member", "time", "licence_kind")) > 0
        rows = []
        for prod in lic["product"].values[active.values]:
            x = lic.sel(product=prod)
            by_month = x.resample(time="MS")
            sums = by_month.sum()
            flows = sums.median("traj_member")
            ends = by_month.last().median("traj_member")
            decided = sums.sel(licence_kind="granted") + sums.sel(licence_kind="refused")
            wait = (sums.sel(licence_kind="waited_days") / decided.where(decided > 0)).median("traj_member",
                                                                                             skipna=True)
            for k, month in enumerate(flows.time.dt.strftime("%Y-%m").values):
                rows.append({"month": month, "product": str(prod),
                             **{kind: float(flows.sel(licence_kind=kind).values[k])
                                for kind in ("applied", "granted", "refused", "cancelled", "left")},
                             "pending_end": float(ends.sel(licence_kind="pending").values[k]),
                             "backlog_end": float(ends.sel(licence_kind="backlog").values[k]),
                             "mean_days_to_decision": float(wait.values[k])})
        return pd.DataFrame(rows, columns=cols)

    def authority(self) -> pd.DataFrame:
        """The licensing authority per licensed product, from the kept members' daily licence counts:
        the first licence's date, the largest backlog, the mean days from application to decision
        over the horizon, the share of applications granted and the buyers who left (medians, with
        p10 and p90 of the first licence's date)."""
        ds = self.ds
        cols = ["product", "first_licence", "first_licence_p10", "first_licence_p90", "peak_backlog",
                "mean_days_to_decision", "granted_share", "left"]
        if ds.sizes.get("traj_member", 0) == 0 or "licences" not in ds:
            return pd.DataFrame(columns=cols)
        lic = ds["licences"]
        start = pd.Timestamp(self.scenario.start)
        rows = []
        for prod in lic["product"].values[(lic.sum(("traj_member", "time", "licence_kind")) > 0).values]:
            x = lic.sel(product=prod)
            g = x.sel(licence_kind="granted").values  # [member, time]
            first = np.where((g > 0).any(axis=1), (g > 0).argmax(axis=1), np.inf)
            tot = x.sum("time")
            decided = (tot.sel(licence_kind="granted") + tot.sel(licence_kind="refused")).values
            applied = tot.sel(licence_kind="applied").values

            def day(q: float) -> object:
                v = _q(first, q)
                return (start + pd.Timedelta(days=v)).date() if np.isfinite(v) else "never"
            rows.append({"product": str(prod), "first_licence": day(0.5), "first_licence_p10": day(0.1),
                         "first_licence_p90": day(0.9),
                         "peak_backlog": float(np.median(x.sel(licence_kind="backlog").max("time").values)),
                         "mean_days_to_decision": float(np.nanmedian(np.where(
                             decided > 0, tot.sel(licence_kind="waited_days").values / np.maximum(decided, 1), np.nan)))
                         if (decided > 0).any() else float("nan"),
                         "granted_share": float(np.nanmedian(np.where(
                             applied > 0, tot.sel(licence_kind="granted").values / np.maximum(applied, 1), np.nan)))
                         if (applied > 0).any() else float("nan"),
                         "left": float(np.median(tot.sel(licence_kind="left").values))})
        return pd.DataFrame(rows, columns=cols)

    def summary(self) -> dict[str, pd.DataFrame]:
        """All summary tables by name."""
        out = {"stockouts": self.stockouts(), "losses": self.losses(), "prices": self.prices(),
               "pain": self.pain(), "trade": self.trade(), "goods": self.goods(), "readiness": self.readiness(),
               "concessions": self.concessions(), "status_quo_ante": self.status_quo_ante(),
               "leverage": self.leverage(), "stockpiles": self.stockpiles(), "weekly_losses": self.weekly_losses(),
               "customs": self.customs(), "licences": self.licences(), "authority": self.authority(),
               "firms": self.firms(), "rents": self.rents(),
               "price_tiers": self.price_tiers()}
        if self.scenario.negotiation.enabled:
            out.update({"agreement_by_date": self.agreement_by_date(), "truce_survival": self.truce_survival(),
                        "rounds": self.rounds(), "truce_ends": self.truce_ends(),
                        "truce_lifespan": self.truce_lifespan()})
        return out

    # ---- files ----
    def save(self, out: str | Path, overwrite: bool = False, all_paths: bool = False) -> Path:
        """Write ``results.nc``, ``summary/*.csv``, ``scenario.yaml`` and ``run.json`` into ``out``.

        The daily paths nothing reads from a saved run (:data:`WORKING_PATHS`: buyers'
        expectations, traders' stock, requirements, cumulative pain, the agreement flag) are
        left out unless ``all_paths`` (``standoff run --all-paths``): a third of the folder.

        The files are written into a temporary folder beside ``out`` and moved into place in
        one rename (:func:`standoff.runstore.atomic_folder`), so a failure never leaves a
        half-written run, and an existing non-empty ``out`` is never replaced unless
        ``overwrite``.  ``run.json`` records the run's catalogue id (:attr:`run_id`, made here
        if the run has none) and its headline numbers, so the catalogue can adopt the folder
        even if registering it never happened.
        """
        from .runstore import atomic_folder, new_run_id, writer_info
        out = Path(out)
        self.run_id = self.run_id or new_run_id()
        ds = self.ds if all_paths else self.ds.drop_vars([v for v in WORKING_PATHS if v in self.ds])
        with atomic_folder(out, overwrite=overwrite) as tmp:
            ds.to_netcdf(tmp / "results.nc", engine="h5netcdf", encoding=compressed(ds))
            (tmp / "summary").mkdir()
            tables = self.summary()
            for name, df in tables.items():
                write_csv(summary_for_csv(df), tmp / "summary" / f"{name}.csv")
            write_csv(summary_columns(tables), tmp / "summary" / "columns.csv")
            (tmp / "scenario.yaml").write_text(self.scenario.to_yaml(), encoding="utf-8")
            meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in self.ds.attrs.items()}
            meta["created"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            meta["run_id"] = self.run_id
            meta["writer"] = writer_info()  # adoption leaves the folder of a live writer to it
            meta["negotiate"] = bool(self.scenario.negotiation.enabled)
            meta["headline"] = self.headline_metrics()
            meta["results_digest"] = results_digest(ds)  # what `standoff rerun` checks (what was saved)
            # The stored files' own digests: a reader can tell a results.nc edited or replaced
            # after the run from the one this run wrote (load refuses it; rerun names it).
            meta["files_sha256"] = {n: sha256_file(tmp / n) for n in ("results.nc", "scenario.yaml")}
            try:
                meta["platform"] = platform_info()
            except ImportError:  # numba missing: a run loaded for its report, saved elsewhere
                meta["platform"] = {}
            (tmp / "run.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> "Results":
        """Read a run folder written by :meth:`save`."""
        folder = Path(folder)
        from .runstore import read_run_json
        if not folder.is_dir():
            raise StandoffError("not a run folder", file=str(folder))
        meta = read_run_json(folder) or {}
        if (folder / "run.json").exists() and not (folder / "results.nc").exists():
            if meta.get("streamed", False):
                raise StandoffError("this run was streamed and kept summaries only (stockouts.csv, the bands and "
                                    "paths.nc); what reads a full run (report, compare, discover, rerun, the "
                                    "dashboard, Results.load) needs one made without --stream", file=str(folder))
        need = ["results.nc", "scenario.yaml", "run.json"]
        for n in need:
            if not (folder / n).exists():
                raise StandoffError(f"not a complete standoff run folder (missing {n})", file=str(folder))
            check_regular(folder / n, n)
        recorded = meta.get("files_sha256")
        if isinstance(recorded, dict):
            for n, digest in recorded.items():
                if n in need and sha256_file(folder / n) != digest:
                    raise StandoffError(f"{n} is not the file this run wrote (its SHA-256 differs from the one "
                                        "run.json records): it was edited or replaced since; run the scenario again",
                                        file=str(folder / n))
        try:
            ds = xr.load_dataset(folder / "results.nc", engine="h5netcdf")
        except Exception as exc:
            raise StandoffError(f"cannot read results: {exc}", file=str(folder / "results.nc")) from None
        sc = scenario_from_dict(read_yaml_file(folder / "scenario.yaml"), str(folder / "scenario.yaml"))
        res = cls(ds, sc, run_id=meta.get("run_id"))
        res.folder = folder  # where it was read from (a nowcast's tables live beside it)
        return res


#: Daily paths a saved run leaves out unless asked (``Results.save(all_paths=True)``): the report,
#: the dashboard and the Results methods do not read them from a run folder (validation reads
#: requirements in memory).  Together about a third of a compressed run folder.
WORKING_PATHS = ("expectation", "speculative_t", "requirement_fraction", "pain_cum_usd_bn", "agreement_in_force")


def compressed(ds: xr.Dataset) -> dict[str, dict]:
    """NetCDF encoding that compresses every variable losslessly (zlib level 1 with byte shuffle:
    london-2025's default run folder 171 MiB -> 49 MiB, written in 1.6 s against 0.4 s and read in
    0.9 s against 0.6 s on this 2-core machine; level 4 saves only 3% more for twice the time).
    Lossless, so a saved run reads back bit for bit and ``rerun`` can compare it."""
    return {k: {"zlib": True, "complevel": 1, "shuffle": True} for k in ds.data_vars}


#: What a summary table's numbers are in, by table, for tables of one measure's p10, median and
#: p90 (the rest are read from the column's name, :func:`column_unit`).
_TABLE_UNITS = {"losses": UNITS["output_loss_usd_bn"], "prices": UNITS["peak_price_multiple"],
                "pain": UNITS["pain_usd_bn"], "rents": "US$ bn, cumulative", "trade": UNITS["re_trade_t"], "goods": UNITS["goods_trade_usd_bn"],
                "readiness": UNITS["readiness_min"]}


#: Columns that are labels (what a row is about), and columns whose unit the name does not say.
_LABELS = {"region", "sector", "product", "side", "month", "exporter", "destination", "pain_kind", "flow_kind",
           "goods_kind", "rent_kind", "measure", "end", "outcome", "note", "input"}
_COLUMN_UNITS = {
    "authority": {"first_licence": "date of the first licence (median member); first_licence_p10/_p90 likewise",
                  "first_licence_p10": "date", "first_licence_p90": "date",
                  "peak_backlog": "licence contracts (a route's buyers) waiting, median member",
                  "granted_share": "share of decided applications granted, 0-1",
                  "left": "licence contracts whose buyers left to buy elsewhere, median member"},
    "customs": {"p10": "t/day", "p90": "t/day", "x_baseline": "x the baseline's exports (median member)"},
    "firms": {"stopped_weeks": UNITS["stopped_weeks"], "lost_p10": "US$ bn", "lost_p90": "US$ bn",
              "delayed_p10": "US$ bn", "delayed_p90": "US$ bn"},
    "leverage": {"pressure_ratio_end_median": "pressure over resolve at the end (1: the side would concede)",
                 "pressure_ratio_end_p90": "pressure over resolve at the end"},
    "licences": {"*": "licence contracts (a route's buyers) in the month, median member"},
    "price_tiers": {"*": "x baseline price", "wedge_at_peak": "FOB price over domestic price at the FOB peak"},
    "concessions": {"median_concession_in_first_deal": "share of its escalation a side took back, 0-1",
                    "median_tariff_in_first_deal": "the side's tariff on its opponent under the first deal (fraction)",
                    "median_compliance_in_first_deal": "mean share of its commitments the side honours, 0-1"},
    "rounds": {"mean": "count per member (the measure's rounds, agreements, ...)", "median": "count per member"},
    "prices": {"at_cap": "share of members whose peak is their price_cap (an assumed bound where users' bids would "
                         "go higher, not a market price: read it as 'at least'), 0-1"},
    "status_quo_ante": {"china_share_ante": "share of the key product's supply, 0-1",
                        "china_share_end_median": "share of the key product's supply, 0-1",
                        "key_price_end": "x baseline price"},
}


def column_unit(table: str, column: str) -> str:
    """The unit of ``column`` of summary table ``table`` (for ``summary/columns.csv``)."""
    c = column.lower()
    if c in _LABELS:
        return "a label (what the row is about)"
    known = _COLUMN_UNITS.get(table, {})
    if c in known or "*" in known:  # (labels were answered above)
        return known.get(c, known.get("*", ""))
    if c.startswith("units_"):
        return UNITS["units_lost"]
    if table in _TABLE_UNITS and c.split("_")[0] in ("p10", "median", "p90"):
        return _TABLE_UNITS[table]
    if "date" in c:
        return "date (YYYY-MM-DD); empty: not within the horizon"
    if c.startswith("p_") or c.startswith("share") or c in ("hazard", "in_force_after", "p_survive"):
        return "probability or share, 0-1 (_lo/_hi: its 95% Monte Carlo interval)"
    if "day" in c:
        return "days from the scenario's start (or from the agreement, for lifespans); never: not within the horizon"
    if "usd_bn" in c or c.endswith("_bn"):
        return "US$ bn"
    if c.endswith("_t") or c.endswith("_t_per_day") or "tonnes" in c:
        return "t (t/day where the name says per day)"
    if c in ("members", "at_risk", "ended", "censored", "members_with_agreement") or c.startswith("n_"):
        return "count of members"
    return "a label, or as the table's method in standoff.results.Results describes"


def summary_columns(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every column of every summary table with its unit: ``summary/columns.csv``."""
    return pd.DataFrame([{"table": name, "column": col, "unit": column_unit(name, col)}
                         for name, df in tables.items() for col in df.columns])


def summary_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """A summary table as its CSV shows it: an event that never happened within the horizon is
    written ``never`` (not ``inf``), an interval bound with no members ``n/a``."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]) and np.isinf(out[col].to_numpy()).any():
            v = out[col].to_numpy()
            out[col] = np.where(np.isposinf(v), "never", np.where(np.isneginf(v), "n/a", v.astype(object)))
    return out


_NEG_AGREE = NEG_OUTPUTS.index("first_agreement_day")
_NEG_COLLAPSE = NEG_OUTPUTS.index("first_collapse_day")


def truce_counts(agree: np.ndarray, collapse: np.ndarray, horizon: int, days: int) -> tuple[int, int, int]:
    """Members with a first agreement, those whose fate at ``days`` is known, and those it survived.

    ``agree`` and ``collapse`` are each member's first agreement and first collapse days (NaN
    for never).  An agreement still in force at the horizon's end that began fewer than
    ``days`` before it is censored (not known).
    """
    has = ~np.isnan(agree)
    lived = np.where(np.isnan(collapse), np.inf, collapse) - agree
    known = has & ((lived >= days) | ~np.isnan(collapse)) & ~(np.isnan(collapse) & (horizon - agree < days))
    survived = known & (lived >= days)
    return int(has.sum()), int(known.sum()), int(survived.sum())


def truce_table(days: Sequence[int], counts: Sequence[Sequence[int]], deff: float = 1.0) -> pd.DataFrame:
    """The truce-survival table from :func:`truce_counts` for each of ``days`` (``deff``: the
    members' design effect, :attr:`Results.deff`)."""
    rows = []
    for d, (has, kn, sv) in zip(days, counts):
        lo, hi = proportion_ci(sv, kn, deff=deff)
        rows.append({"days": d, "p_survive": sv / kn if kn else float("nan"), "p_survive_lo": lo, "p_survive_hi": hi,
                     "members_with_agreement": int(has), "censored": int(has - kn)})
    return pd.DataFrame(rows)


def headline(stockouts: pd.DataFrame, lead: dict[str, str], loss_lead: float, pain_us: float, pain_cn: float,
             truce: pd.DataFrame | None) -> dict:
    """The catalogue's headline numbers, from a run's stockout table, medians and truce table (None if no talks).

    ``lead`` names the US side's region and the dataset's lead sector (the ``_lead`` columns of the
    catalogue)."""
    so = stockouts.set_index(["region", "sector"]).loc[(lead["region"], lead["sector"])]
    m = {"p_stockout_lead": float(so["p_stockout"]), "median_stockout_day_lead": float(so["median_day"]),
         "median_loss_lead_bn": loss_lead, "median_pain_us_bn": pain_us, "median_pain_cn_bn": pain_cn,
         "p_truce_survives_90d": None if truce is None else float(truce.set_index("days").loc[90, "p_survive"])}
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in m.items()}


def stockout_counts(days: np.ndarray, horizon: int) -> np.ndarray:
    """Members by first-stockout day, ``counts[r, s, d]``, the last bin (``horizon``) for never.

    ``days`` is ``(member, region, sector)``, NaN for never; first-stockout days are whole days
    of the horizon, so the histogram is exact."""
    idx = np.where(np.isnan(days), horizon, days).astype(np.int64)
    out = np.zeros(days.shape[1:] + (horizon + 1,), dtype=np.int64)
    for r, s in np.ndindex(*days.shape[1:]):
        out[r, s] = np.bincount(idx[:, r, s], minlength=horizon + 1)
    return out


def _quantile_day(counts: np.ndarray, q: float) -> float:
    """The empirical (inverted-CDF) quantile of a day histogram; ``inf`` if it falls on never."""
    c = np.cumsum(counts)
    if not c[-1]:
        return float("nan")
    d = int(np.searchsorted(c, q * c[-1], side="left"))
    return float("inf") if d >= counts.size - 1 else float(d)


def stockout_table(regions: Sequence[str], sectors: Sequence[str], demand: np.ndarray, counts: np.ndarray,
                   start: dt.date, deff: float = 1.0) -> pd.DataFrame:
    """The first-stockout table (:meth:`Results.stockouts`) from day histograms (:func:`stockout_counts`);
    ``deff``: the members' design effect (:attr:`Results.deff`).

    One function for full and streamed results, so the two agree by construction: the
    empirical quantile never interpolates between a day and never."""
    rows = []
    for r, reg in enumerate(regions):
        for s, sec in enumerate(sectors):
            if demand[r, s] <= 0:
                continue
            cnt = counts[r, s]
            n = int(cnt.sum())
            k = n - int(cnt[-1])
            p_lo, p_hi = proportion_ci(k, n, deff=deff)
            row = {"region": reg, "sector": sec, "p_stockout": k / n if n else float("nan"),
                   "p_stockout_lo": p_lo, "p_stockout_hi": p_hi}
            row.update({f"{name}_day": _quantile_day(cnt, q) for name, q in (("p10", 0.1), ("median", 0.5),
                                                                              ("p90", 0.9))})
            for name, q in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
                row[f"{name}_day_lo"], row[f"{name}_day_hi"] = quantile_ci_counts(cnt, q, deff=deff)
            rows.append(row)
    df = pd.DataFrame(rows)
    t0 = pd.Timestamp(start)
    df["median_date"] = [t0 + pd.Timedelta(days=v) if np.isfinite(v) else pd.NaT for v in df["median_day"]]
    return df


class StreamingSummary:
    """Summaries of an ensemble accumulated chunk by chunk, in memory that does not grow with members.

    First-stockout days are counted exactly (one bin per day of the horizon, plus "never");
    losses, peak prices and pain go into fixed logarithmic bins (quantiles to within one bin,
    about 2%).  Use it for ensembles too large to keep per member::

        acc = StreamingSummary(plan(sc))
        for chunk in executor.map(pl, ranges):
            acc.add(chunk)
        acc.stockouts()
    """

    EDGES = np.concatenate([[0.0], np.geomspace(1e-6, 1e6, 1201)])  # ~2.3% wide bins, 0 to 1e6
    TRUCE_DAYS = (30, 90, 365)

    def __init__(self, pl: Plan) -> None:
        self.plan = pl
        self.run_id: str | None = None  # the catalogue id, given when first saved
        net = pl.net
        self.T = pl.scenario.horizon_days
        R, S, P = len(net.regions), len(net.sectors), len(net.products)
        self.members = 0
        self.stockout_counts = np.zeros((R, S, self.T + 1), dtype=np.int64)
        nb = len(self.EDGES)
        self.hists = {"output_loss_usd_bn": np.zeros((R, S, nb), dtype=np.int64),
                      "peak_price_multiple": np.zeros((R, P, nb), dtype=np.int64),
                      "pain_usd_bn": np.zeros((2, len(PAIN_KINDS), nb), dtype=np.int64),
                      "pain_total_usd_bn": np.zeros((2, nb), dtype=np.int64)}
        self.truce = np.zeros((len(self.TRUCE_DAYS), 3), dtype=np.int64)  # with agreement, known, survived
        # The daily paths of the sampled members (the first ``scenario.trajectories``), as they arrive.
        self._paths: dict[str, list[tuple[int, np.ndarray]]] = {name: [] for name in TRAJ_SHAPES}

    def add(self, chunk: Chunk) -> None:
        """Fold one chunk's members into the summaries (then the chunk can be dropped)."""
        a = chunk.arrays
        self.stockout_counts += stockout_counts(a["first_stockout_day"], self.T)
        for name, h in self.hists.items():
            x = a[name] if name != "pain_total_usd_bn" else a["pain_usd_bn"].sum(axis=2)
            b = np.clip(np.searchsorted(self.EDGES, x, side="right") - 1, 0, len(self.EDGES) - 1)
            flat = b.reshape(b.shape[0], -1)
            hf = h.reshape(-1, h.shape[-1])
            for j in range(flat.shape[1]):
                hf[j] += np.bincount(flat[:, j], minlength=h.shape[-1])
        for name in TRAJ_SHAPES:
            tr = a.get(f"traj:{name}")
            if tr is not None and tr.shape[0] > 0:
                self._paths[name].append((chunk.start, tr))
        if self.plan.neg_on:
            agree = a["negotiation"][:, _NEG_AGREE].astype(np.float64)
            collapse = a["negotiation"][:, _NEG_COLLAPSE].astype(np.float64)
            for k, d in enumerate(self.TRUCE_DAYS):
                self.truce[k] += truce_counts(agree, collapse, self.T, d)
        self.members += chunk.n

    @staticmethod
    def _quantile(counts: np.ndarray, q: float) -> int:
        c = np.cumsum(counts)
        return int(np.searchsorted(c, q * c[-1], side="left"))

    def stockouts(self) -> pd.DataFrame:
        """As :meth:`Results.stockouts`, from the exact day counts."""
        net = self.plan.net
        return stockout_table(list(net.regions), list(net.sectors), net.demand, self.stockout_counts,
                              self.plan.scenario.start)

    def paths(self) -> xr.Dataset:
        """The daily paths of the sampled members, labelled as in :class:`Results` (``traj_member``, ``time``)."""
        net, sc = self.plan.net, self.plan.scenario
        from .ensemble import route_coords
        rc = route_coords(net)
        labels = {"region": net.regions, "sector": net.sectors, "product": net.products, **FIXED_LABELS,
                  "route": rc["route"][1]}
        data = {}
        for name, dims in TRAJ_SHAPES.items():
            parts = [arr for _, arr in sorted(self._paths[name], key=lambda x: x[0])]
            shape = (0, self.T, *[len(labels[d]) for d in dims])
            arr = np.concatenate(parts) if parts else np.zeros(shape, dtype=np.float32)
            data[name] = (("traj_member", "time", *dims), arr, {"units": UNITS[name]})
        n = data["cover_days"][1].shape[0]
        coords = {k: v for k, v in labels.items() if k != "route"}
        return xr.Dataset(data, coords={**coords, **rc, "time": pd.date_range(sc.start, periods=self.T, freq="D"),
                                        "traj_member": np.arange(n)},
                          attrs={"scenario": sc.name, "seed": sc.seed, "members": self.members,
                                 "sampled_members": n})

    def path_bands(self, name: str) -> pd.DataFrame:
        """p10, median and p90 by day of a sampled daily path (``cover_days``, ``price_multiple``, ...)."""
        da = self.paths()[name]
        if da.sizes["traj_member"] == 0:
            raise StandoffError("no member's daily path was kept (the scenario's trajectories is 0)",
                                field="trajectories", value=0)
        q = da.quantile([0.1, 0.5, 0.9], dim="traj_member")
        df = q.to_dataframe(name).reset_index().pivot_table(index=[c for c in q.dims if c != "quantile"],
                                                            columns="quantile", values=name).reset_index()
        return df.rename(columns={0.1: "p10", 0.5: "median", 0.9: "p90"})

    @property
    def scenario(self) -> Scenario:
        return self.plan.scenario

    def truce_survival(self) -> pd.DataFrame:
        """As :meth:`Results.truce_survival` (for 30, 90 and 365 days), from the streamed counts."""
        return truce_table(self.TRUCE_DAYS, self.truce)

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        """Write the streamed summaries into ``out`` atomically (as :meth:`Results.save` does).

        ``stockouts.csv``; ``output_loss_usd_bn.csv``, ``peak_price_multiple.csv`` and
        ``pain_usd_bn.csv`` (p10, median, p90 to within a 2% bin); the sampled members' daily
        paths (``paths.nc``) and their bands by day (``bands_*.csv``); ``scenario.yaml``; and
        ``run.json`` with ``streamed: true``, the run's catalogue id and headline numbers.
        """
        from .runstore import atomic_folder, new_run_id, writer_info
        out = Path(out)
        self.run_id = self.run_id or new_run_id()
        net, sc = self.plan.net, self.scenario
        labels = {"region": net.regions, "sector": net.sectors, "product": net.products, **FIXED_LABELS}
        with atomic_folder(out, overwrite=overwrite) as tmp:
            write_csv(summary_for_csv(self.stockouts()), tmp / "stockouts.csv")
            for name, dims in (("output_loss_usd_bn", ("region", "sector")),
                               ("peak_price_multiple", ("region", "product")), ("pain_usd_bn", ("side", "pain_kind"))):
                band = self.band(name)
                rows = [{dims[0]: labels[dims[0]][i], dims[1]: labels[dims[1]][j], "p10": band[i, j, 0],
                         "median": band[i, j, 1], "p90": band[i, j, 2]}
                        for i in range(band.shape[0]) for j in range(band.shape[1])]
                write_csv(pd.DataFrame(rows), tmp / f"{name}.csv")
            paths = self.paths()
            if paths.sizes["traj_member"] > 0:
                paths.to_netcdf(tmp / "paths.nc", engine="h5netcdf", encoding=compressed(paths))
                for name in ("cover_days", "price_multiple", "output_fraction"):
                    write_csv(self.path_bands(name), tmp / f"bands_{name}.csv")
            (tmp / "scenario.yaml").write_text(sc.to_yaml(), encoding="utf-8")
            (tmp / "run.json").write_text(json.dumps({
                "run_id": self.run_id, "scenario": sc.name, "seed": sc.seed, "members": self.members,
                "streamed": True, "negotiate": bool(sc.negotiation.enabled), "writer": writer_info(),
                "sampled_paths": int(paths.sizes["traj_member"]), "scenario_digest": sc.digest(),
                "standoff_version": package_version(), "headline": self.headline_metrics()}, indent=2))
        return out

    def headline_metrics(self) -> dict:
        """As :meth:`Results.headline_metrics`; stockout figures exact, money medians to within a bin (~2%)."""
        net = self.plan.net
        pain = self.band("pain_total_usd_bn")
        loss = self.band("output_loss_usd_bn")[net.regions.index(net.us_region), net.sectors.index(net.lead_sector), 1]
        return headline(self.stockouts(), {"region": net.us_region, "sector": net.lead_sector}, float(loss),
                        float(pain[0, 1]), float(pain[1, 1]),
                        self.truce_survival() if self.plan.neg_on else None)

    def band(self, name: str) -> np.ndarray:
        """p10, median and p90 of an accumulated output, by its dims (bin lower edges)."""
        h = self.hists[name]
        out = np.zeros(h.shape[:-1] + (3,))
        for ix in np.ndindex(h.shape[:-1]):
            out[ix] = [self.EDGES[self._quantile(h[ix], q)] for q in (0.1, 0.5, 0.9)]
        return out
