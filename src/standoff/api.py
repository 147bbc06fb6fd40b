"""The library's front door: :func:`simulate`."""
from __future__ import annotations

from pathlib import Path

from .ensemble import ProgressFn, SerialExecutor, check_memory, plan
from .results import Results, assemble
from .scenario import Scenario, load_scenario


def simulate(scenario: Scenario | str | Path, *, members: int | None = None, seed: int | None = None,
             executor: object | None = None, progress: ProgressFn | None = None,
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
        Called as ``progress(done_members, total_members)`` as chunks finish.

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
    ex = executor or SerialExecutor()
    ranges = ex.split(sc.members)  # type: ignore[attr-defined]
    parts = []
    done = 0
    for chunk in ex.map(pl, ranges):  # type: ignore[attr-defined]
        parts.append(chunk)
        done += chunk.n
        if progress is not None:
            progress(done, sc.members)
    return Results(assemble(pl, parts), sc)
