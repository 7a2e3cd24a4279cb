"""Program tables as advisors keep them: headers, states and cell spellings recognised.

An advisor's sheet says "Program Name", "State" = "New York", "J-1 sponsor?" = "Yes" and
"$1,200", has no id column, and may keep a note sheet first. This module decides which
column is which kit field (ignoring case, spaces and punctuation, with the synonyms below,
or an explicit mapping file), turns state names into two-letter codes, and gives each row
without an id a stable one. It reads text only: typing and checking stay in `programs.py`.
The synonyms are listed for users in data/README.md.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .errors import InputError, Problem, display_path
from .tables import first_filled_row, frame_from_rows, read_sheets

# Kit field -> header spellings (compared after `header_key`). Earlier groups win when two
# columns claim one field: a "Program Code" beats an "ACGME ID" for program_id.
SYNONYMS: dict[str, list[tuple[str, ...]]] = {
    "program_id": [
        ("program_id", "id", "program code", "nrmp code", "nrmp program code", "nrmp id", "code"),
        ("acgme id", "acgme program id", "acgme code", "acgme number", "acgme program number"),
    ],
    "name": [
        ("name", "program name", "program", "residency program", "program title"),
        ("institution", "hospital", "sponsoring institution", "institution name"),
    ],
    "state": [("state", "st", "program state", "state province", "location state")],
    "city": [("city", "program city", "town", "location city")],
    "setting": [("setting", "program setting", "program type", "type", "academic community")],
    "positions": [
        (
            "positions",
            "number of positions",
            "# positions",
            "positions offered",
            "positions per year",
            "dr positions",
            "pgy2 positions",
            "spots",
            "quota",
            "seats",
        )
    ],
    "research_strength": [("research_strength", "research", "research level", "research output")],
    "nci_cancer_center": [
        ("nci_cancer_center", "nci", "nci cancer centre", "nci designated", "nci designated cancer center")
    ],
    "fellowships": [("fellowships", "number of fellowships", "# fellowships", "fellowships offered")],
    "img_share_pct": [("img_share_pct", "img share", "% imgs", "imgs %", "img percent", "percent imgs")],
    "non_us_img_recent": [
        (
            "non_us_img_recent",
            "non-us imgs matched",
            "non-us imgs last 5 years",
            "non-us imgs (5 years)",
            "non-us imgs matched in 5 years",
            "recent non-us imgs",
        )
    ],
    "considers_imgs": [
        (
            "considers_imgs",
            "considers imgs",
            "accepts imgs",
            "takes imgs",
            "img friendly",
            "imgs considered",
        )
    ],
    "sponsors_j1": [("sponsors_j1", "j-1", "j-1 sponsor", "j-1 visa", "j-1 sponsorship", "accepts j-1")],
    "sponsors_h1b": [
        (
            "sponsors_h1b",
            "h-1b",
            "h-1b sponsor",
            "h-1b visa",
            "h-1b sponsorship",
            "sponsors h1",
        )
    ],
    "visiting_students": [
        (
            "visiting_students",
            "visiting student route",
            "visiting students",
            "visiting student policy",
            "away rotations",
            "visiting rotations",
            "how to apply for an elective",
        )
    ],
    "requires_step1": [("requires_step1", "step 1 required", "needs step 1")],
    "requires_lcme": [
        (
            "requires_lcme",
            "lcme only",
            "lcme/aoa only",
            "lcme required",
            "lcme/aoa required",
            "requires lcme/aoa",
        )
    ],
    "requires_affiliation": [
        (
            "requires_affiliation",
            "affiliation required",
            "affiliation agreement required",
            "needs affiliation",
        )
    ],
    "host_fee_usd": [
        ("host_fee_usd", "host fee", "rotation fee", "elective fee", "visiting student fee", "visiting fee")
    ],
    "non_lcme_surcharge_usd": [
        (
            "non_lcme_surcharge_usd",
            "non-lcme surcharge",
            "surcharge",
            "international student fee",
            "img surcharge",
        )
    ],
    "housing_month_usd": [
        (
            "housing_month_usd",
            "housing",
            "housing per month",
            "housing cost",
            "monthly housing",
            "rent per month",
        )
    ],
    "application_lead_weeks": [
        ("application_lead_weeks", "lead time", "lead time (weeks)", "apply weeks ahead", "weeks notice")
    ],
    "rotation_months": [("rotation_months", "months", "rotation months", "available months", "months open")],
    "step2_typical": [
        (
            "step2_typical",
            "typical step 2",
            "typical step 2 ck",
            "average step 2",
            "average step 2 ck",
            "mean step 2",
        )
    ],
    "step2_min": [
        (
            "step2_min",
            "minimum step 2",
            "minimum step 2 ck",
            "step 2 cutoff",
            "step 2 ck cutoff",
            "step 2 minimum",
        )
    ],
    "subspecialties": [("subspecialties", "subspecialty", "strengths", "subspecialty strengths")],
    "source_url": [("source_url", "source", "url", "website", "program website", "link")],
    "verified_on": [
        ("verified_on", "verified", "last verified", "date verified", "last checked", "checked on")
    ],
}

REQUIRED_FIELDS = ("name", "state")  # program_id may be made from these two

STATE_NAMES = {
    "AL": ("alabama", "ala"),
    "AK": ("alaska",),
    "AZ": ("arizona", "ariz"),
    "AR": ("arkansas", "ark"),
    "CA": ("california", "calif", "cal"),
    "CO": ("colorado", "colo"),
    "CT": ("connecticut", "conn"),
    "DE": ("delaware", "del"),
    "DC": ("district of columbia", "washington dc", "d.c."),
    "FL": ("florida", "fla"),
    "GA": ("georgia",),
    "HI": ("hawaii",),
    "ID": ("idaho",),
    "IL": ("illinois", "ill"),
    "IN": ("indiana", "ind"),
    "IA": ("iowa",),
    "KS": ("kansas", "kan", "kans"),
    "KY": ("kentucky",),
    "LA": ("louisiana",),
    "ME": ("maine",),
    "MD": ("maryland",),
    "MA": ("massachusetts", "mass"),
    "MI": ("michigan", "mich"),
    "MN": ("minnesota", "minn"),
    "MS": ("mississippi", "miss"),
    "MO": ("missouri",),
    "MT": ("montana", "mont"),
    "NE": ("nebraska", "neb", "nebr"),
    "NV": ("nevada", "nev"),
    "NH": ("new hampshire",),
    "NJ": ("new jersey",),
    "NM": ("new mexico",),
    "NY": ("new york",),
    "NC": ("north carolina",),
    "ND": ("north dakota",),
    "OH": ("ohio",),
    "OK": ("oklahoma", "okla"),
    "OR": ("oregon", "ore", "oreg"),
    "PA": ("pennsylvania", "penn", "penna"),
    "PR": ("puerto rico",),
    "RI": ("rhode island",),
    "SC": ("south carolina",),
    "SD": ("south dakota",),
    "TN": ("tennessee", "tenn"),
    "TX": ("texas", "tex"),
    "UT": ("utah",),
    "VT": ("vermont",),
    "VA": ("virginia",),
    "WA": ("washington", "wash"),
    "WV": ("west virginia", "w va", "w. va."),
    "WI": ("wisconsin", "wis", "wisc"),
    "WY": ("wyoming", "wyo"),
}


def header_key(text: object) -> str:
    """'J-1 sponsor?' -> 'j1sponsor': lower case, accents, spaces and punctuation dropped;
    '%' reads as 'pct' and '#' as 'number', so '% IMGs' and 'IMGs' stay different."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    t = t.replace("%", " pct ").replace("#", " number ")
    return re.sub(r"[^a-z0-9]+", "", t)


def _key_variants(field: str, spelling: str) -> set[str]:
    key = header_key(spelling)
    keys = {key}
    if key.endswith("s") and len(key) > 3:
        keys.add(key[:-1])  # "IMG" as well as "IMGs"
    if field.endswith("_usd"):
        keys |= {key + "usd", key + "dollar", key + "dollars"}
    return keys


def _synonym_table() -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {}
    for kit_field, groups in SYNONYMS.items():
        for rank, group in enumerate(groups):
            for spelling in group:
                for key in _key_variants(kit_field, spelling):
                    if key in table and table[key][0] != kit_field:
                        raise ValueError(f"header spelling {spelling!r} means two fields")
                    table.setdefault(key, (kit_field, rank))
    return table


HEADER_KEYS = _synonym_table()
STATE_KEYS = {header_key(code): code for code in STATE_NAMES} | {
    header_key(name): code for code, names in STATE_NAMES.items() for name in names
}


def parse_state(text: str) -> str:
    """'New York', 'N.Y.', 'ny' -> 'NY'. Raises ValueError for anything else."""
    code = STATE_KEYS.get(header_key(text))
    if code is None:
        raise ValueError(f"must be a US state: a two-letter code or its name (got '{text}')")
    return code


def make_program_id(name: str, state: str) -> str:
    """A stable id from name and state: 'albany-medical-center-ny-3f9a1c'. Each word of the
    name is lower-cased without accents or punctuation; the id is those words joined by '-'
    (at most 40 characters), the state, and the first 6 hex digits of the SHA-1 of
    'words joined by spaces|STATE'. Same name and state, same id, in every run and copy."""
    words = [w for w in (header_key(part) for part in str(name).split()) if w]
    digest = hashlib.sha1(f"{' '.join(words)}|{state.upper()}".encode()).hexdigest()[:6]
    slug = "-".join(words)[:40].strip("-") or "program"
    return f"{slug}-{state.lower()}-{digest}"


NRMP_TRACKS = {"C": "categorical", "A": "advanced", "P": "preliminary", "R": "reserved"}
NRMP_CODE = re.compile(r"\d{7}([CAPR])\d")  # e.g. 1234420C0: institution, specialty, track, number


def nrmp_track(program_id: object) -> str | None:
    """The track an NRMP program code's letter names (C categorical, A advanced, P
    preliminary, R reserved for physicians), or None when the id is not an NRMP code."""
    match = NRMP_CODE.fullmatch(str(program_id).strip().upper())
    return NRMP_TRACKS[match.group(1)] if match else None


@dataclass
class Mapping:
    """What header recognition did to one sheet: shown by `awayplan validate`."""

    file: str
    sheet: str = ""
    header_row: int = 1
    applied: list[tuple[str, str]] = field(default_factory=list)  # (header as typed, kit field)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (header, why)
    generated_ids: int = 0
    example_id: str = ""
    explicit: str = ""  # the mapping file, when one was given

    def lines(self) -> list[str]:
        """The mapping as `awayplan validate` prints it, indented under the file's ok line."""
        where = f"sheet '{self.sheet}', " if self.sheet else ""
        how = f", columns from {self.explicit}" if self.explicit else ""
        out = [f"  mapping: {where}header in row {self.header_row}{how}"]
        same = [kit_field for header, kit_field in self.applied if header == kit_field]
        out += [f"  {header!r} -> {kit_field}" for header, kit_field in self.applied if header != kit_field]
        if same:
            out.append(f"  kit names as they are: {', '.join(same)}")
        out += [f"  {header!r} ignored ({why})" for header, why in self.ignored]
        if self.generated_ids:
            out.append(
                f"  program_id made from name and state for {self.generated_ids} row(s), "
                f"e.g. {self.example_id!r} (stable across runs)"
            )
        return out


IGNORE = "ignore"


def load_column_map(path: str | Path) -> dict[str, str]:
    """An explicit mapping file (YAML): `header as typed: kit_field` per line, or `header:
    ignore` to leave a column out. Returns header key (see `header_key`) -> field or 'ignore'."""
    path = Path(path)
    name = display_path(path)
    if not path.is_file():
        raise InputError([Problem(name, "column mapping file not found")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Problem(name, f"not a readable YAML mapping ({exc.__class__.__name__})")]) from None
    if isinstance(data, dict) and set(data) == {"columns"}:
        data = data["columns"]
    if not isinstance(data, dict) or not data:
        raise InputError([Problem(name, "expected lines like `Program Name: name` (header: kit field)")])
    out: dict[str, str] = {}
    problems = []
    for key, value in data.items():
        value = IGNORE if value is None else str(value).strip()
        if value not in SYNONYMS and value != IGNORE:
            problems.append(
                Problem(
                    name,
                    f"'{key}: {value}' names no kit field (use one of {', '.join(SYNONYMS)}, or 'ignore')",
                )
            )
        out[header_key(key)] = value
    if problems:
        raise InputError(problems)
    return out


def _recognise(headers: list[str], column_map: dict[str, str] | None = None) -> dict[int, tuple[str, int]]:
    """Column position -> (kit field, rank) for every header the mapping file or the
    synonyms know; the mapping file wins (rank -1) and may ignore a column."""
    found = {}
    for j, h in enumerate(headers):
        key = header_key(h)
        if column_map and key in column_map:
            if column_map[key] != IGNORE:
                found[j] = (column_map[key], -1)
            continue
        hit = HEADER_KEYS.get(key)
        if hit:
            found[j] = hit
    return found


def _is_header(cells: list[str], column_map: dict[str, str] | None) -> bool:
    fields = {f for f, _ in _recognise(cells, column_map).values()}
    return "name" in fields and ("state" in fields or len(fields) >= 3)


MAX_NOTE_ROWS = 20  # a note above the header: look this far down for it


def _find_header(rows: list[list[str]], column_map: dict[str, str] | None) -> int | None:
    first = first_filled_row(rows)
    if first is None:
        return None
    for i in range(first, min(len(rows), first + MAX_NOTE_ROWS)):
        if _is_header(rows[i], column_map):
            return i
    return None


def choose_sheet(
    sheets: list[tuple[str, list[list[str]]]], file: str, column_map: dict[str, str] | None = None
) -> tuple[str, list[list[str]], int]:
    """The sheet that holds the programs and its header row position: the only sheet; else a
    sheet named like 'programs'; else the only sheet with a recognisable header."""
    if len(sheets) == 1:
        title, rows = sheets[0]
        at = _find_header(rows, column_map)
        if at is None:
            at = first_filled_row(rows)  # let the column checks name what is missing
            if at is None:
                raise InputError([Problem(file, "file is empty")])
        return title, rows, at
    for title, rows in sheets:
        if "program" in header_key(title):
            at = _find_header(rows, column_map)
            if at is not None:
                return title, rows, at
    with_header = [(t, r, at) for t, r in sheets if (at := _find_header(r, column_map)) is not None]
    if len(with_header) == 1:
        return with_header[0]
    listing = ", ".join(f"'{t}'" for t, _ in sheets)
    why = "several sheets look" if with_header else "no sheet looks"
    raise InputError(
        [
            Problem(
                file,
                f"{why} like the program table (sheets: {listing}); name the sheet to read "
                "'programs', or give its headers in a --columns mapping file",
            )
        ]
    )


def _rename(
    raw: pd.DataFrame, file: str, column_map: dict[str, str] | None
) -> tuple[pd.DataFrame, list[tuple[str, str]], list[tuple[str, str]]]:
    headers = [str(c) for c in raw.columns]
    found = _recognise(headers, column_map)
    claims: dict[str, list[tuple[int, int]]] = {}
    ignored: list[tuple[int, str]] = []
    for j, h in enumerate(headers):
        if j in found:
            kit_field, rank = found[j]
            claims.setdefault(kit_field, []).append((j, rank))
        elif column_map and header_key(h) in column_map:
            ignored.append((j, "the mapping file says ignore"))
        else:
            ignored.append((j, "no kit field has this name"))
    chosen: dict[int, str] = {}
    problems = []
    for kit_field, cols in claims.items():
        best = min(rank for _, rank in cols)
        winners = [j for j, rank in cols if rank == best]
        if len(winners) > 1:
            names = " and ".join(f"'{headers[j]}'" for j in winners)
            problems.append(
                Problem(
                    file,
                    f"columns {names} both read as '{kit_field}'; rename one, or say which in a --columns mapping file",
                    field=kit_field,
                )
            )
            continue
        chosen[winners[0]] = kit_field
        ignored += [
            (j, f"'{headers[winners[0]]}' already gives {kit_field}") for j, rank in cols if rank != best
        ]
    if problems:
        raise InputError(problems)
    order = sorted(chosen)
    names = [chosen[j] for j in order]
    # ignored columns ride along under their own header (the kit does not read them, and
    # merge-answers writes them back), unless that header is a kit field or taken
    for j, _ in sorted(ignored):
        if headers[j] not in SYNONYMS and headers[j] not in names:
            order.append(j)
            names.append(headers[j])
    frame = raw.iloc[:, order].copy()
    frame.columns = names
    applied = [(headers[j], chosen[j]) for j in sorted(chosen)]
    return frame, applied, [(headers[j], why) for j, why in sorted(ignored)]


def read_advisor_table(
    path: str | Path, columns: str | Path | None = None, what: str = "program table"
) -> tuple[pd.DataFrame, Mapping]:
    """A program table as text with kit column names, whatever its headers: the frame's
    index is the spreadsheet row; the Mapping says what was recognised and ignored.

    `columns` names an explicit mapping file; without it a sibling `<stem>.columns.yaml`
    is used when present, else the synonyms.
    """
    path = Path(path)
    file = display_path(path)
    mapping_file = Path(columns) if columns else path.with_name(f"{path.stem}.columns.yaml")
    column_map = load_column_map(mapping_file) if (columns or mapping_file.is_file()) else None
    sheets = read_sheets(path, what)
    title, rows, at = choose_sheet(sheets, file, column_map)
    raw = frame_from_rows(rows, file, header_at=at, normalise=False)
    frame, applied, ignored = _rename(raw, file, column_map)
    mapping = Mapping(
        file=file,
        sheet=title,
        header_row=at + 1,
        applied=applied,
        ignored=ignored,
        explicit=display_path(mapping_file) if column_map is not None else "",
    )
    return frame, mapping
