"""Pain to pressure: interest groups with salience and decay, weighed against resolve.

Each side's daily pain has four kinds (output lost, export revenue lost, buyers' loss from
tariffs, strategic cost).  An interest group stands behind each kind (automakers and
manufacturers, farmers and exporters, consumers and retailers, the defense establishment);
its pressure is the salience-weighted pain averaged over its memory (``decay_days``).  A
government's pressure ratio is total pressure over its resolve, the weighted pain per day it
tolerates.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import kernel_jit



@kernel_jit(error_model="numpy")
def update_pressure(pressure: np.ndarray, pain_today: np.ndarray, salience: np.ndarray,
                    decay_days: np.ndarray) -> None:
    """Exponential memory of salience-weighted daily pain (US$ bn/day).

    ``pressure`` and ``pain_today`` are indexed ``[side, kind, member]``.
    """
    for s in range(pressure.shape[0]):
        for k in range(pressure.shape[1]):
            a = 1.0 / decay_days[s, k]
            sal = salience[s, k]
            for m in range(pressure.shape[2]):
                pressure[s, k, m] += a * (sal * pain_today[s, k, m] - pressure[s, k, m])


@kernel_jit(error_model="numpy", inline="always")
def book_pain(pol: Any) -> None:
    """Stage: today's pain joins each side's total and its interest groups' pressure."""
    pain_today = pol.pain_today
    pain_tot = pol.pain_tot
    for sd in range(pain_tot.shape[0]):
        for kk in range(pain_tot.shape[1]):
            for m in range(pain_tot.shape[2]):
                pain_tot[sd, kk, m] += pain_today[sd, kk, m]
    update_pressure(pol.pressure, pain_today, pol.salience, pol.decay_days)
