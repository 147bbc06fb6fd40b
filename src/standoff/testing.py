"""Assertions for users' own tests of scenarios and models built on standoff."""
from __future__ import annotations

from typing import Any

import numpy as np


def assert_conserved(res: Any, atol_t: float = 1e-3) -> None:
    """Assert that material was conserved in every member.

    For every product, final holdings minus initial holdings minus production plus use
    (by sectors and as inputs) must be zero: nothing is created or lost otherwise.

    Parameters
    ----------
    res
        :class:`standoff.Results`.
    atol_t
        Tolerance in tonnes (floating-point round-off over a horizon).
    """
    bal = res.ds["material_balance_t"].values
    worst = float(np.max(np.abs(bal))) if bal.size else 0.0
    assert worst <= atol_t, f"material not conserved: worst imbalance {worst:.6g} t"
