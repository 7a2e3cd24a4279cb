"""Profiles: the contract's fields, defaults and one clear message per problem (R-C1..R-C4)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import make_profile

from helpers.config import EXAMPLE_COHORT
from helpers.errors import InputError
from helpers.profile import load_profile, profile_from_mapping


def test_every_example_profile_loads():
    files = sorted(EXAMPLE_COHORT.glob("*.yaml"))
    assert len(files) >= 8
    ids = {load_profile(f).applicant_id for f in files}
    assert len(ids) == len(files)


def test_defaults_follow_the_contract():
    p = make_profile()
    assert p.current_us_status == "none"
    assert p.school_accreditation == "other"
    assert p.step3 == "not_taken"
    assert p.window_start == dt.date(2027, 4, 1)  # R-W1
    assert p.window_end == dt.date(2027, 9, 30)
    assert p.interests == [] and p.max_rotations is None


def test_interest_spellings_are_normalised():
    p = make_profile(interests=["Neuroradiology", "musculoskeletal", "academic"])
    assert p.interests == ["neuro", "msk", "academic"]


def test_plan_date_today_word_means_real_today():
    p = make_profile(plan_date="today")
    assert p.plan_date is None
    assert p.effective_plan_date(dt.date(2027, 1, 2)) == dt.date(2027, 1, 2)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("visa_needed", "j2", "'none', 'j1', 'h1b' or 'j1_or_h1b'"),
        ("step2_ck", 999, "less than or equal to 300"),
        ("step2_ck", "abc", "valid integer"),
        ("budget_usd", -1, "greater than or equal to 0"),
        ("applicant_id", "../etc", "pattern"),
        ("preferred_states", ["XX"], "two-letter US state"),
        ("interests", ["cooking"], "unknown interest"),
        ("available_from", "2019-04-01", "outside application cycle"),
    ],
)
def test_bad_values_name_the_field(field, value, words):
    with pytest.raises(InputError) as exc:
        profile_from_mapping({**make_profile().model_dump(exclude_none=True), field: value}, "p.yaml")
    problems = exc.value.problems
    assert len(problems) == 1
    text = str(problems[0])
    assert text.startswith("p.yaml")
    assert words in text
    if field not in ("available_from",):
        assert f"field '{field}'" in text


def test_a_finished_cycle_is_refused():
    with pytest.raises(InputError, match="is over"):
        make_profile_from(application_cycle=2020, plan_date=dt.date(2026, 12, 1))


def make_profile_from(**changes):
    base = make_profile().model_dump(exclude_none=True)
    return profile_from_mapping({**base, **changes}, "p.yaml")


def test_window_must_be_ordered():
    with pytest.raises(InputError, match="after available_to"):
        make_profile_from(available_from=dt.date(2027, 8, 1), available_to=dt.date(2027, 5, 1))


def test_yaml_problems_carry_line_numbers(tmp_path):
    f = tmp_path / "me.yaml"
    f.write_text(
        "applicant_id: a\nvisa_needed: j1\nschool_status: student\nstep1: maybe\nbudget_usd: 1\napplication_cycle: 2027\n"
    )
    with pytest.raises(InputError) as exc:
        load_profile(f)
    assert "line 4" in str(exc.value) and "field 'step1'" in str(exc.value)


def test_yaml_syntax_error_is_one_line(tmp_path):
    f = tmp_path / "me.yaml"
    f.write_text("applicant_id: [a\nvisa_needed: j1\n")
    with pytest.raises(InputError) as exc:
        load_profile(f)
    assert len(exc.value.problems) == 1 and "YAML syntax error" in str(exc.value)


def test_unknown_field_is_reported(tmp_path):
    f = tmp_path / "me.yaml"
    f.write_text(
        "applicant_id: a\nvisa_needed: j1\nschool_status: student\nstep1: pass\nbudget_usd: 1\napplication_cycle: 2027\nstep2ck: 250\n"
    )
    with pytest.raises(InputError, match="field 'step2ck': unknown field"):
        load_profile(f)


def test_missing_required_fields_are_all_listed(tmp_path):
    f = tmp_path / "me.yaml"
    f.write_text("applicant_id: a\n")
    with pytest.raises(InputError) as exc:
        load_profile(f)
    fields = {p.field for p in exc.value.problems}
    assert fields == {"visa_needed", "school_status", "step1", "budget_usd", "application_cycle"}


# --------------------------------------------------------------------------- contradictions (R-C1, R-C2, R-E2)


def problem_of(**changes) -> str:
    from conftest import BASE_PROFILE

    with pytest.raises(InputError) as err:
        profile_from_mapping({**BASE_PROFILE, **changes}, "p.yaml")
    (problem,) = err.value.problems
    return f"{problem.field}: {problem.message}"


def test_R_E2_permanent_resident_is_a_status_and_needs_no_visa():
    p = make_profile(visa_needed="none", current_us_status="permanent_resident")
    assert p.current_us_status == "permanent_resident"
    text = problem_of(visa_needed="j1", current_us_status="permanent_resident")
    assert text.startswith("visa_needed:") and "current_us_status" in text and "permanent_resident" in text


@pytest.mark.parametrize("status", ["j1", "h1b", "f1", "b1b2", "esta"])
def test_R_C1_no_visa_needed_contradicts_a_temporary_status(status):
    text = problem_of(visa_needed="none", current_us_status=status)
    assert text.startswith("current_us_status:") and "visa_needed is none" in text and status in text


@pytest.mark.parametrize("status", ["none", "permanent_resident", "other"])
def test_R_C1_no_visa_needed_fits_citizens_abroad_and_residents(status):
    assert make_profile(visa_needed="none", current_us_status=status).visa_needed == "none"


def test_R_C2_graduation_year_must_agree_with_school_status():
    # a student graduates in the cycle year or later: the boundary year is fine, one before is not
    assert make_profile(graduation_year=2027).graduation_year == 2027
    text = problem_of(graduation_year=2026)
    assert text.startswith("graduation_year:") and "school_status is student" in text
    # a graduate graduated by the cycle year
    assert make_profile(school_status="graduate", graduation_year=2027).years_since_graduation() == 0
    text = problem_of(school_status="graduate", graduation_year=2028)
    assert text.startswith("graduation_year:") and "school_status is graduate" in text


def test_years_since_graduation_counts_from_the_plan_date():
    p = make_profile(school_status="graduate", graduation_year=2024)  # plan date 1 Dec 2026
    assert p.years_since_graduation() == 2
    assert make_profile(graduation_year=2028).years_since_graduation() is None  # a student


def test_attempts_and_prior_training_default_and_bounds():
    p = make_profile()
    assert (p.step1_attempts, p.step2_ck_attempts, p.prior_gme_months) == (1, 1, 0)
    assert problem_of(step1_attempts=0).startswith("step1_attempts:")
    assert problem_of(prior_gme_months=-1).startswith("prior_gme_months:")


CONTRADICTORY = (
    "applicant_id: x-1\nvisa_needed: none\nschool_status: student\nstep1: pass\n"
    "budget_usd: 5000\napplication_cycle: 2027\ncurrent_us_status: j1\nplan_date: 2026-12-01\n"
)


def test_contradictory_profile_is_refused_naming_both_fields(tmp_path, capsys):
    """R-E2 through the command in-process; the test below runs the installed command."""
    from helpers import cli

    f = tmp_path / "p.yaml"
    f.write_text(CONTRADICTORY)
    out = tmp_path / "out"
    assert cli.main(["report", str(f), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "current_us_status" in err and "visa_needed" in err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.slow
def test_contradictory_profile_exits_2_naming_both_fields(tmp_path):
    import subprocess

    from conftest import BIN

    f = tmp_path / "p.yaml"
    f.write_text(CONTRADICTORY)
    out = tmp_path / "out"
    run = subprocess.run(
        [str(BIN / "awayplan"), "report", str(f), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "current_us_status" in run.stderr and "visa_needed" in run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
