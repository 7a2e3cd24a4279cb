"""A real browser: Debian's chromium, headless, driven by Playwright, opens every report.

Each example report.html (and the cohort's index.html) must load with no console error,
no script, no image that fails to decode, and no request beyond the file itself: every
request that is not file: or data: is recorded and aborted, so the page is checked as it
would be offline. Each page is screenshotted and printed to PDF the same way. The kit's
own PDF printing (`report --pdf`, chromium on the command line) is checked too.

Without chromium (or Playwright) these tests skip, unless AWAYPLAN_REQUIRE_BROWSER=1 (CI
sets it), in which case they fail. No browser is ever downloaded: Debian's is used.
Set AWAYPLAN_ARTIFACTS=<folder> to keep the screenshots and PDFs there.
"""

from __future__ import annotations

import os
import re
import shutil
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
            + (["page has a script"] if self.scripts else [])
        )


def visit(browser, path: Path, screenshot: Path | None = None, pdf: Path | None = None) -> Visit:
    """Open a file as a user would, offline; optionally screenshot it and print it."""
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
    return seen


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
    seen = visit(browser, example_reports / aid / "report.html", screenshot=shot, pdf=pdf)
    assert seen.problems() == []
    assert len(seen.images) >= 3  # the figures are there, and every one decoded
    assert aid in seen.title and aid in seen.h1
    assert seen.sections == ["tiering", "budget", "timing"]
    assert all(link.startswith(("file:", "https:")) for link in seen.links), seen.links
    width, height = png_size(shot)
    assert width >= 1200 and height > 2000  # a whole long page, not a blank viewport
    assert shot.stat().st_size > 100_000
    assert pdf_pages(pdf) >= 3 and pdf.stat().st_size > 50_000
    keep(shot, pdf)


@pytest.mark.slow
def test_cohort_index_opens_clean_and_links_every_report(browser, example_reports, tmp_path):
    shot = tmp_path / "index.png"
    seen = visit(browser, example_reports / "index.html", screenshot=shot)
    assert seen.problems() == []
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
    seen = visit(browser, example_reports / "overview.html", screenshot=shot)
    assert seen.problems() == []
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
    assert seen.scripts == 1


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
