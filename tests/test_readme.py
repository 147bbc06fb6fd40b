"""The README's claims, checked against fresh runs so they cannot go stale."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from standoff import load_scenario, simulate
from standoff.cli import app
from standoff.scenario import builtin_scenarios

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def _date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d %B %Y").date()


def test_readme_lists_every_builtin_scenario():
    line = re.search(r"Built in: (.+?)\n\n", README, re.S).group(1)
    named = set(re.findall(r"`([a-z0-9-]+)`", line)) - {"standoff"}
    from standoff.network import builtin_datasets
    named -= set(builtin_datasets())  # the datasets the scenarios run on are named beside them
    assert named == set(builtin_scenarios())


def test_readme_discover_example_finds_cases(tmp_path):
    """The command table's discover example runs as written on a london-2025 run."""
    ex = re.search(r"`standoff discover RUN ([^`]+)`", README).group(1)
    folder = tmp_path / "london"
    simulate("london-2025", members=64, seed=3).save(folder)
    res = runner.invoke(app, ["discover", str(folder), *ex.split()])
    assert res.exit_code == 0, res.output
    assert "PRIM box" in res.output


def test_readme_negotiated_figures_match_a_fresh_run():
    m = re.search(r"With 300 members .+?China's pressure passes its resolve\s+first in (\d+)% of members\. "
                  r"China's passes it within the horizon in (\d+)% \(median (\d+ \w+ \d{4}),.+?the US's in (\d+)% "
                  r"\(median (\d+ \w+ \d{4}|never within the horizon)\); the first agreement comes at\s+the Geneva "
                  r"round \(12 May\) in (\d+)% "
                  r"of members and by London in (\d+)%", README, re.S)
    assert m, "the README's negotiated paragraph changed shape; update this test with it"
    res = simulate(load_scenario("london-2025").negotiating().with_(members=300))
    cc = res.concessions().set_index("side")
    ab = res.agreement_by_date().assign(date=lambda d: d["date"].astype(str)).set_index("date")["p_agreement"]
    assert int(m.group(1)) == round(100 * cc.attrs["p_cn_first"])
    assert int(m.group(2)) == round(100 * cc.loc["CN", "p_concedes"])
    assert _date(m.group(3)) == cc.loc["CN", "median_date"].date()
    assert int(m.group(4)) == round(100 * cc.loc["US", "p_concedes"])
    if m.group(5) == "never within the horizon":
        assert pd.isna(cc.loc["US", "median_date"])
    else:
        assert _date(m.group(5)) == cc.loc["US", "median_date"].date()
    assert int(m.group(6)) == round(100 * ab.loc["2025-05-12"])
    assert int(m.group(7)) == round(100 * ab.loc["2025-06-09"])


def test_readme_stockout_excerpt_matches_a_fresh_run():
    from standoff.present import fmt_day_ci, fmt_p
    block = re.search(r"\$ standoff run london-2025\n(.+?)\n \.\.\.", README, re.S).group(1)
    rows = [re.match(r"\s*(\S+)\s+(\S+)\s+(\d+% \(\d+-\d+\))\s+(\S+ ±\S+)\s+\S+ - \S+\s+(\S+ ±\S+)", r)
            for r in block.splitlines()[1:]]
    res = simulate("london-2025")  # as the quick start runs it: the scenario's own members
    so = res.stockouts().set_index(["region", "sector"])
    start = res.scenario.start
    assert rows and all(rows)
    res_losses = res.losses().set_index(["region", "sector"])
    for m in rows:
        region, sector, p, median, loss = m.groups()
        got = so.loc[(region, sector)]
        lo = res_losses.loc[(region, sector)]
        half = max(lo["median"] - lo["median_lo"], lo["median_hi"] - lo["median"])
        assert loss == f"{lo['median']:.1f} ±{half:.1f}", (region, sector)
        assert p == fmt_p(got["p_stockout"], got["p_stockout_lo"], got["p_stockout_hi"]), (region, sector)
        assert median == fmt_day_ci(start, got["median_day"], got["median_day_lo"], got["median_day_hi"]), (region, sector)


def test_readme_precision_example_matches_a_fresh_run():
    from standoff.api import simulate_until
    m = re.search(r"--precision (stockout:USA:autos@160)=(0\.02)\n.+?\n .+?  ([\d.]+)%\s+([\d.]+)%\s+[\d.]+%\s+([\d,]+)  yes",
                  README, re.S)
    assert m, "the README's --precision example changed shape; update this test with it"
    res, rep = simulate_until(load_scenario("london-2025").with_(members=200), {m.group(1): float(m.group(2))}, 20000)
    assert f"{100 * rep[0]['estimate']:.1f}" == m.group(3)
    assert f"{100 * rep[0]['half_width']:.1f}" == m.group(4)
    assert f"{rep[0]['members']:,}" == m.group(5)


@pytest.mark.parametrize("command", ["scenarios", "check london-2025", "data", "runs --help", "validate --help",
                                     "report --help", "compare --help", "sensitivity --help", "discover --help",
                                     "resilience --help", "serve --help", "rerun --help", "calibrate --help", "nowcast --help",
                                     "data --help"])
def test_documented_commands_exist(command):
    res = runner.invoke(app, command.split())
    assert res.exit_code == 0, res.output


def test_readme_scenario_example_is_valid(tmp_path):
    """The YAML example under 'Scenarios' passes `standoff check` as written."""
    text = re.search(r"A scenario is a YAML file.+?```yaml\n(.+?)```", README, re.S).group(1)
    f = tmp_path / "example.yaml"
    f.write_text(text)
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 0, res.output
    from standoff.ensemble import plan
    plan(load_scenario(f))  # compiles against the dataset, sector coverage included
