"""Questions out, answers in (R-K2): which blank cells matter, messages per program, merging
answers without overwriting, and the answer's date and source shown in the report."""

from __future__ import annotations

import itertools
import json

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT, awayplan, make_profile, make_programs
from test_advisor_tables import advisor_xlsx

from helpers import cli, notebook
from helpers.analysis import analyse
from helpers.answers import (
    ELIGIBILITY_QUESTION_FIELDS,
    FIELD_QUESTIONS,
    NOT_A_COLUMN,
    QUESTION_COLUMNS,
    answered_notes,
    any_applicant,
    draft_messages,
    fields_that_matter,
    merge_answers,
    open_questions,
)
from helpers.eligibility import assess
from helpers.errors import InputError
from helpers.headers import make_program_id
from helpers.profile import load_profile
from helpers.programs import load_programs, sources_path, table_sources

PROFILE = ROOT / "data" / "example-cohort" / "ex01-j1-student.yaml"
NE = make_program_id("Prairie Community Radiology", "NE")
OH = make_program_id("Lakeshore University Hospital", "OH")

BLANK_RULE_CELLS = {
    c: ""
    for c in (
        "considers_imgs",
        "sponsors_j1",
        "sponsors_h1b",
        "visiting_students",
        "requires_step1",
        "requires_lcme",
        "requires_affiliation",
        "host_fee_usd",
        "non_lcme_surcharge_usd",
        "housing_month_usd",
    )
}


def test_every_question_the_rules_raise_has_a_column_or_is_about_the_applicant():
    """R-K2: each question eligibility.py can raise is known here, so none is lost or
    silently misfiled if a rule changes its words."""
    programs = make_programs(
        BLANK_RULE_CELLS,
        {**BLANK_RULE_CELLS, "visiting_students": "vslo"},
        {**BLANK_RULE_CELLS, "visiting_students": "direct", "considers_imgs": "true"},
    )
    seen = set()
    for visa, status, step1, acc, us in itertools.product(
        ("none", "j1", "h1b", "j1_or_h1b"),
        ("student", "graduate"),
        ("pass", "not_taken"),
        ("other", "lcme"),
        ("none", "b1b2"),
    ):
        if visa == "none" and us == "b1b2":
            continue  # a contradictory profile (R-E2): refused before any question is asked
        p = make_profile(
            visa_needed=visa, school_status=status, step1=step1, school_accreditation=acc,
            current_us_status=us, step3="pass",
        )  # fmt: skip
        v = assess(p, programs)
        for q in [*itertools.chain(*v["questions"]), *itertools.chain(*v["rotation_questions"])]:
            seen.add(q.split(": ", 1)[1])
    assert seen == set(ELIGIBILITY_QUESTION_FIELDS) | NOT_A_COLUMN
    assert set(ELIGIBILITY_QUESTION_FIELDS.values()) <= set(FIELD_QUESTIONS)


def test_only_questions_that_matter_for_the_applicant():
    """R-A2: a J-1 applicant is not asked about H-1B; an excluded program (R-A1) gets no
    questions; R-C3: a blank host fee is asked where a rotation is possible."""
    programs = make_programs(
        {"sponsors_j1": "", "sponsors_h1b": "", "host_fee_usd": ""},
        {"considers_imgs": "false", "sponsors_j1": "", "host_fee_usd": ""},
        {},
    )
    wanted = fields_that_matter(make_profile(visa_needed="j1"), programs)
    assert wanted == {"P0": ["sponsors_j1", "host_fee_usd"]}
    h1b = fields_that_matter(make_profile(visa_needed="h1b", step3="pass"), programs)
    assert h1b["P0"][0] == "sponsors_h1b"


def test_non_lcme_surcharge_is_asked_only_for_non_lcme_students():
    """R-A4/R-C3: the surcharge matters only to a student of a school outside LCME/AOA."""
    programs = make_programs({"non_lcme_surcharge_usd": ""})
    assert fields_that_matter(make_profile(school_accreditation="other"), programs) == {
        "P0": ["non_lcme_surcharge_usd"]
    }
    assert fields_that_matter(make_profile(school_accreditation="lcme"), programs) == {}


def test_any_applicant_asks_every_column_bound_question():
    programs = make_programs(BLANK_RULE_CELLS)
    q = open_questions(programs, any_applicant())
    assert list(q.columns) == list(QUESTION_COLUMNS)
    assert set(q["field"]) == set(FIELD_QUESTIONS)
    assert (q[["answer", "answered_on", "source"]] == "").all().all()
    assert q["question"].str.match(r"R-[A-Z]\d: ").all()


def test_messages_one_per_program_with_all_its_questions():
    programs = make_programs(BLANK_RULE_CELLS, {"sponsors_j1": ""}, {})
    q = open_questions(programs, any_applicant())
    m = draft_messages(q)
    assert m["program_id"].tolist() == ["P0", "P1"]
    first = m.loc[0, "message"]
    asked = q.loc[q["program_id"] == "P0"]
    assert int(m.loc[0, "questions"]) == len(asked) and first.count("\n1. ") == 1
    assert f"\n{len(asked)}. " in first and "Test Hospital 0" in first
    assert first.startswith("Dear Program Coordinator") and "Thank you" in first
    assert "R-A" not in first  # rule IDs are for the advisor, not for the program
    assert m.loc[1, "message"].count("?") == 2  # "Could you help me with one question?" + the one


def test_questions_command_writes_csv_and_xlsx(tmp_path, capsys):
    table = advisor_xlsx(tmp_path)
    assert (
        cli.main(
            [
                "questions",
                "--programs",
                str(table),
                "--profile",
                str(PROFILE),
                "--out",
                str(tmp_path / "q.csv"),
            ]
        )
        == 0
    )
    q = pd.read_csv(tmp_path / "q.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(q.columns) == list(QUESTION_COLUMNS)
    assert (q["program_id"] == NE).any() and "sponsors_j1" in set(q.loc[q["program_id"] == NE, "field"])
    assert not (q["program_id"] == OH).any()  # R-A2: J-1 = No excludes it for this J-1 applicant
    assert (
        cli.main(["questions", "--programs", str(table), "--out", str(tmp_path / "m.xlsx"), "--by-program"])
        == 0
    )
    book = openpyxl.load_workbook(tmp_path / "m.xlsx")
    assert book.sheetnames == ["messages"]
    assert "for any applicant" in capsys.readouterr().out
    assert cli.main(["questions", "--programs", str(table), "--out", str(tmp_path / "q.txt")]) == 2


QUESTIONS_FOR_THE_EXAMPLE_COHORT = ("questions", "--cohort", str(ROOT / "data" / "example-cohort"))


def test_questions_for_a_cohort_are_the_union(tmp_path, capsys):
    programs = make_programs({"sponsors_j1": "", "sponsors_h1b": ""})
    j1 = fields_that_matter(make_profile(visa_needed="j1"), programs)["P0"]
    h1b = fields_that_matter(make_profile(applicant_id="t-2", visa_needed="h1b", step3="pass"), programs)[
        "P0"
    ]
    both = open_questions(
        programs, [make_profile(visa_needed="j1"), make_profile(visa_needed="h1b", step3="pass")]
    )
    assert set(both["field"]) == set(j1) | set(h1b) == {"sponsors_j1", "sponsors_h1b"}
    table, out = str(advisor_xlsx(tmp_path)), str(tmp_path / "c.csv")
    assert cli.main([*QUESTIONS_FOR_THE_EXAMPLE_COHORT, "--programs", table, "--out", out]) == 0
    assert "for 10 applicant(s)" in capsys.readouterr().out


@pytest.mark.slow
def test_questions_for_a_cohort_as_a_user_runs_them(tmp_path):
    table, out = str(advisor_xlsx(tmp_path)), str(tmp_path / "c.csv")
    res = awayplan(*QUESTIONS_FOR_THE_EXAMPLE_COHORT, "--programs", table, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "for 10 applicant(s)" in res.stdout


def test_a_formula_like_name_stays_text_in_xlsx(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text('Program Name,State,J-1 sponsor?\n"=HYPERLINK(""http://x"")",Ohio,\n')
    assert cli.main(["questions", "--programs", str(table), "--out", str(tmp_path / "q.xlsx")]) == 0
    cell = openpyxl.load_workbook(tmp_path / "q.xlsx")["questions"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def _answer(q: pd.DataFrame, pid: str, field: str, answer: str, on: str, source: str) -> pd.DataFrame:
    hit = (q["program_id"] == pid) & (q["field"] == field)
    q = q.copy()
    if not hit.any():  # a question the table did not raise (the cell is filled): add it
        q = pd.concat([q, pd.DataFrame([{"program_id": pid, "name": "", "field": field, "question": ""}])])
        q = q.fillna("")
        hit = (q["program_id"] == pid) & (q["field"] == field)
    q.loc[hit, ["answer", "answered_on", "source"]] = [answer, on, source]
    return q


def _questions_answered_merged(tmp_path) -> tuple:
    """The advisor's workbook, its questions answered (NE: a new J-1 answer; OH: one that
    contradicts the table's 'No') and merged: (table, answers, merged)."""
    table = advisor_xlsx(tmp_path)
    questions = tmp_path / "questions.csv"
    assert cli.main(["questions", "--programs", str(table), "--out", str(questions)]) == 0
    q = pd.read_csv(questions, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    q = _answer(q, NE, "sponsors_j1", "Yes", "2026-11-02", "coordinator email")
    q = _answer(q, OH, "sponsors_j1", "yes", "2026-11-03", "a forum post")  # the table says No
    answers = tmp_path / "answers.csv"
    q.to_csv(answers, index=False)
    merged = tmp_path / "merged.csv"
    assert cli.main(["merge-answers", str(table), str(answers), "--out", str(merged)]) == 0
    return table, answers, merged


def test_round_trip_questions_answers_merge_report(tmp_path, capsys):
    """R-K2 end to end: an unknown J-1 policy becomes known with its date and source, the
    program leaves 'unknown' in the report's outputs, and an answer that contradicts a
    filled cell is kept out and listed. The outputs are the ones a report's kernel writes
    (notebook.save); test_merged_answer_reaches_the_report runs the real report."""
    table, answers, merged = _questions_answered_merged(tmp_path)
    out = capsys.readouterr().out
    assert "1 blank cell(s) filled" in out and "1 conflict(s) kept out" in out
    assert f"conflict {OH} sponsors_j1: table says 'false', answer says 'true'" in out

    t = load_programs(merged)
    assert bool(t.loc[t["program_id"] == NE, "sponsors_j1"].item()) is True
    assert bool(t.loc[t["program_id"] == OH, "sponsors_j1"].item()) is False  # kept
    sources = pd.read_csv(sources_path(merged), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert sources.to_dict("records") == [
        {
            "program_id": NE,
            "field": "sponsors_j1",
            "value": "true",
            "answered_on": "2026-11-02",
            "source": "coordinator email",
        }
    ]
    notes = answered_notes(t)
    assert notes[t["program_id"] == NE].item() == "sponsors_j1: yes (answered 2026-11-02, coordinator email)"
    assert notes[t["program_id"] == OH].item() == ""

    status = {}
    for src, dest in ((table, tmp_path / "before"), (merged, tmp_path / "after")):
        notebook.save(analyse(load_profile(PROFILE), load_programs(src)), dest)
        summary = json.loads((dest / "summary.json").read_text())
        status[dest.name] = {p["program_id"]: p["status"] for p in summary["programs"]}
    assert status["before"][NE] == "unknown" and status["after"][NE] != "unknown"
    listed = (tmp_path / "after" / "programs.csv").read_text(encoding="utf-8")
    assert "sponsors_j1: yes (answered 2026-11-02, coordinator email)" in listed
    assert "a forum post" not in listed

    # --overwrite applies the conflicting answer, and it then shows its own source
    forced = tmp_path / "forced.xlsx"
    assert cli.main(["merge-answers", str(table), str(answers), "--out", str(forced), "--overwrite"]) == 0
    assert f"overwritten {OH} sponsors_j1" in capsys.readouterr().out
    t2 = load_programs(forced)
    assert bool(t2.loc[t2["program_id"] == OH, "sponsors_j1"].item()) is True
    assert "a forum post" in answered_notes(t2)[t2["program_id"] == OH].item()


@pytest.mark.slow
def test_merged_answer_reaches_the_report(tmp_path):
    """The same round trip through the real command: two reports (notebooks in a kernel),
    before and after the merge; the answer and its source reach report.html."""
    table, _, merged = _questions_answered_merged(tmp_path)
    before = tmp_path / "before"
    after = tmp_path / "after"
    for src, dest in ((table, before), (merged, after)):
        res = awayplan("report", str(PROFILE), "--programs", str(src), "--out", str(dest), "--no-pdf")
        assert res.returncode == 0, res.stderr
    status = {}
    for dest in (before, after):
        summary = json.loads((dest / "ex01-j1-student" / "summary.json").read_text())
        status[dest.name] = {p["program_id"]: p["status"] for p in summary["programs"]}
    assert status["before"][NE] == "unknown" and status["after"][NE] != "unknown"
    html = (after / "ex01-j1-student" / "report.html").read_text()
    assert "sponsors_j1: yes (answered 2026-11-02, coordinator email)" in html
    assert "a forum post" not in html


def test_merge_keeps_earlier_sources_and_never_overwrites(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("program_id,name,state,sponsors_j1,host_fee_usd\nP1,A,OH,,\nP2,B,TX,true,\n")
    first = tmp_path / "a1.csv"
    first.write_text("program_id,field,answer,answered_on,source\nP1,sponsors_j1,yes,2026-10-01,call\n")
    r1 = merge_answers(table, first)
    step1 = tmp_path / "step1.csv"
    r1.table.to_csv(step1, index=False)
    r1.sources.to_csv(sources_path(step1), index=False)
    second = tmp_path / "a2.csv"
    second.write_text(
        "program_id,field,answer,answered_on,source\n"
        'P1,host_fee_usd,"$1,200",2026-10-05,website\n'
        "P2,sponsors_j1,Y,2026-10-05,email\n"  # equal to the table: nothing to do
        "P2,host_fee_usd,unknown,,\n"  # not answered
    )
    r2 = merge_answers(step1, second)
    assert r2.filled == [("P1", "host_fee_usd", "1200")] and r2.unchanged == 1 and not r2.conflicts
    assert r2.sources[["program_id", "field", "source"]].values.tolist() == [
        ["P1", "sponsors_j1", "call"],
        ["P1", "host_fee_usd", "website"],
    ]


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ("program_id,field,answer\nP1,sponsors_j1,maybe\n", ("row 2", "field 'answer'", "'maybe'")),
        ("program_id,field,answer\nP9,sponsors_j1,yes\n", ("row 2", "field 'program_id'", "'P9' is not in")),
        ("program_id,field,answer\nP1,sponsor_j1,yes\n", ("row 2", "field 'field'", "'sponsor_j1'")),
        ("program_id,field,answer\nP1,name,New Name\n", ("row 2", "field 'field'", "'name'")),
        (
            "program_id,field,answer,answered_on\nP1,sponsors_j1,yes,last week\n",
            ("row 2", "field 'answered_on'", "'last week'"),
        ),
        ("program_id,field,answer\nP1,sponsors_j1,yes\nP1,sponsors_j1,no\n", ("row 3", "two answers")),
        ("program_id,answer\nP1,yes\n", ("field 'field'", "required column is missing")),
        (
            "program_id,field,answer\nP1,positions,-4\n",
            ("row 2", "field 'answer'", "positions: must be between 1 and 200"),
        ),
        (
            "program_id,field,answer\nP1,img_share_pct,150%\n",
            ("row 2", "field 'answer'", "between 0 and 100"),
        ),
    ],
)
def test_bad_answers_exit_2_and_write_nothing(tmp_path, capsys, answers, words):
    table = tmp_path / "t.csv"
    table.write_text("program_id,name,state,sponsors_j1\nP1,A,OH,\n")
    (tmp_path / "answers.csv").write_text(answers)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = cli.main(
        ["merge-answers", str(table), str(tmp_path / "answers.csv"), "--out", str(tmp_path / "new.csv")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sources_of_an_edited_cell_are_not_shown(tmp_path):
    """A value edited by hand after the merge no longer claims the answer's source."""
    table = tmp_path / "t.csv"
    table.write_text("program_id,name,state,sponsors_j1,host_fee_usd\nP1,A,OH,false,1200\n")
    sources_path(table).write_text(
        "program_id,field,value,answered_on,source\nP1,sponsors_j1,true,2026-11-02,email\n"
        "P1,host_fee_usd,1200,,website\nP9,sponsors_j1,true,2026-11-02,old row\n"
    )
    t = load_programs(table)
    assert len(table_sources(t)) == 2  # P9 is no longer in the table
    assert answered_notes(t).tolist() == ["host_fee_usd: $1,200 (answered, website)"]


def test_a_bad_sources_file_names_row_and_field(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("program_id,name,state\nP1,A,OH\n")
    sources_path(table).write_text(
        "program_id,field,value,answered_on,source\nP1,sponsors_j1,true,someday,x\n"
    )
    with pytest.raises(InputError, match="row 2, field 'answered_on'"):
        load_programs(table)


def test_validate_mentions_answered_cells(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("program_id,name,state,sponsors_j1\nP1,A,OH,true\n")
    sources_path(table).write_text(
        "program_id,field,value,answered_on,source\nP1,sponsors_j1,true,2026-11-02,email\n"
    )
    assert cli.main(["validate", str(table)]) == 0
    assert "1 cell(s) filled from answers, sources in" in capsys.readouterr().out


def test_merge_keeps_the_advisors_own_columns(tmp_path):
    """Columns the kit does not read (an advisor's notes) come through a merge unchanged."""
    table = advisor_xlsx(tmp_path)
    answers = tmp_path / "a.csv"
    answers.write_text(f"program_id,field,answer\n{NE},sponsors_j1,yes\n")
    merged = tmp_path / "m.csv"
    assert cli.main(["merge-answers", str(table), str(answers), "--out", str(merged)]) == 0
    text = pd.read_csv(merged, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert text["Notes"].tolist() == ["nice", "", "", ""]
    assert text.columns[0] == "program_id" and text["state"].tolist() == ["NY", "OH", "NE", "LA"]


def test_cohort_fingerprint_changes_with_the_sources_and_mapping_beside_the_table(tmp_path):
    """A cohort rerun rebuilds reports when only the answers' sources (or the column
    mapping) beside the table changed, since reports show them."""
    from helpers import batch

    table = tmp_path / "t.csv"
    table.write_text("program_id,name,state\nP1,A,OH\n")
    base = batch.shared_inputs(table, [])
    sources_path(table).write_text("program_id,field,value,answered_on,source\n")
    with_sources = batch.shared_inputs(table, [])
    (tmp_path / "t.columns.yaml").write_text("Inst: name\n")
    assert len({base, with_sources, batch.shared_inputs(table, [])}) == 3
