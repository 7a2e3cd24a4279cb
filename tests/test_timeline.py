"""Dates (R-W1..R-W9): cycle calendar, blocks, deadlines, visa lead, the .ics file."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import make_profile

from helpers.analysis import analyse
from helpers.assumptions import load_assumptions
from helpers.config import DEFAULT_PROGRAMS
from helpers.facts import load_facts
from helpers.programs import load_programs
from helpers.timeline import (
    Block,
    block_starts,
    cycle_calendar,
    feasible_blocks,
    match_day,
    parse_months,
    to_ics,
)

A = load_assumptions()
F = load_facts()


def test_match_day_is_third_friday_of_march():
    assert match_day(2026) == dt.date(2026, 3, 20)  # official date in data/facts
    assert match_day(2024) == dt.date(2024, 3, 15)
    assert match_day(2028) == dt.date(2028, 3, 17)


RULES = A.value("calendar_rules")


def test_calendar_rules_reproduce_the_official_2026_cycle():
    official = {c.key: c for c in cycle_calendar(2025, F, A)}
    assert official["eras_submit"].status == "official"
    assert official["eras_submit"].date == dt.date(2025, 9, 3)
    later = {c.key: c for c in cycle_calendar(2027, F, A)}
    assert all(c.status == "estimated" for c in later.values())
    assert later["eras_opens"].date == dt.date(2027, 6, 2)  # first Wednesday of June
    assert later["eras_submit"].date == dt.date(2027, 9, 1)  # first Wednesday of September
    review = dt.timedelta(days=int(RULES["programs_review_days_after_submission"]))
    assert later["programs_review"].date == dt.date(2027, 9, 1) + review
    before = dt.timedelta(days=int(RULES["rank_list_days_before_match_day"]))
    assert later["match_day"].date == dt.date(2028, 3, 17)
    assert later["rank_list_deadline"].date == dt.date(2028, 3, 17) - before


@pytest.mark.parametrize(
    ("cycle", "deadline"),
    [(2023, dt.date(2024, 2, 28)), (2022, dt.date(2023, 3, 1))],  # past deadlines quoted in data/facts notes
)
def test_rank_list_rule_reproduces_past_deadlines_through_the_calendar(cycle, deadline):
    dates = {c.key: c for c in cycle_calendar(cycle, F, A)}
    assert dates["rank_list_deadline"].status == "estimated"
    assert dates["rank_list_deadline"].date == deadline


def test_leap_year_blocks_and_cycle():
    blocks = block_starts(dt.date(2028, 2, 1), dt.date(2028, 3, 31), 4)
    assert all(b.start.weekday() == 0 for b in blocks)
    assert any(b.start <= dt.date(2028, 2, 29) <= b.end for b in blocks)
    p = make_profile(
        application_cycle=2028,
        plan_date=dt.date(2027, 9, 1),
        available_from=dt.date(2028, 2, 1),
        available_to=dt.date(2028, 9, 30),
    )
    assert p.window_start == dt.date(2028, 2, 1)


def test_R_W1_blocks_stay_inside_the_window():
    p = make_profile()
    for block, _ in feasible_blocks(p, None, 16, A):
        assert p.window_start <= block.start and block.end <= p.window_end
        assert (block.end - block.start).days == 25  # 4 weeks, Monday to Friday (R-W7)


def test_R_W4_apply_by_is_lead_time_before_start():
    for block, apply_by in feasible_blocks(make_profile(), frozenset({5, 6}), 20, A):
        assert block.start - apply_by == dt.timedelta(weeks=20)
        assert block.start.month in (5, 6)


def test_plan_date_after_the_window_leaves_nothing():
    p = make_profile(plan_date=dt.date(2027, 10, 1))
    assert feasible_blocks(p, None, 12, A) == []


def test_R_W6_visa_lead_pushes_blocks_out():
    from_abroad = make_profile(plan_date=dt.date(2027, 2, 1), current_us_status="none")
    in_us = make_profile(plan_date=dt.date(2027, 2, 1), current_us_status="f1")
    abroad = [b.start for b, _ in feasible_blocks(from_abroad, None, 4, A)]
    here = [b.start for b, _ in feasible_blocks(in_us, None, 4, A)]
    assert min(abroad) >= dt.date(2027, 2, 1) + dt.timedelta(weeks=16)
    assert min(here) < min(abroad)


def test_overlapping_blocks_are_refused():
    a = Block(dt.date(2027, 5, 3), dt.date(2027, 5, 28))
    assert a.overlaps(Block(dt.date(2027, 5, 17), dt.date(2027, 6, 11)))
    assert not a.overlaps(Block(dt.date(2027, 6, 7), dt.date(2027, 7, 2)))


def test_month_lists():
    assert parse_months("4-9") == frozenset(range(4, 10))
    assert parse_months("5;6;7") == frozenset({5, 6, 7})
    assert parse_months("11-2") == frozenset({11, 12, 1, 2})
    assert parse_months("") is None
    with pytest.raises(ValueError):
        parse_months("0-13")


def test_R_W8_R_W9_milestones_and_ics_round_trip():
    """R-K1 documents first, R-W4 host deadlines, R-P2 case log on the rotation, R-W8 letters,
    R-W9 thank-you and at most two updates; the .ics parses back to the same events."""
    from icalendar import Calendar

    a = analyse(make_profile(budget_usd=9000), load_programs(DEFAULT_PROGRAMS))
    steps = a.steps
    assert (steps["date"] >= a.plan_date).all()
    rules = set(steps["rule"])
    assert {"R-K1", "R-W4", "R-P2", "R-W8", "R-W9", "R-W6"} <= rules
    assert (steps["rule"] == "R-W9").sum() == len(a.rotations) + 2  # thank-yous + at most two updates
    raw = to_ics("t-1", steps, a.plan_date)
    cal = Calendar.from_ical(raw)
    events = [(e.decoded("dtstart"), str(e.get("summary"))) for e in cal.walk("VEVENT")]
    assert events == list(zip(steps["date"], steps["what"], strict=True))
    assert to_ics("t-1", steps, a.plan_date) == raw  # reproducible


def test_late_plan_says_plainly_what_is_left():
    a = analyse(make_profile(plan_date=dt.date(2027, 7, 15)), load_programs(DEFAULT_PROGRAMS))
    assert len(a.rotations) == 0
    message = dict(a.warnings)["R-V3"]
    assert "too late this cycle" in message
    assert set(a.alternatives["alternative"]) == {"observership", "virtual_elective", "research"}
