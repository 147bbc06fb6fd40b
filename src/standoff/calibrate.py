"""Calibration in the open: fit a few negotiation parameters on one episode, test them on another.

The two truce episodes the shared data describe are the Buenos Aires truce (1 December 2018,
160 days: ``truce-2018``) and the Geneva truce (12 May 2025, about 150 days to the October
controls: ``london-2025`` with the talks simulated).  :func:`calibrate` searches a grid of
values of the named negotiation parameters for the one whose simulated median truce lifespan
is closest (in log terms) to the observed lifespan of the episode it fits on, then runs the
other episode with those values and says whether its back-test row holds.  Fitting on both at
once and calling it validated is exactly what this is built to avoid: the test episode takes no
part in the fit.  :func:`write_calibration` writes the result as a table in the layout of a
dataset's ``negotiation.csv`` whose source says "calibrated" and on what.

The search itself (:func:`grid_search`) is generic and tested on a toy game with a known answer.
"""
from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .errors import StandoffError


@dataclass(frozen=True)
class Episode:
    """A truce episode: the scenario that replays it and the observed lifespan of its first truce."""

    scenario: str
    observation: str          # the row of standoff.validation.OBSERVATIONS it is judged on
    observed_days: float
    low: float
    high: float


#: The two truce episodes (observed lifespans and tolerances as in ``standoff.validation``).
EPISODES = {
    "truce-2018": Episode("truce-2018", "Buenos Aires truce lifespan", 160.0, 80.0, 320.0),
    "london-2025": Episode("london-2025", "Geneva truce lifespan (talks simulated)", 150.0, 75.0, 300.0),
}


@dataclass
class GridResult:
    """The grid searched, each point's simulated statistic and distance, and the best point."""

    table: pd.DataFrame
    best: dict[str, float]
    best_value: float
    target: float
    extra: dict = field(default_factory=dict)


def grid_search(evaluate: Callable[[dict[str, float]], float], grid: dict[str, Sequence[float]],
                target: float) -> GridResult:
    """Evaluate every combination of ``grid`` and pick the one whose value is closest to ``target``.

    Parameters
    ----------
    evaluate
        Maps a parameter dict to the simulated statistic (here: a median truce lifespan, days).
        ``nan`` (no truce in any member) counts as infinitely far.
    grid
        Values to try per parameter name; all combinations are evaluated, in order.
    target
        The observed value.  Distance is ``|log(value / target)|``, so being twice too long is
        as bad as half as long; ties go to the first combination in grid order.

    Examples
    --------
    >>> r = grid_search(lambda p: 100 * p["a"] + p["b"], {"a": [0.5, 1.0, 1.5], "b": [0, 20]}, 120.0)
    >>> r.best
    {'a': 1.0, 'b': 20}
    """
    if target <= 0:
        raise StandoffError("the observed value to calibrate on must be positive", value=target)
    names = list(grid)
    points = [dict(zip(names, combo)) for combo in itertools.product(*(list(grid[n]) for n in names))]
    rows = []
    for params in points:
        v = float(evaluate(params))
        dist = abs(math.log(v / target)) if np.isfinite(v) and v > 0 else math.inf
        rows.append({**params, "simulated": v, "distance": dist})
    table = pd.DataFrame(rows)
    i = int(np.argmin(table["distance"].to_numpy()))
    return GridResult(table, points[i], float(table.iloc[i]["simulated"]), target)


def truce_median(scenario: str, params: dict[str, float], members: int, seed: int | None = None) -> tuple[float, dict]:
    """The median lifespan of the first truce (days, among members that reach one) of ``scenario``
    with the talks simulated and the negotiation parameters ``params``, and the back-test row."""
    from .api import simulate
    from .mcerror import quantile_ci
    from .scenario import load_scenario
    from .validation import _truce_lifespan

    sc = load_scenario(scenario).negotiating()
    neg = sc.negotiation.model_dump()
    neg["parameters"] = {**neg.get("parameters", {}), **{k: float(v) for k, v in params.items()}}
    sc = sc.with_(members=members, trajectories=0, negotiation=neg, **({"seed": seed} if seed is not None else {}))
    res = simulate(sc)
    life = _truce_lifespan(res)
    life = life[np.isfinite(life)]
    if not life.size:
        return float("nan"), {"members_with_truce": 0}
    med = float(np.quantile(life, 0.5, method="inverted_cdf"))
    lo, hi = quantile_ci(life, 0.5)
    return med, {"members_with_truce": int(life.size), "median_lo": lo, "median_hi": hi}


def calibrate(fit_on: str, test_on: str, grid: dict[str, Sequence[float]], members: int = 200,
              progress: Callable[[str], None] | None = None) -> dict:
    """Fit ``grid``'s negotiation parameters on episode ``fit_on`` and test them on ``test_on``.

    Returns a dict with the grid table, the best values, the fit episode's median at them, and
    the test episode's median, 95% Monte Carlo interval and verdict (within its tolerance or not).
    """
    if fit_on not in EPISODES or test_on not in EPISODES:
        raise StandoffError("unknown episode; known: " + ", ".join(EPISODES), value=f"{fit_on} / {test_on}")
    if fit_on == test_on:
        raise StandoffError("fit and test on different episodes (fitting and testing on one is not a test)",
                            value=fit_on)
    fit, test = EPISODES[fit_on], EPISODES[test_on]

    def evaluate(params: dict[str, float]) -> float:
        if progress:
            progress(f"{fit_on}: " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
        return truce_median(fit.scenario, params, members)[0]

    result = grid_search(evaluate, grid, fit.observed_days)
    if progress:
        progress(f"{test_on}: testing " + ", ".join(f"{k}={v:g}" for k, v in result.best.items()))
    med, info = truce_median(test.scenario, result.best, members)
    holds = bool(np.isfinite(med) and test.low <= med <= test.high)
    return {"fit_on": fit_on, "test_on": test_on, "grid": result.table, "best": result.best,
            "fit_median": result.best_value, "fit_observed": fit.observed_days, "test_median": med,
            "test_observed": test.observed_days, "test_tolerance": (test.low, test.high), "test_holds": holds,
            **{f"test_{k}": v for k, v in info.items()}}


def write_calibration(path: str | Path, outcome: dict, units: dict[str, str] | None = None) -> Path:
    """Write the calibrated values as rows of a ``negotiation.csv``: each says "calibrated", on which
    observation, and on which episode it was tested (and whether that held)."""
    path = Path(path)
    fit, test = EPISODES[outcome["fit_on"]], EPISODES[outcome["test_on"]]
    note = (f"calibrated on {fit.observation} ({fit.scenario}: observed {fit.observed_days:g} days, simulated "
            f"median {outcome['fit_median']:.0f}); tested on {test.observation} ({test.scenario}: observed "
            f"{test.observed_days:g}, simulated median {outcome['test_median']:.0f}, "
            f"{'holds' if outcome['test_holds'] else 'does not hold'})")
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "value", "low", "high", "unit", "source", "note"])
        for name, value in outcome["best"].items():
            w.writerow([name, value, value, value, (units or {}).get(name, "-"), "CALIBRATED", note])
    tmp.replace(path)
    return path
