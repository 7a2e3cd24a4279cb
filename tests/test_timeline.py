"""Dates (R-W1..R-W9): cycle calendar, blocks, deadlines, visa lead, the .ics file."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import analysed, make_profile

from helpers.assumptions import load_assumptions
from helpers.facts import load_facts
from helpers.timeline import (
    DEADLINE_KINDS,
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

    a = analysed(make_profile(budget_usd=9000))
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

    a = analysed(make_profile(budget_usd=9000))
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
    a = analysed(make_profile(plan_date=dt.date(2027, 7, 15)))
    assert len(a.rotations) == 0
    message = dict(a.warnings)["R-V3"]
    assert "too late this cycle" in message
    assert set(a.alternatives["kind"]) == {"observership", "virtual_elective", "research"}
    # R-E1: the observership needs the same visa, so it is not offered as possible this cycle
    obs = a.alternatives.set_index("kind").loc["observership"]
    assert obs["needs_visa"] and not obs["feasible"] and "not possible this cycle" in obs["why"]


# --------------------------------------------------------------------------- issue 12: one coherent plan


def first_date(steps, kind: str) -> dt.date:
    return steps.loc[steps["kind"] == kind, "date"].min()


def test_cycle_dates_live_in_a_leaf_module_used_by_input_parsing():
    """profile and programs read cycle dates from `cycle`, which imports nothing of the kit."""
    import ast
    import inspect

    from helpers import cycle, profile, programs

    def kit_imports(module) -> set[str]:
        tree = ast.parse(inspect.getsource(module))
        return {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0}

    assert kit_imports(cycle) == set()
    assert "cycle" in kit_imports(profile) and "timeline" not in kit_imports(profile)
    assert "cycle" in kit_imports(programs) and "timeline" not in kit_imports(programs)


def test_R_E1_visa_steps_follow_the_host_application_in_order():
    a = analysed(make_profile(budget_usd=9000))
    s = a.steps
    assert len(a.rotations)
    first = a.rotations.sort_values("start").iloc[0]
    apply = first["apply_by"]
    accept = s.loc[s["what"].str.startswith("Acceptance letter"), "date"].iloc[0]
    visa_app, visa_ready = first_date(s, "visa_application"), first_date(s, "visa_ready")
    travel, start = first_date(s, "travel"), first_date(s, "rotation_start")
    assert apply < accept <= visa_app < visa_ready <= travel < start == first["start"]
    assert visa_ready - visa_app == dt.timedelta(weeks=A.value("visa_wait_weeks"))
    assert start - travel == dt.timedelta(days=A.value("travel_buffer_days"))
    assert accept - apply == dt.timedelta(weeks=A.value("host_acceptance_weeks"))
    assert set(s["kind"]) <= set(DEADLINE_KINDS)


def test_R_E1_a_block_whose_sequence_cannot_fit_is_not_offered():
    """Threshold: the sequence (documents, application, acceptance, visa wait, travel) fits
    exactly on the day; one day later the block is gone."""
    need = dt.timedelta(
        days=A.value("document_prep_days") + A.value("travel_buffer_days"),
        weeks=A.value("visa_wait_weeks") + A.value("host_acceptance_weeks"),
    )
    start = dt.date(2027, 6, 7)  # first Monday of June 2027
    on_time = make_profile(plan_date=start - need)
    late = make_profile(plan_date=start - need + dt.timedelta(days=1))
    short_lead = 2  # a host that needs only two weeks: the visa sequence decides
    assert start in [b.start for b, _ in feasible_blocks(on_time, frozenset({6}), short_lead, A)]
    assert start not in [b.start for b, _ in feasible_blocks(late, frozenset({6}), short_lead, A)]
    # the same late plan works for an applicant already in the US
    in_us = make_profile(plan_date=late.plan_date, current_us_status="f1")
    assert start in [b.start for b, _ in feasible_blocks(in_us, frozenset({6}), short_lead, A)]


def test_R_E2_no_visa_applicants_take_no_visa_step_and_pay_no_fee():
    for changes in ({"current_us_status": "permanent_resident"}, {"current_us_status": "none"}):
        a = analysed(make_profile(visa_needed="none", budget_usd=9000, **changes))
        assert len(a.rotations)
        assert not {"visa_application", "visa_ready", "travel"} & set(a.steps["kind"])
        assert not a.steps["what"].str.contains("visa", case=False).any()
        assert a.fixed_cost == 0.0
        travel = A.value("costs")["default_travel_domestic_usd"]
        assert (a.rotations["travel"] == travel).all()  # domestic travel by default
        assert not a.alternatives["needs_visa"].any() if len(a.alternatives) else True


def test_R_G2_ecfmg_certificate_after_graduation_and_before_training_starts():
    from helpers.cycle import training_start

    a = analysed(make_profile(graduation_year=2028))  # student, cycle 2027
    s = a.steps.loc[a.steps["kind"] == "ecfmg_certificate"]
    diploma = s.loc[s["what"].str.startswith("Send ECFMG your final diploma"), "date"].iloc[0]
    cert = s.loc[s["what"].str.startswith("ECFMG certificate expected"), "date"].iloc[0]
    weeks = F.table("ecfmg_certification.csv").set_index("fact").loc["diploma_to_certificate_weeks", "value"]
    assert diploma == dt.date(2028, 5, 31)
    assert cert == diploma + dt.timedelta(weeks=float(weeks)) < training_start(2027, A)
    exams = s.loc[s["what"].str.startswith("ECFMG exam requirements"), "date"].iloc[0]
    assert exams == first_date(a.steps, "rank_list")
    assert not any(r == "R-G2" for r, _ in a.warnings)
    # a graduation after training starts is flagged, not silently dated
    late = analysed(make_profile(graduation_year=2029))
    assert "after training starts" in dict(late.warnings)["R-G2"]
    certified = analysed(make_profile(ecfmg_certified=True))
    assert "ecfmg_certificate" not in set(certified.steps["kind"])


def test_R_G4_graduate_is_told_when_to_sit_step3():
    p = make_profile(visa_needed="h1b", school_status="graduate", graduation_year=2024)
    a = analysed(p)
    step = a.steps.loc[a.steps["kind"] == "step3"].iloc[0]
    assert step["date"] == dt.date(2028, 3, 1) - dt.timedelta(weeks=A.value("step3_result_weeks"))
    assert a.step3["by"] == "2028-03-01" and a.step3["can_meet"]
    assert int((a.table["status"] != "excluded").sum()) > 0
    assert dict(a.warnings)["R-G4"] == a.step3["reason"]
    assert "Would J-1 do?" in dict(a.warnings)["R-A2"]


def test_R_V3_late_plan_gets_dated_steps_this_cycle_and_the_next_cycle():
    a = analysed(make_profile(plan_date=dt.date(2027, 7, 15)))
    assert len(a.rotations) == 0
    s = a.steps
    submit = first_date(s, "eras_submit")
    letters = s.loc[(s["kind"] == "letter_request") & (s["rule"] == "R-W8"), "date"]
    assert len(letters) == 1 and letters.iloc[0] < submit
    assert s["what"].str.contains("virtual radiology elective").sum() == 1
    assert s["what"].str.contains("imaging research").sum() == 1
    nxt = s.loc[s["what"].str.startswith("Next cycle (2028)")]
    assert set(nxt["kind"]) >= {"eras_opens", "eras_submit", "rank_list", "match_day", "host_application"}
    assert nxt.loc[nxt["kind"] == "eras_submit", "date"].iloc[0].year == 2028
    # a plan with rotations gets neither
    planned = analysed(make_profile(budget_usd=9000))
    assert not planned.steps["what"].str.startswith("Next cycle").any()


def test_summary_deadlines_carry_kind_and_alternatives_are_objects():
    """Interface additions: deadlines[].kind from the contract's list; alternatives[] as
    objects with kind, cost_usd, fits_budget, needs_visa, feasible, why (R-V3)."""
    from helpers.summary import SummaryV1, build_summary

    a = analysed(make_profile(plan_date=dt.date(2027, 7, 15)))
    data = build_summary(a)
    SummaryV1.model_validate(data)
    assert data["deadlines"] and all(d["kind"] in DEADLINE_KINDS for d in data["deadlines"])
    assert [x["kind"] for x in data["alternatives"]] == ["observership", "virtual_elective", "research"]
    for x in data["alternatives"]:
        assert {"kind", "cost_usd", "fits_budget", "needs_visa", "feasible", "why"} <= set(x)
    planned = build_summary(analysed(make_profile(budget_usd=9000)))
    starts = [d for d in planned["deadlines"] if d["kind"] == "rotation_start"]
    assert starts and all(d["end"] > d["date"] for d in starts)


def test_R_E1_report_says_why_earlier_blocks_are_not_offered():
    a = analysed(make_profile(budget_usd=9000))
    note = dict(a.advice)["R-E1"]
    first = a.rotations["start"].min()
    assert "visa_wait_weeks" in note and "travel_buffer_days" in note
    earliest = dt.date.fromisoformat(note.split("the earliest start is ")[1][:10])
    assert earliest <= first
    assert "R-E1" not in dict(analysed(make_profile(budget_usd=9000, current_us_status="f1")).advice)


def test_R_C2_graduate_is_told_years_since_graduation():
    a = analysed(make_profile(school_status="graduate", graduation_year=2023))
    assert "(3 year(s) since graduation in 2023)" in dict(a.warnings)["R-C2"]


def test_R_G4_nothing_to_signal_when_every_program_is_closed_this_cycle():
    """A student who needs H-1B cannot pass Step 3 by the rank-list deadline (R-G4): every
    program is closed this cycle, so the calendar has no signals or update messages to
    send, and it still dates the Step 3 reason and the next cycle."""
    closed = analysed(make_profile(visa_needed="h1b", school_status="student"))
    assert int((closed.table["status"] != "excluded").sum()) == 0
    assert not closed.steps["kind"].isin(["signals", "update_message"]).any()
    assert (closed.steps["kind"] == "step3").sum() == 1
    assert closed.steps["what"].str.startswith("Next cycle").any()
    open_ = analysed(make_profile(visa_needed="j1", school_status="student"))
    assert (open_.steps["kind"] == "signals").sum() == 1
    assert (open_.steps["kind"] == "update_message").sum() == 2
