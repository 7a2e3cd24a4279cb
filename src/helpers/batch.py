"""Running the notebooks for a cohort: in parallel, isolated, resumable.

The parts live in their own modules, re-exported here:
- fingerprint: what makes a finished folder reusable on a rerun (inputs.sha256);
- execution: one applicant in a worker (warm kernel, notebooks, outputs, report, swap);
- backends: worker processes on this machine, or a Dask cluster;
- cohort_outputs: manifest.csv, the advisor's overview and index.html.

This module runs a cohort: one run per output folder at a time, leftovers of a killed run
removed, unchanged applicants kept, the rest submitted with a bounded window, progress
shown, and the cohort outputs written at the end. One applicant's failure is recorded and
never stops the others.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .backends import DaskBackend, LocalBackend, connect_scheduler, default_workers
from .cohort import Entry
from .cohort_outputs import (
    MANIFEST_FIELDS,
    OVERVIEW_HTML,
    OVERVIEW_NOTEBOOK,
    cohort_pages,
    cohort_pages_job,
    run_overview,
    write_index,
    write_manifest,
)
from .execution import (
    _RUNNERS,
    DEFAULT_TIMEOUT,
    STAGING,
    ApplicantTimeout,
    Job,
    Result,
    Runner,
    describe_failure,
    execute_notebooks,
    index_row,
    run_applicant,
    run_job,
    run_papermill,
    worker_runner,
)
from .fingerprint import (
    INPUTS_FILE,
    REPORT_FILES,
    applicant_inputs,
    complete_summary,
    package_versions,
    shared_inputs,
)
from .warmkernel import SharedZygoteServer

__all__ = [
    "DEFAULT_TIMEOUT",
    "INPUTS_FILE",
    "LOCK_FILE",
    "MANIFEST_FIELDS",
    "OVERVIEW_HTML",
    "OVERVIEW_NOTEBOOK",
    "REPORT_FILES",
    "STAGING",
    "_RUNNERS",
    "ApplicantTimeout",
    "CohortRun",
    "DaskBackend",
    "Job",
    "LocalBackend",
    "Result",
    "Runner",
    "applicant_inputs",
    "complete_summary",
    "connect_scheduler",
    "default_workers",
    "describe_failure",
    "execute_notebooks",
    "index_row",
    "package_versions",
    "run_applicant",
    "run_cohort",
    "run_job",
    "cohort_pages",
    "cohort_pages_job",
    "run_overview",
    "run_papermill",
    "shared_inputs",
    "worker_runner",
    "write_index",
    "write_manifest",
]

LOCK_FILE = ".awayplan.lock"


@dataclass
class CohortRun:
    """The outcome of a cohort run, in cohort order."""

    results: list[Result]
    overview_error: str = ""
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.overview_error and all(r.status == "ok" for r in self.results)


@contextlib.contextmanager
def _exclusive(out_root: Path):
    """One run at a time per output folder (a second would delete the first's staging).

    The lock file goes when the run ends, interrupted or not, so a finished run leaves
    only its reports. It is removed while still locked; a run that opened it just before
    then finds it gone once it has the lock, and locks a new file in the folder instead."""
    from .errors import InputError, Problem, display_path

    path = out_root / LOCK_FILE
    while True:
        fh = path.open("a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise InputError(
                [Problem(display_path(out_root), "another awayplan run is writing to this folder")]
            ) from None
        try:
            current = os.path.samestat(os.stat(path), os.fstat(fh.fileno()))
        except FileNotFoundError:
            current = False
        if current:
            break
        fh.close()  # the file of a run that has just ended: lock the folder's own
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fh.close()


def _clean_leftovers(out_root: Path) -> None:
    """Remove what a killed run left: staging folders and half-swapped old folders."""
    shutil.rmtree(out_root / STAGING, ignore_errors=True)
    for p in out_root.glob(".*.old-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def run_cohort(
    entries: list[Entry],
    programs_path: Path,
    out_root: Path,
    *,
    pdf: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    backend=None,
    timeout: float = DEFAULT_TIMEOUT,
    force: bool = False,
    notebooks: Sequence[Path] | None = None,
    progress: bool | Callable[[Result], None] = False,
    overview: bool = True,
    timings: Path | None = None,
    zygote: SharedZygoteServer | None = None,
) -> CohortRun:
    """Every valid entry on the workers; invalid rows become failed results with their problem.

    Writes manifest.csv, the cohort overview (04-cohort) and index.html at the end; with
    `timings`, a CSV of the seconds each applicant spent in each stage (stages.ORDER) and
    the cohort's own stages (overview, index). Local workers share one zygote: `zygote`
    (started early by the caller, who closes it), or one started here and closed once the
    workers have exited. With nothing to rebuild, the overview runs in this process, its
    kernel from `zygote` when given.
    """
    notebooks = tuple(notebooks or Job.__dataclass_fields__["notebooks"].default)
    out_root = Path(out_root)
    with contextlib.ExitStack() as owned:  # the Dask client this run opens, if it does
        if backend is None and scheduler:  # connected before anything is written
            backend = owned.enter_context(contextlib.closing(connect_scheduler(scheduler)))
        out_root.mkdir(parents=True, exist_ok=True)
        with _exclusive(out_root):
            _clean_leftovers(out_root)
            shared = shared_inputs(programs_path, notebooks, pdf)
            today = dt.date.today()
            results: dict[int, Result] = {}  # by position: rejected rows may share a key
            jobs: list[tuple[int, Job]] = []
            bar = _progress_bar(len(entries), progress)
            for i, e in enumerate(entries):
                if not e.ok:
                    results[i] = Result(e.key, "failed", 0.0, "; ".join(str(p) for p in e.problems))
                    bar.update(results[i])
                    continue
                inputs = applicant_inputs(shared, e.profile, today)
                summary = None if force else complete_summary(out_root / e.key, inputs, pdf)
                if summary is not None:  # unchanged since the last run: keep it
                    results[i] = Result(e.key, "ok", 0.0, skipped=True, row=index_row(summary))
                    bar.update(results[i])
                    continue
                jobs.append(
                    (i, Job(e.profile, programs_path, out_root, inputs, pdf, timeout, notebooks, force=True))
                )
            # Closed in reverse order, error or not: the workers exit first (saying goodbye to
            # the zygote on their way out), then the zygote this run started, if it did.
            with contextlib.ExitStack() as closing:
                try:  # the bar's line is ended before anything else is said, Ctrl-C included
                    if backend is None and jobs:
                        server = zygote
                        if server is None:  # the caller's zygote is the caller's to close
                            server = closing.enter_context(contextlib.closing(SharedZygoteServer()))
                        pool = LocalBackend(min(workers or default_workers(), len(jobs)), server.address)
                        backend = closing.enter_context(pool)
                    for i, r in _run_jobs(backend, jobs) if jobs else ():
                        results[i] = r
                        bar.update(r)
                finally:
                    bar.close()
                ordered = [results[i] for i in range(len(entries))]
                write_manifest(out_root, ordered)
                # The overview and index on a worker whose kernels and page modules are warm.
                args = (out_root, programs_path, ordered, overview)
                if backend is not None:
                    overview_error, cohort_seconds = _on_worker(backend, cohort_pages_job, *args)
                else:  # nothing to rebuild: the overview runs here, from the early zygote if any
                    early = zygote.address if zygote is not None else None
                    overview_error, cohort_seconds = cohort_pages(*args, shared=early)
            shutil.rmtree(out_root / STAGING, ignore_errors=True)
            if timings is not None:
                write_timings(Path(timings), ordered, cohort_seconds)
            return CohortRun(ordered, overview_error, bar.counts)


def write_timings(path: Path, results: Sequence[Result], cohort: dict[str, float]) -> Path:
    """applicant_id,stage,seconds for every applicant built in this run (kept ones took no
    time), then the cohort's own stages with an empty applicant_id."""
    from .outputs import write_atomic

    lines = ["applicant_id,stage,seconds"]
    for r in results:
        for stage, seconds in (r.stages or {}).items():
            lines.append(f"{r.applicant_id},{stage},{seconds:.4f}")
    lines += [f",{stage},{seconds:.4f}" for stage, seconds in cohort.items()]
    return write_atomic(path, "\n".join(lines) + "\n")


def _on_worker(backend, fn, *args) -> tuple[str, dict[str, float]]:
    """The cohort's pages as one more task on the backend; a dead worker becomes the error."""
    try:
        future = backend.call(fn, *args)
        backend.last_task_submitted()
        return future.result()
    except Exception as exc:
        write_index(args[0], args[2], overview=False)
        return f"worker failed: {describe_failure(exc)}", {}


def _run_jobs(backend, jobs: list[tuple[int, Job]]) -> Iterable[tuple[int, Result]]:
    """Submit with a bounded window (memory stays flat in N); yield results as they finish."""
    window = max(2, 2 * backend.slots)
    pending = iter(jobs)
    running: dict = {}
    for i, job in pending:
        running[backend.submit(job)] = (i, job)
        if len(running) >= window:
            break
    while running:
        for fut in backend.wait_any(set(running)):
            i, job = running.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:  # the worker itself died; the applicant is recorded, not lost
                result = Result(
                    job.profile.applicant_id, "failed", 0.0, f"worker failed: {describe_failure(exc)}"
                )
            yield i, result
            nxt = next(pending, None)
            if nxt is not None:
                running[backend.submit(nxt[1])] = nxt


class _Progress:
    """A tqdm bar on stderr with ok/failed/unchanged counts and ETA, or a plain callback."""

    def __init__(self, total: int, progress: bool | Callable[[Result], None]):
        self.counts = {"ok": 0, "failed": 0, "unchanged": 0}
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="reports", unit="applicant", file=sys.stderr, smoothing=0.1)

    def update(self, r: Result) -> None:
        self.counts["failed" if r.status != "ok" else "ok"] += 1
        self.counts["unchanged"] += r.skipped
        if self.callback:
            self.callback(r)
        if self.bar is not None:
            if r.status != "ok":
                self.bar.write(f"awayplan: {r.applicant_id} failed: {r.error}", file=sys.stderr)
            self.bar.set_postfix(self.counts, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress_bar(total: int, progress) -> _Progress:
    return _Progress(total, progress)
