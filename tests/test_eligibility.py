"""Eligibility: one test per rule ID, on tiny synthetic tables. A blank never excludes."""

from __future__ import annotations

import pytest
from conftest import bundled_programs, make_profile, make_programs

from helpers.eligibility import assess


def verdict(profile, **cells):
    row = assess(profile, make_programs(cells)).iloc[0]
    return row


def test_open_program_is_eligible_with_positive_reasons():
    r = verdict(make_profile())
    assert r.status == "eligible"
    assert any(x.startswith("R-A1: considers IMGs") for x in r.reasons)
    assert r.rotation_status == "eligible" and r.rotation_kind == "vslo"


def test_R_A1_no_imgs_excludes_and_blank_is_unknown():
    assert verdict(make_profile(), considers_imgs="false").status == "excluded"
    r = verdict(make_profile(), considers_imgs="")
    assert r.status == "unknown"
    assert any("R-K2" in q and "non-US IMGs" in q for q in r.questions)


def test_R_A2_j1_sponsorship():
    r = verdict(make_profile(visa_needed="j1"), sponsors_j1="false")
    assert r.status == "excluded" and r.reasons[-1].startswith("R-A2")
    assert verdict(make_profile(visa_needed="j1"), sponsors_j1="").status == "unknown"


def test_R_A2_h1b_needs_step3():
    p = make_profile(visa_needed="h1b", step3="not_taken")
    r = verdict(p, sponsors_h1b="true")
    assert r.status == "excluded" and "Step 3" in r.reasons[-1]
    # without Step 3 no H-1B is usable, so a blank sponsorship cell cannot rescue it
    assert verdict(p, sponsors_h1b="").status == "excluded"
    assert verdict(make_profile(visa_needed="h1b", step3="pass"), sponsors_h1b="").status == "unknown"
    assert verdict(make_profile(visa_needed="h1b", step3="pass"), sponsors_h1b="true").status == "eligible"


def test_R_A2_either_visa():
    p = make_profile(visa_needed="j1_or_h1b", step3="not_taken")
    assert verdict(p, sponsors_j1="false", sponsors_h1b="true").status == "excluded"
    assert verdict(p, sponsors_j1="true", sponsors_h1b="false").status == "eligible"
    assert verdict(p, sponsors_j1="", sponsors_h1b="false").status == "unknown"
    assert verdict(p, sponsors_j1="false", sponsors_h1b="").status == "excluded"  # no Step 3
    assert (
        verdict(
            make_profile(visa_needed="j1_or_h1b", step3="pass"), sponsors_j1="false", sponsors_h1b=""
        ).status
        == "unknown"
    )
    assert (
        verdict(make_profile(visa_needed="none"), sponsors_j1="false", sponsors_h1b="false").status
        == "eligible"
    )


def test_R_C4_step2_minimum():
    assert verdict(make_profile(step2_ck=230), step2_min="240").status == "excluded"
    r = verdict(make_profile(step2_ck=None), step2_min="240")
    assert r.status == "eligible" and any("not in yet" in x for x in r.reasons)


def test_R_A3_observer_only_and_no_visitors():
    r = verdict(make_profile(), visiting_students="observer_only")
    assert r.status == "eligible" and r.rotation_status == "excluded"
    assert any(x.startswith("R-A3") for x in r.rotation_reasons)
    assert verdict(make_profile(), visiting_students="none").rotation_status == "excluded"
    blank = verdict(make_profile(), visiting_students="")
    assert blank.rotation_status == "unknown" and blank.rotation_questions


def test_R_C2_graduate_is_steered_to_observerships():
    g = make_profile(school_status="graduate")
    r = verdict(g, visiting_students="observer_only")
    assert r.rotation_status == "eligible" and r.rotation_kind == "observership"
    v = verdict(g, visiting_students="vslo")
    assert v.rotation_kind == "observership" and v.rotation_status == "unknown"
    assert any(x.startswith("R-C2") for x in v.rotation_reasons)


def test_R_A4_lcme_and_affiliation():
    other = make_profile(school_accreditation="other")
    assert verdict(other, requires_lcme="true").rotation_status == "excluded"
    assert (
        verdict(make_profile(school_accreditation="lcme"), requires_lcme="true").rotation_status == "eligible"
    )
    assert verdict(other, requires_lcme="").rotation_status == "unknown"
    assert verdict(other, requires_affiliation="true").rotation_status == "excluded"
    affiliated = make_profile(school_affiliations=["P0"])
    assert verdict(affiliated, requires_affiliation="true").rotation_status == "eligible"


def test_R_C4_step1_required_by_host():
    p = make_profile(step1="not_taken")
    r = verdict(p, requires_step1="true")
    assert r.rotation_status == "excluded" and any("R-C4" in x for x in r.rotation_reasons)
    assert verdict(p, requires_step1="").rotation_status == "unknown"
    assert verdict(make_profile(step1="pass"), requires_step1="true").rotation_status == "eligible"


def test_R_C1_visitor_status_asks_about_hands_on():
    r = verdict(make_profile(current_us_status="b1b2"))
    assert r.rotation_status == "unknown"
    assert any(x.startswith("R-C1") for x in r.rotation_reasons)


def test_no_rotation_where_the_applicant_cannot_match():
    r = verdict(make_profile(visa_needed="j1"), sponsors_j1="false")
    assert r.rotation_status == "excluded" and r.rotation_reasons[0].startswith("R-A2")


@pytest.mark.parametrize(
    "column",
    [
        "considers_imgs",
        "sponsors_j1",
        "sponsors_h1b",
        "visiting_students",
        "requires_step1",
        "requires_lcme",
        "requires_affiliation",
        "step2_min",
        "non_us_img_recent",
    ],
)
def test_a_blank_cell_never_excludes(column):
    p = make_profile(visa_needed="j1_or_h1b", step1="not_taken", step2_ck=None)
    r = verdict(p, **{column: ""})
    assert r.status != "excluded"
    assert r.rotation_status != "excluded"


def test_required_columns_only_table_is_all_unknown_with_questions():
    import pandas as pd

    from helpers.programs import parse_programs

    raw = pd.DataFrame({"program_id": ["A", "B"], "name": ["a", "b"], "state": ["NY", "TX"]}, index=[2, 3])
    table = assess(make_profile(), parse_programs(raw, "t.csv"))
    assert set(table["status"]) == {"unknown"}
    assert all(len(q) >= 2 for q in table["questions"])


PERMISSIVE = {
    "considers_imgs": True,
    "sponsors_j1": True,
    "sponsors_h1b": True,
    "visiting_students": "vslo",
    "requires_step1": False,
    "requires_lcme": False,
    "requires_affiliation": False,
}


def test_no_example_applicant_loses_a_program_to_a_blank_cell():
    """Whatever the blank cells turn out to be, every excluded program stays excluded: the
    exclusion comes only from what the table says (R-A1, R-A2, R-A3, R-A4, R-C4)."""
    from helpers.config import EXAMPLE_COHORT
    from helpers.profile import load_profile

    table = bundled_programs()
    fills = []
    for value_of in (lambda v: v, lambda v: (not v) if isinstance(v, bool) else "none"):
        filled = table.copy()
        for column, value in PERMISSIVE.items():
            filled[column] = filled[column].fillna(value_of(value))
        fills.append(filled)
    checked = unknown = 0
    for path in sorted(EXAMPLE_COHORT.glob("*.yaml")):
        p = load_profile(path)
        before = assess(p, table)
        for filled in fills:
            after = assess(p, filled)
            for col in ("status", "rotation_status"):
                excluded_before = set(before.loc[before[col] == "excluded", "program_id"])
                excluded_after = set(after.loc[after[col] == "excluded", "program_id"])
                assert excluded_before <= excluded_after, (p.applicant_id, col)
                checked += len(excluded_before)
        unknown += int((before["status"] == "unknown").sum())
    assert checked > 100 and unknown > 0


def test_excluded_by_holds_only_the_reasons_that_exclude():
    """R-A1/R-A2 positive notes ("considers IMGs") never count as exclusion reasons."""
    table = assess(make_profile(visa_needed="j1"), make_programs({"sponsors_j1": "false"}, {}))
    out, ok = table.iloc[0], table.iloc[1]
    assert out.excluded_by == ["R-A2: does not take J-1 residents"]
    assert any(r.startswith("R-A1: considers IMGs") for r in out.reasons)
    assert ok.excluded_by == [] and ok.status == "eligible"


# --------------------------------------------------------------------------- R-G4 Step 3 for H-1B


def graduate_h1b(**changes):
    """A 2024 graduate who needs H-1B for cycle 2027 and has not taken Step 3 yet."""
    base = {"visa_needed": "h1b", "school_status": "graduate", "graduation_year": 2024, "step3": "not_taken"}
    return make_profile(**{**base, **changes})


def test_R_G4_graduate_keeps_h1b_programs_open_on_the_step3_condition():
    from helpers.eligibility import step3_condition

    p = graduate_h1b()
    cond = step3_condition(p)
    assert cond["rule"] == "R-G4" and cond["can_meet"]
    assert cond["by"] == "2028-03-01"  # the estimated rank-list deadline of cycle 2027
    assert "If it slips" in cond["reason"] and "J-1" in cond["reason"]
    r = verdict(p, sponsors_h1b="true")
    assert r.status == "eligible"
    assert any(x.startswith("R-G4") and cond["by"] in x for x in r.reasons)
    assert verdict(p, sponsors_h1b="false").status == "excluded"  # a known "no" still excludes
    assert verdict(p, sponsors_h1b="").status == "unknown"  # a blank asks, now that H-1B can work


def test_R_G4_student_graduating_when_training_starts_is_excluded_with_the_reason():
    from helpers.eligibility import step3_condition

    p = make_profile(visa_needed="h1b", graduation_year=2028)  # student, cycle 2027
    cond = step3_condition(p)
    assert not cond["can_meet"] and "J-1 is the route" in cond["reason"]
    r = verdict(p, sponsors_h1b="true")
    assert r.status == "excluded" and r.reasons[-1].startswith("R-G4")
    # a student graduating in the cycle year can still sit Step 3 before the rank-list deadline
    assert step3_condition(make_profile(visa_needed="h1b", graduation_year=2027))["can_meet"]


def test_R_G4_threshold_sits_on_the_sit_by_date():
    """At the threshold the condition holds; one graduation year later it fails."""
    from helpers.assumptions import load_assumptions
    from helpers.facts import load_facts
    from helpers.timeline import cycle_calendar, step3_dates

    A, F = load_assumptions(), load_facts()
    cyc = cycle_calendar(2027, F, A)
    for year in (2027, 2028, 2029):
        s = step3_dates(make_profile(visa_needed="h1b", graduation_year=year), cyc, F, A)
        assert s.can_meet == (s.earliest_sitting <= s.sit_by)
        assert s.sit_by < s.pass_by
    assert step3_dates(make_profile(visa_needed="h1b", graduation_year=2027), cyc, F, A).can_meet
    assert not step3_dates(make_profile(visa_needed="h1b", graduation_year=2028), cyc, F, A).can_meet


def test_R_G4_none_when_step3_passed_or_h1b_not_wanted():
    from helpers.eligibility import step3_condition

    assert step3_condition(graduate_h1b(step3="pass")) is None
    assert step3_condition(make_profile(visa_needed="j1")) is None


def test_R_A2_h1b_only_cost_counts_programs_lost_to_the_restriction():
    from helpers.eligibility import h1b_restriction_cost

    table = make_programs(
        {"sponsors_j1": "true", "sponsors_h1b": "true"},
        {"sponsors_j1": "true", "sponsors_h1b": "false"},
        {"sponsors_j1": "true", "sponsors_h1b": "false"},
        {"sponsors_j1": "false", "sponsors_h1b": "false"},
    )
    cost = h1b_restriction_cost(graduate_h1b(), table)
    assert cost == {"open_h1b_only": 1, "open_with_j1": 3, "lost": 2}
    assert h1b_restriction_cost(make_profile(visa_needed="j1"), table) is None
