"""History back-tests: each tolerance is written next to its source in standoff/validation.py.

Rows the model does not reproduce are marked xfail(strict=True) with the reason: the test
fails if they start to hold (so this file is updated), and nothing was tuned to pass them.
"""
import pytest

from standoff.validation import OBSERVATIONS, run_validation

KNOWN_FAILURES = {
    "peak light-oxide price 2011 (x 2009)":
        "~2x against 12-16x: importers' prices follow their cover at price_flexibility 1 (an assumption), well "
        "below what the users bid (46-278x for chemicals, ~7x for metal makers); a market that clears at the "
        "marginal user's bid would need a spread of bids within each sector, and the quota rent that export "
        "permits fetched (200,000-300,000 yuan/t in 2010) is not modelled",
    "date of the heavy-oxide price peak":
        "with no cap plateau China's heavy-oxide price keeps climbing through 2012 (output limit, the state "
        "reserve from September 2012, Baotou's second halt) while nothing cuts demand: the peak comes in Nov 2012",
    "light-oxide price end-2012 / end-2011":
        "no 2011 bubble in light oxides; the output limit, the Baotou halt and the state reserve keep them "
        "rising into late 2012",
    "heavy-oxide price end-2012 / end-2011":
        "China's heavy-oxide price, bounded by what its metal makers bid, keeps rising through 2012: nothing "
        "brings it down (demand destruction downstream, speculators dumping and buyers well stocked are not "
        "modelled strongly enough)",
    "Geneva deal, US tariff on China (talks simulated)":
        "each side takes back the share of its escalation equal to its pressure ratio, and the US's is ~0.4 at the "
        "end of May (its pains: output lost, exports, consumers at a salience of 0.5), so its tariff falls from 164% "
        "to ~109% against 49%: the pressure that moved the US in April-May 2025 (bond and equity markets, retailers' "
        "warnings of empty shelves) is not among the model's pains",
    "Buenos Aires deal, China's tariff on the US":
        "China takes back the share of its escalation equal to its pressure ratio, about all of it in the model's "
        "deal (its ratio passes one as List 3's rise hits it), where it kept its tariffs at Buenos Aires: what China "
        "kept, and why, is not among the model's terms (it had no announced increase of its own to postpone)",
    "licences granted by October 2025 (share of applications)":
        "the authority decides at a constant pace (calibrated on CLEPA's 25% by 4 June), so it clears the first "
        "wave by mid-July and ~70% of applications are granted by October against the EU chamber's 19 of 141: "
        "decisions that stayed slow (or refusals that stayed many) after the first months are not modelled",
}


@pytest.fixture(scope="module")
def table():
    return run_validation(members=200).set_index("observation")  # as the README's table


@pytest.mark.parametrize("name", [o.name for o in OBSERVATIONS])
def test_backtest(table, name, request):
    if name in KNOWN_FAILURES:
        # Strict, so a row that starts to hold makes this file change; except a row whose verdict at
        # 200 members is undecided, where the median alone may fall either side.
        strict = not str(table.loc[name, "verdict"]).startswith("undecided")
        reason = KNOWN_FAILURES[name] if strict else (
            KNOWN_FAILURES[name] + " [UNDECIDED at 200 members: the median's Monte Carlo interval straddles the "
            "tolerance's edge, so this may pass (XPASS) or fail with the seed; `standoff validate --decide 3200` "
            "settles it]")
        request.applymarker(pytest.mark.xfail(strict=strict, reason=reason))
    row = table.loc[name]
    assert row["members_counted"] > 0
    assert bool(row["holds"]), f"{name}: simulated {row['simulated_median']} outside {row['tolerance']}"


def test_table_names_observed_value_source_and_tolerance(table):
    for col in ("observed", "source", "simulated_median", "p10_p90", "tolerance", "holds", "role"):
        assert col in table.columns
    assert table["source"].str.len().min() > 2


def test_a_calibration_target_is_marked_and_not_counted_as_a_test(table):
    """The row a parameter was fitted on says so; every other row is a test."""
    roles = table["role"]
    assert set(roles) <= {"test", "calibration"}
    cal = table[roles == "calibration"]
    assert len(cal) == 1 and "granted" in cal.index[0]
    from standoff.network import model_defaults
    note = model_defaults()["parameters"].set_index("name").loc["licence_decision_rate", "note"]
    assert note.startswith("CALIBRATED") and "CLEPA" in note
