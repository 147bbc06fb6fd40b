"""Prices, demand response, substitution and new capacity.

A regional price multiple moves toward ``cover ** (-1 / flexibility)``, bounded by a floor
and a cap, where cover is the region's inventory position against its target.  Prices
cut short-run demand a little (an elasticity), and over months drive thrifting and
substitution at a bounded rate that does not reverse; over years, a smoothed price
signal brings new capacity outside China.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy", inline="always")
def target_price(cover: float, flexibility: float, floor: float, cap: float) -> float:
    """Price multiple a market clears at when its inventory position is ``cover`` of target."""
    if cover <= 1e-9:
        return cap
    m = cover ** (-1.0 / flexibility)
    return min(max(m, floor), cap)


@njit(cache=True, error_model="numpy", inline="always")
def substitution_step(sub: float, price: float, sub_max: float, rate_per_day: float) -> float:
    """Substitution share after one day: moves toward a price-driven target, never back."""
    effort = min(max((price - 1.0) / 2.0, 0.0), 1.0)  # full effort at a tripled price (assumption)
    target = sub_max * effort
    if target > sub:
        return sub + min(target - sub, rate_per_day)
    return sub
