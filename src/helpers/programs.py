"""The program table (CSV or XLSX): parsed column by column, then checked with pandera.

Required columns: program_id, name, state. Every optional column may be missing or blank;
blank means *unknown* and is kept as a missing value (pd.NA), never read as false or 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from .cycle import parse_months
from .errors import InputError, Problem, display_path
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
    cleaned = text.replace(",", "").replace("$", "").replace("%", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"expected a number, got '{text}'") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a number, got '{text}'")
    if abs(value) > MAX_ABS_NUMBER:
        raise ValueError(f"'{text}' is far outside any plausible value")
    return value


def _parse_enum(column: str) -> Callable[[str], str]:
    allowed = ENUMS[column]

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
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


def _parse_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        raise ValueError(f"expected a date like 2026-05-01, got '{text}'") from None


PARSERS: dict[str, Callable[[str], object]] = {
    **{c: parse_bool for c in BOOL_COLUMNS},
    **{c: _parse_int for c in INT_COLUMNS},
    **{c: _parse_float for c in FLOAT_COLUMNS},
    **{c: _parse_enum(c) for c in ENUMS},
    "state": lambda t: t.strip().upper(),
    "subspecialties": _parse_subspecialties,
    "rotation_months": _parse_months_text,
    "verified_on": _parse_date,
}
DTYPES = {
    **{c: "boolean" for c in BOOL_COLUMNS},
    **{c: "Int64" for c in INT_COLUMNS},
    **{c: "Float64" for c in FLOAT_COLUMNS},
}


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


def load_programs(path: str | Path) -> pd.DataFrame:
    """Read and validate a program table; the index is each program's spreadsheet row."""
    path = Path(path)
    return parse_programs(read_table(path, what="program table"), display_path(path))
