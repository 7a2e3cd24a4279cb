"""Where a cohort's applicants run: worker processes on this machine, or a Dask cluster.

A backend submits `execution.run_job` for a Job and waits for any of the futures; each
worker keeps its own warm kernels (see execution.worker_runner).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_all_start_methods, get_context
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .execution import Job

# What every local worker imports before its first applicant is done: imported once in the
# forkserver, which forks the workers, instead of once in each spawned worker.
WORKER_MODULES = (
    "helpers.execution",
    "helpers.report",
    "helpers.summary",
    "helpers.overview",
    "papermill",
)


def _worker_context():
    """Forkserver where there is one: a worker forked from it starts with the kit imported.
    The forkserver pays those imports once (about 2 CPU-seconds); a spawned worker pays them
    itself, with Python's start-up (3.5-3.7 in all). The forkserver is a fresh process
    without threads, so forking it is safe (forking this one would not be)."""
    if "forkserver" not in get_all_start_methods():  # pragma: no cover (Windows)
        return get_context("spawn")
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(list(WORKER_MODULES))
    return ctx


def start_worker_server() -> None:
    """Start the forkserver now, and its imports with it (LocalBackend does, through
    wait_for_worker_server). Nothing to do where workers are spawned, or once the forkserver
    runs.

    Ctrl-C is the command's business: the forkserver starts with SIGINT ignored (kept
    through exec), so a Ctrl-C while it imports does not print its traceback. Once its
    imports are done it ignores SIGINT itself, and so do the workers it forks."""
    if _worker_context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():  # only it may set handlers
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def _nothing() -> None:
    """What the readiness probe of wait_for_worker_server runs."""


def wait_for_worker_server() -> None:
    """Return once the forkserver has done its imports, by forking a process that does
    nothing (27-30 ms once the forkserver is ready, once per run).

    The pool then forks its workers at once. Without this, the pool's first task would wait
    for the forkserver instead, with its workers' start-up data already sent: a Ctrl-C in
    that wait tears the pool down, and a worker forked afterwards fails on the pool's
    removed semaphore with a traceback. A Ctrl-C here meets no pool; the probe, forked
    later, exits quietly."""
    ctx = _worker_context()
    if ctx.get_start_method() != "forkserver":
        return
    start_worker_server()
    probe = ctx.Process(target=_nothing, name="awayplan-forkserver-ready", daemon=True)
    probe.start()
    probe.join()


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


class LocalBackend:
    """Worker processes on this machine, each warming its own kernels. They are forked from
    a forkserver that has imported WORKER_MODULES once (spawned where there is none)."""

    def __init__(self, workers: int, zygote: str | None = None):
        from .execution import init_local_worker

        wait_for_worker_server()  # started here if the command has not already
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_worker_context(),
            initializer=init_local_worker,
            initargs=(zygote,),  # the address of a shared zygote (warmkernel.SharedZygoteServer)
        )
        self._processes: dict = {}  # the workers, once started, for close(cancel=True)

    @property
    def slots(self) -> int:
        return self.workers

    def submit(self, job: Job) -> Future:
        from .execution import run_job

        return self.call(run_job, job)

    def call(self, fn, *args) -> Future:
        """Any task for a worker: an applicant (submit), or the cohort overview."""
        future = self.pool.submit(fn, *args)
        # The pool starts its workers at the first task and forgets them at shutdown, which
        # comes before close() once the last task is in; keep them to stop them on an error.
        # (Python 3.14's ProcessPoolExecutor.terminate_workers does the same.)
        self._processes.update(getattr(self.pool, "_processes", None) or {})
        return future

    def last_task_submitted(self) -> None:
        """Idle workers may exit now (while the last task runs), not after it."""
        self.pool.shutdown(wait=False)

    def wait_any(self, futures: set) -> set:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """The workers finish their tasks and exit; after an error they are stopped at once."""
        self.close(cancel=kind is not None)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in self._processes.values():  # the workers; their kernels follow
                with contextlib.suppress(Exception):  # already gone
                    process.terminate()
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
        from .execution import run_job

        return self.client.submit(
            run_job, job, pure=False, key=f"awayplan-{job.profile.applicant_id}-{uuid.uuid4().hex[:8]}"
        )

    def call(self, fn, *args):
        """Any other task for a worker (the cohort overview)."""
        return self.client.submit(fn, *args, pure=False, key=f"awayplan-{fn.__name__}-{uuid.uuid4().hex[:8]}")

    def last_task_submitted(self) -> None:
        """The cluster is not ours to stop."""

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
