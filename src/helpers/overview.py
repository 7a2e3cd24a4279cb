"""The advisor's overview of a cohort (notebooks/04-cohort.ipynb): who is eligible where,
budgets against plan cost, who is at risk, and the questions to send programs.

It reads a cohort run's folder (manifest.csv and each applicant's summary.json) one file
at a time, keeping a few figures per applicant, so a cohort of thousands fits in memory.
Without a folder it analyses a cohort in this process (the bundled example by default), so
the notebook runs as it is in JupyterLab and under nbval. Applicants appear by id only:
names never reach this page.
"""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure

from . import __version__, plots
from .assumptions import load_assumptions
from .config import resolve
from .outputs import write_atomic

if TYPE_CHECKING:
    from .views import Table

# Warnings that put an application itself at risk (see docs/advising-rules.md).
RISK_RULES = {
    "R-A2": "visa: programs closed until a visa condition is met",
    "R-C4": "Step 2 CK below programs' minimums",
    "R-W5": "exam results not in time",
}


def default_low_chance() -> float:
    """The match chance below which an applicant is flagged (a named assumption)."""
    return float(load_assumptions().value("at_risk_match_chance"))


@dataclass
class Cohort:
    """What the overview knows about each applicant (ids, counts and money; never names)."""

    applicants: pd.DataFrame  # one row per applicant with a report
    failed: pd.DataFrame  # applicant_id, error
    questions: Counter = field(default_factory=Counter)  # (program_id, question) -> applicants
    program_names: dict[str, str] = field(default_factory=dict)
    source: str = ""
    linked: bool = False  # reports sit next to the overview page


COLUMNS = [
    "applicant_id",
    "eligible",
    "unknown",
    "excluded",
    "rotations",
    "plan_cost_usd",
    "budget_usd",
    "chance_with_plan",
    "chance_without",
    "alternatives",
    "risk_rules",
    "risk_messages",
]


def record(summary: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The overview's figures for one summary.json, and its (program_id, question) pairs."""
    status = Counter(p["status"] for p in summary["programs"])
    mp = summary.get("match_probability", {})
    risky = [w for w in summary["warnings"] if w["rule"] in RISK_RULES]
    row = {
        "applicant_id": summary["applicant_id"],
        "eligible": status.get("eligible", 0),
        "unknown": status.get("unknown", 0),
        "excluded": status.get("excluded", 0),
        "rotations": len(summary["rotations"]),
        "plan_cost_usd": float(summary["total_cost_usd"]),
        "budget_usd": float(summary["budget_usd"]),
        "chance_with_plan": mp.get("with_plan", {}).get("match_probability", np.nan),
        "chance_without": mp.get("without_rotations", {}).get("match_probability", np.nan),
        "alternatives": ", ".join(
            x["kind"] if isinstance(x, dict) else str(x) for x in summary.get("alternatives", [])
        ),
        "risk_rules": sorted({w["rule"] for w in risky}),
        "risk_messages": [f"{w['rule']}: {w['message']}" for w in risky],
    }
    pairs = sorted({(p["program_id"], q) for p in summary["programs"] for q in p.get("questions", [])})
    return row, pairs


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("eligible", "unknown", "excluded", "rotations"):
        frame[col] = frame[col].astype("int64")
    for col in ("plan_cost_usd", "budget_usd", "chance_with_plan", "chance_without"):
        frame[col] = frame[col].astype("float64")
    return frame


def _program_names(programs_path: str | Path | None) -> dict[str, str]:
    if not programs_path:
        return {}
    from .programs import load_programs

    table = load_programs(resolve(programs_path))
    return dict(zip(table["program_id"].astype(str), table["name"].astype(str), strict=True))


def from_reports(reports_dir: str | Path, programs_path: str | Path | None = None) -> Cohort:
    """Read a cohort run's folder: manifest.csv (when present) and every ok summary.json."""
    base = resolve(reports_dir)
    manifest = base / "manifest.csv"
    if manifest.exists():
        with manifest.open(encoding="utf-8", newline="") as fh:
            entries = [(r["applicant_id"], r["status"], r["error"]) for r in csv.DictReader(fh)]
    else:
        entries = [(p.parent.name, "ok", "") for p in sorted(base.glob("*/summary.json"))]
    rows, failed, questions = [], [], Counter()
    for aid, status, error in entries:
        path = base / aid / "summary.json"
        if status != "ok" or not path.is_file():
            failed.append({"applicant_id": aid, "error": error or "no summary.json"})
            continue
        row, pairs = record(json.loads(path.read_bytes()))
        rows.append(row)
        questions.update(pairs)
    return Cohort(
        _frame(rows),
        pd.DataFrame(failed, columns=["applicant_id", "error"]),
        questions,
        _program_names(programs_path),
        source=str(reports_dir),
        linked=True,
    )


def from_profiles(cohort_path: str | Path, programs_path: str | Path) -> Cohort:
    """Analyse a cohort here (no reports needed): used when no reports folder is given."""
    from .analysis import analyse
    from .cohort import load_cohort
    from .programs import load_programs
    from .summary import build_summary

    programs = load_programs(resolve(programs_path))
    rows, failed, questions = [], [], Counter()
    for entry in load_cohort(resolve(cohort_path)):
        if not entry.ok:
            failed.append({"applicant_id": entry.key, "error": "; ".join(str(p) for p in entry.problems)})
            continue
        row, pairs = record(build_summary(analyse(entry.profile, programs)))
        rows.append(row)
        questions.update(pairs)
    names = dict(zip(programs["program_id"].astype(str), programs["name"].astype(str), strict=True))
    return Cohort(
        _frame(rows),
        pd.DataFrame(failed, columns=["applicant_id", "error"]),
        questions,
        names,
        source=str(cohort_path),
    )


def load(reports_dir: str | Path | None, cohort_path: str | Path, programs_path: str | Path) -> Cohort:
    """The notebook's first call: a cohort run's folder if given, else analyse `cohort_path`."""
    plots.enable_display()
    if reports_dir:
        return from_reports(reports_dir, programs_path)
    return from_profiles(cohort_path, programs_path)


# --------------------------------------------------------------------------------------
# What the notebook shows


def at_risk(c: Cohort, low_chance: float | None = None) -> pd.DataFrame:
    """Applicants needing attention, with every reason (ids only), most reasons first."""
    low_chance = default_low_chance() if low_chance is None else low_chance
    rows = []
    for r in c.applicants.itertuples(index=False):
        reasons = risk_reasons(r._asdict(), low_chance)
        if reasons:
            rows.append({"applicant_id": r.applicant_id, "reasons": len(reasons), "why": reasons})
    frame = pd.DataFrame(rows, columns=["applicant_id", "reasons", "why"])
    return frame.sort_values(["reasons", "applicant_id"], ascending=[False, True], kind="stable")


def risk_reasons(row: dict, low_chance: float | None = None) -> list[str]:
    """Why one applicant (a `record` row) needs attention; empty when nothing is at risk."""
    low_chance = default_low_chance() if low_chance is None else low_chance
    reasons = []
    if row["rotations"] == 0:
        alt = row.get("alternatives") or ""
        alt = ", ".join(ALT_WORDS.get(x.strip(), x.strip()) for x in alt.split(",")) if alt else ""
        reasons.append(f"no away rotation possible{f' (alternatives: {alt})' if alt else ''}")
    chance = row.get("chance_with_plan")
    if chance is not None and chance == chance and chance < low_chance:
        reasons.append(f"low match chance: {chance_words(chance)} with the plan")
    if row["eligible"] == 0:
        reasons.append("no eligible program")
    return reasons + list(row.get("risk_messages") or [])


def chance_words(x: float) -> str:
    """A probability in words ("under 1%", never "0%")."""
    from .views import chance

    return chance(x)


ALT_WORDS = {"virtual_elective": "virtual elective", "research": "imaging research"}


def risk_counts(c: Cohort, low_chance: float | None = None) -> pd.DataFrame:
    """How many applicants each risk affects."""
    low_chance = default_low_chance() if low_chance is None else low_chance
    a = c.applicants
    rows = [
        ("no away rotation possible", int((a["rotations"] == 0).sum())),
        (
            f"match chance with the plan below {100 * low_chance:.0f}%",
            int((a["chance_with_plan"] < low_chance).sum()),
        ),
        ("no eligible program", int((a["eligible"] == 0).sum())),
    ]
    for rule, meaning in RISK_RULES.items():
        rows.append(
            (f"{rule} warning ({meaning})", int(a["risk_rules"].map(lambda rs, r=rule: r in rs).sum()))
        )
    rows.append(("report failed", len(c.failed)))
    return pd.DataFrame(rows, columns=["risk", "applicants"])


def common_questions(c: Cohort, top: int = 15) -> pd.DataFrame:
    """The questions most applicants need answered: one email to the program answers them all."""
    rows = [
        {
            "program_id": pid,
            "program": c.program_names.get(pid, ""),
            "question": q,
            "applicants": n,
        }
        for (pid, q), n in sorted(c.questions.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    ]
    return pd.DataFrame(rows, columns=["program_id", "program", "question", "applicants"])


def budget_table(c: Cohort) -> pd.DataFrame:
    """Budgets and plan costs by number of planned rotations."""
    a = c.applicants
    if a.empty:
        return pd.DataFrame(
            columns=["rotations", "applicants", "median budget", "median plan cost", "median left"]
        )
    g = a.assign(left=a["budget_usd"] - a["plan_cost_usd"]).groupby("rotations", sort=True)
    out = pd.DataFrame(
        {
            "applicants": g.size(),
            "median budget": g["budget_usd"].median().map("${:,.0f}".format),
            "median plan cost": g["plan_cost_usd"].median().map("${:,.0f}".format),
            "median left": g["left"].median().map("${:,.0f}".format),
        }
    )
    return out.reset_index()


def eligible_table(c: Cohort) -> pd.DataFrame:
    """Eligible and unknown program counts across the cohort."""
    a = c.applicants
    rows = []
    for col, label in (("eligible", "eligible"), ("unknown", "unknown — confirm with the program")):
        s = a[col]
        rows.append(
            {
                "programs": label,
                "fewest": int(s.min()) if len(s) else None,
                "median": float(s.median()) if len(s) else None,
                "most": int(s.max()) if len(s) else None,
            }
        )
    return pd.DataFrame(rows)


def headline(c: Cohort, low_chance: float | None = None) -> HTML:
    """The cohort in three lines."""
    low_chance = default_low_chance() if low_chance is None else low_chance
    a = c.applicants
    n, nf = len(a), len(c.failed)
    risky = len(at_risk(c, low_chance))
    spend = a["plan_cost_usd"].sum()
    lines = [
        f"<strong>{n} applicant(s) with a plan</strong>"
        + (f", {nf} without a report (listed at the end)" if nf else "")
        + f"; source: {html.escape(Path(c.source).name or c.source)}.",
        f"Median {a['eligible'].median() if n else 0:.0f} eligible programs per applicant; "
        f"{int((a['rotations'] > 0).sum())} applicant(s) have at least one away rotation planned, "
        f"for ${spend:,.0f} in total.",
        f"{risky} applicant(s) need attention (see <em>Applicants at risk</em>).",
    ]
    return HTML("<div class='headline'>" + "<br>".join(lines) + "</div>")


HEADERS = {"applicant_id": "applicant", "program_id": "program id"}


def table(frame: pd.DataFrame, c: Cohort | None = None, caption: str = "") -> Table:
    """Show a frame as views.Table (every cell escaped, lists one item a line); applicant ids
    become links when the reports sit next to this page."""
    from .views import Table

    shown = frame.rename(columns=lambda col: HEADERS.get(str(col), str(col).replace("_", " ")))
    links = {HEADERS["applicant_id"]: "{}/report.html"} if c is not None and c.linked else {}
    return Table(shown, caption, links=links)


# --------------------------------------------------------------------------------------
# Figures: drawn by plots.py in the kit's style, from the cohort's applicant rows


def eligible_histogram(c: Cohort) -> Figure:
    """How many programs each applicant can apply to (eligible) or must ask (unknown)."""
    return plots.cohort_eligible_histogram(c.applicants)


def budget_scatter(c: Cohort) -> Figure:
    """Each applicant's budget against the cost of the planned rotations."""
    return plots.cohort_budget_scatter(c.applicants)


def chance_histogram(c: Cohort, low_chance: float | None = None) -> Figure:
    """Match chance with the plan across the cohort, with the at-risk line."""
    low_chance = default_low_chance() if low_chance is None else low_chance
    return plots.cohort_chance_histogram(c.applicants, low_chance)


# --------------------------------------------------------------------------------------
# overview.html


def write_overview_html(path: Path, nb) -> Path:
    """The executed 04-cohort notebook as a self-contained page, no code, linking back to the index."""
    from markupsafe import Markup

    from .report import CSP, notebook_body, unique_ids
    from .views import render_template

    css = resources.files("helpers").joinpath("templates/report.css").read_text(encoding="utf-8")
    page = render_template(
        "overview.html.j2",
        csp=CSP,
        css=Markup(css),
        version=__version__,
        body=Markup(notebook_body(nb, prefix="overview")),
    )
    return write_atomic(path, unique_ids(page))


# --------------------------------------------------------------------------------------
# index.html (the cohort's list of reports)


def next_deadline(summary: dict) -> dict | None:
    """The first dated deadline on or after the plan date ({date, what}), else None."""
    start = summary.get("plan_date", "")
    dated = [d for d in summary.get("deadlines", []) if d.get("date", "") >= start]
    firm = [d for d in dated if d.get("kind") == "deadline"] or [
        d for d in dated if d.get("status") != "plan" or "Apply" in d.get("what", "")
    ]
    if not firm:
        return None
    d = min(firm, key=lambda x: x["date"])
    return {"date": d["date"], "what": d["what"]}


def _deadline_words(d: dict | None) -> dict | None:
    if not d:
        return None
    from datetime import date

    from .views import plain

    day = date.fromisoformat(d["date"])
    return {"date": f"{day.day} {day:%b %Y}", "what": plain(d["what"])}


def index_page(results: list, overview: bool, href: str = "overview.html") -> str:
    """index.html from the run's results (ids and figures only, never names)."""
    from .views import chance, money, plain, render_template

    rows = []
    for r in results:
        x = r.row if r.status == "ok" else None
        if x is None:
            rows.append({"ok": False, "applicant_id": r.applicant_id, "error": r.error or r.status})
            continue
        rows.append(
            {
                "ok": True,
                "applicant_id": r.applicant_id,
                "href": f"{r.applicant_id}/report.html",
                "at_risk": [plain(m) for m in x.get("at_risk", [])],
                "next_deadline": _deadline_words(x.get("next_deadline")),
                "eligible": x["eligible"],
                "unknown": x["unknown"],
                "rotations": x["rotations"],
                "cost": money(x["cost"]),
                "budget": money(x["budget"]),
                "chance": "—" if x["chance"] is None else chance(x["chance"]),
                "warnings": x["warnings"],
            }
        )
    css = resources.files("helpers").joinpath("templates/report.css").read_text(encoding="utf-8")
    from markupsafe import Markup

    return render_template(
        "index.html.j2",
        csp="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        css=Markup(css),
        rows=rows,
        ok=sum(r.status == "ok" for r in results),
        total=len(results),
        overview=overview,
        overview_href=href,
        version=__version__,
    )
