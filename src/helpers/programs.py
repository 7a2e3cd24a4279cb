"""The program table (CSV or XLSX): parsed column by column, then checked with pandera.

Required columns: program_id, name, state (program_id is made from name and state when the
sheet has none). Every optional column may be missing or blank; blank means *unknown* and
is kept as a missing value (pd.NA), never read as false or 0. Advisors' own headers, state
names and spellings ("Yes", "$1,200", "12%", "✓") are recognised by `headers.py`; answers
collected from programs sit beside the table in `<stem>.sources.csv` (see `answers.py`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from .cycle import parse_months
from .errors import InputError, Problem, display_path
from .headers import (
    REQUIRED_FIELDS,
    Mapping,
    header_key,
    make_program_id,
    nrmp_track,
    parse_state,
    read_advisor_table,
)
from .tables import parse_bool, read_table, split_list
from .vocab import SUBSPECIALTIES, US_STATES

REQUIRED = ("program_id", "name", "state")
BOOL_COLUMNS = (
    "nci_cancer_center",
    "considers_imgs",
    "sponsors_j1",
    "sponsors_h1b",
    "requires_step1",
    "requires_lcme",
    "requires_affiliation",
)
INT_COLUMNS = ("positions", "fellowships", "non_us_img_recent", "step2_typical", "step2_min")
FLOAT_COLUMNS = (
    "img_share_pct",
    "host_fee_usd",
    "non_lcme_surcharge_usd",
    "housing_month_usd",
    "application_lead_weeks",
)
ENUMS = {
    "setting": ("academic", "hybrid", "community"),
    "research_strength": ("low", "medium", "high"),
    "visiting_students": ("vslo", "direct", "observer_only", "none"),
}
OPTIONAL = [
    "city",
    "setting",
    "positions",
    "research_strength",
    "nci_cancer_center",
    "fellowships",
    "img_share_pct",
    "non_us_img_recent",
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
    "application_lead_weeks",
    "rotation_months",
    "step2_typical",
    "step2_min",
    "subspecialties",
    "source_url",
    "verified_on",
]


def _opt_range(lo: float, hi: float) -> list[pa.Check]:
    return [pa.Check.in_range(lo, hi, error=f"must be between {lo:g} and {hi:g}")]


SCHEMA = pa.DataFrameSchema(
    {
        "program_id": pa.Column(
            "str",
            [pa.Check.str_length(1, 64, error="must be 1-64 characters")],
            unique=True,
            report_duplicates="exclude_first",
        ),
        "name": pa.Column("str", pa.Check.str_length(1, 300, error="must be 1-300 characters")),
        "state": pa.Column(
            "str", pa.Check.isin(sorted(US_STATES), error="must be a two-letter US state code")
        ),
        "setting": pa.Column("str", pa.Check.isin(ENUMS["setting"]), nullable=True, required=False),
        "research_strength": pa.Column(
            "str", pa.Check.isin(ENUMS["research_strength"]), nullable=True, required=False
        ),
        "visiting_students": pa.Column(
            "str", pa.Check.isin(ENUMS["visiting_students"]), nullable=True, required=False
        ),
        "positions": pa.Column("Int64", _opt_range(1, 200), nullable=True, required=False),
        "fellowships": pa.Column("Int64", _opt_range(0, 100), nullable=True, required=False),
        "non_us_img_recent": pa.Column("Int64", _opt_range(0, 1000), nullable=True, required=False),
        "step2_typical": pa.Column("Int64", _opt_range(1, 300), nullable=True, required=False),
        "step2_min": pa.Column("Int64", _opt_range(1, 300), nullable=True, required=False),
        "img_share_pct": pa.Column("Float64", _opt_range(0, 100), nullable=True, required=False),
        "host_fee_usd": pa.Column("Float64", _opt_range(0, 100_000), nullable=True, required=False),
        "non_lcme_surcharge_usd": pa.Column("Float64", _opt_range(0, 100_000), nullable=True, required=False),
        "housing_month_usd": pa.Column("Float64", _opt_range(0, 50_000), nullable=True, required=False),
        "application_lead_weeks": pa.Column("Float64", _opt_range(0, 104), nullable=True, required=False),
        **{c: pa.Column("boolean", nullable=True, required=False) for c in BOOL_COLUMNS},
    },
    strict=False,
    coerce=False,
)


MAX_ABS_NUMBER = 1e12  # beyond any count or price in a program table; keeps Int64 from overflowing


def _parse_int(text: str) -> int:
    try:
        value = float(text.replace(",", "").strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got '{text}'") from None
    if not math.isfinite(value) or not value.is_integer():
        raise ValueError(f"expected a whole number, got '{text}'")
    if abs(value) > MAX_ABS_NUMBER:
        raise ValueError(f"'{text}' is far outside any plausible value")
    return int(value)


def _parse_float(text: str) -> float:
    cleaned = re.sub(r"(?i)\bUS\$|\bUSD\b|[$,%]", "", text).strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"expected a number, got '{text}'") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a number, got '{text}'")
    if abs(value) > MAX_ABS_NUMBER:
        raise ValueError(f"'{text}' is far outside any plausible value")
    return value


# How advisors and FREIDA write the enumerated values (compared after `header_key`).
ENUM_SYNONYMS = {
    "setting": {
        "universitybased": "academic",
        "communitybaseduniversityaffiliated": "hybrid",
        "universityaffiliated": "hybrid",
        "communitybased": "community",
    },
    "research_strength": {"moderate": "medium", "med": "medium"},
    "visiting_students": {
        "vsas": "vslo",
        "directapplication": "direct",
        "applydirectly": "direct",
        "observeronly": "observer_only",
        "observersonly": "observer_only",
        "observershiponly": "observer_only",
        "observershipsonly": "observer_only",
        "no": "none",
    },
}


def _parse_enum(column: str) -> Callable[[str], str]:
    allowed = ENUMS[column]
    known = {header_key(v): v for v in allowed} | ENUM_SYNONYMS.get(column, {})

    def parse(text: str) -> str:
        value = known.get(header_key(text))
        if value is None:
            raise ValueError(f"'{text}' is not one of {', '.join(allowed)}")
        return value

    return parse


def _parse_subspecialties(text: str) -> str:
    items = [s.lower() for s in split_list(text)]
    bad = [s for s in items if s not in SUBSPECIALTIES]
    if bad:
        raise ValueError(f"unknown subspecialty '{bad[0]}' (use: {', '.join(SUBSPECIALTIES)})")
    return ";".join(items)


def _parse_months_text(text: str) -> str:
    try:
        months = parse_months(text)
    except ValueError as exc:
        raise ValueError(f"expected months like '4-9' or '5;6;7' ({exc})") from None
    return ";".join(str(m) for m in sorted(months or ()))


def parse_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        raise ValueError(f"expected a date like 2026-05-01, got '{text}'") from None


PARSERS: dict[str, Callable[[str], object]] = {
    **{c: parse_bool for c in BOOL_COLUMNS},
    **{c: _parse_int for c in INT_COLUMNS},
    **{c: _parse_float for c in FLOAT_COLUMNS},
    **{c: _parse_enum(c) for c in ENUMS},
    "state": parse_state,
    "subspecialties": _parse_subspecialties,
    "rotation_months": _parse_months_text,
    "verified_on": parse_date,
}
DTYPES = {
    **{c: "boolean" for c in BOOL_COLUMNS},
    **{c: "Int64" for c in INT_COLUMNS},
    **{c: "Float64" for c in FLOAT_COLUMNS},
}


# Cells that say "not known" in words: read as blank (unknown) in optional columns.
UNKNOWN_WORDS = frozenset({"?", "??", "unknown", "unk", "tbd", "tbc", "not known", "to confirm", "ask"})


def parse_programs(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """Typed program table from a frame of strings; raises InputError listing every problem."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError([Problem(file, "required column is missing", field=c) for c in missing])
    problems: list[Problem] = []
    out = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        parser = PARSERS.get(col)
        values = []
        for row, text in raw[col].items():
            if col not in REQUIRED and text.strip().lower() in UNKNOWN_WORDS:
                text = ""
            if text == "":
                if col in REQUIRED:
                    problems.append(Problem(file, "required value is blank", row=int(row), field=col))
                values.append(None)
                continue
            if parser is None:
                values.append(text)
                continue
            try:
                values.append(parser(text))
            except ValueError as exc:
                problems.append(Problem(file, str(exc), row=int(row), field=col))
                values.append(None)
        out[col] = pd.array(values, dtype=DTYPES.get(col, "str"))
    for col in OPTIONAL:
        if col not in out.columns:
            out[col] = pd.array([None] * len(out), dtype=DTYPES.get(col, "str"))
    if "nrmp_track" not in out.columns:
        out["nrmp_track"] = pd.array([nrmp_track(v) for v in out["program_id"]], dtype="str")
    if problems:
        raise InputError(problems)
    try:
        SCHEMA.validate(out, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise InputError(_schema_problems(exc, file)) from None
    return out


def _schema_problems(exc: pa.errors.SchemaErrors, file: str) -> list[Problem]:
    problems = []
    cases = exc.failure_cases
    for _, case in cases.iterrows():
        column = case.get("column")
        row = case.get("index")
        check = str(case.get("check"))
        value = case.get("failure_case")
        if "field_uniqueness" in check or "unique" in check:
            message = f"duplicate program_id '{value}'"
        else:
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:75] + "...'"
            message = f"{check} (got {shown})" if check and check != "None" else f"invalid value {shown}"
        problems.append(
            Problem(
                file, message, row=int(row) if pd.notna(row) else None, field=str(column) if column else None
            )
        )
    return problems


def with_ids(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Fill a missing program_id column (or blank id cells) with a stable id from name and
    state (`headers.make_program_id`); rows whose name or state is unusable stay blank for
    the checks to name. Returns the frame and the ids made."""
    if "name" not in raw.columns or "state" not in raw.columns:
        return raw, []
    ids = raw["program_id"] if "program_id" in raw.columns else pd.Series("", index=raw.index, dtype="str")
    made: list[str] = []
    values = []
    for row, current in ids.items():
        name, state = raw.at[row, "name"], raw.at[row, "state"]
        if current == "" and name != "":
            try:
                current = make_program_id(name, parse_state(state))
                made.append(current)
            except ValueError:
                pass
        values.append(current)
    out = raw.copy()
    out["program_id"] = pd.array(values, dtype="str")
    return out[["program_id", *[c for c in out.columns if c != "program_id"]]], made


def read_programs(path: str | Path, columns: str | Path | None = None) -> tuple[pd.DataFrame, Mapping]:
    """Read, recognise and validate a program table: the typed frame (index = spreadsheet
    row) and the Mapping that says which header became which field. `columns` names an
    explicit mapping file (YAML, `header: field`)."""
    path = Path(path)
    raw, mapping = read_advisor_table(path, columns)
    missing = [c for c in REQUIRED_FIELDS if c not in raw.columns]
    if missing:
        seen = ", ".join(f"'{h}'" for h, _ in mapping.ignored[:8]) or "none"
        hint = f" (no header reads as it; headers not used: {seen}; name it in a --columns mapping file)"
        raise InputError(
            [Problem(mapping.file, "required column is missing" + hint, field=c) for c in missing]
        )
    raw, made = with_ids(raw)
    mapping.generated_ids, mapping.example_id = len(made), made[0] if made else ""
    try:
        programs = parse_programs(raw, mapping.file)
    except InputError as exc:
        if not mapping.generated_ids:
            raise
        bad_rows = {p.row for p in exc.problems if p.field != "program_id"}
        noise = lambda p: p.field == "program_id" and p.row in bad_rows and "blank" in p.message  # noqa: E731
        raise InputError([p for p in exc.problems if not noise(p)]) from None
    sources = read_sources(sources_path(path), programs)
    # attrs hold plain tuples: pandas compares attrs when it combines frames
    programs.attrs["sources"] = tuple(tuple(r) for r in sources.itertuples(index=False, name=None))
    return programs, mapping


def load_programs(path: str | Path, columns: str | Path | None = None) -> pd.DataFrame:
    """Read and validate a program table; the index is each program's spreadsheet row.
    Answers merged from programs (`<stem>.sources.csv` beside it): `table_sources(frame)`.

    A table read before is not parsed again while its bytes and those of every file that
    changes what it gives (its mapping, sources and columns files) are the same: each call
    gets its own copy. A warm kernel's parent reads the bundled table once for all
    applicants."""
    return _load_programs(
        _table_key(path, columns), str(path), None if columns is None else str(columns)
    ).copy()


def _table_key(path: str | Path, columns: str | Path | None) -> tuple:
    path = Path(path)
    files = [path, *_companion_paths(path)]
    if columns is not None:
        files.append(Path(columns))
    key = []
    for f in files:  # by content: a file rewritten within the clock's resolution still counts
        try:
            key.append((str(f.resolve()), hashlib.sha256(f.read_bytes()).hexdigest()))
        except OSError:
            key.append((str(f), None))
    return tuple(key)


@functools.lru_cache(maxsize=4)
def _load_programs(key: tuple, path: str, columns: str | None) -> pd.DataFrame:
    return read_programs(path, columns)[0]


SOURCES_COLUMNS = ("program_id", "field", "value", "answered_on", "source")


def table_sources(programs: pd.DataFrame) -> pd.DataFrame:
    """The answers behind a loaded table's cells (program_id, field, value, answered_on,
    source); empty when the table has no sources file beside it."""
    rows = programs.attrs.get("sources") or ()
    return pd.DataFrame(list(rows), columns=list(SOURCES_COLUMNS), dtype="str")


def companion_files(table: str | Path) -> list[Path]:
    """Files beside a table that change what loading it gives: its sources and its
    column mapping (`<stem>.sources.csv`, `<stem>.columns.yaml`), those that exist."""
    return [f for f in _companion_paths(table) if f.is_file()]


def _companion_paths(table: str | Path) -> list[Path]:
    """Where a table's sources and column mapping would be, whether or not they exist."""
    table = Path(table)
    return [sources_path(table), table.with_name(f"{table.stem}.columns.yaml")]


def sources_path(table: str | Path) -> Path:
    """Where the answers behind a table's cells are kept: `<table stem>.sources.csv` beside it."""
    table = Path(table)
    return table.with_name(f"{table.stem}.sources.csv")


def read_sources(path: Path, programs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The sources file as text (empty when there is none). Rows about programs the table
    no longer holds are left out; a malformed file is an InputError naming row and field."""
    if not path.is_file():
        return pd.DataFrame(columns=list(SOURCES_COLUMNS), dtype="str")
    raw = read_table(path, what="sources")
    name = display_path(path)
    missing = [c for c in SOURCES_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError([Problem(name, "required column is missing", field=c) for c in missing])
    problems = []
    for row, r in raw.iterrows():
        if r["field"] not in PARSERS and r["field"] not in OPTIONAL:
            problems.append(
                Problem(name, f"'{r['field']}' is not a program table column", row=int(row), field="field")
            )
        if r["answered_on"]:
            try:
                parse_date(r["answered_on"])
            except ValueError as exc:
                problems.append(Problem(name, str(exc), row=int(row), field="answered_on"))
    if problems:
        raise InputError(problems)
    out = raw[list(SOURCES_COLUMNS)]
    if programs is not None:
        out = out.loc[out["program_id"].isin(set(programs["program_id"]))]
    return out.reset_index(drop=True)
