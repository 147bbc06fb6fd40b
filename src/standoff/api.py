"""The library's front door: :func:`simulate`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .ensemble import ProgressFn, SerialExecutor, check_memory, plan
from .results import Results, assemble
from .scenario import Scenario, load_scenario


def simulate(scenario: Scenario | str | Path, *, members: int | None = None, seed: int | None = None,
             executor: object | None = None, progress: ProgressFn | bool | None = None,
             save_state: "int | str | dt.date | None" = None, resume: "SavedState | str | Path | None" = None,
             _u_override: dict | None = None) -> Results:
    """Run an ensemble of a scenario.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a built-in scenario name (``"london-2025"``) or a YAML path.
    members, seed
        Override the scenario's ensemble size and seed.
    executor
        Where to run: a :class:`~standoff.ensemble.SerialExecutor` (default) or a
        :class:`~standoff.parallel.DaskExecutor`.  Results are identical either way.
    progress
        ``True`` shows a progress bar (in a terminal or a Jupyter notebook); or a callable,
        called as ``progress(done_members, total_members)`` as chunks finish.
    save_state
        A day of the horizon (a date, ``"2025-10-01"``, or a day number): also keep every
        member's state at the start of that day, as ``Results.state``
        (:class:`~standoff.state.SavedState`; ``.save(path)`` writes it).  The run itself is
        unchanged.
    resume
        A saved state (or the path of one): start from it at its day instead of from day 0.  The
        scenario must be the saving run's world before that day (dataset, seed, members, horizon,
        drawn inputs and events before it are checked); events from that day on may differ
        (branching).  The result is bit for bit the uninterrupted run of this scenario.  Both
        run in this process (not on Dask).

    Returns
    -------
    Results
        ``.ds`` is an xarray Dataset; ``.stockouts()``, ``.losses()`` and friends are tables.

    Examples
    --------
    >>> res = simulate("baseline", members=8)
    >>> float(res.ds["output_loss_usd_bn"].max())
    0.0
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    changes = {}
    if members is not None:
        changes["members"] = members
    if seed is not None:
        changes["seed"] = seed
    if changes:
        sc = sc.with_(**changes)
    pl = plan(sc)
    check_memory(pl)  # refuse, naming the memory needed, rather than die of it
    if _u_override is not None:  # designed experiments (standoff.analysis.sensitivity)
        pl.u_override = _u_override
    if save_state is not None or resume is not None:
        return _simulate_with_state(pl, sc, save_state, resume, executor, progress)
    ex = executor or SerialExecutor()
    ranges = ex.split(sc.members)  # type: ignore[attr-defined]
    parts = []
    done = 0
    bar = None
    if progress is True:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        bar = Progress(TextColumn(sc.name.replace("[", r"\[")), BarColumn(), MofNCompleteColumn(), TextColumn("members"),
                       TimeRemainingColumn())
        task = bar.add_task("members", total=sc.members)
        bar.start()
        progress = lambda d, total: bar.update(task, completed=d)  # noqa: E731
    try:
        for chunk in ex.map(pl, ranges):  # type: ignore[attr-defined]
            parts.append(chunk)
            done += chunk.n
            if callable(progress):
                progress(done, sc.members)
    finally:
        if bar is not None:
            bar.stop()
    return Results(assemble(pl, parts), sc)


def _simulate_with_state(pl: Any, sc: Scenario, save_state: Any, resume: Any, executor: object | None,
                         progress: Any) -> Results:
    """:func:`simulate` saving a state at a day and/or resuming from one (in this process)."""
    import datetime as dt

    from .ensemble import run_chunk
    from .errors import StandoffError
    from .state import SavedState, load_state
    if executor is not None and not isinstance(executor, SerialExecutor):
        raise StandoffError("saving or resuming a state runs in this process, not on Dask", field="executor")
    day = None
    if save_state is not None:
        if isinstance(save_state, (str, dt.date)) and not isinstance(save_state, bool):
            try:
                when = dt.date.fromisoformat(save_state) if isinstance(save_state, str) else save_state
            except ValueError:
                raise StandoffError("not a date (YYYY-MM-DD)", field="save_state", value=save_state) from None
            day = sc.day_of(when)
        else:
            day = int(save_state)
        if not 0 < day < sc.horizon_days:
            raise StandoffError(f"the day to save the state must fall inside the horizon, after its first day "
                                f"({sc.start} to {sc.end})", field="save_state", value=str(save_state))
    state = resume if isinstance(resume, SavedState) or resume is None else load_state(resume)
    if state is not None and state.members != sc.members:
        raise StandoffError(f"the saved state has {state.members} members; resume with as many", field="members",
                            value=sc.members)
    parts = []
    blocks: dict = {}
    digests: dict = {}
    for s, n in SerialExecutor().split(sc.members):
        chunk = run_chunk(pl, s, n, save_day=day, resume=state)
        parts.append(chunk)
        blocks.update(chunk.states or {})
        digests.update(chunk.digests or {})
        if callable(progress):
            progress(s + n, sc.members)
    res = Results(assemble(pl, parts), sc)
    res.state = SavedState(day, str(sc.start + dt.timedelta(days=day)), sc.name, sc.members, blocks, digests) \
        if day is not None else None
    return res


def rerun(folder: str | Path) -> dict:
    """Re-create a saved run from its folder and check that the results are bit-identical.

    The run is simulated again from its resolved ``scenario.yaml`` (seed and members included)
    and its results digested as :meth:`Results.save` digested them.  Returns ``identical``,
    the arrays that differ (compared with the saved ``results.nc``) and, where they differ,
    what else changed since the run: package version, dataset, platform.

    Raises
    ------
    StandoffError
        If the folder is not a complete run folder, is a streamed run, or records no digest
        (saved by a version before replays were recorded).
    """
    import numpy as np

    from .errors import StandoffError
    from .results import platform_info, results_digest
    from .runstore import read_run_json

    folder = Path(folder)
    old = Results.load(folder)  # refuses files whose SHA-256 differs from what run.json records
    if old.ds.attrs.get("conditioned_on"):
        raise StandoffError("this folder holds a nowcast's resampled ensemble, not a run: it cannot be replayed "
                            "(run `standoff nowcast` again with its scenario.yaml and nowcast/observations.csv)",
                            file=str(folder))
    meta = read_run_json(folder) or {}
    if "results_digest" not in meta:
        raise StandoffError("this run records no results digest (saved by an older standoff); it cannot be replayed "
                            "and checked", file=str(folder / "run.json"))
    if results_digest(old.ds) != meta["results_digest"]:
        # run.json alone is not evidence: the stored results must be the ones it describes.
        raise StandoffError("results.nc does not hold the results run.json records (their digests differ): the file "
                            "was changed after the run, so there is nothing trustworthy to compare against; run the "
                            "scenario again", file=str(folder / "results.nc"))
    new = simulate(old.scenario)
    new.ds = new.ds[[v for v in new.ds.data_vars if v in old.ds]]  # what the run saved (Results.save)
    now = {"standoff_version": str(new.ds.attrs.get("standoff_version")),
           "dataset_digest": str(new.ds.attrs.get("dataset_digest")), "platform": platform_info()}
    then = {"standoff_version": str(meta.get("standoff_version")), "dataset_digest": str(meta.get("dataset_digest")),
            "platform": meta.get("platform", {})}
    changed = {k: (then[k], now[k]) for k in now if then[k] != now[k]}
    digest = results_digest(new.ds)
    differs = []
    if digest != meta["results_digest"]:
        for name in sorted(set(old.ds.data_vars) | set(new.ds.data_vars)):
            if name not in old.ds or name not in new.ds:
                differs.append(name)
            elif not np.array_equal(old.ds[name].values, new.ds[name].values, equal_nan=True):
                differs.append(name)
        if not differs:
            differs = ["(the digest differs but every array compares equal: a change of dtype or layout)"]
    return {"identical": digest == meta["results_digest"], "arrays_differ": differs, "changed_since": changed,
            "members": old.scenario.members, "seed": old.scenario.seed, "scenario": old.scenario.name}


def precision_estimate(res: Results, target: str) -> tuple[str, float, float]:
    """A precision target's estimate and the half-width of its 95% Monte Carlo interval.

    ``target`` is an outcome spec: a time-to-event outcome (``stockout:USA:autos``,
    ``concede:CN``, optionally ``@DAYS`` for "within DAYS days", default the horizon) is a
    probability with its Wilson interval; any other outcome (``loss:USA:autos``, ``pain:US``,
    ``price:EU:MAGNET``) is a median with its order-statistic interval.  Returns a label, the
    estimate and the half-width (the larger side of an asymmetric interval).
    """
    import numpy as np

    from .mcerror import proportion_ci, quantile_ci
    from .outcomes import Outcome

    o = Outcome.parse(target, field="--precision")
    if o.time_to_event:
        days = float(o.within) if o.within is not None else float(res.scenario.horizon_days)
        hit = o.event_days(res) < days
        k, n = int(hit.sum()), hit.size
        lo, hi = proportion_ci(k, n)
        p = k / n
        return f"P({o.base} within {days:.0f} days)", p, max(p - lo, hi - p)
    x = o.values(res)
    med = float(np.quantile(x, 0.5, method="inverted_cdf"))
    lo, hi = quantile_ci(x, 0.5)
    return f"median {o.base}", med, max(med - lo, hi - med)


def simulate_until(scenario: Scenario, targets: dict[str, float], max_members: int, *,
                   executor: object | None = None, progress: ProgressFn | None = None) -> tuple[Results, list[dict]]:
    """Run members in growing chunks until every target's interval is as narrow as asked.

    Starts with ``scenario.members`` and doubles (up to ``max_members``) while any target's
    95% half-width exceeds the width asked (:func:`precision_estimate`).  Each member's numbers
    depend only on the seed and its index, so the result is the same as a plain run of the
    final member count (and chunk boundaries change nothing).

    Returns the results and, per target, the estimate, half-width asked and reached, and
    whether it was met.
    """
    from .errors import StandoffError
    from .outcomes import Outcome

    net = scenario.network()
    for t, w in targets.items():
        Outcome.parse(t, net, field="--precision")
        if not w > 0:
            raise StandoffError("the half-width asked must be positive", field="--precision", value=f"{t}={w}")
    n0 = scenario.members
    if max_members < n0:
        raise StandoffError(f"must be at least the starting members ({n0})", field="--max-members", value=max_members)
    sc = scenario.with_(trajectories=min(scenario.trajectories, n0))
    pl_cap = plan(sc.with_(members=max_members))
    ex = executor or SerialExecutor()
    parts: list = []
    done = 0
    goal = n0
    while True:
        for chunk in ex.map(pl_cap, [(s + done, n) for s, n in ex.split(goal - done)]):  # type: ignore[attr-defined]
            parts.append(chunk)
            if progress is not None:
                progress(done + sum(c.n for c in parts if c.start >= done), max_members)
        done = goal
        res = Results(assemble(plan(sc.with_(members=done)), parts), sc.with_(members=done))
        report = []
        for t, w in targets.items():
            label, est, half = precision_estimate(res, t)
            report.append({"target": t, "label": label, "estimate": est, "half_width": half, "asked": w,
                           "met": half <= w, "members": done})
        if all(r["met"] for r in report) or done >= max_members:
            return res, report
        goal = min(2 * done, max_members)
