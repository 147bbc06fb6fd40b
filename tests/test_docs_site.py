"""The documentation site builds offline, strictly (no warning), from the docstrings and the
parameter tables, and holds what it says it holds."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly_and_offline(tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                        "-d", str(site)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "WARNING" not in r.stderr, r.stderr
    api = (site / "api" / "index.html").read_text()
    assert "simulate" in api and "progress bar" in api and "plot_fan" in api  # from the docstrings
    params = (site / "parameters" / "index.html").read_text()
    for name in pd.read_csv(ROOT / "src" / "standoff" / "defaults" / "parameters.csv")["name"]:
        assert name in params, name  # every model-wide parameter, from the table the model reads
    for name in pd.read_csv(ROOT / "src" / "standoff" / "defaults" / "negotiation.csv")["name"]:
        assert name in params, name
    model = (site / "model" / "index.html").read_text()
    from standoff.day import DAY
    for st in DAY:
        assert st.name in model, st.name
    assert "stockpile" in (site / "policy-comparison" / "index.html").read_text()
    # offline: no page loads a script, style sheet or image from another host
    for page in site.rglob("*.html"):
        remote = re.findall(r'(?:src|<link[^>]+href)="(https?://[^"]+)"', page.read_text())
        assert not remote, (page.name, remote)
    assert not (site / "hooks.py").exists()
