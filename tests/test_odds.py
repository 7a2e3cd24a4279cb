"""The odds model reproduces the published anchors it is fitted to (R-S1, R-V1)."""

from __future__ import annotations

import numpy as np
from conftest import make_profile

from helpers.analysis import analyse
from helpers.config import DEFAULT_PROGRAMS
from helpers.odds import calibrate
from helpers.programs import load_programs

PROGRAMS = load_programs(DEFAULT_PROGRAMS)


def test_calibration_hits_the_fitted_figures():
    r = calibrate().reproduction.set_index("figure")
    fitted = r.loc[r["role"] == "fitted"]
    assert np.allclose(fitted["published"], fitted["model"], atol=0.05)
    assert len(fitted) == 4


def test_checks_are_reported_not_forced():
    r = calibrate().reproduction
    checks = r.loc[r["role"].str.startswith("check")]
    assert len(checks) >= 4
    assert (checks["model"] > 0).all()


def test_same_inputs_same_numbers_and_ids_differ():
    a = analyse(make_profile(applicant_id="same"), PROGRAMS)
    b = analyse(make_profile(applicant_id="same"), PROGRAMS)
    assert a.baseline == b.baseline
    c = analyse(make_profile(applicant_id="other"), PROGRAMS)
    assert c.baseline != a.baseline


def test_visa_restrictions_lower_the_odds():
    j1 = analyse(make_profile(visa_needed="j1"), PROGRAMS).baseline["match_probability"]
    h1b = analyse(make_profile(visa_needed="h1b", step3="pass"), PROGRAMS).baseline["match_probability"]
    assert h1b < j1


def test_interval_brackets_the_mean():
    s = analyse(make_profile(), PROGRAMS).baseline
    assert s["match_probability_p10"] < s["match_probability"] < s["match_probability_p90"]


def test_rotations_raise_the_chance():
    a = analyse(make_profile(budget_usd=12000), PROGRAMS)
    assert len(a.rotations) >= 1
    assert a.with_plan["match_probability"] > a.baseline["match_probability"]


def test_signals_are_six_gold_six_silver_and_gold_where_you_rotate():
    a = analyse(make_profile(budget_usd=12000), PROGRAMS)
    counts = a.signals["signal"].value_counts()
    assert counts["gold"] == 6 and counts["silver"] == 6
    gold = set(a.signals.loc[a.signals["signal"] == "gold", "program_id"])
    assert set(a.rotations["program_id"]) <= gold
    assert a.signals["program_id"].is_unique
