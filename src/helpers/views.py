"""Tables and short texts the notebooks show, formatted for people.

Everything a user typed (names, ids, program names) is HTML-escaped here or by pandas'
own escaping of DataFrame cells, so a report can never run what someone put in a file.
"""

from __future__ import annotations

import functools
import html
import re

import pandas as pd
from IPython.display import HTML

from .analysis import Analysis
from .budget import COST_PARTS
from .odds import CALIBRATION_FACTS
from .tiering import TIERS

UNKNOWN_NOTE = "unknown — confirm with the program"
FULL_LIST = "all-programs"  # id of the full, sortable list in report.html

TIER_WORDS = {"high_reach": "high reach", "mid_tier": "mid-tier", "img_friendly": "IMG-friendly"}
STATUS_WORDS = {"eligible": "eligible", "unknown": UNKNOWN_NOTE, "excluded": "excluded"}
KIND_WORDS = {
    "vslo": "visiting-student elective (VSLO)",
    "direct": "elective arranged with the program",
    "observership": "observership",
}
# Field and setting names that reach messages, in the words a reader uses.
PLAIN_NAMES = {
    "visa_needed": "visa needed",
    "j1_or_h1b": "J-1 or H-1B",
    "max_rotations": "the most rotations you allow",
    "rotation_value.balance_bonus": "the preference for a balanced pair",
    "odds.association_exponent": "the share of the published rotation effect counted",
    "budget_usd": "budget",
}
_CODE_NAME = re.compile(r"`?\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.[a-z0-9_]+)?|[a-z]+\.[a-z]+_[a-z0-9_]+)\b`?")
_ACRONYMS = {
    "vslo": "VSLO",
    "mrv": "MRV",
    "img": "IMG",
    "dr": "DR",
    "nrmp": "NRMP",
    "usd": "(USD)",
    "pct": "(%)",
    "nonus": "non-US",
    "usmle": "USMLE",
    "step2ck": "Step 2 CK",
    "n": "number",
    "lcme": "LCME",
}


def plain(text: str) -> str:
    """A message with field and setting names turned into words ("visa_needed" -> "visa needed")."""

    def swap(m: re.Match) -> str:
        name = m.group(1)
        return PLAIN_NAMES.get(name, humanize(name.split(".")[-1]))

    text = _CODE_NAME.sub(swap, text)
    # "1 non-US IMGs" -> "1 non-US IMG"
    text = re.sub(
        r"(?<![\d.,])1 ((?:non-US )?(?:IMG|program|rotation|applicant|deadline|day|week|month))s\b",
        r"1 \1",
        text,
    )
    # "2 rotation(s)" -> "2 rotations", "1 cost(s)" -> "1 cost"
    return re.sub(
        r"\b(\d+)((?: [\w-]+){1,3})\(s\)",
        lambda m: f"{m.group(1)}{m.group(2)}{'' if m.group(1) == '1' else 's'}",
        text,
    )


def humanize(key: str) -> str:
    """A data key as words: "vslo_fee_usd" -> "VSLO fee (USD)"."""
    words = [_ACRONYMS.get(w, w) for w in key.replace(".", " ").split("_")]
    return " ".join(w.replace("4wk", "4-week") for w in words)


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """ "1 rotation", "2 rotations" (whole numbers shown whole)."""
    n_text = f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"
    return f"{n_text} {word if n == 1 else (many or word + 's')}"


def chance(x: float | None) -> str:
    """A probability in words: "under 1%" rather than "0%", "over 99%" rather than "100%"."""
    if x is None or x != x:
        return "—"
    shown = f"{100 * abs(float(x)):.0f}"  # decide on the rounded figure: 0.5% prints as "0"
    if shown == "0":
        return "under 1%"
    if shown == "100":
        return "over 99%"
    return f"{shown}%"


def points(x: float) -> str:
    """Percentage points with a sign, whole numbers shown whole ("+9.4", "+1", "0")."""
    text = f"{float(x):+.1f}".removesuffix(".0")
    return "0" if text in ("+0", "-0") else text


def about(words: str) -> str:
    """ "about 45%", but "under 1%" as it is."""
    return words if words.startswith(("under", "over", "—")) else f"about {words}"


def chance_range(lo: float, hi: float) -> str:
    """ "19% to 86%", or one phrase when both ends read the same ("under 1%")."""
    a, b = chance(lo), chance(hi)
    return a if a == b else f"{a} to {b}"


def money(v: float | None) -> str:
    return "—" if v is None or v != v else f"${float(v):,.0f}"


def tier_words(t) -> str:
    return TIER_WORDS.get(t, "no tier") if isinstance(t, str) else "no tier"


class Table:
    """A DataFrame shown in full, without its index, every cell HTML-escaped.

    `.frame` is the DataFrame itself for anyone exploring further in JupyterLab. A caption
    names the table; `total` (when the frame is a shortened list) adds "showing N of M"
    and a pointer to the full list. `links` makes a column's cells links: column -> target
    with `{}` for the cell's value (text and target both escaped). A list in a cell shows
    as one escaped line per item. `print_note` leaves the table out of a printed page and
    prints that note (escaped) in its place.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        caption: str = "",
        total: int | None = None,
        html_columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        links: dict[str, str] | None = None,
        print_note: str = "",
    ):
        self.frame = frame
        self.print_note = print_note
        self.caption = caption
        self.total = total
        self.html_columns = html_columns  # cells already made safe by the view (links)
        self.numeric = numeric
        self.links = links or {}

    def count_note(self) -> str:
        if self.total is None or self.total <= len(self.frame):
            return ""
        return (
            f"showing {len(self.frame):,} of {self.total:,}; every program is in "
            f"<a href='#{FULL_LIST}'>the full list</a> and in programs.csv"
        )

    def _cell(self, col: str, value) -> str:
        if isinstance(value, list | tuple):
            return "<br>".join(html.escape(str(v)) for v in value)
        if value is None or (isinstance(value, float) and value != value):
            return "—"
        if col in self.html_columns:
            return str(value)
        text = html.escape(str(value))
        if col in self.links:
            return f"<a href='{html.escape(self.links[col].format(value), quote=True)}'>{text}</a>"
        return text

    def _repr_html_(self) -> str:
        if self.frame.empty:
            return "<p><em>(none)</em></p>"
        cols = list(self.frame.columns)
        num = " class='num'"
        head = "".join(
            f"<th scope='col'{num if c in self.numeric else ''}>{html.escape(str(c))}</th>" for c in cols
        )
        rows = []
        for values in self.frame.itertuples(index=False):
            cells = []
            for c, v in zip(cols, values, strict=True):
                cls = " class='num'" if c in self.numeric else ""
                cells.append(f"<td{cls}>{self._cell(c, v)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        note = self.count_note()
        caption = ""
        if self.caption or note:
            caption = (
                f"<caption>{html.escape(self.caption)}"
                + (f" <span class='count'>({note})</span>" if note else "")
                + "</caption>"
            )
        label = html.escape(self.caption or "table", quote=True)
        printed = f"<p class='print-only'>{html.escape(self.print_note)}</p>" if self.print_note else ""
        wrap = "table-wrap no-print" if self.print_note else "table-wrap"
        return (
            f"{printed}<div class='{wrap}' role='region' aria-label='{label}' tabindex='0'>"
            f"<table class='awayplan'>{caption}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return "(none)" if self.frame.empty else self.frame.to_string(index=False, max_colwidth=60)

    def __len__(self) -> int:
        return len(self.frame)


def _table(caption: str = "", numeric: tuple[str, ...] = ()):
    """Decorator: a view that builds a DataFrame is shown as a captioned Table."""

    def deco(func):
        def wrapper(*args, **kwargs) -> Table:
            out = func(*args, **kwargs)
            if isinstance(out, Table):
                out.caption = out.caption or caption
                return out
            return Table(out, caption, numeric=numeric)

        wrapper.__doc__, wrapper.__name__ = func.__doc__, func.__name__
        return wrapper

    return deco


def _pct(x: float) -> str:
    return chance(x)


def _join(items: list[str]) -> str:
    return "; ".join(plain(i) for i in items)


def headline(a: Analysis) -> HTML:
    """Who this is for and the plan in four lines (escaped)."""
    p = a.profile
    name = f" ({html.escape(p.name)})" if p.name else ""
    c = a.status_counts
    rot = len(a.rotations)
    lines = [
        f"<strong>Applicant {html.escape(p.applicant_id)}{name}</strong>, application cycle {p.application_cycle} (ERAS in September {p.application_cycle}, Match Day in March {p.application_cycle + 1}); plan date {a.plan_date:%d %B %Y}.",
        f"Visa needed: {html.escape(plain(p.visa_needed))}; {html.escape(p.school_status)}; Step 1 {html.escape(plain(p.step1))}; Step 2 CK {p.step2_ck if p.step2_ck is not None else 'not yet'}; profile strength <em>{a.strength.label}</em> <small class='rule'>R-T4</small>.",
        f"Programs: {c['eligible']} eligible, {c['unknown']} unknown ({UNKNOWN_NOTE}), {c['excluded']} excluded, of {len(a.table)}.",
        f"Plan: {plural(rot, 'away rotation')} for ${a.total_cost:,.0f} of a ${p.budget_usd:,.0f} budget; match chance once interviewed about {_pct(round(a.with_plan['match_probability_if_interviewed'] * 20) / 20)}; overall, counting the risk of no interview, an estimated {_pct(round(a.with_plan['match_probability'] * 20) / 20)} (range {_pct(a.with_plan['match_probability_p10'])} to {_pct(a.with_plan['match_probability_p90'])}).",
    ]
    return HTML("<div class='headline'>" + "<br>".join(lines) + "</div>")


def _program(t: pd.DataFrame) -> pd.Series:
    return t["name"].astype(str) + " (" + t["state"].astype(str) + ")"


def tier_table(a: Analysis, per_tier: int = 12) -> Table:
    """The tiered list: best interview chances first in each tier, with the one-line why."""
    t = a.table.loc[a.table["status"] != "excluded"].copy()
    total = len(t)
    t["tier_order"] = t["tier"].map({k: i for i, k in enumerate(TIERS)}).fillna(len(TIERS))
    t = t.sort_values(["tier_order", "status", "interview_chance"], ascending=[True, True, False])
    t = t.groupby("tier_order", sort=True).head(per_tier)
    frame = pd.DataFrame(
        {
            "program": _program(t),
            "tier": t["tier"].map(tier_words),
            "status": t["status"].map(STATUS_WORDS),
            "interview chance": t["interview_chance"].map(_pct),
            "why this tier": t["tier_reason"].map(plain),
            "reasons": t["reasons"].map(_join),
            **({"answered by the program": t["answered"]} if t.get("answered", pd.Series()).any() else {}),
        }
    ).reset_index(drop=True)
    return Table(frame, "The tiered list: best interview chances in each tier", total=total)


def excluded_table(a: Analysis, limit: int = 15) -> Table:
    """The first excluded programs with the rule-coded reasons that exclude them."""
    out = a.table.loc[a.table["status"] == "excluded"]
    t = out.head(limit)
    frame = pd.DataFrame({"program": _program(t), "why it is out": t["excluded_by"].map(_join)})
    return Table(frame.reset_index(drop=True), "Programs you cannot apply to, and why", total=len(out))


def leverage_table(a: Analysis, top: int = 12) -> Table:
    """Programs where a rotation would count most, with the four parts shown separately."""
    shown = a.table.loc[a.table["leverage"].notna()]
    t = shown.sort_values(["leverage", "interview_chance"], ascending=False).head(top)
    fmt = lambda s: s.astype(float).map(lambda v: "not known" if pd.isna(v) else f"{v:.2f}")  # noqa: E731
    frame = pd.DataFrame(
        {
            "program": _program(t),
            "tier": t["tier"].map(tier_words),
            "rotation": t["rotation_kind"].map(lambda k: KIND_WORDS.get(k, "not known"))
            + " ("
            + t["rotation_status"].map(lambda s: STATUS_WORDS.get(s, s))
            + ")",
            "leverage": fmt(t["leverage"]),
            "IMG history (R-L1)": fmt(t["img_history"]),
            "welcomes visitors (R-L2)": fmt(t["welcomes_visitors"]),
            "reaches the committee (R-L3)": fmt(t["reaches_committee"]),
            "fit (R-L4)": fmt(t["fit"]),
        }
    ).reset_index(drop=True)
    return Table(frame, "Where a rotation counts most", total=len(shown))


@_table("Match chance without and with the plan")
def odds_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for label, s in (("without rotations", a.baseline), ("with the plan", a.with_plan)):
        rows.append(
            {
                "scenario": label,
                "match chance (rounded to 5%)": _pct(round(s["match_probability"] * 20) / 20),
                "likely range (10th to 90th percentile)": chance_range(
                    s["match_probability_p10"], s["match_probability_p90"]
                ),
                "expected DR interviews": f"{s['expected_interviews']:.1f}".removesuffix(".0"),
                "chance of at least one interview (model estimate)": _pct(s["p_at_least_one_interview"]),
                "match chance if interviewed": _pct(s["match_probability_if_interviewed"]),
            }
        )
    return pd.DataFrame(rows)


@_table("Where the preference signals go")
def signals_table(a: Analysis) -> pd.DataFrame:
    names = dict(zip(a.table["program_id"], _program(a.table), strict=True))
    s = a.signals
    return pd.DataFrame(
        {
            "signal": s["signal"],
            "program": s["program_id"].map(names),
            "why": s["why"].map(plain),
            "interview chance": s["interview_chance"].map(_pct),
            "with the signal": s["with_signal"].map(_pct),
        }
    )


def questions_table(a: Analysis, limit: int | None = None) -> Table:
    """What to confirm with programs before counting on them or paying (R-K2): the planned
    rotations first; `limit` programs at most (every question is in programs.csv)."""
    t = a.table.loc[a.table["status"] != "excluded"]
    planned = set(a.rotations["program_id"])
    order = sorted(
        t.itertuples(index=False), key=lambda r: (r.program_id not in planned, -r.interview_chance, r.name)
    )
    rows, programs = [], 0
    asking = [r for r in order if r.questions or (r.program_id in planned or r.rotation_status == "unknown")]
    for r in asking:
        qs = list(r.questions)
        if r.program_id in planned or r.rotation_status == "unknown":
            qs += [q for q in r.rotation_questions if q not in qs]
        if not qs:
            continue
        programs += 1
        if limit is not None and programs > limit:
            continue
        rows.append(
            {
                "program": f"{r.name} ({r.state})",
                "planned rotation": "yes" if r.program_id in planned else "",
                "ask": " ".join(plain(q) for q in qs),
            }
        )
    frame = pd.DataFrame(rows, columns=["program", "planned rotation", "ask"])
    table = Table(frame, "Questions to send programs", total=programs)
    if limit is not None and programs > limit:
        table.caption = f"Questions to send programs (the first {plural(limit, 'program')})"
    return table


@_table("Does the model reproduce the published figures?")
def calibration_table(a: Analysis) -> pd.DataFrame:
    r = a.calibration.reproduction.copy()
    for col in r.columns:
        if pd.api.types.is_float_dtype(r[col]):
            r[col] = r[col].map(lambda v: "—" if v != v else f"{v:,.1f}".removesuffix(".0"))
    return r.rename(columns={c: humanize(c) for c in r.columns})


@_table("Fitted model parameters")
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


def _city_state(r: dict) -> str:
    city = r.get("city")
    city = city if isinstance(city, str) and city.strip() else ""
    return f"{city}, {r['state']}" if city else str(r["state"])


@_table("Planned away rotations", numeric=("cost",))
def plan_table(a: Analysis) -> pd.DataFrame:
    cols = [
        "program",
        "where",
        "tier",
        "kind",
        "dates",
        "apply by",
        "cost",
        "estimated parts",
        "leverage",
        "serves",
    ]
    if not len(a.rotations):
        return pd.DataFrame(columns=cols)
    cities = dict(zip(a.table["program_id"], a.table.get("city", pd.Series(dtype=str)), strict=False))
    r = a.rotations
    return pd.DataFrame(
        {
            "program": r["name"],
            "where": [
                _city_state({"city": cities.get(p), "state": s})
                for p, s in zip(r["program_id"], r["state"], strict=True)
            ],
            "tier": r["tier"].map(tier_words),
            "kind": r["kind"].map(lambda k: KIND_WORDS.get(k, k)),
            "dates": [f"{s:%d %b} to {e:%d %b %Y}" for s, e in zip(r["start"], r["end"], strict=True)],
            "apply by": [f"{d:%d %b %Y}" for d in r["apply_by"]],
            "cost": r["cost_usd"].map(money),
            "estimated parts": r["estimated"].map(lambda e: humanize(str(e)).replace(" ,", ",") or "none"),
            "leverage": r["leverage"].map(lambda v: f"{v:.2f}"),
            "serves": r["serves"].replace("", "no stated preference") if "serves" in r else "",
        },
        columns=cols,
    )


def candidate_costs(a: Analysis, top: int = 12) -> Table:
    """Cost parts (USD) of the most valuable block at each candidate program, plan first."""
    c = a.top_candidates(top)
    total = int(a.candidates["program_id"].nunique()) if not a.candidates.empty else 0
    names = dict(zip(a.table["program_id"], a.table["name"], strict=True))
    usd = lambda s: s.astype(float).map(lambda v: f"{v:,.0f}")  # noqa: E731
    parts = {humanize(part) + " (USD)": usd(c[part]) for part in COST_PARTS}
    frame = pd.DataFrame(
        {
            "program": c["program_id"].map(names).fillna(c["program_id"])
            + c["chosen"].map({True: " (in the plan)", False: ""}),
            **parts,
            "total (USD)": usd(c["cost_usd"]),
            "estimated parts": c["estimated"].map(lambda e: humanize(str(e)) or "none"),
        }
    )
    return Table(
        frame,
        "What a rotation costs at each candidate program (visa fees are paid once and not included)",
        total=total,
        numeric=(*parts, "total (USD)"),
    )


@_table("How the plan's gain depends on the assumptions behind each channel")
def effect_sensitivity(a: Analysis) -> pd.DataFrame:
    """How the plan's gain depends on the reading of each channel (R-V4): the share of the
    published away-rotation association counted at the host, and the letter effect."""
    s = a.effect_sensitivity()
    return pd.DataFrame(
        {
            "channel": s["channel"].map({"host": "at the host", "letter": "letter and US experience"}),
            "reading": s["reading"],
            "match chance with the plan": s["match_probability"].map(_pct),
            "gain (percentage points)": s["gain_points"].map(points),
        }
    )


@_table("Advice for this plan")
def advice_table(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame([(plain(m), r) for r, m in a.advice], columns=["advice", "rule"])


@_table("Warnings")
def warnings_table(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame([(plain(m), r) for r, m in a.warnings], columns=["warning", "rule"])


ALT_LABELS = {
    "alternative": "alternative",
    "kind": "alternative",
    "rule": "rule",
    "cost_usd": "cost",
    "fits_budget": "fits the budget",
    "needs_visa": "needs a visa",
    "feasible": "possible now",
    "why": "why",
    "what it gives": "what it gives",
    "cost basis": "cost basis",
}
ALT_WORDS = {
    "observership": "observership",
    "virtual_elective": "virtual elective",
    "research": "imaging research",
}


@_table("Alternatives to away rotations")
def alternatives_table(a: Analysis) -> pd.DataFrame:
    alt = a.alternatives
    alt = alt if isinstance(alt, pd.DataFrame) else pd.DataFrame([dict(x) for x in (alt or [])])
    if alt.empty:
        return alt
    out = alt.copy()
    for col in ("alternative", "kind"):
        if col in out:
            out[col] = out[col].map(lambda k: ALT_WORDS.get(k, humanize(str(k))))
    if "cost_usd" in out:
        out["cost_usd"] = out["cost_usd"].map(money)
    for col in ("fits_budget", "needs_visa", "feasible"):
        if col in out:
            out[col] = out[col].map(lambda v: "yes" if v is True else ("no" if v is False else "not known"))
    for col in ("what it gives", "cost basis", "why"):
        if col in out:
            out[col] = out[col].astype(str).map(plain)
    return out.rename(columns={c: ALT_LABELS.get(c, humanize(str(c))) for c in out.columns})


@_table("Every dated step to Match Day")
def steps_table(a: Analysis) -> pd.DataFrame:
    s = a.steps
    return pd.DataFrame(
        {
            "date": [f"{d:%a %d %b %Y}" for d in s["date"]],
            "step": s["what"].map(plain),
            "date is": s["status"].map({"official": "official", "estimated": "estimated", "plan": "planned"}),
            "rule": s["rule"],
        }
    )


@_table("The cycle calendar")
def cycle_table(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": [f"{c.date:%a %d %b %Y}" for c in a.cycle],
            "event": [c.what for c in a.cycle],
            "date is": [c.status for c in a.cycle],
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


def _link(url: str) -> str:
    """A long source address as a short link naming its site (the full address is the target)."""
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return html.escape(str(url or ""))
    site = re.sub(r"^https?://(www\.)?", "", url).split("/")[0]
    if not url.startswith("https://"):  # not a link: the report links only to secure sources
        return f"{html.escape(site)} (not a secure address)"
    return f"<a href='{html.escape(url, quote=True)}'>{html.escape(site)}</a>"


def sources_table(a: Analysis, keys: list[str] | None = None) -> Table:
    """Published figures behind this report, with source and trust."""
    c = a.facts.cited(keys or [*CALIBRATION_FACTS, *COST_FACTS])
    frame = pd.DataFrame(
        {
            "figure": c["fact"].map(humanize),
            "value": c["value"].map(lambda v: plain(str(v))),
            "source": c["source"],
            "trust": c["trust"],
            "link": c["url"].map(_link),
        }
    )
    return Table(frame, "Published figures behind this report", html_columns=("link",))


@_table("Named assumptions (an advisor can change them)")
def assumptions_table(a: Analysis, keys: list[str] | None = None) -> pd.DataFrame:
    """Named assumptions behind this report (data/assumptions.yaml)."""
    t = a.assume.table(keys)
    whole = lambda text: re.sub(r"(?<![\d.])(\d+)\.0(?![\d.])", r"\1", plain(str(text)))  # noqa: E731
    frame = t.assign(
        assumption=t["assumption"].map(humanize),
        value=t["value"].map(whole),
        unit=t["unit"].map(whole),
        meaning=t["meaning"].map(whole),
        basis=t["basis"].map(whole),
    )
    # The same for every applicant and a dozen printed pages: the page keeps it, print points to it.
    return Table(
        frame,
        print_note=f"A printed copy leaves out the {len(frame)} named assumptions (value, range, unit, "
        f"meaning and basis): they are in report.html and in {a.assume.file_label}.",
    )


@_table("What more budget buys")
def budget_curve_table(a: Analysis) -> pd.DataFrame:
    c = a.budget_curve
    return pd.DataFrame(
        {
            "budget": c["budget_usd"].map(money),
            "rotations": c["rotations"].map(lambda v: f"{v:.0f}"),
            "gain in match chance (percentage points)": c["gain_points"].map(
                lambda v: f"{v:.1f}".removesuffix(".0")
            ),
            "plan cost": c["cost_usd"].map(money),
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


@_table("What moves your odds")
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
                "effect on the match chance": f"{points(f['effect'])} points",
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


@_table("Where each rotation's gain comes from")
def gains_table(a: Analysis) -> pd.DataFrame:
    """Each planned rotation's gain in match chance, by channel (R-V4)."""
    r = a.rotations
    if not len(r):
        return pd.DataFrame(
            columns=["program", "at the host", "through the letter and US experience", "total"]
        )
    return pd.DataFrame(
        {
            "program": r["name"],
            "at the host": r["gain_host"].map(lambda x: f"{points(x)} points"),
            "through the letter and US experience": r["gain_letter"].map(lambda x: f"{points(x)} points"),
            "total": (r["gain_host"] + r["gain_letter"]).map(lambda x: f"{points(x)} points"),
        }
    )


# --------------------------------------------------------------------------------------
# The plan block (first screen of report.html) and the full program list

# Each warning rule as the action it asks for (the message says why).
ACTIONS = {
    "R-K2": "Write to the programs marked unknown before counting on them",
    "R-C3": "Confirm the fees the plan had to estimate",
    "R-C4": "Talk the plan over with your advisor before paying for rotations",
    "R-W5": "Get the exam result out before the first host application",
    "R-W3": "Ask for the letter before the rotation ends",
    "R-A2": "Pass Step 3 in time, or accept J-1 as well",
    "R-C2": "Look for observerships, imaging research and electives through contacts",
    "R-C1": "Confirm hands-on status before paying",
    "R-V3": "Use an alternative: observership, virtual elective or imaging research",
    "R-W6": "Apply for the visitor visa early",
    "R-N1": "Keep to one or two rotations",
}


@functools.lru_cache(maxsize=1)
def _environment():
    """One Jinja2 environment per process (templates compile once)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("helpers", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(template: str, /, **context) -> str:
    """A Jinja2 template from helpers/templates, autoescaped (user text is never markup)."""
    return _environment().get_template(template).render(**context)


def _day(d) -> str:
    return f"{d:%a %d %b %Y}"


def _rests_on(a: Analysis) -> list[str]:
    """What the match chance rests on, in words: the anchors, the gate, the coverage and the
    record items that move it most (from the analysis, never typed in)."""
    p, c = a.profile, a.status_counts
    mp = a.match_probability
    out = ["published NRMP figures for non-US IMGs who ranked diagnostic radiology first (see the method)"]
    for key in ("blocked", "condition"):
        gate = mp.get(key)
        if gate:
            out.append(plain(f"{gate['reason']} ({gate['rule']})"))
    score = f"Step 2 CK {p.step2_ck}" if p.step2_ck is not None else "no Step 2 CK score yet"
    out.append(f"{score}; Step 1 {plain(p.step1)}")
    out.append(
        f"{plural(c['eligible'] + c['unknown'], 'program')} you can apply to "
        f"({c['eligible']} eligible, {c['unknown']} unknown), "
        f"{a.coverage.get('share_of_national_positions', 0):.0%} of the nation's DR positions (R-M1)"
    )
    moving = sorted(mp.get("factors", []), key=lambda f: -abs(f["effect"]))
    for f in moving[:3]:
        if abs(f["effect"]) >= 0.5:
            label = FACTOR_LABELS.get(f["field"], humanize(f["field"]))
            value = f["value"]
            value = "not given" if value is None else (f"{value:g}" if isinstance(value, float) else value)
            out.append(f"{label}: {value} ({points(f['effect'])} points against a typical record)")
    if len(a.rotations):
        out.append(
            "each rotation counted at its host and, through its letter and US experience, everywhere (R-V4)"
        )
    return out


def whole_dollars(amounts: list[float]) -> list[int]:
    """Whole dollars that add up to the rounded total (largest remainders get the spare dollars)."""
    floors = [int(x // 1) for x in amounts]
    spare = round(sum(amounts)) - sum(floors)
    order = sorted(range(len(amounts)), key=lambda i: amounts[i] - floors[i], reverse=True)
    for i in order[: max(0, spare)]:
        floors[i] += 1
    return floors


def plan_context(a: Analysis) -> dict:
    """Everything the plan block shows, as plain values (the template escapes them)."""
    p = a.profile
    cities = dict(zip(a.table["program_id"], a.table.get("city", pd.Series(dtype=object)), strict=False))
    rotations = []
    for r in a.rotations.to_dict("records"):
        rotations.append(
            {
                "name": r["name"],
                "where": _city_state({"city": cities.get(r["program_id"]), "state": r["state"]}),
                "kind": KIND_WORDS.get(r["kind"], r["kind"]),
                "tier": tier_words(r.get("tier")),
                "dates": f"{r['start']:%d %b} to {r['end']:%d %b %Y}",
                "apply_by": _day(r["apply_by"]),
                "cost": round(float(r["cost_usd"])),
                "estimated": bool(str(r.get("estimated", "")).strip()),
            }
        )
    shown = whole_dollars([float(r["cost_usd"]) for r in a.rotations.to_dict("records")] + [a.fixed_cost])
    for r, cost in zip(rotations, shown, strict=False):
        r["cost"] = cost
    visa = shown[-1] if len(a.rotations) else 0
    used = sum(r["cost"] for r in rotations) + visa
    budget = round(float(p.budget_usd))
    steps = a.steps.loc[a.steps["date"] >= a.plan_date].sort_values("date", kind="stable").head(3)
    actions = []
    for rule, message in a.warnings:
        actions.append({"do": ACTIONS.get(rule, ""), "why": plain(message), "rule": rule})
    base, planned = a.baseline["match_probability"], a.with_plan["match_probability"]
    alternatives = []
    if not len(a.rotations):
        alt = alternatives_table(a).frame
        for row in alt.to_dict("records"):
            row = {k: v for k, v in row.items() if k in ("alternative", "cost", "why", "what it gives")}
            if row.get("cost") == "$0":
                row["cost"] = "no fee"
            alternatives.append(row)
    counts = a.status_counts
    return {
        "applicant_id": p.applicant_id,
        "name": p.name or "",
        "cycle": p.application_cycle,
        "plan_date": f"{a.plan_date:%d %B %Y}",
        "rotations": rotations,
        "visa": visa,
        "used": used,
        "budget": budget,
        "left": budget - used,
        "next_steps": [
            {"date": _day(s.date), "what": plain(s.what), "rule": s.rule}
            for s in steps.itertuples(index=False)
        ],
        "chance_without": about(chance(round(base * 20) / 20)),
        "chance_with": about(chance(round(planned * 20) / 20)),
        "gain_points": f"{100 * (planned - base):.1f}".removesuffix(".0"),
        "if_interviewed_with": about(
            chance(round(a.with_plan["match_probability_if_interviewed"] * 20) / 20)
        ),
        "if_interviewed_without": about(
            chance(round(a.baseline["match_probability_if_interviewed"] * 20) / 20)
        ),
        "blocked": a.match_probability["blocked"],
        "condition": a.match_probability["condition"],
        "gains": [
            {"name": n, "host": points(h), "letter": points(g)}
            for n, h, g in zip(
                a.rotations["name"], a.rotations["gain_host"], a.rotations["gain_letter"], strict=True
            )
        ],
        "chance_range": chance_range(
            a.with_plan["match_probability_p10"], a.with_plan["match_probability_p90"]
        ),
        "rests_on": _rests_on(a),
        "actions": actions,
        "alternatives": alternatives,
        "no_rotation_reason": next(
            (
                plain(m).replace("see the warnings above", "see what to do below")
                for r, m in a.warnings
                if r == "R-V3"
            ),
            "",
        ),
        "counts": counts,
        "programs_total": len(a.table),
        "full_list": FULL_LIST,
    }


def plan_block(a: Analysis) -> HTML:
    """The plan on one screen: rotations, next steps, budget, match chance, actions."""
    return HTML(render_template("plan.html.j2", **plan_context(a)))


PROGRAM_COLUMNS = [
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


def program_list(a: Analysis) -> pd.DataFrame:
    """Every program in words: the full list behind programs.csv, programs.xlsx and the page
    (built once per analysis; each caller gets its own copy)."""
    frame = a.__dict__.get("_program_list")
    if frame is None:
        frame = a.__dict__["_program_list"] = _program_list(a)
    return frame.copy()


def _program_list(a: Analysis) -> pd.DataFrame:
    planned = set(a.rotations["program_id"]) if len(a.rotations) else set()
    order = _ordered(a.table)
    rows = []
    for r in order.itertuples(index=False):
        reasons = [*r.reasons, *[x for x in r.rotation_reasons if x not in r.reasons]]
        questions = [*r.questions, *[q for q in r.rotation_questions if q not in r.questions]]
        lev = float(r.leverage) if r.leverage == r.leverage and r.leverage is not None else None
        rows.append(
            {
                "program_id": r.program_id,
                "name": r.name,
                "state": r.state,
                "status": STATUS_WORDS.get(r.status, r.status),
                "tier": tier_words(r.tier) if r.status != "excluded" else "",
                "planned rotation": "yes" if r.program_id in planned else "",
                "interview chance": chance(r.interview_chance),
                "leverage": "" if lev is None else f"{lev:.2f}",
                "reasons": _join(reasons),
                "questions": " ".join(plain(q) for q in questions),
                "answered by the program": _answered(r),
            }
        )
    return pd.DataFrame(rows, columns=PROGRAM_COLUMNS)


def _answered(r) -> str:
    """Cells filled from a program's own answer, with date and source (merge-answers)."""
    value = getattr(r, "answered", "")
    return value if isinstance(value, str) else ""


def save_program_list(a: Analysis, out_dir) -> list:
    """programs.csv and programs.xlsx beside report.html (nothing when out_dir is None)."""
    if not out_dir:
        return []
    from pathlib import Path

    from .outputs import write_atomic

    frame = program_list(a)
    out = Path(out_dir)
    csv_path = write_atomic(out / "programs.csv", frame.to_csv(index=False, lineterminator="\n"))
    return [csv_path, write_atomic(out / "programs.xlsx", _xlsx_bytes(frame))]


def _xlsx_bytes(frame: pd.DataFrame) -> bytes:
    """The program list as an XLSX workbook: bold frozen header, filter, text never a formula."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "programs"
    ws.append(PROGRAM_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        # Text cells only, and never a formula: a name starting with "=" stays text.
        ws.append([("'" + v) if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for col, width in zip("ABCDEFGHIJ", (10, 40, 6, 18, 14, 10, 10, 9, 60, 60), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def warm_up() -> None:
    """Compile every template and load the XLSX and CSV writers, in a process whose forks
    will render reports (the zygote): each kernel would otherwise import and compile them
    again, about a quarter of a second per applicant. No applicant data is involved."""
    env = _environment()
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)
    empty = pd.DataFrame(columns=PROGRAM_COLUMNS)
    _xlsx_bytes(empty)
    empty.to_csv(index=False)
    empty.to_dict("records")
    from . import checklist, prose  # noqa: F401  (imported by the notebooks' later cells)


def all_programs(a: Analysis) -> HTML:
    """The full list in the page: every program, sortable and filterable in report.html."""
    frame = program_list(a)
    rows = []
    for r, raw, why in zip(
        frame.to_dict("records"), program_list_sort_keys(a), _short_reasons(a), strict=True
    ):
        rows.append({**r, "sort": raw, "why": why})
    return HTML(
        render_template(
            "programs.html.j2", rows=rows, total=len(frame), full_list=FULL_LIST, counts=a.status_counts
        )
    )


def _short_reasons(a: Analysis) -> list[str]:
    """What decides each program, briefly: why it is out, or what to confirm (page order)."""
    out = []
    for r in _ordered(a.table).itertuples(index=False):
        if r.status == "excluded":
            text = _join(r.excluded_by)
        else:
            text = _join([x for x in r.reasons if "unknown" in x])
        answered = _answered(r)
        out.append(f"{text} Answered by the program: {answered}".strip() if answered else text)
    return out


def _ordered(t: pd.DataFrame) -> pd.DataFrame:
    return t.assign(
        sort_o=t["status"].map({"eligible": 0, "unknown": 1, "excluded": 2}),
        sort_t=t["tier"].map({k: i for i, k in enumerate(TIERS)}).fillna(len(TIERS)),
    ).sort_values(["sort_o", "sort_t", "interview_chance"], ascending=[True, True, False], kind="stable")


def program_list_sort_keys(a: Analysis) -> list[dict]:
    """Numbers to sort the page's table by (interview chance and leverage as values)."""
    order = _ordered(a.table)
    return [
        {
            "chance": f"{float(r.interview_chance):.4f}",
            "leverage": "" if r.leverage != r.leverage or r.leverage is None else f"{float(r.leverage):.3f}",
            "tier": int(r.sort_t),
            "status": int(r.sort_o),
        }
        for r in order.itertuples(index=False)
    ]


def program_names(a: Analysis) -> dict[str, str]:
    """Program id -> name, for figure labels."""
    return dict(zip(a.table["program_id"].astype(str), a.table["name"].astype(str), strict=True))
