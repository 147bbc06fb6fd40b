"""What the command line shows: rich tables built from results, datasets and back-tests.

The CLI (:mod:`standoff.cli`) holds commands only and prints what these functions build.
Every table is plain text: the console is made with markup off, so names from users' files
print as written.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text


def fmt_day(start: dt.date, d: float) -> str:
    if not math.isfinite(d):
        return "none"
    return (start + dt.timedelta(days=int(round(d)))).isoformat()


def fmt_p(p: float, lo: float, hi: float) -> str:
    """A probability with its 95% Monte Carlo interval: ``97% (93-99)``."""
    if p != p:
        return "n/a"
    return f"{p:.0%} ({lo * 100:.0f}-{hi * 100:.0f})"


def fmt_day_ci(start: dt.date, d: float, lo: float, hi: float) -> str:
    """A median day as a date with its 95% Monte Carlo interval in days: ``2025-06-16 ±3d``.

    The interval is the order-statistic one (:func:`standoff.mcerror.quantile_ci`); ``±?``
    when one of its ends lies beyond the horizon ("never"): too few members to pin it down.
    """
    if not math.isfinite(d):
        return "none"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{fmt_day(start, d)} ±?"
    return f"{fmt_day(start, d)} ±{max(d - lo, hi - d):.0f}d"


def band_table(df: Any, keys: list[str], title: str, fmt: str) -> Table:
    """A table of label columns plus median and p10 - p90 (as made by Results._band)."""
    t = Table(title=title)
    for c in [*keys, "median", "p10 - p90"]:
        t.add_column(c)
    for _, r in df.iterrows():
        t.add_row(*[str(r[k]) for k in keys], format(r["median"], fmt),
                  f"{format(r['p10'], fmt)} - {format(r['p90'], fmt)}")
    return t


def print_summary(res: Any, console: Console, regions: list[str] | None = None) -> None:
    """Readable tables: stockouts and losses, prices, pain, trade."""
    sc = res.scenario
    so = res.stockouts()
    lo = res.losses()
    df = so.merge(lo, on=["region", "sector"])
    wk = res.weekly_losses()
    df = df.merge(wk, on=["region", "sector"], how="left").fillna({"peak_week_bn": 0.0})
    net = sc.network()
    regions = regions or [r for r in res.ds.region.values if r != net.cn_region] + [net.cn_region]
    count = f"{sc.members} members" if res.deff <= 1.0 else \
        f"{sc.members} members resampled, {sc.members / res.deff:.0f} effective"
    t = Table(title=f"{sc.name}: when each sector runs out ({count}, seed {sc.seed})",
              caption="first day output falls below 99% of requirement; p10-p90 across members; "
                      "'none' = no stockout within the horizon; P(stockout) in brackets and ± after a median: "
                      "95% Monte Carlo intervals (sampling noise of this many members); loss in brackets: p10-p90")
    for col, just in [("region", "left"), ("sector", "left"), ("P(stockout)", "right"), ("median date", "left"),
                      ("p10 - p90", "left"), ("output lost, US$ bn", "right"), ("worst week, US$ bn", "right"),
                      ("units lost (median)", "right")]:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for reg in regions:
        sub = df[df.region == reg]
        for _, r in sub.iterrows():
            if r["p_stockout"] == 0 and r["p90"] == 0:
                continue
            unit = res.scenario.network().tables["sectors"].set_index("sector").loc[r["sector"], "unit_name"]
            t.add_row(reg, r["sector"], fmt_p(r["p_stockout"], r["p_stockout_lo"], r["p_stockout_hi"]),
                      fmt_day_ci(sc.start, r["median_day"], r["median_day_lo"], r["median_day_hi"]),
                      f"{fmt_day(sc.start, r['p10_day'])} - {fmt_day(sc.start, r['p90_day'])}",
                      f"{r['median']:.1f} ±{max(r['median'] - r['median_lo'], r['median_hi'] - r['median']):.1f} "
                      f"({r['p10']:.1f}-{r['p90']:.1f})", f"{r['peak_week_bn']:.2f}",
                      f"{r['units_median']:,.0f} {unit}")
    console.print(t)
    quiet = df[(df.p_stockout == 0) & (df.p90 == 0)]
    if len(quiet):
        console.print(f"{len(quiet)} region-sector pairs had no stockout and no loss in any member.", style="dim")
    console.print(firms_table(res, regions))

    pr = res.prices()
    shown = pr[pr["product"].isin([net.key_product, *net.other_products])]
    console.print(band_table(shown, ["region", "product"], "Peak price multiple (x baseline)", ".2f"))
    capped = shown[shown["at_cap"] >= 0.5]
    if len(capped):
        console.print("At the cap: " + ", ".join(f"{r.region} {r.product} ({r.at_cap:.0%} of members)"
                                                   for r in capped.itertuples())
                      + ". There the peak is price_cap, an assumed bound (`standoff data parameters` says where it "
                        "comes from), not a price the market found: read it as 'at least'.", style="yellow")
    tiers = res.price_tiers()
    if len(tiers):
        t2 = Table(title="Two tiers: domestic and export (FOB) price peaks of controlled products (x baseline)",
                   caption="median (p10-p90) over the kept members; wedge = FOB / domestic at the FOB peak: the "
                           "rent a control creates")
        for c in ["product", "exporter", "domestic peak", "FOB peak", "FOB peak date", "wedge"]:
            t2.add_column(c)
        for _, r in tiers.iterrows():
            t2.add_row(r["product"], r["exporter"], f"{r['domestic_peak']:.2f} ({r['domestic_p10']:.2f}-{r['domestic_p90']:.2f})",
                       f"{r['fob_peak']:.2f} ({r['fob_p10']:.2f}-{r['fob_p90']:.2f})", r["fob_peak_date"],
                       f"{r['wedge_at_peak']:.2f}")
        console.print(t2)
    rents = res.rents()
    if len(rents):
        console.print(band_table(rents, ["region", "rent_kind"],
                                 "Who earns the control's rent (US$ bn over the horizon; booked to the exporting region)",
                                 ".2f"))
    au = res.authority()
    if len(au):
        t3 = Table(title="The licensing authority (kept members; contracts are buyers' shares of a route)",
                   caption="first licence: median (p10-p90) date; backlog: applications whose review is over that the "
                           "authority has not reached (contracts, median of each member's peak); days to decision and "
                           "share granted over the horizon (medians)")
        for c in ["product", "first licence", "peak backlog", "days to decision", "granted", "buyers left"]:
            t3.add_column(c)
        for _, r in au.iterrows():
            t3.add_row(r["product"], f"{r['first_licence']} ({r['first_licence_p10']} - {r['first_licence_p90']})",
                       f"{r['peak_backlog']:.0f}", f"{r['mean_days_to_decision']:.0f}", f"{r['granted_share']:.0%}",
                       f"{r['left']:.0f}")
        console.print(t3)
    console.print(band_table(res.pain(), ["side", "pain_kind"],
                              "Pain per side, cumulative over the horizon (US$ bn, median and p10-p90)", ".1f"))

    tr = res.trade()
    tr = tr[(tr["product"] == net.key_product) & (tr["median"] > 0)]
    if len(tr):
        t4 = Table(title=f"{net.key_product} imports lost and diverted (t, cumulative, median)")
        for c in ["region", "lost", "diverted"]:
            t4.add_column(c)
        piv = tr.pivot_table(index="region", columns="flow_kind", values="median").fillna(0)
        for reg, r in piv.iterrows():
            t4.add_row(str(reg), f"{r.get('lost', 0):,.0f}", f"{r.get('diverted', 0):,.0f}")
        console.print(t4)
    if sc.negotiation.enabled:
        print_negotiation(res, console)
    sp = res.stockpiles()
    for _, r in sp.iterrows():
        lasted = "beyond the horizon" if not np.isfinite(r["median_days_it_lasted"]) else \
            f"{r['median_days_it_lasted']:.0f} days (median)"
        console.print(f"Strategic stockpile {r['region']} {r['product']}: released from "
                      f"{fmt_day(sc.start, r['released_from_day'])}, lasts {lasted}; "
                      f"exhausted within the horizon in {r['p_exhausted']:.0%} of members.")
    rd = res.readiness()
    low = rd[rd["p10"] < 0.999]
    if len(low):
        console.print("Defense readiness (lowest 30-day share of requirement met): " + ", ".join(
            f"{r['region']} median {r['median']:.0%} (p10 {r['p10']:.0%})" for _, r in low.iterrows()))
    else:
        console.print("Defense readiness: requirement met throughout in every member.")


def firms_table(res: Any, regions: list[str]) -> Table:
    """Output lost and delayed, and how much of each sector stopped (medians over members)."""
    sc = res.scenario
    fm = res.firms()
    units = sc.network().tables["sectors"].set_index("sector")["unit_name"]
    t = Table(title="What firms went through when short (median member)",
              caption="delayed = built without the input and finished later (not lost); share stopped = the "
                      "sector's output whose firms stopped on at least one day; firm-weeks stopped weighted by "
                      "each firm's share (1 = the whole sector for a week)")
    for col, just in [("region", "left"), ("sector", "left"), ("first stop", "left"), ("share stopped", "right"),
                      ("firm-weeks stopped", "right"), ("lost, US$ bn", "right"), ("delayed, US$ bn", "right"),
                      ("unfinished at end", "right"), ("units lost / delayed", "right")]:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for reg in regions:
        for _, r in fm[fm.region == reg].iterrows():
            if r["lost_p90"] < 0.05 and r["delayed_p90"] < 0.05:
                continue
            t.add_row(reg, r["sector"], fmt_day(sc.start, r["median_first_stop_day"]), f"{r['share_affected']:.0%}",
                      f"{r['stopped_weeks']:.1f}", f"{r['lost_usd_bn']:.1f} ({r['lost_p10']:.1f}-{r['lost_p90']:.1f})",
                      f"{r['delayed_usd_bn']:.1f} ({r['delayed_p10']:.1f}-{r['delayed_p90']:.1f})",
                      f"{r['unfinished_usd_bn']:.2f}",
                      f"{r['units_lost']:,.0f} / {r['units_delayed']:,.0f} {units.get(r['sector'], '')}")
    return t


def print_negotiation(res: Any, console: Console) -> None:
    """Agreement, truce survival, who concedes first, rounds, and the status quo ante."""
    ab = res.agreement_by_date()
    t = Table(title="Probability of an agreement by each round of talks")
    t.add_column("date")
    t.add_column("P(agreement reached)", justify="right")
    for _, r in ab.iterrows():
        t.add_row(str(r["date"]), fmt_p(r["p_agreement"], r["p_agreement_lo"], r["p_agreement_hi"]))
    console.print(t)
    ts = res.truce_survival()
    t = Table(title="Will the first truce hold? (among members that reached one)")
    for c in ["survives", "probability", "members with an agreement", "censored by the horizon"]:
        t.add_column(c, justify="right")
    for _, r in ts.iterrows():
        t.add_row(f"{int(r['days'])} days", fmt_p(r["p_survive"], r["p_survive_lo"], r["p_survive_hi"]),
                  str(int(r["members_with_agreement"])), str(int(r["censored"])))
    console.print(t)
    te = res.truce_ends()
    t = Table(title="How first truces end (among members that reached one)",
              caption="a lapse: a side would not extend at a deadline; measures outside the deal (entity listings, "
                      "chip controls, port fees) read as a breach by the side they hit; a perceived breach of the deal")
    for c in ["end", "share (95% MC)", "members", "median days from agreement"]:
        t.add_column(c, justify="right" if c != "end" else "left")
    for _, r in te.iterrows():
        t.add_row(r["end"], fmt_p(r["share"], r["share_lo"], r["share_hi"]), str(r["members"]),
                  cell(r["median_days"]))
    console.print(t)
    ls = res.truce_lifespan(30)
    if len(ls):
        t = Table(title="The first truce's lifespan: truces ending per month after the agreement (hazard)",
                  caption=f"life table over {ls.attrs['members']} truces; median lifespan "
                          f"{cell(round(ls.attrs['median_days'])) if np.isfinite(ls.attrs['median_days']) else 'beyond what is observed'} days")
        for c in ["days after agreement", "in force at start", "ended", "hazard", "still in force after"]:
            t.add_column(c, justify="right")
        for _, r in ls.head(15).iterrows():
            t.add_row(f"{int(r['from_day'])}-{int(r['to_day'])}", str(int(r["at_risk"])), str(int(r["ended"])),
                      f"{r['hazard']:.0%}", f"{r['in_force_after']:.0%}")
        console.print(t)
    cc = res.concessions()
    t = Table(title="Who blinks first: the day pressure first exceeds resolve")
    for c in ["side", "P(within horizon)", "median date", "p10 - p90", "concession in first deal (0-1)",
              "its tariff in the deal", "compliance it chose"]:
        t.add_column(c)
    for _, r in cc.iterrows():
        fmt = lambda d: "none" if pd.isna(d) else str(d.date())  # noqa: E731
        num = lambda v, f: "-" if pd.isna(v) else format(v, f)  # noqa: E731
        t.add_row(r["side"], fmt_p(r["p_concedes"], r["p_concedes_lo"], r["p_concedes_hi"]), fmt(r["median_date"]),
                  f"{fmt(r['p10_date'])} - {fmt(r['p90_date'])}", num(r["median_concession_in_first_deal"], ".2f"),
                  num(r["median_tariff_in_first_deal"], ".0%"), num(r["median_compliance_in_first_deal"], ".2f"))
    console.print(t)
    console.print(f"US concedes first in {fmt_p(cc.attrs['p_us_first'], *cc.attrs['p_us_first_ci'])} of members, "
                  f"China in {fmt_p(cc.attrs['p_cn_first'], *cc.attrs['p_cn_first_ci'])} (95% Monte Carlo intervals).")
    rr = res.rounds().set_index("measure")
    console.print("Per member (mean): " + ", ".join(f"{k} {v:.2f}" for k, v in rr["mean"].items()))
    sq = res.status_quo_ante()
    net = res.scenario.network()
    cn, kp, lead = net.cn_region, net.key_product, net.lead_sector
    t = Table(title="Does an agreement fix anything? End state against the status quo ante (the baseline)")
    for c in ["region", f"{cn} share of {kp}: before = no conflict", "at end (median)", f"P({lead} rebuilt to 90%)",
              "rebuild days (median)", f"{lead} cover at end / no conflict (days)", f"{kp} price at end (x)"]:
        t.add_column(c, justify="right")
    for _, r in sq.iterrows():
        t.add_row(r["region"], f"{r['china_share_ante']:.0%}", f"{r['china_share_end_median']:.0%}",
                  f"{r['p_rebuilt']:.0%}", f"{r['rebuild_days_median']:.0f}" if r["rebuild_days_median"] == r[
                      "rebuild_days_median"] else "never",
                  f"{r['lead_cover_end_days']:.0f} / {r['lead_cover_no_conflict_days']:.0f}",
                  f"{r['key_price_end']:.2f}")
    console.print(t)
    lev = res.leverage()
    console.print("Leverage left at the end: pressure over resolve US {:.2f}, CN {:.2f} (median; above 1 a side "
                  "would concede again); {}'s median share of {} supply outside {} {:.0%}.".format(
                      lev.loc[0, "pressure_ratio_end_median"], lev.loc[1, "pressure_ratio_end_median"], cn, kp, cn,
                      lev.attrs["controller_share_outside_end"]))


def cell(v: Any) -> str:
    """A value as a person reads it: whole numbers without a decimal point, other floats to 3
    significant digits (no exponent above 0.001), "n/a" for NaN."""
    if isinstance(v, (float, np.floating)):
        if v != v:
            return "n/a"
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) < 1e-3:
            return f"{v:.3g}"
        r = float(f"{v:.3g}")
        return f"{int(r):,}" if r.is_integer() else f"{r:,}"
    return str(v)


def df_table(df: Any, title: str) -> Table:
    """Any DataFrame as a table (:func:`cell` formats each value)."""
    t = Table(title=title)
    for col in df.columns:
        t.add_column(str(col), overflow="fold")
    for _, r in df.iterrows():
        t.add_row(*[cell(v) for v in r])
    return t


def streamed_stockout_table(so: pd.DataFrame, sc: Any, members: int) -> Table:
    """The stockout table of a streamed run (exact counts, no money)."""
    t = Table(title=f"{sc.name}: when each sector runs out ({members:,} members, streamed)")
    for col in ["region", "sector", "P(stockout)", "median date", "p10 - p90"]:
        t.add_column(col)
    for _, r in so[so.p_stockout > 0].iterrows():
        t.add_row(r["region"], r["sector"], fmt_p(r["p_stockout"], r["p_stockout_lo"], r["p_stockout_hi"]),
                  fmt_day_ci(sc.start, r["median_day"], r["median_day_lo"], r["median_day_hi"]),
                  f"{fmt_day(sc.start, r['p10_day'])} - {fmt_day(sc.start, r['p90_day'])}")
    return t


def dataset_tables(net: Any, schema: Any) -> list[Table]:
    """A dataset's tables with their counts of sourced rows and assumptions, and its steady state."""
    t = Table(title=f"dataset {net.name}: tables (show one with `standoff data TABLE`)")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("sourced", justify="right")
    t.add_column("assumptions", justify="right")
    for name in schema:
        df = net.tables[name]
        if "source" in df.columns:
            n_ass = int((df["source"] == "ASSUMPTION").sum())
            t.add_row(name, str(len(df)), str(len(df) - n_ass), str(n_ass))
        else:
            t.add_row(name, str(len(df)), "-", "-")
    st = net.steady_state_table()
    st = st[(st.production_t_per_year > 0) | (st.use_t_per_year > 0)]
    t2 = Table(title="derived steady state, t/yr")
    for c in st.columns:
        t2.add_column(c)
    for _, r in st.iterrows():
        t2.add_row(*[f"{v:,.0f}" if isinstance(v, float) else str(v) for v in r])
    return [t, t2]


def data_table(df: pd.DataFrame, title: str) -> Table:
    """One table of a dataset, every cell as written, rows ruled."""
    t = Table(title=title, show_lines=True)
    for c in df.columns:
        t.add_column(c, overflow="fold")
    for _, r in df.iterrows():
        t.add_row(*[str(v) for v in r])
    return t


def scenarios_table(scenarios: list[Any]) -> Table:
    """The built-in scenarios with their start, horizon, events and description."""
    t = Table(title="built-in scenarios")
    for c in ["name", "start", "horizon (days)", "events", "description"]:
        t.add_column(c, overflow="fold")
    for sc in scenarios:
        t.add_row(sc.name, str(sc.start), str(sc.horizon_days), str(len(sc.events)), sc.description.strip())
    return t


def validation_table(df: pd.DataFrame, members: int) -> Table:
    """The back-test table: observed against simulated, with the verdict in colour."""
    most = int(df["members"].max()) if "members" in df and len(df) else members
    size = f"{members} members each" if most == members else f"{members} members each, up to {most} where --decide needed more"
    t = Table(title=f"Back-tests against history ({size})", show_lines=True)
    for c in ["scenario", "observation", "observed (source)", "simulated median", "median's 95% MC interval",
              "p10 - p90", "tolerance", "holds (given MC error)"]:
        t.add_column(c, overflow="fold")
    for _, r in df.iterrows():
        v = r["verdict"]
        style = "green" if v == "yes" else "red" if v == "no" else "yellow"
        name = r["observation"] + (" [calibration target: fitted, not a test]" if r.get("role") == "calibration" else "")
        t.add_row(r["scenario"], name, f"{r['observed']} ({r['source']})", r["simulated_median"],
                  r["median_95ci"], r["p10_p90"], r["tolerance"], Text(v, style=style))
    return t


def precision_table(reached: list[dict]) -> Table:
    """What ``--precision`` reached: each target's estimate, the 95% half-width asked and reached."""
    t = Table(title="Monte Carlo precision (95% intervals)")
    for c in ["estimate", "value", "± reached", "± asked", "members", "met"]:
        t.add_column(c, justify="right" if c != "estimate" else "left")
    for r in reached:
        prob = r["label"].startswith("P(")
        f = (lambda v: f"{v:.1%}") if prob else (lambda v: f"{v:.3g}")
        t.add_row(r["label"], f(r["estimate"]), f(r["half_width"]), f(r["asked"]), f"{r['members']:,}",
                  Text("yes", style="green") if r["met"] else Text("no: the member cap was reached", style="red"))
    return t


def record_table(row: Any) -> Table:
    """One catalogue record, field by field."""
    t = Table(title=f"run {row['id']}")
    t.add_column("field")
    t.add_column("value", overflow="fold")
    for k, v in row.items():
        t.add_row(str(k), cell(v))
    return t
