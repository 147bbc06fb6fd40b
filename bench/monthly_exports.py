"""The controlling country's monthly exports of its controlled products, as the model gives them.

For the closing notes and the README's table of what a licensing regime does to trade::

    python bench/monthly_exports.py --members 200

prints, for london-2025 (magnets, 2025) and gallium-2023 (gallium, high-purity gallium and
germanium, July 2023 to June 2024), each month's exports as a multiple of the baseline (median
member, with p10 and p90), to all destinations and declared through third countries (leakage).
These are the model's outputs; the observed series are deliberately not in the project.
"""
from __future__ import annotations

import argparse

import pandas as pd


def monthly(name: str, products: list[str], first: str, last: str, members: int) -> pd.DataFrame:
    from standoff import simulate
    from standoff.results import THIRD_COUNTRIES
    from standoff.scenario import load_scenario

    sc = load_scenario(name).with_(members=members, trajectories=members)
    cu = simulate(sc).customs()
    cu = cu[cu["product"].isin(products) & (cu["month"] >= first) & (cu["month"] <= last)]
    net = sc.network()
    rows = []
    for (prod, month), d in cu.groupby(["product", "month"]):
        allx = d[d["destination"] == "ALL"].iloc[0]
        p, e = net.products.index(prod), net.regions.index(net.cn_region)
        base = float(sum(net.flows[p, e, i] for i in range(len(net.regions)) if i != e))
        third = d[d["destination"] == THIRD_COUNTRIES]
        rows.append({"scenario": name, "product": prod, "month": month, "x_baseline": round(allx["x_baseline"], 2),
                     "p10": round(allx["p10"] / base, 2), "p90": round(allx["p90"] / base, 2),
                     "via_third_countries": round(float(third["median_t_per_day"].iloc[0]) / base, 3)
                     if len(third) else 0.0})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=200)
    a = ap.parse_args()
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        for name, prods, first, last in (("london-2025", ["MAGNET", "HREO"], "2025-01", "2025-12"),
                                         ("gallium-2023", ["GA", "GAHP", "GE"], "2023-06", "2024-05")):
            df = monthly(name, prods, first, last, a.members)
            print(df.pivot_table(index="month", columns="product", values="x_baseline").to_string())
            print(df.to_string(index=False))


if __name__ == "__main__":
    main()
