"""The command line: bad input gets exit 2, one readable line per problem, nothing written."""

from __future__ import annotations

import pytest
from conftest import ROOT, awayplan

# Every test here runs the installed `awayplan` command in a new process.
pytestmark = pytest.mark.slow

GOOD = (ROOT / "data" / "example-cohort" / "ex01-j1-student.yaml").read_text()


def write(tmp_path, name, text, encoding="utf-8"):
    f = tmp_path / name
    f.write_bytes(text.encode(encoding))
    return f


BAD_PROFILES = {
    "yaml_syntax": ("applicant_id: [oops\n", "YAML syntax error"),
    "empty": ("", "file is empty"),
    "not_mapping": ("- a\n- b\n", "mapping"),
    "bad_enum": (GOOD.replace("visa_needed: j1", "visa_needed: j3"), "field 'visa_needed'"),
    "score_range": (GOOD.replace("step2_ck: 252", "step2_ck: 412"), "field 'step2_ck'"),
    "wrong_type": (GOOD.replace("budget_usd: 9000", "budget_usd: lots"), "field 'budget_usd'"),
    "negative_budget": (GOOD.replace("budget_usd: 9000", "budget_usd: -100"), "field 'budget_usd'"),
    "path_in_id": (
        GOOD.replace("applicant_id: ex01-j1-student", "applicant_id: ../../etc"),
        "field 'applicant_id'",
    ),
    "missing_required": (GOOD.replace("step1: pass\n", ""), "field 'step1': required field is missing"),
    "past_cycle": (GOOD.replace("application_cycle: 2027", "application_cycle: 2019"), "is over"),
    "absurd_date": (GOOD.replace("plan_date: 2026-12-01", "plan_date: 1901-01-01"), "more than three years"),
    "unknown_field": (GOOD + "stepp2: 250\n", "field 'stepp2': unknown field"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_bad_profile_report_exits_2_and_writes_nothing(tmp_path, case):
    text, words = BAD_PROFILES[case]
    f = write(tmp_path, "me.yaml", text)
    out = tmp_path / "out"
    res = awayplan("report", str(f), "--out", str(out), "--no-pdf")
    assert res.returncode == 2, res.stderr
    assert words in res.stderr
    assert "Traceback" not in res.stderr
    assert all(line.startswith("awayplan: error: ") for line in res.stderr.strip().splitlines())
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("program_id,name\nA,a\n", "field 'state': required column is missing"),
        ("program_id,name,state,sponsors_j1\nA,a,NY,perhaps\n", "row 2, field 'sponsors_j1'"),
        ("program_id,name,state\n", "no data rows"),
    ],
)
def test_bad_program_table_exits_2_and_writes_nothing(tmp_path, text, words):
    table = write(tmp_path, "programs.csv", text)
    out = tmp_path / "out"
    res = awayplan(
        "report",
        str(ROOT / "data/example-cohort/ex01-j1-student.yaml"),
        "--programs",
        str(table),
        "--out",
        str(out),
    )
    assert res.returncode == 2 and words in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_validate_broken_profile_names_the_field(tmp_path):
    f = write(tmp_path, "broken.yaml", GOOD.replace("school_status: student", "school_status: intern"))
    res = awayplan("validate", str(f))
    assert res.returncode == 2
    assert "field 'school_status'" in res.stderr and "line 5" in res.stderr
    assert list(tmp_path.iterdir()) == [f]


def test_validate_good_files_exit_0():
    res = awayplan(
        "validate", "data/example-cohort", "data/programs.csv", "data/example-cohort/ex02-graduate.yaml"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("ok: ") == 3


def test_validate_cohort_lists_every_bad_row(tmp_path):
    cohort = write(
        tmp_path,
        "c.csv",
        "applicant_id,visa_needed,school_status,step1,budget_usd,application_cycle,plan_date\n"
        "a1,j1,student,pass,5000,2027,2026-12-01\n"
        "a2,j9,student,pass,5000,2027,2026-12-01\n"
        "a3,j1,student,pass,-5,2027,2026-12-01\n"
        "a1,j1,student,pass,5000,2027,2026-12-01\n",
    )
    res = awayplan("validate", str(cohort))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert any("row 3" in x and "visa_needed" in x for x in lines)
    assert any("row 4" in x and "budget_usd" in x for x in lines)
    assert any("row 5" in x and "duplicate applicant_id" in x for x in lines)


def test_bad_invocation_exits_2(tmp_path):
    assert awayplan("report").returncode == 2
    assert awayplan("report", "x.yaml", "--cohort", "y.csv").returncode == 2
    res = awayplan("frobnicate")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_missing_file_is_one_line(tmp_path):
    res = awayplan("report", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "profile file not found" in res.stderr
    assert not (tmp_path / "o").exists()
