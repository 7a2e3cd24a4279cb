"""The example cohort end to end: every applicant gets a complete, valid report."""

from __future__ import annotations

import csv
import json
import re
import subprocess

import pytest
from conftest import ROOT, awayplan
from openpyxl import load_workbook

from helpers.config import ANALYSIS_NOTEBOOKS
from helpers.summary import read_summary


@pytest.fixture(scope="module")
def cohort_run(example_reports):
    """The example cohort's run (shared with the browser tests: conftest checks its exit code)."""
    return subprocess.CompletedProcess(["awayplan"], 0, "", ""), example_reports


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
        for section in ("plan", "programs", "budget", "timeline", "checklist", "method"):
            assert f'id="{section}"' in html
        assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", html)) >= 3
        assert "profile_path" not in html and "injected-parameters" not in html
        s = read_summary(folder / "summary.json")
        assert s.total_cost_usd <= s.budget_usd
        assert len(s.rotations) <= 3
        if not s.rotations:
            assert s.alternatives
        assert all(p.status != "excluded" or p.reasons for p in s.programs)
        for name in (
            "01-tiering.ipynb",
            "02-budget.ipynb",
            "03-timing.ipynb",
            "plan.ics",
            "programs.csv",
            "programs.xlsx",
        ):
            assert (folder / name).stat().st_size > 0
    assert not (out / ".staging").exists()


@pytest.mark.slow
def test_example_notebooks_show_no_warnings_or_errors(cohort_run):
    """An applicant who opens their notebooks sees the analysis, not library warnings (an
    empty leverage chart once asked matplotlib for a legend with nothing in it)."""
    import nbformat

    _, out = cohort_run
    for folder in sorted(p for p in out.iterdir() if (p / "summary.json").exists()):
        for name in ANALYSIS_NOTEBOOKS:
            nb = nbformat.read(folder / name, as_version=4)
            noise = [
                (i, o.get("name", o.output_type), str(o.get("text", o.get("evalue", "")))[:120])
                for i, cell in enumerate(nb.cells)
                for o in cell.get("outputs", [])
                if o.output_type == "error" or o.get("name") == "stderr"
            ]
            assert noise == [], (folder.name, name, noise)


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
    sections = re.split(r'<section class="analysis" id="', html)[1:]
    assert [s.split('"')[0] for s in sections] == ["programs", "budget", "timeline", "checklist"]
    for s in sections[:3]:
        assert re.search(r"<img [^>]*src=\"data:image/png;base64,", s)


@pytest.mark.slow
def test_the_page_opens_with_the_plan_and_keeps_reference_folded(cohort_run):
    """Plan first (rotations, next steps, budget, match chance, actions); method, sources and
    assumptions once each, inside one <details> appendix."""
    _, out = cohort_run
    html = (out / "ex01-j1-student" / "report.html").read_text()
    main = html[html.index("<main>") :]
    assert main.index('id="plan"') < main.index('id="programs"') < main.index('id="method"')
    plan = main[: main.index('id="programs"')]
    for words in (
        "Next steps",
        "Match chance",
        "It rests on",
        "Visitor visa fees",
        "Total used",
        "Left of your",
    ):
        assert words in plan
    appendix = main[main.index("<details") : main.index("</details>")]
    for caption in ("Published figures behind this report", "Named assumptions", "The cycle calendar"):
        assert html.count(f"<caption>{caption}") == 1 and caption in appendix
    nav = html[html.index("<nav") : html.index("</nav>")]
    assert [m for m in re.findall(r'href="#([a-z]+)"', nav)] == [
        "plan",
        "programs",
        "budget",
        "timeline",
        "checklist",
        "method",
    ]


def _visible(html: str) -> str:
    """The text a reader sees: tags, attributes, style and script removed."""
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.slow
def test_every_report_is_valid_structure_and_plain_words(cohort_run):
    """Unique ids, one <main> and one <h1>, captions and header scope on every table,
    described figures, and no field names or "0%" in what a reader sees."""
    _, out = cohort_run
    for folder in sorted(p for p in out.iterdir() if (p / "report.html").exists()):
        html = (folder / "report.html").read_text()
        ids = re.findall(r"""\sid=["']([^"']+)["']""", html)
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
        assert html.count("<main>") == 1 and len(re.findall(r"<h1[ >]", html)) == 1
        levels = [int(h) for h in re.findall(r"<h([1-6])[ >]", html)]
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
        tables = html.count("<table")
        assert tables == html.count("<caption>"), folder.name
        assert "<th>" not in html and "<th " in html
        assert not re.search(r"<th (?![^>]*scope=)", html)
        imgs = re.findall(r"<img [^>]*>", html)
        assert imgs and all('alt="' in i and "No description" not in i for i in imgs)
        text = _visible(html)
        for code in ("high_reach", "img_friendly", "mid_tier", "vslo_fee", "visa_needed", "(s)", "NaN"):
            assert code not in text, (folder.name, code)
        assert not re.search(r"(?<![\d.])0%", text), folder.name
        assert not re.search(r"(?<![\d.])\d+\.0(?![\d.])", text), folder.name  # whole numbers shown whole


@pytest.mark.slow
def test_plan_totals_add_up_and_match_the_summary(cohort_run):
    """R-C3: the plan table's rotation costs plus visa fees equal the total shown, the total
    equals summary.json's, and what is left is the budget minus the total."""
    _, out = cohort_run
    for folder in sorted(p for p in out.iterdir() if (p / "report.html").exists()):
        s = json.loads((folder / "summary.json").read_text())
        if not s["rotations"]:
            continue
        html = (folder / "report.html").read_text()
        table = html[html.index('class="awayplan plan-rotations"') :]
        table = table[: table.index("</table>")]
        dollars = lambda cell: int(cell.replace("$", "").replace(",", ""))  # noqa: E731
        costs = [dollars(c) for c in re.findall(r'data-label="cost">(\$[\d,]+)', table)]
        visa, total, left = (
            dollars(re.search(label + r'.*?class="num">(\$[\d,]+)', table, re.S).group(1))
            for label in ("Visitor visa fees", "Total used", "Left of your")
        )
        assert len(costs) == len(s["rotations"])
        assert sum(costs) + visa == total
        assert total == round(s["total_cost_usd"])  # whole dollars that add up to the rounded total
        assert left == round(s["budget_usd"]) - total


@pytest.mark.slow
def test_full_program_list_beside_the_report(cohort_run):
    """programs.csv and programs.xlsx hold every program of summary.json, in words; the
    page holds the same list as a sortable table, and shortened tables say "showing N of M"."""
    _, out = cohort_run
    folder = out / "ex01-j1-student"
    s = json.loads((folder / "summary.json").read_text())
    with (folder / "programs.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["program_id"] for r in rows} == {p["program_id"] for p in s["programs"]}
    assert list(rows[0]) == [
        "program_id",
        "name",
        "state",
        "status",
        "tier",
        "planned rotation",
        "interview chance",
        "leverage",
        "reasons",
        "questions",
        "answered by the program",
    ]
    assert {r["tier"] for r in rows} <= {"high reach", "mid-tier", "IMG-friendly", "no tier", ""}
    assert sum(r["planned rotation"] == "yes" for r in rows) == len(s["rotations"])
    wb = load_workbook(folder / "programs.xlsx", read_only=True)
    try:
        assert wb.active.max_row == len(rows) + 1
    finally:
        wb.close()
    html = (folder / "report.html").read_text()
    table = html[html.index('id="all-programs"') :]
    assert len(re.findall(r"<tr [^>]*data-status=", table[: table.index("</table>")])) == len(s["programs"])
    assert re.search(r"showing \d+ of \d+", html)
    assert "full list" in html


@pytest.mark.slow
def test_index_lists_at_risk_and_next_deadline(cohort_run):
    _, out = cohort_run
    index = (out / "index.html").read_text()
    assert '<meta name="viewport"' in index and "<main>" in index
    assert "report built" in index and "<td>ok</td>" not in index
    assert "at risk" in index and "next deadline" in index
    overview = (out / "overview.html").read_text()
    assert overview.count("<h1>") == 1 and "The advisor's overview" in overview
    assert "Cohort overview" not in index + overview


# ----------------------------------------------------------------------------- fast checks


def test_chance_plural_and_plain_words():
    from helpers.views import chance, plain, plural

    assert chance(0.001) == "under 1%" and chance(0.0) == "under 1%" and chance(0.999) == "over 99%"
    assert chance(0.456) == "46%"
    assert plural(1, "rotation") == "1 rotation" and plural(2, "rotation") == "2 rotations"
    assert plural(136.0, "program") == "136 programs"
    assert plain("consider J-1 too (visa_needed: j1_or_h1b)") == "consider J-1 too (visa needed: J-1 or H-1B)"
    assert plain("2 planned rotation cost(s) use defaults; 1 applicant(s)") == (
        "2 planned rotation costs use defaults; 1 applicant"
    )


def test_plan_block_adds_up_and_escapes_what_a_user_typed():
    """R-C3 totals on the first screen; a name with markup is shown as text, never run."""
    from conftest import OPEN_PROGRAM, make_profile, make_programs

    from helpers.analysis import analyse
    from helpers.views import plain, plan_block, plan_context

    programs = make_programs(
        {**OPEN_PROGRAM, "program_id": "A", "name": "<script>alert(1)</script> Hospital"},
        {**OPEN_PROGRAM, "program_id": "B", "name": "Second & Co Hospital", "state": "TX"},
    )
    a = analyse(make_profile(name="<b>Eve</b>"), programs)
    ctx = plan_context(a)
    assert sum(r["cost"] for r in ctx["rotations"]) + ctx["visa"] == ctx["used"]
    assert ctx["left"] == ctx["budget"] - ctx["used"]
    assert len(ctx["next_steps"]) <= 3
    upcoming = a.steps.loc[a.steps["date"] >= a.plan_date].sort_values("date", kind="stable").head(3)
    assert [s["what"] for s in ctx["next_steps"]] == [plain(w) for w in upcoming["what"]]
    page = plan_block(a).data
    assert "<script>" not in page
    if ctx["rotations"]:
        assert "&lt;script&gt;" in page
    assert ctx["rests_on"], "the match chance must say what it rests on"
