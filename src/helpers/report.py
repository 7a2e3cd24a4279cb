"""report.html: the three executed notebooks as one self-contained page, no code shown.

nbconvert's `basic` template renders cell outputs and markdown without inputs; the
parameters cells (and cells tagged `remove-in-report`) are dropped, so no path or
parameter value appears. The page carries its own CSS, images are inline, and a Content
Security Policy forbids any network load or script, so it works offline and cannot run
what a user typed.
"""

from __future__ import annotations

import copy
import html
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from . import __version__
from .outputs import write_atomic

DROP_TAGS = {"parameters", "injected-parameters", "remove-in-report"}
SECTIONS = (("tiering", "Tiering"), ("budget", "Budget"), ("timing", "Timing"))
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_EXPORTER: HTMLExporter | None = None


def exporter() -> HTMLExporter:
    """One HTML exporter per process (building it compiles templates, which is slow)."""
    global _EXPORTER
    if _EXPORTER is None:
        _EXPORTER = HTMLExporter(
            template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
        )
    return _EXPORTER


def strip_for_report(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without parameters cells, report-hidden cells, error tracebacks or stderr."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & DROP_TAGS:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
        cells.append(cell)
    nb.cells = cells
    return nb


def notebook_body(nb: nbformat.NotebookNode) -> str:
    body, _ = exporter().from_notebook_node(strip_for_report(nb))
    return body


def render(
    applicant_id: str, name: str | None, notebooks: list[nbformat.NotebookNode], generated: str
) -> str:
    """The report page for one applicant from its executed notebooks (in section order)."""
    css = resources.files("helpers").joinpath("templates/report.css").read_text(encoding="utf-8")
    who = html.escape(applicant_id) + (f" — {html.escape(name)}" if name else "")
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>awayplan report: {html.escape(applicant_id)}</title>",
        f"<style>{css}</style></head><body>",
        "<header class='report'>",
        f"<h1>Away-rotation plan for {who}</h1>",
        f"<p>Diagnostic radiology, for a non-US international medical graduate. Generated {html.escape(generated)} by awayplan {__version__}.</p>",
        "<p>Blank facts in the program table are shown as <em>unknown — confirm with the program</em>; every number cites a source or a named assumption (see the end of the timing section).</p>",
        "<nav class='toc'>" + "".join(f"<a href='#{key}'>{title}</a>" for key, title in SECTIONS) + "</nav>",
        "</header>",
    ]
    for (key, title), nb in zip(SECTIONS, notebooks, strict=True):
        parts.append(f"<section class='analysis' id='{key}' aria-label='{title}'>")
        parts.append(notebook_body(nb))
        parts.append("</section>")
    parts.append(
        "<footer>This plan is advice built from published aggregates and stated assumptions; it is not a promise of any outcome. Check NRMP's and each program's current terms and dates.</footer>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    path: Path, applicant_id: str, name: str | None, notebooks: list[nbformat.NotebookNode], generated: str
) -> Path:
    return write_atomic(path, render(applicant_id, name, notebooks, generated))


def find_browser() -> str | None:
    """Debian's chromium (or another Chrome) if present."""
    for candidate in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


# Headless chromium on a closed network: no sandbox (root in containers), no GPU, and none of
# the background connections it would otherwise try at every start.
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_FLAGS = ["--headless", *BROWSER_FLAGS, "--disable-extensions", "--no-pdf-header-footer"]


def print_pdf(
    html_path: Path, pdf_path: Path, browser: str | None = None, timeout: float = 90
) -> Path | None:
    """Print the report to PDF with headless chromium; None when no browser is present."""
    browser = browser or find_browser()
    if browser is None:
        return None
    with tempfile.TemporaryDirectory(prefix="awayplan-chromium-") as profile_dir:
        tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
        cmd = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile_dir}",
            f"--print-to-pdf={tmp}",
            html_path.resolve().as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        tmp.replace(pdf_path)
    return pdf_path
