"""One applicant's run, in a worker: fresh kernel, notebooks, outputs, report, folder swap.

Each worker process keeps a warm kernel source (`warmkernel.WarmKernels`): every applicant
runs in its own kernel, forked from a process that has already imported the kit, and the
kernel is killed when the applicant is done, so no state of one applicant reaches another.
Papermill executes the three analysis notebooks in that kernel; `notebook.save_outputs`
then writes summary.json and plan.ics; report.py renders the report.

Each applicant is built in a private staging folder and moved into place only when
complete (report.html, summary.json, plan.ics, the executed notebooks and inputs.sha256),
so a killed run never leaves a half-written report. One applicant's failure is recorded
as its Result and never raised.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import datetime as dt
import json
import multiprocessing.util
import shutil
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from jupyter_core.utils import run_sync

from .config import ANALYSIS_NOTEBOOKS, NOTEBOOKS_DIR, ROOT
from .fingerprint import INPUTS_FILE, applicant_inputs, complete_summary, shared_inputs
from .outputs import applicant_dir, write_atomic
from .profile import Profile, profile_to_yaml
from .stages import Clock
from .warmkernel import KernelStartError, WarmKernels

if TYPE_CHECKING:
    from .report import Printer

DEFAULT_TIMEOUT = 300.0  # seconds per applicant; a warm applicant takes a few seconds
STAGING = ".staging"


@dataclass
class Result:
    """One applicant's outcome, as the manifest records it (plus what the index shows)."""

    applicant_id: str
    status: str  # ok | failed
    seconds: float
    error: str = ""
    skipped: bool = False  # ok because the complete folder from an earlier run was kept
    row: dict | None = None  # index.html figures for an ok applicant
    stages: dict | None = None  # seconds per stage (stages.ORDER), for --timings and the benchmark


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
        self._lock = threading.Lock()  # held through exclusive(): one task at a time
        # One browser for all this worker's PDFs, started by the first report that needs one
        # (in the thread that runs the jobs: Playwright's browser stays with its thread).
        from .report import Printer  # nbconvert: imported by the workers, not the command

        self.printer = Printer()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Runner]:
        """Hold this worker's kernels for one task (an applicant, the warm-up, the cohort's
        pages): they are used by one task at a time, so another thread waits here meanwhile."""
        with self._lock:
            yield self

    def warm(self) -> None:
        """Start the zygote and a spare kernel now, so the first applicant does not wait."""
        from .report import exporter

        with self.exclusive():
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
        clock = Clock()
        try:
            with clock("writing files"):
                staging.mkdir(parents=True)
                profile_file = write_atomic(staging / "profile.yaml", profile_to_yaml(job.profile))
            with self.exclusive():
                notebooks = self._execute(job, profile_file, staging, clock)
            with clock("writing files"):
                for path, nb in zip(job.notebooks, notebooks, strict=True):
                    write_atomic(staging / Path(path).name, nbformat.writes(nb))
            summary = _finish(job, staging, notebooks, clock, self.printer if job.pdf else None)
            with clock("writing files"):
                (staging / "profile.yaml").unlink()
                write_atomic(staging / INPUTS_FILE, job.inputs + "\n")
                _swap_into_place(staging, target)
            return Result(
                aid,
                "ok",
                round(time.perf_counter() - start, 2),
                row=index_row(summary),
                stages=clock.seconds,
            )
        except Exception as exc:  # one applicant's failure is recorded, never raised
            shutil.rmtree(staging, ignore_errors=True)
            return Result(aid, "failed", round(time.perf_counter() - start, 2), describe_failure(exc))

    def _execute(
        self, job: Job, profile_file: Path, staging: Path, clock: Clock | None = None
    ) -> list[nbformat.NotebookNode]:
        """Run the notebooks in a fresh kernel, killed after job.timeout seconds at the latest."""
        clock = clock or Clock()
        templates = self.templates(job.notebooks)
        with clock("kernel start"):
            km = self.kernels.start()  # one retry inside; KernelStartError names both attempts
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            self.kernels.kill(km)

        timer = threading.Timer(job.timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            return execute_notebooks(
                templates, profile_file, job.programs_path, staging, km, job.timeout, clock
            )
        except Exception as exc:
            if timed_out.is_set():
                raise ApplicantTimeout(f"timed out after {job.timeout:g} s (see --timeout)") from exc
            raise
        finally:
            timer.cancel()
            with clock("kernel start"):  # stopping this kernel and forking the next one
                self.kernels.stop(km)
                with contextlib.suppress(KernelStartError):
                    self.kernels.prepare_spare()  # the next kernel starts while this report renders

    def close(self) -> None:
        self.printer.close()
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
    clock: Clock | None = None,
) -> list[nbformat.NotebookNode]:
    """Run the notebooks with papermill in one kernel, then have that kernel write
    summary.json and plan.ics into out_dir; return the notebooks executed.

    Parameters are paths only (papermill copies them into the notebook metadata). With a
    clock, the kernel's own stages (load inputs, analysis, figures, outputs) are added to
    it and the rest of the notebooks' time counts as notebook execution.
    """
    clock = clock or Clock()
    params = {"profile_path": str(profile_path), "programs_path": str(programs_path)}
    start = time.perf_counter()
    executed = [run_papermill(template, params, km, timeout) for template in templates]
    kernel = save_outputs_in_kernel(km, profile_path, programs_path, out_dir, timeout)
    for stage, seconds in kernel.items():
        clock.add(stage, seconds)
    clock.add("notebook execution", time.perf_counter() - start - sum(kernel.values()))
    return executed


class OutputsError(RuntimeError):
    """The kernel could not write summary.json and plan.ics."""


def save_outputs_in_kernel(
    km, profile_path: Path, programs_path: Path, out_dir: Path, timeout
) -> dict[str, float]:
    """Call `notebook.save_outputs` in the applicant's kernel: the one place that writes
    summary.json and plan.ics. Returns the kernel's seconds per stage (`stages.taken`).

    It runs there, not in the worker, because the kernel already holds the analysis the
    notebooks showed (cached for the same files and day): the outputs match the report
    exactly and cost no second analysis (about half a second, and pandas in every worker).
    """
    code = (
        "import helpers.notebook as _awayplan_nb\n"
        f"_awayplan_nb.save_outputs({str(profile_path)!r}, {str(programs_path)!r}, {str(out_dir)!r})\n"
        "del _awayplan_nb"
    )

    async def call() -> dict:
        kc = km.client()
        kc.start_channels(iopub=False, stdin=False, hb=False, control=False)  # the reply is enough
        try:
            msg_id = kc.execute(
                code,
                store_history=False,
                user_expressions={"stages": "__import__('helpers.stages').stages.taken()"},
            )
            deadline = time.monotonic() + (timeout or DEFAULT_TIMEOUT)
            while True:
                msg = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg["content"]
        finally:
            kc.stop_channels()

    try:
        content = run_sync(call)()
    except Exception as exc:  # queue.Empty on timeout, or the kernel went away
        raise OutputsError(f"summary.json was not written ({exc.__class__.__name__})") from exc
    if content.get("status") != "ok":
        raise OutputsError(f"summary.json was not written: {content.get('ename')}: {content.get('evalue')}")
    reply = content.get("user_expressions", {}).get("stages", {})
    try:
        taken = ast.literal_eval(reply["data"]["text/plain"])
    except (KeyError, ValueError, SyntaxError):  # timings are a measurement, never a failure
        return {}
    return {str(k): float(v) for k, v in taken.items()} if isinstance(taken, dict) else {}


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


def _finish(
    job: Job, staging: Path, notebooks: list[nbformat.NotebookNode], clock: Clock, printer: Printer | None
) -> dict:
    """Check summary.json against the contract and render report.html (and the PDF)."""
    from .report import write_report
    from .summary import read_summary

    with clock("outputs"):
        read_summary(staging / "summary.json")
        summary = json.loads((staging / "summary.json").read_bytes())
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with clock("html export"):
        report = write_report(
            staging / "report.html", job.profile.applicant_id, job.profile.name, notebooks, generated
        )
    if job.pdf:
        with clock("pdf"):
            printer.print(report, staging / "report.pdf")
    return summary


def copy_nb(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def describe_failure(exc: BaseException) -> str:
    """One line for the manifest: the exception, or the failing cell's error for notebooks."""
    name = exc.__class__.__name__
    evalue = getattr(exc, "evalue", None) or str(exc)
    if name == "PapermillExecutionError":
        return f"notebook cell failed: {getattr(exc, 'ename', '')}: {evalue}".splitlines()[0][:500]
    if isinstance(exc, ApplicantTimeout | KernelStartError | OutputsError):
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


def worker_runner(shared: str | None = None) -> Runner:
    """This worker thread's Runner, created on the first call; `shared` (the address of a
    cohort run's shared zygote) is where that first call's kernels come from."""
    runner = getattr(_LOCAL, "runner", None)
    if runner is None:
        runner = _LOCAL.runner = Runner(WarmKernels(ROOT, shared))
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


def init_local_worker(zygote: str | None = None) -> None:
    """Pool initializer: Ctrl-C is the main process's business; warm up straight away, with
    the run's shared zygote when there is one.

    A pool worker forked from a forkserver leaves with os._exit, which skips atexit, so its
    Runners (spare kernel, browser, goodbye to the shared zygote) are closed by a
    multiprocessing finalizer instead: every worker runs those on its way out, however it
    was started."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    multiprocessing.util.Finalize(None, _close_runners, exitpriority=10)
    worker_runner(zygote).warm_in_background()


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
