"""A self-contained HTML report of a run: fan charts, stockout distributions, a tornado chart of
drivers, the timeline and the data sources.  Charts are PNG files (embedded in the HTML) and
the numbers behind each chart are CSV files and JSON blocks in the page, so a reader can check
or re-plot them.
"""
from __future__ import annotations

import base64
import html
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .errors import StandoffError, install_hint
from .files import write_csv
from .results import Results



def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the extra
        raise StandoffError(f"charts need matplotlib: {install_hint('report')}") from None
    return plt


def fan_data(da, dims_fixed: dict) -> pd.DataFrame:
    """Quantile bands over kept members of a daily path: p10, p25, median, p75, p90 by date."""
    x = da.sel(**dims_fixed)
    q = x.quantile([0.1, 0.25, 0.5, 0.75, 0.9], dim="traj_member")
    df = q.to_pandas().T
    df.columns = ["p10", "p25", "median", "p75", "p90"]
    df.index.name = "date"
    return df


def tornado_data(res: Results, region: str | None = None, sector: str | None = None, top: int = 12) -> pd.DataFrame:
    """Swing of an outcome across each uncertain input: median output loss among the members
    whose input is in its top quintile minus the median among its bottom quintile (default: the US
    side's region and the dataset's lead sector)."""
    net = res.scenario.network()
    y = res.ds["output_loss_usd_bn"].sel(region=region or net.us_region, sector=sector or net.lead_sector).values
    rows = []
    for key in res.ds["input"].values:
        x = res.ds["inputs"].sel(input=key).values
        if np.ptp(x) == 0:
            continue
        lo, hi = np.quantile(x, [0.2, 0.8])
        low, high = y[x <= lo], y[x >= hi]
        if len(low) == 0 or len(high) == 0:
            continue
        rows.append({"input": str(key), "low_quintile": float(np.median(low)), "high_quintile": float(np.median(high)),
                     "swing": float(np.median(high) - np.median(low))})
    df = pd.DataFrame(rows, columns=["input", "low_quintile", "high_quintile", "swing"])
    if df.empty:
        return df
    return df.reindex(df["swing"].abs().sort_values(ascending=False).index).head(top).reset_index(drop=True)


def chart_script() -> str:
    """The interactive chart renderer (``web/charts.js``: hover, zoom, toggle series; no library,
    no network), to inline into a page."""
    from importlib import resources
    return (resources.files("standoff") / "web" / "charts.js").read_text(encoding="utf-8")


#: Draws every interactive chart of a report page from its embedded data (the panels of a fan
#: chart become its series).
_BOOT = ("document.querySelectorAll('div.ichart').forEach(function(d){var s=document.querySelector("
         "'script.chart-data[data-chart=\"'+d.dataset.chart+'\"]');if(!s)return;"
         "standoffCharts.render(d,{title:'',ylabel:d.dataset.ylabel,series:standoffCharts.fromFlat("
         "JSON.parse(s.textContent))});});")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def build_charts(res: Results) -> list[dict]:
    """Every chart of the report as ``{name, title, png, data}``."""
    plt = _plt()
    ds = res.ds
    charts: list[dict] = []
    if ds.sizes.get("traj_member", 0) == 0:
        raise StandoffError("the run kept no daily paths (trajectories: 0); rerun with trajectories > 0")

    def fan(name: str, title: str, da, panels: list[tuple[str, dict]], ylabel: str) -> None:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), sharey=True, squeeze=False)
        data = {}
        for ax, (label, sel) in zip(axes[0], panels):
            df = fan_data(da, sel)
            data[label] = df
            t = df.index
            ax.fill_between(t, df["p10"], df["p90"], alpha=0.2, color="C0", label="p10-p90")
            ax.fill_between(t, df["p25"], df["p75"], alpha=0.35, color="C0", label="p25-p75")
            ax.plot(t, df["median"], color="C0", lw=1.5, label="median")
            ax.set_title(label, fontsize=9)
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        axes[0][0].set_ylabel(ylabel)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(title, fontsize=10)
        flat = pd.concat({k: v for k, v in data.items()}, names=["panel"]).reset_index()
        flat["date"] = flat["date"].astype(str)
        charts.append({"name": name, "title": title, "png": _png(fig), "data": flat, "kind": "fan", "ylabel": ylabel})
        plt.close(fig)

    # Which regions, products and sectors lead is the dataset's declaration (declaration.csv).
    net = res.scenario.network()
    importers = net.headline_importers
    kp, cn = net.key_product, net.cn_region
    for sector in net.headline_sectors:
        fan(f"cover_{sector}", f"Days of {sector} {kp} inventory (cover)", ds["cover_days"],
            [(r, {"region": r, "sector": sector}) for r in importers], "days of cover")
    fan(f"price_{kp.lower()}", f"{kp} price multiple", ds["price_multiple"],
        [(r, {"region": r, "product": kp}) for r in (*importers, cn)], "x baseline")
    for other in net.other_products:
        users = [net.regions[i] for i in range(len(net.regions))
                 if net.use[i, net.products.index(other)] > 0 and net.regions[i] != cn][:3]
        fan(f"price_{other.lower()}", f"{other} price multiple", ds["price_multiple"],
            [(r, {"region": r, "product": other}) for r in (*users, cn)], "x baseline")
    fan(f"imports_{kp.lower()}", f"{kp} imports arriving", ds["imports_t"],
        [(r, {"region": r, "product": kp}) for r in importers], "t/day")
    makers = sorted(net.regions, key=lambda r: -net.production[net.regions.index(r), net.products.index(kp)])[:2]
    fan(f"exports_{kp.lower()}", f"{kp} exports shipped abroad (the series customs offices publish)", ds["exports_t"],
        [(r, {"region": r, "product": kp}) for r in makers], "t/day")
    # What customs publish: each controlled product's exports by destination, and licence counts.
    r = ds["route_exports_t"] if "route_exports_t" in ds else None
    for prod, exp in res.controlled_routes()[:3]:
        if r is None:
            break
        js = [j for j in range(r.sizes["route"]) if r["route_product"].values[j] == prod
              and r["route_from"].values[j] == exp]
        js = sorted(js, key=lambda j: -float(r.isel(route=j, time=0).median()))[:4]
        if not js:
            continue
        panels_da = xr.concat([ds["exports_t"].sel(product=prod, region=exp).reset_coords(drop=True)
                               .expand_dims(dest=["all"])]
                              + [r.isel(route=j).reset_coords(drop=True).drop_vars("route", errors="ignore")
                                 .expand_dims(dest=[f"to {r['route_to'].values[j]}"]) for j in js], dim="dest")
        fan(f"exports_{prod.lower()}_{exp.lower()}_by_destination",
            f"{prod} exports of {exp} by destination (what its customs publish)", panels_da,
            [(str(d), {"dest": d}) for d in panels_da["dest"].values], "t/day")
    for prod, exp in res.controlled_routes()[:2]:
        tiers = xr.concat([ds["price_multiple"].sel(region=exp, product=prod).reset_coords(drop=True)
                           .expand_dims(tier=["domestic"]),
                           ds["fob_price"].sel(region=exp, product=prod).reset_coords(drop=True)
                           .expand_dims(tier=["export (FOB)"])], dim="tier")
        fan(f"price_tiers_{prod.lower()}_{exp.lower()}", f"{prod} prices in {exp}: domestic and export (FOB) tiers",
            tiers, [(str(k), {"tier": k}) for k in tiers["tier"].values], "x baseline")
    lic = res.licences()
    if len(lic):
        prods = list(dict.fromkeys(lic["product"]))
        fig, axes = plt.subplots(1, len(prods), figsize=(4.2 * len(prods), 3.2), squeeze=False)
        for ax, prod in zip(axes[0], prods):
            d = lic[lic["product"] == prod]
            x = np.arange(len(d))
            ax.bar(x - 0.2, d["applied"], width=0.4, label="applied", color="C0")
            ax.bar(x + 0.2, d["granted"], width=0.4, label="granted", color="C2")
            ax.plot(x, d["pending_end"], color="C3", marker=".", label="pending (month end)")
            ax.plot(x, d["backlog_end"], color="C1", marker="x", label="backlog: reviewed, not reached")
            ax.set_xticks(x[::2], d["month"].values[::2], rotation=45, fontsize=7)
            ax.set_title(prod, fontsize=9)
        axes[0][0].set_ylabel("licence contracts (median member)")
        axes[0][0].legend(fontsize=7)
        fig.suptitle("Licences applied for, granted and pending, by month", fontsize=10)
        charts.append({"name": "licences", "title": "Licences applied for, granted and pending", "png": _png(fig),
                       "data": lic})
        plt.close(fig)
    if res.scenario.negotiation.enabled:
        fan("trust", "Trust in the other side's compliance", ds["trust"],
            [(s, {"side": s}) for s in ("US", "CN")], "trust (0-1)")
        fan("pressure", "Domestic pressure over resolve", ds["pressure_ratio"],
            [(s, {"side": s}) for s in ("US", "CN")], "pressure ratio")

    # distributions of first-stockout days
    lead = net.lead_sector
    fig, axes = plt.subplots(1, len(importers), figsize=(12.6, 3.0), sharey=True, squeeze=False)
    rows = []
    for ax, reg in zip(axes[0], importers):
        d = ds["first_stockout_day"].sel(region=reg, sector=lead).values
        fin = d[np.isfinite(d)]
        dates = pd.Timestamp(res.scenario.start) + pd.to_timedelta(fin, unit="D")
        if len(fin):
            ax.hist(dates, bins=30, color="C3", alpha=0.8)
        ax.set_title(f"{reg} {lead}: {len(fin) / len(d):.0%} of members stock out", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        rows += [{"region": reg, "sector": lead, "member": int(m), "first_stockout_day": float(v)}
                 for m, v in enumerate(d)]
    axes[0][0].set_ylabel("members")
    fig.suptitle(f"When {lead} first run short (first day output < 99% of requirement)", fontsize=10)
    charts.append({"name": "stockout_days", "title": "Distribution of first-stockout dates", "png": _png(fig),
                   "data": pd.DataFrame(rows)})
    plt.close(fig)

    # tornado chart of drivers
    tdf = tornado_data(res)
    if not tdf.empty:
        fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(tdf) + 1.2))
        yy = np.arange(len(tdf))[::-1]
        base = float(np.median(ds["output_loss_usd_bn"].sel(region=net.us_region, sector=lead).values))
        ax.barh(yy, tdf["low_quintile"] - base, left=base, color="C0", label="input in bottom 20%")
        ax.barh(yy, tdf["high_quintile"] - base, left=base, color="C1", label="input in top 20%")
        ax.set_yticks(yy, tdf["input"], fontsize=7)
        ax.axvline(base, color="k", lw=0.8)
        ax.set_xlabel(f"median {net.us_region} {lead} output loss, US$ bn")
        ax.legend(fontsize=7)
        ax.set_title(f"What drives {net.us_region} {lead} losses (tornado)", fontsize=10)
        charts.append({"name": f"tornado_{net.us_region.lower()}_{lead}",
                       "title": f"Drivers of {net.us_region} {lead} losses", "png": _png(fig),
                       "data": tdf})
        plt.close(fig)
    return charts


def _customs_parts(res: Results) -> list[str]:
    """The report's section on exports by destination and licences (monthly, median members)."""
    cu = res.customs()
    if cu.empty:
        return []
    wide = cu.pivot_table(index=["product", "exporter", "month"], columns="destination", values="x_baseline",
                          dropna=False)
    wide = wide[["ALL", *[c for c in wide.columns if c != "ALL"]]].reset_index()
    out = ["<h2>What customs publish: exports by destination</h2>",
           "<p class='note'>Monthly exports of each controlled product as a multiple of its baseline flow "
           "(median member; 0.5 = exports fell 50%). The full table with t/day and p10/p90 is "
           "<code>summary/customs.csv</code> of a saved run.</p>", _table(wide.round(2))]
    au = res.authority()
    if len(au):
        out += ["<h3>The licensing authority</h3>",
                "<p class='note'>First licence (median, p10, p90 over the kept members), the largest backlog "
                "(applications whose review is over that the authority has not reached), mean days from "
                "application to decision, share of applications granted and refused buyers who left for "
                "good, over the horizon.</p>", _table(au.round(2))]
    lic = res.licences()
    if len(lic):
        out += ["<h3>Licences by month (contracts, median member)</h3>", _table(lic.round(1))]
    return out


def _nowcast_parts(res: Results) -> list[str]:
    """A nowcast's section (a folder written by ``standoff nowcast``): what it was conditioned
    on, the effective sample size, each observation's fit and the inputs the data moved."""
    folder = getattr(res, "folder", None)
    if not res.ds.attrs.get("conditioned_on") or folder is None or not (Path(folder) / "nowcast").is_dir():
        return []
    nc = Path(folder) / "nowcast"
    try:
        fit = pd.read_csv(nc / "fit.csv")
        moved = pd.read_csv(nc / "inputs_moved.csv")
        w = pd.read_csv(nc / "weights.csv")["weight"].to_numpy(float)
    except (OSError, KeyError, ValueError) as exc:
        raise StandoffError(f"cannot read the nowcast's tables ({type(exc).__name__})", file=str(nc)) from None
    ess = 1.0 / float(np.sum(w ** 2))
    return ["<h2>A nowcast: conditioned on what has been published</h2>",
            f"<p class='note'>The tables below are of the ensemble resampled by the likelihood of "
            f"{len(fit)} observation(s) (sequential importance resampling): effective sample size "
            f"{ess:.0f} of {len(w)} members. Monte Carlo intervals of a resampled ensemble treat repeated "
            "members as independent and are too narrow.</p>",
            "<h3>Each observation against the ensemble before (prior) and after (posterior)</h3>", _table(fit.round(3)),
            "<h3>Inputs the observations moved most (shift of the mean in prior standard deviations)</h3>",
            _table(moved.head(12).round(3))]


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, classes="t", float_format=lambda v: f"{v:,.2f}", escape=True)


def write_report(res: Results, out: str | Path, overwrite: bool = False) -> Path:
    """Write ``report.html`` (self-contained) and ``charts/*.png`` / ``charts/*.csv`` into ``out``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise StandoffError("report folder exists and is not empty (use --overwrite)", file=str(out))
    charts = build_charts(res)
    sc = res.scenario
    net = sc.network()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if out.parent.exists() else None))
    try:
        (tmp / "charts").mkdir()
        parts = [f"<h1>standoff report: {html.escape(sc.name)}</h1>",
                 f"<p>{html.escape(sc.description)}</p>",
                 f"<p>{sc.members} members, seed {sc.seed}, {sc.start} to {sc.end}; scenario digest "
                 f"{sc.digest()}; standoff {html.escape(str(res.ds.attrs.get('standoff_version')))}.</p>",
                 *_nowcast_parts(res),
                 "<h2>When does each sector run out?</h2>",
                 "<p class='note'>Days from the scenario start; inf = no stockout. <code>_lo</code> and <code>_hi</code> "
                 "columns are 95% Monte Carlo intervals (sampling noise of this many members: Wilson for "
                 "probabilities, order statistics for medians), not the spread across members (p10, p90).</p>",
                 _table(res.stockouts().drop(columns="median_date").round(3)),
                 "<h2>What is lost</h2>", _table(res.losses().round(3)),
                 "<h2>What firms went through: output lost and delayed</h2>",
                 "<p class='note'>Medians over members. Delayed output was built without the input and finished "
                 "later; share affected is the sector's output whose firms stopped on at least one day; "
                 "firm-weeks stopped weight each firm by its share (1 = the whole sector for a week).</p>",
                 _table(res.firms().round(3)),
                 *_customs_parts(res),
                 "<h2>Two tiers: domestic and export (FOB) prices of controlled products</h2>",
                 "<p class='note'>Peaks as multiples of the baseline (median and p10/p90 over the kept members); "
                 "the wedge is FOB over domestic at the FOB peak.</p>", _table(res.price_tiers().round(2)),
                 "<h2>Pain per side (US$ bn, cumulative)</h2>", _table(res.pain().round(2))]
        if sc.negotiation.enabled:
            ls = res.truce_lifespan(30)
            parts += ["<h2>Negotiation</h2>", _table(res.agreement_by_date()), _table(res.truce_survival()),
                      "<h3>How first truces end</h3>", _table(res.truce_ends().round(3)),
                      "<h3>The first truce's lifespan (hazard per 30 days after the agreement)</h3>",
                      f"<p class='note'>Life table over {ls.attrs['members']} truces; median lifespan "
                      f"{ls.attrs['median_days']:.0f} days.</p>" if np.isfinite(ls.attrs["median_days"]) else
                      f"<p class='note'>Life table over {ls.attrs['members']} truces; more than half outlive what "
                      "is observed.</p>", _table(ls.round(3)),
                      _table(res.concessions()), "<h3>Against the status quo ante</h3>", _table(res.status_quo_ante())]
        for ch in charts:
            (tmp / "charts" / f"{ch['name']}.png").write_bytes(ch["png"])
            write_csv(ch["data"], tmp / "charts" / f"{ch['name']}.csv")
            b64 = base64.b64encode(ch["png"]).decode()
            payload = ch["data"].to_json(orient="records").replace("</", "<\\/")
            img = f'<img alt="{html.escape(ch["title"])}" src="data:image/png;base64,{b64}">'
            if ch.get("kind") == "fan":  # drawn interactively by charts.js; the static image kept below it
                parts += [f"<h2>{html.escape(ch['title'])}</h2>",
                          f'<div class="ichart" data-chart="{ch["name"]}" data-ylabel="{html.escape(ch["ylabel"])}">'
                          "</div>", f"<details><summary>static image</summary>{img}</details>"]
            else:
                parts += [f"<h2>{html.escape(ch['title'])}</h2>", img]
            parts += [f'<script type="application/json" class="chart-data" data-chart="{ch["name"]}">'
                      f"{payload}</script>"]
        tl = pd.DataFrame([{"date": str(e.date), "type": e.type, "id": e.id or "", "outcome": e.outcome,
                            "source": e.source or ""} for e in sc.events])
        parts += ["<h2>Timeline of the scenario</h2>", _table(tl) if len(tl) else "<p>No events.</p>"]
        used = set()
        for tab in net.tables.values():
            if "source" in tab.columns:
                used |= set(tab["source"])
        src = net.tables["sources"][net.tables["sources"]["key"].isin(used)]
        parts += ["<h2>Data sources used by the baseline dataset</h2>", _table(src)]
        css = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
               "table.t{border-collapse:collapse;font-size:12px}table.t td,table.t th{padding:2px 6px;"
               "border-bottom:1px solid #ddd}img{max-width:100%}")
        parts += [f"<script>{chart_script()}</script>", "<script>" + _BOOT + "</script>"]
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>standoff: {html.escape(sc.name)}</title>"
                f"<style>{css}</style></head><body>{''.join(parts)}</body></html>")
        (tmp / "report.html").write_text(page, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "report.html"
