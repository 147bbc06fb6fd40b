"""The example notebooks run top to bottom in a fresh kernel, and what they show is there.

They are committed without outputs (so diffs stay readable) and executed here with nbclient, so
they can never go stale.  The kernel is this interpreter's (ipykernel, from the test extras).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, f"{name}: commit it without outputs"
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.get("output_type") in ("execute_result", "display_data") and mime in o.get("data", {})]


def test_there_are_example_notebooks():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == ["policy-comparison.ipynb", "tour-london-2025.ipynb",
                                                               "your-own-chokepoint.ipynb"]


def test_the_tour_runs_and_shows_its_tables_and_charts(tmp_path):
    nb = _run("tour-london-2025.ipynb", tmp_path)
    html = _outputs(nb, "text/html")
    assert any("P(stockout)" in h and "london-2025" in h for h in html)  # Results' own summary
    assert len(_outputs(nb, "image/png")) >= 4  # stockouts, a fan, price tiers, a tornado
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors


def test_the_policy_comparison_runs_paired(tmp_path):
    nb = _run("policy-comparison.ipynb", tmp_path)
    html = "".join(_outputs(nb, "text/html"))
    assert "paired" in html and "stockout:USA:autos" in html
    assert len(_outputs(nb, "image/png")) >= 1


def test_your_own_chokepoint_writes_checks_runs_and_compares(tmp_path):
    nb = _run("your-own-chokepoint.ipynb", tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "tables read and checked" in text and "a steady state" in text
    html = "".join(_outputs(nb, "text/html"))
    assert "example-licences" in html and "stockout:BUY:assembly" in html and "paired" in html
    assert len(_outputs(nb, "image/png")) >= 1


@pytest.mark.parametrize("name", ["tour-london-2025.ipynb", "policy-comparison.ipynb", "your-own-chokepoint.ipynb"])
def test_notebooks_are_valid_and_clean(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
