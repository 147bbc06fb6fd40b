"""Nowcasting: an ensemble conditioned on what has been published, and forecasts from there.

Observations are a small table (CSV) of what gets published in a standoff, one row each:

==========  ====================================================================================
column      meaning
==========  ====================================================================================
series      ``exports`` (an exporter's shipments of a product, to a destination or ``ALL``, as a
            multiple of the baseline flow: customs' "fell 50%" is 0.5), ``price`` (a region's
            price multiple of a product), ``fob_price`` (an exporter's export price multiple) or
            ``stockout`` (the first day a region's sector falls short)
period      a month (``2025-04``: the month's mean) or a day (``2025-04-15``); for ``stockout``
            the date it was first reported
region      the exporter (``exports``, ``fob_price``) or the region (``price``, ``stockout``)
product     the product (not for ``stockout``)
partner     ``exports`` only: the destination region or ``ALL``
sector      ``stockout`` only
value       the published number (a date's day count is read from ``period`` for ``stockout``;
            leave it empty)
sd          its uncertainty, one standard deviation, in the value's units (days for
            ``stockout``): what the publication is believed to be off by
source      where it was published (kept with the result)
==========  ====================================================================================

:func:`condition` weights every member of an ensemble by the likelihood of the observations
(independent Gaussian errors with the stated ``sd``) and resamples it (systematic resampling):
sequential importance resampling, the particle filter's step (Gordon, Salmond & Smith 1993).
It reports the effective sample size, which inputs the data moved (prior against posterior),
and each observation's fit; the resampled ensemble is an ordinary :class:`~standoff.Results`
whose tables and charts are the forecast.

Resampling alone leaves as many distinct members as the effective sample size.  :func:`rejuvenate`
adds a resample-move step (Gilks & Berzuini 2001): each member proposes new inputs by a random
walk in the probit space of the inputs' prior quantiles, is simulated afresh, and moves with
the Metropolis-Hastings probability, which leaves the posterior unchanged.  (An importance
step over the inputs, population Monte Carlo with a Gaussian-mixture proposal, was tried
first: with a hundred inputs, most of them not informed by the data, its weights collapsed
onto one member.)
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import StandoffError

if TYPE_CHECKING:
    from .results import Results

SERIES = ("exports", "price", "fob_price", "stockout")
COLUMNS = ("series", "period", "region", "product", "partner", "sector", "value", "sd", "source")


@dataclass(frozen=True)
class Observation:
    """One published number (a row of the observations table)."""

    series: str
    first: dt.date
    last: dt.date
    region: str
    product: str
    partner: str
    sector: str
    value: float
    sd: float
    source: str
    row: int

    @property
    def label(self) -> str:
        what = {"exports": f"{self.region} {self.product} exports to {self.partner} (x baseline)",
                "price": f"{self.product} price in {self.region} (x baseline)",
                "fob_price": f"{self.product} export price from {self.region} (x baseline)",
                "stockout": f"first stockout, {self.region} {self.sector}"}[self.series]
        when = self.first.isoformat() if self.first == self.last else self.first.strftime("%Y-%m")
        return f"{what}, {when}"


def _period(text: str, file: str, row: int) -> tuple[dt.date, dt.date]:
    text = str(text).strip()
    try:
        if len(text) == 7:
            first = dt.date.fromisoformat(text + "-01")
            nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return first, nxt - dt.timedelta(days=1)
        d = dt.date.fromisoformat(text)
        return d, d
    except ValueError:
        raise StandoffError("period must be a month (YYYY-MM) or a day (YYYY-MM-DD)", file=file,
                            field=f"row {row}.period", value=text) from None


def load_observations(path: str | Path, scenario: Any) -> list[Observation]:
    """Read and check an observations table against a scenario (its dataset's names, its horizon).

    Raises
    ------
    StandoffError
        Naming the file, the row and the field at fault, and the value.
    """
    from .files import check_regular
    check_regular(path, "observations file")
    return _parse(path, str(path), scenario)


def parse_observations(text: str, scenario: Any, name: str = "observations") -> list[Observation]:
    """:func:`load_observations` for a table given as text (the dashboard's pasted CSV)."""
    import io
    return _parse(io.StringIO(text), name, scenario)


def _parse(source: Any, file: str, scenario: Any) -> list[Observation]:
    try:
        df = pd.read_csv(source, dtype=str, keep_default_na=False)
    except Exception as exc:  # not a CSV at all
        raise StandoffError(f"cannot read the observations table ({type(exc).__name__})", file=file) from None
    missing = [c for c in ("series", "period", "region", "sd") if c not in df.columns]
    if missing:
        raise StandoffError("missing column(s); the table needs " + ", ".join(COLUMNS), file=file, field="columns",
                            value=", ".join(missing))
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = ""
    if df.empty:
        raise StandoffError("the observations table has no rows", file=file)
    net = scenario.network()
    out = []
    for k, r in enumerate(df.to_dict("records")):
        row = k + 2  # the header is row 1

        def bad(fld: str, msg: str) -> StandoffError:
            return StandoffError(msg, file=file, field=f"row {row}.{fld}", value=r.get(fld, ""))

        series = r["series"].strip()
        if series not in SERIES:
            raise bad("series", "unknown series; known: " + ", ".join(SERIES))
        first, last = _period(r["period"], file, row)
        if not (scenario.start <= first and last <= scenario.end):
            raise bad("period", f"outside the scenario's horizon ({scenario.start} to {scenario.end})")
        region = r["region"].strip()
        if region not in net.regions:
            raise bad("region", "unknown region; known: " + ", ".join(net.regions))
        product = r["product"].strip()
        if series != "stockout" and product not in net.products:
            raise bad("product", "unknown product; known: " + ", ".join(net.products))
        partner = r["partner"].strip() or ("ALL" if series == "exports" else "")
        if series == "exports" and partner != "ALL" and (partner not in net.regions or partner == region):
            raise bad("partner", "a destination region (not the exporter itself), or ALL")
        sector = r["sector"].strip()
        if series == "stockout" and sector not in net.sectors:
            raise bad("sector", "unknown sector; known: " + ", ".join(net.sectors))
        try:
            sd = float(r["sd"])
        except ValueError:
            sd = float("nan")
        if not (sd > 0 and math.isfinite(sd)):
            raise bad("sd", "a positive number (one standard deviation of the published value)")
        if series == "stockout":
            if first != last:
                raise bad("period", "a stockout is reported on a day (YYYY-MM-DD)")
            value = float(scenario.day_of(first))
        else:
            try:
                value = float(r["value"])
            except ValueError:
                value = float("nan")
            if not (value >= 0 and math.isfinite(value)):
                raise bad("value", "a non-negative number")
        ob = Observation(series, first, last, region, product, partner, sector, value, sd, r["source"].strip(), row)
        same = next((o for o in out if (o.series, o.first, o.last, o.region, o.product, o.partner, o.sector) ==
                     (series, first, last, region, product, partner, sector)), None)
        if same is not None:  # counted twice, it would weigh twice in the likelihood
            raise bad("series", f"the same observation as row {same.row}; give it once (two sources of one number: "
                                "one row with the sd their disagreement suggests)")
        out.append(ob)
    return out


def simulated(res: "Results", ob: Observation) -> np.ndarray:
    """Every member's simulated value of an observation (needs every member's daily paths for
    the series ones: ``trajectories`` equal to ``members``)."""
    ds = res.ds
    sc = res.scenario
    if ob.series == "stockout":
        d = ds["first_stockout_day"].sel(region=ob.region, sector=ob.sector).values.astype(float)
        # no stockout within the horizon: the earliest it could be is after the horizon
        return np.where(np.isnan(d), float(sc.horizon_days), d)
    if ds.sizes.get("traj_member", 0) != ds.sizes["member"]:
        raise StandoffError("conditioning on a published series needs every member's daily paths: run with "
                            "trajectories equal to members (standoff nowcast does)", field="trajectories",
                            value=int(ds.sizes.get("traj_member", 0)))
    t0, t1 = sc.day_of(ob.first), sc.day_of(ob.last) + 1
    net = sc.network()
    if ob.series == "price":
        da = ds["price_multiple"].sel(region=ob.region, product=ob.product)
    elif ob.series == "fob_price":
        da = ds["fob_price"].sel(region=ob.region, product=ob.product)
    else:
        p, e = net.products.index(ob.product), net.regions.index(ob.region)
        if ob.partner == "ALL":
            da = ds["exports_t"].sel(product=ob.product, region=ob.region)
            base = float(sum(net.flows[p, e, i] for i in range(len(net.regions)) if i != e))
        else:
            r = ds["route_exports_t"]
            j = np.nonzero((r["route_product"].values == ob.product) & (r["route_from"].values == ob.region)
                           & (r["route_to"].values == ob.partner))[0]
            if not len(j):
                raise StandoffError(f"{ob.region} does not ship {ob.product} to {ob.partner} in the dataset",
                                    field=f"row {ob.row}.partner", value=ob.partner)
            da = r.isel(route=int(j[0]))
            base = float(net.flows[p, e, net.regions.index(ob.partner)])
        if base <= 0:
            raise StandoffError(f"{ob.region} exports no {ob.product} in the baseline", field=f"row {ob.row}.region",
                                value=ob.region)
        da = da / base
    vals = np.asarray(da.isel(time=slice(t0, t1)).mean("time").values, dtype=float)
    return vals  # traj_member order is member order when every member is kept


def log_likelihood(res: "Results", observations: list[Observation]) -> np.ndarray:
    """Each member's log-likelihood of the observations (independent Gaussian errors), and the
    per-observation simulated values (observation, member)."""
    sims = np.stack([simulated(res, ob) for ob in observations])
    with np.errstate(over="ignore"):  # a value no member comes near underflows to -inf: refused by condition
        z = (sims - np.array([o.value for o in observations])[:, None]) / np.array([o.sd for o in observations])[:, None]
        return -0.5 * (z ** 2).sum(axis=0), sims


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a systematic resample of ``weights`` (as many as weights): low variance, and
    each member is kept floor(N w) or ceil(N w) times (Kitagawa 1996)."""
    n = len(weights)
    cum = np.cumsum(weights)
    cum[-1] = 1.0
    u = (rng.random() + np.arange(n)) / n
    return np.searchsorted(cum, u, side="left")


def effective_sample_size(weights: np.ndarray) -> float:
    """Effective sample size of normalised weights, 1 / sum(w^2) (Kong, Liu & Wong 1994)."""
    return float(1.0 / np.sum(weights ** 2))


@dataclass
class Conditioned:
    """An ensemble conditioned on observations (:func:`condition`)."""

    prior: "Results"
    observations: list[Observation]
    weights: np.ndarray      # per prior member, sum 1
    loglik: np.ndarray
    sims: np.ndarray         # (observation, member)
    index: np.ndarray        # the resampled members (prior member numbers)
    posterior: "Results"     # the resampled ensemble: its tables and charts are the forecast

    @property
    def ess(self) -> float:
        """Effective sample size of the weights (:func:`effective_sample_size`)."""
        return effective_sample_size(self.weights)

    def fit(self) -> pd.DataFrame:
        """Each observation against the ensemble before and after: median and p10-p90 of the
        members' simulated values, unweighted (prior) and weighted (posterior)."""
        rows = []
        for k, ob in enumerate(self.observations):
            s = self.sims[k]
            pq = np.quantile(s, [0.1, 0.5, 0.9])
            wq = weighted_quantile(s, self.weights, [0.1, 0.5, 0.9])
            rows.append({"observation": ob.label, "value": ob.value, "sd": ob.sd, "prior_median": pq[1],
                         "prior_p10": pq[0], "prior_p90": pq[2], "posterior_median": wq[1], "posterior_p10": wq[0],
                         "posterior_p90": wq[2], "source": ob.source})
        return pd.DataFrame(rows)

    def inputs_moved(self) -> pd.DataFrame:
        """Which uncertain inputs the observations moved: each input's prior and posterior mean
        and standard deviation, and the shift of the mean in prior standard deviations (largest
        first)."""
        x = self.prior.ds["inputs"]
        rows = []
        for j, name in enumerate(x["input"].values):
            v = np.asarray(x.isel(input=j).values, dtype=float)
            m0, s0 = v.mean(), v.std()
            m1 = float(np.sum(self.weights * v))
            s1 = float(np.sqrt(np.sum(self.weights * (v - m1) ** 2)))
            rows.append({"input": str(name), "prior_mean": m0, "prior_sd": s0, "posterior_mean": m1,
                         "posterior_sd": s1, "shift_sd": (m1 - m0) / s0 if s0 > 0 else 0.0})
        df = pd.DataFrame(rows)
        return df.reindex(df["shift_sd"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: Any) -> np.ndarray:
    """Quantiles ``q`` of values ``x`` with weights ``w`` (the inverse of the weighted ECDF)."""
    order = np.argsort(x, kind="stable")
    xs, ws = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cum = np.cumsum(ws)
    cum /= cum[-1]
    return xs[np.minimum(np.searchsorted(cum, np.atleast_1d(q), side="left"), len(xs) - 1)]


def condition(res: "Results", observations: list[Observation] | str | Path, seed: int | None = None,
              exclude: Any = None, resample: bool = True) -> Conditioned:
    """Weight and resample an ensemble by how well each member matches the observations.

    Parameters
    ----------
    res
        An ensemble with every member's daily paths (``trajectories == members``) when any
        observation is a series.
    observations
        Observations (:func:`load_observations`), or the path of a table of them.
    seed
        Seed of the resampling (default: the scenario's).
    exclude
        Members given zero weight (a twin experiment's hidden truth).
    resample
        Build the resampled ensemble (``posterior``; False: weights only, ``posterior`` None).

    Returns
    -------
    Conditioned
        Weights, effective sample size, fit, inputs moved and the resampled ensemble.
    """
    from .results import Results
    file = None
    if not isinstance(observations, list):
        file = str(observations)
        observations = load_observations(observations, res.scenario)
    ll, sims = log_likelihood(res, observations)
    if exclude is not None:
        ll = ll.copy()
        ll[exclude] = -np.inf
    top = np.max(ll)
    if not np.isfinite(top):
        raise StandoffError("no member has a finite likelihood of the observations: a value far from anything "
                            "the ensemble simulates, or an sd far too small", file=file)
    w = np.exp(ll - top)
    w /= w.sum()
    rng = np.random.default_rng(res.scenario.seed if seed is None else seed)
    idx = systematic_resample(w, rng)
    if not resample:
        return Conditioned(res, observations, w, ll, sims, idx, None)  # type: ignore[arg-type]
    ds = res.ds.isel(member=idx)
    if ds.sizes.get("traj_member", 0) == res.ds.sizes["member"]:
        ds = ds.isel(traj_member=idx).assign_coords(traj_member=np.arange(len(idx)))
    ds = ds.assign_coords(member=np.arange(len(idx)))
    # The resample repeats members: its Monte Carlo intervals are those of the weights' effective
    # sample size, not of its count (:attr:`standoff.results.Results.deff`).
    ds.attrs = {**res.ds.attrs, "conditioned_on": len(observations), "effective_members": effective_sample_size(w)}
    post = Results(ds, res.scenario)
    return Conditioned(res, observations, w, ll, sims, idx, post)


def prior_quantiles(res: "Results") -> tuple[list[str], np.ndarray]:
    """The uncertain inputs' keys and each member's quantile of each in its prior (member, input):
    the uniforms the ensemble drew them from (:func:`standoff.core.rng.uniforms`)."""
    from .core.rng import uniforms
    from .ensemble import plan
    sc = res.scenario
    keys = [u.key for u in plan(sc).uncertain_inputs()]
    u = np.column_stack([uniforms(sc.seed, k, 0, sc.members) for k in keys]) if keys else np.zeros((sc.members, 0))
    return keys, u


def rejuvenate(c: Conditioned, seed_offset: int = 1, scale: float | None = None) -> Conditioned:
    """One resample-move step after :func:`condition` (see the module's notes).

    Each resampled member proposes new inputs, a random walk in the probit space of the inputs'
    prior quantiles (step ``scale`` times the weighted standard deviation of each input; by
    default 2.38 / sqrt(inputs), Roberts, Gelman & Gilks 1997), is simulated afresh (new random
    streams for everything else), and the move is accepted with the Metropolis-Hastings
    probability of likelihood times prior (pseudo-marginal: each member's likelihood is its one
    simulation's, Andrieu & Roberts 2009); a rejected move keeps the member.  The step leaves the
    posterior unchanged and spreads the duplicates a resample leaves.  Returns a new
    :class:`Conditioned` whose ``posterior`` is the moved ensemble (equal weights) and whose
    ``acceptance`` and ``distinct`` say how far it moved.
    """
    import xarray as xr
    from scipy.special import ndtr, ndtri

    from .api import simulate
    from .results import Results
    res = c.prior
    sc = res.scenario
    keys, u = prior_quantiles(res)
    if not keys:
        raise StandoffError("the scenario has no uncertain input to move")
    z = ndtri(u)
    w = c.weights
    n, d = z.shape
    parents = c.index
    mean = w @ z
    sd = np.sqrt(np.maximum(w @ (z - mean) ** 2, 1e-12))
    step = (2.38 / np.sqrt(d)) if scale is None else scale
    rng = np.random.default_rng(sc.seed + 7919 * seed_offset)
    zp = z[parents]
    znew = zp + step * sd * rng.standard_normal((n, d))
    sc2 = sc.with_(seed=sc.seed + seed_offset)  # fresh random streams for everything but the inputs
    new = simulate(sc2, _u_override={k: ndtr(znew[:, j]) for j, k in enumerate(keys)})
    ll_new, sims_new = log_likelihood(new, c.observations)
    log_alpha = (ll_new - 0.5 * (znew ** 2).sum(1)) - (c.loglik[parents] - 0.5 * (zp ** 2).sum(1))
    accept = np.log(rng.random(n)) < log_alpha
    both = xr.concat([res.ds, new.ds], dim="member", data_vars="minimal", coords="minimal", compat="override",
                     join="override")
    pick = np.where(accept, n + np.arange(n), parents)
    ds = both.isel(member=pick)
    if res.ds.sizes.get("traj_member", 0) == n:
        paths = xr.concat([res.ds, new.ds], dim="traj_member", data_vars="minimal", coords="minimal",
                          compat="override", join="override")
        for v in [v for v in res.ds.data_vars if "traj_member" in res.ds[v].dims]:
            ds[v] = paths[v].isel(traj_member=pick).assign_coords(traj_member=np.arange(n))
    ds = ds.assign_coords(member=np.arange(n))
    # A move spreads the duplicates but adds no information the observations did not give: the
    # intervals stay those of the resample's effective sample size (conservative).
    ds.attrs = {**res.ds.attrs, "conditioned_on": len(c.observations), "rejuvenated": 1,
                "effective_members": float(c.ess)}
    ll = np.where(accept, ll_new, c.loglik[parents])
    sims = np.where(accept[None, :], sims_new, c.sims[:, parents])
    out = Conditioned(Results(ds, sc), c.observations, np.full(n, 1.0 / n), ll, sims, np.arange(n),
                      Results(ds, sc))
    out.acceptance = float(accept.mean())  # type: ignore[attr-defined]
    out.distinct = int(len(np.unique(pick)))  # type: ignore[attr-defined]
    return out
