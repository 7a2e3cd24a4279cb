"""Read CSV and XLSX tables as text, whatever the spreadsheet program did to them.

Excel saves CSV with a byte-order mark, in Windows-1252, or with `;` as the separator;
XLSX cells arrive as numbers, dates or booleans. Everything is turned into stripped text
here, so that each column parser downstream sees one kind of value and can name the
spreadsheet row (header = row 1) of any problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem, display_path

MAX_TABLE_BYTES = 100 * 1024 * 1024
FIRST_DATA_ROW = 2  # spreadsheet row number of the first data row (row 1 is the header)


def normalise_header(name: object) -> str:
    """`" Step2 CK "` -> `"step2_ck"`: tolerate case and spaces that spreadsheets add."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def decode_text(raw: bytes) -> str:
    """Decode bytes from UTF-8 (with or without BOM), falling back to Windows-1252/Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _sniff_separator(text: str) -> str:
    header = text.splitlines()[0] if text else ""
    for sep in (",", "\t", ";"):
        if sep in header:
            return sep
    return ","


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: str | Path, what: str = "table") -> pd.DataFrame:
    """Read a CSV or XLSX file into a frame of stripped strings ('' = blank cell).

    Raises InputError (naming the file) for missing, empty, oversized, undecodable or
    malformed files, duplicate columns, or a header without data rows.
    """
    path = Path(path)
    name = display_path(path)
    if not path.exists():
        raise InputError([Problem(name, f"{what} file not found")])
    if path.is_dir():
        raise InputError([Problem(name, f"expected a {what} file (CSV or XLSX), got a folder")])
    size = path.stat().st_size
    if size == 0:
        raise InputError([Problem(name, "file is empty")])
    if size > MAX_TABLE_BYTES:
        raise InputError(
            [Problem(name, f"file is {size / 1e6:.0f} MB; the limit is {MAX_TABLE_BYTES / 1e6:.0f} MB")]
        )
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        frame = _read_xlsx(path, name)
    elif suffix in (".csv", ".txt", ".tsv"):
        frame = _read_csv(path, name)
    else:
        raise InputError([Problem(name, f"unsupported file type '{suffix}': use .csv or .xlsx")])

    columns = [normalise_header(c) for c in frame.columns]
    dupes = sorted({c for c in columns if columns.count(c) > 1 and c})
    if dupes:
        raise InputError([Problem(name, f"column '{c}' appears more than once") for c in dupes])
    frame.columns = columns
    frame = frame.loc[:, [c for c in frame.columns if c and not c.startswith("unnamed:")]]
    frame = frame.astype(object).map(_cell_text)
    nonblank = frame.ne("").any(axis=1)
    frame = frame.loc[nonblank]
    if frame.empty:
        raise InputError([Problem(name, "the header is there but no data rows follow")])
    # Keep spreadsheet row numbers as the index, so every message can name the row.
    return frame.astype("str")


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    text = decode_text(path.read_bytes())
    if not text.strip():
        raise InputError([Problem(name, "file is empty")])
    if "\x00" in text:
        raise InputError([Problem(name, "not a text file (binary content); save it as CSV or XLSX")])
    sep = _sniff_separator(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        detail = re.sub(r"^Error tokenizing data\. C error: ", "", str(exc)).strip()
        raise InputError([Problem(name, f"malformed CSV: {detail}", line=line)]) from None
    except pd.errors.EmptyDataError:
        raise InputError([Problem(name, "file is empty")]) from None
    frame.index = range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame))
    return frame


def _read_xlsx(path: Path, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(
            [Problem(name, f"not a readable XLSX workbook ({exc.__class__.__name__})")]
        ) from None
    frame.index = range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame))
    return frame


def split_list(text: str) -> list[str]:
    """`"neuro; msk;"` -> `["neuro", "msk"]`: list cells are separated by `;`."""
    return [part.strip() for part in str(text).split(";") if part.strip()]


TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}


def parse_bool(text: str) -> bool | None:
    """true/false, yes/no, 1/0 in any case; '' is unknown (None). Raises ValueError otherwise."""
    t = str(text).strip().lower()
    if t == "":
        return None
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise ValueError(f"expected true/false, yes/no or 1/0, got '{text}'")
