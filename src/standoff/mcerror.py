"""Monte Carlo error: how much of an ensemble estimate is sampling noise.

Every number an ensemble gives is an estimate from a finite number of members.  These are
the intervals standoff attaches to them (95% unless said otherwise):

- a probability (share of members with an event): the Wilson score interval of the binomial
  (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``), which behaves at 0% and
  100% where the normal approximation says "±0";
- a quantile (median, p10, p90): the distribution-free order-statistic interval, the ranks
  between which the true quantile lies with 95% probability (binomial ranks), so it needs no
  assumption about the outcome's distribution and works with "never" (``inf``) values;
- a mean or a paired difference: the standard error ``sd / sqrt(n)``, reported as ±1.96 SE.

An ensemble that repeats members (a nowcast's resample, :mod:`standoff.nowcast`) holds less
information than its count: ``n`` members that are as informative as ``n_eff`` independent ones
have a design effect ``deff = n / n_eff`` (Kish).  The intervals of a probability and of a quantile
take ``deff`` and are those of an independent sample of ``n / deff`` members with the same
estimate, so a resampled ensemble's intervals are as wide as its effective sample size warrants,
not as narrow as its repeated members would make them.

Time-to-event outcomes (first stockout, first concession) are censored at the horizon:
members in which the event did not happen within the horizon carry no day.  They are
summarised as the probability of the event within the horizon and the restricted mean time
to it (``mean(min(T, tau))`` up to a stated day ``tau``), never as a mean of days in which
"never" is counted as the horizon's last day of whichever run it came from.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: Coverage of every interval standoff reports.
LEVEL = 0.95


def proportion_ci(k: int, n: int, level: float = LEVEL, deff: float = 1.0) -> tuple[float, float]:
    """Wilson score interval for ``k`` events in ``n`` members (``(nan, nan)`` if ``n == 0``).

    With a design effect ``deff`` > 1, the interval of the share ``k / n`` in ``n / deff``
    independent members (the Wilson formula holds for a non-integer count).

    Examples
    --------
    >>> lo, hi = proportion_ci(50, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.404, 0.596)
    >>> proportion_ci(0, 40)[0]
    0.0
    >>> lo, hi = proportion_ci(60, 200, deff=2.0)   # as wide as 30 in 100
    >>> round(lo, 3), round(hi, 3)
    (0.219, 0.396)
    """
    if n <= 0:
        return math.nan, math.nan
    if deff > 1.0:
        ne = n / deff
        p = k / n
        z = stats.norm.ppf(0.5 + level / 2)
        den = 1.0 + z * z / ne
        mid = (p + z * z / (2.0 * ne)) / den
        half = z / den * math.sqrt(p * (1.0 - p) / ne + z * z / (4.0 * ne * ne))
        return float(max(mid - half, 0.0)), float(min(mid + half, 1.0))
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def _ranks(n: int, q: float, level: float, deff: float) -> tuple[int, int]:
    """The 1-based ranks of the order-statistic interval's bounds among ``n`` members: those of
    ``n / deff`` independent members (rounded), scaled back to ``n``."""
    a = 1.0 - level
    ne = n if deff <= 1.0 else max(int(round(n / deff)), 1)
    lo = int(stats.binom.ppf(a / 2, ne, q))
    hi = int(stats.binom.ppf(1 - a / 2, ne, q)) + 1
    if ne == n:
        return lo, hi
    return int(math.ceil(lo * n / ne)), int(math.ceil(hi * n / ne))


def quantile_ci(x: np.ndarray, q: float, level: float = LEVEL, deff: float = 1.0) -> tuple[float, float]:
    """Order-statistic interval for the ``q`` quantile of the population ``x`` was drawn from.

    The bounds are the sorted values at ranks ``binom.ppf(a/2, n, q)`` and
    ``binom.ppf(1 - a/2, n, q) + 1``; ``inf`` marks "beyond the data" (too few members for
    the upper bound, or an event that did not happen), ``-inf`` likewise below.  With a design
    effect ``deff`` > 1 the ranks are those of ``n / deff`` members, scaled to ``n`` (members
    each repeated twice, ``deff`` 2, give the interval of the members once).

    Examples
    --------
    >>> lo, hi = quantile_ci(np.arange(1.0, 101.0), 0.5)
    >>> lo, hi
    (40.0, 61.0)
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0:
        return math.nan, math.nan
    lo_rank, hi_rank = _ranks(n, q, level, deff)  # 1-based ranks of the bounds
    lo = x[lo_rank - 1] if lo_rank >= 1 else -math.inf
    hi = x[hi_rank - 1] if hi_rank <= n else math.inf
    return float(lo), float(hi)


def mean_se(x: np.ndarray) -> float:
    """Standard error of the mean of ``x`` (nan with fewer than two members)."""
    x = np.asarray(x, dtype=float)
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan


def restricted(days: np.ndarray, tau: float) -> np.ndarray:
    """Time to an event restricted to ``tau``: ``min(day, tau)``, with "never" (nan or inf) as ``tau``."""
    d = np.asarray(days, dtype=float)
    return np.minimum(np.where(np.isfinite(d), d, tau), tau)


def members_for(p: float, half_width: float, level: float = LEVEL) -> int:
    """Members needed for a probability near ``p`` to have an interval of about ±``half_width``.

    The normal approximation ``z**2 p (1 - p) / h**2``; a planning figure, not a guarantee.

    Examples
    --------
    >>> members_for(0.5, 0.02)
    2401
    """
    z = stats.norm.ppf(0.5 + level / 2)
    p = min(max(p, 0.0), 1.0)
    return int(math.ceil(z * z * max(p * (1 - p), 1e-6) / (half_width * half_width)))


def quantile_ci_counts(counts: np.ndarray, q: float, level: float = LEVEL, deff: float = 1.0) -> tuple[float, float]:
    """:func:`quantile_ci` from a histogram of whole days: ``counts[d]`` members with value ``d``,
    the last bin for "never" (``inf``), as :class:`standoff.results.StreamingSummary` keeps them."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return math.nan, math.nan
    lo_rank, hi_rank = _ranks(n, q, level, deff)
    cum = np.cumsum(counts)
    never = counts.size - 1

    def at(rank: int) -> float:
        if rank < 1:
            return -math.inf
        if rank > n:
            return math.inf
        d = int(np.searchsorted(cum, rank, side="left"))
        return math.inf if d >= never else float(d)
    return at(lo_rank), at(hi_rank)
