"""standoff: Monte Carlo simulation of trade standoffs over supply-chain chokepoints.

>>> import standoff
>>> res = standoff.simulate("london-2025", members=50)     # doctest: +SKIP
>>> res.stockouts()                                        # doctest: +SKIP
"""
from typing import TYPE_CHECKING, Any

from .errors import StandoffError

#: Where each public name lives: imported on first use (PEP 562), so that ``standoff --help`` and
#: the commands that need no numbers start without loading pandas, scipy and xarray.
_LAZY = {"Network": "network", "load_network": "network", "Results": "results", "Scenario": "scenario",
         "builtin_scenarios": "scenario", "load_scenario": "scenario", "simulate": "api"}

__all__ = ["simulate", "Results", "Scenario", "load_scenario", "builtin_scenarios", "Network", "load_network",
           "StandoffError"]


def __getattr__(name: str) -> Any:
    # ``simulate`` pulls in the compiled engine (numba); reading saved runs, the CLI's help and
    # the report do not need it, and nothing needs the numerical stack before it is asked for.
    import importlib
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "testing":  # as the README writes it, without importing the submodule first
        import importlib
        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module 'standoff' has no attribute {name!r}")


if TYPE_CHECKING:
    from .api import simulate  # noqa: F401
    from .network import Network, load_network  # noqa: F401
    from .results import Results  # noqa: F401
    from .scenario import Scenario, builtin_scenarios, load_scenario  # noqa: F401
