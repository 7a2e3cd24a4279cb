"""What the analysis notebooks call first and last: load inputs, save machine outputs."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pandas as pd

from . import stages
from .analysis import Analysis, analyse
from .config import resolve
from .outputs import write_atomic
from .profile import Profile, load_profile
from .programs import load_programs
from .summary import write_summary
from .timeline import to_ics


def load(profile_path: str | Path, programs_path: str | Path) -> tuple[Profile, pd.DataFrame]:
    """Profile and program table from paths (relative to here or to the project root)."""
    return load_profile(resolve(profile_path)), load_programs(resolve(programs_path))


def run(profile_path: str | Path, programs_path: str | Path) -> Analysis:
    """Load the inputs and analyse them: the first code cell of every analysis notebook.

    The three notebooks of one report run in one kernel, so the analysis is kept for the
    same files (same path, size and modification time, same day): a changed file is read
    again. Batch runs give every applicant a fresh kernel, so nothing crosses applicants.
    """
    from .plots import enable_display

    enable_display()
    return _analysis(_signature(profile_path), _signature(programs_path), dt.date.today())


def _signature(path: str | Path) -> tuple[str, int, int]:
    p = resolve(path)
    try:
        st = p.stat()
    except OSError:  # let the loader report the missing file in its own words
        return (str(p), -1, -1)
    return (str(p.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=1)
def _analysis(profile_sig: tuple, programs_sig: tuple, today: dt.date) -> Analysis:
    with stages.timed("load inputs"):
        profile, programs = load(profile_sig[0], programs_sig[0])
    with stages.timed("analysis"):
        return analyse(profile, programs, today=today)


def save_outputs(profile_path: str | Path, programs_path: str | Path, out_dir: str | Path) -> list[Path]:
    """summary.json, plan.ics and the program list for these inputs: what a batch run calls in the applicant's
    kernel once the notebooks are done (the analysis they showed is reused, not recomputed)."""
    return save(run(profile_path, programs_path), out_dir)


def save(a: Analysis, out_dir: str | Path | None) -> list[Path]:
    """Write summary.json, plan.ics and the full program list (programs.csv, programs.xlsx)
    into out_dir (nothing when out_dir is None)."""
    if not out_dir:
        return []
    from .views import save_program_list

    out = Path(out_dir)
    with stages.timed("outputs"):
        ics = to_ics(a.profile.applicant_id, a.steps, a.plan_date)
        return [write_summary(a, out), write_atomic(out / "plan.ics", ics), *save_program_list(a, out)]
