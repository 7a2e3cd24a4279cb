"""The start-here what-if explorer: each control changes the profile and the plan as the rules say,
and the update redraws tables and figures in place."""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest
from conftest import ROOT, make_profile, make_programs

from helpers import teaching
from helpers.analysis import analyse
from helpers.config import DEFAULT_PROGRAMS, EXAMPLE_PROFILE
from helpers.profile import load_profile
from helpers.programs import load_programs

TODAY = dt.date(2026, 12, 1)

# One program per visa situation (R-A2): J-1 only, H-1B only, silent on both, both.
VISA_PROGRAMS = [
    {"sponsors_j1": "true", "sponsors_h1b": "false"},
    {"sponsors_j1": "false", "sponsors_h1b": "true"},
    {"sponsors_j1": "", "sponsors_h1b": ""},
    {"sponsors_j1": "true", "sponsors_h1b": "true"},
]


def explorer(profile=None, *rows, **kwargs) -> teaching.Explorer:
    programs = make_programs(*(rows or VISA_PROGRAMS))
    return teaching.Explorer(profile or make_profile(), programs, today=TODAY, **kwargs)


def statuses(e: teaching.Explorer) -> dict[str, str]:
    return dict(zip(e.analysis.table["program_id"], e.analysis.table["status"], strict=True))


def reasons(e: teaching.Explorer, pid: str) -> list[str]:
    return e.analysis.table.set_index("program_id").loc[pid, "reasons"]


def tab_values(e: teaching.Explorer, title: str) -> list:
    values = [w.value for w in e._parts[teaching.TABS.index(title)]]
    return [bytes(v) if isinstance(v, memoryview) else v for v in values]  # Image values are memoryviews


def test_controls_start_at_the_profile_file_and_give_it_back():
    base = make_profile(
        budget_usd=7777.5,
        interests=["academic", "neuro"],
        available_from=dt.date(2027, 4, 15),
        step2_ck=263,
    )
    e = explorer(base)
    v = e.values()
    assert (v["budget"], v["visa"], v["status"], v["step2"], v["step2_taken"]) == (
        7777,
        "j1",
        "student",
        263,
        True,
    )
    assert v["months"] == (dt.date(2027, 4, 1), dt.date(2027, 9, 1))
    assert set(v["interests"]) == {"academic", "neuro"}
    assert e.profile_from_controls() == base  # nothing moved: exactly the file's profile
    assert e.analysis is e.base
    assert "As in the profile file." in e.summary.value


def test_R_A2_visa_control_changes_eligibility_as_the_rules_say():
    e = explorer()
    assert statuses(e) == {"P0": "eligible", "P1": "excluded", "P2": "unknown", "P3": "eligible"}
    assert "R-A2: does not take J-1 residents" in reasons(e, "P1")
    tiers_before = tab_values(e, "Tiers")

    e.controls["visa"].value = "h1b"  # Step 3 not passed: no H-1B is usable anywhere (R-A2)
    assert e.analysis.profile.visa_needed == "h1b"
    assert set(statuses(e).values()) == {"excluded"}
    assert "R-A2: does not sponsor H-1B" in reasons(e, "P0")
    assert any("needs Step 3" in r for r in reasons(e, "P1"))
    assert any("needs Step 3" in r for r in reasons(e, "P2"))  # a blank cell cannot help either
    assert any(rule == "R-A2" for rule, _ in e.analysis.warnings)
    assert tab_values(e, "Tiers") != tiers_before  # the funnel and the tier table were redrawn
    assert "visa_needed: j1 -&gt; h1b" in e.summary.value

    e.controls["visa"].value = "j1_or_h1b"
    assert statuses(e) == {"P0": "eligible", "P1": "excluded", "P2": "unknown", "P3": "eligible"}

    e.controls["visa"].value = "none"  # no visa needed: sponsorship is irrelevant
    assert set(statuses(e).values()) == {"eligible"}

    e.controls["visa"].value = "h1b"
    assert set(statuses(e).values()) == {"excluded"}
    assert e.base_profile.step3 == "not_taken"
    with_step3 = teaching.Explorer(
        teaching.variant(e.base_profile, step3="pass"), e.programs, today=TODAY
    )  # the same control once Step 3 is passed: H-1B sponsors open, the blank is asked about
    with_step3.controls["visa"].value = "h1b"
    assert statuses(with_step3) == {"P0": "excluded", "P1": "eligible", "P2": "unknown", "P3": "eligible"}


@pytest.mark.slow  # two analyses of 60 programs, 30 alike pairs: the plan search takes about 2 s each
def test_R_C2_graduate_gets_observerships_not_electives():
    # 60 programs: enough of the national market for an observership to pay off (R-M1)
    e = explorer(None, *[{}, {"subspecialties": "msk"}] * 30)
    assert set(e.analysis.rotations["kind"]) <= {"vslo"} and len(e.analysis.rotations)
    e.controls["status"].value = "graduate"
    assert e.analysis.profile.school_status == "graduate"
    assert "vslo" not in set(e.analysis.rotations["kind"])
    assert any(rule == "R-C2" for rule, _ in e.analysis.warnings)
    e.tabs.selected_index = teaching.TABS.index("Budget")
    assert "observership" in tab_values(e, "Budget")[0]


def test_R_C3_budget_control_decides_how_many_rotations():
    e = explorer(make_profile(budget_usd=12000), {}, {"state": "TX"}, {"state": "CA"})
    assert len(e.analysis.rotations) >= 1
    e.tabs.selected_index = teaching.TABS.index("Budget")
    plan_before, bars_before, _ = tab_values(e, "Budget")
    e.controls["budget"].value = 0
    assert e.analysis.profile.budget_usd == 0
    assert len(e.analysis.rotations) == 0
    assert any(rule == "R-V3" for rule, _ in e.analysis.warnings)
    plan_after, bars_after, alternatives = tab_values(e, "Budget")
    assert plan_after == "<p><em>(none)</em></p>" != plan_before
    assert bars_after != bars_before and bars_after.startswith(b"\x89PNG")
    assert "observership" in alternatives
    e.tabs.selected_index = teaching.TABS.index("Checklist")
    assert "No away rotation is planned" in tab_values(e, "Checklist")[0]


def test_R_W1_months_control_bounds_the_rotation_blocks():
    e = explorer(make_profile(budget_usd=12000), {}, {"state": "TX"})
    july, august = dt.date(2027, 7, 1), dt.date(2027, 8, 1)
    e.controls["months"].value = (july, august)
    p = e.analysis.profile
    assert (p.window_start, p.window_end) == (july, dt.date(2027, 8, 31))
    assert len(e.analysis.rotations)
    for r in e.analysis.rotations.to_dict("records"):
        assert july <= r["start"] and r["end"] <= dt.date(2027, 8, 31)


def test_R_C4_step2_control_and_its_checkbox():
    e = explorer(None, {"step2_min": "245"})
    assert statuses(e) == {"P0": "eligible"}
    e.controls["step2"].value = 240
    assert e.analysis.profile.step2_ck == 240
    assert statuses(e) == {"P0": "excluded"}
    assert any(r.startswith("R-C4:") for r in reasons(e, "P0"))
    e.controls["step2_taken"].value = False  # score not out yet: the minimum cannot exclude
    assert e.analysis.profile.step2_ck is None and e.controls["step2"].disabled
    assert statuses(e) == {"P0": "eligible"}
    assert any("Step 2 CK score out" in w for w in e.analysis.steps["what"])


def test_R_L4_interests_control_changes_fit():
    e = explorer(None, {"subspecialties": "neuro;body"})
    e.controls["interests"].value = ("msk",)
    no_fit = float(e.analysis.table.loc[0, "fit"])
    e.controls["interests"].value = ("neuro",)
    assert e.analysis.profile.interests == ["neuro"]
    assert float(e.analysis.table.loc[0, "fit"]) > no_fit


def test_only_the_visible_tab_is_redrawn_then_others_when_opened():
    e = explorer()
    timeline_before = tab_values(e, "Timeline")
    update = e.update()
    assert update.rendered == ("Tiers",) and update.error is None and update.seconds > 0
    e.controls["budget"].value = 0
    assert e.last_update.rendered == ("Tiers",)
    assert tab_values(e, "Timeline") == timeline_before  # not drawn yet: stale
    e.tabs.selected_index = teaching.TABS.index("Timeline")
    gantt, steps = tab_values(e, "Timeline")
    assert gantt.startswith(b"\x89PNG") and "Match Day" in steps
    assert e.render_all() == teaching.TABS
    assert all(v for i in range(len(teaching.TABS)) for v in tab_values(e, teaching.TABS[i]))


def test_a_figure_is_drawn_again_only_when_its_inputs_change(monkeypatch):
    e = explorer()
    drawn = []
    real = teaching.plots.funnel
    monkeypatch.setattr(teaching.plots, "funnel", lambda t: drawn.append(len(t)) or real(t))
    e.controls["budget"].value = 2000  # same eligibility and tiers: the funnel stays
    assert drawn == [] and e.analysis.profile.budget_usd == 2000
    e.controls["visa"].value = "none"  # every program opens: a new funnel
    assert drawn == [4]
    assert set(statuses(e).values()) == {"eligible"}


def test_reset_and_the_cache():
    e = explorer()
    e.controls["visa"].value = "h1b"
    e.controls["budget"].value = 1000
    e.controls["status"].value = "graduate"
    assert e.analysis is not e.base
    e.reset()
    assert e.profile_from_controls() == e.base_profile
    assert e.analysis is e.base  # the same analysis object: served from the cache
    assert "As in the profile file." in e.summary.value
    e.controls["visa"].value = "h1b"
    first = e.analysis
    e.controls["visa"].value = "j1"
    e.controls["visa"].value = "h1b"
    assert e.analysis is first
    e.clear_cache()
    e.controls["visa"].value = "j1"
    e.controls["visa"].value = "h1b"
    assert e.analysis is not first


def test_invalid_settings_show_the_problem_and_keep_the_last_plan(monkeypatch):
    e = explorer()
    shown = e.analysis
    monkeypatch.setattr(teaching, "changes_from_controls", lambda base, values: {"budget_usd": -5})
    update = e.update()
    assert update.analysis is None
    assert update.error == "budget_usd: Input should be greater than or equal to 0 (got -5)"
    assert "do not make a valid profile" in e.summary.value and "budget_usd" in e.summary.value
    assert e.analysis is shown


def test_an_analysis_failure_is_shown_not_swallowed(monkeypatch):
    e = explorer()
    shown = e.analysis

    def broken(*args, **kwargs):
        raise RuntimeError("<boom>")

    monkeypatch.setattr(teaching, "analyse", broken)
    e.controls["budget"].value = 1234
    assert e.last_update.analysis is None and e.last_update.error == "RuntimeError: <boom>"
    assert "The analysis failed for these settings" in e.summary.value
    assert "&lt;boom&gt;" in e.summary.value and e.analysis is shown


def test_input_text_is_escaped_everywhere_it_is_shown():
    evil = "<img src=x onerror=alert(1)>"
    e = explorer(make_profile(budget_usd=12000), {"name": evil})
    e.render_all()
    html_parts = [e.summary.value] + [
        v for t in teaching.TABS for v in tab_values(e, t) if isinstance(v, str)
    ]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in h for h in html_parts)
    assert not any(evil in h for h in html_parts)


def test_common_scenarios_fit_the_applicant():
    j1 = teaching.common_scenarios(make_profile())
    assert j1["needs H-1B (Step 3 passed)"] == {"visa_needed": "h1b", "step3": "pass"}
    assert j1["already graduated"] == {"school_status": "graduate"}
    assert j1["half the budget"] == {"budget_usd": 4000.0}
    assert j1["Step 2 CK 240 (10 lower)"] == {"step2_ck": 240}
    other = teaching.common_scenarios(
        make_profile(visa_needed="h1b", school_status="graduate", budget_usd=0, step2_ck=None)
    )
    assert set(other) == {"accepts J-1 too", "still a student", "budget of $5,000", "Step 2 CK 250"}
    assert "needs a J-1" in teaching.common_scenarios(make_profile(visa_needed="none"))
    assert "J-1 only" in teaching.common_scenarios(make_profile(visa_needed="j1_or_h1b"))
    for changes in [*j1.values(), *other.values()]:
        teaching.variant(make_profile(), **changes)  # every scenario is a valid profile


def test_what_if_table_matches_a_direct_analysis():
    e = explorer()
    table = e.what_if({"H-1B with Step 3": {"visa_needed": "h1b", "step3": "pass"}}).frame
    assert list(table.columns) == ["figure", "profile file", "H-1B with Step 3"]
    direct = analyse(
        make_profile(visa_needed="h1b", step3="pass"), make_programs(*VISA_PROGRAMS), today=TODAY
    )
    row = table.set_index("figure").loc["eligible programs"]
    assert row["H-1B with Step 3"] == str(direct.status_counts["eligible"]) == "2"
    assert row["profile file"] == "2"
    assert table.set_index("figure").loc["excluded programs", "H-1B with Step 3"] == "1"


def test_profile_table_names_the_rules():
    t = teaching.profile_table(make_profile(interests=["neuro"])).frame
    assert set(t["field"]) >= {"visa_needed", "school_status", "budget_usd", "interests"}
    assert t.set_index("field").loc["interests", "value"] == "neuro"
    assert all(r.startswith("R-") for r in t["rules"])


def test_display_bundle_has_the_widget_and_a_plain_text_fallback():
    bundle = explorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("What-if explorer")


def test_environment_line_names_the_kernel():
    html = teaching.environment().data
    assert "Kernel: Python 3." in html and "awayplan" in html


@pytest.mark.slow
def test_example_explorer_and_benchmark_cover_every_control():
    spec = importlib.util.spec_from_file_location("bench_teaching", ROOT / "scripts" / "bench_teaching.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    e = teaching.Explorer(load_profile(EXAMPLE_PROFILE), load_programs(DEFAULT_PROGRAMS))
    timings = bench.benchmark(e, changes=3)
    expected = [f"change {c}" for c in teaching.CONTROLS] + [f"open tab {t}" for t in teaching.TABS]
    assert list(timings["what"]) == expected
    assert (timings["changes"] > 0).all() and timings["median_ms"].notna().all()
    assert e.profile_from_controls() == e.base_profile  # the benchmark leaves the controls as found
