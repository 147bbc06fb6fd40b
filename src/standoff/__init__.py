"""standoff: Monte Carlo simulation of trade standoffs over supply-chain chokepoints.

>>> import standoff
>>> res = standoff.simulate("london-2025", members=50)     # doctest: +SKIP
>>> res.stockouts()                                        # doctest: +SKIP
"""
from .api import simulate
from .errors import StandoffError
from .network import Network, load_network
from .results import Results
from .scenario import Scenario, builtin_scenarios, load_scenario

__all__ = ["simulate", "Results", "Scenario", "load_scenario", "builtin_scenarios", "Network", "load_network",
           "StandoffError"]
