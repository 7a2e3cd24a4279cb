"""What a cohort run writes beside the applicants' folders: manifest.csv, the advisor's
overview (notebooks/04-cohort.ipynb run on the finished folder) and index.html."""

from __future__ import annotations

import contextlib
import csv
import io
import threading
from pathlib import Path

import nbformat

from .config import NOTEBOOKS_DIR, ROOT
from .execution import DEFAULT_TIMEOUT, Result, describe_failure, run_papermill
from .outputs import write_atomic
from .warmkernel import KernelStartError, WarmKernels

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


class OverviewKernel:
    """The overview's kernel, made ready in the background while the applicants run, so the
    cohort's last step does not wait for a kernel parent to import the kit."""

    def __init__(self) -> None:
        self.kernels = WarmKernels(ROOT)
        self._thread = threading.Thread(target=self._prepare, name="awayplan-overview-kernel", daemon=True)
        self._thread.start()

    def _prepare(self) -> None:
        with contextlib.suppress(KernelStartError):
            self.kernels.prepare_spare()

    def take(self) -> WarmKernels:
        """The kernels, once the background start is over (the caller closes them)."""
        self._thread.join()
        return self.kernels


def run_overview(out_root: Path, programs_path: Path, ready: OverviewKernel | None = None) -> str:
    """Run notebooks/04-cohort.ipynb on the finished folder; '' when done, else the error."""
    from .overview import write_overview_html

    kernels = ready.take() if ready is not None else WarmKernels(ROOT)
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
        kernels.close()


def write_index(out_root: Path, results: list[Result], overview: bool = True) -> Path:
    """index.html: one row per applicant linking its report (ids and figures only, no names)."""
    from .overview import index_page

    return write_atomic(out_root / "index.html", index_page(results, overview, OVERVIEW_HTML))
