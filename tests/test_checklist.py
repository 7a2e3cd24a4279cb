"""The printable rotation checklist: rule IDs on every item (R-K1, R-K2, R-P1, R-P2, R-W8, R-W9),
personalised hosts and dates, the no-rotation case, escaping, and its place in the report."""

from __future__ import annotations

import datetime as dt
import re

import nbformat
import papermill as pm
import pytest
from conftest import ROOT, analysed, make_profile, make_programs

from helpers import checklist
from helpers.analysis import analyse
from helpers.config import EXAMPLE_PROFILE
from helpers.profile import load_profile
from helpers.report import notebook_body, split_cells

RULE_IDS = set(re.findall(r"^- (R-[A-Z]\d+)", (ROOT / "docs" / "advising-rules.md").read_text(), re.M))
REQUIRED = {"R-K1", "R-K2", "R-P1", "R-P2", "R-W8", "R-W9"}
TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def example():
    return analysed(load_profile(EXAMPLE_PROFILE))


def day(d: dt.date) -> str:
    return f"{d:%a %d %b %Y}"


def test_rule_ids_are_read_from_the_rules_document():
    assert REQUIRED <= RULE_IDS and len(RULE_IDS) > 30


def test_every_item_cites_a_real_rule_and_all_six_rotation_rules_appear(example):
    c = checklist.for_applicant(example)
    frame = c.to_frame()
    assert len(frame) == len(c.items) > 40
    assert set(frame["rule"]) <= RULE_IDS
    assert set(frame["rule"]) >= REQUIRED


def test_one_section_per_planned_host_with_its_dates(example):
    a = example
    assert len(a.rotations) >= 1
    c = checklist.for_applicant(a)
    assert c.planned == len(a.rotations)
    for n, r in enumerate(a.rotations.to_dict("records"), start=1):
        section = next(s for s in c.sections if s.title.startswith(f"Rotation {n}: {r['program_id']} "))
        assert r["name"] in section.title
        by_rule = {}
        for item in section.items:
            by_rule.setdefault(item.rule, []).append(item)
        assert by_rule["R-W4"][0].when == f"by {day(r['apply_by'])}"  # R-W4: the host's deadline
        assert len(by_rule["R-K1"]) >= 8  # R-K1: the documents, for this host
        assert len(by_rule["R-K2"]) >= 5  # R-K2: settle before paying, plus the generic four
        # R-W8 / R-W9: the same dates as the timeline table of the report.
        steps = a.steps.loc[a.steps["what"].str.contains(r["name"], regex=False)]
        letter = steps.loc[steps["rule"] == "R-W8", "date"].iloc[0]
        thanks = steps.loc[steps["rule"] == "R-W9", "date"].iloc[0]
        assert by_rule["R-W8"][0].when == f"around {day(letter)}"
        assert by_rule["R-W9"][0].when == f"by {day(thanks)}"
        # R-P2: mid-rotation feedback on a working day inside the block.
        mid = next(i for i in by_rule["R-P2"] if i.text.startswith("Halfway"))
        mid_date = dt.datetime.strptime(mid.when.removeprefix("around "), "%a %d %b %Y").date()
        assert r["start"] < mid_date < r["end"] and mid_date.weekday() < 5


def test_update_messages_follow_eras_submission(example):
    c = checklist.for_applicant(example)
    submit = next(d.date for d in example.cycle if d.key == "eras_submit")
    dated = [i for i in c.items if i.rule == "R-W9" and i.when.startswith("around")]
    days = example.assume.value("update_message_days_after_submission")
    assert [i.when for i in dated] == [f"around {day(submit + dt.timedelta(days=d))}" for d in days]
    assert len(dated) <= 2  # R-W9: one or two at most


def test_R_E1_visa_sequence_comes_first_for_applicants_abroad(example):
    c = checklist.for_applicant(example)
    first = c.sections[0]
    assert first.title == "First" and [i.rule for i in first.items] == ["R-E1", "R-W6", "R-E1"]
    steps = example.steps.set_index("kind")
    for item, kind in zip(first.items, ("visa_application", "visa_ready", "travel"), strict=True):
        assert item.when == f"by {day(steps.loc[kind, 'date'])}"
    inside = analyse(
        make_profile(current_us_status="f1"), make_programs({}), today=TODAY
    )  # already in the US: no visitor visa
    assert all(i.rule not in ("R-W6", "R-E1", "R-A4") for i in checklist.for_applicant(inside).items)


def test_R_A4_every_host_is_asked_about_visa_support(example):
    c = checklist.for_applicant(example)
    hosts = [s for s in c.sections if s.title.startswith("Rotation ")]
    assert len(hosts) == len(example.rotations) >= 1
    for s in hosts:
        asks = [i for i in s.items if i.rule == "R-A4" and "visa" in i.text]
        assert len(asks) == 1, s.title


def test_no_rotation_planned_says_why_and_keeps_the_lists():
    a = analyse(make_profile(budget_usd=0), make_programs({}), today=TODAY)
    assert len(a.rotations) == 0
    c = checklist.for_applicant(a)
    assert c.planned == 0 and c.summary == "No away rotation is planned."
    head = c.sections[0]
    assert head.title == "No away rotation is planned"
    assert "above the budget" in head.note  # the reason from the R-V3 warning
    assert {i.rule for i in head.items} <= {"R-V3", "R-Y3"}
    rules = {i.rule for i in c.items}
    assert rules >= REQUIRED and rules <= RULE_IDS
    assert not any(s.title.startswith("Rotation ") for s in c.sections)
    assert "where you rotated" not in repr(c)


def test_items_are_personalised_from_the_profile():
    programs = make_programs({})
    plain = checklist.for_applicant(analyse(make_profile(), programs, today=TODAY))
    text = repr(plain)
    assert "Step 2 CK score report (250)" in text
    assert "TOEFL or similar" in text
    assert "you have none yet" in text
    rich = checklist.for_applicant(
        analyse(
            make_profile(
                step2_ck=None,
                english_test="IELTS 7.5",
                us_radiology_letters=2,
                interests=["neuroradiology", "academic"],
                current_us_status="b1b2",
            ),
            programs,
            today=TODAY,
        )
    )
    text = repr(rich)
    assert "Step 2 CK: no score yet" in text
    assert "English test result (IELTS 7.5)" in text
    assert "you have 2 so far" in text
    assert "your interest in neuroradiology and academic radiology" in text
    assert "hands-on with the team on my B1/B2 or ESTA status" in text  # R-C1 in the R-K2 question


MARKET = 60  # programs: enough of the national market for a rotation to pay off


def test_open_questions_and_estimated_fees_of_a_host_are_asked():
    # A market of such hosts (R-M1: one program alone is too small a share to be worth a trip)
    programs = make_programs(*[{"requires_affiliation": "", "host_fee_usd": ""}] * MARKET)
    a = analyse(make_profile(max_rotations=1), programs, today=TODAY)
    assert len(a.rotations) == 1
    host = next(s for s in checklist.for_applicant(a).sections if s.title.startswith("Rotation 1"))
    asks = [i.text for i in host.items if i.rule == "R-K2"]
    assert "Is an affiliation agreement with my school required?" in asks
    assert any(t.startswith("What is the host fee") for t in asks)
    assert len(asks) == len(set(asks))


def test_graduate_observership_gets_the_observer_item():
    a = analyse(
        make_profile(school_status="graduate", max_rotations=1),
        make_programs(*[{"visiting_students": "observer_only"}] * MARKET),
        today=TODAY,
    )
    assert list(a.rotations["kind"]) == ["observership"]
    host = next(s for s in checklist.for_applicant(a).sections if s.title.startswith("Rotation 1"))
    assert "observership" in host.title
    assert any(i.rule == "R-Y3" for i in host.items)


def test_html_escapes_input_text_and_prints_a_box_per_item():
    evil = "<script>alert(1)</script> & Co"
    a = analyse(make_profile(english_test="<b>TOEFL</b>"), make_programs({"name": evil}), today=TODAY)
    c = checklist.for_applicant(a)
    assert any(evil in s.title for s in c.sections)
    out = c._repr_html_()
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out
    assert "&lt;b&gt;TOEFL&lt;/b&gt;" in out
    assert out.count(checklist.BOX) == out.count("<li>") == len(c.items)
    assert "break-inside: avoid" in out and "page-break-inside: avoid" in out


def test_timing_notebook_sends_the_checklist_to_the_reports_checklist_section():
    nb = nbformat.read(ROOT / "notebooks" / "03-timing.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "report-checklist" in c.metadata.get("tags", [])]
    heading, call = tagged
    assert heading.cell_type == "markdown" and heading.source.startswith("# Checklist")
    assert call.cell_type == "code" and "checklist.for_applicant(a)" in call.source
    assert "remove-in-report" not in call.metadata.get("tags", [])


@pytest.mark.slow
def test_checklist_lands_in_the_reports_checklist_section(tmp_path):
    nb = pm.execute_notebook(
        str(ROOT / "notebooks" / "03-timing.ipynb"),
        str(tmp_path / "03.ipynb"),
        parameters={
            "profile_path": "data/example-cohort/ex01-j1-student.yaml",
            "programs_path": "data/programs.csv",
        },
        cwd=str(ROOT),
        progress_bar=False,
        kernel_name="python3",
    )
    body = notebook_body(split_cells(nb, "timeline")["checklist"])
    assert "<h2" in body and "Checklist" in body
    assert re.search(r"class=[\"']awayplan-checklist[\"']", body)
    assert "Rotation 1: P" in body and checklist.BOX in body
