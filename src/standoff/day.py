"""The model's day as one table: each stage, where it lives, what it is given and what it changes.

This is the one written order of a day.  :func:`standoff.core.engine.run_block` calls the stages in
this order with these arguments (``tests/test_day.py`` reads ``run_block``'s source with ``ast``
and checks it against this table, call by call and argument by argument);
:meth:`standoff.core.reference.Member.step` steps through the table; the stage tests
(``tests/test_stages.py``) and ``bench/bench_engine.py --stages`` iterate it; and the README's
table of stages is checked against it.  A new mechanism is a new row here, a compiled function
in its module, a reference method of the same name, and the call in ``run_block``.

Arguments are named as in ``run_block``: ``t`` the day, ``first`` the block's first member,
``seed``, ``neg_on``/``neg_start`` (the game), ``horizon``/``tail_start``, ``ap``/``tl``/``evT``
(the timeline and the next action), ``talks_today`` (from ``apply_actions``), and the state
containers of :mod:`standoff.layout` (``net``, ``par``, ``stocks``, ``market``, ``sec``,
``ship``, ``ctrl``, ``goods``, ``pol``, ``acc``, ``paths``, ``scr``).
"""
from __future__ import annotations

from dataclasses import dataclass

#: The state containers a stage may change (``net`` and ``par`` are constants within a run;
#: ``scr`` is scratch space).
STATE = ("stocks", "market", "sec", "ship", "ctrl", "goods", "pol", "acc", "paths")


@dataclass(frozen=True)
class Stage:
    """One stage of the day.

    Attributes
    ----------
    name
        The compiled function's name, and its reference twin's method name.
    module
        The module of its mechanism in the compiled core (:mod:`standoff.core`), where the
        compiled function lives.
    args
        Its arguments, as named in ``run_block``.
    returns
        The names ``run_block`` assigns from its result (none for most stages).
    writes
        The state containers it changes (the rest of :data:`STATE` it leaves as they were).
    twin_args
        The reference method's arguments (``t``, ``talks_today``, ``actions``), or ``None`` for
        kernel bookkeeping without a twin.
    does
        What it does, in a line (the README's table).
    """

    name: str
    module: str
    args: tuple[str, ...]
    returns: tuple[str, ...]
    writes: tuple[str, ...]
    twin_args: tuple[str, ...] | None
    does: str


DAY: tuple[Stage, ...] = (
    Stage("apply_actions", "engine", ("t", "ap", "tl", "evT", "stocks", "ctrl", "goods", "pol"), ("ap", "talks_today"),
          ("stocks", "ctrl", "goods", "pol"), ("t", "actions"),
          "a new day (today's pain at zero) and the scenario's dated actions (tariffs, controls, counter-measures, "
          "releases, capacity)"),
    Stage("play_negotiation", "negotiation",
          ("t", "first", "seed", "neg_on", "neg_start", "talks_today", "net", "par", "pol", "goods", "ctrl", "acc"), (),
          ("pol", "goods", "ctrl", "acc"), ("t", "talks_today"),
          "pressure ratios, the day each first passes 1, the political game"),
    Stage("record_politics", "engine", ("t", "pol", "paths"), (), ("paths",), ("t",),
          "the kept members' trust, pressure ratios and agreement in force"),
    Stage("refresh_control_flags", "controls", ("ctrl",), (), ("ctrl",), None,
          "which routes any member licenses (kernel bookkeeping; no twin)"),
    Stage("land_arrivals", "trade", ("t", "stocks", "ship", "acc"), (), ("stocks", "ship", "acc"), ("t",),
          "stockpile releases and today's arrivals"),
    Stage("produce_day", "production", ("net", "par", "stocks", "acc", "scr"), (), ("stocks", "acc"), (),
          "the chain produces, upstream first"),
    Stage("sector_pulls", "production", ("net", "par", "market", "sec"), (), ("sec",), (),
          "requirements (after substitution and thrift, bounded) and what each firm pulls"),
    Stage("import_needs", "trade", ("net", "par", "stocks", "market", "sec", "ship", "ctrl", "scr"), (),
          ("stocks",), (), "orders up to a target position (buying ahead of an announced control)"),
    Stage("review_licences", "controls", ("t", "first", "seed", "net", "par", "stocks", "ctrl"), (), ("ctrl",),
          ("t",), "the licensing authority: buyers apply; from its start it decides at its pace, in order; grants, "
          "refusals, buyers who give up or leave"),
    Stage("ship_usual", "trade", ("t", "net", "stocks", "market", "ship", "ctrl", "scr"), (), ("stocks", "ship", "ctrl"),
          ("t",),
          "round 1: usual suppliers, under the controls in force (uncovered and licensed shares, after customs "
          "inspection)"),
    Stage("divert", "trade", ("t", "stocks", "ship", "ctrl", "acc", "scr"), (), ("stocks", "ship", "acc"), ("t",),
          "round 2: any supplier with stock and no control"),
    Stage("supply_sectors", "production", ("t", "net", "par", "stocks", "sec", "pol", "acc", "paths", "scr"), (),
          ("stocks", "sec", "pol", "acc", "paths"), ("t",),
          "sectors draw (the first-claim sector first) and consume; losses, stockouts, readiness"),
    Stage("update_markets", "markets",
          ("t", "net", "par", "stocks", "market", "sec", "ship", "ctrl", "acc", "paths", "scr"), (),
          ("stocks", "market", "sec", "acc", "paths"), (), "prices, demand response, substitution, new capacity"),
    Stage("book_material_trade", "trade", ("t", "net", "ship", "ctrl", "market", "pol", "acc", "paths"), (),
          ("ship", "pol", "acc", "paths"), (),
          "trade lost, its export pain, the customs series (by exporter and by destination) and licence counts"),
    Stage("trade_goods", "trade", ("net", "par", "goods", "pol", "acc", "scr"), (), ("goods", "pol", "acc"), (),
          "goods trade under tariffs and counter-measures, and its pain"),
    Stage("count_leverage_lost", "politics", ("net", "par", "stocks", "pol"), (), ("pol",), (),
          "the controller's strategic pain from the leverage it loses as capacity outside it grows"),
    Stage("book_pain", "politics", ("pol",), (), ("pol",), (), "pain totals and interest-group pressure"),
    Stage("track_after_deal", "engine", ("t", "horizon", "tail_start", "neg_on", "net", "sec", "ship", "acc"), (),
          ("acc",), ("t",), "the controller's share at the end, the lead sector's rebuild after a deal"),
    Stage("record_pain", "engine", ("t", "pol", "paths"), (), ("paths",), ("t",),
          "the kept members' cumulative pain per side"),
)


def stage(name: str) -> Stage:
    """The row of stage ``name``."""
    for s in DAY:
        if s.name == name:
            return s
    raise KeyError(name)


def kernel_function(st: Stage):  # noqa: ANN201 - a numba dispatcher
    """The compiled function of a stage (imports the kernel module: numba)."""
    import importlib
    return getattr(importlib.import_module(f"standoff.core.{st.module}"), st.name)
