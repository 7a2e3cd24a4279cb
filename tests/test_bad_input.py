"""Bad input, case by case: profiles, cohorts (CSV and XLSX) and program tables.

Every rejected file gives exit 2, one readable line naming the file, and the row or line
and the field where there is one; no traceback; nothing written. A bad row in a cohort
fails only that applicant (exit 1): the other rows still get complete reports. Text that
spreadsheets really produce (a byte-order mark, Windows-1252 or Latin-1, `;` separators,
UTF-16) is read correctly, not rejected.

The cases are data: each says what the file holds and which words the one line must
carry. Most run the command in-process (an unexpected exception fails the test with its
traceback); one subprocess checks them all again as a user would run them, and two real
cohort runs (CSV and XLSX) check that bad rows fail alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT, awayplan

from helpers import cli
from helpers.cohort import load_cohort
from helpers.errors import InputError
from helpers.profile import load_profile
from helpers.programs import load_programs
from helpers.summary import read_summary

GOOD_PROFILE_FILE = ROOT / "data" / "example-cohort" / "ex01-j1-student.yaml"

# ----------------------------------------------------------------------------- profiles

# One field per line, so a case knows the line its field sits on (applicant_id = line 1).
BASE_PROFILE = {
    "applicant_id": "bad-input-1",
    "name": "Test Person",
    "visa_needed": "j1",
    "school_status": "student",
    "step1": "pass",
    "step2_ck": "250",
    "budget_usd": "8000",
    "application_cycle": "2027",
    "graduation_year": "2027",
    "interests": "[neuro]",
    "preferred_states": "[NY, PA]",
    "plan_date": "2026-12-01",
}
LINE = {key: n for n, key in enumerate(BASE_PROFILE, start=1)}


def profile_yaml(**changes: str | None) -> str:
    """The base profile with fields replaced (raw YAML text), removed (None) or added."""
    data = {**BASE_PROFILE, **changes}
    return "".join(f"{k}: {v}\n" for k, v in data.items() if v is not None)


@dataclass(frozen=True)
class Case:
    """One bad file: what it holds and the words its one error line must carry."""

    id: str
    kind: str  # profile | cohort | programs
    content: str | bytes | list | Callable[[Path], None]  # text, bytes, XLSX rows, or a writer
    expect: tuple[str, ...]
    suffix: str = ".yaml"


def P(id: str, text: str | bytes, *expect: str) -> Case:  # noqa: N802 - reads as a table
    return Case(id, "profile", text, expect, ".yaml")


def _big_comment_profile(path: Path) -> None:
    path.write_text(profile_yaml() + "# " + "x" * 300_000 + "\n")


def _sparse(size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("wb") as fh:
            fh.truncate(size)  # sparse: no disk is used, but the size is real

    return write


PROFILE_CASES = [
    # YAML syntax
    P("yaml-tab-indent", profile_yaml(name="a\n\tb: c"), "YAML syntax error", "line 3"),
    P("yaml-unclosed-quote", profile_yaml(name='"Test Person'), "YAML syntax error"),
    P("yaml-bad-indent", "applicant_id: x\n  visa_needed: j1\n", "YAML syntax error", "line 2"),
    P(
        "yaml-duplicate-key",
        profile_yaml() + "visa_needed: h1b\n",
        "field 'visa_needed'",
        "given twice",
        "line 13",
    ),
    P("yaml-python-tag", "!!python/object/apply:os.system ['true']\n", "YAML syntax error", "python/object"),
    P("yaml-deep-nesting", "interests: " + "[" * 3000 + "]" * 3000 + "\n", "nests too deeply"),
    P("yaml-scalar-not-mapping", "just some words\n", "must be a mapping"),
    P("yaml-comment-only", "# nothing here yet\n", "must be a mapping"),
    P("binary-file", b"\x00\x01\x02\x03\xff", "not a text file"),
    Case("very-large-profile", "profile", _big_comment_profile, ("the limit is 256 KB",)),
    # wrong types
    P(
        "step2-fraction",
        profile_yaml(step2_ck="250.5"),
        "field 'step2_ck'",
        "fractional",
        f"line {LINE['step2_ck']}",
    ),
    P("budget-yes", profile_yaml(budget_usd="yes"), "field 'budget_usd'", "expected a number, got true"),
    P("id-is-a-list", profile_yaml(applicant_id="[a, b]"), "field 'applicant_id'", "line 1"),
    P("interests-mapping", profile_yaml(interests="{neuro: 1}"), "field 'interests'", "valid list"),
    P("name-is-a-list", profile_yaml(name="[a, b]"), "field 'name'", "valid string"),
    P("cycle-words", profile_yaml(application_cycle="next year"), "field 'application_cycle'", "next year"),
    # out of range
    P("step2-zero", profile_yaml(step2_ck="0"), "field 'step2_ck'", "greater than or equal to 1"),
    P("letters-99", profile_yaml() + "us_radiology_letters: 99\n", "field 'us_radiology_letters'", "line 13"),
    P("budget-nan", profile_yaml(budget_usd=".nan"), "field 'budget_usd'", "finite number"),
    P("budget-1e400", profile_yaml(budget_usd="1e400"), "field 'budget_usd'", "finite number"),
    P(
        "cycle-1999",
        profile_yaml(application_cycle="1999"),
        "field 'application_cycle'",
        "greater than or equal to 2000",
    ),
    # unknown choices
    P("step1-passed", profile_yaml(step1="passed"), "field 'step1'", "'passed'"),
    P(
        "accreditation-unknown",
        profile_yaml() + "school_accreditation: ecfmg\n",
        "field 'school_accreditation'",
    ),
    P(
        "interest-unknown",
        profile_yaml(interests="[cooking]"),
        "field 'interests'",
        "unknown interest 'cooking'",
    ),
    P("state-unknown", profile_yaml(preferred_states="[NY, XX]"), "field 'preferred_states'", "'XX'"),
    # dates in the past, impossible or absurd
    P(
        "date-month-13",
        profile_yaml(plan_date="2026-13-45"),
        "field 'plan_date'",
        f"line {LINE['plan_date']}",
    ),
    P("date-feb-30", profile_yaml(plan_date="2026-02-30"), "field 'plan_date'", "2026-02-30"),
    P(
        "plan-date-1999",
        profile_yaml(plan_date="1999-01-01"),
        "field 'plan_date'",
        "more than three years before",
    ),
    P("plan-date-2099", profile_yaml(plan_date="2099-01-01"), "field 'plan_date'", "is over"),
    P("cycle-in-the-past", profile_yaml(application_cycle="2021"), "field 'plan_date'", "2021 is over"),
    P(
        "available-from-2020",
        profile_yaml() + "available_from: 2020-05-01\n",
        "field 'available_from'",
        "outside",
    ),
    P(
        "window-backwards",
        profile_yaml() + "available_from: 2027-09-01\navailable_to: 2027-05-01\n",
        "field 'available_from'",
        "is after available_to",
    ),
    P("graduation-2040", profile_yaml(graduation_year="2040"), "field 'graduation_year'", "implausibly late"),
    # ids that could name a path, and markup in ids
    P("id-slash", profile_yaml(applicant_id="a/b"), "field 'applicant_id'", "'a/b'"),
    P("id-backslash", profile_yaml(applicant_id="'..\\x'"), "field 'applicant_id'", "letters, digits"),
    P("id-dot-dot", profile_yaml(applicant_id="'..'"), "field 'applicant_id'", "'..'"),
    P("id-absolute", profile_yaml(applicant_id="/etc/cron.d/x"), "field 'applicant_id'"),
    P("id-script", profile_yaml(applicant_id="'<script>x</script>'"), "field 'applicant_id'"),
    P("id-65-chars", profile_yaml(applicant_id="a" * 65), "field 'applicant_id'"),
    P("name-201-chars", profile_yaml(name="n" * 201), "field 'name'", "at most 200"),
    # fields
    P("unknown-field", profile_yaml() + "visa: j1\n", "field 'visa'", "unknown field"),
    P("missing-budget", profile_yaml(budget_usd=None), "field 'budget_usd'", "required field is missing"),
    P("blank-visa", profile_yaml(visa_needed=""), "field 'visa_needed'", "required field is missing"),
]

# ----------------------------------------------------------------------------- cohorts

COHORT_COLUMNS = [
    "applicant_id",
    "name",
    "visa_needed",
    "school_status",
    "step1",
    "step2_ck",
    "budget_usd",
    "application_cycle",
    "plan_date",
    "preferred_states",
    "ecfmg_certified",
]
GOOD_ROW = {
    "applicant_id": "ok-first",
    "name": "First Good",
    "visa_needed": "j1",
    "school_status": "student",
    "step1": "pass",
    "step2_ck": "250",
    "budget_usd": "6000",
    "application_cycle": "2027",
    "plan_date": "2026-12-01",
    "preferred_states": "NY;PA",
    "ecfmg_certified": "false",
}
COHORT_HEADER = ",".join(COHORT_COLUMNS)
GOOD_LINE = ",".join(GOOD_ROW[c] for c in COHORT_COLUMNS)


def C(id: str, text: str | bytes | Callable[[Path], None], *expect: str, suffix: str = ".csv") -> Case:  # noqa: N802
    return Case(id, "cohort", text, expect, suffix)


COHORT_FILE_CASES = [
    C("empty-csv", "", "file is empty"),
    C("blank-lines-only", "\n\r\n\n", "file is empty"),
    C("header-only", COHORT_HEADER + "\n", "no data rows"),
    C("no-id-column", "visa_needed,step1\nj1,pass\n", "field 'applicant_id'", "required column is missing"),
    C(
        "unknown-column",
        COHORT_HEADER + ",stepp2\n" + GOOD_LINE + ",250\n",
        "field 'stepp2'",
        "unknown column",
    ),
    C(
        "duplicate-column",
        COHORT_HEADER + ",step1\n" + GOOD_LINE + ",pass\n",
        "'step1' appears more than once",
    ),
    C(
        "duplicate-column-spelling",
        COHORT_HEADER + ",Step1\n" + GOOD_LINE + ",pass\n",
        "'step1' appears more than once",
    ),
    C(
        "row-wider-than-header",  # a name with a comma and no quotes: every later cell shifts
        COHORT_HEADER
        + "\n"
        + GOOD_LINE
        + "\n"
        + GOOD_LINE.replace("ok-first,First Good", "r-w,Good, First")
        + "\n",
        "row 3",
        "12 cells but the header names 11",
    ),
    C("unclosed-quote", COHORT_HEADER + '\nok-first,"First Good,j1,student\n', "malformed CSV"),
    C("nul-bytes", COHORT_HEADER + "\n" + GOOD_LINE + "\x00\n", "not a text file"),
    C("very-large-csv", _sparse(101 * 1024 * 1024), "the limit is"),
    C("json-extension", '{"applicant_id": "x"}', "unsupported file type '.json'", suffix=".json"),
    C("xlsx-empty-workbook", [], "file is empty", suffix=".xlsx"),
    C("xlsx-header-only", [COHORT_COLUMNS], "no data rows", suffix=".xlsx"),
    C("xlsx-not-a-zip", b"PK\x03\x04 this is not really a workbook", "not a readable XLSX", suffix=".xlsx"),
    C("xlsx-zip-without-sheet", lambda p: _zip_without_sheet(p), "not a readable XLSX", suffix=".xlsx"),
]


def _zip_without_sheet(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "a zip, but no workbook inside")


@dataclass(frozen=True)
class RowCase:
    """One bad cohort row: the cells it changes, and the words of its one problem."""

    id: str
    changes: dict
    expect: tuple[str, ...]
    fmt: str = "csv"
    extra: dict = field(default_factory=dict)


def R(id: str, changes: dict, *expect: str, fmt: str = "csv") -> RowCase:  # noqa: N802
    return RowCase(id, {"applicant_id": f"r-{id}", **changes}, expect, fmt)


ROW_CASES = [
    R("visa-j9", {"visa_needed": "j9"}, "field 'visa_needed'", "'j9'"),
    R("step2-999", {"step2_ck": "999"}, "field 'step2_ck'", "less than or equal to 300"),
    R("budget-words", {"budget_usd": "lots"}, "field 'budget_usd'", "'lots'"),
    R("budget-inf", {"budget_usd": "inf"}, "field 'budget_usd'", "finite number"),
    R("date-feb-30", {"plan_date": "2026-02-30"}, "field 'plan_date'", "2026-02-30"),
    R("date-1850", {"plan_date": "1850-01-01"}, "field 'plan_date'", "more than three years"),
    R("cycle-over", {"application_cycle": "2020"}, "field 'plan_date'", "2020 is over"),
    R("id-dot-dot-slash", {"applicant_id": "../evil"}, "field 'applicant_id'", "'../evil'"),
    R("id-backslash", {"applicant_id": "..\\evil"}, "field 'applicant_id'"),
    R("id-script", {"applicant_id": "<script>alert(1)</script>"}, "field 'applicant_id'"),
    R(
        "duplicate-id",
        {"applicant_id": "ok-first"},
        "field 'applicant_id'",
        "duplicate applicant_id 'ok-first'",
    ),
    R("duplicate-id-case", {"applicant_id": "OK-First"}, "field 'applicant_id'", "differ in more than case"),
    R("blank-step1", {"step1": ""}, "field 'step1'", "required field is missing"),
    R("state-xx", {"preferred_states": "NY;XX"}, "field 'preferred_states'", "'XX'"),
    R("bool-perhaps", {"ecfmg_certified": "perhaps"}, "field 'ecfmg_certified'", "'perhaps'"),
    R("name-too-long", {"name": "n" * 250}, "field 'name'", "at most 200"),
    # XLSX cells arrive typed: booleans, times, real dates, numbers
    R("x-budget-true", {"budget_usd": True}, "field 'budget_usd'", "'true'", fmt="xlsx"),
    R("x-step2-text", {"step2_ck": "two hundred"}, "field 'step2_ck'", "'two hundred'", fmt="xlsx"),
    R("x-plan-time", {"plan_date": dt.time(12, 0)}, "field 'plan_date'", "12:00:00", fmt="xlsx"),
    R("x-plan-1900", {"plan_date": dt.datetime(1900, 1, 1)}, "field 'plan_date'", "1900-01-01", fmt="xlsx"),
    R("x-id-slash", {"applicant_id": "a/b"}, "field 'applicant_id'", "'a/b'", fmt="xlsx"),
    R("x-duplicate-id", {"applicant_id": "ok-first"}, "duplicate applicant_id 'ok-first'", fmt="xlsx"),
    R("x-cycle-float", {"application_cycle": 2027.5}, "field 'application_cycle'", "2027.5", fmt="xlsx"),
]

# ----------------------------------------------------------------------------- program tables

PROGRAM_HEADER = "program_id,name,state"
PROGRAM_ROW = "P1,Test Hospital,NY"


def G(id: str, text: str | bytes | list, *expect: str, suffix: str = ".csv") -> Case:  # noqa: N802
    return Case(id, "programs", text, expect, suffix)


def _one_column(column: str, value: str) -> str:
    return f"{PROGRAM_HEADER},{column}\n{PROGRAM_ROW},{value}\n"


PROGRAM_CASES = [
    # no program_id column is fine (ids are made from name and state); no state is not
    G("missing-state-column", "program_id,name\nP1,X\n", "field 'state'", "required column is missing"),
    G(
        "duplicate-program-id",
        f"{PROGRAM_HEADER}\n{PROGRAM_ROW}\nP1,Other,PA\n",
        "row 3",
        "duplicate program_id 'P1'",
    ),
    G("blank-name", f"{PROGRAM_HEADER}\nP1,,NY\n", "row 2", "field 'name'", "blank"),
    G("state-zz", f"{PROGRAM_HEADER}\nP1,Test,ZZ\n", "row 2", "field 'state'", "two-letter"),
    G("requires-lcme-sometimes", _one_column("requires_lcme", "sometimes"), "row 2", "field 'requires_lcme'"),
    G("setting-university", _one_column("setting", "university"), "field 'setting'", "'university'"),
    G("visiting-maybe", _one_column("visiting_students", "maybe"), "field 'visiting_students'"),
    G("positions-fraction", _one_column("positions", "2.5"), "field 'positions'", "whole number"),
    G("positions-23-digits", _one_column("positions", "9" * 23), "field 'positions'", "plausible"),
    G("positions-negative", _one_column("positions", "-3"), "field 'positions'", "between 1 and 200"),
    G("host-fee-nan", _one_column("host_fee_usd", "nan"), "field 'host_fee_usd'", "expected a number"),
    G("img-share-150", _one_column("img_share_pct", "150%"), "field 'img_share_pct'", "between 0 and 100"),
    G("months-13-15", _one_column("rotation_months", "13-15"), "field 'rotation_months'"),
    G("subspecialty-unknown", _one_column("subspecialties", "neuro;dermatology"), "'dermatology'"),
    G("verified-yesterday", _one_column("verified_on", "yesterday"), "field 'verified_on'"),
    G("program-id-70", f"{PROGRAM_HEADER}\n{'X' * 70},Test,NY\n", "field 'program_id'", "1-64"),
    G("name-400", f"{PROGRAM_HEADER}\nP1,{'n' * 400},NY\n", "field 'name'", "1-300 characters"),
    G("programs-empty", "", "file is empty"),
    G("programs-wider-row", f"{PROGRAM_HEADER}\n{PROGRAM_ROW},extra\n", "row 2", "cells"),
    G("programs-very-large", _sparse(120 * 1024 * 1024), "the limit is"),
    G(
        "xlsx-duplicate-id",
        [["program_id", "name", "state"], ["P1", "A", "NY"], ["P1", "B", "PA"]],
        "row 3",
        "duplicate",
        suffix=".xlsx",
    ),
    G(
        "xlsx-positions-text",
        [["program_id", "name", "state", "positions"], ["P1", "A", "NY", "many"]],
        "field 'positions'",
        suffix=".xlsx",
    ),
    G(
        "xlsx-bool-maybe",
        [["program_id", "name", "state", "sponsors_j1"], ["P1", "A", "NY", "maybe"]],
        "field 'sponsors_j1'",
        suffix=".xlsx",
    ),
]

FILE_CASES = PROFILE_CASES + COHORT_FILE_CASES + PROGRAM_CASES

# ----------------------------------------------------------------------------- helpers


def write_case(folder: Path, case: Case) -> Path:
    path = folder / f"{case.id}{case.suffix}"
    content = case.content
    if callable(content):
        content(path)
    elif isinstance(content, list):
        write_xlsx(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def run(capsys, *args: str) -> tuple[int, list[str]]:
    """The command in-process: exit code and stderr lines."""
    code = cli.main(list(args))
    return code, capsys.readouterr().err.strip().splitlines()


def assert_one_line(lines: list[str], path: Path, expect: tuple[str, ...]) -> None:
    assert len(lines) == 1, "\n".join(lines)
    line = lines[0]
    assert line.startswith("awayplan: error: ") and "Traceback" not in line
    assert path.name in line, line
    for words in expect:
        assert words in line, f"{words!r} not in {line!r}"


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def report_args(case: Case, path: Path, out: Path) -> list[str]:
    if case.kind == "profile":
        return ["report", str(path), "--out", str(out), "--no-pdf"]
    if case.kind == "cohort":
        return ["report", "--cohort", str(path), "--out", str(out), "--no-pdf"]
    return ["report", str(GOOD_PROFILE_FILE), "--programs", str(path), "--out", str(out), "--no-pdf"]


# ----------------------------------------------------------------------------- file-level cases


def test_there_are_at_least_forty_cases():
    kinds = {k: sum(c.kind == k for c in FILE_CASES) for k in ("profile", "cohort", "programs")}
    assert len(FILE_CASES) + len(ROW_CASES) >= 40, kinds
    assert all(n >= 10 for n in kinds.values()), kinds
    assert len({c.id for c in FILE_CASES}) == len(FILE_CASES)
    assert len({c.id for c in ROW_CASES}) == len(ROW_CASES)


# PyYAML's pure-Python scanner takes about 1.7 s to give up on 3,000 nested brackets, and
# this test reads the file twice (validate, then report): `make test` runs it, and
# test_every_bad_file_as_a_user_runs_it reads it once more.
SLOW_FILE_CASES = {"yaml-deep-nesting"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c.id in SLOW_FILE_CASES else c for c in FILE_CASES],
    ids=lambda c: f"{c.kind}-{c.id}",
)
def test_bad_file_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, case):
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = write_case(inputs, case)
    before = tree_digest(inputs)

    code, lines = run(capsys, "validate", str(path))
    assert code == 2
    assert_one_line(lines, path, case.expect)

    out = tmp_path / "out"
    code, report_lines = run(capsys, *report_args(case, path, out))
    assert code == 2
    assert report_lines == lines  # the same problem, told the same way
    assert not out.exists()
    assert tree_digest(inputs) == before


@pytest.mark.parametrize(
    "case",
    [c for c in FILE_CASES if c.id in ("date-month-13", "duplicate-column", "host-fee-nan", "id-slash")],
)
def test_bad_file_leaves_an_existing_output_folder_unchanged(tmp_path, capsys, case):
    out = tmp_path / "out"
    (out / "earlier-applicant").mkdir(parents=True)
    (out / "earlier-applicant" / "report.html").write_text("<html>an earlier report</html>")
    (out / "manifest.csv").write_text("applicant_id,status,seconds,error\nearlier-applicant,ok,1.00,\n")
    before = tree_digest(out)
    path = write_case(tmp_path, case)
    code, _ = run(capsys, *report_args(case, path, out))
    assert code == 2
    assert tree_digest(out) == before


def test_yaml_cannot_run_code(tmp_path, capsys):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    code, _ = run(capsys, "validate", str(path))
    assert code == 2 and not marker.exists()


def test_unpacked_size_of_a_workbook_is_limited(tmp_path, monkeypatch):
    """A zip can unpack to far more than it weighs; the limit applies before openpyxl reads it."""
    from helpers import tables

    path = write_xlsx(tmp_path / "c.xlsx", [COHORT_COLUMNS, [GOOD_ROW[c] for c in COHORT_COLUMNS]])
    load_cohort(path)  # fine under the real limit
    monkeypatch.setattr(tables, "MAX_XLSX_UNPACKED_BYTES", 1000)
    with pytest.raises(InputError, match="unpacks to"):
        load_cohort(path)


@pytest.mark.slow
def test_every_bad_file_as_a_user_runs_it(tmp_path):
    """The real command, one process for all files: exit 2, no traceback, every file named."""
    paths = [write_case(tmp_path, c) for c in FILE_CASES]
    res = awayplan("validate", *map(str, paths))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert all(line.startswith("awayplan: error: ") for line in lines)
    for p in paths:
        assert sum(p.name in line for line in lines) == 1, p.name
    assert res.stdout == ""


# ----------------------------------------------------------------------------- row-level cases


def row_values(changes: dict) -> list:
    return [changes.get(c, GOOD_ROW[c]) for c in COHORT_COLUMNS]


def write_cohort(path: Path, rows: list[dict]) -> Path:
    """A cohort as CSV (csv module quoting) or XLSX (typed cells), by suffix."""
    if path.suffix == ".xlsx":
        return write_xlsx(path, [COHORT_COLUMNS, *(row_values(r) for r in rows)])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COHORT_COLUMNS)
        for r in rows:
            w.writerow(row_values(r))
    return path


@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.id)
def test_bad_row_is_one_line_naming_row_and_field(tmp_path, capsys, case):
    path = write_cohort(tmp_path / f"cohort.{case.fmt}", [GOOD_ROW, case.changes])
    code, lines = run(capsys, "validate", str(path))
    assert code == 2
    assert_one_line(lines, path, ("row 3", *case.expect))
    entries = load_cohort(path)
    assert [e.ok for e in entries] == [True, False]


def _mixed(fmt: str) -> list[RowCase]:
    return [c for c in ROW_CASES if c.fmt == fmt]


LAST_GOOD = {**GOOD_ROW, "applicant_id": "ok-last", "name": "Last Good", "budget_usd": "3000"}


def _mixed_run(fmt: str, folder: Path):
    """A real cohort run: a good row, every bad row of that format, another good row."""
    rows = [GOOD_ROW, *(c.changes for c in _mixed(fmt)), LAST_GOOD]
    cohort = write_cohort(folder / f"cohort.{fmt}", rows)
    out = folder / "out"
    res = awayplan("report", "--cohort", str(cohort), "--out", str(out), "--no-pdf")
    with (out / "manifest.csv").open(encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    return folder, out, res, manifest


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory):
    return _mixed_run("csv", tmp_path_factory.mktemp("mixed-csv"))


@pytest.fixture(scope="module")
def mixed_xlsx(tmp_path_factory):
    return _mixed_run("xlsx", tmp_path_factory.mktemp("mixed-xlsx"))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bad_rows_fail_alone_and_the_others_are_complete(request, fmt):
    folder, out, res, manifest = request.getfixturevalue(f"mixed_{fmt}")
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    ok = {r["applicant_id"] for r in manifest if r["status"] == "ok"}
    assert ok == {"ok-first", "ok-last"}
    assert len(manifest) == 2 + len(_mixed(fmt))
    for aid in ok:
        report = (out / aid / "report.html").read_text(encoding="utf-8")
        assert report.rstrip().endswith("</html>")
        assert read_summary(out / aid / "summary.json").applicant_id == aid
    # Nothing but the good applicants' folders (and the cohort files) was written, inside or out.
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == [
        "04-cohort.ipynb",
        "index.html",
        "manifest.csv",
        "ok-first",
        "ok-last",
        "overview.html",
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"cohort.{fmt}", "out"])
    for r in manifest:
        assert (
            "/" not in r["applicant_id"] and "\\" not in r["applicant_id"] and ".." not in r["applicant_id"]
        )


@pytest.mark.slow
@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.id)
def test_each_bad_row_is_in_the_manifest_with_its_reason(request, case):
    _, _, _, manifest = request.getfixturevalue(f"mixed_{case.fmt}")
    row = 3 + _mixed(case.fmt).index(case)  # header = 1, first good row = 2
    found = [r for r in manifest if f", row {row}, " in r["error"]]
    assert len(found) == 1, manifest
    assert found[0]["status"] == "failed"
    for words in case.expect:
        assert words in found[0]["error"]


def test_report_only_mix_ups_are_one_line(tmp_path, capsys):
    """A table given where a profile goes, and a program table given as the cohort."""
    table = tmp_path / "cohort.csv"
    write_cohort(table, [GOOD_ROW])
    code, lines = run(capsys, "report", str(table), "--out", str(tmp_path / "o1"), "--no-pdf")
    assert code == 2
    assert_one_line(lines, table, ("use --cohort",))
    programs = tmp_path / "programs.csv"
    programs.write_text(f"{PROGRAM_HEADER}\n{PROGRAM_ROW}\n")
    code, lines = run(capsys, "report", "--cohort", str(programs), "--out", str(tmp_path / "o2"), "--no-pdf")
    assert code == 2
    assert_one_line(lines, programs, ("looks like a program table",))
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


# ----------------------------------------------------------------------------- what spreadsheets really write

NAME = "José Müller – Zoë"  # é, ü, ë are Latin-1; the en dash only exists in Windows-1252


@pytest.mark.parametrize(
    ("label", "encoding", "sep", "newline", "suffix", "name"),
    [
        ("utf8-bom-semicolons", "utf-8-sig", ";", "\n", ".csv", NAME),
        ("windows-1252-crlf", "cp1252", ",", "\r\n", ".csv", NAME),
        ("latin-1", "latin-1", ",", "\n", ".csv", "François Bérubé"),
        ("excel-unicode-text", "utf-16", "\t", "\r\n", ".txt", NAME),
    ],
)
def test_spreadsheet_encodings_are_read_not_rejected(tmp_path, label, encoding, sep, newline, suffix, name):
    values = [name if c == "name" else GOOD_ROW[c] for c in COHORT_COLUMNS]
    values = [f'"{v}"' if sep in v else v for v in values]  # as Excel quotes "NY;PA" when ; separates
    text = sep.join(COHORT_COLUMNS) + newline + sep.join(values) + newline
    path = tmp_path / f"cohort{suffix}"
    path.write_bytes(text.encode(encoding))
    (entry,) = load_cohort(path)
    assert entry.ok, entry.problems
    assert entry.profile.name == name
    assert entry.profile.preferred_states == ["NY", "PA"]
    assert entry.profile.budget_usd == 6000


def test_profile_encodings_and_markup_are_read_as_typed(tmp_path):
    cases = {
        "bom.yaml": b"\xef\xbb\xbf" + profile_yaml(name=f'"{NAME}"').encode("utf-8"),
        "cp1252.yaml": profile_yaml(name=f'"{NAME}"').encode("cp1252"),
        "utf16.yaml": profile_yaml(name=f'"{NAME}"').encode("utf-16"),
        "markup.yaml": profile_yaml(
            name="'<img src=x onerror=alert(1)> \"Q\" & <script>x</script>'"
        ).encode(),
        "capitals.yaml": profile_yaml(visa_needed="J1", school_status="Student", step1="PASS").encode(),
    }
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        p = load_profile(tmp_path / name)
        if name == "markup.yaml":
            assert p.name == '<img src=x onerror=alert(1)> "Q" & <script>x</script>'
        elif name == "capitals.yaml":
            assert (p.visa_needed, p.school_status, p.step1) == ("j1", "student", "pass")
        else:
            assert p.name == NAME, name


def test_program_table_encodings_and_xlsx_types(tmp_path):
    header = "program_id,name,state,sponsors_j1,host_fee_usd,subspecialties"
    row = 'P1,Hôpital Saint-Zoë – Nord,ny,Yes,"$1,200",neuro;MSK'
    (tmp_path / "bom.csv").write_bytes(("\ufeff" + header + "\n" + row + "\n").encode("utf-8"))
    (tmp_path / "cp1252.csv").write_bytes((header + "\r\n" + row + "\r\n").encode("cp1252"))
    semi = header.replace(",", ";") + "\n" + 'P1;Hôpital Saint-Zoë – Nord;ny;Yes;$1200;"neuro;MSK"\n'
    (tmp_path / "semicolons.csv").write_bytes(semi.encode("utf-8"))
    write_xlsx(
        tmp_path / "typed.xlsx",
        [header.split(","), ["P1", "Hôpital Saint-Zoë – Nord", "NY", True, 1200, "neuro;msk"]],
    )
    for name in ("bom.csv", "cp1252.csv", "semicolons.csv", "typed.xlsx"):
        t = load_programs(tmp_path / name)
        r = t.loc[2]
        assert (r["program_id"], r["name"], r["state"]) == ("P1", "Hôpital Saint-Zoë – Nord", "NY"), name
        assert bool(r["sponsors_j1"]) is True and float(r["host_fee_usd"]) == 1200.0, name
        assert r["subspecialties"] == "neuro;msk", name


def test_blank_rows_keep_spreadsheet_row_numbers(tmp_path):
    """A blank line in the middle still counts as a row, as it does in the spreadsheet."""
    path = tmp_path / "c.csv"
    bad = GOOD_LINE.replace("ok-first", "r-b").replace(",j1,", ",j9,")
    path.write_text(f"{COHORT_HEADER}\n{GOOD_LINE}\n\n,,,,,,,,,,\n{bad}\n")
    entries = load_cohort(path)
    assert [e.ok for e in entries] == [True, False]
    assert "row 5, field 'visa_needed'" in str(entries[1].problems[0])
    xlsx = write_xlsx(
        tmp_path / "c.xlsx",
        [
            [None],
            COHORT_COLUMNS,
            row_values(GOOD_ROW),
            [None],
            row_values({"applicant_id": "r-x", "step1": "nope"}),
        ],
    )
    entries = load_cohort(xlsx)
    assert [e.ok for e in entries] == [True, False]
    assert "row 5, field 'step1'" in str(entries[1].problems[0])


@pytest.mark.slow  # 5,000 rows, read twice by validate: over a second
def test_a_large_cohort_names_the_one_bad_row_deep_inside(tmp_path, capsys):
    """5,000 applicants (about 1 MB): only row 4,321 is wrong, and the line says so."""
    rows = [{**GOOD_ROW, "applicant_id": f"a{i:05d}"} for i in range(5000)]
    rows[4319] = {**rows[4319], "step1": "maybe"}  # spreadsheet row 4321
    path = write_cohort(tmp_path / "big.csv", rows)
    code, lines = run(capsys, "validate", str(path))
    assert code == 2
    assert_one_line(lines, path, ("row 4321", "field 'step1'", "'maybe'"))


@pytest.mark.slow  # 20,000 rows, read twice by validate: over a second
def test_a_large_program_table_names_the_one_bad_cell(tmp_path, capsys):
    lines = [PROGRAM_HEADER + ",positions"] + [f"P{i},Hospital {i},NY,4" for i in range(20_000)]
    lines[17_000] = "P16999,Hospital 16999,NY,four"  # spreadsheet row 17,001
    path = tmp_path / "programs.csv"
    path.write_text("\n".join(lines) + "\n")
    code, err = run(capsys, "validate", str(path))
    assert code == 2
    assert_one_line(err, path, ("row 17001", "field 'positions'", "'four'"))
