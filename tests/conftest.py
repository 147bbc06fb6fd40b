"""Shared helpers: small scenarios built from dicts, so each test states what it varies."""
from __future__ import annotations

import copy
from typing import Any

import os

import pytest
from hypothesis import settings

# Property tests are reproducible wherever the README's test command runs them (`.ci/run` sets no
# CI variable): derandomized by default, the same examples every run, so a submission cannot fail
# on a draw another did not make.  HYPOTHESIS_PROFILE=dev draws new examples (a search for
# counterexamples), printing the failing example's blob so it can be replayed and pinned.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from standoff import simulate
from standoff.scenario import scenario_from_dict

BASE: dict[str, Any] = {
    "name": "test",
    "baseline": "baseline-2024",
    "start": "2025-01-01",
    "horizon_days": 240,
    "members": 24,
    "seed": 7,
    "trajectories": 4,
    "events": [],
}


@pytest.fixture(autouse=True)
def _catalogue_in_tmp(tmp_path, monkeypatch):
    """Runs that a test does not point at a catalogue register in its own temporary one, not in ./runs."""
    monkeypatch.setattr("standoff.catalogue.DEFAULT_PATH", tmp_path / "default-catalogue.duckdb")


def control(day: str = "2025-02-01", approval: Any = 0.25, delay: Any = 50.0, mode: str = "licence",
            products: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    ev = {"date": day, "type": "export_control", "exporter": "CHN", "products": products or ["HREO", "METAL", "MAGNET"],
          "mode": mode, "approval_share": approval, "delay_days": delay}
    ev.update(kw)
    return ev


def make(**changes: Any) -> Any:
    """A validated Scenario: BASE with ``changes`` applied (``events`` replaces the list)."""
    data = copy.deepcopy(BASE)
    data.update(changes)
    return scenario_from_dict(data)


def run(**changes: Any) -> Any:
    return simulate(make(**changes))


@pytest.fixture(scope="session")
def london() -> Any:
    return simulate("london-2025", members=64)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest's hook signature
    """Say loudly, at the end, when the browser test of the dashboard did not run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any("chromium" in str(getattr(r, "longrepr", "")) for r in skipped):
        terminalreporter.write_sep("!", "THE DASHBOARD'S BROWSER TEST DID NOT RUN", red=True, bold=True)
        terminalreporter.write_line("It needs Debian's chromium and chromium-driver. Install them and run the tests again:")
        terminalreporter.write_line("    sudo apt-get install chromium chromium-driver")
        terminalreporter.write_line("or run `bash .ci/run`, which installs them and fails if this test is skipped.")
