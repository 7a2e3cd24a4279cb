"""A real browser: Debian's chromium, headless, driven by Playwright, opens every report.

Each example report.html (and the cohort's index.html) must load with no console error,
no script, no image that fails to decode, and no request beyond the file itself: every
request that is not file: or data: is recorded and aborted, so the page is checked as it
would be offline. Each page is screenshotted and printed to PDF the same way. The kit's
own PDF printing (`report --pdf`, chromium on the command line) is checked too.

axe-core (vendored in tests/vendor, MPL-2.0) checks report, index and overview for
accessibility violations; the first screen is kept as desktop (1280 px) and phone (390 px)
screenshots; the printed report's page count and median text size are measured with pypdf.

Without chromium (or Playwright) these tests skip, unless AWAYPLAN_REQUIRE_BROWSER=1 (CI
sets it), in which case they fail. No browser is ever downloaded: Debian's is used.
Set AWAYPLAN_ARTIFACTS=<folder> to keep the screenshots and PDFs there.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import statistics
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, awayplan

from helpers.config import EXAMPLE_COHORT
from helpers.report import BROWSER_FLAGS as FLAGS
from helpers.report import find_browser

REQUIRED = os.environ.get("AWAYPLAN_REQUIRE_BROWSER", "") not in ("", "0")
EXAMPLE_IDS = sorted(
    yaml.safe_load(p.read_text(encoding="utf-8"))["applicant_id"] for p in EXAMPLE_COHORT.glob("*.yaml")
)

pytestmark = pytest.mark.browser


def _missing() -> str | None:
    if find_browser() is None:
        return "chromium is not installed (CI installs Debian's and sets AWAYPLAN_REQUIRE_BROWSER=1)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (it is in the dev extra)"
    return None


@pytest.mark.slow
def test_one_browser_prints_every_report_with_its_own_footer(example_reports, tmp_path):
    """A cohort worker's Printer: one chromium, one tab going from report to report. Every
    PDF is the same document the command line prints (same page count, same first page),
    and each page's footer names that report's applicant and no other."""
    _skip_or_fail()
    import pypdf

    from helpers.report import Printer, print_pdf

    printer = Printer()
    try:
        pdfs = {
            aid: printer.print(example_reports / aid / "report.html", tmp_path / f"{aid}.pdf")
            for aid in EXAMPLE_IDS
        }
    finally:
        printer.close()
    assert printer.fallbacks == 0  # every report went through the long-lived browser
    for aid, pdf in pdfs.items():
        reader = pypdf.PdfReader(pdf)
        others = [o for o in EXAMPLE_IDS if o != aid]
        for n, page in enumerate(reader.pages, start=1):
            text = page.extract_text()
            assert f"page {n} of {len(reader.pages)}" in text and aid in text
            assert not any(o in text for o in others), (aid, n)
    aid = EXAMPLE_IDS[0]
    cli = pypdf.PdfReader(print_pdf(example_reports / aid / "report.html", tmp_path / "cli.pdf"))
    ours = pypdf.PdfReader(pdfs[aid])
    assert len(ours.pages) == len(cli.pages)
    assert ours.pages[0].extract_text() == cli.pages[0].extract_text()


def _skip_or_fail() -> None:
    reason = _missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"AWAYPLAN_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _skip_or_fail()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=find_browser(), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What a page did when a browser opened it."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # attempted, anything not file: or data:
    sent: list[str] = field(default_factory=list)  # of those, what reached the network layer
    failed: dict[str, str] = field(default_factory=dict)  # url -> why the browser stopped it
    images: list[dict] = field(default_factory=list)
    scripts: int = 0
    script_hashes: list[str] = field(default_factory=list)  # sha256 of each inline script
    csp: str = ""
    axe: list[dict] = field(default_factory=list)  # axe-core violations (when asked)
    title: str = ""
    h1: str = ""
    sections: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def broken_images(self) -> list[str]:
        return [i["src"] for i in self.images if not i["ok"]]

    def problems(self) -> list[str]:
        return (
            [f"console: {e}" for e in self.console_errors]
            + [f"request: {u}" for u in self.requests]
            + [f"sent: {u}" for u in self.sent if u not in self.requests]
            + [f"image does not decode: {s}" for s in self.broken_images]
            + [
                f"script not allowed by the page's policy: {h}"
                for h in self.script_hashes
                if h not in self.csp
            ]
        )


AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def visit(
    browser, path: Path, screenshot: Path | None = None, pdf: Path | None = None, axe: bool = False
) -> Visit:
    """Open a file as a user would, offline; optionally screenshot it, print it, run axe-core."""
    seen = Visit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            seen.sent.append(url)
            r.abort()

    def attempted(r):
        if not r.url.startswith(("file:", "data:")) and r.url not in seen.requests:
            seen.requests.append(r.url)

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.console_errors.append(f"uncaught: {e}"))
    page.on("request", attempted)
    page.on("requestfailed", lambda r: seen.failed.__setitem__(r.url, r.failure or ""))
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(200)  # let late loads (fonts, lazy images) show themselves
        seen.images = page.eval_on_selector_all(
            "img",
            "els => els.map(e => ({src: e.src.slice(0, 60), ok: e.complete && e.naturalWidth > 0 && e.naturalHeight > 0}))",
        )
        seen.scripts = page.evaluate("document.scripts.length")
        seen.script_hashes = [
            "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
            for text in page.eval_on_selector_all("script", "els => els.map(e => e.textContent)")
        ]
        seen.csp = page.evaluate(
            "(document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]') || {}).content || ''"
        )
        seen.title = page.title()
        seen.h1 = page.inner_text("h1") if page.query_selector("h1") else ""
        seen.sections = page.eval_on_selector_all(
            "section[id]", "els => els.filter(e => e.getBoundingClientRect().height > 100).map(e => e.id)"
        )
        seen.links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        if pdf is not None:
            page.emulate_media(media="print")
            page.pdf(path=str(pdf), format="A4", print_background=True)
    finally:
        context.close()
    if axe:
        seen.axe = run_axe(browser, path)
    return seen


def run_axe(browser, path: Path) -> list[dict]:
    """axe-core's violations for a page (injected past the page's own policy, offline)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort()
    )
    try:
        page = context.new_page()
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        return page.evaluate(
            """async () => (await axe.run(document)).violations.map(v => ({
                id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
        )
    finally:
        context.close()


def first_screens(browser, path: Path, folder: Path, stem: str) -> dict[int, Path]:
    """The first screen at desktop (1280x800) and phone (390x844) size, as PNG files; also
    how wide the page is on the phone (nothing may widen it beyond the screen)."""
    shots = {}
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(path.resolve().as_uri(), wait_until="load")
            shots[width] = folder / f"{stem}-first-screen-{width}.png"
            page.screenshot(path=str(shots[width]))
            shots[f"scroll_width_{width}"] = page.evaluate("document.documentElement.scrollWidth")
            shots[f"plan_top_{width}"] = page.evaluate(
                "(() => { const e = document.getElementById('plan'); return e ? e.getBoundingClientRect().top : -1; })()"
            )
        finally:
            context.close()
    return shots


def pdf_text_sizes(path: Path) -> tuple[int, list[float]]:
    """Pages, and the printed size (pt) of every character of text, from the PDF itself."""
    import pypdf

    reader = pypdf.PdfReader(path)
    sizes: list[float] = []
    for page in reader.pages:

        def seen(text, cm, tm, font, size):
            t = text.strip()
            if t:
                scale = (tm[2] ** 2 + tm[3] ** 2) ** 0.5 * (cm[2] ** 2 + cm[3] ** 2) ** 0.5
                sizes.extend([round(size * scale, 2)] * len(t))

        page.extract_text(visitor_text=seen)
    return len(reader.pages), sizes


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), f"{path.name} is not a PDF"
    return len(re.findall(rb"/Type\s*/Page\b", data))


def keep(*files: Path) -> None:
    """Copy to AWAYPLAN_ARTIFACTS when set (e.g. for CI to keep); the test's tmp dir otherwise."""
    target = os.environ.get("AWAYPLAN_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy(f, Path(target) / f.name)


@pytest.mark.slow
@pytest.mark.parametrize("aid", EXAMPLE_IDS)
def test_example_report_opens_clean_offline_and_prints(browser, example_reports, tmp_path, aid):
    shot, pdf = tmp_path / f"{aid}.png", tmp_path / f"{aid}.pdf"
    seen = visit(browser, example_reports / aid / "report.html", screenshot=shot, pdf=pdf, axe=True)
    assert seen.problems() == []
    assert seen.scripts == 1  # the list sorter, allowed by its hash
    assert seen.axe == [], seen.axe
    assert len(seen.images) >= 3  # the figures are there, and every one decoded
    assert aid in seen.title and aid in seen.h1
    assert seen.sections[:1] == ["plan"]
    assert set(seen.sections) <= {"plan", "programs", "budget", "timeline", "checklist"}
    assert all(link.startswith(("file:", "https:")) for link in seen.links), seen.links
    width, height = png_size(shot)
    assert width >= 1200 and height > 2000  # a whole long page, not a blank viewport
    assert shot.stat().st_size > 100_000
    assert pdf_pages(pdf) >= 3 and pdf.stat().st_size > 50_000
    keep(shot, pdf)


@pytest.mark.slow
def test_cohort_index_opens_clean_and_links_every_report(browser, example_reports, tmp_path):
    shot = tmp_path / "index.png"
    seen = visit(browser, example_reports / "index.html", screenshot=shot, axe=True)
    assert seen.problems() == [] and seen.scripts == 0
    assert seen.axe == [], seen.axe
    targets = sorted(Path(link.removeprefix("file://")) for link in seen.links)
    assert targets == sorted(
        [*(example_reports / aid / "report.html" for aid in EXAMPLE_IDS), example_reports / "overview.html"]
    )
    assert all(t.is_file() for t in targets)
    assert png_size(shot)[0] >= 1200
    keep(shot)


@pytest.mark.slow
def test_cohort_overview_opens_clean_with_its_figures(browser, example_reports, tmp_path):
    shot = tmp_path / "overview.png"
    seen = visit(browser, example_reports / "overview.html", screenshot=shot, axe=True)
    assert seen.problems() == [] and seen.scripts == 0
    assert seen.axe == [], seen.axe
    assert len(seen.images) >= 3  # eligible programs, budgets, match chance
    targets = {Path(link.removeprefix("file://")) for link in seen.links if "#" not in link}
    assert example_reports / "index.html" in targets
    assert any(t.name == "report.html" for t in targets)  # at-risk applicants link to their reports
    assert all(t.is_file() for t in targets)
    keep(shot)


def test_the_checks_catch_a_bad_page(browser, tmp_path):
    """The same checks fail a page that loads from the network, logs an error, has a
    script or an image that cannot decode: they are not checks that always pass."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>bad</title>"
        "<link rel=stylesheet href='https://fonts.example.org/a.css'></head><body><h1>bad</h1>"
        "<img src='data:image/png;base64,AAAA'>"
        "<img src='http://example.org/tracker.gif'>"
        "<script>console.error('boom')</script></body></html>"
    )
    seen = visit(browser, page)
    assert "https://fonts.example.org/a.css" in seen.sent  # no policy here: it reached the network layer
    assert "http://example.org/tracker.gif" in seen.sent
    assert any("boom" in e for e in seen.console_errors)
    assert len(seen.broken_images) == 2
    assert seen.scripts == 1 and any(p.startswith("script not allowed") for p in seen.problems())
    assert {v["id"] for v in run_axe(browser, page)} >= {"image-alt"}  # axe finds what it should


@pytest.mark.slow
def test_the_report_policy_blocks_what_the_checks_would_catch(browser, example_reports, tmp_path):
    """A report's Content-Security-Policy stops a script or remote image even if one got in."""
    html = (example_reports / EXAMPLE_IDS[0] / "report.html").read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.html"
    tampered.write_text(
        html.replace(
            "</footer>",
            "</footer><img src='https://example.org/x.png'><script>document.title='ran'</script>",
        ),
        encoding="utf-8",
    )
    seen = visit(browser, tampered)
    assert seen.title != "ran"  # the script did not run
    assert seen.requests == ["https://example.org/x.png"]  # the page asked for the image...
    assert seen.sent == [] and seen.failed == {"https://example.org/x.png": "csp"}  # ...the policy refused
    assert any("Content Security Policy" in e for e in seen.console_errors)


@pytest.mark.slow
def test_report_prints_to_pdf(tmp_path):
    """The kit's own printing: `report --pdf` runs Debian's chromium headless."""
    _skip_or_fail()
    res = awayplan(
        "report", str(ROOT / "data/example-cohort/ex04-tiny-budget.yaml"), "--out", str(tmp_path), "--pdf"
    )
    assert res.returncode == 0, res.stderr
    pdf = tmp_path / "ex04-tiny-budget" / "report.pdf"
    assert pdf_pages(pdf) >= 3 and pdf.stat().st_size > 20_000
    keep(pdf)


def artifacts_folder(tmp_path: Path) -> Path:
    """AWAYPLAN_ARTIFACTS when set, else reports/screenshots under the project (printed)."""
    folder = Path(os.environ.get("AWAYPLAN_ARTIFACTS") or ROOT / "reports" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
def test_first_screen_is_the_plan_on_desktop_and_phone(browser, example_reports, tmp_path):
    """The plan starts on the first screen at 1280 px and at 390 px, and on the phone no
    table widens the page (wide tables scroll inside their own box)."""
    folder = artifacts_folder(tmp_path)
    for aid in EXAMPLE_IDS:
        shots = first_screens(browser, example_reports / aid / "report.html", folder, aid)
        assert 0 <= shots["plan_top_1280"] < 800 * 0.5, (aid, shots["plan_top_1280"])
        assert 0 <= shots["plan_top_390"] < 844, (aid, shots["plan_top_390"])
        assert shots["scroll_width_390"] <= 390, (aid, shots["scroll_width_390"])
        assert png_size(shots[1280])[0] == 1280 and png_size(shots[390])[0] == 390
    for page in ("index.html", "overview.html"):
        shots = first_screens(browser, example_reports / page, folder, page.removesuffix(".html"))
        assert shots["scroll_width_390"] <= 390, (page, shots["scroll_width_390"])
    print(f"\nfirst-screen screenshots in {folder}")


@pytest.mark.slow
def test_printed_report_is_readable(example_reports, tmp_path):
    """The kit's own PDF (chromium on the command line): page 1 starts with the plan, the
    median text size is at least 9 pt, and every page carries the footer with the applicant
    id, the date and "page n of m"."""
    _skip_or_fail()
    from helpers.report import print_pdf

    aid = "ex01-j1-student"
    pdf = print_pdf(example_reports / aid / "report.html", tmp_path / f"{aid}.pdf")
    pages, sizes = pdf_text_sizes(pdf)
    median = statistics.median(sizes)
    print(f"\n{aid}: {pages} PDF pages, median text {median:.1f} pt, smallest {min(sizes):.1f} pt")
    assert median >= 9.0 and min(sizes) >= 8.95  # nothing printed smaller than 9 pt (rounding aside)
    import pypdf

    reader = pypdf.PdfReader(pdf)
    first = reader.pages[0].extract_text()
    assert "Your plan" in first and "Next steps" in first
    for n, page in enumerate(reader.pages, start=1):
        assert f"page {n} of {pages}" in page.extract_text() and aid in page.extract_text()
    # The named assumptions (a dozen pages, the same for everyone) stay on screen; print
    # says where they are instead. The published figures are printed.
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl")  # chromium prints ligatures
    assert "A printed copy leaves out the" in text and "named assumptions" in text
    assert "Published figures behind this report" in text
    html = (example_reports / aid / "report.html").read_text(encoding="utf-8")
    assert "Named assumptions (an advisor can change them)" in html
    keep(pdf)
