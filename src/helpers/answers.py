"""Questions out to programs, answers back into the table, each answer with its source (R-K2).

A blank cell is unknown; the rules then raise a question for the program (`eligibility.py`)
or price the plan with an estimate (`budget.py`). `open_questions` lists those questions per
program and table column, for given applicants or for any applicant; `merge_answers` puts
the answers an advisor collected into the blank cells, never over a filled one, and keeps
where each came from in `<table stem>.sources.csv`, which reports show beside the value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from .eligibility import EXCLUDED, assess
from .errors import InputError, Problem, display_path
from .profile import Profile
from .programs import (
    BOOL_COLUMNS,
    DTYPES,
    OPTIONAL,
    PARSERS,
    SCHEMA,
    SOURCES_COLUMNS,
    UNKNOWN_WORDS,
    parse_date,
    read_programs,
    table_sources,
)
from .tables import read_table

QUESTION_COLUMNS = ("program_id", "name", "field", "question", "answer", "answered_on", "source")

# What to ask for each column, worded so that the answer is the cell's value, with the
# rule that needs it and the form of the answer.
FIELD_QUESTIONS: dict[str, tuple[str, str, str]] = {
    "considers_imgs": ("R-A1", "Does the program consider non-US IMGs for interview?", "yes or no"),
    "sponsors_j1": ("R-A2", "Does the program accept J-1 (ECFMG-sponsored) residents?", "yes or no"),
    "sponsors_h1b": ("R-A2", "Does the program sponsor H-1B visas for residents?", "yes or no"),
    "visiting_students": (
        "R-L2",
        "Does the department take visiting students, and how do they apply?",
        "vslo, direct, observer_only or none",
    ),
    "requires_lcme": (
        "R-A4",
        "Do you take visiting students only from LCME/AOA-accredited schools?",
        "yes or no",
    ),
    "requires_affiliation": (
        "R-A4",
        "Is an affiliation agreement with the student's school required for an elective?",
        "yes or no",
    ),
    "requires_step1": (
        "R-C4",
        "Do you need a Step 1 result before accepting a visiting student?",
        "yes or no",
    ),
    "host_fee_usd": ("R-C3", "What is the host fee for a visiting elective?", "amount in USD, 0 if none"),
    "non_lcme_surcharge_usd": (
        "R-C3",
        "Is there a surcharge for students of schools outside LCME/AOA accreditation, and how much?",
        "amount in USD, 0 if none",
    ),
    "housing_month_usd": (
        "R-C3",
        "Do you offer or recommend housing for visitors, and at what cost per month?",
        "USD per month",
    ),
}

# The questions `eligibility.py` raises, by the column whose blank cell raises them.
# Questions about the applicant rather than a column (B1/B2 hands-on work, a graduate on a
# student elective) stay in each applicant's own checklist.
ELIGIBILITY_QUESTION_FIELDS = {
    "Does the program consider non-US IMGs for interview?": "considers_imgs",
    "Does the program accept J-1 (ECFMG-sponsored) residents?": "sponsors_j1",
    "Does the program sponsor H-1B visas for residents?": "sponsors_h1b",
    "Does the department take visiting students (through VSLO or directly) or observers?": "visiting_students",
    "Do you accept students from non-LCME/AOA schools?": "requires_lcme",
    "Is an affiliation agreement with my school required?": "requires_affiliation",
    "Do you need a Step 1 result before accepting a visiting student?": "requires_step1",
}
NOT_A_COLUMN = frozenset(
    {
        "Do you offer radiology observerships to graduates?",
        "May a graduate do the elective, or only observe?",
        "On my B1/B2 or ESTA status, may I do hands-on work or only observe?",
    }
)
# Cost columns the plan estimates when blank (budget.rotation_cost), and when they count.
COST_FIELDS = ("host_fee_usd", "non_lcme_surcharge_usd", "housing_month_usd")

# "Any applicant": one of each situation whose rules read a different column.
_BASE = {"budget_usd": 0, "application_cycle": dt.date.today().year + 1}
ARCHETYPES = (
    {"applicant_id": "any-j1-student", "visa_needed": "j1", "school_status": "student", "step1": "not_taken"},
    {
        "applicant_id": "any-h1b-graduate",
        "visa_needed": "h1b",
        "school_status": "graduate",
        "step1": "pass",
        "step3": "pass",
    },
)


def _question_text(q: str) -> str:
    """'R-K2: Does ...?' -> 'Does ...?'."""
    head, _, rest = q.partition(": ")
    return rest if head.startswith("R-") and rest else q


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value))


def fields_that_matter(profile: Profile, programs: pd.DataFrame) -> dict[str, list[str]]:
    """program_id -> the blank columns whose answer would change this applicant's verdict
    or plan cost: the R-K2 questions of `eligibility.assess`, and the fees the plan estimates."""
    verdicts = assess(profile, programs)
    out: dict[str, list[str]] = {}
    for v, row in zip(verdicts.itertuples(index=False), programs.itertuples(index=False), strict=True):
        wanted = []
        # a known "no" already decides an excluded program: its other blanks change nothing
        asked = [] if v.status == EXCLUDED else list(v.questions)
        asked += [] if v.rotation_status == EXCLUDED else list(v.rotation_questions)
        for q in asked:
            text = _question_text(str(q))
            column = ELIGIBILITY_QUESTION_FIELDS.get(text)
            if column is None and text not in NOT_A_COLUMN:
                raise KeyError(f"no column known for the question {text!r}")  # a rule changed its words
            if column and column not in wanted:
                wanted.append(column)
        if v.rotation_status != EXCLUDED:
            for column in COST_FIELDS:
                if column == "non_lcme_surcharge_usd" and not (
                    profile.school_accreditation == "other" and v.rotation_kind in ("vslo", "direct")
                ):
                    continue
                if _blank(getattr(row, column)):
                    wanted.append(column)
        if wanted:
            out[str(row.program_id)] = wanted
    return out


def any_applicant() -> list[Profile]:
    """Profiles standing for any applicant: a J-1 student of a non-LCME school without Step 1,
    and an H-1B graduate with Step 3; together they reach every column-bound question."""
    return [Profile(**_BASE, **a) for a in ARCHETYPES]


def open_questions(programs: pd.DataFrame, profiles: list[Profile]) -> pd.DataFrame:
    """One row per (program, column) that matters for any of the profiles, in table order:
    program_id, name, field, question, answer, answered_on, source (the last three blank)."""
    wanted: dict[str, set[str]] = {}
    for p in profiles:
        for pid, columns in fields_that_matter(p, programs).items():
            wanted.setdefault(pid, set()).update(columns)
    rows = []
    order = list(FIELD_QUESTIONS)
    for r in programs.itertuples(index=False):
        for column in sorted(wanted.get(str(r.program_id), ()), key=order.index):
            rule, text, form = FIELD_QUESTIONS[column]
            rows.append(
                {
                    "program_id": str(r.program_id),
                    "name": str(r.name),
                    "field": column,
                    "question": f"{rule}: {text} (answer: {form})",
                    "answer": "",
                    "answered_on": "",
                    "source": "",
                }
            )
    return pd.DataFrame(rows, columns=list(QUESTION_COLUMNS), dtype="str")


def draft_messages(questions: pd.DataFrame) -> pd.DataFrame:
    """One short, polite message per program asking all of its questions at once."""
    rows = []
    for (pid, name), group in questions.groupby(["program_id", "name"], sort=False):
        asks = [_question_text(q).rsplit(" (answer:", 1)[0] for q in group["question"]]
        numbered = "\n".join(f"{i}. {q}" for i, q in enumerate(asks, start=1))
        message = (
            "Dear Program Coordinator,\n\n"
            f"I am writing about the diagnostic radiology residency at {name}. I advise international "
            "medical graduates who hope to apply and, where possible, to visit first. Could you help "
            f"me with {'one question' if len(asks) == 1 else 'a few questions'}?\n\n"
            f"{numbered}\n\n"
            "A short reply is plenty. Thank you very much for your time.\n\nKind regards,"
        )
        rows.append(
            {
                "program_id": pid,
                "name": name,
                "questions": str(len(asks)),
                "fields": ";".join(group["field"]),
                "message": message,
            }
        )
    return pd.DataFrame(rows, columns=["program_id", "name", "questions", "fields", "message"], dtype="str")


# ----------------------------------------------------------------------------- answers in


@dataclass
class MergeResult:
    """What merging answers did: the new table's text, the sources, and what was kept out."""

    table: pd.DataFrame  # text, kit column names, one row per program
    sources: pd.DataFrame  # program_id, field, value, answered_on, source
    filled: list[tuple[str, str, str]] = field(default_factory=list)  # (program_id, field, value)
    conflicts: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, field, table, answer)
    overwritten: list[tuple[str, str, str, str]] = field(default_factory=list)
    unchanged: int = 0  # answers equal to what the table already says


def read_answers(path: str | Path, programs: pd.DataFrame) -> pd.DataFrame:
    """The answered rows of a questions file, each answer checked like a table cell; raises
    InputError naming file, row and field for every problem."""
    path = Path(path)
    name = display_path(path)
    raw = read_table(path, what="answers")
    missing = [c for c in ("program_id", "field", "answer") if c not in raw.columns]
    if missing:
        raise InputError([Problem(name, "required column is missing", field=c) for c in missing])
    for c in ("answered_on", "source"):
        if c not in raw.columns:
            raw[c] = ""
    known_ids = set(programs["program_id"])
    problems: list[Problem] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    rows = []
    for row, r in raw.iterrows():
        row = int(row)
        answer = r["answer"]
        if answer == "" or answer.strip().lower() in UNKNOWN_WORDS:
            continue  # not answered yet
        pid, column = r["program_id"], r["field"]
        if pid not in known_ids:
            problems.append(
                Problem(name, f"program_id '{pid}' is not in the program table", row=row, field="program_id")
            )
            continue
        if column not in OPTIONAL or column in ("source_url", "verified_on"):
            problems.append(
                Problem(name, f"'{column}' is not a column an answer can fill", row=row, field="field")
            )
            continue
        parser = PARSERS.get(column)
        try:
            value = parser(answer) if parser else answer.strip()
            _check_range(column, value)
        except ValueError as exc:
            problems.append(Problem(name, f"{column}: {exc}", row=row, field="answer"))
            continue
        on = r["answered_on"]
        if on:
            try:
                on = parse_date(on)
            except ValueError as exc:
                problems.append(Problem(name, str(exc), row=row, field="answered_on"))
                continue
        cell = _cell(column, value)
        key = (pid, column)
        if key in seen and seen[key][1] != cell:
            problems.append(
                Problem(
                    name,
                    f"two answers for {pid} {column} differ (row {seen[key][0]}: '{seen[key][1]}', here: '{cell}')",
                    row=row,
                    field="answer",
                )
            )
            continue
        seen[key] = (row, cell)
        rows.append(
            {"program_id": pid, "field": column, "value": cell, "answered_on": on, "source": r["source"]}
        )
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=list(SOURCES_COLUMNS), dtype="str").drop_duplicates(
        ["program_id", "field"]
    )


def _check_range(column: str, value: object) -> None:
    """The table's own checks (ranges, allowed values) on one answer; ValueError if it fails."""
    rule = SCHEMA.columns.get(column)
    if rule is None:
        return
    try:
        rule.validate(pd.DataFrame({column: pd.array([value], dtype=DTYPES.get(column, "str"))}))
    except pa.errors.SchemaError as exc:
        check = getattr(exc, "check", None)
        raise ValueError(f"{getattr(check, 'error', None) or 'out of range'} (got '{value}')") from None


def _cell(column: str, value: object) -> str:
    """A typed value back as the table's text ('true', '1200', 'vslo')."""
    if value is None:
        return ""
    if column in BOOL_COLUMNS:
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def table_text(programs: pd.DataFrame) -> pd.DataFrame:
    """A typed program table back as text with the kit's column names (blank = unknown)."""
    columns = ["program_id", "name", "state", *OPTIONAL]
    extra = [c for c in programs.columns if c not in columns and c != "nrmp_track"]
    out = pd.DataFrame(index=programs.index)
    for c in [*columns, *extra]:
        out[c] = pd.array([_cell(c, None if _blank(v) else v) for v in programs[c]], dtype="str")
    return out


def merge_answers(
    table: str | Path, answers: str | Path, columns: str | Path | None = None, overwrite: bool = False
) -> MergeResult:
    """Fill the table's blank cells from the answered rows. A filled cell is never changed
    unless `overwrite`; a different answer for it is listed as a conflict with both values.
    Sources already beside the table are kept, and each filled cell adds one."""
    programs, _ = read_programs(table, columns)
    answered = read_answers(answers, programs)
    text = table_text(programs)
    row_of = {pid: row for row, pid in text["program_id"].items()}
    result = MergeResult(table=text, sources=table_sources(programs))
    kept = []
    for a in answered.itertuples(index=False):
        row = row_of[a.program_id]
        current = text.at[row, a.field]
        if current == a.value:
            result.unchanged += 1
            continue
        if current != "":
            if not overwrite:
                result.conflicts.append((a.program_id, a.field, current, a.value))
                continue
            result.overwritten.append((a.program_id, a.field, current, a.value))
        else:
            result.filled.append((a.program_id, a.field, a.value))
        text.at[row, a.field] = a.value
        kept.append(a._asdict())
    if kept:
        new = pd.DataFrame(kept, columns=list(SOURCES_COLUMNS), dtype="str")
        old = result.sources
        keys = set(zip(new["program_id"], new["field"], strict=True))
        old = old.loc[[k not in keys for k in zip(old["program_id"], old["field"], strict=True)]]
        result.sources = pd.concat([old, new], ignore_index=True)
    return result


# ----------------------------------------------------------------------------- reports


def _shown(column: str, value: str) -> str:
    if column in BOOL_COLUMNS:
        return {"true": "yes", "false": "no"}.get(value.lower(), value)
    if column.endswith("_usd"):
        try:
            return f"${float(value):,.0f}"
        except ValueError:
            return value
    return value


def answered_notes(programs: pd.DataFrame, sources: pd.DataFrame | None = None) -> pd.Series:
    """For each program (same index as `programs`), its answered cells as people read them:
    'sponsors_j1: yes (answered 2026-11-02, coordinator email)'; '' where none.
    `sources` defaults to the ones the loader found beside the table."""
    if sources is None:
        sources = table_sources(programs)
    by_id: dict[str, list[str]] = {}
    if sources is not None and len(sources):
        for s in sources.itertuples(index=False):
            current = (
                programs.loc[programs["program_id"] == s.program_id, s.field] if s.field in programs else []
            )
            if (
                len(current)
                and _cell(s.field, None if _blank(current.iloc[0]) else current.iloc[0]) != s.value
            ):
                continue  # the table was edited since: its value no longer comes from this answer
            how = ", ".join(
                x for x in (f"answered {s.answered_on}" if s.answered_on else "answered", s.source) if x
            )
            by_id.setdefault(s.program_id, []).append(f"{s.field}: {_shown(s.field, s.value)} ({how})")
    return pd.Series(
        ["; ".join(by_id.get(str(pid), [])) for pid in programs["program_id"]],
        index=programs.index,
        dtype="str",
    )
