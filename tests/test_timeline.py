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
    nth_weekday,
    parse_months,
    to_ics,
)

A = load_assumptions()
F = load_facts()


def test_match_day_is_third_friday_of_march():
    assert match_day(2026) == dt.date(2026, 3, 20)  # official date in data/facts
    assert match_day(2024) == dt.date(2024, 3, 15)
    assert match_day(2028) == dt.date(2028, 3, 17)


def test_calendar_rules_reproduce_the_official_2026_cycle():
    official = {c.key: c for c in cycle_calendar(2025, F, A)}
    assert official["eras_submit"].status == "official"
    assert official["eras_submit"].date == dt.date(2025, 9, 3)
    later = {c.key: c for c in cycle_calendar(2027, F, A)}
    assert all(c.status == "estimated" for c in later.values())
    assert later["eras_opens"].date == nth_weekday(2027, 6, 2, 1)
    assert later["programs_review"].date - later["eras_submit"].date == dt.timedelta(days=21)
    assert later["rank_list_deadline"].date == match_day(2028) - dt.timedelta(days=16)


def test_rank_list_rule_matches_past_deadlines():
    # 2024: 28 Feb (Match Day 15 Mar); 2023: 1 Mar (Match Day 17 Mar), both in data/facts notes.
    assert match_day(2024) - dt.timedelta(days=16) == dt.date(2024, 2, 28)
    assert match_day(2023) - dt.timedelta(days=16) == dt.date(2023, 3, 1)


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
    in_us = make_profile(current_us_status="f1")  # no visa sequence: the host's lead time alone
    for block, apply_by in feasible_blocks(in_us, frozenset({5, 6}), 20, A):
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
    sequence = dt.timedelta(
        days=A.value("document_prep_days") + A.value("travel_buffer_days"),
        weeks=A.value("visa_wait_weeks") + A.value("host_acceptance_weeks"),
    )
    assert min(abroad) >= dt.date(2027, 2, 1) + sequence
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
    cal = Calendar.from_ical(raw)  # a second, independent iCalendar parser reads the file back
    events = [(e.decoded("dtstart"), str(e.get("summary"))) for e in cal.walk("VEVENT")]
    shown = steps.loc[steps["kind"] != "rotation_end"]  # a rotation is one event spanning its block
    assert events == list(zip(shown["date"], shown["what"], strict=True))
    assert to_ics("t-1", steps, a.plan_date) == raw  # reproducible


def test_ics_rotations_span_the_block_and_deadlines_remind_a_week_before():
    """R-W7 blocks as multi-day events; R-W4/R-E1 deadlines with a VALARM one week before,
    checked with the icalendar package (not used to write the file)."""
    from icalendar import Calendar

    a = analyse(make_profile(budget_usd=9000), load_programs(DEFAULT_PROGRAMS))
    assert len(a.rotations)
    cal = Calendar.from_ical(to_ics("t-1", a.steps, a.plan_date))
    events = {str(e.get("summary")): e for e in cal.walk("VEVENT")}
    for r in a.rotations.to_dict("records"):
        e = next(v for k, v in events.items() if k.startswith(f"Rotation at {r['name']}"))
        assert e.decoded("dtstart") == r["start"]
        assert e.decoded("dtend") == r["end"] + dt.timedelta(days=1)  # DTEND of an all-day event is exclusive
        assert not e.walk("VALARM")
        apply = next(v for k, v in events.items() if k.startswith(f"Apply to {r['name']}"))
        (alarm,) = apply.walk("VALARM")
        assert alarm.decoded("trigger") == -dt.timedelta(days=7)
    kinds = {str(e.get("categories").cats[0]) for e in cal.walk("VEVENT") if e.walk("VALARM")}
    assert {"host_application", "visa_application", "rank_list"} <= kinds
    assert "thank_you" not in kinds


def test_late_plan_says_plainly_what_is_left():
    a = analyse(make_profile(plan_date=dt.date(2027, 7, 15)), load_programs(DEFAULT_PROGRAMS))
    assert len(a.rotations) == 0
    message = dict(a.warnings)["R-V3"]
    assert "too late this cycle" in message
    assert set(a.alternatives["kind"]) == {"observership", "virtual_elective", "research"}
    # R-E1: the observership needs the same visa, so it is not offered as possible this cycle
    obs = a.alternatives.set_index("kind").loc["observership"]
    assert obs["needs_visa"] and not obs["feasible"] and "not possible this cycle" in obs["why"]
