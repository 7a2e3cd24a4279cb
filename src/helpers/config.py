"""Paths the kit uses, in one place, so notebooks and the command line agree."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
FACTS_DIR = DATA_DIR / "facts"
ASSUMPTIONS_FILE = DATA_DIR / "assumptions.yaml"
DEFAULT_PROGRAMS = DATA_DIR / "programs.csv"
EXAMPLE_COHORT = DATA_DIR / "example-cohort"
EXAMPLE_PROFILE = EXAMPLE_COHORT / "ex01-j1-student.yaml"
NOTEBOOKS_DIR = ROOT / "notebooks"
REPORTS_DIR = ROOT / "reports"
ANALYSIS_NOTEBOOKS = ("01-tiering.ipynb", "02-budget.ipynb", "03-timing.ipynb")


def resolve(path: str | Path) -> Path:
    """Resolve a user path: as given (relative to the working folder), else relative to the
    project root, so notebook defaults work from JupyterLab, papermill and the CLI alike."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    alt = ROOT / p
    return alt if alt.exists() else p
