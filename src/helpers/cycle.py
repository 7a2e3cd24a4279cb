"""Cycle dates: the ERAS/NRMP calendar of one application cycle, and month lists.

A leaf module: it imports nothing from the kit, so input parsing (profile, programs) and
the plan (timeline, eligibility) can all use it. Official dates come from data/facts/
timeline_2026_cycle.csv where the cycle matches; other years are estimated by the
calendar rules in data/assumptions.yaml (`calendar_rules`) and labelled "estimated".
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol


class _Facts(Protocol):  # the parts of facts.Facts used here
    def official_dates(self) -> dict[str, dict]: ...


class _Assumptions(Protocol):  # the parts of assumptions.Assumptions used here
    file_label: str

    def value(self, key: str) -> Any: ...


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based) given weekday (Mon=0) of a month."""
    first = dt.date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def match_day(match_year: int) -> dt.date:
    """Match Day: the third Friday of March of the match year (glossary; 2026: 20 March)."""
    return nth_weekday(match_year, 3, calendar.FRIDAY, 3)


def training_start(application_cycle: int, assume: _Assumptions) -> dt.date:
    """First day of residency training after this cycle's Match (assumption `training_start`)."""
    ts = assume.value("training_start")
    return dt.date(application_cycle + 1, int(ts["month"]), int(ts["day"]))


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


def cycle_calendar(application_cycle: int, facts: _Facts, assume: _Assumptions) -> list[CycleDate]:
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
            "Rank order list deadline (the ECFMG exam requirements must be met by then)",
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
