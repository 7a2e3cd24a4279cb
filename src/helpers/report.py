"""report.html: the three executed notebooks as one self-contained page, no code shown.

nbconvert's `basic` template renders cell outputs and markdown without inputs; the
parameters cells (and cells tagged `remove-in-report`) are dropped, so no path or
parameter value appears. The plan comes first
(cells tagged `report-plan`), then programs, budget, timeline, the checklist and one
folded appendix for method, sources and assumptions (cells tagged `report-method`). The
page carries its own CSS, images are inline, and a Content Security Policy forbids any
network load and every script but the page's own list sorter (allowed by its hash), so it
works offline and cannot run what a user typed.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import html
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import nbformat
from markupsafe import Markup
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

from . import __version__
from .outputs import write_atomic

DROP_TAGS = {"parameters", "injected-parameters", "remove-in-report"}
# Where each notebook's cells go by default, and the tags that send a cell elsewhere.
NOTEBOOK_SECTIONS = ("programs", "budget", "timeline")
PLACE_TAGS = {"report-plan": "plan", "report-checklist": "checklist", "report-method": "method"}
SECTIONS = (
    ("plan", "Plan"),
    ("programs", "Programs"),
    ("budget", "Budget"),
    ("timeline", "Timeline"),
    ("checklist", "Checklist"),
    ("method", "Method"),
)
TITLES = {
    "programs": "Programs: where to apply, and where a rotation counts",
    "budget": "Budget: what rotations cost",
    "timeline": "Timeline: from today to Match Day",
    "checklist": "Checklist",
}
# The sections' earlier names (tiering, timing) still lead to them from old links.
ALIASES = {"programs": "tiering", "timeline": "timing"}
NO_ALT = "No description has been provided for this image"

# The one script a report may run: sorting and filtering the full program list, and opening
# the appendix for printing. The Content-Security-Policy allows this exact text (its hash).
SCRIPT = """(function () {
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  var t = document.getElementById("all-programs");
  if (!t) { return; }
  var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var q = document.querySelector("[data-filter]"), st = document.querySelector("[data-status]");
  var count = document.querySelector("[data-count]");
  function filter() {
    var s = (q.value || "").toLowerCase(), v = st.value, n = 0;
    rows.forEach(function (r) {
      var ok = (!v || r.getAttribute("data-status") === v) && (!s || r.textContent.toLowerCase().indexOf(s) >= 0);
      r.hidden = !ok;
      if (ok) { n += 1; }
    });
    count.textContent = "showing " + n + " of " + rows.length;
  }
  q.addEventListener("input", filter);
  st.addEventListener("change", filter);
  var heads = t.tHead.rows[0].cells;
  Array.prototype.forEach.call(t.tHead.querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () {
      var th = b.parentNode, i = Array.prototype.indexOf.call(heads, th), key = b.getAttribute("data-key");
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { if (h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); } });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      function val(r) {
        if (key === "text") { return r.cells[i].textContent.trim().toLowerCase(); }
        var x = r.getAttribute(key === "status" ? "data-statusorder" : "data-" + key);
        return x === "" ? -1 : parseFloat(x);
      }
      rows.sort(function (a, c) { var x = val(a), y = val(c); var o = x < y ? -1 : (x > y ? 1 : 0); return asc ? o : -o; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
REPORT_CSP = CSP + f"; script-src '{SCRIPT_HASH}'"

_EXPORTER: HTMLExporter | None = None
_NO_ALT_IMG = re.compile(r"<img(?![^>]*\salt=)")
_OUTPUT_DIV = re.compile(r'<div class="jp-OutputArea-output')


class ReportExporter(HTMLExporter):
    """nbconvert's HTML exporter without its closing BeautifulSoup pass.

    That pass re-parses and re-serialises the whole page (most of the export's time) to do
    two things, done here on the text instead: an image without alt text gets one (the
    kit's figures carry their own, `plots.describe`), and every output area is focusable.
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter(
            "highlight_code",
            self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)),
        )
        resources = self._init_resources(resources)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html = _NO_ALT_IMG.sub(f'<img alt="{NO_ALT}"', html)
        return _OUTPUT_DIV.sub('<div tabindex="0" class="jp-OutputArea-output', html), resources


def exporter() -> HTMLExporter:
    """One HTML exporter per process (building it compiles templates, which is slow)."""
    global _EXPORTER
    if _EXPORTER is None:
        _EXPORTER = ReportExporter(
            template_name="basic",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            optimistic_validation=True,  # the notebook is validated once, not after each preprocessor
        )
    return _EXPORTER


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def strip_for_report(nb: nbformat.NotebookNode, prefix: str = "") -> nbformat.NotebookNode:
    """A copy without parameters cells, report-hidden cells, error tracebacks or stderr.

    Markdown headings move one level down (the page has its own h1), and cell ids get
    `prefix` so that cells of different notebooks never share an id in one page.
    """
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if _tags(cell) & DROP_TAGS:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                described_image(o)
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
        elif cell.cell_type == "markdown":
            cell.source = re.sub(r"^(#{1,5}) ", r"#\1 ", cell.source, flags=re.MULTILINE)
        if prefix and cell.get("id"):
            cell.id = f"{prefix}-{cell.id}"
        cells.append(cell)
    nb.cells = cells
    return nb


def described_image(output):
    """A PNG output that carries alt text (plots.describe) as an <img> with that alt text and
    its shown size (nbconvert's own image markup has no place for a description)."""
    data = output.get("data", {})
    md = output.get("metadata", {}).get("image/png", {})
    if "image/png" not in data or not md.get("alt"):
        return output
    size = "".join(f" {k}='{int(md[k])}'" for k in ("width", "height") if k in md)
    src = "".join(str(data["image/png"]).split())
    output = copy.deepcopy(output)
    output["data"] = {
        "text/html": f'<img src="data:image/png;base64,{src}" alt="{html.escape(md["alt"], quote=True)}"{size}>'
    }
    return output


def notebook_body(nb: nbformat.NotebookNode, prefix: str = "") -> str:
    body, _ = exporter().from_notebook_node(strip_for_report(nb, prefix))
    return body


def split_cells(nb: nbformat.NotebookNode, default: str) -> dict[str, nbformat.NotebookNode]:
    """The notebook's cells by the report section they go to (tags move a cell)."""
    parts: dict[str, list] = {}
    for cell in nb.cells:
        place = next((v for k, v in PLACE_TAGS.items() if k in _tags(cell)), default)
        parts.setdefault(place, []).append(cell)
    out = {}
    for place, cells in parts.items():
        sub = copy.copy(nb)
        sub.cells = cells
        out[place] = sub
    return out


_ID = re.compile(r"""(\sid=)(["'])([^"']+)\2""")


def unique_ids(page: str) -> str:
    """Give every repeated id in a page a numbered suffix (the first keeps its name)."""
    seen: dict[str, int] = {}

    def fix(m: re.Match) -> str:
        name = m.group(3)
        n = seen.get(name, 0)
        seen[name] = n + 1
        return m.group(0) if n == 0 else f"{m.group(1)}{m.group(2)}{name}-{n + 1}{m.group(2)}"

    return _ID.sub(fix, page)


def fix_images(page: str) -> str:
    """Images without a description get one from their figure title (the kit sets alt text
    from the data; this only catches an image that came without it)."""
    return page.replace(f'alt="{NO_ALT}"', 'alt="Figure (described in the text around it)"')


def _css_text(text: str) -> str:
    """Text safe inside a CSS string in a <style> element (ids are letters, digits, . _ -)."""
    return re.sub(r"[^A-Za-z0-9 ._:·-]", "", text)[:80]


def render(
    applicant_id: str, name: str | None, notebooks: list[nbformat.NotebookNode], generated: str
) -> str:
    """The report page for one applicant from its executed notebooks (in section order)."""
    from .views import render_template

    css = resources.files("helpers").joinpath("templates/report.css").read_text(encoding="utf-8")
    places: dict[str, list[str]] = {key: [] for key, _ in SECTIONS}
    for default, nb in zip(NOTEBOOK_SECTIONS, notebooks, strict=True):
        for place, sub in split_cells(nb, default).items():
            places[place].append(notebook_body(sub, prefix=default))
    body = {k: Markup("\n".join(v)) for k, v in places.items()}
    page = render_template(
        "report.html.j2",
        applicant_id=applicant_id,
        name=name or "",
        generated=generated,
        version=__version__,
        csp=REPORT_CSP,
        css=Markup(css),
        footer_text=_css_text(f"{applicant_id} · report built {generated[:10]}"),
        sections=SECTIONS,
        titles=TITLES,
        aliases=ALIASES,
        body=body,
        script=Markup(SCRIPT),
    )
    return unique_ids(fix_images(page))


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
    """Print the report to PDF with headless chromium; None when no browser is present.

    One browser start per report: for one report. A cohort's workers use `Printer`."""
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


class Printer:
    """One headless chromium per worker that stays open and prints many reports.

    Driven over the DevTools protocol by Playwright (`page.pdf`), so a cohort pays one
    browser start per worker instead of one per report, and one tab that goes from report
    to report (a new tab costs a renderer process start, about as much as the print). Each
    report is a new document in that tab: no script state carries over, and the reports
    use no storage, cookies or network. They print with the page's own CSS page size and
    footer, as the command line does. Without Playwright, or if the browser fails, a
    report is printed the command-line way (`print_pdf`), so a PDF never depends on the
    long-lived browser.
    """

    def __init__(self, browser: str | None = None, timeout: float = 90):
        self.browser_path = browser or find_browser()
        self.timeout = timeout
        self._playwright = None
        self._browser = None
        self._page = None
        self.fallbacks = 0  # reports printed the command-line way (for tests and the benchmark)

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self.browser_path,
            args=[*BROWSER_FLAGS, "--disable-extensions"],
            headless=True,
            timeout=self.timeout * 1000,
        )
        self._page = self._browser.new_page()
        # Print media from the start: a report loads straight into the layout it prints with.
        # Otherwise chromium first lays it out for the screen, hidden parts included (the full
        # program list that print leaves out), and then again for print; the PDFs are the
        # same byte for byte bar their timestamps, and a report costs chromium about a
        # third less.
        self._page.emulate_media(media="print")

    def print(self, html_path: Path, pdf_path: Path) -> Path | None:
        """Print one report; None when no browser is present."""
        if self.browser_path is None:
            return None
        tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
        try:
            if self._browser is None or not self._browser.is_connected():
                self.close()
                self._start()
            self._page.goto(html_path.resolve().as_uri(), wait_until="load", timeout=self.timeout * 1000)
            self._page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True)
        except Exception:  # Playwright missing or the browser gone: one start for this report
            self.close()
            self.fallbacks += 1
            return print_pdf(html_path, pdf_path, self.browser_path, self.timeout)
        tmp.replace(pdf_path)
        return pdf_path

    def close(self) -> None:
        """Close the browser and its driver (safe to call twice)."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._page = None
        if browser is not None:
            with contextlib.suppress(Exception):
                browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                playwright.stop()
