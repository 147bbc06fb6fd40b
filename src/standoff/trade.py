"""Aggregate bilateral trade in goods: tariffs, counter-measures, diversion and who pays.

Partial equilibrium: a group's imports follow ``((1 + pt*tau) / (1 + pt*tau0)) ** -sigma``
of their baseline value, adjusting over ``trade_adjust_days``; a share of lost imports is
bought from third countries at a premium; the exporter sells a share elsewhere.
"""
from __future__ import annotations

from ._jit import kernel_jit


@kernel_jit(error_model="numpy", inline="always")
def import_target(v0: float, tau: float, tau0: float, pass_through: float, sigma: float) -> float:
    """Imports a tariff ``tau`` sustains, given baseline value ``v0`` at tariff ``tau0``."""
    return v0 * ((1.0 + pass_through * tau) / (1.0 + pass_through * tau0)) ** (-sigma)


@kernel_jit(error_model="numpy")
def buyer_loss(v0: float, tau: float, tau0: float, pass_through: float, sigma: float, diversion: float,
               premium: float, lost: float) -> float:
    """Buyers' loss per day from a tariff above its baseline level.

    With constant-elasticity import demand the consumer-surplus loss of a price rise by a
    factor ``r`` is ``v0 / (sigma - 1) * (1 - r ** (1 - sigma))`` (it includes the tariff
    paid).  The diverted share of lost imports is bought from third countries, costing only
    a premium on what is diverted.
    """
    r = (1.0 + pass_through * tau) / (1.0 + pass_through * tau0)
    if r <= 1.0 or sigma <= 1.0:
        cs = 0.0
    else:
        cs = v0 / (sigma - 1.0) * (1.0 - r ** (1.0 - sigma))
    return cs * (1.0 - diversion) + premium * diversion * max(lost, 0.0)
