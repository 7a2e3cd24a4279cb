"""Small synthetic fixtures: profiles and program tables built in code, nothing personal."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.analysis import Analysis, analyse
from helpers.config import DEFAULT_PROGRAMS
from helpers.profile import Profile
from helpers.programs import OPTIONAL, load_programs, parse_programs

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

BASE_PROFILE = {
    "applicant_id": "t-1",
    "visa_needed": "j1",
    "school_status": "student",
    "step1": "pass",
    "step2_ck": 250,
    "budget_usd": 8000,
    "application_cycle": 2027,
    "plan_date": dt.date(2026, 12, 1),
}

# A program that is open on every count: each test changes only what it is about.
OPEN_PROGRAM = {
    "program_id": "A",
    "name": "Open Test Hospital",
    "state": "OH",
    "setting": "hybrid",
    "positions": "6",
    "research_strength": "medium",
    "nci_cancer_center": "false",
    "fellowships": "2",
    "img_share_pct": "20",
    "non_us_img_recent": "3",
    "considers_imgs": "true",
    "sponsors_j1": "true",
    "sponsors_h1b": "true",
    "visiting_students": "vslo",
    "requires_step1": "false",
    "requires_lcme": "false",
    "requires_affiliation": "false",
    "host_fee_usd": "200",
    "non_lcme_surcharge_usd": "0",
    "housing_month_usd": "1000",
    "application_lead_weeks": "16",
    "rotation_months": "4-9",
    "step2_typical": "245",
    "step2_min": "",
    "subspecialties": "neuro;body",
}


def make_profile(**changes) -> Profile:
    data = {**BASE_PROFILE, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return Profile.model_validate(data)


def make_programs(*rows: dict) -> pd.DataFrame:
    """A typed program table from dicts of text cells (missing keys = blank). The same rows
    are parsed once per session (many tests build the same few tables); each caller gets
    its own copy."""
    return _parsed_programs(tuple(tuple((k, str(v)) for k, v in row.items()) for row in rows)).copy()


@functools.cache
def _parsed_programs(rows: tuple[tuple[tuple[str, str], ...], ...]) -> pd.DataFrame:
    records = []
    for i, row in enumerate(rows):
        rec = {**OPEN_PROGRAM, "program_id": f"P{i}", "name": f"Test Hospital {i}", **dict(row)}
        records.append({k: str(v) for k, v in rec.items()})
    cols = [
        "program_id",
        "name",
        "state",
        *[c for c in OPTIONAL if c not in ("city", "source_url", "verified_on")],
    ]
    frame = pd.DataFrame(records, columns=cols).fillna("")
    frame.index = range(2, 2 + len(frame))
    return parse_programs(frame, "test.csv")


@pytest.fixture
def profile() -> Profile:
    return make_profile()


@functools.cache
def _bundled() -> pd.DataFrame:
    return load_programs(DEFAULT_PROGRAMS)


def bundled_programs() -> pd.DataFrame:
    """The bundled program table (data/programs.csv), read and checked once per session;
    every caller gets its own copy (the kit itself keeps tables it has read by content,
    programs.load_programs). test_programs.py reads the file itself."""
    return _bundled().copy()


_ANALYSES: dict[str, Analysis] = {}


def analysed(profile: Profile) -> Analysis:
    """analyse(profile, the bundled table), made once per session for an equal profile:
    many modules analyse the same few profiles on the 200 programs (about half a second
    each). The same object goes to every caller, so only tests that read it use this;
    tests about the analysis call itself (caches, determinism) call analyse()."""
    key = profile.model_dump_json()
    if key not in _ANALYSES:
        _ANALYSES[key] = analyse(profile, _bundled())
    return _ANALYSES[key]


def awayplan(*args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the installed command line tool as a user would."""
    exe = shutil.which("awayplan", path=str(BIN)) or str(BIN / "awayplan")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout, env=env
    )


@pytest.fixture(scope="session")
def example_reports(tmp_path_factory) -> Path:
    """The example cohort's reports, made once per session for every module that reads them."""
    out = tmp_path_factory.mktemp("example-reports")
    timings = example_timings_path(out)
    res = awayplan(
        "report",
        "--cohort",
        str(ROOT / "data" / "example-cohort"),
        "--out",
        str(out),
        "--no-pdf",
        "--timings",
        str(timings),
    )
    assert res.returncode == 0, res.stderr
    return out


def example_timings_path(example_reports: Path) -> Path:
    """Where the example run's `--timings` CSV goes (beside the reports, not among them)."""
    return example_reports.with_name(f"{example_reports.name}-timings.csv")
