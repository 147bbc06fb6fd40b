"""Bad input: one clear message naming file, field and value; non-zero exit; nothing written."""
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standoff.cli import app

runner = CliRunner()

GOOD = """\
name: t
start: 2025-01-01
horizon_days: 60
members: 4
events:
  - {date: 2025-01-10, type: tariff, importer: USA, exporter: CHN, rate: 0.5}
"""


def _run(tmp_path: Path, text: str, *extra: str):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(f), "--out", str(out), "-q", *extra])
    return res, f, out


@pytest.mark.parametrize("text,needles", [
    ("name: t\nstart: 2025-01-01\nhorizon_days: [60\n", ["malformed YAML", "line"]),
    (GOOD.replace("importer: USA", "importer: USX"), ["events[0].importer", "USX", "unknown region"]),
    (GOOD.replace("rate: 0.5", "rate: -0.5"), ["events[0].rate", "-0.5"]),
    (GOOD.replace("rate: 0.5", "rate: lots"), ["events[0].rate", "lots"]),
    (GOOD.replace("2025-01-10", "2025-06-10"), ["events[0].date", "2025-06-10", "outside the horizon"]),
    (GOOD.replace("horizon_days: 60", "horizon_days: 0"), ["horizon_days", "greater than 0"]),
    (GOOD.replace("members: 4", "members: 0"), ["members", "greater than 0"]),
    (GOOD + "  - {date: 2025-01-10, type: export_control, exporter: CHN, products: [MAGNETS]}\n",
     ["events[1].products", "MAGNETS", "unknown product"]),
    (GOOD + "  - {date: 2025-01-10, type: export_control, exporter: CHN, products: [MAGNET], approval_share: 1.5}\n",
     ["events[1].approval_share", "1.5"]),
    (GOOD + "  - {date: 2025-01-10, type: export_control, exporter: CHN, products: [MAGNET], coverage: 1.2}\n",
     ["events[1].coverage", "1.2"]),
    (GOOD + "  - {date: 2025-01-10, type: export_control, exporter: CHN, products: [MAGNET], "
            "coverage: {autoz: 0.5}}\n", ["events[1].coverage.autoz", "unknown sector"]),
    (GOOD + "  - {date: 2025-01-10, type: export_control, exporter: CHN, products: [HREO], "
            "coverage: {autos: 0.5}}\n", ["events[1].coverage", "no sector uses HREO"]),
    (GOOD + "  - {date: 2025-01-10, type: export_control, exporter: CHN, products: [MAGNET], "
            "effective: 2025-01-05}\n", ["effective", "before the announcement"]),
    (GOOD + "  - {date: 2025-01-10, id: x, type: export_control, exporter: CHN, products: [MAGNET], "
            "effective: 2025-01-20}\n  - {date: 2025-01-25, type: suspend, control: x}\n",
     ["events[2].date", "2025-01-25", "effective date"]),
    (GOOD + "  - {date: 2025-01-25, type: suspend, control: nope}\n", ["events[1].control", "nope", "no export_control"]),
    (GOOD + "inventory_days: {autoz: 30}\n", ["inventory_days.autoz", "autoz"]),
    (GOOD + "parameters: {price_cap: {dist: uniform, low: 5, high: 2}}\n", ["parameters.price_cap", "low"]),
    (GOOD + "colour: blue\n", ["colour", "not permitted"]),
    (GOOD + "parameters: {price_cap: {dist: lognormal, median: 5, sigma: 0.3}}\n", ["parameters.price_cap",
                                                                                  "unbounded distribution"]),
    (GOOD + "parameters: {transit_days_cross_zone: 120}\n", ["parameters.transit_days_cross_zone", "120",
                                                            "domain [0, 90]"]),
    (GOOD.replace("type: tariff", "type: tarif"), ["events[0]", "tarif"]),
    ("- just\n- a list\n", ["mapping"]),
])
def test_bad_scenario_gets_one_clear_message_and_no_output(tmp_path, text, needles):
    res, f, out = _run(tmp_path, text)
    assert res.exit_code == 2, res.output
    msg = res.stderr if hasattr(res, "stderr") else res.output
    assert "Traceback" not in res.output
    assert str(f) in msg
    for n in needles:
        assert n in msg, (n, msg)
    assert not out.exists()


def test_unknown_scenario_name(tmp_path):
    res = runner.invoke(app, ["run", "london-2052", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "london-2052" in res.output and "london-2025" in res.output
    assert not (tmp_path / "o").exists()


def test_zero_members_on_the_command_line(tmp_path):
    res = runner.invoke(app, ["run", "baseline", "--members", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "members" in res.output and "0" in res.output
    assert not (tmp_path / "o").exists()


def test_existing_output_is_not_overwritten(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = runner.invoke(app, ["run", "baseline", "-n", "2", "--out", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_data_table():
    res = runner.invoke(app, ["data", "magnets"])
    assert res.exit_code == 2 and "unknown table" in res.output


def test_errors_found_after_loading_name_the_scenario_file(tmp_path):
    """The file travels with the scenario (also through with_, which checks a changed scenario
    against its dataset and the parameter domains as loading does), so a later error names it."""
    from standoff.errors import StandoffError
    from standoff.scenario import load_scenario
    f = tmp_path / "s.yaml"
    f.write_text(GOOD)
    sc = load_scenario(f).with_(members=2)
    assert sc.source == str(f)
    with pytest.raises(StandoffError) as err:
        sc.with_(parameters={"transit_days_same_zone": {"dist": "uniform", "low": 10, "high": 120}})
    assert str(f) in str(err.value) and "parameters.transit_days_same_zone" in str(err.value)


def test_an_existing_folder_is_refused_in_the_words_of_the_caller(tmp_path):
    """From Python the way out is the argument overwrite=True; on the command line, --overwrite."""
    import pytest
    import standoff
    from standoff.errors import StandoffError
    from typer.testing import CliRunner
    from standoff.cli import app

    res = standoff.simulate(standoff.load_scenario("baseline").with_(members=2, horizon_days=10, trajectories=2))
    out = tmp_path / "run"
    res.save(out)
    with pytest.raises(StandoffError, match="pass overwrite=True"):
        res.save(out)
    r = CliRunner().invoke(app, ["report", str(out), "--out", str(out)])
    assert r.exit_code != 0 and "--overwrite" in r.output and "overwrite=True" not in r.output


def test_a_streamed_run_says_what_needs_a_full_one(tmp_path):
    from typer.testing import CliRunner
    from standoff.cli import app
    out = tmp_path / "s"
    r = CliRunner().invoke(app, ["run", "baseline", "--members", "4", "--stream", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["rerun", str(out)])
    assert r.exit_code != 0 and "rerun" in r.output and "without --stream" in r.output
