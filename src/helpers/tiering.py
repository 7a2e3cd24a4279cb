"""Three tiers from program make-up and openness to non-US IMGs, shifted by the applicant.

R-T1 high_reach (large academic, research, NCI centre, fellows, few IMGs), R-T2 mid_tier,
R-T3 img_friendly (steady record of non-US IMGs, community), R-T4/R-B2 the applicant's
strength moves the cut. Weights and cut-offs are named assumptions (data/assumptions.yaml,
`tiering`, `img_openness`, `applicant_strength`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .assumptions import Assumptions
from .facts import Facts
from .profile import Profile

TIERS = ("high_reach", "mid_tier", "img_friendly")
TIER_RULE = {"high_reach": "R-T1", "mid_tier": "R-T2", "img_friendly": "R-T3"}
TIER_LABEL = {
    "high_reach": "High-reach academic",
    "mid_tier": "Mid-tier / hybrid",
    "img_friendly": "IMG-friendly / community",
}


STRENGTH_SHIFT = {"strong": -1, "average": 0, "modest": 1}  # tier shift per strength label (R-T4)


@dataclass(frozen=True)
class Strength:
    """How strong the applicant looks against matched non-US IMGs (R-T4, R-B2)."""

    z: float
    label: str  # strong | average | modest
    parts: tuple[str, ...]

    @property
    def shift(self) -> int:
        return STRENGTH_SHIFT[self.label]


def applicant_strength(p: Profile, facts: Facts, assume: Assumptions) -> Strength:
    """Step 2 CK standardised on matched non-US IMGs in DR (2026), plus experience bonuses."""
    a = assume.value("applicant_strength")
    mean = facts.value("nonus_2026_matched_usmle_step2ck_mean")
    sd = facts.value("nonus_2026_matched_usmle_step2ck_sd")
    parts = []
    if p.step2_ck is None:
        z = float(a["unknown_step2_z"])
        parts.append(f"no Step 2 CK yet (counted as {z:+.2f} SD)")
    else:
        z = (p.step2_ck - mean) / sd
        parts.append(f"Step 2 CK {p.step2_ck} is {z:+.2f} SD from the matched non-US IMG mean of {mean:g}")
    letters = min(
        p.us_radiology_letters * float(a["bonus_per_us_radiology_letter"]), float(a["max_letter_bonus"])
    )
    if letters:
        z += letters
        parts.append(f"{p.us_radiology_letters} US radiology letter(s) +{letters:.2f}")
    if p.research_items >= int(a["research_items_for_bonus"]):
        z += float(a["research_bonus"])
        parts.append(f"{p.research_items} research items +{float(a['research_bonus']):.2f}")
    if p.us_clinical_months >= float(a["usce_months_for_bonus"]):
        z += float(a["usce_bonus"])
        parts.append(f"{p.us_clinical_months:g} months US clinical experience +{float(a['usce_bonus']):.2f}")
    label = "strong" if z >= float(a["strong_z"]) else "modest" if z <= float(a["modest_z"]) else "average"
    return Strength(round(z, 3), label, tuple(parts))


def openness(programs: pd.DataFrame, assume: Assumptions) -> pd.Series:
    """0-1 openness to non-US IMGs (R-L1, R-T3); NA when both IMG columns are blank."""
    o = assume.value("img_openness")
    steps = sorted((int(k), float(v)) for k, v in o["by_recent_non_us_imgs"].items())
    counts = programs["non_us_img_recent"].astype("Float64")
    by_count = pd.Series(pd.NA, index=programs.index, dtype="Float64")
    for threshold, score in steps:
        by_count = by_count.mask((counts >= threshold).fillna(False).astype(bool), score)
    share = (programs["img_share_pct"].astype("Float64") / float(o["img_share_pct_for_full"])).clip(upper=1.0)
    return by_count.fillna(share)


def academic_makeup(programs: pd.DataFrame, assume: Assumptions) -> pd.Series:
    """0-1 academic make-up: mean of the known parts (setting, research, NCI, fellows, size)."""
    t = assume.value("tiering")
    parts = pd.DataFrame(
        {
            "setting": programs["setting"].map(t["setting_score"]).astype("Float64"),
            "research": programs["research_strength"].map(t["research_score"]).astype("Float64"),
            "nci": programs["nci_cancer_center"].astype("Float64"),
            "fellows": (
                programs["fellowships"].astype("Float64") / float(t["fellowships_for_full_score"])
            ).clip(upper=1),
            "size": (programs["positions"].astype("Float64") / float(t["positions_for_full_score"])).clip(
                upper=1
            ),
        },
        index=programs.index,
    )
    return parts.mean(axis=1, skipna=True).astype("Float64").where(parts.notna().any(axis=1))


def _describe(row) -> str:
    bits = []
    if isinstance(row.setting, str):
        bits.append(row.setting)
    if isinstance(row.research_strength, str):
        bits.append(f"{row.research_strength} research")
    if row.nci_cancer_center is True:
        bits.append("NCI centre")
    if pd.notna(row.fellowships):
        bits.append(f"{int(row.fellowships)} fellowships")
    if pd.notna(row.non_us_img_recent):
        bits.append(f"{int(row.non_us_img_recent)} non-US IMGs in 5 years")
    elif pd.notna(row.img_share_pct):
        bits.append(f"IMG share {row.img_share_pct:g}%")
    else:
        bits.append("IMG history unknown")
    return ", ".join(bits)


def assign_tiers(programs: pd.DataFrame, strength: Strength, assume: Assumptions) -> pd.DataFrame:
    """Tier, reach score and a one-line explanation per program (R-T1..R-T4).

    Unknown make-up or openness takes the table's median, so a blank never pushes a program
    up or down; a program with neither known gets no tier.
    """
    t = assume.value("tiering")
    makeup = academic_makeup(programs, assume)
    opens = openness(programs, assume)
    # With a whole column unknown, the middle of the 0-1 scale: no information either way.
    neutral_makeup = float(makeup.median()) if makeup.notna().any() else 0.5
    neutral_open = float(opens.median()) if opens.notna().any() else 0.5
    shift = strength.shift * float(t["strength_shift"])
    reach = (
        makeup.fillna(neutral_makeup).astype(float)
        - float(t["openness_weight"]) * opens.fillna(neutral_open).astype(float)
        + shift
    )
    hi, lo = float(t["high_reach_min"]), float(t["img_friendly_max"])
    tier = np.where(reach >= hi, "high_reach", np.where(reach <= lo, "img_friendly", "mid_tier"))
    nothing_known = makeup.isna() & opens.isna()
    shift_note = "" if shift == 0 else f"; R-T4: {strength.label} profile {shift:+.2f}"
    explain = []
    for row, r, tr, blank in zip(programs.itertuples(index=False), reach, tier, nothing_known, strict=True):
        if blank:
            explain.append("no tier: make-up and IMG history unknown")
            continue
        cut = (
            f">= {hi:g}"
            if tr == "high_reach"
            else f"<= {lo:g}"
            if tr == "img_friendly"
            else f"between {lo:g} and {hi:g}"
        )
        explain.append(f"{TIER_RULE[tr]}: {_describe(row)}; reach {r:.2f} {cut}{shift_note}")
    return pd.DataFrame(
        {
            "program_id": programs["program_id"].to_numpy(),
            "tier": pd.Series(tier, dtype="str").where(~nothing_known.to_numpy()).to_numpy(),
            "reach": np.round(reach.to_numpy(dtype=float), 3),
            "academic_makeup": makeup.to_numpy(),
            "openness": opens.to_numpy(),
            "tier_reason": explain,
        }
    )
