"""One owner for the layout, and reading a saved run without the compiled engine."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from standoff import layout, simulate

SRC = Path(layout.__file__).parent


def test_layout_imports_no_compiler():
    tree = ast.parse((SRC / "layout.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "numba" not in names and "numba" not in mods and not any(m and "engine" in m for m in mods)


def test_indices_and_codes_are_defined_once():
    """No module but layout assigns the layout's names (they may import and re-export them)."""
    owned = {"PARAMS", "NEG_PARAMS", "NEG_OUTPUTS", "OUTPUT_SHAPES", "TRAJ_SHAPES", "MODES", "STRATEGIES",
             "SIDES", "PAIN_KINDS", "N_STATE", "LICENCE_CONTRACTS", "RING_DAYS", "COHORT_MULT"}
    for path in SRC.rglob("*.py"):
        if path.name == "layout.py":
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            for tgt in targets:
                for n in ast.walk(tgt):
                    if isinstance(n, ast.Name):
                        assert n.id not in owned, f"{path.name} defines {n.id}; it belongs in layout.py"


def test_reading_a_saved_run_does_not_load_the_engine(tmp_path):
    folder = tmp_path / "run"
    simulate("london-2025", members=8).save(folder)
    code = ("import sys\nfrom standoff.results import Results\nfrom standoff.report import write_report\n"
            f"res = Results.load({str(folder)!r})\nres.stockouts(); res.summary()\n"
            f"write_report(res, {str(tmp_path / 'report')!r})\n"
            "bad = [m for m in sys.modules if m == 'numba' or m.startswith('numba.') or m == 'standoff.core.engine']\n"
            "print('LOADED', bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout


def test_cli_holds_commands_only():
    """Table building lives in standoff.present; the CLI module builds no table itself."""
    cli = (SRC / "cli.py").read_text()
    assert "Table(" not in cli and "from rich.table" not in cli


def test_one_lever_module_and_one_table_of_bounds():
    from standoff.levers import apply_dashboard_levers, apply_lever
    from standoff.scenario import FIELD_BOUNDS, load_scenario
    from standoff.web.app import Levers

    sc = load_scenario("london-2025")
    by_search = apply_lever(sc, "stockpile", "USA", "MAGNET", 600.0)
    by_page = apply_dashboard_levers(sc.model_dump(mode="json"), Levers(stockpile_us_key_product_t=600.0))
    rel_search = [e for e in by_search.events if e.type == "stockpile_release"]
    rel_page = [e for e in by_page["events"] if e["type"] == "stockpile_release"]
    assert len(rel_search) == len(rel_page) == 1
    assert str(rel_search[0].date) == rel_page[0]["date"] and rel_search[0].tonnes_per_day == rel_page[0]["tonnes_per_day"]
    # the page's inventory bound is the schema's
    hi = FIELD_BOUNDS["inventory_days"][1]
    assert Levers(inventory_days_lead_sector=hi).inventory_days_lead_sector == hi
    for src in ("web/app.py", "analysis.py"):
        text = (SRC / src).read_text()
        assert '"stockpile_release"' not in text, f"{src} writes a stockpile release itself"


def test_the_package_names_no_region_product_or_sector_of_a_dataset():
    """The standoff (sides, key product, headline sectors and importers) comes from the dataset's
    declaration.csv and regions.csv, and the back-tests' regions and products from
    scenarios/backtests/episodes.yaml, so the code works for any chokepoint."""
    import re
    from pathlib import Path

    import standoff
    from standoff.network import builtin_datasets, load_network
    names = set()
    for ds in builtin_datasets():
        net = load_network(ds)
        names |= set(net.regions) | set(net.products) | set(net.sectors)
    pat = re.compile(r"[\"'](" + "|".join(sorted(map(re.escape, names))) + r")[\"']")
    root = Path(standoff.__file__).parent
    hits = []
    for f in sorted(root.rglob("*.py")):
        if "data" in f.relative_to(root).parts or "scenarios" in f.relative_to(root).parts:
            continue
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if pat.search(line):
                hits.append(f"{f.relative_to(root)}:{i}: {line.strip()}")
    assert not hits, "names of a dataset in the code:\n" + "\n".join(hits)


#: String literals that contain a dataset's name as a word and may: each with its reason.
NAME_WORDS_ALLOWED = {
    "p_stockout_usa_autos": "the catalogue's old column names, mapped to their new ones for old catalogues",
    "median_stockout_day_usa_autos": "as above",
    "median_loss_usa_autos_bn": "as above",
    "defense_strategic_weight": "a parameter of the model's vocabulary (renaming it would break users' scenarios)",
    "other_products": "a key of declaration.csv",
    "The other episode, to test on.": "English",
    "the sector that draws first on a region's stock (defense priority; may be empty)": "English: the concept",
    "Trust in the other side's compliance": "English",
    "lowest 30-day mean share of the first-claim sector's requirement met (defense readiness)": "the concept",
    "t, cumulative (lost: below baseline imports; diverted: from other suppliers)": "English",
    "belief that the other side complies (0-1)": "English",
}


def test_no_string_literal_holds_a_dataset_name_as_a_word():
    """Stricter than the test above: a dataset's name as a word (``_`` separating words too)
    anywhere inside any string literal but a docstring, so ``stockpile_usa_magnet_t`` or
    ``"loss:USA:autos"`` are found; the few literals that may are listed with their reasons."""
    import ast
    import re
    from pathlib import Path

    import standoff
    from standoff.network import builtin_datasets, load_network
    names = set()
    for ds in builtin_datasets():
        net = load_network(ds)
        names |= set(net.regions) | set(net.products) | set(net.sectors)
    pat = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                     + r")(?![A-Za-z0-9])")
    root = Path(standoff.__file__).parent
    hits = []
    for f in sorted(root.rglob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        docs = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if pat.search(node.value) and node.value not in NAME_WORDS_ALLOWED:
                    hits.append(f"{f.relative_to(root)}:{node.lineno}: {node.value[:100]!r}")
    assert not hits, "dataset names inside string literals:\n" + "\n".join(hits)


def test_the_compiled_core_is_a_folder_and_only_the_ensemble_imports_it():
    """Everything numba compiles is in standoff/core; outside it, only standoff.ensemble (which runs
    the kernel) imports the core at module level, so every other module loads without numba, by
    construction (the import graph), not by care in placing imports inside functions."""
    import ast
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        text = path.read_text(encoding="utf-8")
        if rel.parts[0] == "core":
            continue
        assert "kernel_jit" not in text or rel.name == "layout.py", f"{rel} compiles outside standoff/core"
        if rel.name == "ensemble.py":
            continue
        for node in ast.parse(text).body:  # module level only: imports inside functions are lazy
            mods = []
            if isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "") + "." + a.name for a in node.names]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                assert "core" not in m.split(".") and not m.startswith("numba"), f"{rel} imports {m} at module level"


def test_every_module_outside_the_core_loads_without_numba():
    modules = sorted({".".join(("standoff", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
                      for p in SRC.rglob("*.py") if "core" not in p.relative_to(SRC).parts
                      and p.name not in ("ensemble.py", "api.py", "parallel.py", "__main__.py")})
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "print('LOADED', sorted(m for m in sys.modules if m == 'numba' or m.startswith('standoff.core')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout


def test_every_route_term_is_a_field_compiled_applied_and_bounded():
    """A control's per-route terms are one table: each is an event field with bounds, each set
    by the timeline on its day in the kernel's ``c_term`` and the reference's route."""
    import numpy as np
    import pytest
    from standoff.ensemble import plan
    from standoff.errors import StandoffError
    from standoff.scenario import FIELD_BOUNDS, ExportControlEvent

    from .conftest import control, make
    fields = [t.field for t in layout.ROUTE_TERMS if t.field]
    assert len(set(t.name for t in layout.ROUTE_TERMS)) == len(layout.ROUTE_TERMS)
    for f in fields:
        assert f in ExportControlEvent.model_fields
        assert FIELD_BOUNDS[f] == next(t.bounds for t in layout.ROUTE_TERMS if t.field == f)
        hi = FIELD_BOUNDS[f][1]
        with pytest.raises(StandoffError) as err:
            make(events=[control(**{f: hi + 1.0})])
        assert f in str(err.value)
    given = {"authority_start_days": 20.0, "decision_rate": 0.1, "priority": 1.0, "trader_share": 0.2,
             "reapply_share": 0.5, "chill_share": 0.3, "chill_days": 30.0, "leakage_wedge": 1.0,
             "leakage_capacity": 0.5, "military_screen": 1.0,
             "export_tax": 0.1}
    pl = plan(make(events=[control(approval=0.3, delay=40.0, review_min_days=7.0, leakage=0.05, coverage=0.6,
                                   **given)]))
    kinds = set(pl.actions["kind"].tolist())
    for k, t in enumerate(layout.ROUTE_TERMS):
        if t.field is not None:
            assert layout.A_TERM + k in kinds, t.name
    # a term a later event does not give keeps the value in force: no action sets it
    later = plan(make(events=[control(**given), control(day="2025-03-01", approval=0.5)]))
    rate = later.actions["day"][later.actions["kind"] == layout.A_TERM + layout.T_RATE]
    assert set(rate.tolist()) == {31}
    cols = pl.actions["col"][pl.actions["kind"] == layout.A_TERM + layout.T_RMIN]
    assert np.all(np.array([pl.columns[c][0].spec for c in cols]) == 7.0)


def test_the_engine_builds_paths_in_the_order_of_the_table():
    """``init_block`` (compiled, so it cannot read the table) names the daily paths in the order of
    ``layout.PATH_FIELDS``, and that table covers every path of ``TRAJ_SHAPES`` once."""
    tree = ast.parse((SRC / "core" / "engine.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Paths"]
    assert len(calls) == 1
    names = [a.attr for a in calls[0].args[1:]]
    assert tuple(names) == layout.PATH_FIELDS
    assert sorted(layout.PATH_FIELDS) == sorted(layout.TRAJ_SHAPES)


def test_the_command_line_starts_without_the_numerical_stack():
    """`standoff --help` and the argument checks must not pay for scipy, xarray or numba."""
    import subprocess
    import sys
    code = ("import sys, standoff.cli; heavy = [m for m in ('scipy', 'xarray', 'numba', 'pandas') if m in sys.modules];"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out, out


def test_no_two_random_draws_share_a_stream():
    """The game's streams are all distinct and lie below the licence contracts' streams, which
    start at ``STREAM_LICENCE`` and go up by three per contract, however many routes a dataset has."""
    used = [s for streams in layout.GAME_STREAMS.values() for s in streams]
    assert len(used) == len(set(used)), sorted(used)
    assert max(used) < layout.STREAM_LICENCE
    # the game's second uniforms (+1000 and +2) are listed, so a new draw must be listed too
    import inspect

    from standoff.core import negotiation
    src = inspect.getsource(negotiation)
    for name in ("STREAM_ROUND", "STREAM_Q_US", "STREAM_MEASURE", "STREAM_READ", "STREAM_EXTEND", "STREAM_BELIEF"):
        assert name in src
    assert src.count("+ 1000") == 2 and src.count("+ 1001") == 1  # _normal; the deadline (US, CN)
