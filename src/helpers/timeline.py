"""Dates: rotation blocks, the visa sequence, host deadlines, ECFMG and Step 3, milestones.

Rules R-W1..R-W9, R-E1/R-E2 (visa order, no visa), R-G2 (ECFMG certificate), R-G4 (Step 3
for H-1B) and R-V3 (what is still possible when no rotation is planned). Cycle dates come
from the leaf module `cycle` (official where published, else estimated); every other date
is derived by the named assumptions in data/assumptions.yaml or by sourced durations in
data/facts/ecfmg_certification.csv.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from .cycle import (  # noqa: F401 - re-exported: older callers import these from timeline
    OFFICIAL_SUBMISSION_YEAR,
    CycleDate,
    cycle_calendar,
    match_day,
    nth_weekday,
    parse_months,
    training_start,
)

if TYPE_CHECKING:  # pragma: no cover
    from .assumptions import Assumptions
    from .facts import Facts
    from .profile import Profile

# The deadline kinds of the interface contract (summary.json deadlines[].kind).
DEADLINE_KINDS = (
    "host_documents",
    "host_questions",
    "host_application",
    "visa_application",
    "visa_ready",
    "travel",
    "rotation_start",
    "rotation_end",
    "letter_request",
    "thank_you",
    "eras_opens",
    "eras_submit",
    "signals",
    "update_message",
    "step3",
    "ecfmg_certificate",
    "rank_list",
    "match_day",
    "other",
)
ECFMG_FACTS = "ecfmg_certification.csv"


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Block:
    """A rotation block: start Monday, end Friday of its last week (R-W7)."""

    start: dt.date
    end: dt.date

    def overlaps(self, other: Block) -> bool:
        return self.start <= other.end and other.start <= self.end


def block_starts(window_start: dt.date, window_end: dt.date, weeks: int) -> list[Block]:
    """Blocks starting on the first and third Monday of each month that fit in the window."""
    blocks = []
    year, month = window_start.year, window_start.month
    while dt.date(year, month, 1) <= window_end:
        for n in (1, 3):
            start = nth_weekday(year, month, calendar.MONDAY, n)
            end = start + dt.timedelta(days=7 * weeks - 3)
            if start >= window_start and end <= window_end:
                blocks.append(Block(start, end))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return blocks


def month_weight(start: dt.date, assume: Assumptions) -> float:
    """How much a block starting in this month is worth for letters by ERAS (R-W2, R-W3)."""
    weights = assume.value("month_weight")
    return float(weights.get(start.month, weights["other"]))


# --------------------------------------------------------------------------- visa sequence


def needs_entry_visa(profile: Profile) -> bool:
    """R-C1/R-E1: an applicant outside the US who is not a citizen or permanent resident
    needs a visitor visa to rotate. R-E2: `visa_needed: none` or a permanent resident
    takes no visa step; an applicant already in the US (F-1, B1/B2, ...) has a status."""
    if profile.visa_needed == "none" or profile.current_us_status == "permanent_resident":
        return False
    return profile.current_us_status == "none"


@dataclass(frozen=True)
class VisaSequence:
    """R-E1 for one rotation: host application -> acceptance -> visa application with the
    acceptance letter -> visa in hand -> travel -> start. Dates are the latest that still
    work, except acceptance and the visa application, which follow the host application."""

    host_application: dt.date
    acceptance: dt.date
    visa_application: dt.date
    visa_ready: dt.date
    travel: dt.date
    start: dt.date


def visa_durations(assume: Assumptions) -> tuple[dt.timedelta, dt.timedelta, dt.timedelta]:
    """(host acceptance, visa wait, travel buffer): the named assumptions behind R-E1."""
    return (
        dt.timedelta(weeks=float(assume.value("host_acceptance_weeks"))),
        dt.timedelta(weeks=float(assume.value("visa_wait_weeks"))),
        dt.timedelta(days=int(assume.value("travel_buffer_days"))),
    )


def apply_by_date(start: dt.date, lead_weeks: float, visa: bool, assume: Assumptions) -> dt.date:
    """The host application deadline: the host's lead time before the start (R-W4), or
    earlier when the visa sequence needs more (R-E1, R-W6)."""
    apply_by = start - dt.timedelta(weeks=float(lead_weeks))
    if visa:
        accept, wait, buffer = visa_durations(assume)
        apply_by = min(apply_by, start - buffer - wait - accept)
    return apply_by


def visa_sequence(apply_by: dt.date, start: dt.date, assume: Assumptions) -> VisaSequence:
    """The R-E1 dates of a rotation whose host application goes in on `apply_by`."""
    accept, wait, buffer = visa_durations(assume)
    acceptance = apply_by + accept
    return VisaSequence(apply_by, acceptance, acceptance, acceptance + wait, start - buffer, start)


def earliest_start(profile: Profile, assume: Assumptions, today: dt.date | None = None) -> dt.date:
    """The first day a rotation can begin: documents ready, then (abroad) the whole visa
    sequence of R-E1. Hosts add their own lead time on top (R-W4)."""
    plan = profile.effective_plan_date(today)
    first = plan + dt.timedelta(days=int(assume.value("document_prep_days")))
    if needs_entry_visa(profile):
        accept, wait, buffer = visa_durations(assume)
        first = first + accept + wait + buffer
    return first


def sequence_explanation(profile: Profile, assume: Assumptions, today: dt.date | None = None) -> str:
    """In words, why no block can start before `earliest_start` (R-E1, R-W6)."""
    plan = profile.effective_plan_date(today)
    prep = int(assume.value("document_prep_days"))
    ready = plan + dt.timedelta(days=prep)
    if not needs_entry_visa(profile):
        return f"documents ready by {ready} ({prep} days, assumption document_prep_days), then each host's own lead time"
    accept, wait, buffer = visa_durations(assume)
    return (
        f"host application once documents are ready ({ready}), acceptance letter {accept.days // 7} weeks later "
        f"(host_acceptance_weeks), visa application with that letter, visa in hand {wait.days // 7} weeks later "
        f"(visa_wait_weeks), travel {buffer.days} days before the start (travel_buffer_days): "
        f"the earliest start is {earliest_start(profile, assume, today)} even before any host's own lead time"
    )


def feasible_blocks(
    profile: Profile,
    months: frozenset[int] | None,
    lead_weeks: float,
    assume: Assumptions,
    today: dt.date | None = None,
) -> list[tuple[Block, dt.date]]:
    """(block, apply_by) pairs a host could offer this applicant (R-W1, R-W4, R-W6, R-E1).

    apply_by is the host's lead time before the start, or earlier when the applicant's visa
    sequence needs more; it must leave the document preparation time after the plan date.
    A block whose sequence cannot fit is not offered. Blocks outside the host's months are
    dropped.
    """
    plan = profile.effective_plan_date(today)
    prep = dt.timedelta(days=int(assume.value("document_prep_days")))
    visa = needs_entry_visa(profile)
    weeks = int(assume.value("rotation_weeks"))
    out = []
    for block in block_starts(profile.window_start, profile.window_end, weeks):
        if months is not None and block.start.month not in months:
            continue
        apply_by = apply_by_date(block.start, lead_weeks, visa, assume)
        if apply_by < plan + prep:
            continue
        out.append((block, apply_by))
    return out


# --------------------------------------------------------------------------- ECFMG and Step 3


def ecfmg_fact(facts: Facts, name: str) -> dict:
    """One row of data/facts/ecfmg_certification.csv (value, unit, source, source_url, trust)."""
    frame = facts.table(ECFMG_FACTS)
    row = frame.loc[frame["fact"] == name]
    if len(row) != 1:
        raise KeyError(f"fact '{name}' missing from {ECFMG_FACTS}")
    out = row.iloc[0].to_dict()
    out["value"] = float(out["value"])
    return out


def graduation_date(profile: Profile, assume: Assumptions) -> dt.date | None:
    """When the applicant graduates (R-G2): graduation_year at the assumed day; a student
    without one is taken to graduate in the spring before training starts; a graduate
    without one has graduated already (None)."""
    g = assume.value("graduation_date")
    year = profile.graduation_year
    if year is None:
        if not profile.is_student:
            return None
        year = profile.application_cycle + 1
    return dt.date(year, int(g["month"]), int(g["day"]))


def ecfmg_certificate_date(
    profile: Profile, cycle: list[CycleDate], facts: Facts, assume: Assumptions
) -> dt.date:
    """When the ECFMG certificate can be in hand (R-G2): a student's only after graduation
    plus the verification time (the certificate needs the final diploma); a graduate's by
    the rank-list deadline, when the exam requirements must be met anyway."""
    rank = next(c.date for c in cycle if c.key == "rank_list_deadline")
    grad = graduation_date(profile, assume)
    if grad is None or (not profile.is_student and grad <= rank):
        return rank
    weeks = ecfmg_fact(facts, "diploma_to_certificate_weeks")["value"]
    return grad + dt.timedelta(weeks=weeks)


@dataclass(frozen=True)
class Step3Dates:
    """R-G4: when Step 3 could be taken at the earliest, by when it must be sat so the pass
    is in by the rank-list deadline, and whether that can work."""

    earliest_sitting: dt.date
    sit_by: dt.date
    pass_by: dt.date
    can_meet: bool


def step3_dates(
    profile: Profile, cycle: list[CycleDate], facts: Facts, assume: Assumptions, today: dt.date | None = None
) -> Step3Dates:
    """Step 3 needs the degree and the ECFMG certificate (FSMB); graduation is verified in up
    to 12 weeks and the permit takes about 2 (facts). The pass must be in by the rank-list
    deadline; `step3_result_weeks` (assumption) allows for the result."""
    plan = profile.effective_plan_date(today)
    rank = next(c.date for c in cycle if c.key == "rank_list_deadline")
    permit = dt.timedelta(weeks=ecfmg_fact(facts, "step3_permit_processing_weeks")["value"])
    verify = dt.timedelta(weeks=ecfmg_fact(facts, "step3_graduation_verification_weeks")["value"])
    grad = graduation_date(profile, assume)
    ready = plan
    if grad is not None:
        ready = max(ready, grad + verify)
    if not profile.ecfmg_certified:
        ready = max(
            ready, ecfmg_certificate_date(profile, cycle, facts, assume) if profile.is_student else plan
        )
    earliest = ready + permit
    sit_by = rank - dt.timedelta(weeks=int(assume.value("step3_result_weeks")))
    return Step3Dates(earliest, sit_by, rank, earliest <= sit_by)


# --------------------------------------------------------------------------- milestones

_LANE = {  # the lane of the calendar figure for each kind
    "rotation_start": "rotation",
    "rotation_end": "rotation",
    "host_application": "deadline",
    "visa_application": "deadline",
    "visa_ready": "deadline",
    "travel": "deadline",
    "step3": "deadline",
    "ecfmg_certificate": "deadline",
    "rank_list": "deadline",
    "eras_submit": "cycle",
    "eras_opens": "cycle",
    "signals": "deadline",
    "match_day": "cycle",
}


def milestones(
    profile: Profile,
    rotations: list[dict],
    cycle: list[CycleDate],
    assume: Assumptions,
    today: dt.date | None = None,
    facts: Facts | None = None,
    late: bool = False,
    open_programs: bool = True,
) -> pd.DataFrame:
    """Dated steps from the plan date to Match Day, each with its interface `kind`.

    R-K1/R-K2 documents and questions, R-W4 host applications, R-E1 the visa sequence in
    order, R-W8/R-W9 letters and messages, R-G2 ECFMG, R-G4 Step 3, R-V3 what is still
    possible when no rotation is planned, and (when `late`) the next cycle's key dates.
    `rotations` are dicts with program_id, name, kind, start, end, apply_by. Without
    `open_programs` (every program is closed to the applicant this cycle) there are no
    signals or update messages to send. Steps dated before the plan date are dropped; cycle dates keep their official/estimated label.
    Columns: date, what, rule, kind, lane (figure lane), status, end (rotation starts only).
    """
    if facts is None:
        from .facts import load_facts

        facts = load_facts()
    plan = profile.effective_plan_date(today)
    by_key = {c.key: c for c in cycle}
    rows: list[dict] = []

    def add(
        date: dt.date, what: str, rule: str, kind: str, status: str = "plan", end: dt.date | None = None
    ) -> None:
        assert kind in DEADLINE_KINDS, kind
        lane = _LANE.get(kind, "cycle" if status in ("official", "estimated") and rule == "cycle" else "task")
        rows.append(step_row(date, what, rule, kind, lane, status, end))

    if rotations:
        first_apply = min(r["apply_by"] for r in rotations)
        add(
            plan,
            "Gather host documents: transcript, MSPE, USMLE results, immunisations, malpractice cover, CV, short statement, English test",
            "R-K1",
            "host_documents",
        )
        if profile.step1 != "pass":
            add(first_apply, "Step 1 result must be out before the first host application", "R-W5", "other")
        if needs_entry_visa(profile):
            first = min(rotations, key=lambda r: r["start"])
            seq = visa_sequence(first["apply_by"], first["start"], assume)
            accept, wait, buffer = visa_durations(assume)
            add(
                seq.acceptance,
                f"Acceptance letter expected from {first['name']} ({accept.days // 7} weeks after applying; ask for it in writing)",
                "R-E1",
                "host_application",
            )
            add(
                seq.visa_application,
                f"Apply for the visitor visa with the acceptance letter from {first['name']} (consulate wait {wait.days // 7} weeks)",
                "R-E1",
                "visa_application",
            )
            add(seq.visa_ready, "Visitor visa in hand (expected)", "R-W6", "visa_ready")
            add(
                seq.travel,
                f"Travel to the US for the rotation at {first['name']} ({buffer.days} days before it starts)",
                "R-E1",
                "travel",
            )
    for r in rotations:
        confirm = max(plan, r["apply_by"] - dt.timedelta(days=int(assume.value("confirm_days_before_apply"))))
        add(
            confirm,
            f"Before paying, confirm with {r['name']}: IMG eligibility, evaluation and letter, documents, hands-on or observer"
            + (", and whether it gives a letter for the visa (R-A4)" if needs_entry_visa(profile) else ""),
            "R-K2",
            "host_questions",
        )
        add(
            r["apply_by"],
            f"Apply to {r['name']} ({r['kind']}) for {r['start']:%d %b}-{r['end']:%d %b}",
            "R-W4",
            "host_application",
        )
        add(
            r["start"],
            f"Rotation at {r['name']}: keep a case log, ask for feedback mid-way",
            "R-P2",
            "rotation_start",
            end=r["end"],
        )
        ask = r["end"] - dt.timedelta(days=int(assume.value("letter_request_days_before_end")))
        add(
            ask,
            f"Ask for a letter at {r['name']} with CV, goals paragraph and cases worked on together",
            "R-W8",
            "letter_request",
        )
        add(r["end"], f"Rotation at {r['name']} ends", "R-W7", "rotation_end")
        thanks = r["end"] + dt.timedelta(days=int(assume.value("thank_you_days_after_end")))
        add(thanks, f"Thank-you message to {r['name']}", "R-W9", "thank_you")

    kinds = {
        "eras_opens": "eras_opens",
        "eras_submit": "eras_submit",
        "nrmp_registration": "other",
        "programs_review": "other",
        "match_week": "other",
        "match_day": "match_day",
    }
    for key, kind in kinds.items():
        c = by_key[key]
        add(c.date, c.what, "R-W2" if key == "eras_submit" else "cycle", kind, c.status)
    submit = by_key["eras_submit"]
    gold, silver = int(facts.value("gold_signals")), int(facts.value("silver_signals"))
    if open_programs:
        add(
            submit.date,
            f"Send the {gold} gold and {silver} silver program signals with the ERAS application",
            "R-B3",
            "signals",
            submit.status,
        )
    rank = by_key["rank_list_deadline"]
    add(rank.date, rank.what, "cycle", "rank_list", rank.status)
    rows.extend(_ecfmg_rows(profile, cycle, facts, assume, today))
    if profile.visa_needed in ("h1b", "j1_or_h1b") and profile.step3 != "pass":
        s3 = step3_dates(profile, cycle, facts, assume, today)
        if s3.can_meet:
            add(
                s3.sit_by,
                f"Sit Step 3 by this date so the pass is in by the rank-list deadline ({s3.pass_by}); H-1B programs count only on that condition",
                "R-G4",
                "step3",
                "estimated",
            )
        else:
            add(
                s3.earliest_sitting,
                f"Earliest Step 3 sitting (after graduation and the ECFMG certificate), too late for the rank-list deadline {s3.pass_by}: H-1B programs are closed this cycle; J-1 is the route",
                "R-G4",
                "step3",
                "estimated",
            )
    if profile.step2_ck is None:
        add(
            by_key["programs_review"].date,
            "Step 2 CK score out before programs review applications",
            "R-C4",
            "other",
            by_key["programs_review"].status,
        )
    for n, days in enumerate(assume.value("update_message_days_after_submission"), start=1):
        if not open_programs:
            break
        add(
            submit.date + dt.timedelta(days=int(days)),
            f"Optional short update message to programs ({n} of at most 2)",
            "R-W9",
            "update_message",
        )
    if not rotations:
        rows.extend(still_possible(profile, cycle, assume, today))
        if late:
            rows.extend(next_cycle_dates(profile, facts, assume))

    frame = pd.DataFrame(rows)
    frame = frame.loc[frame["date"] >= plan].sort_values(["date", "lane", "what"], kind="stable")
    return frame.reset_index(drop=True)


def step_row(
    date: dt.date,
    what: str,
    rule: str,
    kind: str,
    lane: str,
    status: str = "plan",
    end: dt.date | None = None,
) -> dict:
    """One dated step as the milestones table holds it."""
    return {
        "date": date,
        "what": what,
        "rule": rule,
        "kind": kind,
        "lane": lane,
        "status": status,
        "end": end,
    }


def _ecfmg_rows(
    profile: Profile, cycle: list[CycleDate], facts: Facts, assume: Assumptions, today: dt.date | None
) -> list[dict]:
    """R-G2: exams by the rank-list deadline, the diploma to ECFMG after graduation, the
    certificate after that and before training starts."""
    if profile.ecfmg_certified:
        return []
    rank = next(c for c in cycle if c.key == "rank_list_deadline")
    start = training_start(profile.application_cycle, assume)
    rows = [
        step_row(
            rank.date,
            "ECFMG exam requirements met (Step 1 and Step 2 CK passed) by the rank-list deadline",
            "R-G2",
            "ecfmg_certificate",
            "deadline",
            rank.status,
        )
    ]
    grad = graduation_date(profile, assume)
    cert = ecfmg_certificate_date(profile, cycle, facts, assume)
    weeks = int(ecfmg_fact(facts, "diploma_to_certificate_weeks")["value"])
    if profile.is_student and grad is not None:
        rows.append(
            step_row(
                grad,
                "Send ECFMG your final diploma as soon as it is issued: the certificate needs it (ECFMG verifies it with your school)",
                "R-G2",
                "ecfmg_certificate",
                "task",
                "estimated",
            )
        )
    late = " - after training starts: ask programs and ECFMG now" if cert > start else ""
    rows.append(
        step_row(
            cert,
            f"ECFMG certificate expected (about {weeks} weeks after the diploma reaches ECFMG; needed before training starts on {start:%d %b %Y}){late}"
            if profile.is_student
            else f"ECFMG certificate complete (needed by the rank-list deadline and before training starts on {start:%d %b %Y})",
            "R-G2",
            "ecfmg_certificate",
            "deadline",
            "estimated",
        )
    )
    return rows


def still_possible(
    profile: Profile, cycle: list[CycleDate], assume: Assumptions, today: dt.date | None = None
) -> list[dict]:
    """R-V3/R-W8: dated steps still worth doing this cycle when no rotation is planned:
    letters from faculty who know the applicant, a virtual elective, imaging research."""
    plan = profile.effective_plan_date(today)
    lp = assume.value("late_plan")
    by_key = {c.key: c for c in cycle}
    submit, review = by_key["eras_submit"].date, by_key["programs_review"].date
    prep = dt.timedelta(days=int(assume.value("document_prep_days")))
    ask = max(plan, submit - dt.timedelta(weeks=int(lp["letter_request_weeks_before_submission"])))
    weeks = int(lp["virtual_elective_weeks"])
    velective = max(plan + prep, review - dt.timedelta(weeks=weeks))
    after = (
        " (it ends after programs start reviewing: send it as an update, R-W9)"
        if velective + dt.timedelta(weeks=weeks) > review
        else ""
    )
    return [
        step_row(
            ask,
            "Ask faculty who know your clinical or research work for letters; give each the ERAS letter request form and your CV",
            "R-W8",
            "letter_request",
            "task",
        ),
        step_row(
            velective,
            f"Start a {weeks}-week virtual radiology elective with a US department (no visa or travel){after}",
            "R-V3",
            "other",
            "task",
        ),
        step_row(
            plan + dt.timedelta(days=int(lp["research_start_days"])),
            "Start imaging research with a US team (remote counts); list it in ERAS and ask the supervisor for a letter",
            "R-V3",
            "other",
            "task",
        ),
    ]


def next_cycle_dates(profile: Profile, facts: Facts, assume: Assumptions) -> list[dict]:
    """R-V3: the key dates of the next cycle, for a plan that is late or blocked in this one."""
    nxt = profile.application_cycle + 1
    cyc = {c.key: c for c in cycle_calendar(nxt, facts, assume)}
    lead = float(assume.value("default_application_lead_weeks"))
    may = nth_weekday(nxt, 5, calendar.MONDAY, 1)
    rows = [
        step_row(
            may - dt.timedelta(weeks=lead),
            f"Next cycle ({nxt}): apply to hosts for a May-July {nxt} rotation by about this date (R-W4 lead time)",
            "R-W4",
            "host_application",
            "task",
            "estimated",
        )
    ]
    for key, kind in (
        ("eras_opens", "eras_opens"),
        ("eras_submit", "eras_submit"),
        ("rank_list_deadline", "rank_list"),
        ("match_day", "match_day"),
    ):
        c = cyc[key]
        rows.append(step_row(c.date, f"Next cycle ({nxt}): {c.what}", "R-V3", kind, "cycle", c.status))
    return rows


# --------------------------------------------------------------------------- iCalendar

_REMINDED = ("deadline",)  # lanes whose events carry a reminder a week before


def _ics_text(value: str) -> str:
    """RFC 5545 TEXT escaping."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, current, size = [], "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > (75 if not parts else 74):
            parts.append(current)
            current, size = "", 0
        current += ch
        size += n
    parts.append(current)
    return "\r\n ".join(parts)


def to_ics(applicant_id: str, steps: pd.DataFrame, stamp: dt.date) -> bytes:
    """The milestones as an iCalendar file (RFC 5545), written directly.

    Rotations are all-day events spanning the block (DTSTART/DTEND dates); deadlines carry
    a reminder (VALARM) one week before; other steps are one-day events. UIDs and DTSTAMP
    derive from the inputs, so the file is reproducible. No name or score goes in.
    """
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//awayplan//timeline//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_ics_text(f'awayplan {applicant_id}')}",
    ]
    dtstamp = f"{stamp:%Y%m%d}T000000Z"
    for row in steps.itertuples(index=False):
        if row.kind == "rotation_end":
            continue  # the rotation's event spans the block
        end = getattr(row, "end", None)
        last = end if isinstance(end, dt.date) else row.date
        digest = hashlib.sha256(f"{applicant_id}|{row.date}|{row.what}".encode()).hexdigest()[:24]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{digest}@awayplan",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART;VALUE=DATE:{row.date:%Y%m%d}",
            f"DTEND;VALUE=DATE:{last + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_text(str(row.what))}",
            f"DESCRIPTION:{_ics_text(f'{row.rule} ({row.kind}, {row.status})')}",
            f"CATEGORIES:{_ics_text(str(row.kind))}",
        ]
        if row.lane in _REMINDED:
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{_ics_text('In one week: ' + str(row.what))}",
                "TRIGGER:-P7D",
                "END:VALARM",
            ]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(x) for x in lines) + "\r\n").encode("utf-8")
