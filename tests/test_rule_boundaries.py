"""Every rule with a threshold, tested at it, just below and just above; every pair of rules
that can meet on one program, tested for which wins. Thresholds are read from
data/assumptions.yaml (or shifted onto a computed value), never copied into the test."""

from __future__ import annotations

import pytest
from conftest import make_profile, make_programs
from test_tiering import MIDDLE

from helpers.assumptions import Assumptions, load_assumptions
from helpers.eligibility import assess
from helpers.facts import load_facts
from helpers.tiering import Strength, academic_makeup, applicant_strength, assign_tiers, openness

A = load_assumptions()
F = load_facts()


def with_values(key: str, **changes) -> Assumptions:
    """The bundled assumptions with some parts of one entry changed."""
    entries = dict(A.entries)
    entries[key] = entries[key].model_copy(update={"value": {**entries[key].value, **changes}})
    return Assumptions(entries, A.file)


def verdict(profile, **cells):
    return assess(profile, make_programs(cells)).iloc[0]


# --------------------------------------------------------------------------------------
# R-C4: a program's Step 2 CK minimum


@pytest.mark.parametrize(("offset", "status"), [(-1, "excluded"), (0, "eligible"), (1, "eligible")])
def test_R_C4_step2_minimum_at_just_below_and_just_above(offset, status):
    r = verdict(make_profile(step2_ck=240 + offset), step2_min="240")
    assert r.status == status
    assert any(x.startswith("R-C4") for x in r.excluded_by) is (status == "excluded")


def test_R_C4_exclusion_wins_over_R_A1_unknown():
    r = verdict(make_profile(step2_ck=239), step2_min="240", considers_imgs="")
    assert r.status == "excluded"
    assert [x.split(":")[0] for x in r.excluded_by] == ["R-C4"]
    assert any("non-US IMGs" in q for q in r.questions)  # the open question is still listed


# --------------------------------------------------------------------------------------
# R-A1 and R-A2 meeting on one program


def test_R_A1_exclusion_wins_over_R_A2_unknown():
    r = verdict(make_profile(visa_needed="j1"), considers_imgs="false", sponsors_j1="")
    assert r.status == "excluded"
    assert [x.split(":")[0] for x in r.excluded_by] == ["R-A1"]


def test_R_A2_exclusion_wins_over_R_A1_unknown_whatever_the_order():
    r = verdict(make_profile(visa_needed="j1"), considers_imgs="", sponsors_j1="false")
    assert r.status == "excluded"
    assert [x.split(":")[0] for x in r.excluded_by] == ["R-A2"]
    assert any(x.startswith("R-A1: unknown") for x in r.reasons)


def test_R_A1_and_R_A2_both_unknown_is_unknown_with_both_questions():
    r = verdict(make_profile(visa_needed="j1"), considers_imgs="", sponsors_j1="")
    assert r.status == "unknown" and r.excluded_by == []
    assert len(r.questions) == 2


def test_R_A2_either_visa_one_known_yes_wins_over_the_other_blank():
    p = make_profile(visa_needed="j1_or_h1b", step3="pass")
    assert verdict(p, sponsors_j1="true", sponsors_h1b="").status == "eligible"
    assert verdict(p, sponsors_j1="", sponsors_h1b="true").status == "eligible"
    assert verdict(p, sponsors_j1="false", sponsors_h1b="").status == "unknown"  # a blank never excludes


def test_R_A2_h1b_without_step3_excludes_even_when_sponsorship_is_blank():
    r = verdict(make_profile(visa_needed="h1b", step3="not_taken"), sponsors_h1b="")
    assert r.status == "excluded" and "Step 3" in r.excluded_by[0]


# --------------------------------------------------------------------------------------
# Rotation rules meeting on one host


def test_R_A1_residency_exclusion_names_the_first_rule_for_the_rotation():
    r = verdict(make_profile(visa_needed="j1"), considers_imgs="false", sponsors_j1="false")
    assert r.rotation_status == "excluded" and r.rotation_kind is None
    assert r.rotation_reasons[0].startswith("R-A1: no rotation where you cannot match")


def test_R_A4_affiliation_exclusion_wins_over_R_A4_lcme_unknown():
    p = make_profile(school_accreditation="other")
    r = verdict(p, requires_lcme="", requires_affiliation="true")
    assert r.rotation_status == "excluded"
    assert any("LCME" in q for q in r.rotation_questions)


def test_R_C4_step1_requirement_excludes_even_after_an_unknown():
    p = make_profile(step1="not_taken", current_us_status="b1b2")  # R-C1 unknown first
    r = verdict(p, requires_step1="true")
    assert r.rotation_status == "excluded"
    assert any(x.startswith("R-C4: requires a Step 1 result") for x in r.rotation_reasons)
    assert verdict(p, requires_step1="").rotation_status == "unknown"
    assert verdict(make_profile(step1="pass"), requires_step1="true").rotation_status == "eligible"


def test_R_A3_observer_only_excludes_students_whatever_else_is_blank():
    r = verdict(make_profile(), visiting_students="observer_only", requires_affiliation="")
    assert r.rotation_status == "excluded" and r.rotation_reasons[0].startswith("R-A3")


# --------------------------------------------------------------------------------------
# R-B2/R-T4: applicant strength cut-offs (strong at or above strong_z, modest at or below modest_z)


def test_R_B2_strong_cut_at_just_below_and_just_above():
    p = make_profile(step2_ck=262)
    z = applicant_strength(p, F, A).z  # the unrounded z is recomputed from the same inputs
    mean = F.value("nonus_2026_matched_usmle_step2ck_mean")
    sd = F.value("nonus_2026_matched_usmle_step2ck_sd")
    exact = (262 - mean) / sd
    assert z == pytest.approx(exact, abs=1e-3)
    assert applicant_strength(p, F, with_values("applicant_strength", strong_z=exact)).label == "strong"
    assert (
        applicant_strength(p, F, with_values("applicant_strength", strong_z=exact - 0.01)).label == "strong"
    )
    assert (
        applicant_strength(p, F, with_values("applicant_strength", strong_z=exact + 0.01)).label == "average"
    )


def test_R_B2_modest_cut_at_just_below_and_just_above():
    p = make_profile(step2_ck=236)
    mean = F.value("nonus_2026_matched_usmle_step2ck_mean")
    sd = F.value("nonus_2026_matched_usmle_step2ck_sd")
    exact = (236 - mean) / sd
    assert applicant_strength(p, F, with_values("applicant_strength", modest_z=exact)).label == "modest"
    assert (
        applicant_strength(p, F, with_values("applicant_strength", modest_z=exact + 0.01)).label == "modest"
    )
    assert (
        applicant_strength(p, F, with_values("applicant_strength", modest_z=exact - 0.01)).label == "average"
    )


# --------------------------------------------------------------------------------------
# R-T1/R-T3: reach cut-offs (high_reach at or above high_reach_min, img_friendly at or below img_friendly_max)

PROGRAM = MIDDLE  # a hybrid program between the cuts


def reach_of(row: dict) -> float:
    """The program's reach computed as tiering does (average applicant, no shift)."""
    progs = make_programs(row)
    t = A.value("tiering")
    return float(academic_makeup(progs, A).iloc[0]) - float(t["openness_weight"]) * float(
        openness(progs, A).iloc[0]
    )


def tier_with(**cuts) -> str:
    t = assign_tiers(make_programs(PROGRAM), Strength(0.0, "average", ()), with_values("tiering", **cuts))
    return t["tier"][0]


def test_R_T1_high_reach_cut_at_just_below_and_just_above():
    r = reach_of(PROGRAM)
    low = r - 1  # keep img_friendly out of the way
    assert tier_with(high_reach_min=r, img_friendly_max=low) == "high_reach"
    assert tier_with(high_reach_min=r - 0.001, img_friendly_max=low) == "high_reach"
    assert tier_with(high_reach_min=r + 0.001, img_friendly_max=low) == "mid_tier"


def test_R_T3_img_friendly_cut_at_just_below_and_just_above():
    r = reach_of(PROGRAM)
    high = r + 1
    assert tier_with(img_friendly_max=r, high_reach_min=high) == "img_friendly"
    assert tier_with(img_friendly_max=r + 0.001, high_reach_min=high) == "img_friendly"
    assert tier_with(img_friendly_max=r - 0.001, high_reach_min=high) == "mid_tier"


def test_R_T4_strength_shift_moves_a_program_across_the_cut():
    r = reach_of(PROGRAM)
    shift = float(A.value("tiering")["strength_shift"])
    a = with_values("tiering", high_reach_min=r + shift / 2, img_friendly_max=r - 1)
    progs = make_programs(PROGRAM)
    assert assign_tiers(progs, Strength(0.0, "average", ()), a)["tier"][0] == "mid_tier"
    assert assign_tiers(progs, Strength(0.0, "modest", ()), a)["tier"][0] == "high_reach"  # modest: +shift
    assert assign_tiers(progs, Strength(0.0, "strong", ()), a)["tier"][0] == "mid_tier"


# --------------------------------------------------------------------------------------
# R-L1/R-T3: openness steps by recent non-US IMGs, and the IMG share that counts in full


def test_R_L1_openness_steps_at_each_count_and_one_below():
    steps = sorted((int(k), float(v)) for k, v in A.value("img_openness")["by_recent_non_us_imgs"].items())
    for at, score in steps[1:]:
        progs = make_programs(
            {"non_us_img_recent": str(at - 1), "img_share_pct": ""},
            {"non_us_img_recent": str(at), "img_share_pct": ""},
            {"non_us_img_recent": str(at + 1), "img_share_pct": ""},
        )
        o = openness(progs, A).tolist()
        expected_below = max(s for k, s in steps if k <= at - 1)
        assert o[0] == expected_below and o[1] == score, (at, o)
        assert o[2] >= score


def test_R_L1_img_share_counts_in_full_at_the_threshold():
    full = float(A.value("img_openness")["img_share_pct_for_full"])
    progs = make_programs(*({"non_us_img_recent": "", "img_share_pct": f"{full + d:g}"} for d in (-1, 0, 1)))
    below, at, above = openness(progs, A).tolist()
    assert below == pytest.approx((full - 1) / full) and below < 1
    assert at == 1.0 and above == 1.0


def test_R_L1_recent_count_wins_over_img_share():
    progs = make_programs({"non_us_img_recent": "0", "img_share_pct": "100"})
    assert openness(progs, A).iloc[0] == 0.0
