"""What a cohort run writes beside the applicants' folders: manifest.csv, the advisor's
overview (notebooks/04-cohort.ipynb run on the finished folder) and index.html."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import nbformat

from .config import NOTEBOOKS_DIR, ROOT
from .execution import DEFAULT_TIMEOUT, Result, describe_failure, run_papermill, worker_runner
from .outputs import write_atomic
from .warmkernel import WarmKernels

MANIFEST_FIELDS = ("applicant_id", "status", "seconds", "error")
OVERVIEW_NOTEBOOK = "04-cohort.ipynb"
OVERVIEW_HTML = "overview.html"


def write_manifest(out_root: Path, results: list[Result]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow(
            {
                "applicant_id": r.applicant_id,
                "status": r.status,
                "seconds": f"{r.seconds:.2f}",
                "error": r.error,
            }
        )
    return write_atomic(out_root / "manifest.csv", buf.getvalue())


def run_overview(
    out_root: Path, programs_path: Path, kernels: WarmKernels | None = None, shared: str | None = None
) -> str:
    """Run notebooks/04-cohort.ipynb on the finished folder; '' when done, else the error.

    With `kernels` (a worker's warm kernels, see `cohort_pages_job`) the notebook runs in a
    kernel forked from that worker's zygote, which is left running; without, kernels are set
    up for this one notebook and closed after it: from the shared zygote at `shared`
    (SharedZygoteServer.address) when given, else from a zygote started for it."""
    from .overview import write_overview_html

    own = kernels is None
    kernels = kernels or WarmKernels(ROOT, shared)
    km = None
    try:
        nb = nbformat.read(NOTEBOOKS_DIR / OVERVIEW_NOTEBOOK, as_version=4)
        km = kernels.start()
        params = {"reports_dir": str(out_root), "programs_path": str(programs_path)}
        nb = run_papermill(nb, params, km, DEFAULT_TIMEOUT)
        write_atomic(out_root / OVERVIEW_NOTEBOOK, nbformat.writes(nb))
        write_overview_html(out_root / OVERVIEW_HTML, nb)
        return ""
    except Exception as exc:
        return describe_failure(exc)
    finally:
        if km is not None:
            kernels.stop(km)
        if own:
            kernels.close()


def cohort_pages(
    out_root: Path,
    programs_path: Path,
    results: list[Result],
    overview: bool = True,
    kernels=None,
    shared: str | None = None,
) -> tuple[str, dict[str, float]]:
    """The overview (when asked for) and index.html; returns the overview's error ('' when
    done) and the seconds each took. `kernels` and `shared` are as for `run_overview`."""
    from .stages import Clock

    clock = Clock()
    error = ""
    if overview:
        with clock("overview"):
            error = run_overview(out_root, programs_path, kernels, shared)
    with clock("manifest and index"):
        write_index(out_root, results, overview=overview and not error)
    return error, clock.seconds


def cohort_pages_job(
    out_root: Path, programs_path: Path, results: list[Result], overview: bool = True
) -> tuple[str, dict[str, float]]:
    """`cohort_pages` as a task for a worker that has just built applicants: its zygote,
    spare kernel and report exporter are warm and the page modules imported, so the cohort's
    last step starts at once instead of importing the kit again in another process."""
    with worker_runner().exclusive() as runner:
        return cohort_pages(out_root, programs_path, results, overview, runner.kernels)


def write_index(out_root: Path, results: list[Result], overview: bool = True) -> Path:
    """index.html: one row per applicant linking its report (ids and figures only, no names)."""
    from .overview import index_page

    return write_atomic(out_root / "index.html", index_page(results, overview, OVERVIEW_HTML))
