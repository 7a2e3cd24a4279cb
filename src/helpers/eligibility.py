"""Who can apply where, and where a rotation is possible: rule-coded reasons per program.

Residency list (R-A1, R-A2, R-C4) and host rotation rules (R-A3, R-A4, R-C1, R-C2, R-C4,
R-W5). A known "no" excludes, with the rule ID in the reason. A blank cell never
excludes: the program becomes "unknown" and gets the exact question to ask it (R-K2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .profile import Profile

if TYPE_CHECKING:  # pragma: no cover
    from .assumptions import Assumptions
    from .facts import Facts

ELIGIBLE, EXCLUDED, UNKNOWN = "eligible", "excluded", "unknown"


def _is(value: object) -> bool | None:
    """pd.NA/None -> None (unknown); otherwise the boolean."""
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return bool(value)


@dataclass
class Verdict:
    """Accumulates one program's status with reasons and questions."""

    status: str = ELIGIBLE
    reasons: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)  # the reasons that exclude

    def exclude(self, reason: str) -> None:
        self.status = EXCLUDED
        self.reasons.append(reason)
        self.blocking.append(reason)

    def unknown(self, reason: str, question: str) -> None:
        if self.status != EXCLUDED:
            self.status = UNKNOWN
        self.reasons.append(reason)
        self.questions.append(question)

    def note(self, reason: str) -> None:
        self.reasons.append(reason)


def step3_condition(
    profile: Profile,
    facts: Facts | None = None,
    assume: Assumptions | None = None,
    today: dt.date | None = None,
) -> dict | None:
    """R-G4: H-1B needs Step 3 passed before the petition. For an applicant who wants H-1B
    (h1b or j1_or_h1b) without a Step 3 pass, the condition on which H-1B programs count:
    `{"rule", "reason", "by", "can_meet"}`, `by` the rank-list deadline (ISO date). None
    when Step 3 is passed or H-1B is not wanted. `can_meet` is False for a student who
    graduates too late to sit Step 3 in time (those programs are then excluded)."""
    if profile.visa_needed not in ("h1b", "j1_or_h1b") or profile.step3 == "pass":
        return None
    from .assumptions import load_assumptions
    from .facts import load_facts
    from .timeline import cycle_calendar, step3_dates

    facts = facts or load_facts()
    assume = assume or load_assumptions()
    s3 = step3_dates(profile, cycle_calendar(profile.application_cycle, facts, assume), facts, assume, today)
    if s3.can_meet:
        only = "the J-1 programs remain" if profile.visa_needed == "j1_or_h1b" else "no program remains open"
        reason = (
            f"H-1B programs count only if Step 3 is passed by the rank-list deadline ({s3.pass_by}): sit it by "
            f"{s3.sit_by} (assumption step3_result_weeks allows for the result). If it slips, H-1B programs "
            f"cannot file the petition and will not rank you, so {only}; accepting J-1 keeps the others open"
        )
    else:
        reason = (
            f"Step 3 needs the degree and the ECFMG certificate, so the earliest sitting is {s3.earliest_sitting}, "
            f"after the rank-list deadline ({s3.pass_by}): H-1B programs are closed this cycle and J-1 is the route"
        )
    return {"rule": "R-G4", "reason": reason, "by": s3.pass_by.isoformat(), "can_meet": s3.can_meet}


def residency_verdict(p: Profile, row, step3: dict | None = None) -> Verdict:
    """Can this applicant apply to (and be ranked by) this program? R-A1, R-A2, R-C4, R-G4.

    `step3` is `step3_condition(p)`: an applicant who can still pass Step 3 in time keeps
    H-1B programs open on that condition; one who cannot has them excluded with the reason."""
    v = Verdict()
    considers = _is(row.considers_imgs)
    if considers is False:
        v.exclude("R-A1: the program does not consider IMGs")
    elif considers is None:
        v.unknown(
            "R-A1: unknown whether it considers non-US IMGs",
            "R-K2: Does the program consider non-US IMGs for interview?",
        )
    else:
        recent = row.non_us_img_recent
        detail = f" ({int(recent)} non-US IMGs matched in 5 years)" if pd.notna(recent) else ""
        v.note(f"R-A1: considers IMGs{detail}")

    j1, h1b = _is(row.sponsors_j1), _is(row.sponsors_h1b)
    passed = p.step3 == "pass"
    conditional = not passed and step3 is not None and step3["can_meet"]
    step3_ok = passed or conditional
    by = step3["by"] if step3 else ""
    h1b_note = (
        "sponsors H-1B (Step 3 passed)"
        if passed
        else f"sponsors H-1B, on the condition that Step 3 is passed by {by}"
    )
    ask_j1 = "R-K2: Does the program accept J-1 (ECFMG-sponsored) residents?"
    ask_h1b = "R-K2: Does the program sponsor H-1B visas for residents?"
    if p.visa_needed == "j1":
        if j1 is False:
            v.exclude("R-A2: does not take J-1 residents")
        elif j1 is None:
            v.unknown("R-A2: J-1 policy unknown", ask_j1)
        else:
            v.note("R-A2: takes J-1 residents")
    elif p.visa_needed == "h1b":
        # Without a Step 3 pass that can come in time no program's H-1B is usable, whatever
        # the table says, so this exclusion rests on the applicant, not on a blank (R-G4).
        if h1b is False:
            v.exclude("R-A2: does not sponsor H-1B")
        elif not step3_ok:
            v.exclude(
                "R-G4: H-1B needs Step 3 passed before the petition, and it cannot be passed in time this cycle"
            )
        elif h1b is None:
            v.unknown("R-A2: H-1B sponsorship unknown", ask_h1b)
        else:
            v.note(("R-A2: " if passed else "R-G4: ") + h1b_note)
    elif p.visa_needed == "j1_or_h1b":
        h1b_usable = h1b if step3_ok else False
        if j1 is True or h1b_usable is True:
            if j1 is True:
                v.note("R-A2: takes J-1 residents")
            else:
                v.note(("R-A2: " if passed else "R-G4: ") + h1b_note)
        elif j1 is False and h1b_usable is False:
            extra = "" if step3_ok or h1b is False else " (H-1B needs Step 3, which cannot be passed in time)"
            v.exclude(f"R-A2: sponsors neither J-1 nor a usable H-1B{extra}")
        else:
            v.unknown("R-A2: visa sponsorship unknown", ask_j1 if j1 is None else ask_h1b)

    minimum = row.step2_min
    if pd.notna(minimum):
        if p.step2_ck is not None and p.step2_ck < int(minimum):
            v.exclude(f"R-C4: Step 2 CK {p.step2_ck} is below the program's minimum of {int(minimum)}")
        elif p.step2_ck is None:
            v.note(f"R-C4: the program asks for Step 2 CK of at least {int(minimum)}; yours is not in yet")
    return v


def rotation_verdict(p: Profile, row, residency: Verdict) -> tuple[Verdict, str | None]:
    """Can this applicant rotate here, and as what (vslo/direct/observership)?

    R-A1/R-A2 (no rotation where the applicant cannot match), R-A3 (observer-only hosts
    for students), R-A4 (LCME/AOA, affiliation), R-C1 (B1/B2, ESTA), R-C2 (graduates),
    R-C4/R-W5 (Step 1 required).
    """
    v = Verdict()
    if residency.status == EXCLUDED:
        v.exclude(f"{residency.blocking[0].split(':', 1)[0]}: no rotation where you cannot match")
        return v, None
    route = row.visiting_students if isinstance(row.visiting_students, str) else None
    kind: str | None
    if route is None:
        v.unknown(
            "R-L2: visiting-student policy unknown",
            "R-K2: Does the department take visiting students (through VSLO or directly) or observers?",
        )
        kind = "vslo" if p.is_student else "observership"
    elif route == "none":
        v.exclude("R-A3: takes no visiting students")
        return v, None
    elif route == "observer_only":
        kind = "observership"
        if p.is_student:
            v.exclude("R-A3: observers only (little faculty contact, no formal evaluation)")
            return v, None
        v.note("R-Y3: observership (the usual route for graduates)")
    else:
        kind = route  # R-Y1 VSLO elective or R-Y2 elective applied for directly

    if not p.is_student and kind in ("vslo", "direct"):
        if kind == "vslo":
            kind = "observership"
            v.unknown(
                "R-C2: VSLO electives are for enrolled students",
                "R-K2: Do you offer radiology observerships to graduates?",
            )
        else:
            v.unknown(
                "R-C2: most hosts take only enrolled students",
                "R-K2: May a graduate do the elective, or only observe?",
            )

    if kind in ("vslo", "direct"):
        if p.school_accreditation == "other":
            lcme = _is(row.requires_lcme)
            if lcme is True:
                v.exclude("R-A4: accepts only LCME/AOA-accredited schools")
            elif lcme is None:
                v.unknown(
                    "R-A4: LCME/AOA requirement unknown",
                    "R-K2: Do you accept students from non-LCME/AOA schools?",
                )
        if p.current_us_status in ("b1b2", "esta"):
            v.unknown(
                "R-C1: on B1/B2 or ESTA some hosts allow observing only",
                "R-K2: On my B1/B2 or ESTA status, may I do hands-on work or only observe?",
            )
        affiliated = str(row.program_id) in p.school_affiliations
        aff = _is(row.requires_affiliation)
        if aff is True and not affiliated:
            v.exclude("R-A4: requires an affiliation agreement with your school")
        elif aff is None and not affiliated:
            v.unknown(
                "R-A4: affiliation requirement unknown",
                "R-K2: Is an affiliation agreement with my school required?",
            )
        step1 = _is(row.requires_step1)
        if p.step1 != "pass":
            if step1 is True:
                v.exclude("R-C4: requires a Step 1 result before the rotation (R-W5)")
            elif step1 is None:
                v.unknown(
                    "R-C4: Step 1 requirement unknown",
                    "R-K2: Do you need a Step 1 result before accepting a visiting student?",
                )
    return v, kind


def assess(
    profile: Profile,
    programs: pd.DataFrame,
    facts: Facts | None = None,
    assume: Assumptions | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """One row per program: residency status and reasons, rotation status, kind and questions."""
    records = []
    step3 = step3_condition(profile, facts, assume, today)
    for row in programs.itertuples(index=False):
        res = residency_verdict(profile, row, step3)
        rot, kind = rotation_verdict(profile, row, res)
        records.append(
            {
                "program_id": row.program_id,
                "status": res.status,
                "reasons": res.reasons,
                "questions": res.questions,
                "excluded_by": res.blocking,
                "rotation_status": rot.status,
                "rotation_kind": kind if rot.status != EXCLUDED else None,
                "rotation_reasons": rot.reasons,
                "rotation_questions": rot.questions,
            }
        )
    return pd.DataFrame.from_records(records)


def h1b_restriction_cost(
    profile: Profile,
    programs: pd.DataFrame,
    facts: Facts | None = None,
    assume: Assumptions | None = None,
    today: dt.date | None = None,
) -> dict | None:
    """R-A2/R-G4 for an H-1B-only applicant: programs open (not excluded) with H-1B only
    against with J-1 accepted too; None for anyone else. `lost` is what the restriction costs."""
    if profile.visa_needed != "h1b":
        return None
    open_h1b = int((assess(profile, programs, facts, assume, today)["status"] != EXCLUDED).sum())
    either = profile.model_copy(update={"visa_needed": "j1_or_h1b"})
    open_either = int((assess(either, programs, facts, assume, today)["status"] != EXCLUDED).sum())
    return {"open_h1b_only": open_h1b, "open_with_j1": open_either, "lost": open_either - open_h1b}
