"""The compiled cache cannot go stale: an edit to any module the kernel calls reaches the next run."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import standoff

PKG = Path(standoff.__file__).resolve().parent
RUN = ("import hashlib, numpy as np\n"
       "from standoff import ensemble\n"
       "from standoff.ensemble import plan, run_chunk\n"
       "from standoff.scenario import load_scenario\n"
       "cached = ensemble.engine_cached()\n"
       "sc = load_scenario('london-2025').with_(members=4, trajectories=0)\n"
       "c = run_chunk(plan(sc), 0, 4, full_precision=True)\n"
       "print('CACHED', cached, 'DIGEST', hashlib.sha256(c.arrays['output_loss_usd_bn'].tobytes()).hexdigest())\n")


def _run(root: Path) -> tuple[bool, str]:
    out = subprocess.run([sys.executable, "-c", RUN], env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=600, cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    words = out.stdout.split()
    return words[1] == "True", words[3]


def test_an_edit_to_a_stage_module_takes_effect(tmp_path):
    # The copy takes the package's compiled cache with it (numba's index holds our stamp, not a
    # path), so the first run only loads when an earlier test compiled the kernel here: one cold
    # compile (the edit's) instead of two, about 70 s less.  A cache that is absent or stale
    # compiles once more and the test still holds.
    copy = tmp_path / "pkg" / "standoff"
    shutil.copytree(PKG, copy)
    _, before = _run(tmp_path / "pkg")
    cached, again = _run(tmp_path / "pkg")
    assert cached and again == before  # the second run loads what the first compiled or found
    markets = copy / "core" / "markets.py"
    text = markets.read_text()
    edited = text.replace("effort = min(max((price - 1.0) / SUB_EFFORT_SPAN, 0.0), 1.0)",
                          "effort = min(max((price - 1.0) / 0.5, 0.0), 1.0)")
    assert edited != text
    markets.write_text(edited)  # engine.py is untouched: its own file's stamp alone would not see this
    cached, after = _run(tmp_path / "pkg")
    assert not cached and after != before
