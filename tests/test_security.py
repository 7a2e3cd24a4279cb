"""Security and safety of what the kit writes.

- Everything a user typed (applicant names, program names and ids, rejected values) is
  shown as text in report.html and index.html, never as markup.
- Applicant ids cannot name a path outside --out.
- Reports reference nothing on the network; papermill records paths only, never a
  personal value.
- Personal data stays out of git, and one applicant's identifiers and scores never
  appear in another applicant's output.
- A cohort run killed midway and run again leaves every report complete and valid.
- The same inputs give byte-identical summary.json.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import psutil
import pytest
import yaml
from conftest import BIN, ROOT, awayplan

from helpers.config import ANALYSIS_NOTEBOOKS, EXAMPLE_COHORT
from helpers.outputs import applicant_dir
from helpers.summary import read_summary

EXAMPLES = sorted(EXAMPLE_COHORT.glob("*.yaml"))
PROFILES = {
    profile["applicant_id"]: profile
    for profile in (yaml.safe_load(p.read_text(encoding="utf-8")) for p in EXAMPLES)
}

# ----------------------------------------------------------------------------- reading HTML


class Page(HTMLParser):
    """Every element, attribute and text node of a page, as a browser would see them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []
        self.scripts: list[str] = []  # text of each inline script
        self._in_style = False
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        elif not self._in_style:
            self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def tags(self) -> set[str]:
        return {t for t, _ in self.elements}


ACTIVE_TAGS = {
    "script",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "form",
    "link",
    "base",
    "frame",
    "audio",
    "video",
}


def assert_inert(html_text: str, *, links: re.Pattern, own_script: bool = False) -> Page:
    """No element that runs, loads or submits anything; images inline; links only `links`.

    With `own_script`, the page may carry the report's one list-sorting script, and only
    when its policy allows exactly that text (by hash) and nothing else."""
    page = Page(html_text)
    active = page.tags() & ACTIVE_TAGS
    csp = [
        a["content"]
        for t, a in page.elements
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(csp) == 1 and "default-src 'none'" in csp[0]
    if own_script:
        from helpers.report import SCRIPT, SCRIPT_HASH

        assert page.scripts == [SCRIPT], "only the report's own script"
        assert re.search(r"script-src '([^']+)'(;|$)", csp[0]).group(1) == SCRIPT_HASH
        active -= {"script"}
        assert not any(a for t, a in page.elements if t == "script"), "an inline script has no attributes"
    assert not active, active
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert "javascript:" not in value.lower(), (tag, name, value)
        if tag == "img":
            assert attrs.get("src", "").startswith("data:image/"), attrs.get("src", "")[:60]
        if tag == "a" and "href" in attrs:
            assert links.fullmatch(attrs["href"]), attrs["href"]
        if tag == "meta":
            assert attrs.get("http-equiv", "").lower() != "refresh"
    return page


REPORT_LINKS = re.compile(r"#[^\s\"<>]*|https://[^\s\"'<>]+")  # anchors, or a source to visit
INDEX_LINKS = re.compile(r"[A-Za-z0-9_-]{1,64}/report\.html|overview\.html")
OVERVIEW_LINKS = re.compile(r"#[^\s\"<>]*|[A-Za-z0-9_-]{1,64}/report\.html|index\.html")

# ----------------------------------------------------------------------------- user text in HTML

EVIL_PROGRAMS = {  # program_id -> name, each a way to break out of an element or an attribute
    "<b>P1</b>": "<script>alert('program')</script> Hospital",
    'P2"><svg onload=alert(2)>': "<img src=x onerror=alert(1)> Medical Center",
    "P'3": "Quote \"double\" & 'single' Clinic",
    "P&4;": "</td></tr></table><h1>Injected</h1>",
    "P5 onmouseover=alert(5)": "Hospital <a href=javascript:alert(6)>link</a>",
}
EVIL_NAMES = {
    "evil-1": "<img src=x onerror=alert('name')> \"Q\" & <script>alert(3)</script>",
    "evil-2": "Robert'); </h1><iframe src=//example.org></iframe>",
}
EVIL_BAD_VALUE = "<img src=x onerror=alert('visa')>"


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """A cohort whose every user-typed text is markup: two applicants and one rejected row."""
    folder = tmp_path_factory.mktemp("evil")
    with (ROOT / "data" / "programs.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:40]
    for row, (pid, name) in zip(rows, [*EVIL_PROGRAMS.items(), *[(None, None)] * 40], strict=False):
        # Open on every count, so that these programs reach the tables, the plan and the figures.
        row.update(considers_imgs="true", sponsors_j1="true", sponsors_h1b="true", visiting_students="vslo")
        row.update(
            requires_step1="false", requires_lcme="false", requires_affiliation="false", rotation_months="4-9"
        )
        if pid is not None:
            row.update(program_id=pid, name=name, step2_min="", host_fee_usd="0", housing_month_usd="500")
    programs = folder / "programs.csv"
    with programs.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cohort = folder / "cohort.csv"
    with cohort.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "applicant_id",
                "name",
                "visa_needed",
                "school_status",
                "step1",
                "step2_ck",
                "budget_usd",
                "application_cycle",
                "plan_date",
                "max_rotations",
            ]
        )
        for aid, name in EVIL_NAMES.items():
            w.writerow([aid, name, "j1", "student", "pass", "262", "30000", "2027", "2026-12-01", "3"])
        w.writerow(
            ["evil-3", "x", EVIL_BAD_VALUE, "student", "pass", "262", "30000", "2027", "2026-12-01", ""]
        )
    out = folder / "out"
    res = awayplan(
        "report", "--cohort", str(cohort), "--programs", str(programs), "--out", str(out), "--no-pdf"
    )
    return res, out


@pytest.mark.slow
def test_user_text_is_shown_as_text_never_as_markup(evil_run):
    res, out = evil_run
    assert res.returncode == 1, res.stderr  # evil-3 is rejected; the other two are complete
    shown = ""
    for aid, name in EVIL_NAMES.items():
        page = assert_inert(
            (out / aid / "report.html").read_text(encoding="utf-8"), links=REPORT_LINKS, own_script=True
        )
        assert name in page.text  # the applicant's own name, exactly as typed, as text
        other = next(n for a, n in EVIL_NAMES.items() if a != aid)
        assert other not in page.text
        shown += page.text
    for pid, name in EVIL_PROGRAMS.items():
        assert pid in shown, pid  # each id and name reached the page, and only as text
        assert name in shown, name


@pytest.mark.slow
def test_index_shows_ids_and_rejected_values_as_text(evil_run):
    _, out = evil_run
    page = assert_inert((out / "index.html").read_text(encoding="utf-8"), links=INDEX_LINKS)
    hrefs = sorted(a["href"] for t, a in page.elements if t == "a")
    assert hrefs == ["evil-1/report.html", "evil-2/report.html", "overview.html"]
    assert EVIL_BAD_VALUE in page.text  # the reason evil-3 failed, shown as typed
    for name in EVIL_NAMES.values():
        assert name not in page.text  # names stay in their own report only


@pytest.mark.slow
def test_overview_shows_ids_and_user_text_as_text(evil_run):
    _, out = evil_run
    page = assert_inert((out / "overview.html").read_text(encoding="utf-8"), links=OVERVIEW_LINKS)
    assert EVIL_BAD_VALUE in page.text  # evil-3's reason, in the failed list
    for name in EVIL_NAMES.values():
        assert name not in page.text  # the overview names applicants by id only


@pytest.mark.slow
def test_dollar_signs_in_program_ids_are_plain_text(tmp_path):
    with (ROOT / "data" / "programs.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:40]
    for i, row in enumerate(rows):
        row.update(
            program_id=f"P{i}$x^$", considers_imgs="true", sponsors_j1="true", visiting_students="vslo"
        )
    programs = tmp_path / "programs.csv"
    with programs.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    profile = EXAMPLE_COHORT / "ex01-j1-student.yaml"
    res = awayplan(
        "report", str(profile), "--programs", str(programs), "--out", str(tmp_path / "o"), "--no-pdf"
    )
    assert res.returncode == 0, res.stderr


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize("bad", ["..", "../x", "a/b", "/etc", "", ".", "x/../../y", "a/../../b"])
def test_applicant_dir_refuses_paths_outside_out(tmp_path, bad):
    with pytest.raises(ValueError, match="outside"):
        applicant_dir(tmp_path, bad)


def test_applicant_dir_refuses_a_symlink_leading_outside(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "amina").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        applicant_dir(out, "amina")
    assert applicant_dir(out, "amina-2") == (out / "amina-2").resolve()


@pytest.mark.slow
def test_a_symlinked_report_folder_fails_that_applicant_only(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "ex04-tiny-budget").symlink_to(outside, target_is_directory=True)
    res = awayplan("report", str(EXAMPLE_COHORT / "ex04-tiny-budget.yaml"), "--out", str(out), "--no-pdf")
    assert list(outside.iterdir()) == []  # nothing written through the link, whatever happens
    assert "Traceback" not in res.stderr
    assert res.returncode in (1, 2)


# ----------------------------------------------------------------------------- offline, papermill


@pytest.mark.slow
def test_reports_reference_nothing_on_the_network(example_reports):
    for folder in sorted(p for p in example_reports.iterdir() if p.is_dir() and not p.name.startswith(".")):
        text = (folder / "report.html").read_text(encoding="utf-8")
        assert_inert(text, links=REPORT_LINKS, own_script=True)
        # Nothing that loads by itself: no remote src, stylesheet, font or CSS import.
        assert not re.search(r"@import|url\(\s*['\"]?(?!data:)", text), folder.name
        assert not re.search(r"\b(src|srcset|poster|data)\s*=\s*['\"]?\s*(https?:)?//", text), folder.name
    assert_inert((example_reports / "index.html").read_text(encoding="utf-8"), links=INDEX_LINKS)


@pytest.mark.slow
def test_papermill_parameters_are_paths_only(example_reports):
    """Papermill copies parameter values into each executed notebook: they must be paths."""
    programs = str((ROOT / "data" / "programs.csv").resolve())
    for aid, profile in PROFILES.items():
        personal = {str(v) for v in profile.values() if not isinstance(v, list)}
        for name in ANALYSIS_NOTEBOOKS:
            nb = nbformat.read(example_reports / aid / name, as_version=4)
            params = nb.metadata.papermill.parameters
            assert (
                {"profile_path", "programs_path"}
                <= set(params)
                <= {"profile_path", "programs_path", "out_dir"}
            )
            for key, value in params.items():
                assert isinstance(value, str) and Path(value).is_absolute(), (aid, key, value)
                assert value not in personal, (aid, key, value)
            assert params["programs_path"] == programs
            assert Path(params["profile_path"]).name == "profile.yaml"
            injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
            assert len(injected) == 1
            assert set(re.findall(r"^(\w+) = ", injected[0].source, flags=re.M)) == set(params)
            # The staging copy of the profile that the path names is gone after the run.
            assert not Path(params["profile_path"]).exists()


# ----------------------------------------------------------------------------- personal data


def git_files(*patterns: str) -> list[str]:
    res = subprocess.run(["git", "ls-files", "-z", *patterns], capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    return [f for f in res.stdout.split("\0") if f]


def test_no_tracked_notebook_anywhere_holds_outputs_or_run_metadata():
    """Wherever a notebook sits in the repository, it is committed stripped."""
    notebooks = git_files("*.ipynb")
    assert notebooks, "no tracked notebooks found"
    for name in notebooks:
        nb = json.loads((ROOT / name).read_text(encoding="utf-8"))
        assert "papermill" not in nb["metadata"], name
        assert "widgets" not in nb["metadata"], name  # saved widget state can hold values typed in
        for cell in nb["cells"]:
            assert "papermill" not in cell.get("metadata", {}), name
            assert "execution" not in cell.get("metadata", {}), name
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, name


def test_nothing_tracked_looks_like_applicant_output():
    outputs = re.compile(r"(^|/)(report\.(html|pdf)|summary\.json|manifest\.csv|plan\.ics)$|\.private\.")
    # reports/ and cohorts/ themselves: tests/test_notebooks.py::test_nothing_generated_is_tracked
    assert [f for f in git_files() if outputs.search(f)] == []


def test_git_would_ignore_new_reports_and_cohorts():
    """Not only is nothing there now: anything written there later stays out of git."""
    candidates = [
        "reports/amina-2027/report.html",
        "reports/index.html",
        "cohorts/fall.csv",
        "cohorts/fall/a.yaml",
        "me.private.yaml",
    ]
    git_files()  # skips outside a checkout
    res = subprocess.run(["git", "check-ignore", *candidates], capture_output=True, text=True, cwd=ROOT)
    assert sorted(res.stdout.split()) == sorted(candidates)


def _applicant_text(path: Path) -> str:
    """A file's text; for a notebook, without the template's own default parameters (they
    name the bundled fictional example, whoever the notebook was run for)."""
    if path.suffix == ".xlsx":  # the full program list, as a workbook: its cells' text
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            rows = wb.active.iter_rows(values_only=True)
            return "\n".join(" ".join("" if v is None else str(v) for v in row) for row in rows)
        finally:
            wb.close()
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" not in c.metadata.get("tags", [])]
    nb.metadata.papermill.pop("input_path", None)
    nb.metadata.papermill.pop("default_parameters", None)
    return nbformat.writes(nb)


@pytest.mark.slow
def test_no_applicant_identifier_or_score_appears_in_another_applicants_output(example_reports):
    def own_phrases(p: dict) -> list[str]:
        """How the report's title and plan state who this is and their numbers."""
        phrases = [f"plan for {p['applicant_id']}", f"of your ${p['budget_usd']:,.0f} budget"]
        if p.get("name"):
            phrases.append(p["name"])
        if p.get("step2_ck") is not None:
            phrases.append(f"Step 2 CK {p['step2_ck']};")
        return phrases

    texts = {
        aid: {f.name: _applicant_text(f) for f in (example_reports / aid).iterdir() if f.is_file()}
        for aid in PROFILES
    }
    for aid, profile in PROFILES.items():
        page = Page(texts[aid]["report.html"]).text
        for phrase in own_phrases(profile):
            assert phrase in page, (aid, phrase)  # the check below looks for something real
        for other, other_profile in PROFILES.items():
            if other == aid:
                continue
            theirs = set(own_phrases(other_profile))
            for phrase in own_phrases(profile):
                if phrase in theirs:
                    continue  # the same score or budget, stated by that applicant's own profile
                for fname, text in texts[other].items():
                    assert phrase not in text, f"{aid}: {phrase!r} appears in {other}/{fname}"
            for fname, text in texts[other].items():
                assert aid not in text, f"{aid} appears in {other}/{fname}"


# ----------------------------------------------------------------------------- crash safety


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the run we started and every process it started (kernels, workers), by id."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.kill()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.send_signal(signal.SIGKILL)
    proc.wait()  # reap our own child here, so that its exit status is the kill's
    psutil.wait_procs(children, timeout=30)


def _visible(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if not p.name.startswith("."))


def assert_complete(folder: Path) -> None:
    """A report folder a user can rely on: every file there, whole and valid."""
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>") and 'id="timeline"' in html, folder.name
    assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", html)) >= 3, folder.name
    assert read_summary(folder / "summary.json").applicant_id == folder.name
    for name in ANALYSIS_NOTEBOOKS:
        nb = nbformat.read(folder / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.papermill.exception is None or nb.metadata.papermill.exception is False
    ics = (folder / "plan.ics").read_text(encoding="utf-8")
    assert ics.startswith("BEGIN:VCALENDAR") and ics.rstrip().endswith("END:VCALENDAR")
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


@pytest.mark.slow
def test_a_cohort_run_killed_midway_loses_nothing_on_rerun(tmp_path):
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    chosen = EXAMPLES[:4]
    for path in chosen:
        shutil.copy(path, cohort / path.name)
    ids = sorted(yaml.safe_load(p.read_text(encoding="utf-8"))["applicant_id"] for p in chosen)
    out = tmp_path / "out"
    args = [str(BIN / "awayplan"), "report", "--cohort", str(cohort), "--out", str(out), "--no-pdf"]
    log = (tmp_path / "first-run.log").open("w")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 600
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if out.is_dir() and [p for p in _visible(out) if p.is_dir()]:
                break
            time.sleep(0.05)
    finally:
        _kill_tree(proc)
        log.close()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed midway"

    # Killed: whatever is visible is a complete report; the rest is missing, not half-written.
    done = [p for p in _visible(out) if p.is_dir()]
    assert 1 <= len(done) < len(ids)
    for folder in done:
        assert_complete(folder)

    res = awayplan(*args[1:])
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert [p.name for p in _visible(out)] == sorted(
        [*ids, "04-cohort.ipynb", "index.html", "manifest.csv", "overview.html"]
    )
    for aid in ids:
        assert_complete(out / aid)
    with (out / "manifest.csv").open(encoding="utf-8") as f:
        manifest = list(csv.DictReader(f))
    assert sorted(r["applicant_id"] for r in manifest) == ids
    assert {r["status"] for r in manifest} == {"ok"}
    index = Page((out / "index.html").read_text(encoding="utf-8"))
    assert sorted(a["href"] for t, a in index.elements if t == "a") == [
        *(f"{aid}/report.html" for aid in ids),
        "overview.html",
    ]


# ----------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_same_inputs_give_byte_identical_summary(tmp_path, example_reports):
    """Two runs (one alone, one within the cohort run) of the same profile and table."""
    aid = "ex05-large-budget"
    res = awayplan("report", str(EXAMPLE_COHORT / f"{aid}.yaml"), "--out", str(tmp_path), "--no-pdf")
    assert res.returncode == 0, res.stderr
    first = (example_reports / aid / "summary.json").read_bytes()
    second = (tmp_path / aid / "summary.json").read_bytes()
    assert first == second
    assert (example_reports / aid / "plan.ics").read_bytes() == (tmp_path / aid / "plan.ics").read_bytes()
