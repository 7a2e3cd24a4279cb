"""Warm kernels: forks only from a single-threaded zygote, real exit codes, no pid reuse window,
and a warm-up that fills the same caches the analysis reads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT

from helpers import warmkernel
from helpers.warmkernel import ForkedProcess, ForkProvisioner, WarmKernels

LINUX = Path("/proc/self/task").is_dir()


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="counts threads in /proc")
def test_fork_is_refused_once_the_process_has_a_second_thread():
    done = _python(
        """
        import threading
        from helpers.warmkernel import fork_unsafe
        print(repr(fork_unsafe()))
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        print(repr(fork_unsafe()))
        stop.set()
        t.join()
        """
    )
    assert done.returncode == 0, done.stderr
    single, threaded = done.stdout.splitlines()
    assert single == "''"
    assert "2" in threaded and "thread" in threaded


@pytest.mark.slow
def test_warm_up_fills_the_calibration_cache_key_the_analysis_uses():
    # analysis.analyse() calls calibrate(str(facts.folder)) with facts = load_facts().
    done = _python(
        """
        from helpers import odds, warmkernel
        from helpers.facts import load_facts
        warmkernel.warm_up()
        misses = odds.calibrate.cache_info().misses
        odds.calibrate(str(load_facts().folder))
        print(misses, odds.calibrate.cache_info().misses)
        """
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split()
    assert before == after == "1"  # one fit during warm-up, then a cache hit


@pytest.mark.slow
def test_a_forked_kernel_reports_its_real_exit_code_and_stays_unreaped_until_polled():
    kernels = WarmKernels(ROOT)
    try:
        km = kernels.start()
        assert isinstance(km.provisioner, ForkProvisioner) and km.provisioner.forked
        proc = km.provisioner.process
        assert isinstance(proc, ForkedProcess)
        kc = km.client()
        kc.start_channels()
        kc.execute("import os; os._exit(7)")
        kernel = psutil.Process(proc.pid)
        deadline = time.monotonic() + 10
        while kernel.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.05)
        # Exited, but its pid is still held (a zombie) until the worker asks for the status.
        assert kernel.status() == psutil.STATUS_ZOMBIE
        assert proc.wait(timeout=10) == 7
        assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).ppid() != kernels.zygote.pid
        proc.send_signal(9, group=True)  # reaped: a no-op, whoever holds the pid now
        kernels.stop(km)

        km = kernels.start()
        kernels.kill(km)
        assert km.provisioner.process.wait(timeout=10) == -9
        kernels.stop(km)
    finally:
        kernels.close()


@pytest.mark.slow
def test_notebooks_run_without_a_heartbeat_thread_and_a_dead_kernel_is_still_noticed():
    """No heartbeat threads (they reopen sockets under load); the manager tells a dead kernel."""
    import nbformat
    from jupyter_client.channels import HBChannel
    from nbclient.exceptions import DeadKernelError

    from helpers.execution import run_papermill

    def notebook(source: str):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        return nb

    def heartbeats() -> list:
        return [t for t in threading.enumerate() if isinstance(t, HBChannel) and t.is_alive()]

    kernels = WarmKernels(ROOT)
    try:
        km = kernels.start()
        run_papermill(notebook("x = 1"), {}, km, 60)
        assert km.clients and all(kc.channels_running for kc in km.clients[1:])  # papermill's, still open
        assert heartbeats() == []
        start = time.monotonic()
        with pytest.raises(DeadKernelError):
            run_papermill(notebook("import os, time\ntime.sleep(0.5)\nos._exit(3)"), {}, km, 60)
        assert time.monotonic() - start < 20
        kernels.stop(km)
    finally:
        kernels.close()


@pytest.mark.slow
def test_a_zygote_that_may_not_fork_gives_an_ordinary_kernel(monkeypatch):
    monkeypatch.setattr(warmkernel.Zygote, "fork", lambda self, argv, cwd, log: None)
    kernels = WarmKernels(ROOT)
    try:
        km = kernels.start()
        assert not km.provisioner.forked
        assert isinstance(km.provisioner.process, subprocess.Popen)
        assert km.is_alive()
        kernels.kill(km)
        assert km.provisioner.process.wait(timeout=10) == -9
        kernels.stop(km)
    finally:
        kernels.close()


@pytest.mark.slow
def test_workers_share_one_zygote_and_each_goes_with_its_own_kernels():
    """A cohort run's workers ask one zygote for kernels (SharedZygoteServer). A worker that
    says goodbye takes its kernels along and leaves the other's running; one that goes
    without a goodbye (killed) also loses its kernel folder; closing the server ends all."""
    from helpers.warmkernel import SharedZygote, SharedZygoteServer

    server = SharedZygoteServer()
    a, b = WarmKernels(ROOT, shared=server.address), WarmKernels(ROOT, shared=server.address)
    try:
        ka, kb = a.start(), b.start()
        assert isinstance(a.zygote, SharedZygote) and a.zygote.pid == b.zygote.pid == server.proc.pid
        pa, pb = ka.provisioner.process.pid, kb.provisioner.process.pid
        assert psutil.Process(pa).ppid() == psutil.Process(pb).ppid() == server.proc.pid
        a.close()  # goodbye: its kernel goes, b's stays
        deadline = time.monotonic() + 10
        while warmkernel._running(pa) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not warmkernel._running(pa) and warmkernel._running(pb)
        assert b.zygote.alive() and kb.provisioner.process.poll() is None
        b.zygote.sock.close()  # what a killed worker looks like: no goodbye
        deadline = time.monotonic() + 10
        while (warmkernel._running(pb) or b.tmp.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not warmkernel._running(pb) and not b.tmp.exists()
    finally:
        b.zygote = None
        b.close()
        server.close()
    assert server.proc.poll() is not None and not server.folder.exists()


def test_an_unreachable_shared_zygote_gives_the_worker_its_own(monkeypatch):
    from helpers.warmkernel import KernelStartError, SharedZygote

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with pytest.raises(KernelStartError):
        SharedZygote(f"{gone.pid}:/nonexistent/zygote.sock", Path("/nonexistent"))
    kernels = WarmKernels(ROOT, shared=f"{gone.pid}:/nonexistent/zygote.sock")
    monkeypatch.setattr(warmkernel, "Zygote", lambda log: "own zygote")
    try:
        assert kernels.zygote_now() == "own zygote"
    finally:
        kernels.zygote = None
        kernels.close()
