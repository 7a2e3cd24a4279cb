"""JupyterLab, as `make lab` starts it, runs the start-here notebook in a real browser.

The server runs on localhost (free port, a token, no browser) over the notebooks folder,
the way `make lab` starts it: from the kit's environment, without that environment on
PATH, and with a user-level `python3` kernel that points elsewhere, so the test shows
the notebooks get the kit's own kernel. Debian's chromium, driven by Playwright, opens
00-start-here, runs all cells, waits for the kernel to be idle, checks that no cell
failed and that the what-if controls answer, and saves a screenshot (in pytest's
temporary folder, or in AWAYPLAN_SCREENSHOT_DIR when set). Nothing in the repository is
written: autosave is off, and checkpoints, settings and runtime files go to a temporary
folder.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

from helpers.report import BROWSER_FLAGS

NOTEBOOK = "00-start-here.ipynb"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = BROWSER_FLAGS
REQUIRED = os.environ.get("AWAYPLAN_REQUIRE_BROWSER", "") not in ("", "0")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - dev extra not installed
    sync_playwright = None

have_browser = Path(CHROMIUM).exists() and sync_playwright is not None
needs_browser = pytest.mark.skipif(
    not have_browser and not REQUIRED,
    reason="chromium or playwright is missing (CI installs chromium and sets AWAYPLAN_REQUIRE_BROWSER=1)",
)

# Lab settings for the test only: no autosave (the tracked notebook must stay stripped),
# no news or update checks (no network), every cell in the page (no windowing).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Reads the open notebook's model: per code cell, its execution count and output types.
CELL_STATE = """() => {
  const app = window.jupyterapp;  // undefined until JupyterLab has started
  const panel = app && app.shell ? app.shell.currentWidget : null;
  if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
  const cells = panel.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const outputs = c.outputs.toJSON();
    out.push({
      index: i,
      count: c.executionCount,
      types: outputs.map(o => o.output_type),
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      stderr: outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr').map(o => o.text),
      html: outputs.map(o => (o.data && o.data['text/html']) || '').join(''),
    });
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {status: kernel ? kernel.status : 'none', kernel: kernel ? kernel.name : '', cells: out};
}"""

FINISHED = f"""() => {{
  const s = ({CELL_STATE})();
  if (!s || s.status !== 'idle' || s.cells.length === 0) return false;
  return s.cells.every(c => c.count !== null) || s.cells.some(c => c.errors.length > 0);
}}"""

KERNEL_IDLE = f"""() => {{ const s = ({CELL_STATE})(); return !!s && s.status === 'idle'; }}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path) -> None:
    for name, value in SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def shadow_kernel(data_dir: Path) -> None:
    """A user-level python3 kernel for another Python, which must not win over the kit's."""
    spec = data_dir / "kernels" / "python3"
    spec.mkdir(parents=True)
    other = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {
                "argv": [other, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (another installation)",
                "language": "python",
            }
        )
    )


@pytest.fixture
def lab(tmp_path):
    """`make lab` on a free port with a token; yields (base URL, token); stopped after."""
    port, token = free_port(), secrets.token_hex(16)
    settings, data = tmp_path / "settings", tmp_path / "data"
    write_settings(settings)
    shadow_kernel(data)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHONWARNINGS": "ignore",
    }
    args = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--FileCheckpoints.checkpoint_dir={tmp_path / 'checkpoints'}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",  # no PyPI queries
    ]
    # The Makefile's own recipe, with this test's environment and the flags above; STAMP=
    # skips the install step (the environment running the tests is already installed).
    make = shutil.which("make", path=env["PATH"]) or "make"
    cmd = [make, "-s", "-C", str(ROOT), "lab", "STAMP=", f"BIN={venv_bin}", f"LAB_ARGS={' '.join(args)}"]
    log = (tmp_path / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited early:\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 90 s")
            time.sleep(0.5)
        yield base, token
    finally:
        # Stop the server and the kernels it started (its own process group, by id).
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        log.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
@needs_browser
def test_start_here_runs_in_jupyterlab_without_errors(lab, tmp_path):
    assert have_browser, f"chromium ({CHROMIUM}) and playwright are required here"
    base, token = lab
    tracked = (ROOT / "notebooks" / NOTEBOOK).read_bytes()
    shots = Path(os.environ.get("AWAYPLAN_SCREENSHOT_DIR") or tmp_path)  # CI may keep them
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "start-here.png"
    console_errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", timeout=120_000)
            page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=500)

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.wait_for_function(FINISHED, timeout=300_000, polling=500)
            state = page.evaluate(CELL_STATE)

            failed = [(c["index"], c["errors"]) for c in state["cells"] if c["errors"]]
            assert failed == [], f"cells failed in JupyterLab: {failed}"
            assert all(c["count"] is not None for c in state["cells"])
            stderr = [(c["index"], c["stderr"]) for c in state["cells"] if c["stderr"]]
            assert stderr == [], f"cells wrote to stderr: {stderr}"
            assert state["kernel"] == "python3"
            env_line = next(c["html"] for c in state["cells"] if "Kernel: Python" in c["html"])
            assert str(Path(sys.prefix).resolve()) in env_line, env_line  # the kit's environment
            assert page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0

            # The what-if controls are live: the summary answers a change made in the page.
            assert page.locator(".widget-tab").count() == 1
            assert page.locator(".widget-slider").count() >= 3
            t0 = time.perf_counter()
            page.locator(".widget-toggle-button", has_text="graduate").click()
            page.get_by_text("school_status: student -> graduate").wait_for(timeout=60_000)
            round_trip = time.perf_counter() - t0
            page.locator(".widget-dropdown select").select_option(label="H-1B")
            page.get_by_text("visa_needed: j1 -> h1b").wait_for(timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000, polling=250)

            explorer = page.locator(".jp-OutputArea-output", has=page.locator(".widget-tab"))
            explorer.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    print(f"\nscreenshot: {shot}\nbrowser round trip for one control change: {round_trip:.2f} s")
    print(f"console errors (not failures): {len(console_errors)}")
    assert shot.stat().st_size > 10_000
    assert (ROOT / "notebooks" / NOTEBOOK).read_bytes() == tracked  # nothing saved into the repository
