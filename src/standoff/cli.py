"""The ``standoff`` command line: a thin shell over the library.

Every command turns a :class:`~standoff.errors.StandoffError` into one red line and exit
code 2; anything unexpected becomes one line too (``--debug`` shows the traceback).
"""
from __future__ import annotations

import contextlib
import functools
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .errors import StandoffError, install_hint
from .files import write_csv


class _Later:
    """A module imported on first use: the tables and charts need pandas and numpy, but
    ``standoff --help``, ``scenarios`` and the argument checks do not, and start faster without."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib
        return getattr(importlib.import_module(self._name), attr)


present = _Later("standoff.present")

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="standoff: simulate trade standoffs over supply-chain chokepoints.")
# Markup is off: names, paths and messages come from users' files, and "[red]x" or "a[b]" in
# them must print as written.  Our own emphasis goes through :func:`say`, which escapes values.
console = Console(width=None if sys.stdout.isatty() else 150, markup=False)
err_console = Console(stderr=True, soft_wrap=True, markup=False)
_DEBUG = {"on": False}


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors.")) -> None:
    _DEBUG["on"] = debug


def say(template: str, *values: Any, err: bool = False) -> None:
    """Print ``template`` (rich markup) with ``values`` filled in as plain text, never as markup."""
    line = Text.from_markup(template.format(*(escape(str(v)) for v in values)))
    (err_console if err else console).print(line, highlight=False)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Report errors as one line and a non-zero exit code, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StandoffError as exc:
            say("[bold red]error:[/] {}", exc, err=True)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            say("[bold red]interrupted[/]; nothing was written", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence for a user
            if _DEBUG["on"]:
                raise
            say("[bold red]internal error:[/] {}: {} (run with --debug for the traceback; please report it)",
                type(exc).__name__, exc, err=True)
            raise typer.Exit(3) from None
    return wrapper


def _progress() -> Progress:
    # Task descriptions are markup: the callers escape the scenario names they put there.
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("members"), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
                    transient=False)


@app.command()
@guarded
def run(scenario: str = typer.Argument(..., help="Built-in name (see `standoff scenarios`) or a YAML file."),
        members: Optional[int] = typer.Option(None, "--members", "-n", help="Ensemble members."),
        seed: Optional[int] = typer.Option(None, "--seed", "-s", help="Random seed."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default runs/NAME-TIME-sSEED)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
        dask: Optional[str] = typer.Option(None, "--dask", help="Run on Dask: a scheduler address, or 'local'."),
        workers: int = typer.Option(2, "--workers", help="Workers of a local Dask cluster."),
        negotiate: bool = typer.Option(False, "--negotiate", help="Simulate the talks instead of scripting their outcomes."),
        stream: bool = typer.Option(False, "--stream", help="Huge ensembles: keep only streamed summaries (memory does "
                                    "not grow with members); writes summary CSVs, no per-member results."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary tables."),
        all_paths: bool = typer.Option(False, "--all-paths", help="Also save the daily paths nothing reads from a "
                                       "run folder (expectations, traders' stock, requirements, cumulative pain)."),
        precision: Optional[list[str]] = typer.Option(None, "--precision", metavar="OUTCOME=WIDTH",
                                                      help="Add members until OUTCOME's 95% interval is within ±WIDTH "
                                                           "(repeatable), e.g. stockout:REGION:SECTOR@90=0.02 or "
                                                           "loss:REGION:SECTOR=0.5; starts at --members, doubles."),
        max_members: int = typer.Option(20000, "--max-members", help="Cap on members for --precision."),
        catalogue_path: Optional[str] = typer.Option(None, "--catalogue",
                                                     help="Run catalogue file (default runs/catalogue.duckdb; "
                                                          "'none' to skip)."),
        save_state: Optional[str] = typer.Option(None, "--save-state", metavar="DATE",
                                                 help="Also save every member's state at the start of DATE "
                                                      "(state.npz in the run folder), to resume or branch from."),
        resume: Optional[Path] = typer.Option(None, "--resume", metavar="FILE",
                                              help="Start from a saved state (a run's state.npz) at its day: the "
                                                   "scenario must be the saving run's until then; later events "
                                                   "may differ.")) -> None:
    """Run an ensemble, print a summary and write results (NetCDF, CSV, the resolved scenario)."""
    from .api import simulate
    from .ensemble import check_memory, plan
    from .scenario import load_scenario

    if max_members < 1:
        raise StandoffError("must be at least 1", field="--max-members", value=max_members)
    if workers < 1:
        raise StandoffError("a local Dask cluster needs at least one worker", field="--workers", value=workers)
    sc = with_options(load_scenario(scenario), members=members, seed=seed)
    if negotiate:
        sc = sc.negotiating()
    if precision and max_members < sc.members:
        raise StandoffError(f"must be at least the members to start from ({sc.members})", field="--max-members",
                            value=max_members)
    pl = plan(sc)  # compile against the dataset before any work; its errors name the scenario file
    if not stream:
        try:
            check_memory(pl)
        except StandoffError as exc:
            if members is None:
                raise
            raise StandoffError(exc.message, field="--members", value=members) from None
    # Faults of where the run goes are found now, not after the whole simulation.
    _check_out(out, overwrite)
    cat = None if catalogue_path == "none" else _catalogue(catalogue_path)
    if cat is not None:
        cat.check()
    state = None
    if save_state is not None or resume is not None:
        for flag, on in (("--stream", stream), ("--precision", bool(precision)), ("--dask", dask is not None)):
            if on:
                raise StandoffError("saving or resuming a state runs one plain ensemble in this process; it cannot "
                                    f"be combined with {flag}", field="--save-state" if save_state else "--resume")
        if resume is not None:
            from .state import load_state
            state = load_state(resume)
    if dask is None:
        _warm_up(pl)
    if stream:
        if precision:
            raise StandoffError("--precision needs per-member results; it cannot be combined with --stream",
                                field="--precision")
        _run_streamed(pl, out, overwrite, dask, workers, cat, quiet)
        return
    targets = _parse_precision(precision or [])
    if targets:
        try:
            check_memory(plan(sc.with_(members=max_members)))
        except StandoffError as exc:
            raise StandoffError(exc.message, field="--max-members", value=max_members) from None
    executor = None
    if dask is not None:
        from .parallel import DaskExecutor
        executor = DaskExecutor(None if dask == "local" else dask, n_workers=workers)
    try:
        with _progress() as bar:
            task = bar.add_task(escape(sc.name), total=max_members if targets else sc.members)
            if targets:
                from .api import simulate_until
                res, reached = simulate_until(sc, targets, max_members, executor=executor,
                                              progress=lambda done, total: bar.update(task, completed=done))
                bar.update(task, total=res.scenario.members, completed=res.scenario.members)
            elif save_state is not None or state is not None:
                try:
                    res = simulate(sc, save_state=save_state, resume=state,
                                   progress=lambda done, total: bar.update(task, completed=done))
                except StandoffError as exc:  # name the option, not the keyword
                    opt = "--save-state" if exc.field == "save_state" else "--resume" if exc.field == "resume" \
                        else exc.field
                    raise StandoffError(exc.message, file=exc.file, field=opt, value=exc.value) from None
            else:
                res = simulate(sc, executor=executor,
                               progress=lambda done, total: bar.update(task, completed=done))
    finally:
        if executor is not None:
            executor.close()
    if not quiet:
        present.print_summary(res, console)
    if targets:
        console.print(present.precision_table(reached))
    def write(folder: Path) -> None:
        res.save(folder, overwrite=overwrite, all_paths=all_paths)
        if res.state is not None:
            res.state.save(Path(folder) / "state.npz")

    path = _publish(out, sc, overwrite, write)
    say("results written to [bold]{}[/] (results.nc, summary/*.csv, scenario.yaml, run.json{})", path,
        ", state.npz" if res.state is not None else "")
    if cat is not None:
        run_id = cat.register(res, path)
        say("registered as run [bold]{}[/] in {}", run_id, cat.path)
        _tidy(path, cat)


def _parse_precision(items: list[str]) -> dict[str, float]:
    """``OUTCOME=WIDTH`` options as a dict; errors name the option and the value."""
    out = {}
    for item in items:
        spec, sep, width = item.rpartition("=")
        try:
            w = float(width)
        except ValueError:
            w = float("nan")
        if not sep or not spec or not (w > 0 and math.isfinite(w)):
            raise StandoffError("expected OUTCOME=WIDTH with a positive width, e.g. stockout:REGION:SECTOR@90=0.02",
                                field="--precision", value=item)
        out[spec] = w
    return out


def _censoring_note(outcome: str, share: float) -> None:
    """Warn when a time-to-event outcome mostly did not happen: its values are then mostly the horizon."""
    if share > 0.5:
        console.print(f"note: in {share:.0%} of members {outcome} did not happen within the horizon; its value there "
                      "is the horizon (restricted time to the event), so read the result as about P(event) as much "
                      "as about its timing.", style="yellow")


def with_options(sc: Any, **options: Any) -> Any:
    """The scenario with command-line options applied; an error names the option, not the file."""
    for name, value in options.items():
        if value is None:
            continue
        try:
            sc = sc.with_(**{name: value})
        except StandoffError as exc:
            raise StandoffError(exc.message, field=f"--{name}", value=value) from None
    return sc


def _catalogue(path: Optional[str]) -> Any:
    from .catalogue import Catalogue
    return Catalogue(path or None)


def _check_out(out: Optional[Path], overwrite: bool) -> None:
    """Refuse, before any work, an output folder the run could not be written to."""
    from .runstore import check_destination, probe_writable
    if out is None:
        probe_writable(Path("runs"), "--out")  # the default runs folder
        return
    check_destination(out, overwrite, "--out")  # the same rule the atomic write applies at the end
    probe_writable(out.parent, "--out")


def _publish(out: Optional[Path], sc: Any, overwrite: bool, write: Callable[[Path], Any]) -> Path:
    """Write a run into ``out``, or into a new unique folder under runs/ (removed again if writing fails)."""
    from .runstore import new_run_folder
    from .scenario import safe_name

    if out is not None:
        write(out)
        return out
    folder = new_run_folder(Path("runs"), safe_name(sc.name), sc.seed)
    try:
        write(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if still the empty folder we reserved
        raise
    return folder


def _tidy(folder: Path, cat: Any) -> None:
    """Remove what killed runs left beside the run ``folder`` (only what standoff made and marked:
    :func:`standoff.runstore.sweep_orphans`) and adopt unregistered run folders; say what was done."""
    root = folder
    from .runstore import sweep_orphans

    swept = sweep_orphans(root.parent, name=root.name)
    if swept.removed:
        say("[yellow]removed {} unfinished temporary folder(s) left by killed runs ({} MB): {}[/]",
            len(swept.removed), f"{swept.bytes_freed / 1e6:.1f}", ", ".join(swept.removed))
    for run_id, found in cat.adopt(root.parent):
        say("[yellow]adopted {} (written by a run that stopped before registering it) as run {}[/]", found, run_id)


def _warm_up(pl: Any) -> None:
    """Compile (or load) the engine before the progress bar starts, saying which, so the bar does not sit at 0."""
    from .ensemble import engine_cached, engine_ready, warm_up

    if engine_ready():
        return
    cached = engine_cached()
    msg = ("loading the compiled engine ..." if cached else
           "compiling the engine: once per install, about 40-90 s; later runs start in seconds ...")
    t0 = time.monotonic()
    if not cached or not err_console.is_terminal:
        err_console.print(msg, style="dim")  # a line in logs too, where the spinner below does not show
    with err_console.status(msg) if err_console.is_terminal else contextlib.nullcontext():
        warm_up(pl)
    if time.monotonic() - t0 > 2.0:
        err_console.print(f"engine ready in {time.monotonic() - t0:.0f} s", style="dim")


def _run_streamed(pl: Any, out: Optional[Path], overwrite: bool, dask: Optional[str], workers: int,
                  cat: Any, quiet: bool = False) -> None:
    """Run chunk by chunk, folding each into streaming summaries, and write the summaries atomically.

    ``pl`` is the run's plan (already built by :func:`run`); the first ``trajectories`` members
    keep their daily paths: a bounded sample.
    """
    from .ensemble import SerialExecutor
    from .results import StreamingSummary

    sc = pl.scenario
    ex: Any = SerialExecutor(chunk_members=4096)
    if dask is not None:
        from .parallel import DaskExecutor
        ex = DaskExecutor(None if dask == "local" else dask, n_workers=workers)
    acc = StreamingSummary(pl)
    try:
        with _progress() as bar:
            task = bar.add_task(f"{escape(sc.name)} (streamed)", total=sc.members)
            for chunk in ex.map(pl, ex.split(sc.members)):
                acc.add(chunk)
                bar.update(task, completed=acc.members)
    finally:
        if dask is not None:
            ex.close()
    if not quiet:
        console.print(present.streamed_stockout_table(acc.stockouts(), sc, acc.members))

    def write(folder: Path) -> None:
        acc.save(folder, overwrite=overwrite)

    path = _publish(out, sc, overwrite, write)
    say("streamed summaries written to [bold]{}[/]", path)
    if cat is not None:
        run_id = cat.register(acc, path)
        say("registered as run [bold]{}[/] (streamed: summaries only) in {}", run_id, cat.path)
        _tidy(path, cat)


@app.command()
@guarded
def data(table: Optional[str] = typer.Argument(None, help="A table to show (default: list the tables)."),
         baseline: str = typer.Option("baseline-2024", help="Dataset name or folder."),
         check: Optional[Path] = typer.Option(None, "--check", metavar="FOLDER",
                                              help="Check a dataset folder of your own and run it without conflict."),
         template: Optional[Path] = typer.Option(None, "--template", metavar="FOLDER",
                                                 help="Write a small made-up chokepoint to FOLDER to start from.")) -> None:
    """Show the baseline dataset, table by table, with the source of every value."""
    from .network import SCHEMA, load_network

    if template is not None:
        from .dataset_check import write_template
        write_template(template)
        say("a made-up chokepoint written to {} (see its README.md); check it with: standoff data --check {}; "
            "run its example with: standoff run {}", template, template, template / "example-scenario.yaml")
        return
    if check is not None:
        from .dataset_check import check_dataset
        for line in check_dataset(check):
            console.print(line, markup=False, highlight=False)
        return
    net = load_network(baseline)
    if table is None:
        for t in present.dataset_tables(net, SCHEMA):
            console.print(t)
        return
    if table not in SCHEMA:
        raise StandoffError(f"unknown table; known: {', '.join(SCHEMA)}", value=table)
    from .network import DEFAULTED
    title = (f"{net.name}: {table} (the model-wide rows of defaults/{table}.csv and the dataset's own; see origin)"
             if table in DEFAULTED else f"{net.name}/{table}.csv")
    console.print(present.data_table(net.tables[table], title))


@app.command()
@guarded
def scenarios() -> None:
    """List the built-in scenarios."""
    from .scenario import builtin_scenarios, load_scenario

    console.print(present.scenarios_table([load_scenario(name) for name in builtin_scenarios()]))


@app.command()
@guarded
def check(scenario: str = typer.Argument(..., help="Built-in name or YAML file.")) -> None:
    """Validate a scenario file and print it resolved, without running it."""
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    console.print(sc.to_yaml(), highlight=False, markup=False)
    say("[green]ok[/]: {}, {} events, {} members, seed {}", sc.name, len(sc.events), sc.members, sc.seed)


@app.command()
@guarded
def validate(members: int = typer.Option(200, "--members", "-n", help="Members per back-test scenario."),
             decide: Optional[int] = typer.Option(None, "--decide", metavar="MAX", help="Run scenarios with undecided "
                                                  "rows again with twice the members, up to MAX, until each is decided."),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table as CSV.")) -> None:
    """Run every back-test (crisis-2010, truce-2018, london-2025) against history."""
    from .validation import KNOWN_FAILURES_NOTE, run_validation

    if members < 1:
        raise StandoffError("members must be at least 1", field="--members", value=members)
    if decide is not None and decide < members:
        raise StandoffError("must be at least --members", field="--decide", value=decide)
    with err_console.status("running back-tests ...") as status:
        df = run_validation(members, progress=lambda name: status.update(f"running {name} ..."), max_members=decide)
    console.print(present.validation_table(df, members))
    tests, fits = df[df["role"] != "calibration"], df[df["role"] == "calibration"]
    v = tests["verdict"]
    console.print(f"{int(tests['holds'].sum())} of {len(tests)} observations have their simulated median within tolerance; "
                  f"given Monte Carlo error, {int((v == 'yes').sum())} hold, {int((v == 'no').sum())} do not and "
                  f"{int(v.str.startswith('undecided').sum())} are undecided (more members, or --decide MAX, would "
                  f"settle them). {KNOWN_FAILURES_NOTE}")
    if len(fits):
        console.print(f"Not counted: {len(fits)} calibration target(s), rows a parameter was fitted on "
                      f"({int(fits['holds'].sum())} reproduced).")
    if out is not None:
        write_csv(df.drop(columns=["median_value"]), out)
        console.print(f"table written to {out}")


@app.command()
@guarded
def calibrate(fit_on: str = typer.Option(..., "--fit-on", help="Episode to fit on: truce-2018 or london-2025."),
              test_on: str = typer.Option(..., "--test-on", help="The other episode, to test on."),
              param: list[str] = typer.Option(["threshold=0.45,0.55,0.65", "repair_success=0.3,0.6,0.9"], "--param",
                                              help="NAME=V1,V2,... a negotiation parameter and the values to try "
                                                   "(repeatable)."),
              members: int = typer.Option(200, "--members", "-n", help="Members per run."),
              objective: str = typer.Option("likelihood", "--objective",
                                            help="likelihood: make the observed lifespan most likely (the "
                                                 "probability that the first truce ends within 15 days of the "
                                                 "day it did); median: the simulated median closest to it."),
              out: Optional[Path] = typer.Option(None, "--out", "-o",
                                                 help="Where to write the calibrated rows (negotiation.csv layout; "
                                                      "default runs/calibration-FIT_ON-TIME.csv).")) -> None:
    """Fit negotiation parameters on one truce episode and test them on the other (out of sample)."""
    from .calibrate import calibrate as do_calibrate
    from .calibrate import write_calibration

    if members < 1:
        raise StandoffError("members must be at least 1", field="--members", value=members)
    grid: dict[str, list[float]] = {}
    for item in param:
        name, _, values = item.partition("=")
        try:
            grid[name.strip()] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise StandoffError("expected NAME=V1,V2,... with numbers", field="--param", value=item) from None
        if not grid[name.strip()]:
            raise StandoffError("expected NAME=V1,V2,... with at least one value", field="--param", value=item)
    from .network import load_network
    known = list(load_network("baseline-2024").negotiation.index)
    for name in grid:
        if name not in known:
            raise StandoffError("unknown negotiation parameter; known: " + ", ".join(known), field="--param",
                                value=name)
    import datetime as dt

    from .runstore import probe_writable
    if out is None:  # beside the runs, not in the working directory (a clone stays clean)
        probe_writable(Path("runs"), "--out")
        out = Path("runs") / f"calibration-{fit_on}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}.csv"
    elif out.is_dir():
        raise StandoffError("is a folder; give a file name for the calibrated rows", field="--out", value=str(out))
    else:
        probe_writable(out.parent, "--out")
    with err_console.status("calibrating ...") as status:
        outcome = do_calibrate(fit_on, test_on, grid, members, progress=lambda msg: status.update(msg),
                               objective=objective)
    w = outcome["window_days"]
    console.print(present.df_table(outcome["grid"].round(3), f"Fit on {fit_on} ({objective}): median first-truce "
                                   f"lifespan (days) and the probability that it ends within {w:g} days of the "
                                   f"observed {outcome['fit_observed']:g}, at each point"))
    best = ", ".join(f"{k} = {v:g}" for k, v in outcome["best"].items())
    lo, hi = outcome["test_tolerance"]

    def pw(key: str) -> str:
        return f"{outcome[key]:.0%} ({outcome[key + '_lo']:.0%}-{outcome[key + '_hi']:.0%})"
    console.print(f"best on {fit_on}: {best} (median {outcome['fit_median']:.0f} days against "
                  f"{outcome['fit_observed']:g}; P(within {w:g} days) {pw('fit_p_window')})", markup=False)
    console.print(f"tested on {test_on}: median {outcome['test_median']:.0f} days against "
                  f"{outcome['test_observed']:g} observed (tolerance {lo:g}-{hi:g}): "
                  + ("holds" if outcome["test_holds"] else "does not hold")
                  + f"; P(within {w:g} days of the observed) {pw('test_p_window')} against "
                    f"{pw('default_p_window')} with the dataset's own values: "
                  + ("more likely out of sample" if outcome["test_p_window_lo"] > outcome["default_p_window_hi"]
                     else "less likely out of sample" if outcome["test_p_window_hi"] < outcome["default_p_window_lo"]
                     else "no better or worse out of sample within Monte Carlo error"), markup=False)
    write_calibration(out, outcome)
    console.print(f"calibrated rows written to {out} (source CALIBRATED). To use them, set the values in a "
                  f"scenario's negotiation: parameters: (each NAME: VALUE), or copy the rows into the "
                  f"negotiation.csv of your own dataset (standoff data new); the note on each row says on what "
                  f"it was fitted and whether the test episode held.", markup=False)


@app.command()
@guarded
def nowcast(scenario: str = typer.Argument(..., help="Built-in name or YAML file."),
            observed: Path = typer.Option(..., "--observed", metavar="FILE",
                                          help="Observations table (CSV: series, period, region, product, partner, "
                                               "sector, value, sd, source)."),
            members: Optional[int] = typer.Option(None, "--members", "-n", help="Prior ensemble members."),
            seed: Optional[int] = typer.Option(None, "--seed", "-s", help="Random seed."),
            negotiate: bool = typer.Option(False, "--negotiate", help="Simulate the talks."),
            out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default runs/NAME-TIME-sSEED)."),
            overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
            moves: int = typer.Option(1, "--moves", help="Resample-move steps after resampling (each simulates "
                                                         "the ensemble once more; 0: resampling only)."),
            quiet: bool = typer.Option(False, "--quiet", "-q", help="No forecast tables.")) -> None:
    """Condition a scenario's ensemble on what has been published and forecast from there.

    Every member is weighted by the likelihood of the observations and the ensemble is
    resampled (sequential importance resampling); prints the effective sample size, each
    observation's fit before and after, the inputs the data moved, and the forecast (the
    resampled ensemble's summary); writes the resampled ensemble as a run folder with
    nowcast/fit.csv, inputs_moved.csv, weights.csv and observations.csv."""
    import shutil

    from .api import simulate
    from .ensemble import check_memory, plan
    from .files import write_csv
    from .nowcast import condition, load_observations, rejuvenate
    from .scenario import load_scenario

    sc = with_options(load_scenario(scenario), members=members, seed=seed)
    if negotiate:
        sc = sc.negotiating()
    sc = sc.with_(trajectories=sc.members)  # every member's daily paths: the series are read from them
    obs = load_observations(observed, sc)
    pl = plan(sc)
    try:
        check_memory(pl)
    except StandoffError as exc:
        raise StandoffError(exc.message + " (a nowcast keeps every member's daily paths)", field="--members",
                            value=sc.members) from None
    _check_out(out, overwrite)
    _warm_up(pl)
    with _progress() as bar:
        task = bar.add_task(escape(sc.name), total=sc.members)
        res = simulate(sc, progress=lambda done, total: bar.update(task, completed=done))
    if moves < 0:
        raise StandoffError("must be 0 or more", field="--moves", value=moves)
    c0 = c = condition(res, obs)  # the weighted ensemble: its fit and the inputs moved are reported
    say("conditioned on {} observation(s): effective sample size {} of {} members ({} distinct after resampling)",
        len(obs), f"{c.ess:.0f}", sc.members, len(set(c.index.tolist())))
    ess = c.ess
    for k in range(moves):
        c = rejuvenate(c, seed_offset=k + 1)
        say("move {}: {} of members moved, {} distinct", k + 1, f"{c.acceptance:.0%}", c.distinct)
    if ess < 0.1 * sc.members:
        console.print("note: few members fit the observations; the forecast rests on them. Run more members "
                      "(--members) or check the observations' sd.", style="yellow")
    fit = c0.fit()
    moved = c0.inputs_moved()
    if not quiet:
        console.print(present.df_table(fit.drop(columns=["source"]).round(3), "Observations: the ensemble before "
                                          "(prior) and after (posterior), median and p10-p90"))
        console.print(present.df_table(moved.head(10).round(3), "Inputs the observations moved most "
                                          "(shift of the mean in prior sds)"))
        present.print_summary(c.posterior, console)

    def write(folder: Path) -> None:
        c.posterior.save(folder, overwrite=overwrite)
        try:
            (Path(folder) / "nowcast").mkdir()
            write_csv(fit, Path(folder) / "nowcast" / "fit.csv")
            write_csv(moved, Path(folder) / "nowcast" / "inputs_moved.csv")
            import pandas as pd
            write_csv(pd.DataFrame({"member": range(len(c0.weights)), "weight": c0.weights,
                                    "log_likelihood": c0.loglik}),
                      Path(folder) / "nowcast" / "weights.csv")
            shutil.copyfile(observed, Path(folder) / "nowcast" / "observations.csv")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # never a half-written nowcast
            raise

    path = _publish(out, sc, overwrite, write)
    say("forecast written to [bold]{}[/] (the resampled ensemble; nowcast/*.csv)", path)


@app.command()
@guarded
def rerun(run_ref: str = typer.Argument(..., metavar="RUN", help="Run folder or catalogue id.")) -> None:
    """Re-create a run from its folder and check the results are bit-identical (exit 1 if not)."""
    from .api import rerun as do_rerun
    from .catalogue import Catalogue

    folder = Path(run_ref) if Path(run_ref).exists() else Path(Catalogue().get(run_ref)["path"])
    with err_console.status("running the scenario again ..."):
        r = do_rerun(folder)
    if r["identical"]:
        say("[green]bit-identical[/]: {} re-run with seed {} and {} members gives the same results", r["scenario"],
            r["seed"], r["members"])
        return
    say("[red]differs[/]: {} arrays differ: {}", len(r["arrays_differ"]), ", ".join(r["arrays_differ"]))
    if r["changed_since"]:
        for k, (then, now) in r["changed_since"].items():
            say("  {} was {}, is {}", k, then, now)
    else:
        console.print("  same version, dataset and platform: please report this", style="yellow")
    raise typer.Exit(1)


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
    from .runstore import check_destination
    check_destination(folder, overwrite, "--out")  # before drawing: the refusal names the option
    with err_console.status("drawing charts ..."):
        page = write_report(res, folder, overwrite=overwrite)
    say("report written to [bold]{}[/] (charts in {})", page, page.parent / "charts")


@app.command()
@guarded
def compare(run_a: str = typer.Argument(..., help="Run folder or catalogue id (reference)."),
            run_b: str = typer.Argument(..., help="Run folder or catalogue id (policy)."),
            outcome: Optional[list[str]] = typer.Option(None, "--outcome", help="e.g. loss:REGION:SECTOR (repeatable; default: from the dataset's declaration).")) -> None:
    """Differences between two runs (B - A) with uncertainty, paired by common random numbers."""

    from .analysis import compare as do_compare
    from .catalogue import resolve_run

    a, b = resolve_run(run_a), resolve_run(run_b)
    df = do_compare(a, b, outcome or None)  # default: from the first run's dataset declaration
    console.print(present.df_table(df, f"B: {b.scenario.name} ({run_b}) minus A: {a.scenario.name} ({run_a})"))
    if df.attrs["paired"]:
        console.print("Paired by member (same seed and members: common random numbers); read paired_95ci.")
    elif df.attrs.get("resampled"):
        console.print("A run is a nowcast's resampled ensemble: no pairing, only the unpaired interval (at its "
                      "effective members) is valid.", style="yellow")
    else:
        console.print("Runs differ in seed or members: no pairing, only the unpaired interval is valid.", style="yellow")


@app.command()
@guarded
def sensitivity(scenario: str = typer.Argument(..., help="Built-in name or YAML file."),
                outcome: Optional[str] = typer.Option(None, "--outcome", help="Outcome to explain (default: the "
                                                      "US side's lead-sector loss, from the dataset's declaration)."),
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
    from .outcomes import Outcome, default_outcome
    net = sc.network()
    out = default_outcome(net) if outcome is None else Outcome.parse(outcome, net, field="--outcome")
    with err_console.status(f"running the {method} design ..."):
        df = do_sens(sc, out, method=method, n=n, inputs=inputs)
    console.print(present.df_table(df, f"{method} indices for {out} ({df.attrs['evaluations']} runs), most influential first"))
    _censoring_note(str(out), df.attrs.get("censored_share", 0.0))


@app.command()
@guarded
def discover(run_ref: str = typer.Argument(..., metavar="RUN", help="Run folder or catalogue id."),
             outcome: Optional[str] = typer.Option(None, "--outcome", help="Outcome (default: the US side's lead "
                                                   "sector running out, from the dataset's declaration)."),
             below: Optional[float] = typer.Option(None, "--below", help="Cases of interest: outcome <= this."),
             above: Optional[float] = typer.Option(None, "--above", help="Cases of interest: outcome >= this."),
             threshold: float = typer.Option(0.6, "--threshold", help="Density the box must reach.")) -> None:
    """Scenario discovery (PRIM): which ranges of the uncertain inputs lead to an outcome."""
    from .analysis import discover as do_discover
    from .catalogue import resolve_run

    from .outcomes import Outcome, default_event
    res = resolve_run(run_ref)
    net = res.scenario.network()
    out = default_event(net) if outcome is None else Outcome.parse(outcome, net, field="--outcome")
    _censoring_note(str(out), out.censored_share(res))
    box = do_discover(res, out, below=below, above=above, threshold=threshold)
    console.print(present.df_table(box.limits, f"PRIM box for {out} {'<= ' + str(below) if below is not None else '>= ' + str(above)}"))
    console.print(f"coverage {box.coverage:.0%} (of cases of interest inside), density {box.density:.0%} "
                  f"(of members inside that are cases), mass {box.mass:.0%}")


@app.command()
@guarded
def resilience(scenario: str = typer.Argument(..., help="Built-in name or YAML file."),
               lever: str = typer.Option("stockpile", "--lever", help="stockpile, capacity or substitution."),
               region: Optional[str] = typer.Option(None, "--region", help="Default: the US side's region."),
               sector: Optional[str] = typer.Option(None, "--sector", help="Default: the dataset's first-claim "
                                                    "sector, else its lead sector."),
               product: Optional[str] = typer.Option(None, "--product", help="Default: the dataset's key product."),
               within: int = typer.Option(365, "--within", help="Horizon of the stockout probability, days."),
               target: float = typer.Option(0.05, "--target", help="Largest acceptable stockout probability."),
               low: Optional[float] = typer.Option(None, "--low", help="Smallest value searched (default 0)."),
               high: Optional[float] = typer.Option(None, "--high", help="Largest value searched (default: 5000 t for "
                                                    "stockpile, 5000 t/yr for capacity, 1 for the substitution share)."),
               members: Optional[int] = typer.Option(None, "--members", "-n")) -> None:
    """Smallest stockpile, capacity or substitution share that brings P(stockout) below a target."""
    from .levers import LEVER_RANGES
    from .analysis import resilience as do_res
    from .scenario import load_scenario

    sc = with_options(load_scenario(scenario), members=members)
    if lever not in LEVER_RANGES:
        raise StandoffError(f"unknown lever; one of {', '.join(LEVER_RANGES)}", field="--lever", value=lever)
    net = sc.network()
    region = region or net.us_region
    sector = sector or net.first_claim_sector or net.lead_sector
    product = product or net.key_product
    for opt, value, known in (("--region", region, net.regions), ("--sector", sector, net.sectors),
                              ("--product", product, net.products)):
        if value not in known:
            raise StandoffError(f"unknown {opt[2:]}; known: {', '.join(known)}", field=opt, value=value)
    lo_bound, hi_bound, default_high = LEVER_RANGES[lever]
    low = lo_bound if low is None else low
    high = default_high if high is None else high
    for opt, value in (("--low", low), ("--high", high)):
        if not (math.isfinite(value) and lo_bound <= value <= hi_bound):
            raise StandoffError(f"the {lever} lever takes values in [{lo_bound:g}, {hi_bound:g}]", field=opt, value=value)
    if not low < high:
        raise StandoffError("--low must be below --high", field="--low", value=low)
    if not 0 <= target <= 1:
        raise StandoffError("target must be a probability", field="--target", value=target)
    if within < 1:
        raise StandoffError("must be at least one day", field="--within", value=within)
    with err_console.status("searching ..."):
        value, evals = do_res(sc, lever, region, sector, within, target, low, high, product=product)
    unit = evals.attrs["unit"]
    console.print(present.df_table(evals.rename(columns={"value": f"{lever} ({unit})", "p_lo": "95% MC low",
                                                         "p_hi": "95% MC high"}),
                                   f"P({region} {sector} stockout within {within} days) by {lever} in {region}, "
                                   f"{sc.members} members, common random numbers"))
    at = evals.set_index("value")
    if value is None:
        console.print(f"Even a {lever} of {high:,.4g} {unit} leaves the probability above {target:.0%}.", style="red")
    elif value == low:
        r = at.loc[low]
        say("Already within the target without more: P = {} ({}-{}) at {} {}, so the answer is the search's "
            "lower end, not a measure that was needed.", f"{r.p_stockout:.0%}", f"{r.p_lo:.0%}", f"{r.p_hi:.0%}",
            f"{low:,.4g}", unit)
    else:
        r = at.loc[value]
        say("Smallest {} meeting the target: [bold]{} {}[/] (P = {}, 95% MC interval {}-{}; bisection to within {}).",
            lever, f"{value:,.4g}", unit, f"{r.p_stockout:.0%}", f"{r.p_lo:.0%}", f"{r.p_hi:.0%}",
            f"{(high - low) / 64:,.3g}")
    if evals["rises"].any():
        console.print("The probability rises with the lever somewhere in the table beyond both intervals (marked "
                      "'rises'): the answer is the bracket this search found, and a finer search may find another.",
                      style="yellow")


@app.command()
@guarded
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
          port: int = typer.Option(8765, "--port"),
          workdir: Path = typer.Option(Path("runs/dashboard"), "--workdir", help="Where the page's run folders go."),
          catalogue_path: Optional[str] = typer.Option(None, "--catalogue", help="Run catalogue file (default: the "
                                                       "command line's, runs/catalogue.duckdb), so both list the same runs."),
          dataset: Optional[list[Path]] = typer.Option(None, "--dataset", help="A dataset folder that pasted scenarios may "
                                                       "name as baseline (repeatable); built-in datasets always may."),
          max_members: int = typer.Option(2000, "--max-members", help="Largest ensemble a page may ask for.")) -> None:
    """Start the local web dashboard (open the printed address in a browser)."""
    try:
        import uvicorn

        from .web.app import create_app
    except ImportError:
        raise StandoffError(f"the dashboard needs its extra: {install_hint('web')}") from None
    if not 1 <= port <= 65535:
        raise StandoffError("a port is a number from 1 to 65535", field="--port", value=port)
    for d in dataset or []:
        if not d.is_dir():
            raise StandoffError("not a folder", field="--dataset", value=str(d))
    cat = _catalogue(catalogue_path)
    app_ = create_app(workdir, max_members=max_members, catalogue=cat.path, datasets=dataset or ())
    say("standoff dashboard on [bold]http://{}:{}/[/] (Ctrl-C to stop); runs are registered in {}", host, port, cat.path)
    import socket
    try:  # uvicorn reports a taken port with a traceback: find out first, and say so
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise StandoffError(f"cannot listen there: {exc.strerror}", field="--port", value=f"{host}:{port}") from None
    uvicorn.run(app_, host=host, port=port, log_level="warning")


runs_app = typer.Typer(help="The run catalogue (DuckDB).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
@guarded
def runs_list(catalogue_path: Optional[str] = typer.Option(None, "--catalogue")) -> None:
    """List registered runs, newest first."""
    from .catalogue import Catalogue

    df = Catalogue(catalogue_path).list()
    cols = ["id", "created", "scenario", "seed", "members", "negotiate", "streamed", "p_stockout_lead",
            "median_loss_lead_bn", "path"]
    console.print(present.df_table(df[cols], f"runs in {Catalogue(catalogue_path).path}"))


@runs_app.command("show")
@guarded
def runs_show(run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
              catalogue_path: Optional[str] = typer.Option(None, "--catalogue")) -> None:
    """Show one run's record."""
    from .catalogue import Catalogue

    console.print(present.record_table(Catalogue(catalogue_path).get(run_id)))


@runs_app.command("prune")
@guarded
def runs_prune(keep: int = typer.Option(20, "--keep", help="How many of the newest runs to keep."),
               yes: bool = typer.Option(False, "--yes", help="Delete; without it, only list what would go."),
               catalogue_path: Optional[str] = typer.Option(None, "--catalogue")) -> None:
    """Remove old runs from disk and from the catalogue (the newest --keep stay).

    Only a folder that holds nothing but what standoff writes, and whose run.json names the run,
    is deleted; any other is kept and listed with the reason.  Without --yes nothing changes."""
    import shutil

    from .catalogue import Catalogue, prune_candidates
    if keep < 0:
        raise StandoffError("must be 0 or more", field="--keep", value=keep)
    cat = Catalogue(catalogue_path)
    plan_df = prune_candidates(cat, keep)
    if plan_df.empty:
        say("nothing to prune: {} runs or fewer in {}", keep, cat.path)
        return
    console.print(present.df_table(plan_df.assign(mib=plan_df["mib"].round(1)),
                                   f"runs beyond the newest {keep} in {cat.path}"))
    go = plan_df[plan_df["action"].isin(["delete", "forget"])]
    if not yes:
        say("would delete {} run folders ({} MiB) and forget {} runs; run again with --yes to do it",
            int((go["action"] == "delete").sum()), f"{go['mib'].sum():,.1f}", len(go))
        return
    for _, r in go.iterrows():
        if r["action"] == "delete":
            shutil.rmtree(r["path"])
        cat.remove(r["id"])
    say("deleted {} run folders ({} MiB) and forgot {} runs; kept {} that are not only standoff's",
        int((go["action"] == "delete").sum()), f"{go['mib'].sum():,.1f}", len(go), int((plan_df["action"] == "keep").sum()))


def main() -> None:  # pragma: no cover - console entry for `python -m standoff`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
