"""Dates: the application-cycle calendar, rotation blocks, host deadlines and milestones.

Rules R-W1..R-W9 of advising-rules.md. Official dates come from data/facts/
timeline_2026_cycle.csv where the cycle matches; every other date is derived by the
calendar rules in data/assumptions.yaml and labelled "estimated".
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .assumptions import Assumptions
    from .facts import Facts
    from .profile import Profile


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based) given weekday (Mon=0) of a month."""
    first = dt.date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def match_day(match_year: int) -> dt.date:
    """Match Day: the third Friday of March of the match year (glossary; 2026: 20 March)."""
    return nth_weekday(match_year, 3, calendar.FRIDAY, 3)


@dataclass(frozen=True)
class CycleDate:
    """One date of the application cycle, official (with its source) or estimated."""

    key: str
    what: str
    date: dt.date
    status: str  # "official" or "estimated"
    source: str
    source_url: str


# Official event names in timeline_2026_cycle.csv -> the kit's keys.
_OFFICIAL_EVENTS = {
    "eras_opens": "2026 ERAS season begins (MyERAS opens)",
    "eras_submit": "Residency applicants may begin submitting MyERAS applications",
    "nrmp_registration": "NRMP applicant and medical school registration opens (2026 Main Match)",
    "programs_review": "Residency programs may begin reviewing MyERAS applications and MSPEs",
    "rank_list_deadline": "Rank order list certification deadline",
    "match_week": "Match Week begins (applicants learn whether they matched; SOAP starts)",
    "match_day": "Match Day",
}
# The official table describes the cycle whose ERAS applications were submitted in 2025.
OFFICIAL_SUBMISSION_YEAR = 2025


def cycle_calendar(application_cycle: int, facts: Facts, assume: Assumptions) -> list[CycleDate]:
    """ERAS and NRMP dates for the cycle in which ERAS is submitted in `application_cycle`."""
    y = application_cycle
    rules = assume.value("calendar_rules")
    review_after = int(rules["programs_review_days_after_submission"])
    rank_before = int(rules["rank_list_days_before_match_day"])
    submit = nth_weekday(y, 9, calendar.WEDNESDAY, 1)
    md = match_day(y + 1)
    estimated = {
        "eras_opens": ("MyERAS opens for the season", nth_weekday(y, 6, calendar.WEDNESDAY, 1)),
        "eras_submit": ("ERAS submission opens", submit),
        "nrmp_registration": ("NRMP applicant registration opens", dt.date(y, 9, 15)),
        "programs_review": (
            "Programs start reviewing ERAS applications",
            submit + dt.timedelta(days=review_after),
        ),
        "rank_list_deadline": (
            "Rank order list deadline (ECFMG certification must be complete by then)",
            md - dt.timedelta(days=rank_before),
        ),
        "match_week": ("Match Week begins (SOAP for the unmatched)", md - dt.timedelta(days=4)),
        "match_day": ("Match Day", md),
    }
    official = facts.official_dates() if y == OFFICIAL_SUBMISSION_YEAR else {}
    out = []
    rule_source = f"estimated by the calendar rules in {assume.file_label}"
    for key, (what, when) in estimated.items():
        row = official.get(_OFFICIAL_EVENTS[key])
        if row is not None and row["date"] is not None:
            out.append(CycleDate(key, what, row["date"], "official", row["source"], row["source_url"]))
        else:
            out.append(CycleDate(key, what, when, "estimated", rule_source, ""))
    return sorted(out, key=lambda c: c.date)


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


def parse_months(text: str | None) -> frozenset[int] | None:
    """`"4-9"` -> {4..9}; `"5;6;7"` -> {5,6,7}; blank -> None (unknown). Raises ValueError."""
    if text is None or str(text).strip() == "":
        return None
    months: set[int] = set()
    for part in str(text).replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
            if not (1 <= a <= 12 and 1 <= b <= 12):
                raise ValueError(f"month out of range in '{text}'")
            months.update(range(a, b + 1) if a <= b else [*range(a, 13), *range(1, b + 1)])
        else:
            m = int(part)
            if not 1 <= m <= 12:
                raise ValueError(f"month out of range in '{text}'")
            months.add(m)
    if not months:
        raise ValueError(f"no months in '{text}'")
    return frozenset(months)


def month_weight(start: dt.date, assume: Assumptions) -> float:
    """How much a block starting in this month is worth for letters by ERAS (R-W2, R-W3)."""
    weights = assume.value("month_weight")
    return float(weights.get(start.month, weights["other"]))


def needs_entry_visa(profile: Profile) -> bool:
    """R-C1/R-W6: an applicant not already in the US needs a visitor visa to rotate."""
    return profile.current_us_status == "none"


def earliest_start(profile: Profile, assume: Assumptions, today: dt.date | None = None) -> dt.date:
    """The first day a rotation can begin given visa processing from the plan date (R-W6)."""
    plan = profile.effective_plan_date(today)
    if needs_entry_visa(profile):
        return plan + dt.timedelta(weeks=int(assume.value("visa_lead_weeks")))
    return plan


def feasible_blocks(
    profile: Profile,
    months: frozenset[int] | None,
    lead_weeks: float,
    assume: Assumptions,
    today: dt.date | None = None,
) -> list[tuple[Block, dt.date]]:
    """(block, apply_by) pairs a host could offer this applicant (R-W1, R-W4, R-W6).

    apply_by = start - the host's lead time; it must leave the applicant the document
    preparation time after the plan date. Blocks outside the host's months are dropped.
    """
    plan = profile.effective_plan_date(today)
    prep = dt.timedelta(days=int(assume.value("document_prep_days")))
    first = earliest_start(profile, assume, today)
    weeks = int(assume.value("rotation_weeks"))
    out = []
    for block in block_starts(profile.window_start, profile.window_end, weeks):
        if months is not None and block.start.month not in months:
            continue
        if block.start < first:
            continue
        apply_by = block.start - dt.timedelta(weeks=float(lead_weeks))
        if apply_by < plan + prep:
            continue
        out.append((block, apply_by))
    return out


# --------------------------------------------------------------------------- milestones


def milestones(
    profile: Profile,
    rotations: list[dict],
    cycle: list[CycleDate],
    assume: Assumptions,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Dated steps from the plan date to Match Day (R-W4..R-W9, R-K1, R-K2, R-A2, R-C4).

    `rotations` are dicts with program_id, name, kind, start, end, apply_by. Steps dated
    before the plan date are dropped; cycle dates keep their official/estimated label.
    """
    plan = profile.effective_plan_date(today)
    by_key = {c.key: c for c in cycle}
    rows: list[dict] = []

    def add(date: dt.date, what: str, rule: str, kind: str, status: str = "plan") -> None:
        rows.append({"date": date, "what": what, "rule": rule, "kind": kind, "status": status})

    if rotations:
        first_apply = min(r["apply_by"] for r in rotations)
        add(
            plan,
            "Gather host documents: transcript, MSPE, USMLE results, immunisations, malpractice cover, CV, short statement, English test",
            "R-K1",
            "task",
        )
        if profile.step1 != "pass":
            add(
                first_apply, "Step 1 result must be out before the first host application", "R-W5", "deadline"
            )
        if needs_entry_visa(profile):
            first_start = min(r["start"] for r in rotations)
            lead = dt.timedelta(weeks=int(assume.value("visa_lead_weeks")))
            add(
                max(plan, first_start - lead),
                "Apply for the visitor visa (appointment wait can be long)",
                "R-W6",
                "deadline",
            )
    for r in rotations:
        confirm = max(plan, r["apply_by"] - dt.timedelta(days=int(assume.value("confirm_days_before_apply"))))
        add(
            confirm,
            f"Before paying, confirm with {r['name']}: IMG eligibility, evaluation and letter, documents, hands-on or observer",
            "R-K2",
            "task",
        )
        add(
            r["apply_by"],
            f"Apply to {r['name']} ({r['kind']}) for {r['start']:%d %b}-{r['end']:%d %b}",
            "R-W4",
            "deadline",
        )
        add(
            r["start"],
            f"Rotation starts at {r['name']}: keep a case log, ask for feedback mid-way",
            "R-P2",
            "rotation",
        )
        ask = r["end"] - dt.timedelta(days=int(assume.value("letter_request_days_before_end")))
        add(
            ask,
            f"Ask for a letter at {r['name']} with CV, goals paragraph and cases worked on together",
            "R-W8",
            "task",
        )
        thanks = r["end"] + dt.timedelta(days=int(assume.value("thank_you_days_after_end")))
        add(thanks, f"Thank-you message to {r['name']}", "R-W9", "task")

    for key in (
        "eras_opens",
        "eras_submit",
        "nrmp_registration",
        "programs_review",
        "match_week",
        "match_day",
    ):
        c = by_key[key]
        add(c.date, c.what, "R-W2" if key == "eras_submit" else "cycle", "cycle", c.status)
    rank = by_key["rank_list_deadline"]
    add(rank.date, rank.what, "cycle", "deadline", rank.status)
    if not profile.ecfmg_certified:
        add(
            rank.date,
            "ECFMG certification complete (needed by the rank list deadline)",
            "R-C4",
            "deadline",
            rank.status,
        )
    if profile.visa_needed in ("h1b", "j1_or_h1b") and profile.step3 != "pass":
        weeks = int(assume.value("step3_result_weeks"))
        add(
            rank.date - dt.timedelta(weeks=weeks),
            "Step 3 passed (H-1B sponsorship needs it)",
            "R-A2",
            "deadline",
            "estimated",
        )
    if profile.step2_ck is None:
        add(
            by_key["programs_review"].date,
            "Step 2 CK score out before programs review applications",
            "R-C4",
            "deadline",
            by_key["programs_review"].status,
        )
    submit = by_key["eras_submit"].date
    for n, days in enumerate(assume.value("update_message_days_after_submission"), start=1):
        add(
            submit + dt.timedelta(days=int(days)),
            f"Optional short update message to programs ({n} of at most 2)",
            "R-W9",
            "task",
        )

    frame = pd.DataFrame(rows)
    frame = frame.loc[frame["date"] >= plan].sort_values(["date", "kind", "what"], kind="stable")
    return frame.reset_index(drop=True)


def to_ics(applicant_id: str, steps: pd.DataFrame, stamp: dt.date) -> bytes:
    """The milestones as an iCalendar file (RFC 5545) via the icalendar library.

    All-day events; UIDs and DTSTAMP derive from the inputs, so the file is reproducible.
    No name or score goes in: only dates and steps.
    """
    import hashlib

    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//awayplan//timeline//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"awayplan {applicant_id}")
    stamp_dt = dt.datetime.combine(stamp, dt.time(0, 0), tzinfo=dt.UTC)
    for row in steps.itertuples(index=False):
        event = Event()
        digest = hashlib.sha256(f"{applicant_id}|{row.date}|{row.what}".encode()).hexdigest()[:24]
        event.add("uid", f"{digest}@awayplan")
        event.add("dtstamp", stamp_dt)
        event.add("dtstart", row.date)
        event.add("dtend", row.date + dt.timedelta(days=1))
        event.add("summary", row.what)
        event.add("description", f"{row.rule} ({row.kind}, {row.status})")
        event.add("categories", [row.kind])
        cal.add_component(event)
    return cal.to_ical()
