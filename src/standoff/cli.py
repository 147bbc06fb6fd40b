"""The ``standoff`` command line: a thin shell over the library.

Every command turns a :class:`~standoff.errors.StandoffError` into one red line and exit
code 2; anything unexpected becomes one line too (``--debug`` shows the traceback).
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .errors import StandoffError
from .network import PAIN_KINDS as PAIN_KINDS_CLI

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="standoff: simulate trade standoffs over supply-chain chokepoints.")
console = Console(width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True, soft_wrap=True)
_DEBUG = {"on": False}


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors.")) -> None:
    _DEBUG["on"] = debug


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Report errors as one line and a non-zero exit code, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StandoffError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]; nothing was written")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence for a user
            if _DEBUG["on"]:
                raise
            err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                              "(run with --debug for the traceback; please report it)", highlight=False)
            raise typer.Exit(3) from None
    return wrapper


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("members"), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
                    transient=False)


def _fmt_day(start: dt.date, d: float) -> str:
    if not math.isfinite(d):
        return "none"
    return (start + dt.timedelta(days=int(round(d)))).isoformat()


def _band_table(df: Any, keys: list[str], title: str, fmt: str) -> Table:
    """A table of label columns plus median and p10 - p90 (as made by Results._band)."""
    t = Table(title=title)
    for c in [*keys, "median", "p10 - p90"]:
        t.add_column(c)
    for _, r in df.iterrows():
        t.add_row(*[str(r[k]) for k in keys], format(r["median"], fmt),
                  f"{format(r['p10'], fmt)} - {format(r['p90'], fmt)}")
    return t


def print_summary(res: Any, regions: list[str] | None = None) -> None:
    """Readable tables: stockouts and losses, prices, pain, trade."""
    sc = res.scenario
    so = res.stockouts()
    lo = res.losses()
    df = so.merge(lo, on=["region", "sector"])
    wk = res.weekly_losses()
    df = df.merge(wk, on=["region", "sector"], how="left").fillna({"peak_week_bn": 0.0})
    regions = regions or [r for r in res.ds.region.values if r != "CHN"] + ["CHN"]
    t = Table(title=f"{sc.name}: when each sector runs out ({sc.members} members, seed {sc.seed})",
              caption="first day output falls below 99% of requirement; p10-p90 across members; "
                      "'none' = no stockout within the horizon")
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
            t.add_row(reg, r["sector"], f"{r['p_stockout']:.0%}", _fmt_day(sc.start, r["median_day"]),
                      f"{_fmt_day(sc.start, r['p10_day'])} - {_fmt_day(sc.start, r['p90_day'])}",
                      f"{r['median']:.1f} ({r['p10']:.1f}-{r['p90']:.1f})", f"{r['peak_week_bn']:.2f}",
                      f"{r['units_median']:,.0f} {unit}")
    console.print(t)
    quiet = df[(df.p_stockout == 0) & (df.p90 == 0)]
    if len(quiet):
        console.print(f"[dim]{len(quiet)} region-sector pairs had no stockout and no loss in any member.[/]")

    pr = res.prices()
    console.print(_band_table(pr[pr["product"].isin(["MAGNET", "HREO"])], ["region", "product"],
                              "Peak price multiple (x baseline)", ".2f"))
    console.print(_band_table(res.pain(), ["side", "pain_kind"],
                              "Pain per side, cumulative over the horizon (US$ bn, median and p10-p90)", ".1f"))

    tr = res.trade()
    tr = tr[(tr["product"] == "MAGNET") & (tr["median"] > 0)]
    if len(tr):
        t4 = Table(title="Magnet imports lost and diverted (t, cumulative, median)")
        for c in ["region", "lost", "diverted"]:
            t4.add_column(c)
        piv = tr.pivot_table(index="region", columns="flow_kind", values="median").fillna(0)
        for reg, r in piv.iterrows():
            t4.add_row(str(reg), f"{r.get('lost', 0):,.0f}", f"{r.get('diverted', 0):,.0f}")
        console.print(t4)
    if sc.negotiation.enabled:
        print_negotiation(res)
    sp = res.stockpiles()
    for _, r in sp.iterrows():
        lasted = "beyond the horizon" if not np.isfinite(r["median_days_it_lasted"]) else \
            f"{r['median_days_it_lasted']:.0f} days (median)"
        console.print(f"Strategic stockpile {r['region']} {r['product']}: released from "
                      f"{_fmt_day(sc.start, r['released_from_day'])}, lasts {lasted}; "
                      f"exhausted within the horizon in {r['p_exhausted']:.0%} of members.")
    rd = res.readiness()
    low = rd[rd["p10"] < 0.999]
    if len(low):
        console.print("Defense readiness (lowest 30-day share of requirement met): " + ", ".join(
            f"{r['region']} median {r['median']:.0%} (p10 {r['p10']:.0%})" for _, r in low.iterrows()))
    else:
        console.print("Defense readiness: requirement met throughout in every member.")


def print_negotiation(res: Any) -> None:
    """Agreement, truce survival, who concedes first, rounds, and the status quo ante."""
    ab = res.agreement_by_date()
    t = Table(title="Probability of an agreement by each round of talks")
    t.add_column("date")
    t.add_column("P(agreement reached)", justify="right")
    for _, r in ab.iterrows():
        t.add_row(str(r["date"]), f"{r['p_agreement']:.0%}")
    console.print(t)
    ts = res.truce_survival()
    t = Table(title="Will the first truce hold? (among members that reached one)")
    for c in ["survives", "probability", "members with an agreement", "censored by the horizon"]:
        t.add_column(c, justify="right")
    for _, r in ts.iterrows():
        t.add_row(f"{int(r['days'])} days", f"{r['p_survive']:.0%}" if r["p_survive"] == r["p_survive"] else "n/a",
                  str(r["members_with_agreement"]), str(r["censored"]))
    console.print(t)
    cc = res.concessions()
    t = Table(title="Who blinks first: the day pressure first exceeds resolve")
    for c in ["side", "P(within horizon)", "median date", "p10 - p90", "concession in first deal (0-1)"]:
        t.add_column(c)
    for _, r in cc.iterrows():
        fmt = lambda d: "none" if pd.isna(d) else str(d.date())  # noqa: E731
        t.add_row(r["side"], f"{r['p_concedes']:.0%}", fmt(r["median_date"]),
                  f"{fmt(r['p10_date'])} - {fmt(r['p90_date'])}", f"{r['median_concession_in_first_deal']:.2f}")
    console.print(t)
    console.print(f"US concedes first in {cc.attrs['p_us_first']:.0%} of members, China in {cc.attrs['p_cn_first']:.0%}.")
    rr = res.rounds().set_index("measure")
    console.print("Per member (mean): " + ", ".join(f"{k} {v:.2f}" for k, v in rr["mean"].items()))
    sq = res.status_quo_ante()
    t = Table(title="Does an agreement fix anything? End state against the status quo ante (2024)")
    for c in ["region", "China share of magnets: before = no conflict", "at end (median)", "P(autos rebuilt to 90%)",
              "rebuild days (median)", "autos cover at end / no conflict (days)", "magnet price at end (x)"]:
        t.add_column(c, justify="right")
    for _, r in sq.iterrows():
        t.add_row(r["region"], f"{r['china_share_ante']:.0%}", f"{r['china_share_end_median']:.0%}",
                  f"{r['p_rebuilt']:.0%}", f"{r['rebuild_days_median']:.0f}" if r["rebuild_days_median"] == r[
                      "rebuild_days_median"] else "never",
                  f"{r['autos_cover_end_days']:.0f} / {r['autos_cover_no_conflict_days']:.0f}",
                  f"{r['magnet_price_end']:.2f}")
    console.print(t)
    lev = res.leverage()
    console.print("Leverage left at the end: pressure over resolve US {:.2f}, China {:.2f} (median; above 1 a side "
                  "would concede again); China's median share of magnet supply outside China {:.0%}.".format(
                      lev.loc[0, "pressure_ratio_end_median"], lev.loc[1, "pressure_ratio_end_median"],
                      lev.attrs["china_share_of_magnets_outside_china_end"]))


@app.command()
@guarded
def run(scenario: str = typer.Argument(..., help="Built-in name (london-2025, baseline) or a YAML file."),
        members: Optional[int] = typer.Option(None, "--members", "-n", help="Ensemble members."),
        seed: Optional[int] = typer.Option(None, "--seed", "-s", help="Random seed."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default runs/NAME-TIME)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
        dask: Optional[str] = typer.Option(None, "--dask", help="Run on Dask: a scheduler address, or 'local'."),
        workers: int = typer.Option(2, "--workers", help="Workers of a local Dask cluster."),
        negotiate: bool = typer.Option(False, "--negotiate", help="Simulate the talks instead of scripting their outcomes."),
        stream: bool = typer.Option(False, "--stream", help="Huge ensembles: keep only streamed summaries (memory does "
                                    "not grow with members); writes summary CSVs, no per-member results."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary tables."),
        catalogue_path: Optional[str] = typer.Option(None, "--catalogue",
                                                     help="Run catalogue file (default runs/catalogue.duckdb; "
                                                          "'none' to skip).")) -> None:
    """Run an ensemble, print a summary and write results (NetCDF, CSV, the resolved scenario)."""
    from .api import simulate
    from .ensemble import plan
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    changes: dict[str, Any] = {}
    if members is not None:
        changes["members"] = members
    if seed is not None:
        changes["seed"] = seed
    if changes:
        sc = sc.with_(**changes)
    if negotiate:
        sc = sc.negotiating()
    plan(sc)  # compile against the dataset before any work; its errors name the scenario file
    if out is None:
        out = Path("runs") / f"{sc.name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}"
    if out.exists() and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise StandoffError("output folder exists and is not empty (use --overwrite to replace it)", file=str(out))
    if out.exists() and not out.is_dir():
        raise StandoffError("output path exists and is not a folder", file=str(out))
    if stream:
        _run_streamed(sc, out, overwrite, dask, workers, catalogue_path, quiet)
        return
    executor = None
    if dask is not None:
        from .parallel import DaskExecutor
        executor = DaskExecutor(None if dask == "local" else dask, n_workers=workers)
    try:
        with _progress() as bar:
            task = bar.add_task(f"{sc.name}", total=sc.members)
            res = simulate(sc, executor=executor,
                           progress=lambda done, total: bar.update(task, completed=done))
    finally:
        if executor is not None:
            executor.close()
    if not quiet:
        print_summary(res)
    path = res.save(out, overwrite=overwrite)
    console.print(f"results written to [bold]{path}[/] (results.nc, summary/*.csv, scenario.yaml, run.json)")
    if catalogue_path != "none":
        from .catalogue import Catalogue
        run_id = Catalogue(catalogue_path or None).register(res, path)
        console.print(f"registered as run [bold]{run_id}[/] in {Catalogue(catalogue_path or None).path}")


def _run_streamed(sc: Any, out: Path, overwrite: bool, dask: Optional[str], workers: int,
                  catalogue_path: Optional[str], quiet: bool = False) -> None:
    """Run chunk by chunk, folding each into streaming summaries, and write the summaries atomically."""
    import json
    import shutil
    import tempfile

    from .ensemble import SerialExecutor, plan
    from .results import StreamingSummary, package_version

    pl = plan(sc)  # the first ``trajectories`` members keep their daily paths: a bounded sample
    ex: Any = SerialExecutor(chunk_members=4096)
    if dask is not None:
        from .parallel import DaskExecutor
        ex = DaskExecutor(None if dask == "local" else dask, n_workers=workers)
    acc = StreamingSummary(pl)
    try:
        with _progress() as bar:
            task = bar.add_task(f"{sc.name} (streamed)", total=sc.members)
            for chunk in ex.map(pl, ex.split(sc.members)):
                acc.add(chunk)
                bar.update(task, completed=acc.members)
    finally:
        if dask is not None:
            ex.close()
    so = acc.stockouts()
    t = Table(title=f"{sc.name}: when each sector runs out ({acc.members:,} members, streamed)")
    for col in ["region", "sector", "P(stockout)", "median date", "p10 - p90"]:
        t.add_column(col)
    for _, r in so[so.p_stockout > 0].iterrows():
        t.add_row(r["region"], r["sector"], f"{r['p_stockout']:.0%}", _fmt_day(sc.start, r["median_day"]),
                  f"{_fmt_day(sc.start, r['p10_day'])} - {_fmt_day(sc.start, r['p90_day'])}")
    if not quiet:
        console.print(t)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        so.to_csv(tmp / "stockouts.csv", index=False)
        net = pl.net
        for name, dims in (("output_loss_usd_bn", ("region", "sector")), ("peak_price_multiple", ("region", "product")),
                           ("pain_usd_bn", ("side", "pain_kind"))):
            band = acc.band(name)
            labels = {"region": net.regions, "sector": net.sectors, "product": net.products, "side": ["US", "CN"],
                      "pain_kind": list(PAIN_KINDS_CLI)}
            rows = [{dims[0]: labels[dims[0]][i], dims[1]: labels[dims[1]][j], "p10": band[i, j, 0],
                     "median": band[i, j, 1], "p90": band[i, j, 2]}
                    for i in range(band.shape[0]) for j in range(band.shape[1])]
            pd.DataFrame(rows).to_csv(tmp / f"{name}.csv", index=False)
        paths = acc.paths()
        if paths.sizes["traj_member"] > 0:
            paths.to_netcdf(tmp / "paths.nc", engine="h5netcdf")
            for name in ("cover_days", "price_multiple", "output_fraction"):
                acc.path_bands(name).to_csv(tmp / f"bands_{name}.csv", index=False)
        (tmp / "scenario.yaml").write_text(sc.to_yaml(), encoding="utf-8")
        (tmp / "run.json").write_text(json.dumps({"scenario": sc.name, "seed": sc.seed, "members": acc.members,
                                                  "streamed": True, "sampled_paths": int(paths.sizes["traj_member"]),
                                                  "scenario_digest": sc.digest(),
                                                  "standoff_version": package_version()}, indent=2))
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    console.print(f"streamed summaries written to [bold]{out}[/]")
    if catalogue_path != "none":
        from .catalogue import Catalogue
        cat = Catalogue(catalogue_path or None)
        run_id = cat.register(acc, out)
        console.print(f"registered as run [bold]{run_id}[/] (streamed: summaries only) in {cat.path}")


@app.command()
@guarded
def data(table: Optional[str] = typer.Argument(None, help="A table to show (default: list the tables)."),
         baseline: str = typer.Option("baseline-2024", help="Dataset name or folder.")) -> None:
    """Show the baseline dataset, table by table, with the source of every value."""
    from .network import SCHEMA, load_network

    net = load_network(baseline)
    if table is None:
        t = Table(title=f"dataset {net.name}: tables (show one with `standoff data TABLE`)")
        t.add_column("table")
        t.add_column("rows", justify="right")
        t.add_column("sourced", justify="right")
        t.add_column("assumptions", justify="right")
        for name in SCHEMA:
            df = net.tables[name]
            if "source" in df.columns:
                n_ass = int((df["source"] == "ASSUMPTION").sum())
                t.add_row(name, str(len(df)), str(len(df) - n_ass), str(n_ass))
            else:
                t.add_row(name, str(len(df)), "-", "-")
        console.print(t)
        st = net.steady_state_table()
        st = st[(st.production_t_per_year > 0) | (st.use_t_per_year > 0)]
        t2 = Table(title="derived steady state, t/yr")
        for c in st.columns:
            t2.add_column(c)
        for _, r in st.iterrows():
            t2.add_row(*[f"{v:,.0f}" if isinstance(v, float) else str(v) for v in r])
        console.print(t2)
        return
    if table not in SCHEMA:
        raise StandoffError(f"unknown table; known: {', '.join(SCHEMA)}", value=table)
    df = net.tables[table]
    t = Table(title=f"{net.name}/{table}.csv", show_lines=True)
    for c in df.columns:
        t.add_column(c, overflow="fold")
    for _, r in df.iterrows():
        t.add_row(*[str(v) for v in r])
    console.print(t)


@app.command()
@guarded
def scenarios() -> None:
    """List the built-in scenarios."""
    from .scenario import builtin_scenarios, load_scenario

    t = Table(title="built-in scenarios")
    for c in ["name", "start", "horizon (days)", "events", "description"]:
        t.add_column(c, overflow="fold")
    for name in builtin_scenarios():
        sc = load_scenario(name)
        t.add_row(name, str(sc.start), str(sc.horizon_days), str(len(sc.events)), sc.description.strip())
    console.print(t)


@app.command()
@guarded
def check(scenario: str = typer.Argument(..., help="Built-in name or YAML file.")) -> None:
    """Validate a scenario file and print it resolved, without running it."""
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    console.print(sc.to_yaml(), highlight=False, markup=False)
    console.print(f"[green]ok[/]: {sc.name}, {len(sc.events)} events, {sc.members} members, seed {sc.seed}")


@app.command()
@guarded
def validate(members: int = typer.Option(200, "--members", "-n", help="Members per back-test scenario."),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table as CSV.")) -> None:
    """Run every back-test (crisis-2010, truce-2018, london-2025) against history."""
    from .validation import KNOWN_FAILURES_NOTE, run_validation

    if members < 1:
        raise StandoffError("members must be at least 1", field="--members", value=members)
    with err_console.status("running back-tests ...") as status:
        df = run_validation(members, progress=lambda name: status.update(f"running {name} ..."))
    t = Table(title=f"Back-tests against history ({members} members each)", show_lines=True)
    for c in ["scenario", "observation", "observed (source)", "simulated median", "p10 - p90", "tolerance", "holds"]:
        t.add_column(c, overflow="fold")
    for _, r in df.iterrows():
        t.add_row(r["scenario"], r["observation"], f"{r['observed']} ({r['source']})", r["simulated_median"],
                  r["p10_p90"], r["tolerance"], "[green]yes[/]" if r["holds"] else "[red]no[/]")
    console.print(t)
    console.print(f"{int(df['holds'].sum())} of {len(df)} observations within tolerance. {KNOWN_FAILURES_NOTE}")
    if out is not None:
        df.drop(columns=["median_value"]).to_csv(out, index=False)
        console.print(f"table written to {out}")


def _df_table(df: Any, title: str) -> Table:
    t = Table(title=title)
    for col in df.columns:
        t.add_column(str(col), overflow="fold")
    for _, r in df.iterrows():
        t.add_row(*[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r])
    return t


@app.command()
@guarded
def report(run_ref: str = typer.Argument(..., metavar="RUN", help="Run folder or catalogue id."),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (default RUN/report)."),
           overwrite: bool = typer.Option(False, "--overwrite")) -> None:
    """Write a self-contained HTML report with fan charts, stockout distributions, drivers and sources."""
    from .catalogue import resolve_run
    from .report import write_report

    res = resolve_run(run_ref)
    if out is not None:
        folder = out
    elif Path(run_ref).exists():
        folder = Path(run_ref) / "report"
    else:
        from .catalogue import Catalogue
        folder = Path(Catalogue().get(run_ref)["path"]) / "report"
    with err_console.status("drawing charts ..."):
        page = write_report(res, folder, overwrite=overwrite)
    console.print(f"report written to [bold]{page}[/] (charts in {page.parent / 'charts'})")


@app.command()
@guarded
def compare(run_a: str = typer.Argument(..., help="Run folder or catalogue id (reference)."),
            run_b: str = typer.Argument(..., help="Run folder or catalogue id (policy)."),
            outcome: Optional[list[str]] = typer.Option(None, "--outcome", help="e.g. loss:USA:autos (repeatable).")) -> None:
    """Differences between two runs (B - A) with uncertainty, paired by common random numbers."""
    from .analysis import DEFAULT_OUTCOMES
    from .analysis import compare as do_compare
    from .catalogue import resolve_run

    a, b = resolve_run(run_a), resolve_run(run_b)
    df = do_compare(a, b, outcome or DEFAULT_OUTCOMES)
    console.print(_df_table(df, f"{b.scenario.name} minus {a.scenario.name}"))
    if df.attrs["paired"]:
        console.print("Paired by member (same seed and members: common random numbers); read paired_95ci.")
    else:
        console.print("[yellow]Runs differ in seed or members: no pairing, only the unpaired interval is valid.[/]")


@app.command()
@guarded
def sensitivity(scenario: str = typer.Argument(..., help="Built-in name or YAML file."),
                outcome: str = typer.Option("loss:USA:autos", "--outcome", help="Outcome to explain."),
                method: str = typer.Option("sobol", "--method", help="sobol or morris."),
                n: int = typer.Option(32, "--n", help="Base sample size (Sobol: n*(k+2) runs; Morris: n*(k+1))."),
                inputs: Optional[list[str]] = typer.Option(None, "--input", help="Inputs to vary (default all)."),
                list_inputs: bool = typer.Option(False, "--list", help="List the scenario's uncertain inputs."),
                negotiate: bool = typer.Option(False, "--negotiate",
                                               help="Simulate the talks instead of scripting their outcomes.")) -> None:
    """Sobol or Morris sensitivity indices (SALib) of a scenario's uncertain inputs, ranked."""
    from .analysis import sensitivity as do_sens
    from .ensemble import plan
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    if negotiate:
        sc = sc.negotiating()
    if list_inputs:
        for u in plan(sc).uncertain_inputs():
            console.print(u.key)
        return
    if n < 2:
        raise StandoffError("n must be at least 2", field="--n", value=n)
    with err_console.status(f"running the {method} design ..."):
        df = do_sens(sc, outcome, method=method, n=n, inputs=inputs)
    console.print(_df_table(df, f"{method} indices for {outcome} ({df.attrs['evaluations']} runs), most influential first"))


@app.command()
@guarded
def discover(run_ref: str = typer.Argument(..., metavar="RUN", help="Run folder or catalogue id."),
             outcome: str = typer.Option("stockout:USA:defense", "--outcome"),
             below: Optional[float] = typer.Option(None, "--below", help="Cases of interest: outcome <= this."),
             above: Optional[float] = typer.Option(None, "--above", help="Cases of interest: outcome >= this."),
             threshold: float = typer.Option(0.6, "--threshold", help="Density the box must reach.")) -> None:
    """Scenario discovery (PRIM): which ranges of the uncertain inputs lead to an outcome."""
    from .analysis import discover as do_discover
    from .catalogue import resolve_run

    box = do_discover(resolve_run(run_ref), outcome, below=below, above=above, threshold=threshold)
    console.print(_df_table(box.limits, f"PRIM box for {outcome} {'<= ' + str(below) if below is not None else '>= ' + str(above)}"))
    console.print(f"coverage {box.coverage:.0%} (of cases of interest inside), density {box.density:.0%} "
                  f"(of members inside that are cases), mass {box.mass:.0%}")


@app.command()
@guarded
def resilience(scenario: str = typer.Argument(..., help="Built-in name or YAML file."),
               lever: str = typer.Option("stockpile", "--lever", help="stockpile, capacity or substitution."),
               region: str = typer.Option("USA", "--region"),
               sector: str = typer.Option("defense", "--sector"),
               product: str = typer.Option("MAGNET", "--product"),
               within: int = typer.Option(365, "--within", help="Horizon of the stockout probability, days."),
               target: float = typer.Option(0.05, "--target", help="Largest acceptable stockout probability."),
               low: float = typer.Option(0.0, "--low"), high: float = typer.Option(5000.0, "--high"),
               members: Optional[int] = typer.Option(None, "--members", "-n")) -> None:
    """Smallest stockpile, capacity or substitution share that brings P(stockout) below a target."""
    from .analysis import resilience as do_res
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    if members:
        sc = sc.with_(members=members)
    if not 0 <= target <= 1:
        raise StandoffError("target must be a probability", field="--target", value=target)
    with err_console.status("searching ..."):
        value, evals = do_res(sc, lever, region, sector, within, target, low, high, product=product)
    console.print(_df_table(evals, f"P({region} {sector} stockout within {within} days) by {lever}"))
    if value is None:
        console.print(f"[red]Even {lever} = {high:g} leaves the probability above {target:.0%}.[/]")
    else:
        console.print(f"Smallest {lever} meeting the target: [bold]{value:,.4g}[/] (common random numbers).")


@app.command()
@guarded
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
          port: int = typer.Option(8765, "--port"),
          workdir: Path = typer.Option(Path("runs/dashboard"), "--workdir", help="Where runs and the catalogue go."),
          max_members: int = typer.Option(2000, "--max-members", help="Largest ensemble a page may ask for.")) -> None:
    """Start the local web dashboard (open the printed address in a browser)."""
    try:
        import uvicorn

        from .web.app import create_app
    except ImportError:
        raise StandoffError("the dashboard needs its extra: pip install 'standoff[web]'") from None
    console.print(f"standoff dashboard on [bold]http://{host}:{port}/[/] (Ctrl-C to stop)")
    uvicorn.run(create_app(workdir, max_members=max_members), host=host, port=port, log_level="warning")


runs_app = typer.Typer(help="The run catalogue (DuckDB).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
@guarded
def runs_list(catalogue_path: Optional[str] = typer.Option(None, "--catalogue")) -> None:
    """List registered runs, newest first."""
    from .catalogue import Catalogue

    df = Catalogue(catalogue_path).list()
    cols = ["id", "created", "scenario", "seed", "members", "negotiate", "streamed", "p_stockout_usa_autos",
            "median_loss_usa_autos_bn", "path"]
    console.print(_df_table(df[cols], f"runs in {Catalogue(catalogue_path).path}"))


@runs_app.command("show")
@guarded
def runs_show(run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
              catalogue_path: Optional[str] = typer.Option(None, "--catalogue")) -> None:
    """Show one run's record."""
    from .catalogue import Catalogue

    row = Catalogue(catalogue_path).get(run_id)
    t = Table(title=f"run {row['id']}")
    t.add_column("field")
    t.add_column("value", overflow="fold")
    for k, v in row.items():
        t.add_row(str(k), str(v))
    console.print(t)


def main() -> None:  # pragma: no cover - console entry for `python -m standoff`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
