"""Cohorts: many applicants from a CSV/XLSX (one row each) or a folder of YAML profiles.

A problem with the file as a whole (missing, unreadable, no applicant_id column) stops
the run before anything is written. A problem with one row only fails that applicant:
the others still get their reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, Problem, display_path
from .profile import Profile, load_profile, profile_from_mapping
from .tables import read_table

MAX_COHORT_FILES = 100_000
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Entry:
    """One applicant of a cohort: a valid profile, or the problems that stop it."""

    key: str  # applicant_id when known, else a row/file label
    source: str  # "file, row N" or the YAML file
    profile: Profile | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.profile is not None


def load_cohort(path: str | Path) -> list[Entry]:
    """Read a cohort; raises InputError only for problems with the whole file."""
    path = Path(path)
    entries = _from_folder(path) if path.is_dir() else _from_table(path)
    return _mark_duplicates(entries)


def _from_table(path: Path) -> list[Entry]:
    name = display_path(path)
    raw = read_table(path, what="cohort")
    if "applicant_id" not in raw.columns:
        if "program_id" in raw.columns:
            raise InputError(
                [Problem(name, "this looks like a program table, not a cohort (use --programs)")]
            )
        raise InputError([Problem(name, "required column is missing", field="applicant_id")])
    known = set(Profile.model_fields)
    unknown = [c for c in raw.columns if c not in known]
    if unknown:
        raise InputError(
            [
                Problem(name, "unknown column (check the spelling against the profile fields)", field=c)
                for c in unknown
            ]
        )
    entries = []
    for row, values in raw.iterrows():
        data = {k: v for k, v in values.items() if v != ""}
        key = _safe_key(values.get("applicant_id", ""), f"row-{row}")
        try:
            profile = profile_from_mapping(data, name, row=int(row))
            entries.append(Entry(profile.applicant_id, f"{name}, row {row}", profile))
        except InputError as exc:
            entries.append(Entry(str(key), f"{name}, row {row}", None, tuple(exc.problems)))
    return entries


def _from_folder(path: Path) -> list[Entry]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
    if not files:
        raise InputError([Problem(display_path(path), "folder holds no .yaml profiles")])
    if len(files) > MAX_COHORT_FILES:
        raise InputError([Problem(display_path(path), f"more than {MAX_COHORT_FILES} profiles")])
    entries = []
    for file in files:
        try:
            profile = load_profile(file)
            entries.append(Entry(profile.applicant_id, display_path(file), profile))
        except InputError as exc:
            entries.append(
                Entry(_safe_key(file.stem, file.stem), display_path(file), None, tuple(exc.problems))
            )
    return entries


def _safe_key(value: str, fallback: str) -> str:
    """The label of a failed entry: its id when that is a valid id, else a harmless stand-in,
    so that a rejected '../x' never names anything on disk, even in a manifest row."""
    for candidate in (value.strip(), fallback):
        if SAFE_ID.fullmatch(candidate):
            return candidate
    return re.sub(r"[^A-Za-z0-9_-]", "_", fallback)[:64] or "unnamed"


def _mark_duplicates(entries: list[Entry]) -> list[Entry]:
    """Ids must be unique ignoring case: on macOS and Windows 'Amina' and 'amina' would share
    one report folder, and one report would replace the other."""
    seen: dict[str, str] = {}
    out = []
    for e in entries:
        folded = e.key.casefold()
        if e.ok and folded in seen:
            file, _, rest = e.source.partition(", ")
            problem = Problem(
                file,
                f"duplicate applicant_id '{e.key}' (first in {seen[folded]}; ids must differ in more than case)",
                row=int(rest.removeprefix("row ")) if rest.startswith("row ") else None,
                field="applicant_id",
            )
            out.append(Entry(e.key, e.source, None, (problem,)))
            continue
        if e.ok:
            seen[folded] = e.source
        out.append(e)
    return out
