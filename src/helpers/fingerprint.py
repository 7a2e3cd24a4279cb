"""What decides whether an applicant's finished folder can be kept on a rerun (resume).

A folder is kept when it was made from the same inputs, the fingerprint written beside it
in inputs.sha256: the program table, the notebooks, the facts and assumptions, the kit's
code and version, the installed versions of the packages that shape a report, and the
applicant's normalised profile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from . import __version__
from .config import ANALYSIS_NOTEBOOKS, ASSUMPTIONS_FILE, FACTS_DIR
from .profile import Profile, profile_to_yaml
from .programs import companion_files

INPUTS_FILE = "inputs.sha256"
REPORT_FILES = (
    "report.html",
    "summary.json",
    "plan.ics",
    "programs.csv",
    "programs.xlsx",
    *ANALYSIS_NOTEBOOKS,
)
# Packages whose version can change a report's figures, tables or pages: an upgrade of any
# of them makes every report "changed". Python's own version counts too.
REPORT_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "pandera",
    "pydantic",
    "PyYAML",
    "openpyxl",
    "icalendar",
    "ipykernel",
    "ipython",
    "nbformat",
    "nbclient",
    "nbconvert",
    "papermill",
    "jinja2",
    "mistune",
    "pygments",
)


def package_versions(names: Sequence[str] = REPORT_PACKAGES) -> dict[str, str]:
    """Installed version of each package ('' when it is not installed)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def shared_inputs(programs_path: Path, notebooks: Sequence[Path], pdf: bool = False) -> str:
    """Digest of what all applicants share: program table, notebooks, data, kit code and
    version, and the versions of the packages that shape a report."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("version", __version__.encode())
    add("packages", json.dumps(package_versions(), sort_keys=True).encode())
    add("pdf", b"1" if pdf else b"0")
    add("programs", Path(programs_path).read_bytes())
    for f in companion_files(programs_path):  # answers' sources, column mapping
        add(f"programs:{f.name}", f.read_bytes())
    for nb in notebooks:
        add(f"notebook:{Path(nb).name}", Path(nb).read_bytes())
    add("assumptions", ASSUMPTIONS_FILE.read_bytes())
    for f in sorted(FACTS_DIR.iterdir()):
        if f.is_file():
            add(f"facts:{f.name}", f.read_bytes())
    code = Path(__file__).parent
    for f in sorted(code.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".css", ".tpl", ".j2") and "__pycache__" not in f.parts:
            add(f"code:{f.relative_to(code)}", f.read_bytes())
    return h.hexdigest()


def applicant_inputs(shared: str, profile: Profile, today: dt.date | None = None) -> str:
    """The fingerprint of one applicant: shared inputs plus the normalised profile.

    A profile without plan_date is planned from today, so its result changes every day.
    """
    h = hashlib.sha256(shared.encode())
    h.update(profile_to_yaml(profile).encode())
    if profile.plan_date is None:
        h.update(f"\0today={today or dt.date.today()}".encode())
    return h.hexdigest()


def complete_summary(folder: Path, inputs: str, pdf: bool = False) -> dict | None:
    """The summary of a finished folder made from the same inputs, else None (must rerun).

    Folders are only ever moved into place whole and every file in them was written
    atomically, so "complete" means: same fingerprint, every file present and non-empty.
    """
    try:
        if (folder / INPUTS_FILE).read_text(encoding="utf-8").strip() != inputs:
            return None
        names = [*REPORT_FILES, *(["report.pdf"] if pdf else [])]
        if any((folder / n).stat().st_size == 0 for n in names):
            return None
        with (folder / "report.html").open("rb") as fh:
            fh.seek(max(0, (folder / "report.html").stat().st_size - 64))
            if b"</html>" not in fh.read():
                return None
        data = json.loads((folder / "summary.json").read_bytes())
        return data if data.get("applicant_id") == folder.name and "programs" in data else None
    except (OSError, ValueError, AttributeError):
        return None
