"""Analyses over ensembles: paired comparisons, sensitivity (SALib), scenario discovery (PRIM,
from EMA Workbench) and the search for the smallest resilience measure that meets a target.

Outcomes are named by short specs: ``loss:USA:autos`` (US$ bn), ``stockout:USA:defense`` (first
stockout day, the horizon if none), ``pain:US`` (US$ bn), ``price:EU:MAGNET`` (peak multiple),
``concede:CN`` (first day a side's pressure passes its resolve, the horizon if never: who blinks).
Within one run every member shares the horizon, so a time-to-event outcome with "never" at the
horizon is the restricted time to the event; across runs, :func:`compare` restricts both to the
shorter horizon and reports the probability of the event beside it (see :mod:`standoff.mcerror`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .errors import StandoffError, install_hint
from .mcerror import mean_se, proportion_ci, restricted
from .outcomes import Outcome, default_event, default_outcome, default_outcomes
from .levers import LEVER_RANGES, LEVER_UNITS, LEVERS, apply_lever  # noqa: F401 - the resilience levers live there
from .results import Results
from .scenario import Scenario

def _difference_row(name: str, xa: np.ndarray, xb: np.ndarray, paired: bool, deff_a: float = 1.0,
                    deff_b: float = 1.0) -> dict:
    n = min(len(xa), len(xb))
    row = {"outcome": name, "mean_a": float(xa.mean()), "mean_b": float(xb.mean()),
           "difference": float(xb.mean() - xa.mean()), "note": ""}
    # A resampled (nowcast) run's members repeat: each mean's variance is that of its effective
    # members (design effect, Results.deff), not of its count.
    se_unpaired = float(np.sqrt(xa.var(ddof=1) * deff_a / len(xa) + xb.var(ddof=1) * deff_b / len(xb))) \
        if n > 1 else np.nan
    row["unpaired_95ci"] = f"±{1.96 * se_unpaired:.3g}"
    if paired:
        d = xb[:n] - xa[:n]
        row["paired_95ci"] = f"±{1.96 * mean_se(d):.3g}"
        row["member_p10"], row["member_p90"] = (float(v) for v in np.quantile(d, [0.1, 0.9]))
        row["share_of_members_b_higher"] = float(np.mean(d > 0))
    return row


def compare(a: Results, b: Results, outcomes: Sequence[str | Outcome] | None = None) -> pd.DataFrame:
    """Differences ``b - a`` with uncertainty.  When both runs share seed and members, members
    are paired (common random numbers) and the paired interval is the one to read; the
    unpaired interval shows how much sampling noise the pairing removes.

    A time-to-event outcome (``stockout:..``, ``concede:..``) is censored at each run's horizon,
    so it gives two rows, both on the shorter of the two horizons ``tau``: the probability of
    the event within ``tau`` days, and the restricted mean time to it (``min(day, tau)``, never
    = ``tau``).  Two members in which nothing happened differ by zero, whatever the horizons;
    ``censored_a``/``censored_b`` say how many members saw no event, and ``note`` warns when
    most did (then the restricted mean says more about the horizon than about the event).
    Without ``outcomes``, those of :func:`standoff.outcomes.default_outcomes` for the first
    run's dataset (from its declaration).

    A nowcast's resampled run is never paired (its members are copies of drawn members, in no
    common order), and its mean's interval counts its effective members (:attr:`Results.deff`).
    """
    net = a.scenario.network()
    chosen = default_outcomes(net) if outcomes is None else [Outcome.parse(o, net) for o in outcomes]
    for o in chosen:
        o.check(b.scenario.network())
    # Members pair (common random numbers) when both runs drew them from the same seed, unless one
    # was resampled by a nowcast: its member k is a copy of some drawn member, not member k.
    resampled = "effective_members" in a.ds.attrs or "effective_members" in b.ds.attrs
    paired = a.scenario.seed == b.scenario.seed and a.scenario.members == b.scenario.members and not resampled
    deff_a, deff_b = a.deff, b.deff
    rows = []
    for o in chosen:
        spec = o.base
        if o.time_to_event:
            tau = float(min(a.scenario.horizon_days, b.scenario.horizon_days))
            da, db = o.event_days(a), o.event_days(b)
            ea, eb = (da < tau).astype(float), (db < tau).astype(float)
            ca, cb = float(1 - ea.mean()), float(1 - eb.mean())
            note = ""
            if ca > 0.5 or cb > 0.5:
                note = (f"most members censored (no event within {tau:.0f} days: A {ca:.0%}, B {cb:.0%}); "
                        "read the probability row")
            for name, xa, xb in ((f"{spec} P(within {tau:.0f} days)", ea, eb),
                                 (f"{spec} restricted mean days (to day {tau:.0f})", restricted(da, tau),
                                  restricted(db, tau))):
                row = _difference_row(name, xa, xb, paired, deff_a, deff_b)
                row.update({"censored_a": ca, "censored_b": cb, "note": note})
                rows.append(row)
            continue
        rows.append(_difference_row(spec, o.values(a), o.values(b), paired, deff_a, deff_b))
    df = pd.DataFrame(rows)
    df.attrs["paired"] = paired
    df.attrs["resampled"] = resampled
    return df


# ---------------------------------------------------------------- sensitivity (SALib)

def rank_inputs(model: Callable[[np.ndarray], np.ndarray], names: list[str], method: str = "sobol",
                n: int = 256, seed: int = 0) -> pd.DataFrame:
    """Global sensitivity of ``model`` (rows of quantiles in [0, 1] -> outputs) with SALib.

    ``sobol``: first-order and total indices with bootstrap confidence intervals (Saltelli design).
    ``morris``: elementary effects, mu* with its confidence interval and sigma.  Ranked, most
    influential first.
    """
    try:
        from SALib.analyze import morris as morris_analyze
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:  # pragma: no cover
        raise StandoffError(f"sensitivity needs SALib: {install_hint('analysis')}") from None
    if not names:
        raise StandoffError("the scenario has no uncertain inputs to analyse")
    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    eps = 1e-6
    if method == "sobol":
        X = np.clip(sobol_sample.sample(problem, n, calc_second_order=False, seed=seed), eps, 1 - eps)
        Y = np.asarray(model(X), dtype=float)
        Si = sobol_analyze.analyze(problem, Y, calc_second_order=False, seed=seed)
        df = pd.DataFrame({"input": names, "S1": Si["S1"], "S1_conf": Si["S1_conf"], "ST": Si["ST"],
                           "ST_conf": Si["ST_conf"]}).sort_values("ST", ascending=False)
    elif method == "morris":
        X = np.clip(morris_sample.sample(problem, n, num_levels=4, seed=seed), eps, 1 - eps)
        Y = np.asarray(model(X), dtype=float)
        Si = morris_analyze.analyze(problem, X, Y, num_levels=4, seed=seed)
        df = pd.DataFrame({"input": names, "mu_star": Si["mu_star"], "mu_star_conf": Si["mu_star_conf"],
                           "sigma": Si["sigma"]}).sort_values("mu_star", ascending=False)
    else:
        raise StandoffError("method must be sobol or morris", field="--method", value=method)
    df.attrs["evaluations"] = len(X)
    return df.reset_index(drop=True)


def sensitivity(sc: Scenario, outcome: str | Outcome | None = None, method: str = "sobol", n: int = 64,
                inputs: Sequence[str] | None = None, executor: object | None = None) -> pd.DataFrame:
    """Sobol or Morris indices of a scenario's uncertain inputs for one outcome.

    Each design row is one ensemble member whose inputs are set at the design's quantiles;
    inputs outside the design are held at their medians.
    """
    from .api import simulate
    from .ensemble import plan

    pl0 = plan(sc)
    out = default_outcome(pl0.net) if outcome is None else Outcome.parse(outcome, pl0.net)
    keys = [u.key for u in pl0.uncertain_inputs()]
    chosen = list(inputs) if inputs else keys
    for k in chosen:
        if k not in keys:
            raise StandoffError("not an uncertain input of this scenario; see `standoff sensitivity --list`",
                                field="--input", value=k)

    # The design's size is known before anything runs: refuse one that cannot fit in memory.
    runs = n * (len(chosen) + (2 if method == "sobol" else 1))
    from .ensemble import check_memory
    try:
        check_memory(plan(sc.with_(members=runs, trajectories=0)))
    except StandoffError as exc:
        raise StandoffError(f"the {method} design of n={n} is {runs:,} runs; " + exc.message.split("; use")[0] +
                            "; use a smaller --n or fewer --input", field="--n", value=n) from None

    def model(X: np.ndarray) -> np.ndarray:
        m = len(X)
        override = {k: np.full(m, 0.5) for k in keys}
        for j, k in enumerate(chosen):
            override[k] = X[:, j]
        sc2 = sc.with_(members=m, trajectories=0)
        res = simulate(sc2, executor=executor, _u_override=override)
        censored.append(out.censored_share(res))
        return out.values(res)

    censored: list[float] = []
    df = rank_inputs(model, chosen, method=method, n=n, seed=sc.seed)
    # A time-to-event outcome is the restricted time (never = the horizon): say how often "never" was the answer.
    df.attrs["censored_share"] = float(np.mean(censored)) if censored else 0.0
    return df


# ---------------------------------------------------------------- scenario discovery (PRIM)

@dataclass
class Box:
    """A box of input ranges in which the outcome of interest is concentrated."""

    limits: pd.DataFrame      # input, low, high (only the restricted inputs)
    coverage: float           # share of all cases of interest that lie in the box
    density: float            # share of members in the box that are cases of interest
    mass: float               # share of all members in the box


def find_box(x: pd.DataFrame, y: np.ndarray, threshold: float = 0.6) -> Box:
    """PRIM (EMA Workbench) on inputs ``x`` and a boolean outcome ``y``: the last box on the
    peeling trajectory whose density reaches ``threshold``, as readable ranges."""
    import logging
    import warnings
    y = np.asarray(y, dtype=bool)
    if y.sum() == 0:
        raise StandoffError("no member shows the outcome of interest; nothing to discover")
    if y.all():
        raise StandoffError("every member shows the outcome of interest, so no range of the inputs sets it apart; "
                            "choose a stricter --below or --above")
    if x.shape[1] == 0:
        raise StandoffError("the scenario has no uncertain inputs that vary between members; nothing to discover")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from ema_workbench.analysis import prim
        except ImportError:  # pragma: no cover
            raise StandoffError(f"scenario discovery needs ema_workbench: {install_hint('analysis')}") from None
        logging.getLogger("EMA").setLevel(logging.ERROR)
        p = prim.Prim(x.reset_index(drop=True), y, threshold=threshold)
        box = p.find_box()
    traj = box.peeling_trajectory
    ok = traj[traj["density"] >= threshold]
    i = int(ok.index[-1]) if len(ok) else int(traj["density"].idxmax())
    box.select(i)
    lims = box.box_lims[i]
    full = box.box_lims[0]
    rows = []
    for col in x.columns:
        lo, hi = float(lims[col].iloc[0]), float(lims[col].iloc[1])
        if lo > float(full[col].iloc[0]) + 1e-12 or hi < float(full[col].iloc[1]) - 1e-12:
            rows.append({"input": col, "low": lo, "high": hi})
    return Box(pd.DataFrame(rows, columns=["input", "low", "high"]), float(traj.loc[i, "coverage"]),
               float(traj.loc[i, "density"]), float(traj.loc[i, "mass"]))


def discover(res: Results, outcome: str | Outcome | None = None, below: float | None = None,
             above: float | None = None, threshold: float = 0.6) -> Box:
    """Which combinations of uncertain inputs lead to ``outcome`` below (or above) a value
    (default outcome: the US side's lead sector running out, from the declaration)."""
    if (below is None) == (above is None):
        raise StandoffError("give exactly one of --below or --above")
    net = res.scenario.network()
    out = default_event(net) if outcome is None else Outcome.parse(outcome, net)
    v = out.values(res)
    y = v <= below if below is not None else v >= above
    x = pd.DataFrame(res.ds["inputs"].values, columns=[str(k) for k in res.ds["input"].values])
    x = x.loc[:, x.std() > 0]
    return find_box(x, y, threshold)


# ---------------------------------------------------------------- resilience search

def resilience(sc: Scenario, lever: str, region: str, sector: str, within_days: int, target: float,
               low: float, high: float, product: str | None = None, tol: float | None = None,
               executor: object | None = None) -> tuple[float | None, pd.DataFrame]:
    """Smallest lever value at which P(stockout of ``region``/``sector`` within ``within_days``)
    is at most ``target``, by bisection with common random numbers (same seed and members at
    every value, so the probability moves only because the lever does).

    Returns the value (``None`` if even ``high`` misses the target) and every evaluation: the
    lever's value, the stockout probability with its 95% Monte Carlo interval, whether it meets
    the target, and ``rises`` where a larger value gave a higher probability than a smaller one
    beyond both intervals (the members respond to the lever in steps, so a search over a
    non-monotone curve reports the bracket it found, not the only one).  ``attrs['unit']`` is
    the value's unit.
    """
    from .api import simulate

    net = sc.network()
    product = product or net.key_product
    event = Outcome.parse(f"stockout:{region}:{sector}", net, field="--region/--sector")
    tol = tol if tol is not None else (high - low) / 64
    evals: list[dict] = []

    def prob(x: float) -> float:
        res = simulate(apply_lever(sc, lever, region, product, x).with_(trajectories=0), executor=executor)
        hit = event.event_days(res) <= within_days
        p = float(np.mean(hit))
        lo_ci, hi_ci = proportion_ci(int(hit.sum()), hit.size)
        evals.append({"value": x, "p_stockout": p, "p_lo": lo_ci, "p_hi": hi_ci, "meets_target": p <= target})
        return p

    def table() -> pd.DataFrame:
        df = pd.DataFrame(evals).sort_values("value").reset_index(drop=True)
        # a larger value with a clearly higher probability than some smaller one
        df["rises"] = [bool((df["p_hi"].iloc[:k] < r.p_lo).any()) for k, r in enumerate(df.itertuples())]
        df.attrs["unit"] = LEVER_UNITS[lever].format(product=product)
        return df

    if prob(high) > target:
        return None, table()
    if prob(low) <= target:
        return low, table()
    lo, hi = low, high
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if prob(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi, table()
