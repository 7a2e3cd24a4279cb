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
MAX_XLSX_UNPACKED_BYTES = 1024 * 1024 * 1024  # a zip can unpack to far more than it weighs
MAX_ROW_PROBLEMS = 50  # per file; more than this and the first ones say enough


def normalise_header(name: object) -> str:
    """`" Step2 CK "` -> `"step2_ck"`: tolerate case and spaces that spreadsheets add."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def decode_text(raw: bytes) -> str:
    """Decode bytes from UTF-8 (with or without BOM) or UTF-16 with a BOM (Excel's "Unicode
    text"), falling back to Windows-1252/Latin-1 (older spreadsheet exports)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
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

    The index is each row's spreadsheet row number (blank rows still count), so messages
    point at the row the user sees. Raises InputError (naming the file) for missing,
    empty, oversized, undecodable or malformed files, rows wider than the header,
    duplicate columns, or a header without data rows.
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
        rows = _xlsx_rows(path, name)
    elif suffix in (".csv", ".txt", ".tsv"):
        rows = _csv_rows(path, name)
    else:
        raise InputError([Problem(name, f"unsupported file type '{suffix}': use .csv or .xlsx")])
    return _frame(rows, name)


def _frame(rows: list[list[str]], name: str) -> pd.DataFrame:
    """Header = first non-blank row; data rows keep their spreadsheet row numbers."""
    first = next((i for i, cells in enumerate(rows) if any(cells)), None)
    if first is None:
        raise InputError([Problem(name, "file is empty")])
    header = [normalise_header(c) for c in rows[first]]
    while header and not header[-1]:
        header.pop()
    dupes = sorted({c for c in header if header.count(c) > 1 and c})
    if dupes:
        raise InputError([Problem(name, f"column '{c}' appears more than once") for c in dupes])
    width = len(header)
    keep = [j for j, c in enumerate(header) if c]  # columns without a name are ignored
    problems, data, index = [], [], []
    for i, cells in enumerate(rows[first + 1 :], start=first + 2):
        extra = [c for c in cells[width:] if c]
        if extra:
            problems.append(
                Problem(
                    name,
                    f"the row has {width + len(cells[width:])} cells but the header names {width} "
                    f"(a value with a separator in it needs quotes): '{extra[0][:40]}'",
                    row=i,
                )
            )
            continue
        cells = cells[:width] + [""] * (width - len(cells))
        if any(cells):
            data.append([cells[j] for j in keep])
            index.append(i)
    if problems:
        raise InputError(problems[:MAX_ROW_PROBLEMS])
    if not data:
        raise InputError([Problem(name, "the header is there but no data rows follow")])
    return pd.DataFrame(data, columns=[header[j] for j in keep], index=index, dtype="str")


def _csv_rows(path: Path, name: str) -> list[list[str]]:
    text = decode_text(path.read_bytes())
    if not text.strip():
        raise InputError([Problem(name, "file is empty")])
    if "\x00" in text:
        raise InputError([Problem(name, "not a text file (binary content); save it as CSV or XLSX")])
    csv.field_size_limit(MAX_TABLE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_separator(text), strict=True)
    rows: list[list[str]] = []
    try:
        for cells in reader:
            rows.append([c.strip() for c in cells])
    except csv.Error as exc:
        raise InputError([Problem(name, f"malformed CSV: {exc}", row=len(rows) + 1)]) from None
    return rows


def _xlsx_rows(path: Path, name: str) -> list[list[str]]:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            [Problem(name, f"not a readable XLSX workbook ({exc.__class__.__name__})")]
        ) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise InputError(
            [
                Problem(
                    name,
                    f"workbook unpacks to {unpacked / 1e6:.0f} MB; the limit is "
                    f"{MAX_XLSX_UNPACKED_BYTES / 1e6:.0f} MB",
                )
            ]
        )
    try:
        frame = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise InputError(
            [Problem(name, f"not a readable XLSX workbook ({exc.__class__.__name__})")]
        ) from None
    # header=None keeps leading blank rows, so position i is spreadsheet row i + 1.
    return [[_cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]


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
