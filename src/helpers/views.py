"""Tables and short texts the notebooks show, formatted for people.

Everything a user typed (names, ids, program names) is HTML-escaped here or by pandas'
own escaping of DataFrame cells, so a report can never run what someone put in a file.
"""

from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML

from .analysis import Analysis
from .budget import COST_PARTS
from .odds import CALIBRATION_FACTS
from .tiering import TIERS

UNKNOWN_NOTE = "unknown — confirm with the program"


class Table:
    """A DataFrame shown in full, without its index, every cell HTML-escaped.

    `.frame` is the DataFrame itself for anyone exploring further in JupyterLab.
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def _repr_html_(self) -> str:
        if self.frame.empty:
            return "<p><em>(none)</em></p>"
        return self.frame.to_html(index=False, escape=True, border=0, na_rep="—", classes="awayplan")

    def __repr__(self) -> str:
        return "(none)" if self.frame.empty else self.frame.to_string(index=False, max_colwidth=60)

    def __len__(self) -> int:
        return len(self.frame)


def _table(func):
    """Decorator: a view that builds a DataFrame is shown as a Table."""

    def wrapper(*args, **kwargs) -> Table:
        return Table(func(*args, **kwargs))

    wrapper.__doc__, wrapper.__name__ = func.__doc__, func.__name__
    return wrapper


def _pct(x: float) -> str:
    return f"{abs(100 * x):.0f}%"  # probabilities: no "-0%" from floating-point dust


def _join(items: list[str]) -> str:
    return "; ".join(items)


def headline(a: Analysis) -> HTML:
    """Who this is for and the plan in four lines (escaped)."""
    p = a.profile
    name = f" ({html.escape(p.name)})" if p.name else ""
    c = a.status_counts
    rot = len(a.rotations)
    lines = [
        f"<strong>Applicant {html.escape(p.applicant_id)}{name}</strong>, application cycle {p.application_cycle} (ERAS in September {p.application_cycle}, Match Day in March {p.application_cycle + 1}); plan date {a.plan_date:%d %B %Y}.",
        f"Visa needed: {html.escape(p.visa_needed)}; {html.escape(p.school_status)}; Step 1 {html.escape(p.step1)}; Step 2 CK {p.step2_ck if p.step2_ck is not None else 'not yet'}; profile strength <em>{a.strength.label}</em> (R-T4).",
        f"Programs: {c['eligible']} eligible, {c['unknown']} unknown ({UNKNOWN_NOTE}), {c['excluded']} excluded, of {len(a.table)}.",
        f"Plan: {rot} away rotation(s) for ${a.total_cost:,.0f} of a ${p.budget_usd:,.0f} budget; match chance once interviewed about {_pct(round(a.with_plan['match_probability_if_interviewed'] * 20) / 20)}; overall, counting the risk of no interview, an estimated {_pct(round(a.with_plan['match_probability'] * 20) / 20)} (range {_pct(a.with_plan['match_probability_p10'])}-{_pct(a.with_plan['match_probability_p90'])}).",
    ]
    return HTML("<div class='headline'>" + "<br>".join(lines) + "</div>")


@_table
def tier_table(a: Analysis, per_tier: int = 12) -> pd.DataFrame:
    """The tiered list: best interview chances first in each tier, with the one-line why."""
    t = a.table.loc[a.table["status"] != "excluded"].copy()
    t["tier_order"] = t["tier"].map({k: i for i, k in enumerate(TIERS)}).fillna(len(TIERS))
    t = t.sort_values(["tier_order", "status", "interview_chance"], ascending=[True, True, False])
    t = t.groupby("tier_order", sort=True).head(per_tier)
    return pd.DataFrame(
        {
            "program": t["program_id"] + " " + t["name"],
            "state": t["state"],
            "tier": t["tier"].fillna("no tier"),
            "status": t["status"].map(lambda s: UNKNOWN_NOTE if s == "unknown" else s),
            "interview chance": t["interview_chance"].map(_pct),
            "why this tier": t["tier_reason"],
            "reasons": t["reasons"].map(_join),
            **({"answered by the program": t["answered"]} if t.get("answered", pd.Series()).any() else {}),
        }
    ).reset_index(drop=True)


@_table
def excluded_table(a: Analysis, limit: int = 15) -> pd.DataFrame:
    """The first excluded programs with the rule-coded reasons that exclude them."""
    t = a.table.loc[a.table["status"] == "excluded"].head(limit)
    return pd.DataFrame(
        {"program": t["program_id"] + " " + t["name"], "why it is out": t["excluded_by"].map(_join)}
    ).reset_index(drop=True)


@_table
def leverage_table(a: Analysis, top: int = 12) -> pd.DataFrame:
    """Programs where a rotation would count most, with the four parts shown separately."""
    t = (
        a.table.loc[a.table["leverage"].notna()]
        .sort_values(["leverage", "interview_chance"], ascending=False)
        .head(top)
    )
    fmt = lambda s: s.astype(float).map(lambda v: "?" if pd.isna(v) else f"{v:.2f}")  # noqa: E731
    return pd.DataFrame(
        {
            "program": t["program_id"] + " " + t["name"],
            "tier": t["tier"].fillna("no tier"),
            "rotation": t["rotation_kind"].fillna("?") + " (" + t["rotation_status"] + ")",
            "leverage": fmt(t["leverage"]),
            "R-L1 IMG history": fmt(t["img_history"]),
            "R-L2 welcomes visitors": fmt(t["welcomes_visitors"]),
            "R-L3 reaches committee": fmt(t["reaches_committee"]),
            "R-L4 fit": fmt(t["fit"]),
        }
    ).reset_index(drop=True)


@_table
def odds_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for label, s in (("without rotations", a.baseline), ("with the plan", a.with_plan)):
        rows.append(
            {
                "scenario": label,
                "match chance (rounded to 5%)": _pct(round(s["match_probability"] * 20) / 20),
                "10th-90th percentile": f"{_pct(s['match_probability_p10'])}-{_pct(s['match_probability_p90'])}",
                "expected DR interviews": f"{s['expected_interviews']:.1f}",
                "chance of at least one interview (model estimate)": _pct(s["p_at_least_one_interview"]),
                "match chance if interviewed": _pct(s["match_probability_if_interviewed"]),
            }
        )
    return pd.DataFrame(rows)


@_table
def signals_table(a: Analysis) -> pd.DataFrame:
    names = dict(zip(a.table["program_id"], a.table["name"], strict=True))
    s = a.signals
    return pd.DataFrame(
        {
            "signal": s["signal"],
            "program": s["program_id"] + " " + s["program_id"].map(names),
            "why": s["why"],
            "interview chance": s["interview_chance"].map(_pct),
            "with the signal": s["with_signal"].map(_pct),
        }
    )


@_table
def questions_table(a: Analysis) -> pd.DataFrame:
    """Everything to confirm with programs before counting on them or paying (R-K2)."""
    t = a.table.loc[a.table["status"] != "excluded"]
    planned = set(a.rotations["program_id"])
    rows = []
    for r in t.itertuples(index=False):
        qs = list(r.questions)
        if r.program_id in planned or r.rotation_status == "unknown":
            qs += [q for q in r.rotation_questions if q not in qs]
        for q in qs:
            rows.append(
                {
                    "program": f"{r.program_id} {r.name}",
                    "planned rotation": "yes" if r.program_id in planned else "",
                    "ask": q,
                }
            )
    frame = pd.DataFrame(rows, columns=["program", "planned rotation", "ask"])
    return frame.sort_values(["planned rotation", "program"], ascending=[False, True]).reset_index(drop=True)


@_table
def calibration_table(a: Analysis) -> pd.DataFrame:
    return a.calibration.reproduction


@_table
def model_parameters(a: Analysis) -> pd.DataFrame:
    c = a.calibration
    return pd.DataFrame(
        [
            ("mean expected DR interviews (before the at-least-one condition)", f"{c.mu:.2f}"),
            ("spread across applicants (log-normal SD)", f"{c.sigma:.2f}"),
            ("chance one ranked program becomes the match", f"{c.c:.3f}"),
            ("correlation of Step 2 CK with expected interviews", f"{c.rho:.3f}"),
            ("correlation of research experiences with expected interviews", f"{c.rho_research:.3f}"),
            (
                "share of the population with at least one DR interview (model estimate, no published count)",
                f"{c.p_at_least_one:.0%}",
            ),
        ],
        columns=["fitted parameter", "value"],
    )


@_table
def plan_table(a: Analysis) -> pd.DataFrame:
    if not len(a.rotations):
        return pd.DataFrame(
            columns=[
                "program",
                "tier",
                "kind",
                "dates",
                "apply by",
                "cost (USD)",
                "estimated parts",
                "leverage",
                "serves (R-B3)",
            ]
        )
    r = a.rotations
    return pd.DataFrame(
        {
            "program": r["program_id"] + " " + r["name"] + " (" + r["state"] + ")",
            "tier": r["tier"].fillna("no tier"),
            "kind": r["kind"],
            "dates": [f"{s:%d %b} - {e:%d %b %Y}" for s, e in zip(r["start"], r["end"], strict=True)],
            "apply by": [f"{d:%d %b %Y}" for d in r["apply_by"]],
            "cost (USD)": r["cost_usd"].map(lambda v: f"{v:,.0f}"),
            "estimated parts": r["estimated"].replace("", "none"),
            "leverage": r["leverage"].map(lambda v: f"{v:.2f}"),
            "serves (R-B3)": r["serves"].replace("", "no stated preference") if "serves" in r else "",
        }
    )


@_table
def candidate_costs(a: Analysis, top: int = 12) -> pd.DataFrame:
    """Cost parts (USD) of the most valuable block at each candidate program, plan first."""
    c = a.top_candidates(top)
    money = lambda s: s.astype(float).map(lambda v: f"{v:,.0f}")  # noqa: E731
    return pd.DataFrame(
        {
            "program": c["program_id"] + c["chosen"].map({True: " (plan)", False: ""}),
            **{part.replace("_", " "): money(c[part]) for part in COST_PARTS},
            "total": money(c["cost_usd"]),
            "estimated parts": c["estimated"].replace("", "none"),
        }
    )


@_table
def effect_sensitivity(a: Analysis) -> pd.DataFrame:
    """How the plan's gain depends on the reading of each channel (R-V4): the share of the
    published away-rotation association counted at the host, and the letter effect."""
    s = a.effect_sensitivity()
    return pd.DataFrame(
        {
            "channel": s["channel"].map({"host": "at the host", "letter": "letter and US experience"}),
            "reading": s["reading"],
            "match chance with the plan": s["match_probability"].map(_pct),
            "gain (points)": s["gain_points"].map(lambda v: f"{v:+.1f}"),
        }
    )


@_table
def advice_table(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame(a.advice, columns=["rule", "advice"])


@_table
def warnings_table(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame(a.warnings, columns=["rule", "warning"])


@_table
def alternatives_table(a: Analysis) -> pd.DataFrame:
    alt = a.alternatives
    yes_no = {True: "yes", False: "no"}
    return pd.DataFrame(
        {
            "alternative": alt["kind"].str.replace("_", " "),
            "rule": alt["rule"],
            "cost (USD)": alt["cost_usd"].map(lambda v: f"{v:,.0f}"),
            "fits the budget": alt["fits_budget"].map(yes_no),
            "needs a visa": alt["needs_visa"].map(yes_no),
            "possible this cycle": alt["feasible"].map(yes_no),
            "why": alt["why"],
        }
    )


@_table
def steps_table(a: Analysis) -> pd.DataFrame:
    s = a.steps
    return pd.DataFrame(
        {
            "date": [f"{d:%a %d %b %Y}" for d in s["date"]],
            "step": s["what"],
            "rule": s["rule"],
            "date is": s["status"].map({"official": "official", "estimated": "estimated", "plan": "planned"}),
        }
    )


@_table
def cycle_table(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": [f"{c.date:%a %d %b %Y}" for c in a.cycle],
            "event": [c.what for c in a.cycle],
            "status": [c.status for c in a.cycle],
            "source": [c.source for c in a.cycle],
        }
    )


COST_FACTS = [
    "vslo_fee_usd",
    "insurance_month_usd",
    "visa_mrv_fee_usd",
    "visa_integrity_fee_usd",
    "commercial_observership_4wk_usd",
    "host_fee_example_usd",
    "non_lcme_surcharge_example_usd",
]


@_table
def sources_table(a: Analysis, keys: list[str] | None = None) -> pd.DataFrame:
    """Published figures behind this report, with source and trust."""
    return a.facts.cited(keys or [*CALIBRATION_FACTS, *COST_FACTS])


@_table
def assumptions_table(a: Analysis, keys: list[str] | None = None) -> pd.DataFrame:
    """Named assumptions behind this report (data/assumptions.yaml)."""
    return a.assume.table(keys)


@_table
def budget_curve_table(a: Analysis) -> pd.DataFrame:
    c = a.budget_curve
    return pd.DataFrame(
        {
            "budget (USD)": c["budget_usd"].map(lambda v: f"{v:,.0f}"),
            "rotations": c["rotations"],
            "gain in match chance (points)": c["gain_points"].map(lambda v: f"{v:.1f}"),
            "plan cost (USD)": c["cost_usd"].map(lambda v: f"{v:,.0f}"),
        }
    )


# --------------------------------------------------------------------------- what moves the odds

FACTOR_LABELS = {
    "step2_ck": "Step 2 CK score",
    "research_items": "Research items",
    "failed_attempts": "Failed USMLE attempts",
    "us_clinical_months": "US clinical experience (months)",
    "us_radiology_letters": "US radiology letters",
    "years_since_graduation": "Years since graduation",
}


def prose(a: Analysis, template: str):
    """Markdown whose figures come from facts, assumptions and this analysis (helpers.prose)."""
    from IPython.display import Markdown

    from .prose import say

    return Markdown(say(template, a.facts, a.assume, a=a))


@_table
def factors_table(a: Analysis) -> pd.DataFrame:
    """What moves the odds: each record item, the applicant's value, its effect on the match
    chance (percentage points against the reference record) and its basis."""
    rows = []
    for f in a.match_probability["factors"]:
        value = f["value"]
        shown = "not given" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        rows.append(
            {
                "what": FACTOR_LABELS.get(f["field"], f["field"]),
                "your record": shown,
                "effect on the match chance": f"{f['effect']:+.1f} points",
                "basis": f["basis"],
            }
        )
    return pd.DataFrame(rows)


def coverage_note(a: Analysis) -> HTML:
    """R-M1: what share of the national market the table covers, and what the chance counts."""
    c = a.coverage
    share = c["share_of_national_positions"]
    text = (
        f"The program table holds {c['programs_in_table']} programs with about {c['positions_in_table']:,} "
        f"positions: {share:.0%} of the {c['national_positions']:,} DR positions offered nationally "
        "(R-M1). The match chance counts only these programs"
    )
    if share < 0.5:
        text += "; applying more widely would raise it"
    return HTML(f"<p class='coverage'>{html.escape(text)}.</p>")


def gate_note(a: Analysis) -> HTML:
    """R-G1/R-G4: a blocked or conditional chance, said first."""
    mp = a.match_probability
    parts = []
    if mp["blocked"]:
        parts.append(
            f"<strong>Blocked this cycle</strong> ({mp['blocked']['rule']}): {html.escape(mp['blocked']['reason'])}."
        )
    if mp["condition"]:
        c = mp["condition"]
        parts.append(
            f"<strong>Only if</strong> ({c['rule']}, by {c['by']}): {html.escape(c['reason'])}. The chances below hold on that condition."
        )
    return HTML("<div class='gate'>" + "<br>".join(parts) + "</div>") if parts else HTML("")


@_table
def gains_table(a: Analysis) -> pd.DataFrame:
    """Each planned rotation's gain in match chance, by channel (R-V4)."""
    r = a.rotations
    if not len(r):
        return pd.DataFrame(
            columns=["program", "at the host", "through the letter and US experience", "total"]
        )
    return pd.DataFrame(
        {
            "program": r["program_id"] + " " + r["name"],
            "at the host": r["gain_host"].map(lambda x: f"{x:+.1f} points"),
            "through the letter and US experience": r["gain_letter"].map(lambda x: f"{x:+.1f} points"),
            "total": (r["gain_host"] + r["gain_letter"]).map(lambda x: f"{x:+.1f} points"),
        }
    )
