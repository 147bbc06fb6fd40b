"""mkdocs hooks: pages generated at build time from what the model itself reads, so that they
cannot drift from it (the parameter tables, the table of a day's stages, the example notebook)."""
from __future__ import annotations

import json
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def _md_cell(v: object) -> str:
    s = "" if v is None else str(v)
    if s == "nan":
        s = ""
    return s.replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict], cols: list[str]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_md_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def parameters_page() -> str:
    import pandas as pd

    from standoff.network import model_defaults
    d = model_defaults()
    src = d["sources"].set_index("key")["citation"].to_dict() if "key" in d["sources"] else {}

    def cite(key: object) -> str:
        k = str(key)
        return f"{k}: {src[k]}" if k in src else k

    parts = ["# Parameters and their sources",
             "Generated from `src/standoff/defaults/` when the site is built: the model-wide parameters "
             "(`parameters.csv`), the negotiation game's (`negotiation.csv`) and the structural constants "
             "(`constants.csv`). A dataset or a scenario may set any parameter; an uncertain parameter is "
             "drawn from a triangular distribution over its range unless a scenario fixes it. A value "
             "marked CALIBRATED names the observation it was fitted on; ASSUMPTION rows say why the value "
             "and range were chosen."]
    for name, title in (("parameters", "Model-wide parameters"), ("negotiation", "The negotiation game")):
        df = d[name]
        rows = [{"name": f"`{r['name']}`", "value": r["value"], "range": f"{r['low']} - {r['high']}",
                 "unit": r["unit"], "source": cite(r["source"]), "note": r["note"]} for _, r in df.iterrows()]
        parts += [f"## {title}", _table(rows, ["name", "value", "range", "unit", "source", "note"])]
    const = pd.read_csv(ROOT / "src" / "standoff" / "defaults" / "constants.csv")
    rows = [{"name": f"`{r['name']}`", "value": r["value"], "unit": r["unit"], "source": cite(r["source"]),
             "note": r["note"]} for _, r in const.iterrows()]
    parts += ["## Structural constants", "Fixed within a build (some are array sizes of the compiled kernel).",
              _table(rows, ["name", "value", "unit", "source", "note"])]
    return "\n\n".join(parts) + "\n"


def model_page() -> str:
    from standoff.day import DAY
    parts = ["# The model, stage by stage",
             "A simulated day runs these stages in this order (`standoff.day.DAY`, the table the compiled "
             "engine and the reference simulator are both checked against). Each module of the compiled "
             "core holds the mechanisms of its stages; its own account follows the table."]
    parts.append(_table([{"stage": f"`{s.name}`", "module": f"`standoff.core.{s.module}`", "what it does": s.does}
                         for s in DAY], ["stage", "module", "what it does"]))
    seen = []
    for s in DAY:
        if s.module not in seen:
            seen.append(s.module)
    for mod in seen:
        # The modules' docstrings are read from the source (no compilation needed to build the site).
        doc = _module_doc(ROOT / "src" / "standoff" / "core" / f"{mod}.py")
        parts += [f"## `standoff.core.{mod}`", doc or "(no module docstring)"]
    return "\n\n".join(parts) + "\n"


def _module_doc(path: Path) -> str:
    import ast
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def notebook_page() -> str:
    nb = json.loads((ROOT / "notebooks" / "policy-comparison.ipynb").read_text(encoding="utf-8"))
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"])
        parts.append(src if c["cell_type"] == "markdown" else f"```python\n{src}\n```")
    parts.append("*This page is the notebook `notebooks/policy-comparison.ipynb`, without its outputs; the "
                 "test suite runs it in a Jupyter kernel (`tests/test_notebooks.py`).*")
    return "\n\n".join(parts) + "\n"


def on_files(files, config):  # noqa: ANN001, ANN201 - mkdocs' hook signature
    for name, make in (("parameters.md", parameters_page), ("model.md", model_page),
                       ("policy-comparison.md", notebook_page)):
        files.append(File.generated(config, name, content=make()))
    return files
