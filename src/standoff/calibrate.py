"""Calibration in the open: fit a few negotiation parameters on one episode, test them on another.

The two truce episodes the shared data describe are the Buenos Aires truce (1 December 2018,
160 days: ``truce-2018``) and the Geneva truce (12 May 2025, about 150 days to the October
controls: ``london-2025`` with the talks simulated).  :func:`calibrate` searches a grid of
values of the named negotiation parameters for the one under which the observed lifespan of
the episode it fits on is most likely (objective ``likelihood``: the simulated probability that
the first truce ends within ``window`` days of the day it did, so the whole distribution counts,
not one statistic of it), or whose simulated median is closest in log terms (``median``), then
runs the other episode with those values and with the dataset's own, and says whether its
back-test row holds and whether its observed lifespan became more likely, each with its Monte
Carlo interval.  Fitting on both at
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


#: Half-width (days) of the window around an observed lifespan whose simulated probability is the
#: likelihood objective: a month, centred on the day the truce ended (the shared sources date the
#: ends to the day, but a model of daily hazards should not be asked for the day).
WINDOW_DAYS = 15.0


def window_probability(life: np.ndarray, members: int, observed: float, window: float = WINDOW_DAYS) -> dict:
    """The probability that a member's first truce ends within ``window`` days of ``observed``
    (members that never reach a truce count as not), with its 95% interval (Wilson), and the
    smoothed log-likelihood ``log((k + 0.5) / (n + 1))`` that a grid search maximises (finite
    when no member lands in the window)."""
    from .mcerror import proportion_ci
    k = int(np.sum(np.abs(life - observed) <= window))
    lo, hi = proportion_ci(k, members)
    return {"p_window": k / members, "p_window_lo": lo, "p_window_hi": hi,
            "log_likelihood": math.log((k + 0.5) / (members + 1.0))}


def truce_median(scenario: str, params: dict[str, float], members: int, seed: int | None = None) -> tuple[float, dict]:
    """The median lifespan of the first truce (days, among members that reach one) of ``scenario``
    with the talks simulated and the negotiation parameters ``params``, and the back-test row;
    ``info`` also holds the lifespans (``lifespans``) and the members run (``members``)."""
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
        return float("nan"), {"members_with_truce": 0, "lifespans": life, "members": members}
    med = float(np.quantile(life, 0.5, method="inverted_cdf"))
    lo, hi = quantile_ci(life, 0.5)
    return med, {"members_with_truce": int(life.size), "median_lo": lo, "median_hi": hi, "lifespans": life,
                 "members": members}


def calibrate(fit_on: str, test_on: str, grid: dict[str, Sequence[float]], members: int = 200,
              progress: Callable[[str], None] | None = None, objective: str = "likelihood",
              window: float = WINDOW_DAYS) -> dict:
    """Fit ``grid``'s negotiation parameters on episode ``fit_on`` and test them on ``test_on``.

    ``objective`` is ``likelihood`` (maximise the probability that the fit episode's first truce
    ends within ``window`` days of the day it did) or ``median`` (the simulated median closest
    to the observed lifespan in log terms).  Returns a dict with the grid table, the best values,
    the fit episode's median and window probability at them, and the test episode's median,
    95% Monte Carlo interval and verdict (within its tolerance or not), and its window
    probability at the fitted values and at the dataset's own (``test_p_window`` and
    ``default_p_window``, each with ``_lo``/``_hi``): the out-of-sample test of the likelihood.
    """
    if objective not in ("likelihood", "median"):
        raise StandoffError("objective must be likelihood or median", field="--objective", value=objective)
    if fit_on not in EPISODES or test_on not in EPISODES:
        raise StandoffError("unknown episode; known: " + ", ".join(EPISODES), value=f"{fit_on} / {test_on}")
    if fit_on == test_on:
        raise StandoffError("fit and test on different episodes (fitting and testing on one is not a test)",
                            value=fit_on)
    fit, test = EPISODES[fit_on], EPISODES[test_on]

    seen: dict[tuple, tuple[float, dict]] = {}

    def run_fit(params: dict[str, float]) -> tuple[float, dict]:
        key = tuple(sorted(params.items()))
        if key not in seen:
            if progress:
                progress(f"{fit_on}: " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
            seen[key] = truce_median(fit.scenario, params, members)
        return seen[key]

    if objective == "median":
        result = grid_search(lambda p: run_fit(p)[0], grid, fit.observed_days)
    else:
        # grid_search minimises |log(value / target)|: the window probability against a target of
        # 1 is the likelihood, most likely first (a point no member lands near scores by its
        # smoothed probability, so it is never preferred to one that some member does).
        result = grid_search(lambda p: math.exp(window_probability(run_fit(p)[1].get("lifespans", np.zeros(0)),
                                                                   members, fit.observed_days, window)
                                                ["log_likelihood"]), grid, 1.0)
    rows = []
    for _, row in result.table.iterrows():
        params = {k: row[k] for k in grid}
        med_k, info_k = run_fit(params)
        rows.append({**params, "median_days": med_k,
                     **window_probability(info_k.get("lifespans", np.zeros(0)), members, fit.observed_days, window)})
    table = pd.DataFrame(rows)
    fit_med, fit_info = run_fit(result.best)
    fit_p = window_probability(fit_info.get("lifespans", np.zeros(0)), members, fit.observed_days, window)
    if progress:
        progress(f"{test_on}: testing " + ", ".join(f"{k}={v:g}" for k, v in result.best.items()))
    med, info = truce_median(test.scenario, result.best, members)
    test_p = window_probability(info.pop("lifespans"), members, test.observed_days, window)
    d_med, d_info = truce_median(test.scenario, {}, members)  # the dataset's own values
    default_p = window_probability(d_info.pop("lifespans"), members, test.observed_days, window)
    holds = bool(np.isfinite(med) and test.low <= med <= test.high)
    info.pop("members", None)
    return {"fit_on": fit_on, "test_on": test_on, "objective": objective, "window_days": window, "grid": table,
            "best": result.best, "fit_median": fit_med, "fit_observed": fit.observed_days,
            "fit_p_window": fit_p["p_window"], "fit_p_window_lo": fit_p["p_window_lo"],
            "fit_p_window_hi": fit_p["p_window_hi"],
            "test_median": med, "test_observed": test.observed_days, "test_tolerance": (test.low, test.high),
            "test_holds": holds, **{f"test_{k}": v for k, v in info.items()},
            "test_p_window": test_p["p_window"], "test_p_window_lo": test_p["p_window_lo"],
            "test_p_window_hi": test_p["p_window_hi"], "default_median": d_med,
            "default_p_window": default_p["p_window"], "default_p_window_lo": default_p["p_window_lo"],
            "default_p_window_hi": default_p["p_window_hi"]}


def write_calibration(path: str | Path, outcome: dict, units: dict[str, str] | None = None) -> Path:
    """Write the calibrated values as rows of a ``negotiation.csv``: each says "calibrated", on which
    observation, and on which episode it was tested (and whether that held)."""
    path = Path(path)
    fit, test = EPISODES[outcome["fit_on"]], EPISODES[outcome["test_on"]]
    note = (f"calibrated on {fit.observation} ({fit.scenario}: observed {fit.observed_days:g} days, simulated "
            f"median {outcome['fit_median']:.0f}); tested on {test.observation} ({test.scenario}: observed "
            f"{test.observed_days:g}, simulated median {outcome['test_median']:.0f}, "
            f"{'holds' if outcome['test_holds'] else 'does not hold'})")
    if "test_p_window" in outcome:
        note += (f"; objective {outcome.get('objective', 'likelihood')}: P(first truce ends within "
                 f"{outcome.get('window_days', WINDOW_DAYS):g} days of the observed) {outcome['fit_p_window']:.0%} "
                 f"on the fit episode, {outcome['test_p_window']:.0%} on the test episode against "
                 f"{outcome['default_p_window']:.0%} with the dataset's values")
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "value", "low", "high", "unit", "source", "note"])
        for name, value in outcome["best"].items():
            w.writerow([name, value, value, value, (units or {}).get(name, "-"), "CALIBRATED", note])
    tmp.replace(path)
    return path
