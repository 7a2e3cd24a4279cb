"""What the analysis notebooks call first and last: load inputs, save machine outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
    """Load the inputs and analyse them: the first code cell of every analysis notebook."""
    from .plots import enable_display

    enable_display()
    profile, programs = load(profile_path, programs_path)
    return analyse(profile, programs)


def save(a: Analysis, out_dir: str | Path | None) -> list[Path]:
    """Write summary.json and plan.ics into out_dir (nothing when out_dir is None)."""
    if not out_dir:
        return []
    out = Path(out_dir)
    ics = to_ics(a.profile.applicant_id, a.steps, a.plan_date)
    return [write_summary(a, out), write_atomic(out / "plan.ics", ics)]
