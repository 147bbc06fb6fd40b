"""The day is written once (standoff.day.DAY): the kernel's loop, the reference, the docs follow it.

``run_block``'s daily loop is read with ``ast`` and checked call by call and argument by
argument against the table; every stage has its compiled function in the module the table
names and (but bookkeeping) its reference twin; and the README's table of stages is the
table's.  The stage-by-stage comparison with the reference lives in ``test_stages.py``.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from pathlib import Path

from standoff.core import engine, reference
from standoff.day import DAY, STATE

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _day_loop() -> ast.For:
    tree = ast.parse(textwrap.dedent(inspect.getsource(engine.run_days.py_func)))
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For) and getattr(n.target, "id", None) == "t"]
    assert len(loops) == 1, "run_days should have one loop over the days"
    return loops[0]


def test_run_block_calls_the_table_in_order_with_its_arguments():
    calls = []
    for stmt in _day_loop().body:
        value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
        assert isinstance(value, ast.Call), f"the day's loop holds only the stages' calls: {ast.unparse(stmt)}"
        targets = []
        if isinstance(stmt, ast.Assign):
            tgt = stmt.targets[0]
            targets = [e.id for e in tgt.elts] if isinstance(tgt, ast.Tuple) else [tgt.id]
        calls.append((value.func.id, tuple(ast.unparse(a) for a in value.args), tuple(targets)))
    table = [(s.name, s.args, s.returns) for s in DAY]
    assert calls == table


def test_every_stage_lives_where_the_table_says_and_has_its_twin():
    for st in DAY:
        mod = importlib.import_module(f"standoff.core.{st.module}")
        assert hasattr(mod, st.name), f"{st.name} is not in standoff.core.{st.module}"
        assert set(st.writes) <= set(STATE), st.name
        assert set(st.writes) <= set(st.args), st.name  # a stage changes only what it is given
        if st.twin_args is not None:
            method = getattr(reference.Member, st.name, None)
            assert method is not None, f"the reference has no twin of {st.name}"
            params = list(inspect.signature(method).parameters)[1:]
            assert len(params) == len(st.twin_args), (st.name, params, st.twin_args)


def test_the_readme_table_of_stages_is_the_days_table():
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (.+?) \|$", README, re.M)
    assert rows == [(s.name, s.module, s.does) for s in DAY]
