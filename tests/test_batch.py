"""Cohort runs: isolation between applicants, failures, resume after a kill, the Dask path.

Applicants are tiny synthetic profiles; cohorts have a handful of rows so that the slow
tests (real kernels, real notebooks) stay short.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, ROOT, awayplan, make_profile

from helpers import batch, fingerprint
from helpers.cohort import Entry, load_cohort
from helpers.config import ANALYSIS_NOTEBOOKS, DEFAULT_PROGRAMS, NOTEBOOKS_DIR
from helpers.errors import InputError
from helpers.summary import read_summary
from helpers.warmkernel import KernelStartError, WarmKernels

EXAMPLES = sorted((ROOT / "data" / "example-cohort").glob("*.yaml"))
EXAMPLE_IDS = sorted(e.key for e in load_cohort(ROOT / "data" / "example-cohort"))


def notebooks_with(tmp_path: Path, name: str, source: str) -> tuple[Path, ...]:
    """Copies of the analysis notebooks with one extra code cell appended to `name`."""
    folder = tmp_path / "notebooks"
    folder.mkdir(exist_ok=True)
    paths = []
    for nb_name in ANALYSIS_NOTEBOOKS:
        nb = nbformat.read(NOTEBOOKS_DIR / nb_name, as_version=4)
        if nb_name == name:
            nb.cells.append(nbformat.v4.new_code_cell(source, id="test-extra"))
        nbformat.write(nb, folder / nb_name)
        paths.append(folder / nb_name)
    return tuple(paths)


def job(profile, out: Path, notebooks=None, timeout: float = batch.DEFAULT_TIMEOUT) -> batch.Job:
    notebooks = notebooks or tuple(NOTEBOOKS_DIR / n for n in ANALYSIS_NOTEBOOKS)
    shared = batch.shared_inputs(DEFAULT_PROGRAMS, notebooks)
    return batch.Job(
        profile,
        DEFAULT_PROGRAMS,
        out,
        batch.applicant_inputs(shared, profile),
        False,
        timeout,
        notebooks,
        True,
    )


def folder_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.iterdir()))


def assert_complete(folder: Path) -> None:
    for name in batch.REPORT_FILES:
        assert (folder / name).stat().st_size > 0, name
    for name in ANALYSIS_NOTEBOOKS:
        nbformat.read(folder / name, as_version=4)
    assert (folder / "report.html").read_text().rstrip().endswith("</html>")
    assert read_summary(folder / "summary.json").applicant_id == folder.name


def read_manifest(out: Path) -> dict[str, dict]:
    with (out / "manifest.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(batch.MANIFEST_FIELDS)
    return {r["applicant_id"]: r for r in rows}


# --------------------------------------------------------------------------------------
# Isolation


# Fails if anything (a variable or module state) survives from one applicant to the next.
LEAK_CHECK = """import helpers

assert "_seen_by_kernel" not in globals(), f"namespace left by {_seen_by_kernel}"
assert not hasattr(helpers, "_seen_by_kernel"), f"module state left by {helpers._seen_by_kernel}"
helpers._seen_by_kernel = _seen_by_kernel = profile_path"""


@pytest.mark.slow
def test_applicants_through_one_worker_share_nothing(tmp_path):
    nbs = notebooks_with(tmp_path, "01-tiering.ipynb", LEAK_CHECK)
    a = make_profile(applicant_id="iso-alpha", name="Zelda Quokka", step2_ck=271, budget_usd=13579)
    b = make_profile(applicant_id="iso-beta", step2_ck=233, budget_usd=8642, visa_needed="j1_or_h1b")
    runner = batch.Runner()
    try:
        ra = runner.run(job(a, tmp_path / "shared", nbs))
        zygote = runner.kernels.zygote.pid
        rb = runner.run(job(b, tmp_path / "shared", nbs))
        assert runner.kernels.zygote.pid == zygote  # the same warm worker served both
        assert runner.kernels.started >= 2  # ...each in a kernel of its own
    finally:
        runner.close()
    assert (ra.status, rb.status) == ("ok", "ok"), (ra.error, rb.error)
    text_b = folder_text(tmp_path / "shared" / "iso-beta")
    for trace in ("iso-alpha", "Zelda", "Quokka", "13,579"):
        assert trace not in text_b, trace
    # A's budget as a whole number: papermill's cell timings ("duration": 0.135794) may hold
    # the same digits by chance.
    assert not re.search(r"(?<![\d.])13579(?![\d])", text_b)
    assert "Zelda Quokka" in (tmp_path / "shared" / "iso-alpha" / "report.html").read_text()

    # B after A is exactly B on a fresh worker.
    fresh = batch.Runner()
    try:
        rb2 = fresh.run(job(b, tmp_path / "fresh", nbs))
    finally:
        fresh.close()
    assert rb2.status == "ok", rb2.error
    assert (tmp_path / "shared" / "iso-beta" / "summary.json").read_bytes() == (
        tmp_path / "fresh" / "iso-beta" / "summary.json"
    ).read_bytes()


def _threads_and_fds() -> tuple[int, int]:
    return len(os.listdir("/proc/self/task")), len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_worker_holds_no_more_threads_or_files_after_many_applicants(tmp_path):
    """Each notebook's kernel client is closed with its kernel: a long run stays flat."""
    runner = batch.Runner()
    counts = []
    try:
        for i in range(4):
            result = runner.run(job(make_profile(applicant_id=f"flat-{i}"), tmp_path))
            assert result.status == "ok", result.error
            counts.append(_threads_and_fds())
    finally:
        runner.close()
    threads, fds = zip(*counts, strict=True)
    assert max(threads[1:]) <= threads[0] and max(fds[1:]) <= fds[0] + 2, counts


# --------------------------------------------------------------------------------------
# Failures stay with their applicant

FAILURES = """import os, time
who = open(profile_path).read()
if "fail-me" in who:
    raise RuntimeError("deliberate failure for this applicant")
if "crash-me" in who:
    os.kill(os.getpid(), 9)
if "slow-me" in who:
    time.sleep(120)"""


@pytest.mark.slow
def test_a_failing_applicant_never_stops_or_corrupts_the_others(tmp_path):
    nbs = notebooks_with(tmp_path, "02-budget.ipynb", FAILURES)
    ids = ["ok-first", "fail-me", "crash-me", "slow-me", "ok-last"]
    entries = [Entry(i, "test", make_profile(applicant_id=i)) for i in ids]
    out = tmp_path / "out"
    seen = []
    run = batch.run_cohort(
        entries,
        DEFAULT_PROGRAMS,
        out,
        workers=2,
        timeout=25,
        notebooks=nbs,
        progress=seen.append,
        overview=False,
    )
    status = {r.applicant_id: r for r in run.results}
    assert [r.applicant_id for r in run.results] == ids
    assert sorted(r.applicant_id for r in seen) == sorted(ids)
    assert status["ok-first"].status == status["ok-last"].status == "ok"
    assert "deliberate failure for this applicant" in status["fail-me"].error
    assert "died" in status["crash-me"].error.lower()
    assert "timed out after 25 s" in status["slow-me"].error
    for i in ("fail-me", "crash-me", "slow-me"):
        assert status[i].status == "failed"
        assert not (out / i).exists()
    for i in ("ok-first", "ok-last"):
        assert_complete(out / i)
    manifest = read_manifest(out)
    assert {k: v["status"] for k, v in manifest.items()} == {
        "ok-first": "ok",
        "fail-me": "failed",
        "crash-me": "failed",
        "slow-me": "failed",
        "ok-last": "ok",
    }
    assert not run.ok
    assert not (out / batch.STAGING).exists()


@pytest.mark.slow
def test_cli_bad_row_fails_only_that_applicant(tmp_path):
    cohort = tmp_path / "c.csv"
    cohort.write_text(
        "applicant_id,visa_needed,school_status,step1,budget_usd,application_cycle,plan_date,step2_ck\n"
        "good-1,j1,student,pass,6000,2027,2026-12-01,248\n"
        "bad-2,j1,student,pass,<script>x</script>,2027,2026-12-01,248\n"
    )
    out = tmp_path / "out"
    res = awayplan("report", "--cohort", str(cohort), "--out", str(out), "--no-pdf", "--workers", "1")
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    manifest = read_manifest(out)
    assert manifest["good-1"]["status"] == "ok" and manifest["bad-2"]["status"] == "failed"
    assert "budget_usd" in manifest["bad-2"]["error"]
    assert_complete(out / "good-1")
    index = (out / "index.html").read_text()
    assert "<script>" not in index and "&lt;script&gt;" in index
    assert "overview.html" in index and (out / "overview.html").exists()


# --------------------------------------------------------------------------------------
# Resume after a killed run


@pytest.mark.slow
def test_rerun_after_a_kill_completes_and_keeps_finished_reports(tmp_path):
    out = tmp_path / "out"
    cmd = [str(BIN / "awayplan"), "report", "--cohort", "data/example-cohort", "--out", str(out), "--no-pdf"]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while not list(out.glob("*/report.html")):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no report within 240 s"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    finished = {}
    for folder in (p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        assert_complete(folder)  # whatever is in place is whole
        finished[folder.name] = (folder / "report.html").stat()
    assert finished and len(finished) < len(EXAMPLES)
    assert not (out / "manifest.csv").exists()

    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert f"{len(finished)} unchanged since the last run" in res.stdout
    manifest = read_manifest(out)
    assert sorted(manifest) == EXAMPLE_IDS
    assert all(r["status"] == "ok" for r in manifest.values())
    for aid in manifest:
        assert_complete(out / aid)
    for aid, before in finished.items():
        after = (out / aid / "report.html").stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), aid
        assert manifest[aid]["seconds"] == "0.00"
    assert not (out / batch.STAGING).exists()
    assert not list(out.glob(".*.old-*"))


def _importing_forkserver(process) -> bool:
    import psutil

    try:
        cpu = process.cpu_times()
        return "forkserver" in " ".join(process.cmdline()) and cpu.user + cpu.system >= 0.3
    except psutil.Error:
        return False


def test_ctrl_c_while_the_workers_start_is_one_line_and_leaves_nothing_running(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while the workers'
    forkserver is importing the kit (it has used 0.3 of the 1-2 CPU-seconds that takes, so
    Python's own start-up is over): the command says one line and exits 130, no process
    prints a traceback, and nothing is left running."""
    import psutil

    out = tmp_path / "out"
    cmd = [str(BIN / "awayplan"), "report", "--cohort", "data/example-cohort", "--out", str(out), "--no-pdf"]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As from a terminal: a test run started in the background inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 60
    try:
        while not any(_importing_forkserver(p) for p in seen.values()):
            assert proc.poll() is None, "the run ended before its forkserver started"
            assert time.monotonic() < deadline, "no forkserver within 60 s"
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(proc.pid).children(recursive=True):
                    seen.setdefault(child.pid, child)
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = err.replace("\r", "\n").splitlines()
    assert any(line.startswith("awayplan: interrupted") for line in lines), err  # not after the bar
    time.sleep(1)
    running = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not running, [p.cmdline() for p in running]
    assert not (out / batch.LOCK_FILE).exists()  # the folder is free, and nothing is left in it


# --------------------------------------------------------------------------------------
# Dask


@pytest.mark.slow
def test_dask_scheduler_runs_the_cohort_on_its_workers(tmp_path):
    distributed = pytest.importorskip("distributed")
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    for p in EXAMPLES[:3]:
        (cohort / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = awayplan(
            "report",
            "--cohort",
            str(cohort),
            "--out",
            str(out),
            "--no-pdf",
            "--scheduler",
            cluster.scheduler_address,
        )
        assert res.returncode == 0, res.stderr
        served = client.run(lambda: len(__import__("helpers.batch").batch._RUNNERS))
    assert sum(served.values()) >= 1  # the applicants ran on the cluster's workers
    manifest = read_manifest(out)
    assert sorted(manifest) == EXAMPLE_IDS[:3]
    for aid, row in manifest.items():
        assert row["status"] == "ok", row
        assert_complete(out / aid)


def test_a_run_closes_the_dask_client_it_opened(tmp_path):
    """run_cohort(scheduler=...) connects its own client and closes it when done; the
    scheduler then counts no client of the run's."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=50
    ) as cluster:
        before = set(cluster.scheduler.clients)
        run = batch.run_cohort(
            [], DEFAULT_PROGRAMS, tmp_path / "out", scheduler=cluster.scheduler_address, overview=False
        )
        assert run.results == [] and (tmp_path / "out" / "index.html").is_file()
        deadline = time.monotonic() + 20
        while set(cluster.scheduler.clients) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(cluster.scheduler.clients) - before == set()


@pytest.mark.slow
def test_unreachable_scheduler_is_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    res = awayplan(
        "report", "--cohort", "data/example-cohort", "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"
    )
    assert res.returncode == 2, res.stderr
    assert "cannot reach a Dask scheduler" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


# --------------------------------------------------------------------------------------
# Kernel start: one retry


def test_a_kernel_that_fails_to_start_is_retried_once(monkeypatch, tmp_path):
    kernels = WarmKernels(ROOT)
    calls = []

    def flaky_launch():
        calls.append(1)
        if len(calls) == 1:
            raise KernelStartError("simulated: zygote gone")
        return "km"

    monkeypatch.setattr(kernels, "_launch", flaky_launch)
    monkeypatch.setattr(kernels, "_wait_ready", lambda km: None)
    try:
        assert kernels.start() == "km"
        assert len(calls) == 2

        calls.clear()

        def broken_launch():
            calls.append(1)
            raise OSError("no fork")

        monkeypatch.setattr(kernels, "_launch", broken_launch)
        with pytest.raises(
            KernelStartError, match=r"kernel did not start \(OSError: no fork; then OSError: no fork\)"
        ):
            kernels.start()
        assert len(calls) == 2  # one try and exactly one retry
    finally:
        kernels.close()


@pytest.mark.slow
def test_when_a_worker_dies_its_kernels_and_files_go_with_it():
    import psutil

    kernels = WarmKernels(ROOT)
    try:
        km = kernels.start()
        kernel = psutil.Process(km.provisioner.process.pid)
        zygote = kernels.zygote.proc
        zygote.stdin.close()  # what the worker's death looks like from the zygote: no goodbye
        zygote.wait(timeout=30)
        deadline = time.monotonic() + 10
        while kernel.is_running() and kernel.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE
        assert not kernels.tmp.exists()  # connection files, sockets and logs removed
    finally:
        kernels.close()


def test_kernel_folders_of_dead_workers_are_swept_and_live_ones_kept(tmp_path, monkeypatch):
    import tempfile

    from helpers import warmkernel

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid names no running worker now
    dead = tmp_path / f"{warmkernel.TMP_PREFIX}dead"
    dead.mkdir()
    (dead / warmkernel.OWNER_FILE).write_text(f"{ended.pid} 1.0\n")
    reused = tmp_path / f"{warmkernel.TMP_PREFIX}reused"
    reused.mkdir()  # a live pid, but started at another time: a different process now
    (reused / warmkernel.OWNER_FILE).write_text(f"{os.getpid()} 1.0\n")
    foreign = tmp_path / f"{warmkernel.TMP_PREFIX}foreign"
    foreign.mkdir()  # no owner file: not ours to judge
    kernels = WarmKernels(ROOT)  # sweeps on start
    try:
        assert not dead.exists() and not reused.exists()
        assert foreign.exists()
        warmkernel._sweep_orphans()
        assert kernels.tmp.exists()  # a live worker's folder stays
    finally:
        kernels.close()


def test_a_kernel_start_failure_is_recorded_for_that_applicant(monkeypatch, tmp_path):
    runner = batch.Runner()

    def no_kernel(retries: int = 1):
        raise KernelStartError("kernel did not start (simulated; then simulated)")

    monkeypatch.setattr(runner.kernels, "start", no_kernel)
    try:
        result = runner.run(job(make_profile(applicant_id="no-kernel"), tmp_path))
    finally:
        runner.close()
    assert result.status == "failed"
    assert result.error == "kernel did not start (simulated; then simulated)"
    assert not (tmp_path / "no-kernel").exists()
    assert list((tmp_path / batch.STAGING).iterdir()) == []


def test_a_runner_lends_its_kernels_to_one_task_at_a_time():
    import threading

    runner = batch.Runner()
    entered = threading.Event()

    def other_task() -> None:
        with runner.exclusive():
            entered.set()

    other = threading.Thread(target=other_task)
    try:
        with runner.exclusive() as held:
            assert held is runner
            other.start()
            assert not entered.wait(0.3)  # waits while this task holds the kernels
        assert entered.wait(10)
    finally:
        if other.ident is not None:
            other.join(10)
        runner.close()


# --------------------------------------------------------------------------------------
# The shared zygote


class FakeServer:
    """Stands in for warmkernel.SharedZygoteServer: an address, and a record of closing."""

    address = "4242:/nonexistent/zygote.sock"

    def __init__(self, log: list | None = None):
        self.log = log if log is not None else []

    def close(self) -> None:
        self.log.append("zygote closed")


def test_with_nothing_to_rebuild_the_overview_here_gets_the_early_zygote(tmp_path, monkeypatch):
    """The overview runs in the command's process when no applicant needs a worker; its
    kernels come from the zygote the command started early, passed as an argument (the
    process environment stays as it was)."""
    seen = []

    def pages(out_root, programs_path, results, overview=True, kernels=None, shared=None):
        seen.append((kernels, shared))
        return "", {}

    monkeypatch.setattr(batch, "cohort_pages", pages)
    environ = dict(os.environ)
    early = FakeServer()
    run = batch.run_cohort([], DEFAULT_PROGRAMS, tmp_path / "out", zygote=early)
    assert run.ok and seen == [(None, early.address)]
    assert early.log == []  # the caller's zygote: the caller closes it
    batch.run_cohort([], DEFAULT_PROGRAMS, tmp_path / "out")
    assert seen[-1] == (None, None)
    assert dict(os.environ) == environ


@pytest.mark.parametrize("how", ["done", "failed", "caller's zygote"])
def test_the_workers_exit_before_the_zygote_they_share_is_closed(tmp_path, monkeypatch, how):
    """A zygote the run started is closed after its workers have exited (they say goodbye to
    it on their way out), whether the run ends normally or with an error; a zygote the caller
    passed in is left to the caller."""
    from concurrent.futures import Future

    log: list[str] = []

    class Workers(batch.LocalBackend):
        def __init__(self, workers: int, zygote: str | None = None):
            self.workers = workers
            log.append(f"workers use {zygote}")

        def call(self, fn, *args):
            done = Future()
            done.set_result(("", {}))
            return done

        def last_task_submitted(self) -> None:
            pass

        def close(self, cancel: bool = False) -> None:
            log.append("workers stopped" if cancel else "workers exited")

    def run_jobs(backend, jobs):
        if how == "failed":
            raise RuntimeError("simulated")
        for i, j in jobs:
            yield i, batch.Result(j.profile.applicant_id, "ok", 1.0)

    monkeypatch.setattr(batch, "LocalBackend", Workers)
    monkeypatch.setattr(batch, "SharedZygoteServer", lambda: FakeServer(log))
    monkeypatch.setattr(batch, "_run_jobs", run_jobs)
    entries = [Entry(i, "test", make_profile(applicant_id=i)) for i in ("z-1", "z-2")]
    early = FakeServer() if how == "caller's zygote" else None
    if how == "failed":
        with pytest.raises(RuntimeError, match="simulated"):
            batch.run_cohort(entries, DEFAULT_PROGRAMS, tmp_path / "out", zygote=early)
    else:
        run = batch.run_cohort(entries, DEFAULT_PROGRAMS, tmp_path / "out", zygote=early)
        assert [r.status for r in run.results] == ["ok", "ok"]
    started = f"workers use {FakeServer.address}"
    expected = {
        "done": [started, "workers exited", "zygote closed"],
        "failed": [started, "workers stopped", "zygote closed"],
        "caller's zygote": [started, "workers exited"],
    }
    assert log == expected[how]
    assert early is None or early.log == []


# --------------------------------------------------------------------------------------
# Resume: what counts as unchanged and complete


def test_fingerprint_changes_with_every_input(tmp_path):
    nbs = tuple(NOTEBOOKS_DIR / n for n in ANALYSIS_NOTEBOOKS)
    programs = tmp_path / "programs.csv"
    programs.write_bytes(DEFAULT_PROGRAMS.read_bytes())
    base = batch.shared_inputs(programs, nbs)
    assert batch.shared_inputs(programs, nbs) == base
    assert batch.shared_inputs(programs, nbs, pdf=True) != base
    programs.write_bytes(DEFAULT_PROGRAMS.read_bytes() + b"\n")
    assert batch.shared_inputs(programs, nbs) != base
    programs.write_bytes(DEFAULT_PROGRAMS.read_bytes())
    changed = notebooks_with(tmp_path, "03-timing.ipynb", "1 + 1")
    assert batch.shared_inputs(programs, changed) != base

    p = make_profile()
    same = batch.applicant_inputs(base, make_profile())
    assert batch.applicant_inputs(base, p) == same
    assert batch.applicant_inputs(base, make_profile(budget_usd=8001)) != same
    assert batch.applicant_inputs(base, make_profile(name="Someone")) != same
    undated = make_profile(plan_date=None)
    day1 = batch.applicant_inputs(base, undated, today=dt.date(2026, 12, 1))
    assert batch.applicant_inputs(base, undated, today=dt.date(2026, 12, 2)) != day1


def test_shared_fingerprint_covers_data_files(tmp_path, monkeypatch):
    nbs = tuple(NOTEBOOKS_DIR / n for n in ANALYSIS_NOTEBOOKS)
    base = batch.shared_inputs(DEFAULT_PROGRAMS, nbs)
    assumptions = tmp_path / "assumptions.yaml"
    assumptions.write_bytes(fingerprint.ASSUMPTIONS_FILE.read_bytes() + b"# edited\n")
    monkeypatch.setattr(fingerprint, "ASSUMPTIONS_FILE", assumptions)
    assert batch.shared_inputs(DEFAULT_PROGRAMS, nbs) != base
    monkeypatch.undo()
    facts = tmp_path / "facts"
    facts.mkdir()
    for f in fingerprint.FACTS_DIR.iterdir():
        (facts / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(fingerprint, "FACTS_DIR", facts)
    assert batch.shared_inputs(DEFAULT_PROGRAMS, nbs) == base
    (facts / "odds_anchors.csv").write_bytes((facts / "odds_anchors.csv").read_bytes() + b"\n")
    assert batch.shared_inputs(DEFAULT_PROGRAMS, nbs) != base


def test_shared_fingerprint_changes_when_a_package_that_shapes_reports_is_upgraded(monkeypatch):
    nbs = tuple(NOTEBOOKS_DIR / n for n in ANALYSIS_NOTEBOOKS)
    base = batch.shared_inputs(DEFAULT_PROGRAMS, nbs)
    installed = fingerprint.package_versions()
    assert installed["pandas"] and installed["nbconvert"] and installed["python"]
    for name in ("pandas", "nbconvert", "python"):
        upgraded = {**installed, name: installed[name] + ".post1"}
        monkeypatch.setattr(fingerprint, "package_versions", lambda upgraded=upgraded: upgraded)
        assert batch.shared_inputs(DEFAULT_PROGRAMS, nbs) != base, name
    monkeypatch.undo()
    assert batch.shared_inputs(DEFAULT_PROGRAMS, nbs) == base


def fake_folder(root: Path, aid: str, inputs: str) -> Path:
    folder = root / aid
    folder.mkdir(parents=True)
    for name in batch.REPORT_FILES:
        (folder / name).write_text("{}" if name.endswith(".ipynb") else "x")
    (folder / "report.html").write_text("<!DOCTYPE html><html><body>r</body></html>\n")
    (folder / "summary.json").write_text(json.dumps({"applicant_id": aid, "programs": []}))
    (folder / batch.INPUTS_FILE).write_text(inputs + "\n")
    return folder


def test_complete_summary_needs_same_inputs_and_every_file(tmp_path):
    folder = fake_folder(tmp_path, "a1", "abc")
    assert batch.complete_summary(folder, "abc") == {"applicant_id": "a1", "programs": []}
    assert batch.complete_summary(folder, "abd") is None
    assert batch.complete_summary(folder, "abc", pdf=True) is None  # no report.pdf yet
    (folder / "plan.ics").write_text("")
    assert batch.complete_summary(folder, "abc") is None
    folder = fake_folder(tmp_path, "a2", "abc")
    (folder / "report.html").write_text("<!DOCTYPE html><html><body>cut off")
    assert batch.complete_summary(folder, "abc") is None
    folder = fake_folder(tmp_path, "a3", "abc")
    (folder / "01-tiering.ipynb").unlink()
    assert batch.complete_summary(folder, "abc") is None
    folder = fake_folder(tmp_path, "a4", "abc")
    (folder / "summary.json").write_text('{"applicant_id": "someone-else", "programs": []}')
    assert batch.complete_summary(folder, "abc") is None


def test_a_second_run_on_the_same_folder_is_refused(tmp_path):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with (out / batch.LOCK_FILE).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another awayplan run is writing to this folder"):
            batch.run_cohort([], DEFAULT_PROGRAMS, out, overview=False)


def test_a_run_leaves_no_lock_file_whether_it_ends_or_fails(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    batch.run_cohort([], DEFAULT_PROGRAMS, out, overview=False)
    assert not (out / batch.LOCK_FILE).exists()

    def broken(out_root):
        assert (out_root / batch.LOCK_FILE).exists()  # held while the run works
        raise OSError("disk full")

    monkeypatch.setattr(batch, "_clean_leftovers", broken)
    with pytest.raises(OSError, match="disk full"):
        batch.run_cohort([], DEFAULT_PROGRAMS, out, overview=False)
    assert not (out / batch.LOCK_FILE).exists()


def test_a_lock_file_removed_by_a_run_that_just_ended_is_not_trusted(tmp_path, monkeypatch):
    """A run opens the lock file; before it locks it, the run holding it ends and removes
    it. The lock it then gets is on a file no longer in the folder, so it locks a new one
    there (which a third run would see), not the removed one."""
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    flock = fcntl.flock
    calls = []

    def flock_after_the_other_run_ended(fh, how):
        if not calls:  # the other run removes the file between this run's open and lock
            (out / batch.LOCK_FILE).unlink()
        calls.append(fh.name)
        return flock(fh, how)

    monkeypatch.setattr(batch.fcntl, "flock", flock_after_the_other_run_ended)
    (out / batch.LOCK_FILE).touch()
    with batch._exclusive(out):
        assert len(calls) == 2
        monkeypatch.setattr(batch.fcntl, "flock", flock)
        with (out / batch.LOCK_FILE).open("a") as third, pytest.raises(BlockingIOError):
            fcntl.flock(third, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert not (out / batch.LOCK_FILE).exists()


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / batch.STAGING / "x-1234").mkdir(parents=True)
    (tmp_path / ".ex01.old-1234").mkdir()
    (tmp_path / "ex02").mkdir()
    batch._clean_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex02"]


def test_index_escapes_errors_and_links_reports(tmp_path):
    results = [
        batch.Result(
            "a-1",
            "ok",
            1.0,
            row={
                "eligible": 3,
                "unknown": 1,
                "excluded": 2,
                "rotations": 1,
                "cost": 1000,
                "budget": 2000,
                "chance": 0.4,
                "warnings": 0,
            },
        ),
        batch.Result("b-2", "failed", 0.0, "field 'name': <img src=x onerror=alert(1)>"),
    ]
    page = batch.write_index(tmp_path, results).read_text()
    assert '<a href="a-1/report.html">a-1</a>' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "$1,000 of $2,000" in page and "40%" in page and "report built" in page
    assert "overview.html" in page


@pytest.mark.slow
def test_cli_rejects_bad_run_options(tmp_path):
    out = tmp_path / "out"
    for args in (["--workers", "0"], ["--timeout", "0"], ["--timeout", "soon"], ["--timeout", "inf"]):
        res = awayplan("report", "--cohort", "data/example-cohort", "--out", str(out), *args)
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr
    assert not out.exists()


# -------------------------------------------------------------------------- local workers


def test_local_workers_start_with_the_kit_already_imported():
    """Workers are forked from a forkserver that imported the kit once (backends.WORKER_MODULES),
    so the first applicant on each worker does not pay for those imports again."""
    from helpers.backends import WORKER_MODULES, LocalBackend

    check = f"[m for m in {list(WORKER_MODULES)!r} if m not in __import__('sys').modules]"
    with LocalBackend(1) as backend:
        missing = backend.call(eval, check).result(timeout=120)
    assert missing == []


def test_an_error_stops_busy_local_workers_at_once():
    """After an error (or Ctrl-C), close(cancel=True) stops the workers mid-task, even after the
    last task was submitted (when the pool itself has forgotten them)."""
    import psutil

    from helpers.backends import LocalBackend

    backend = LocalBackend(1)
    worker = psutil.Process(backend.call(os.getpid).result(timeout=120))
    backend.call(time.sleep, 600)
    backend.last_task_submitted()
    backend.close(cancel=True)
    worker.wait(timeout=30)  # psutil.TimeoutExpired if the worker were still busy


def test_ctrl_c_while_the_pool_waits_for_its_forkserver_leaves_no_worker_to_fail(tmp_path):
    """A Ctrl-C while the main thread waits for the forkserver to finish its imports (slowed
    here by a module that sleeps 3 s): no pool is waiting with its workers' start-up data
    sent, so no worker is forked after the pool has gone, to fail on its removed semaphore
    with a traceback. The forkserver and the readiness probe finish quietly on their own."""
    (tmp_path / "slowimport.py").write_text("import time\ntime.sleep(3)\n")
    script = textwrap.dedent(
        f"""
        import os, signal, sys, threading, time
        sys.path.insert(0, {str(tmp_path)!r})
        from helpers import backends
        backends.WORKER_MODULES = (*backends.WORKER_MODULES, "slowimport")
        def interrupt_once_waiting():  # Ctrl-C once the main thread waits for the forkserver
            while True:
                frame = sys._current_frames().get(threading.main_thread().ident)
                while frame is not None and frame.f_code.co_name != "read_signed":
                    frame = frame.f_back
                if frame is not None:
                    return os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)
        threading.Thread(target=interrupt_once_waiting, daemon=True).start()
        try:
            with backends.LocalBackend(1) as pool:
                print("worker", pool.call(os.getpid).result(timeout=60))
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # returns once every process holding stderr has ended
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert res.stdout == "interrupted\n", (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr


def test_a_local_worker_closes_its_kernels_on_its_way_out(tmp_path):
    """Forked workers leave with os._exit, which skips atexit: their Runner is closed by a
    multiprocessing finalizer, so the worker's kernel folder (and the zygote, spare kernel
    and browser it holds) is gone once the pool has shut down."""
    import psutil

    from helpers.backends import LocalBackend

    where = (
        "(lambda r: (r.warm(), str(r.kernels.tmp), r.kernels.zygote.pid))"
        "(__import__('helpers.execution', fromlist=['x']).worker_runner())[1:]"
    )
    with LocalBackend(1) as backend:
        folder, zygote = backend.call(eval, where).result(timeout=120)
        assert Path(folder).is_dir()
    assert not Path(folder).exists()
    assert not psutil.pid_exists(zygote) or psutil.Process(zygote).status() == psutil.STATUS_ZOMBIE
