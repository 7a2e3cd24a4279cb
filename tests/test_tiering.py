"""Tiers (R-T1..R-T4), strength (R-B2) and leverage (R-L1..R-L4)."""

from __future__ import annotations

from conftest import make_profile, make_programs

from helpers.assumptions import load_assumptions
from helpers.facts import load_facts
from helpers.leverage import components, leverage
from helpers.tiering import Strength, applicant_strength, assign_tiers

A = load_assumptions()
F = load_facts()
ACADEMIC = {
    "setting": "academic",
    "research_strength": "high",
    "nci_cancer_center": "true",
    "fellowships": "8",
    "positions": "14",
    "non_us_img_recent": "0",
    "img_share_pct": "0",
}
COMMUNITY = {
    "setting": "community",
    "research_strength": "low",
    "nci_cancer_center": "false",
    "fellowships": "0",
    "positions": "4",
    "non_us_img_recent": "6",
    "img_share_pct": "35",
}
MIDDLE = {
    "setting": "hybrid",
    "research_strength": "medium",
    "nci_cancer_center": "false",
    "fellowships": "2",
    "positions": "8",
    "non_us_img_recent": "1",
    "img_share_pct": "8",
}


def tiers(strength="average", *rows):
    return assign_tiers(make_programs(*rows), Strength(0.0, strength, ()), A)


def test_R_T1_R_T2_R_T3_by_make_up():
    """R-T1 high-reach academic, R-T2 mid-tier hybrid, R-T3 IMG-friendly community."""
    t = tiers("average", ACADEMIC, MIDDLE, COMMUNITY)
    assert t["tier"].tolist() == ["high_reach", "mid_tier", "img_friendly"]
    assert t["tier_reason"][0].startswith("R-T1") and t["tier_reason"][2].startswith("R-T3")


def test_R_T4_strength_moves_the_cut():
    edge = {
        **MIDDLE,
        "research_strength": "high",
        "fellowships": "5",
        "non_us_img_recent": "0",
        "img_share_pct": "0",
    }
    strong = tiers("strong", edge, COMMUNITY)["tier"][0]
    modest = tiers("modest", edge, COMMUNITY)["tier"][0]
    order = ["img_friendly", "mid_tier", "high_reach"]
    assert order.index(strong) < order.index(modest)
    assert "R-T4" in tiers("modest", edge)["tier_reason"][0]


def test_unknown_make_up_gives_no_tier():
    blank = dict.fromkeys(
        [
            "setting",
            "research_strength",
            "nci_cancer_center",
            "fellowships",
            "positions",
            "non_us_img_recent",
            "img_share_pct",
        ],
        "",
    )
    t = tiers("average", blank, ACADEMIC)
    assert t["tier"].isna()[0] and "unknown" in t["tier_reason"][0]


def test_R_B2_strength_labels():
    assert applicant_strength(make_profile(step2_ck=268), F, A).label == "strong"
    assert applicant_strength(make_profile(step2_ck=232), F, A).label == "modest"
    assert applicant_strength(make_profile(step2_ck=251), F, A).label == "average"
    boosted = applicant_strength(
        make_profile(step2_ck=255, us_radiology_letters=2, research_items=6, us_clinical_months=4), F, A
    )
    assert boosted.label == "strong" and len(boosted.parts) == 4


def test_R_L1_to_R_L4_components_and_null_leverage():
    """R-L1 IMG history, R-L2 welcomes visiting students, R-L3 small program, R-L4 fit."""
    p = make_profile(interests=["neuro"])
    progs = make_programs(
        {"non_us_img_recent": "5", "visiting_students": "vslo", "positions": "4", "subspecialties": "neuro"},
        {
            "non_us_img_recent": "0",
            "img_share_pct": "0",
            "visiting_students": "observer_only",
            "positions": "20",
            "subspecialties": "msk",
        },
        {
            "non_us_img_recent": "",
            "img_share_pct": "",
            "visiting_students": "",
            "positions": "",
            "subspecialties": "",
        },
    )
    parts = components(p, progs, A)
    assert parts.loc[2].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert (
        parts.loc[3, "img_history"] == 0.0
        and parts.loc[3, "welcomes_visitors"] == 0.2
        and parts.loc[3, "fit"] == 0.0
    )
    lev = leverage(parts, progs["program_id"].notna(), A)
    assert lev.iloc[0] == 1.0 and lev.iloc[1] < 0.3
    assert lev.isna().iloc[2]  # too little known: null, not zero


def test_leverage_is_null_where_no_rotation_is_possible():
    progs = make_programs({}, {})
    parts = components(make_profile(), progs, A)
    import pandas as pd

    lev = leverage(parts, pd.Series([True, False]), A)
    assert lev.notna().iloc[0] and lev.isna().iloc[1]
