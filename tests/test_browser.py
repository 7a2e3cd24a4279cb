"""Debian's chromium opens a report and prints it to PDF (the full browser suite builds on this)."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT, awayplan

from helpers.report import find_browser

needs_browser = pytest.mark.skipif(
    find_browser() is None and not os.environ.get("AWAYPLAN_REQUIRE_BROWSER"),
    reason="chromium is not installed (CI installs it and sets AWAYPLAN_REQUIRE_BROWSER=1)",
)


@pytest.mark.browser
@needs_browser
def test_report_prints_to_pdf(tmp_path):
    assert find_browser() is not None, "chromium is required here"
    res = awayplan(
        "report", str(ROOT / "data/example-cohort/ex04-tiny-budget.yaml"), "--out", str(tmp_path), "--pdf"
    )
    assert res.returncode == 0, res.stderr
    pdf = tmp_path / "ex04-tiny-budget" / "report.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000
