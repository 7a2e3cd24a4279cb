"""The example cohort end to end: every applicant gets a complete, valid report."""

from __future__ import annotations

import csv
import re

import pytest
from conftest import ROOT, awayplan

from helpers.summary import read_summary


@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    res = awayplan("report", "--cohort", "data/example-cohort", "--out", str(out), "--no-pdf")
    return res, out


@pytest.mark.slow
def test_every_example_applicant_gets_a_report(cohort_run):
    res, out = cohort_run
    assert res.returncode == 0, res.stderr
    ids = sorted(p.stem for p in (ROOT / "data" / "example-cohort").glob("*.yaml"))
    with (out / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["ok"] * len(ids)
    assert list(rows[0]) == ["applicant_id", "status", "seconds", "error"]
    index = (out / "index.html").read_text()
    for r in rows:
        folder = out / r["applicant_id"]
        assert f"{r['applicant_id']}/report.html" in index
        html = (folder / "report.html").read_text()
        for section in ("tiering", "budget", "timing"):
            assert f"id='{section}'" in html
        assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", html)) >= 3
        assert "profile_path" not in html and "injected-parameters" not in html
        s = read_summary(folder / "summary.json")
        assert s.total_cost_usd <= s.budget_usd
        assert len(s.rotations) <= 3
        if not s.rotations:
            assert s.alternatives
        assert all(p.status != "excluded" or p.reasons for p in s.programs)
        for name in ("01-tiering.ipynb", "02-budget.ipynb", "03-timing.ipynb", "plan.ics"):
            assert (folder / name).stat().st_size > 0
    assert not (out / ".staging").exists()


@pytest.mark.slow
def test_names_appear_only_in_their_own_report(cohort_run):
    _, out = cohort_run
    amina = (out / "ex01-j1-student" / "report.html").read_text()
    rafael = (out / "ex05-large-budget" / "report.html").read_text()
    assert "Amina Example" in amina and "Amina Example" not in rafael
    assert "Rafael Sample" in rafael and "Rafael Sample" not in amina
    assert "Amina" not in (out / "index.html").read_text()


@pytest.mark.slow
def test_required_columns_only_table_gives_a_full_report(tmp_path):
    """Every program unknown, each with its questions (R-K2); the report still renders."""
    table = tmp_path / "mine.csv"
    table.write_text(
        "program_id,name,state\nQ1,Lakeside Radiology,OH\nQ2,Hilltop Imaging,TX\nQ3,Riverbank Hospital,NY\n"
    )
    res = awayplan(
        "report",
        "data/example-cohort/ex01-j1-student.yaml",
        "--programs",
        str(table),
        "--out",
        str(tmp_path / "out"),
        "--no-pdf",
    )
    assert res.returncode == 0, res.stderr
    folder = tmp_path / "out" / "ex01-j1-student"
    s = read_summary(folder / "summary.json")
    assert {p.status for p in s.programs} == {"unknown"}
    assert all(len(p.questions) >= 2 for p in s.programs)  # extra field: what to ask
    assert s.rotations == [] and s.alternatives
    html = (folder / "report.html").read_text()
    assert html.count("unknown — confirm with the program") >= 3
    assert "R-K2" in html


@pytest.mark.slow
def test_each_section_has_its_figures(cohort_run):
    _, out = cohort_run
    html = (out / "ex01-j1-student" / "report.html").read_text()
    sections = re.split(r"<section class='analysis' id='", html)[1:]
    assert [s.split("'")[0] for s in sections] == ["tiering", "budget", "timing"]
    for s in sections:
        assert re.search(r"<img [^>]*src=\"data:image/png;base64,", s)
