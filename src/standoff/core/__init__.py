"""The compiled core: the kernel, its stages, their compiler and random numbers, and the reference.

Everything numba compiles lives here: :mod:`~standoff.core.engine` (the day's timeline,
:func:`~standoff.core.engine.run_block`), the stages in the modules of their mechanisms
(:mod:`~standoff.core.controls`, :mod:`~standoff.core.trade`, :mod:`~standoff.core.production`,
:mod:`~standoff.core.markets`, :mod:`~standoff.core.politics`, :mod:`~standoff.core.negotiation`),
the compiler with its cache stamp (:mod:`~standoff.core._jit`), the counter-based random
numbers (:mod:`~standoff.core.rng`), and the plain-Python twin of the whole model
(:mod:`~standoff.core.reference`).  The day's order is :data:`standoff.day.DAY`; the layout
of the state is :mod:`standoff.layout` (outside, numba-free, shared with readers of results).

Outside this folder only :mod:`standoff.ensemble` (which runs the kernel) imports it at module
level, so inputs, results, analysis and the front ends load without numba
(``tests/test_layout.py`` checks the import graph).
"""
