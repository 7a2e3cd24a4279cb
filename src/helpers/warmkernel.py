"""Warm kernels: one pre-imported process forks a fresh IPython kernel for every applicant.

A new Python kernel spends about two seconds starting and importing pandas, matplotlib and
the kit before the first cell runs. Here a "zygote" process does that work once; each
applicant then gets a kernel forked from it (a few milliseconds) that is killed when the
applicant is done. Every applicant still runs in its own process, so nothing one
applicant's notebooks leave in memory can reach another's report.

A cohort run on this machine starts one zygote for all its workers (SharedZygoteServer,
reached over a Unix socket), before the command has imported the kit itself; a worker on
its own (one report, a Dask worker, or a shared zygote out of reach) starts its own.

The zygote imports modules and loads shared data only (facts, assumptions, the odds
calibration); it never sees an applicant. Kernels are started through jupyter_client's
public provisioner interface (the `awayplan-fork` entry point, named in the kernel spec's
metadata), so papermill and nbclient drive them like any other kernel.

Forking is only safe while the zygote has a single thread (a fork copies just the calling
thread; a lock another thread held would stay locked in the child), so the zygote checks
that before every fork and otherwise says no: the kernel then starts the ordinary way.
The zygote never reaps a kernel on its own: a kernel that exits stays a zombie until the
worker asks for its exit status, so its process id (and group id) cannot be reused while
the worker may still signal it.
"""

from __future__ import annotations

import abc
import contextlib
import gc
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

import psutil
from jupyter_client import KernelManager, protocol_version_info
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from traitlets import Any as AnyTrait

READY_TIMEOUT = 180.0  # seconds for the zygote's imports on a busy machine
FORK_TIMEOUT = 30.0
KERNEL_READY_TIMEOUT = 60.0
KERNEL_ARGS = ["--HistoryManager.enabled=False"]
# One thread per numerical library: the kit runs one kernel per core, not one per thread.
THREAD_LIMITS = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
TMP_PREFIX = "awayplan-kernels-"
OWNER_FILE = "owner"  # "pid create_time" of the worker that owns a kernel folder
PROVISIONER = "awayplan-fork"  # entry point in jupyter_client.kernel_provisioners (pyproject.toml)


class KernelStartError(RuntimeError):
    """The zygote or a forked kernel did not come up."""


# --------------------------------------------------------------------------------------
# The zygote process (`python -m helpers.warmkernel`)


def warm_up() -> None:
    """Import what the analysis notebooks import and load the shared data caches."""
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as ipykernel would set it
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
    from matplotlib.figure import Figure

    from . import notebook, plots, views  # noqa: F401

    plots.png_bytes(Figure(figsize=(1, 1)))  # loads fonts and the PNG writer
    with contextlib.suppress(ImportError):
        import ipykernel.debugger  # noqa: F401  (imports debugpy, which the kernel starts)
    # Shared, applicant-free data; each is cached by its own module.
    with contextlib.suppress(Exception):
        from .assumptions import load_assumptions
        from .config import DEFAULT_PROGRAMS
        from .facts import load_facts
        from .odds import _reference_weight, calibrate
        from .programs import load_programs
        from .tiering import STRENGTH_SHIFT

        facts = load_facts()
        assume = load_assumptions()
        cal = calibrate(str(facts.folder))  # the same cache key as analysis.analyse()
        for label in STRENGTH_SHIFT:  # the national reference, per strength label (R-M1)
            _reference_weight(label, str(facts.folder), str(assume.file))
        plots.png_display(plots.calibration(cal.reproduction))  # the same for every applicant
        load_programs(DEFAULT_PROGRAMS)  # the bundled table (and the odds' national reference)
        views.warm_up()  # templates compiled, the XLSX writer loaded
    from . import stages

    stages.taken(reset=True)  # kernels count their own applicant's time, not the warm-up's
    # Everything imported and cached so far lives as long as the zygote: out of the garbage
    # collector's sight, so a kernel's collections do not walk it (and do not write to its
    # pages, which the kernels share with the zygote until written).
    gc.collect()
    gc.freeze()


def _become_kernel(argv: list[str], cwd: str, log: str) -> None:
    """In a fresh fork: detach, redirect output to the log, run an IPython kernel, exit."""
    code = 1
    try:
        os.setsid()  # its own process group, so killing the kernel kills what it started
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        os.chdir(cwd)
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # the kernel exits if the zygote dies
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class _Client:
    """One worker's line-based conversation with the zygote: its kernels, and the kernel
    folder to remove if it goes without a goodbye."""

    def __init__(self, rfd: int, wfd: int, workdir: Path | None = None, sock=None):
        self.rfd, self.wfd, self.workdir, self.sock = rfd, wfd, workdir, sock
        self.buffer = b""
        self.children: set[int] = set()
        self.said_bye = False

    def send(self, reply: dict) -> None:
        data = (json.dumps(reply) + "\n").encode()
        with contextlib.suppress(OSError):
            while data:
                data = data[os.write(self.wfd, data) :]

    def lines(self) -> list[str] | None:
        """The complete request lines now readable; None when the worker has gone."""
        try:
            chunk = os.read(self.rfd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            return None
        self.buffer += chunk
        *done, self.buffer = self.buffer.split(b"\n")
        return [x.decode() for x in done if x.strip()]

    def end(self) -> None:
        """Take the worker's kernels along; without a goodbye the worker was killed, so its
        kernel folder goes too (a killed run leaves nothing behind)."""
        for pid in self.children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # unreaped, so the group id is still this kernel's
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        self.children.clear()
        if not self.said_bye and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()


def serve(workdir: Path | None = None, shared: Path | None = None) -> None:
    """Zygote main loop: one JSON request per line, one JSON reply per line.

    Alone (the default) it serves one worker on stdin and stdout, and exits when that
    worker says goodbye or goes. Shared (`shared` = a socket path), it serves every worker
    that connects there (each first says {"hello": its kernel folder}) and exits when its
    parent closes stdin. A worker that goes loses its kernels; one that goes without a
    goodbye also loses its kernel folder.
    """
    requests = os.dup(0)
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # a stray print during imports must not corrupt the protocol
    os.close(null)
    try:
        warm_up()
    except BaseException as exc:
        os.write(replies, (json.dumps({"error": f"{exc.__class__.__name__}: {exc}"}) + "\n").encode())
        raise SystemExit(1) from exc
    # SIGCHLD keeps its default: a kernel that exits stays a zombie until the worker asks
    # for its status ({"poll": pid}), so its pid cannot be reused while the worker may signal it.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    listener = None
    clients: list[_Client] = []
    if shared is None:
        clients.append(_Client(requests, replies, workdir))
    else:
        import socket

        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(shared))  # workers wait for this path: it means "ready"
        listener.listen(64)
    os.write(replies, (json.dumps({"ready": os.getpid()}) + "\n").encode())
    while clients or listener is not None:
        watched = [c.rfd for c in clients]
        if listener is not None:
            watched += [listener.fileno(), requests]
        ready = set(select.select(watched, [], [])[0])
        if listener is not None and requests in ready and not os.read(requests, 4096):
            break  # the parent has closed stdin: the run is over
        if listener is not None and listener.fileno() in ready:
            sock, _ = listener.accept()
            clients.append(_Client(sock.fileno(), sock.fileno(), None, sock))
        for c in [c for c in clients if c.rfd in ready]:
            lines = c.lines()
            for line in lines or []:
                req = json.loads(line)
                if req.get("bye"):
                    c.said_bye = True
                    break
                c.send(_answer(c, req, clients, listener, requests, replies))
            if lines is None or c.said_bye:
                c.end()
                clients.remove(c)
    for c in clients:
        c.end()
    if listener is not None:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(shared)


def _answer(c: _Client, req: dict, clients: list[_Client], listener, *fds: int) -> dict:
    if "hello" in req:
        c.workdir = Path(req["hello"])
        return {"ready": os.getpid()}
    if "poll" in req:
        return _reap(int(req["poll"]), c.children)
    if unsafe := fork_unsafe():
        return {"unsafe": unsafe}
    pid = os.fork()
    if pid == 0:  # the kernel keeps none of the zygote's conversations
        raw = set(fds)
        for x in clients:
            if x.sock is not None:
                with contextlib.suppress(OSError):
                    os.close(x.sock.detach())  # detached: no socket object left to close it again
            else:
                raw |= {x.rfd, x.wfd}
        if listener is not None:
            listener.close()
        for fd in raw:
            with contextlib.suppress(OSError):
                os.close(fd)
        _become_kernel(req["argv"], req["cwd"], req["log"])
    c.children.add(pid)
    return {"pid": pid}


def fork_unsafe() -> str:
    """Why this process must not fork now ('' when it may): it must have a single thread.

    Python's own count misses threads started by C libraries, so on Linux the kernel's
    count (/proc/self/task) must agree.
    """
    n = threading.active_count()
    if n != 1:
        return f"{n} Python threads"
    try:
        tasks = len(os.listdir("/proc/self/task"))
    except OSError:  # no /proc (not Linux): Python's count is all there is
        return ""
    return "" if tasks == 1 else f"{tasks} threads"


def _reap(pid: int, children: set[int]) -> dict:
    """{"running": true}, or the kernel's exit code (Popen's convention: -N for signal N)."""
    if pid not in children:
        return {"exit": None}
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        children.discard(pid)
        return {"exit": None}
    if done == 0:
        return {"running": True}
    children.discard(pid)
    return {"exit": os.waitstatus_to_exitcode(status)}


# --------------------------------------------------------------------------------------
# The worker's side


class _ZygoteLink(abc.ABC):
    """A worker's conversation with a zygote: one JSON request line, then its one JSON reply
    line, one request at a time. Subclasses say where the lines go (a zygote of the worker's
    own, or the one a cohort run shares) and how the conversation ends."""

    def __init__(self) -> None:
        self._buffer = b""
        self._lock = threading.Lock()  # one request at a time (the timeout thread polls too)

    @property
    @abc.abstractmethod
    def pid(self) -> int:
        """The zygote's process id: the parent of every kernel it forks."""

    @abc.abstractmethod
    def alive(self) -> bool:
        """Whether the zygote can still answer."""

    @abc.abstractmethod
    def close(self) -> None:
        """Say goodbye (the zygote kills this worker's kernels) and end the conversation."""

    @abc.abstractmethod
    def _fileno(self) -> int:
        """The descriptor the reply lines arrive on."""

    @abc.abstractmethod
    def _write(self, data: bytes) -> None:
        """Send request bytes to the zygote."""

    def _tail(self) -> str:
        """What the zygote last said about itself, for an error message."""
        return "no message"

    def _read(self, timeout: float) -> dict:
        fd = self._fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelStartError(f"warm kernel process did not answer within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise KernelStartError(f"warm kernel process exited ({self._tail()})")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def request(self, message: dict, timeout: float = FORK_TIMEOUT) -> dict:
        """Send one request line and read its reply line."""
        with self._lock:
            try:
                self._write((json.dumps(message) + "\n").encode())
            except (BrokenPipeError, OSError, ValueError) as exc:
                raise KernelStartError(f"warm kernel process is gone ({exc})") from exc
            return self._read(timeout)

    def fork(self, argv: list[str], cwd: str, log: str) -> int | None:
        """Ask for a kernel: its process id (not yet listening), or None when the zygote
        cannot fork safely (it has more than one thread)."""
        reply = self.request({"argv": argv, "cwd": cwd, "log": log})
        return int(reply["pid"]) if "pid" in reply else None

    def poll(self, pid: int) -> dict:
        """A forked kernel's state: {"running": true}, or {"exit": its exit code, or None
        when the zygote does not know it}."""
        return self.request({"poll": pid})

    def _goodbye(self) -> None:
        """The last request: the zygote kills this worker's kernels. Nothing to read back."""
        self._write(b'{"bye": true}\n')


class Zygote(_ZygoteLink):
    """A zygote process of the worker's own and the pipe to ask it for kernels; its error
    output goes to `log`."""

    def __init__(self, log: Path):
        super().__init__()
        env = _zygote_env()
        self.log = log
        self._log_file = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.warmkernel", str(log.parent)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=env,
            start_new_session=True,  # a Ctrl-C reaches the worker, which then closes us
        )
        reply = self._read(READY_TIMEOUT)
        if "ready" not in reply:
            self.close()
            raise KernelStartError(f"warm kernel process failed: {reply.get('error', reply)}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _fileno(self) -> int:
        assert self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def _write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _tail(self) -> str:
        return _last_line(self.log) or "no message"

    def close(self) -> None:
        """Say goodbye, close the zygote's input and wait for it to exit (killed after 5 s)."""
        with contextlib.suppress(Exception):
            if self.proc.stdin:
                self._goodbye()
                self.proc.stdin.close()
        _wait_or_kill(self.proc)
        with contextlib.suppress(Exception):
            if self.proc.stdout:
                self.proc.stdout.close()
        self._log_file.close()


class SharedZygote(_ZygoteLink):
    """A connection to the zygote a cohort run shares between its workers (SharedZygoteServer):
    the same requests as a worker's own zygote, over a Unix socket. Closing says goodbye
    (the zygote kills this worker's kernels) and leaves the zygote running for the others."""

    def __init__(self, address: str, workdir: Path):
        """Connect to the zygote at `address` (SharedZygoteServer.address), waiting for it to
        finish its imports, and introduce this worker's kernel folder `workdir`."""
        import socket

        super().__init__()
        pid, _, path = address.partition(":")
        self._server = int(pid)
        deadline = time.monotonic() + READY_TIMEOUT
        while not os.path.exists(path):  # bound once the zygote's imports are done
            if not _running(self._server) or time.monotonic() > deadline:
                raise KernelStartError("the shared warm kernel process did not start")
            time.sleep(0.02)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
            reply = self.request({"hello": str(workdir)}, READY_TIMEOUT)
        except (OSError, KernelStartError) as exc:
            self.sock.close()
            raise KernelStartError(f"the shared warm kernel process did not answer ({exc})") from exc
        if "ready" not in reply:
            self.sock.close()
            raise KernelStartError(f"the shared warm kernel process refused: {reply}")

    @property
    def pid(self) -> int:
        return self._server

    def alive(self) -> bool:
        return self.sock.fileno() >= 0 and _running(self._server)

    def _fileno(self) -> int:
        return self.sock.fileno()

    def _write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        """Say goodbye and close the socket; the zygote stays for the other workers."""
        with contextlib.suppress(OSError):
            self._goodbye()
        self.sock.close()


class SharedZygoteServer:
    """One zygote for all the workers of a cohort run on this machine, started before the
    command has imported the kit, so its imports overlap the command's own and happen once
    instead of once per worker. Workers are given its `address` (WarmKernels' `shared`); a
    worker that cannot reach it starts its own zygote."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "shared-"))
        me = psutil.Process()
        (self.folder / OWNER_FILE).write_text(f"{me.pid} {me.create_time()}\n")
        self.path = self.folder / "zygote.sock"
        env = _zygote_env()
        self._log = (self.folder / "zygote.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.warmkernel", "--shared", str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=env,
            start_new_session=True,
        )

    @property
    def address(self) -> str:
        """What a worker needs to connect (SharedZygote): "pid:socket path"."""
        return f"{self.proc.pid}:{self.path}"

    def close(self) -> None:
        """Stop the zygote (it kills any kernel still running) and remove its folder."""
        if not self.path.exists():  # still importing: no kernel can exist yet
            self.proc.kill()
        with contextlib.suppress(OSError):
            if self.proc.stdin:
                self.proc.stdin.close()
        _wait_or_kill(self.proc)
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class ForkedProcess:
    """The part of subprocess.Popen that jupyter_client uses, for a kernel the zygote forked.

    The zygote is the kernel's parent, so it alone can reap the kernel and read its exit
    status: poll() asks it. Until then the kernel is at worst a zombie and its pid and
    process group id stay its own, so a signal sent after poll() said "running" (under the
    same lock) cannot reach an unrelated process.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, zygote: _ZygoteLink):
        self.pid = pid
        self.zygote = zygote
        self.returncode: int | None = None
        self._lock = threading.RLock()

    def poll(self) -> int | None:
        with self._lock:
            if self.returncode is None:
                try:
                    reply = self.zygote.poll(self.pid)
                except KernelStartError:
                    reply = {"exit": None}
                if "exit" in reply:
                    # None: the zygote has gone, and it kills its kernels on the way out.
                    code = reply["exit"]
                    self.returncode = -signal.SIGKILL if code is None else int(code)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.01)
        return code

    def send_signal(self, signum: int, group: bool = False) -> None:
        """Signal the kernel (or its whole process group) unless it has been reaped."""
        with self._lock:
            if self.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    (os.killpg if group else os.kill)(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by forking the zygote instead of running a new Python.

    Registered as the `awayplan-fork` provisioner; the kernel spec's metadata passes the
    `WarmKernels` that owns the zygote. When the zygote says a fork is not safe, the kernel
    starts the ordinary way (LocalProvisioner's new process).
    """

    warm = AnyTrait(None, allow_none=True, help="the WarmKernels whose zygote forks the kernel")
    log_path: str = os.devnull
    forked = False

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        if self.warm is None:
            raise KernelStartError("no warm kernel process")
        # The kernel's own arguments: everything after `-m ipykernel_launcher`.
        argv = cmd[cmd.index("ipykernel_launcher") + 1 :] if "ipykernel_launcher" in cmd else cmd[1:]
        cwd = str(kwargs.get("cwd") or Path.cwd())
        self.log_path = str(self.warm.tmp / f"{self.kernel_id}.log")
        zygote = self.warm.zygote_now()
        pid = zygote.fork(argv, cwd, self.log_path)
        if pid is None:  # the zygote has more than one thread: start a new Python instead
            kwargs["env"] = {**kwargs.get("env", os.environ), **THREAD_LIMITS}
            return await super().launch_kernel(cmd, **kwargs)
        self.forked = True
        self.process = ForkedProcess(pid, zygote)
        self.pid = pid
        self.pgid = pid  # the kernel calls setsid()
        self.cwd = cwd
        return self.connection_info

    async def send_signal(self, signum: int) -> None:
        if isinstance(self.process, ForkedProcess):
            self.process.send_signal(signum, group=True)
        else:
            await super().send_signal(signum)


class QuickReadyClient(AsyncKernelClient):
    """An async client (so nbclient notices a dead kernel) that is ready as soon as the kernel
    has answered kernel_info and IOPub has carried that request's idle status.

    jupyter_client's own check then waits for 0.2 s of IOPub silence; that wait, three
    times per applicant, was a quarter of a warm applicant's time.
    """

    def start_channels(
        self,
        shell: bool = True,
        iopub: bool = True,
        stdin: bool = True,
        hb: bool = True,
        control: bool = True,
    ) -> None:
        """The channels asked for, but never the heartbeat.

        Liveness comes from the manager (the provisioner polls the process), so nothing here
        reads the heartbeat. Its thread, one per notebook, pings every second and, after one
        second without a reply (a loaded machine, or a kernel just killed), closes its socket
        and opens another; one such reopening, at the end of a cohort run on a busy 2-core
        machine, failed with "Too many open files" and printed a thread traceback.
        """
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else KERNEL_READY_TIMEOUT)
        while True:
            msg_id = self.kernel_info()
            if await self._answered(msg_id, deadline):
                return
            prov = getattr(self.parent, "provisioner", None)
            if prov is not None and await prov.poll() is not None:
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError("Kernel didn't respond in time")

    async def _answered(self, msg_id: str, deadline: float) -> bool:
        replied = idle = False
        until = min(deadline, time.monotonic() + 0.1)  # then ask again: IOPub may have joined late
        while not (replied and idle) and time.monotonic() < until:
            if not replied:
                try:
                    msg = await self.shell_channel.get_msg(timeout=0.05)
                except Empty:
                    pass
                else:
                    if msg["parent_header"].get("msg_id") == msg_id:
                        replied = msg["msg_type"] == "kernel_info_reply"
                        if replied:
                            self._adapt_protocol(msg)
            try:
                msg = await self.iopub_channel.get_msg(timeout=0.01 if not replied else 0.05)
            except Empty:
                continue
            if (
                msg["msg_type"] == "status"
                and msg["parent_header"].get("msg_id") == msg_id
                and msg["content"].get("execution_state") == "idle"
            ):
                idle = True
        return replied and idle

    def _adapt_protocol(self, msg: dict) -> None:
        """What jupyter_client does with a kernel_info reply: speak the kernel's protocol."""
        major = int(msg["content"]["protocol_version"].split(".")[0])
        if major != protocol_version_info[0]:
            self.session.adapt_version = major


class WarmKernelSpecs(KernelSpecManager):
    """The installed kernel specs, each naming the fork provisioner (and its WarmKernels) in
    its metadata: the public way to pick a provisioner for a kernel."""

    warm = AnyTrait(None, allow_none=True)

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        spec = super().get_kernel_spec(kernel_name)
        spec.metadata = {
            **spec.metadata,
            "kernel_provisioner": {"provisioner_name": PROVISIONER, "config": {"warm": self.warm}},
        }
        return spec


class WarmKernelManager(KernelManager):
    """A KernelManager that remembers the clients it hands out (papermill asks for one per
    notebook and, not owning the kernel, never closes it), so that stopping the kernel also
    closes their sockets; otherwise every notebook would leave a ZeroMQ context and its
    thread behind in the worker."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.clients: list = []

    def client(self, **kwargs: Any):
        kc = super().client(**kwargs)
        self.clients.append(kc)
        return kc


class WarmKernels:
    """Per worker: a zygote, and fresh kernels from it on request (one retry on failure).

    `prepare_spare()` forks the next kernel ahead of time, so it starts up while the worker
    renders the previous report; a spare has never run anything.

    With `shared` (SharedZygoteServer.address), kernels come from a cohort run's shared
    zygote; without it, or when that zygote cannot be reached, from a zygote of this worker's own.
    """

    def __init__(self, cwd: Path, shared: str | None = None):
        self.cwd = cwd
        self.shared = shared
        _sweep_orphans()
        self.tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        me = psutil.Process()
        (self.tmp / OWNER_FILE).write_text(f"{me.pid} {me.create_time()}\n")
        self.zygote: _ZygoteLink | None = None
        self.spare: KernelManager | None = None
        self.started = 0
        self.specs = WarmKernelSpecs(warm=self)

    def zygote_now(self) -> _ZygoteLink:
        """The running zygote, started (again) if need be."""
        return self._ensure_zygote()

    def _ensure_zygote(self) -> _ZygoteLink:
        if self.zygote is None or not self.zygote.alive():
            if self.zygote is not None:
                self.zygote.close()
            self.zygote = None
            if self.shared:
                with contextlib.suppress(KernelStartError):
                    self.zygote = SharedZygote(self.shared, self.tmp)
            self.zygote = self.zygote or Zygote(self.tmp / "zygote.log")
        return self.zygote

    def prepare_spare(self) -> None:
        if self.spare is None:
            self.spare = self._launch()

    def start(self, retries: int = 1) -> KernelManager:
        """A started, responsive kernel; KernelStartError after 1 + retries failed attempts."""
        errors = []
        for _ in range(1 + retries):
            km = None
            try:
                km, self.spare = (self.spare or self._launch()), None
                self._wait_ready(km)
                return km
            except Exception as exc:
                errors.append(f"{exc.__class__.__name__}: {exc}".splitlines()[0])
                if km is not None:
                    self.stop(km)
                if self.zygote is not None:  # start over from a new zygote
                    self.zygote.close()
                    self.zygote = None
        raise KernelStartError("kernel did not start (" + "; then ".join(errors) + ")")

    def _launch(self) -> WarmKernelManager:
        """Fork a kernel from the zygote (returns before the kernel is listening)."""
        name = f"k{self.started}-{uuid.uuid4().hex[:6]}"
        self.started += 1
        km = WarmKernelManager(
            kernel_name="python3",
            kernel_id=name,
            kernel_spec_manager=self.specs,
            transport="ipc",
            ip=str(self.tmp / name),
            connection_file=str(self.tmp / f"{name}.json"),
            client_class="helpers.warmkernel.QuickReadyClient",
        )
        try:
            km.start_kernel(cwd=str(self.cwd), extra_arguments=KERNEL_ARGS)
        except Exception:
            self.stop(km)
            raise
        return km

    def _wait_ready(self, km: KernelManager) -> None:
        async def ready() -> None:
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=KERNEL_READY_TIMEOUT)
            finally:
                kc.stop_channels()

        try:
            run_sync(ready)()
        except Exception as exc:
            tail = _last_line(Path(getattr(km.provisioner, "log_path", None) or os.devnull))
            raise KernelStartError(f"{exc}{f' ({tail})' if tail else ''}") from exc

    def kill(self, km: KernelManager) -> None:
        """Kill a kernel and what it started, now; safe from another thread (the timeout)."""
        proc = getattr(km.provisioner, "process", None)
        if isinstance(proc, ForkedProcess):
            proc.send_signal(signal.SIGKILL, group=True)
        elif proc is not None and proc.poll() is None:  # a kernel started the ordinary way
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)

    def stop(self, km: KernelManager) -> None:
        """Kill the kernel, close its clients, remove its connection, socket and log files."""
        self.kill(km)
        for kc in getattr(km, "clients", []):
            with contextlib.suppress(Exception):
                kc.stop_channels()
        proc = getattr(km.provisioner, "process", None)
        with contextlib.suppress(Exception):
            if proc is not None:
                proc.wait(timeout=5)
        with contextlib.suppress(Exception):
            km.cleanup_resources()
        log = Path(getattr(km.provisioner, "log_path", None) or os.devnull)
        if log.parent == self.tmp:
            log.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the spare kernel and the zygote; remove the temporary folder."""
        if self.spare is not None:
            self.stop(self.spare)
            self.spare = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _zygote_env() -> dict[str, str]:
    """A zygote's environment: one thread per numerical library, unbuffered, and the kernel
    backend left to ipykernel (the zygote sets it as a kernel would)."""
    env = {**os.environ, **THREAD_LIMITS, "PYTHONUNBUFFERED": "1"}
    env.pop("MPLBACKEND", None)
    return env


def _wait_or_kill(proc: subprocess.Popen, timeout: float = 5) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _running(pid: int) -> bool:
    """The process exists and has not exited (an exited child is a zombie until reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _sweep_orphans() -> None:
    """Remove kernel folders whose worker and zygote were both killed outright (SIGKILL)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            pid, created = (folder / OWNER_FILE).read_text().split()
            alive = psutil.Process(int(pid)).create_time() == float(created)
        except psutil.NoSuchProcess:
            alive = False
        except (OSError, ValueError, psutil.Error):
            continue  # not ours to judge
        if not alive:
            shutil.rmtree(folder, ignore_errors=True)


def _last_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
        if lines:
            return lines[-1][:300]
    return ""


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--shared":
        serve(shared=Path(sys.argv[2]))
    else:
        serve(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    # Its kernels are gone and it holds no files open for writing: skip the interpreter's
    # teardown of everything warm_up() imported (about half a second the worker waits for).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
