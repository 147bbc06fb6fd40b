"""Charts for notebooks: each function takes results (or a sensitivity table) and returns a
matplotlib :class:`~matplotlib.figure.Figure`, which Jupyter shows and ``fig.savefig`` writes.

:class:`standoff.results.Results` has the same as methods (``res.plot_fan(...)``,
``res.plot_stockouts()``, ``res.plot_price_tiers(...)``, ``res.plot_tornado()``).  The report's
static charts are drawn by :mod:`standoff.report`; these share its quantile bands
(:func:`standoff.report.fan_data`) and input swings (:func:`standoff.report.tornado_data`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import StandoffError


def _plt() -> Any:
    # Not forcing a backend (the report forces Agg): in a notebook the inline backend shows the
    # figure; without a display matplotlib picks a non-interactive one by itself.
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the extra
        from .errors import install_hint
        raise StandoffError(f"charts need matplotlib: {install_hint('report')}") from None
    return plt


def _paths(res: Any, var: str) -> Any:
    ds = res.ds
    if var not in ds or "traj_member" not in ds[var].dims:
        daily = sorted(v for v in ds.data_vars if "traj_member" in ds[v].dims)
        raise StandoffError("not a daily path of this run; one of: " + ", ".join(daily), field="var", value=var)
    if ds.sizes.get("traj_member", 0) == 0:
        raise StandoffError("the run kept no daily paths (trajectories: 0); rerun with trajectories > 0",
                            field="trajectories", value=0)
    return ds[var]


def fan(res: Any, var: str = "cover_days", ax: Any = None, color: str = "C0", label: str | None = None,
        **sel: str) -> Any:
    """A fan chart of one daily path: median, p25-p75 and p10-p90 over the kept members.

    Parameters
    ----------
    res
        Results of a run that kept daily paths.
    var
        A daily path (``cover_days``, ``price_multiple``, ``imports_t``, ``exports_t``,
        ``output_fraction``, ``trust``, ...).
    ax
        A matplotlib axes to draw on (default: a new figure), to overlay runs.
    color, label
        The fan's colour and the name its legend entries start with (to tell overlaid runs apart).
    **sel
        One label per remaining dimension (a region and a sector for ``cover_days``); a dimension not
        named is refused with the labels it has.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .report import fan_data
    da = _paths(res, var)
    free = [d for d in da.dims if d not in ("traj_member", "time")]
    missing = [d for d in free if d not in sel]
    if missing:
        choices = {d: [str(x) for x in da[d].values] for d in missing}
        raise StandoffError("name " + "; ".join(f"{d} (one of {', '.join(v)})" for d, v in choices.items()),
                            field=missing[0], value=None)
    for d, v in sel.items():
        if d not in free:
            raise StandoffError(f"{var} has no dimension {d}; its dimensions: {', '.join(free) or 'time only'}",
                                field=d, value=v)
        if str(v) not in [str(x) for x in da[d].values]:
            raise StandoffError(f"not a {d} of this run; one of: {', '.join(str(x) for x in da[d].values)}",
                                field=d, value=v)
    df = fan_data(da, sel)
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(7, 3.6))[0]
    ax = ax or fig.axes[0]
    pre = f"{label}: " if label else ""
    ax.fill_between(df.index, df["p10"], df["p90"], alpha=0.2, color=color, label=pre + "p10-p90")
    ax.fill_between(df.index, df["p25"], df["p75"], alpha=0.35, color=color, label=pre + "p25-p75")
    ax.plot(df.index, df["median"], color=color, lw=1.6, label=pre + "median")
    units = da.attrs.get("units", "")
    ax.set_ylabel(units[:40])
    ax.set_title(f"{var} " + " ".join(f"{v}" for v in sel.values()) + f" ({da.sizes['traj_member']} members)",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


def stockouts(res: Any, region: str | None = None, sectors: list[str] | None = None) -> Any:
    """When each sector of a region first runs dry: the share of members that have had a
    stockout by each date (a cumulative distribution; the curve's end is P(stockout) within the
    horizon).  Default: the US side's region and the dataset's headline sectors."""
    net = res.scenario.network()
    region = region or net.us_region
    if region not in net.regions:
        raise StandoffError(f"not a region of this run; one of: {', '.join(net.regions)}", field="region", value=region)
    sectors = sectors or list(net.headline_sectors)
    for s in sectors:
        if s not in net.sectors:
            raise StandoffError(f"not a sector of this run; one of: {', '.join(net.sectors)}", field="sectors", value=s)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    start = pd.Timestamp(res.scenario.start)
    days = np.arange(res.scenario.horizon_days)
    for s in sectors:
        d = res.ds["first_stockout_day"].sel(region=region, sector=s).values
        d = np.where(np.isnan(d), np.inf, d)
        share = [(d <= t).mean() for t in days]
        ax.plot(start + pd.to_timedelta(days, unit="D"), share, label=s)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of members with a stockout")
    ax.set_title(f"First stockout in {region} ({res.ds.sizes['member']} members)", fontsize=10)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


def price_tiers(res: Any, product: str | None = None, regions: list[str] | None = None) -> Any:
    """A product's price in the controlling country, its export (FOB) price and its price in the
    markets outside that buy it: the median member's path of each, as multiples of the baseline
    (default: the dataset's key product and its headline importers)."""
    net = res.scenario.network()
    product = product or net.key_product
    if product not in net.products:
        raise StandoffError(f"not a product of this run; one of: {', '.join(net.products)}", field="product",
                            value=product)
    cn = net.cn_region
    markets = res.markets()
    regions = [r for r in (regions or net.headline_importers) if (r, product) in markets and r != cn]
    pm = _paths(res, "price_multiple")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    t = pd.to_datetime(pm["time"].values)
    ax.plot(t, pm.sel(region=cn, product=product).median("traj_member"), color="k", lw=1.6,
            label=f"{cn} (domestic)")
    if "fob_price" in res.ds:
        ax.plot(t, res.ds["fob_price"].sel(region=cn, product=product).median("traj_member"), color="k", ls="--",
                lw=1.4, label=f"{cn} export (FOB)")
    for r in regions:
        ax.plot(t, pm.sel(region=r, product=product).median("traj_member"), lw=1.2, label=r)
    ax.set_ylabel("x baseline price (median member)")
    ax.set_title(f"{product}: inside, export and outside prices", fontsize=10)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


def tornado(source: Any, top: int = 12, **outcome: str) -> Any:
    """A tornado chart: which uncertain inputs move an outcome most.

    ``source`` is either a table from :func:`standoff.analysis.sensitivity` (Sobol total
    indices with their confidence intervals, or Morris mu*), or results, for which the swing
    is the median lost output of the members in each input's top quintile less that of its
    bottom quintile (``region=``, ``sector=``; default the US side's lead sector).
    """
    plt = _plt()
    if isinstance(source, pd.DataFrame):
        df = source.head(top)
        col, conf = ("ST", "ST_conf") if "ST" in df else ("mu_star", "mu_star_conf")
        if col not in df:
            raise StandoffError("not a sensitivity table (no ST or mu_star column)", field="source", value=None)
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(df) + 1.2))
        y = np.arange(len(df))[::-1]
        ax.barh(y, df[col], xerr=df[conf], color="C0", alpha=0.8)
        ax.set_yticks(y, df["input"], fontsize=8)
        ax.set_xlabel("Sobol total index" if col == "ST" else "Morris mu*")
        ax.set_title("Which inputs move the outcome most", fontsize=10)
        return fig
    from .report import tornado_data
    df = tornado_data(source, outcome.get("region"), outcome.get("sector"), top=top)
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(df), 1) + 1.2))
    y = np.arange(len(df))[::-1]
    ax.barh(y, df["swing"], color=["C3" if v > 0 else "C2" for v in df["swing"]])
    ax.set_yticks(y, df["input"], fontsize=8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("median loss, top quintile of the input less bottom quintile (US$ bn)")
    ax.set_title("Swing of lost output across each uncertain input", fontsize=10)
    return fig
