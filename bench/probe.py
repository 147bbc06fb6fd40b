"""A hostile-input probe: mutate scenarios and datasets, and count how standoff answers.

Every mutation must end in one of two ways: refused with a ``StandoffError`` that names the
file (and, for a dataset, the table), or accepted and then run to a finite answer.  What the
probe looks for is everything else: an internal error (any other exception), or an accepted
input whose run gives NaN or infinity.  Not a test (it takes minutes); the tests hold one
reproduction of each fault it found (``tests/test_probe.py``).

    python bench/probe.py                 # all mutations, a summary and the faults
    python bench/probe.py --quick         # a sample, for a first look

Scenario mutations: every dataset parameter and negotiation parameter set to 0, -1, 1e6, 1e-12,
a string, a NaN text and an inverted or unbounded distribution, and a list of broken top-level
fields.  Dataset mutations (on a copy of ``baseline-2024``): every numeric cell of every table
set to 0, -1, 1e12, blank and text, every row duplicated, and every row deleted.
"""
from __future__ import annotations

import argparse
import collections
import copy
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

BASE = {"name": "probe", "baseline": "baseline-2024", "start": "2025-01-01", "horizon_days": 120, "members": 2,
        "seed": 1, "trajectories": 1,
        "events": [{"date": "2025-01-10", "type": "export_control", "exporter": "CHN",
                    "products": ["HREO", "METAL", "MAGNET"], "approval_share": 0.25, "delay_days": 60}]}


def _outcome(fn) -> str:
    from standoff.errors import StandoffError
    try:
        res = fn()
    except StandoffError as exc:
        return "refused, named" if exc.file or exc.field else "refused, unnamed"
    except Exception as exc:  # noqa: BLE001 - what the probe is looking for
        return f"INTERNAL {type(exc).__name__}: {str(exc)[:120]}"
    if res is None:
        return "accepted"
    ds = res.ds
    for name in ("output_loss_usd_bn", "pain_usd_bn", "material_balance_t", "units_lost"):
        if not np.isfinite(ds[name].values).all():
            return f"NAN in {name}"
    return "ran, finite"


def scenario_mutations(quick: bool) -> list[tuple[str, dict]]:
    from standoff.network import load_network
    net = load_network("baseline-2024")
    out = []
    values = [0, -1, 1e6, 1e-12, "x", ".nan", {"dist": "uniform", "low": 5, "high": 1},
              {"dist": "lognormal", "median": 1, "sigma": 2}, {"dist": "normal", "mean": 1, "sd": 1, "low": 2, "high": 0}]
    names = list(net.parameters.index)
    for name in names[: 6 if quick else None]:
        for v in values:
            d = copy.deepcopy(BASE)
            d["parameters"] = {name: v}
            out.append((f"parameters.{name}={v}", d))
    for name in list(net.negotiation.index)[: 4 if quick else None]:
        for v in values:
            d = copy.deepcopy(BASE)
            d["negotiation"] = {"enabled": True, "parameters": {name: v}}
            out.append((f"negotiation.{name}={v}", d))
    broken = {"members": [True, 0, -5, 1.5, "10"], "horizon_days": [0, 4000, True], "start": ["0001-01-01", "2300-01-01",
              "2025-02-30"], "name": ["a\x00b", "", "x" * 500], "seed": [-1, 2**64, True], "firms": [0, 1000],
              "trajectories": [-1], "baseline": ["../../etc", "/dev/zero", "nope"]}
    for field, vals in broken.items():
        for v in vals:
            d = copy.deepcopy(BASE)
            d[field] = v
            out.append((f"{field}={v!r}"[:80], d))
    return out


def probe_scenarios(quick: bool) -> collections.Counter:
    from standoff import simulate
    from standoff.scenario import scenario_from_dict
    counts: collections.Counter = collections.Counter()
    for label, d in scenario_mutations(quick):
        def go(d=d):
            sc = scenario_from_dict(d, file="probe.yaml")
            return simulate(sc)
        o = _outcome(go)
        counts[o.split(":")[0] if o.startswith(("INTERNAL", "NAN")) else o] += 1
        if o.startswith(("INTERNAL", "NAN")):
            print(f"  scenario {label}: {o}")
    return counts


def dataset_mutations(folder: Path, quick: bool):
    for f in sorted(folder.glob("*.csv")):
        lines = f.read_text().splitlines()
        header = lines[0].split(",")
        rows = lines[1:][: 2 if quick else None]
        for i, _ in enumerate(rows):
            yield f"{f.name}: duplicate row {i + 2}", f, lines + [lines[i + 1]]
            yield f"{f.name}: delete row {i + 2}", f, lines[: i + 1] + lines[i + 2:]
            import csv
            import io
            cells = next(csv.reader(io.StringIO(lines[i + 1])))
            for j, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    continue
                for v in ("0", "-1", "1e12", "", "abc"):
                    new = cells.copy()
                    new[j] = v
                    buf = io.StringIO()
                    csv.writer(buf, lineterminator="").writerow(new)
                    yield f"{f.name}: row {i + 2}.{header[j] if j < len(header) else j}={v!r}", f, \
                        lines[: i + 1] + [buf.getvalue()] + lines[i + 2:]


def probe_datasets(quick: bool) -> collections.Counter:
    from standoff import simulate
    from standoff.network import load_network
    from standoff.scenario import scenario_from_dict
    counts: collections.Counter = collections.Counter()
    src = Path(str(resources.files("standoff") / "data" / "baseline-2024"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(src, folder)
        originals = {f: f.read_text() for f in folder.glob("*.csv")}
        for label, f, lines in dataset_mutations(folder, quick):
            f.write_text("\n".join(lines) + "\n")
            load_network.cache_clear()

            def go():
                d = {**copy.deepcopy(BASE), "baseline": str(folder), "horizon_days": 60, "events": []}
                return simulate(scenario_from_dict(d, file="probe.yaml"))
            o = _outcome(go)
            counts[o.split(":")[0] if o.startswith(("INTERNAL", "NAN")) else o] += 1
            if o.startswith(("INTERNAL", "NAN")):
                print(f"  dataset {label}: {o}")
            f.write_text(originals[f])
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    s = probe_scenarios(args.quick)
    print("scenario mutations:", sum(s.values()), dict(s))
    d = probe_datasets(args.quick)
    print("dataset mutations:", sum(d.values()), dict(d))
    bad = sum(v for k, v in {**s, **d}.items() if k.startswith(("INTERNAL", "NAN")))
    print(f"faults (internal errors or NaN answers): {bad}")


if __name__ == "__main__":
    main()
