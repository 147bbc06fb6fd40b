"""Twin experiments for the nowcast: a hidden member of the ensemble is the truth.

Its published series (with noise of the stated size) condition the rest of the ensemble
(:func:`standoff.nowcast.condition`, the hidden member excluded); the forecast's interval for
a quantity after the observations must cover the hidden member's value at its nominal rate over
many trials, and the posterior mean of the inputs must come nearer the hidden member's inputs
than the prior mean.  Used by ``tests/test_nowcast.py`` (coverage within its Monte Carlo error)
and ``bench/nowcast_skill.py`` (the README's figures).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .nowcast import Observation, condition, simulated, weighted_quantile

def observations_of(res: Any, months: tuple[str, ...] = ("2025-04", "2025-05"), sd_exports: float = 0.05,
                    rel_sd_price: float = 0.05) -> list[Observation]:
    """Observation templates (value 0) of what customs and price reporters publish, named from
    the dataset's declaration: the controlling side's exports of the key product to all
    destinations (x baseline, sd ``sd_exports``) and the key product's price on the other side
    (x baseline, sd ``rel_sd_price`` of the value: a negative sd, filled in by
    :func:`twin_trials`), for each of ``months`` (london-2025: China's magnet exports and the US
    magnet price in April and May 2025)."""
    from .nowcast import _period
    net = res.scenario.network()
    out = []
    for month in months:
        first, last = _period(month, "twin", 0)
        out.append(Observation("exports", first, last, net.cn_region, net.key_product, "ALL", "", 0.0, sd_exports,
                               "twin experiment", len(out) + 2))
    for month in months:
        first, last = _period(month, "twin", 0)
        out.append(Observation("price", first, last, net.us_region, net.key_product, "", "", 0.0, -rel_sd_price,
                               "twin experiment", len(out) + 2))
    return out


@dataclass
class TwinResult:
    """Per trial: whether the interval covered the truth, and the inputs' errors."""

    covered: np.ndarray          # (trial, quantity)
    ess: np.ndarray              # (trial,)
    prior_err: np.ndarray        # (trial,): mean over inputs of ((prior mean - truth) / prior sd)^2
    post_err: np.ndarray         # (trial,): the same for the posterior mean
    level: float
    gain: np.ndarray             # (trial, input): squared error of the prior mean less the posterior's (prior sds)
    inputs: list[str]

    def input_gain(self) -> "Any":
        """Per input, the mean reduction of the squared error (in prior variances) from prior to
        posterior mean, and its standard error: positive where the data inform the input."""
        import pandas as pd
        n = self.gain.shape[0]
        df = pd.DataFrame({"input": self.inputs, "gain": self.gain.mean(axis=0),
                           "se": self.gain.std(axis=0, ddof=1) / np.sqrt(n)})
        return df.sort_values("gain", ascending=False, key=lambda g: g / df["se"].clip(lower=1e-12)) \
            .reset_index(drop=True)

    @property
    def coverage(self) -> np.ndarray:
        return self.covered.mean(axis=0)

    def mc_error(self) -> float:
        """One binomial standard error of a coverage at the nominal level over these trials."""
        return float(np.sqrt(self.level * (1 - self.level) / self.covered.shape[0]))


def twin_trials(res: Any, templates: list[Observation], quantities: dict[str, Callable[[Any], np.ndarray]],
                trials: int, level: float = 0.8, seed: int = 0) -> TwinResult:
    """Run ``trials`` twin experiments on ensemble ``res`` (every member's paths kept): hidden
    members 0, 1, ...; noise on the hidden member's series drawn with ``seed``; the central
    ``level`` interval of each of ``quantities`` (a function of the Results giving each
    member's value) checked against the hidden member's value."""
    rng = np.random.default_rng(seed)
    sims = [simulated(res, ob) for ob in templates]
    qv = {k: np.asarray(f(res), dtype=float) for k, f in quantities.items()}
    x = np.asarray(res.ds["inputs"].values, dtype=float)
    m0, s0 = x.mean(axis=0), x.std(axis=0)
    s0 = np.where(s0 > 0, s0, 1.0)
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    covered, ess, e0, e1, gain = [], [], [], [], []
    for h in range(trials):
        obs = []
        for ob, s in zip(templates, sims):
            sd = ob.sd if ob.sd > 0 else -ob.sd * max(s[h], 1e-9)
            obs.append(dataclasses.replace(ob, value=float(s[h] + rng.normal(0.0, sd)), sd=sd))
        c = condition(res, obs, exclude=[h], resample=False)
        row = []
        for k, v in qv.items():
            a, b = weighted_quantile(v, c.weights, [lo, hi])
            row.append(a <= v[h] <= b)
        covered.append(row)
        ess.append(c.ess)
        m1 = (c.weights[:, None] * x).sum(axis=0)
        g0, g1 = ((m0 - x[h]) / s0) ** 2, ((m1 - x[h]) / s0) ** 2
        e0.append(float(g0.mean()))
        e1.append(float(g1.mean()))
        gain.append(g0 - g1)
    return TwinResult(np.array(covered), np.array(ess), np.array(e0), np.array(e1), level, np.array(gain),
                      [str(v) for v in res.ds["input"].values])


def lead_sector_loss(res: Any) -> np.ndarray:
    """Each member's output lost by the lead sector on the US side (US autos in london-2025)."""
    net = res.scenario.network()
    return res.ds["output_loss_usd_bn"].sel(region=net.us_region, sector=net.lead_sector).values


def key_price_in(month: str) -> Callable[[Any], np.ndarray]:
    """Each member's mean price of the key product on the US side over ``month`` (YYYY-MM)."""
    from .nowcast import _period
    first, last = _period(month, "twin", 0)

    def value(res: Any) -> np.ndarray:
        sc, net = res.scenario, res.scenario.network()
        t0, t1 = sc.day_of(first), sc.day_of(last) + 1
        da = res.ds["price_multiple"].sel(region=net.us_region, product=net.key_product)
        return da.isel(time=slice(t0, t1)).mean("time").values
    return value
