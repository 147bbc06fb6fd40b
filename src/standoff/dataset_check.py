"""`standoff data --check FOLDER`: check a dataset of one's own and show that it is a steady state.

Reading the tables checks every file, row and column (:func:`standoff.network.load_network`
raises with the file, row and column at fault).  Then a no-conflict scenario on the dataset runs
for a short horizon: a consistent dataset loses nothing and conserves material, so a loss there
means sourcing, demand and production do not add up.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from .errors import StandoffError


def write_template(folder: str | Path) -> Path:
    """Write the made-up chokepoint dataset (and its example scenario) into ``folder`` to start
    your own from; ``folder`` must not exist or be empty.  Returns the folder."""
    import shutil
    from importlib import resources

    from .errors import StandoffError
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StandoffError("folder exists and is not empty", file=str(folder))
    src = resources.files("standoff") / "data_template"
    folder.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name.endswith((".csv", ".md", ".yaml")):
            shutil.copyfile(str(f), folder / f.name)
    return folder


def check_dataset(folder: str | Path, days: int = 60, members: int = 4) -> list[str]:
    """Check the dataset in ``folder``; return the lines of a report (raises ``StandoffError`` with
    the file, row and column named on the first problem)."""
    from .api import simulate
    from .network import load_network
    from .scenario import scenario_from_dict

    folder = Path(folder)
    if not folder.is_dir():
        raise StandoffError("not a folder", file=str(folder))
    load_network.cache_clear()  # a user's folder may have changed since it was last read
    net = load_network(folder.resolve())
    assumed = {t: int((df["source"] == "ASSUMPTION").sum()) for t, df in net.tables.items() if "source" in df.columns}
    lines = [f"{folder}: tables read and checked",
             f"  regions: {', '.join(net.regions)} (sides: US = {net.us_region}, CN = {net.cn_region})",
             f"  products: {', '.join(net.products)}; sectors: {', '.join(net.sectors)}",
             f"  key product {net.key_product}; headline sectors {', '.join(net.headline_sectors)}; headline importers "
             f"{', '.join(net.headline_importers)}",
             "  rows marked ASSUMPTION: " + ", ".join(f"{t} {n}" for t, n in assumed.items() if n)]
    counted = int(net.tables["output_value"]["units_per_year"].notna().sum())
    lines.append(f"  tonnes, units and money agree within a factor of 2 in the {counted} output_value rows that count "
                 "units" if counted else "  no output_value row counts units (units_per_year): units lost use each "
                 "sector's kg_per_unit")
    sc = scenario_from_dict({"name": "data-check", "baseline": str(folder.resolve()), "start": str(dt.date(2025, 1, 1)),
                             "horizon_days": days, "members": members, "seed": 1, "trajectories": 0}, file=str(folder))
    res = simulate(sc)
    # max, not nanmax: a NaN must fail the check, never slip past it (the run itself refuses NaN too).
    loss_v, bal_v = res.ds["output_loss_usd_bn"].values, res.ds["material_balance_t"].values
    if not (np.isfinite(loss_v).all() and np.isfinite(bal_v).all()):
        raise StandoffError("the no-conflict run gives NaN or infinite losses or balances", file=str(folder))
    loss = float(np.max(loss_v))
    bal = float(np.max(np.abs(bal_v)))
    if loss > 1e-9:
        raise StandoffError(f"without any conflict the dataset loses output ({loss:.3g} US$ bn in {days} days): "
                            "sourcing, demand, production and inventories do not add up to a steady state",
                            file=str(folder))
    lines.append(f"  no-conflict run ({members} members, {days} days): no output lost, material balance within "
                 f"{bal:.2g} t: a steady state")
    lines.append("ok: write scenarios with `baseline: " + str(folder) + "` and run them with `standoff run`")
    return lines
