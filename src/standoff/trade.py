"""Aggregate bilateral trade in goods: tariffs, counter-measures, diversion and who pays.

Partial equilibrium: a group's imports follow ``((1 + pt*tau) / (1 + pt*tau0)) ** -sigma``
of their baseline value, adjusting over ``trade_adjust_days``; a share of lost imports is
bought from third countries at a premium; the exporter sells a share elsewhere.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True)
def import_target(v0: float, tau: float, tau0: float, pass_through: float, sigma: float) -> float:
    """Imports a tariff ``tau`` sustains, given baseline value ``v0`` at tariff ``tau0``."""
    return v0 * ((1.0 + pass_through * tau) / (1.0 + pass_through * tau0)) ** (-sigma)
