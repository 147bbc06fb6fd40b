"""standoff: Monte Carlo simulation of trade standoffs over supply-chain chokepoints.

>>> import standoff
>>> res = standoff.simulate("london-2025", members=50)     # doctest: +SKIP
>>> res.stockouts()                                        # doctest: +SKIP
"""
from typing import TYPE_CHECKING, Any

from .errors import StandoffError
from .network import Network, load_network
from .results import Results
from .scenario import Scenario, builtin_scenarios, load_scenario

__all__ = ["simulate", "Results", "Scenario", "load_scenario", "builtin_scenarios", "Network", "load_network",
           "StandoffError"]


def __getattr__(name: str) -> Any:
    # ``simulate`` pulls in the compiled engine (numba); reading saved runs, the CLI's help and
    # the report do not need it, so it is imported on first use (PEP 562).
    if name == "simulate":
        from .api import simulate
        return simulate
    if name == "testing":  # as the README writes it, without importing the submodule first
        import importlib
        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module 'standoff' has no attribute {name!r}")


if TYPE_CHECKING:
    from .api import simulate  # noqa: F401
