"""Monthly price paths of controlled products: the controlling country's domestic price, its
export (FOB) price and the price in each market outside it, as the model gives them.

For the closing notes and the README's price tables::

    python bench/price_paths.py --members 200

prints, for london-2025 (heavy oxides and magnets, 2025), gallium-2023 (gallium and germanium,
July 2023 to June 2024) and crisis-2010 (light and heavy oxides, 2010-12, quarterly), each
month's median price multiple (median member) inside China, FOB China and in each region
outside China that buys the product.  These are the model's outputs; observed prices after a
control started are deliberately not in the project (beyond ``../shared/data``).
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

CASES = (("london-2025", ("HREO", "MAGNET"), "2025-01", "2025-12", 1),
         ("gallium-2023", ("GA", "GE"), "2023-07", "2024-06", 1),
         ("crisis-2010", ("LREO", "HREO"), "2010-01", "2012-12", 3))


def paths(name: str, products: tuple[str, ...], first: str, last: str, every: int, members: int) -> pd.DataFrame:
    from standoff import simulate
    from standoff.scenario import load_scenario

    sc = load_scenario(name).with_(members=members, trajectories=members)
    ds = simulate(sc).ds
    net = sc.network()
    cn = net.cn_region
    month = pd.to_datetime(ds.time.values).strftime("%Y-%m")
    rows = []
    for prod in products:
        p = net.products.index(prod)
        buyers = [r for i, r in enumerate(net.regions)
                  if r != cn and float(net.flows[p, :, i].sum() + net.use[i, p]) > 0.0]
        series = {"domestic": ds.price_multiple.sel(region=cn, product=prod),
                  "FOB": ds.fob_price.sel(region=cn, product=prod)}
        for r in buyers:
            series[r] = ds.price_multiple.sel(region=r, product=prod)
        months = sorted(set(month))
        months = [m for m in months if first <= m <= last][::every]
        for m in months:
            sel = month == m
            row = {"scenario": name, "product": prod, "month": m}
            for k, da in series.items():
                row[k] = round(float(np.median(da.values[:, sel].mean(axis=1))), 2)  # median member's monthly mean
            rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=200)
    args = ap.parse_args()
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_columns", 20):
        for name, prods, first, last, every in CASES:
            df = paths(name, prods, first, last, every, args.members)
            for prod, d in df.groupby("product", sort=False):
                print(f"\n{name}, {prod}: price multiples (median member, monthly mean)")
                print(d.drop(columns=["scenario", "product"]).dropna(axis=1, how="all").to_string(index=False))


if __name__ == "__main__":
    main()
