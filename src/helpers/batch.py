"""Running the notebooks for applicants: in parallel, isolated, resumable.

Each worker process keeps a warm kernel source (`warmkernel.WarmKernels`): every applicant
runs in its own kernel, forked from a process that has already imported the kit, and the
kernel is killed when the applicant is done, so no state of one applicant reaches another.
Papermill executes the three analysis notebooks in that kernel; report.py renders them.

Each applicant is built in a private staging folder and moved into place only when
complete (report.html, summary.json, plan.ics, the executed notebooks and inputs.sha256),
so a killed run never leaves a half-written report. A rerun skips applicants whose inputs
are unchanged and whose folder is complete. One applicant's failure is recorded and never
stops the others. Workers are local processes, or Dask workers given a scheduler address.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat

from . import __version__
from .cohort import Entry
from .config import ANALYSIS_NOTEBOOKS, ASSUMPTIONS_FILE, FACTS_DIR, NOTEBOOKS_DIR, ROOT
from .outputs import applicant_dir, write_atomic
from .profile import Profile, profile_to_yaml
from .warmkernel import KernelStartError, WarmKernels

MANIFEST_FIELDS = ("applicant_id", "status", "seconds", "error")
INPUTS_FILE = "inputs.sha256"
REPORT_FILES = (
    "report.html",
    "summary.json",
    "plan.ics",
    "programs.csv",
    "programs.xlsx",
    *ANALYSIS_NOTEBOOKS,
)
OVERVIEW_NOTEBOOK = "04-cohort.ipynb"
OVERVIEW_HTML = "overview.html"
DEFAULT_TIMEOUT = 300.0  # seconds per applicant; a warm applicant takes a few seconds
STAGING = ".staging"
LOCK_FILE = ".awayplan.lock"


@dataclass
class Result:
    """One applicant's outcome, as the manifest records it (plus what the index shows)."""

    applicant_id: str
    status: str  # ok | failed
    seconds: float
    error: str = ""
    skipped: bool = False  # ok because the complete folder from an earlier run was kept
    row: dict | None = None  # index.html figures for an ok applicant


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one applicant (picklable; paths must exist on the worker)."""

    profile: Profile
    programs_path: Path
    out_root: Path
    inputs: str  # fingerprint of every input that changes the result
    pdf: bool = False
    timeout: float = DEFAULT_TIMEOUT
    notebooks: tuple[Path, ...] = tuple(NOTEBOOKS_DIR / n for n in ANALYSIS_NOTEBOOKS)
    force: bool = False


# --------------------------------------------------------------------------------------
# Inputs fingerprint (resume)


def shared_inputs(programs_path: Path, notebooks: Sequence[Path], pdf: bool = False) -> str:
    """Digest of what all applicants share: program table, notebooks, data, kit code and version."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("version", __version__.encode())
    add("pdf", b"1" if pdf else b"0")
    add("programs", Path(programs_path).read_bytes())
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


# --------------------------------------------------------------------------------------
# One applicant, in a worker


def index_row(summary: dict) -> dict:
    """The few figures index.html shows for an applicant (ids and numbers only, no names)."""
    counts = {
        k: sum(1 for p in summary["programs"] if p["status"] == k)
        for k in ("eligible", "unknown", "excluded")
    }
    from .overview import next_deadline, record, risk_reasons

    chance = summary.get("match_probability", {}).get("with_plan", {}).get("match_probability")
    return {
        "at_risk": risk_reasons(record(summary)[0]),
        "next_deadline": next_deadline(summary),
        **counts,
        "rotations": len(summary["rotations"]),
        "cost": float(summary["total_cost_usd"]),
        "budget": float(summary["budget_usd"]),
        "chance": chance,
        "warnings": len(summary["warnings"]),
    }


class Runner:
    """One worker's engine: warm kernels, the notebook templates, and the report exporter."""

    def __init__(self, kernels: WarmKernels | None = None):
        self.kernels = kernels or WarmKernels(ROOT)
        self._templates: dict[tuple[str, int], nbformat.NotebookNode] = {}
        self._lock = threading.Lock()  # the kernels are used by one applicant at a time

    def warm(self) -> None:
        """Start the zygote and a spare kernel now, so the first applicant does not wait."""
        from .report import exporter

        with self._lock:
            exporter()
            with contextlib.suppress(KernelStartError):
                self.kernels.prepare_spare()

    def warm_in_background(self) -> None:
        """Warm up while the first jobs are checked (a rerun may need no kernel at all)."""
        threading.Thread(target=self.warm, name="awayplan-warm", daemon=True).start()

    def templates(self, paths: Sequence[Path]) -> list[nbformat.NotebookNode]:
        out = []
        for p in paths:
            key = (str(p), Path(p).stat().st_mtime_ns)
            if key not in self._templates:
                self._templates[key] = nbformat.read(p, as_version=4)
            out.append(copy_nb(self._templates[key]))
        return out

    def run(self, job: Job) -> Result:
        """Build one applicant's complete folder, keep an unchanged one, or record why it failed."""
        start = time.perf_counter()
        aid = job.profile.applicant_id
        try:
            target = applicant_dir(job.out_root, aid)
        except ValueError as exc:
            return Result(aid, "failed", 0.0, str(exc))
        if not job.force:
            summary = complete_summary(target, job.inputs, job.pdf)
            if summary is not None:
                return Result(aid, "ok", 0.0, skipped=True, row=index_row(summary))
        staging = Path(job.out_root) / STAGING / f"{aid}-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir(parents=True)
            profile_file = write_atomic(staging / "profile.yaml", profile_to_yaml(job.profile))
            with self._lock:
                notebooks = self._execute(job, profile_file, staging)
            for path, nb in zip(job.notebooks, notebooks, strict=True):
                write_atomic(staging / Path(path).name, nbformat.writes(nb))
            summary = _finish(job, staging, notebooks)
            (staging / "profile.yaml").unlink()
            write_atomic(staging / INPUTS_FILE, job.inputs + "\n")
            _swap_into_place(staging, target)
            return Result(aid, "ok", round(time.perf_counter() - start, 2), row=index_row(summary))
        except Exception as exc:  # one applicant's failure is recorded, never raised
            shutil.rmtree(staging, ignore_errors=True)
            return Result(aid, "failed", round(time.perf_counter() - start, 2), describe_failure(exc))

    def _execute(self, job: Job, profile_file: Path, staging: Path) -> list[nbformat.NotebookNode]:
        """Run the notebooks in a fresh kernel, killed after job.timeout seconds at the latest."""
        templates = self.templates(job.notebooks)
        km = self.kernels.start()  # one retry inside; KernelStartError names both attempts
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            self.kernels.kill(km)

        timer = threading.Timer(job.timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            return execute_notebooks(templates, profile_file, job.programs_path, staging, km, job.timeout)
        except Exception as exc:
            if timed_out.is_set():
                raise ApplicantTimeout(f"timed out after {job.timeout:g} s (see --timeout)") from exc
            raise
        finally:
            timer.cancel()
            self.kernels.stop(km)
            with contextlib.suppress(KernelStartError):
                self.kernels.prepare_spare()  # the next kernel starts while this report renders

    def close(self) -> None:
        self.kernels.close()


class ApplicantTimeout(Exception):
    """The applicant's notebooks ran longer than --timeout."""


def execute_notebooks(
    templates: list[nbformat.NotebookNode],
    profile_path: Path,
    programs_path: Path,
    out_dir: Path,
    km,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[nbformat.NotebookNode]:
    """Run the notebooks with papermill in one kernel; return them executed.

    Parameters are paths only (papermill copies them into the notebook metadata).
    """
    executed = []
    for template in templates:
        params = {"profile_path": str(profile_path), "programs_path": str(programs_path)}
        if "out_dir = " in "".join(
            c.source for c in template.cells if "parameters" in c.metadata.get("tags", [])
        ):
            params["out_dir"] = str(out_dir)
        executed.append(run_papermill(template, params, km, timeout))
    return executed


def run_papermill(template: nbformat.NotebookNode, params: dict, km, timeout: float | None):
    """Execute one notebook with papermill in the given (already started) kernel, in memory."""
    import papermill as pm

    return pm.execute_notebook(
        template,
        None,
        parameters=params,
        kernel_name="python3",
        km=km,
        progress_bar=False,
        request_save_on_cell_execute=False,
        execution_timeout=timeout,
        cwd=str(ROOT),
    )


def _finish(job: Job, staging: Path, notebooks: list[nbformat.NotebookNode]) -> dict:
    """Check summary.json against the contract and render report.html (and the PDF)."""
    from .report import print_pdf, write_report
    from .summary import read_summary

    read_summary(staging / "summary.json")
    summary = json.loads((staging / "summary.json").read_bytes())
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = write_report(
        staging / "report.html", job.profile.applicant_id, job.profile.name, notebooks, generated
    )
    if job.pdf:
        print_pdf(report, staging / "report.pdf")
    return summary


def copy_nb(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def describe_failure(exc: BaseException) -> str:
    """One line for the manifest: the exception, or the failing cell's error for notebooks."""
    name = exc.__class__.__name__
    evalue = getattr(exc, "evalue", None) or str(exc)
    if name == "PapermillExecutionError":
        return f"notebook cell failed: {getattr(exc, 'ename', '')}: {evalue}".splitlines()[0][:500]
    if isinstance(exc, ApplicantTimeout | KernelStartError):
        return str(exc).splitlines()[0][:500]
    text = (
        f"{name}: {evalue}".splitlines()[0]
        if evalue
        else "".join(traceback.format_exception_only(exc)).strip()
    )
    return text[:500]


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace the applicant's folder by the finished staging folder in two renames."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# One Runner per worker thread: local pool processes and Dask workers alike.
_LOCAL = threading.local()
_RUNNERS: list[Runner] = []


def worker_runner() -> Runner:
    runner = getattr(_LOCAL, "runner", None)
    if runner is None:
        runner = _LOCAL.runner = Runner()
        _RUNNERS.append(runner)
    return runner


@atexit.register
def _close_runners() -> None:
    while _RUNNERS:
        with contextlib.suppress(Exception):
            _RUNNERS.pop().close()


def run_job(job: Job) -> Result:
    """The task each worker runs: one applicant, with this worker's warm kernels."""
    return worker_runner().run(job)


def _init_local_worker() -> None:
    """Pool initializer: Ctrl-C is the main process's business; warm up straight away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker_runner().warm_in_background()


# --------------------------------------------------------------------------------------
# One applicant from the command line


def run_applicant(
    profile: Profile,
    programs_path: Path,
    out_root: Path,
    pdf: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    notebooks: Sequence[Path] | None = None,
) -> Result:
    """Build one applicant's folder now (always rebuilt, in this process)."""
    notebooks = tuple(notebooks or Job.__dataclass_fields__["notebooks"].default)
    inputs = applicant_inputs(shared_inputs(programs_path, notebooks, pdf), profile)
    runner = Runner()
    try:
        return runner.run(Job(profile, programs_path, out_root, inputs, pdf, timeout, notebooks, force=True))
    finally:
        runner.close()
        shutil.rmtree(Path(out_root) / STAGING, ignore_errors=True)


# --------------------------------------------------------------------------------------
# A cohort


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


class LocalBackend:
    """Worker processes on this machine (spawned, each warming its own kernels)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_init_local_worker
        )

    @property
    def slots(self) -> int:
        return self.workers

    def submit(self, job: Job) -> Future:
        return self.pool.submit(run_job, job)

    def wait_any(self, futures: set) -> set:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def close(self, cancel: bool = False) -> None:
        if cancel:
            import psutil

            self.pool.shutdown(wait=False, cancel_futures=True)
            for child in psutil.Process().children():  # the pool's workers; their kernels follow
                with contextlib.suppress(psutil.Error):
                    child.terminate()
            return
        self.pool.shutdown(wait=True)


class DaskBackend:
    """Workers of a Dask distributed cluster (same paths and kit install on every worker)."""

    def __init__(self, address: str, connect_timeout: float = 20):
        from distributed import Client

        self.client = Client(address, timeout=connect_timeout, set_as_default=False)

    @property
    def slots(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, job: Job):
        return self.client.submit(
            run_job, job, pure=False, key=f"awayplan-{job.profile.applicant_id}-{uuid.uuid4().hex[:8]}"
        )

    def wait_any(self, futures: set) -> set:
        from distributed import wait as dwait

        with self.client.as_current():
            done, _ = dwait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def close(self, cancel: bool = False) -> None:
        self.client.close()


def connect_scheduler(address: str) -> DaskBackend:
    """A backend on the Dask scheduler at `address`; InputError if it cannot be reached."""
    from .errors import InputError, Problem

    try:
        return DaskBackend(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            [Problem("--scheduler", f"cannot reach a Dask scheduler at {address!r} ({exc})".splitlines()[0])]
        ) from None


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
    """One run at a time per output folder (a second would delete the first's staging)."""
    from .errors import InputError, Problem, display_path

    fh = (out_root / LOCK_FILE).open("a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                [Problem(display_path(out_root), "another awayplan run is writing to this folder")]
            ) from None
        yield
    finally:
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
) -> CohortRun:
    """Every valid entry on the workers; invalid rows become failed results with their problem.

    Writes manifest.csv, the cohort overview (04-cohort) and index.html at the end.
    """
    notebooks = tuple(notebooks or Job.__dataclass_fields__["notebooks"].default)
    out_root = Path(out_root)
    if backend is None and scheduler:
        backend = connect_scheduler(scheduler)  # before anything is written
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
        if jobs:
            own = backend is None
            backend = backend or LocalBackend(min(workers or default_workers(), len(jobs)))
            try:
                for i, r in _run_jobs(backend, jobs):
                    results[i] = r
                    bar.update(r)
            except BaseException:
                if own:
                    backend.close(cancel=True)
                raise
            finally:
                bar.close()
            if own:
                backend.close()
        else:
            bar.close()
        ordered = [results[i] for i in range(len(entries))]
        write_manifest(out_root, ordered)
        overview_error = ""
        if overview:
            overview_error = run_overview(out_root, programs_path)
        write_index(out_root, ordered, overview=overview and not overview_error)
        shutil.rmtree(out_root / STAGING, ignore_errors=True)
        return CohortRun(ordered, overview_error, bar.counts)


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


# --------------------------------------------------------------------------------------
# Cohort outputs: manifest.csv, the overview notebook, index.html


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


def run_overview(out_root: Path, programs_path: Path) -> str:
    """Run notebooks/04-cohort.ipynb on the finished folder; '' when done, else the error."""
    from .overview import write_overview_html

    kernels = WarmKernels(ROOT)
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
