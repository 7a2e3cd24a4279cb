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


SEPARATORS = ",\t;"
SNIFF_SAMPLE = 64 * 1024


def _sniff_separator(text: str) -> str:
    """The separator csv.Sniffer finds among `,` tab `;` in the first lines (quotes taken
    into account); a one-column file, or one the sniffer cannot read, is comma-separated."""
    sample = text[:SNIFF_SAMPLE]
    if len(text) > SNIFF_SAMPLE:  # never sniff half a line
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        return next((sep for sep in SEPARATORS if sep in header), ",")


def _cell_text(value: object, number_format: str = "") -> str:
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
    if isinstance(value, int | float) and "%" in number_format:
        # a cell typed "12%" holds 0.12 shown as a percentage: read it as the user sees it
        return f"{round(float(value) * 100, 6):g}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def _check_file(path: Path, what: str) -> str:
    """The file's display name, after the checks every table shares (exists, size, type)."""
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
    if suffix not in XLSX_SUFFIXES + CSV_SUFFIXES:
        raise InputError([Problem(name, f"unsupported file type '{suffix}': use .csv or .xlsx")])
    return name


def read_sheets(path: str | Path, what: str = "table") -> list[tuple[str, list[list[str]]]]:
    """Every sheet of a workbook as (sheet name, rows of stripped text), in workbook order;
    a CSV is one sheet named ''. Position i of a sheet's rows is spreadsheet row i + 1."""
    path = Path(path)
    name = _check_file(path, what)
    if path.suffix.lower() in XLSX_SUFFIXES:
        return _xlsx_sheets(path, name)
    return [("", _csv_rows(path, name))]


def read_table(path: str | Path, what: str = "table") -> pd.DataFrame:
    """Read a CSV, or the first sheet of an XLSX file, into a frame of stripped strings ('' = blank cell).

    The index is each row's spreadsheet row number (blank rows still count), so messages
    point at the row the user sees. Raises InputError (naming the file) for missing,
    empty, oversized, undecodable or malformed files, rows wider than the header,
    duplicate columns, or a header without data rows.
    """
    path = Path(path)
    sheets = read_sheets(path, what)
    return frame_from_rows(sheets[0][1], display_path(path))


def first_filled_row(rows: list[list[str]]) -> int | None:
    """Position of the first row with any text (None for a blank sheet)."""
    return next((i for i, cells in enumerate(rows) if any(cells)), None)


def frame_from_rows(
    rows: list[list[str]], name: str, header_at: int | None = None, normalise: bool = True
) -> pd.DataFrame:
    """Header = the row at position `header_at` (default: the first non-blank row); data rows
    keep their spreadsheet row numbers. `normalise=False` keeps the header text as typed,
    for header recognition. Columns without a name are ignored."""
    first = first_filled_row(rows) if header_at is None else header_at
    if first is None:
        raise InputError([Problem(name, "file is empty")])
    header = [normalise_header(c) if normalise else str(c).replace("\ufeff", "").strip() for c in rows[first]]
    while header and not header[-1]:
        header.pop()
    if normalise:
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
    columns = [header[j] for j in keep]
    if normalise:
        return pd.DataFrame(data, columns=columns, index=index, dtype="str")
    # headers as typed may repeat: build column by column so each keeps its place
    frame = pd.DataFrame({j: [row[k] for row in data] for k, j in enumerate(keep)}, index=index, dtype="str")
    frame.columns = columns
    return frame


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


def _xlsx_sheets(path: Path, name: str) -> list[tuple[str, list[list[str]]]]:
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
    import openpyxl  # here: a CSV never needs it, and it takes 0.3 s to import
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, InvalidFileException) as exc:
        raise InputError(
            [Problem(name, f"not a readable XLSX workbook ({exc.__class__.__name__})")]
        ) from None
    sheets = []
    try:
        for sheet in book.worksheets:
            rows = []
            for cells in sheet.iter_rows():
                # read-only rows start at the first used column and skip empty rows: place
                # every cell by its own coordinates so row i is spreadsheet row i + 1
                for cell in cells:
                    if getattr(cell, "row", None) is None:
                        continue
                    while len(rows) < cell.row:
                        rows.append([])
                    line = rows[cell.row - 1]
                    while len(line) < cell.column:
                        line.append("")
                    line[cell.column - 1] = _cell_text(cell.value, cell.number_format or "")
            width = max((len(r) for r in rows), default=0)
            sheets.append((sheet.title, [r + [""] * (width - len(r)) for r in rows]))
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise InputError(
            [Problem(name, f"not a readable XLSX workbook ({exc.__class__.__name__})")]
        ) from None
    finally:
        book.close()
    if not sheets:
        raise InputError([Problem(name, "file is empty")])
    return sheets


def split_list(text: str) -> list[str]:
    """`"neuro; msk;"` -> `["neuro", "msk"]`: list cells are separated by `;`."""
    return [part.strip() for part in str(text).split(";") if part.strip()]


TRUE_WORDS = {"true", "yes", "y", "1", "\u2713", "\u2714", "\u2611"}  # ✓ ✔ ☑
FALSE_WORDS = {"false", "no", "n", "0", "\u2717", "\u2718", "\u2612"}  # ✗ ✘ ☒


def parse_bool(text: str) -> bool | None:
    """true/false, yes/no, y/n, 1/0 in any case, or a tick (✓) or cross (✗); '' is unknown
    (None). Raises ValueError otherwise."""
    t = str(text).strip().lower()
    if t == "":
        return None
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise ValueError(f"expected true/false, yes/no or 1/0, got '{text}'")
