"""The start-here notebook's what-if explorer: controls that re-run one applicant's analysis.

An advisor changes the budget, Step 2 CK, visa need, student/graduate status, the months
available or the interests; the explorer re-validates the profile, re-runs `analyse`
(well under 0.1 s on the bundled table) and redraws only the tab on screen, so a change
shows in a fraction of a second. The slower budget curve is never computed here.
Everything drawn comes from the same views and plots as the report.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
from IPython.display import HTML

from . import __version__, checklist, plots, views
from .analysis import Analysis, analyse
from .assumptions import Assumptions, load_assumptions
from .checklist import INTEREST_WORDS
from .config import ROOT
from .errors import InputError
from .facts import Facts, load_facts
from .notebook import load
from .profile import Profile, profile_from_mapping
from .vocab import STORY_INTERESTS, SUBSPECIALTIES

VISA_OPTIONS = [
    ("none (US citizen or permanent resident)", "none"),
    ("J-1", "j1"),
    ("H-1B", "h1b"),
    ("J-1 or H-1B", "j1_or_h1b"),
]
STEP2_RANGE = (200, 280)  # the usual Step 2 CK range (glossary); the profile's own score widens it
STEP2_UNKNOWN_START = 250  # slider's resting place with no score (about the matched mean, glossary)
TABS = ("Tiers", "Match odds", "Budget", "Timeline", "Warnings and advice", "Checklist")
CONTROLS = ("budget", "visa", "status", "step2_taken", "step2", "months", "interests")
CACHE_SIZE = 32

# What each profile field decides, for the guided walk (rule IDs of advising-rules.md).
FIELD_ROLES = [
    ("visa_needed", "which programs can sponsor the residency visa", "R-C1, R-A2"),
    ("school_status", "visiting-student electives (students) or observerships (graduates)", "R-C2"),
    ("step1", "hosts that want a Step 1 result before a rotation", "R-C4, R-W5"),
    ("step2_ck", "programs' score minimums and the applicant's strength", "R-C4, R-T4"),
    ("budget_usd", "how many rotations are affordable", "R-C3"),
    ("application_cycle", "the year ERAS is submitted; sets every cycle date", "R-W1"),
    ("available_from", "first day a rotation can start (1 April of the cycle if blank)", "R-W1"),
    ("available_to", "last day a rotation can run (30 September of the cycle if blank)", "R-W1"),
    ("interests", "fit of a rotation with the applicant's story", "R-L4"),
    ("school_accreditation", "hosts that accept only LCME/AOA schools or charge a surcharge", "R-A4"),
    ("current_us_status", "visitor visa before rotating; observe-only hosts on B1/B2 or ESTA", "R-C1, R-W6"),
    ("us_radiology_letters", "how much an away rotation still adds", "R-V1, R-V2"),
    ("us_clinical_months", "how much an away rotation still adds", "R-V1, R-V2"),
    ("home_radiology_program", "pairing with a home radiology rotation", "R-V1, R-N4"),
    ("preferred_states", "where the applicant would like to be", "R-S1"),
    ("plan_date", "the 'today' of the timeline (the real date if blank)", "R-W4, R-W6"),
]


def interest_options() -> list[tuple[str, str]]:
    """(label, keyword) for every interest the kit understands."""
    return [(INTEREST_WORDS.get(k, k), k) for k in (*SUBSPECIALTIES, *STORY_INTERESTS)]


def month_options(profile: Profile) -> list[tuple[str, dt.date]]:
    """Months to choose from: the application year, reaching back if the profile's window does."""
    first = min(dt.date(profile.application_cycle, 1, 1), profile.window_start.replace(day=1))
    out, d = [], first
    while d.year <= profile.application_cycle:
        out.append((f"{d:%b %Y}", d))
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return out


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def build_controls(profile: Profile, budget_max: float) -> dict[str, widgets.Widget]:
    """One widget per control, set to the profile's values. Sliders update on release."""
    style = {"description_width": "10.5em"}
    wide = widgets.Layout(width="26em")
    months = month_options(profile)
    starts = [d for _, d in months]
    lo = starts.index(profile.window_start.replace(day=1))
    hi = starts.index(profile.window_end.replace(day=1))
    score = profile.step2_ck if profile.step2_ck is not None else STEP2_UNKNOWN_START
    top = max(int(budget_max), int(profile.budget_usd))
    return {
        "budget": widgets.IntSlider(
            value=int(profile.budget_usd),
            min=0,
            max=top,
            step=250,
            description="Budget (USD)",
            continuous_update=False,
            style=style,
            layout=wide,
        ),
        "visa": widgets.Dropdown(
            options=VISA_OPTIONS,
            value=profile.visa_needed,
            description="Visa needed",
            style=style,
            layout=wide,
        ),
        "status": widgets.ToggleButtons(
            options=[("student", "student"), ("graduate", "graduate")],
            value=profile.school_status,
            description="School status",
            style={**style, "button_width": "7em"},
        ),
        "step2_taken": widgets.Checkbox(
            value=profile.step2_ck is not None, description="Step 2 CK score out", style=style, indent=False
        ),
        "step2": widgets.IntSlider(
            value=score,
            min=min(STEP2_RANGE[0], score),
            max=max(STEP2_RANGE[1], score),
            description="Step 2 CK",
            disabled=profile.step2_ck is None,
            continuous_update=False,
            style=style,
            layout=wide,
        ),
        "months": widgets.SelectionRangeSlider(
            options=months,
            index=(lo, hi),
            description="Months available",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="40em"),
        ),
        "interests": widgets.SelectMultiple(
            options=interest_options(),
            value=tuple(profile.interests),
            description="Interests",
            rows=len(interest_options()),
            style=style,
            layout=wide,
        ),
    }


def changes_from_controls(base: Profile, values: dict) -> dict:
    """Profile fields the controls set; a field the controls leave as in the file keeps its value."""
    budget = float(values["budget"])
    lo, hi = values["months"]
    same_start = (lo.year, lo.month) == (base.window_start.year, base.window_start.month)
    same_end = (hi.year, hi.month) == (base.window_end.year, base.window_end.month)
    interests = list(values["interests"])
    return {
        "budget_usd": base.budget_usd if int(base.budget_usd) == int(budget) else budget,
        "visa_needed": values["visa"],
        "school_status": values["status"],
        "step2_ck": int(values["step2"]) if values["step2_taken"] else None,
        "available_from": base.available_from if same_start else lo,
        "available_to": base.available_to if same_end else month_end(hi),
        "interests": base.interests if set(interests) == set(base.interests) else interests,
    }


def variant(base: Profile, **changes) -> Profile:
    """The profile with some fields changed, validated again (InputError if the result is invalid)."""
    data = {**base.model_dump(), **changes}
    return profile_from_mapping(data, "what-if")


def key_figures(a: Analysis) -> dict[str, str]:
    """The few numbers an advisor compares between what-ifs (counts, plan, match chance)."""
    c = a.status_counts
    p = a.with_plan
    return {
        "eligible programs": str(c["eligible"]),
        "unknown (confirm with the program)": str(c["unknown"]),
        "excluded programs": str(c["excluded"]),
        "away rotations planned": str(len(a.rotations)),
        "plan cost (USD)": f"{a.total_cost:,.0f}",
        "match chance with the plan (model, rounded to 5%)": f"{100 * round(p['match_probability'] * 20) / 20:.0f}%",
        "expected DR interviews": f"{p['expected_interviews']:.1f}",
    }


def common_scenarios(profile: Profile) -> dict[str, dict]:
    """The what-ifs advisors ask first, phrased for this applicant: label -> field changes."""
    p = profile
    out: dict[str, dict] = {}
    if p.visa_needed == "j1":
        out["needs H-1B (Step 3 passed)"] = {"visa_needed": "h1b", "step3": "pass"}
    elif p.visa_needed == "none":
        out["needs a J-1"] = {"visa_needed": "j1"}
    elif p.visa_needed == "h1b":
        out["accepts J-1 too"] = {"visa_needed": "j1_or_h1b"}
    else:
        out["J-1 only"] = {"visa_needed": "j1"}
    out["already graduated" if p.is_student else "still a student"] = {
        "school_status": "graduate" if p.is_student else "student"
    }
    if p.budget_usd > 0:
        out["half the budget"] = {"budget_usd": round(p.budget_usd / 2, 2)}
    else:
        out["budget of $5,000"] = {"budget_usd": 5000.0}
    if p.step2_ck is not None:
        lower = max(1, p.step2_ck - 10)
        out[f"Step 2 CK {lower} (10 lower)"] = {"step2_ck": lower}
    else:
        out[f"Step 2 CK {STEP2_UNKNOWN_START}"] = {"step2_ck": STEP2_UNKNOWN_START}
    return out


def compare(analyses: dict[str, Analysis]) -> views.Table:
    """Key figures side by side, one column per scenario (labels are escaped by Table)."""
    figures = {label: key_figures(a) for label, a in analyses.items()}
    first = next(iter(figures.values()))
    frame = pd.DataFrame({"figure": list(first), **{k: list(v.values()) for k, v in figures.items()}})
    return views.Table(frame)


def profile_table(profile: Profile) -> views.Table:
    """What the kit reads from the profile and what each field decides (values escaped)."""
    rows = []
    for name, role, rules in FIELD_ROLES:
        value = getattr(profile, name)
        if name == "available_from":
            value = f"{profile.window_start}" + ("" if profile.available_from else " (default)")
        elif name == "available_to":
            value = f"{profile.window_end}" + ("" if profile.available_to else " (default)")
        elif isinstance(value, list):
            value = ", ".join(value) if value else "none"
        elif value is None:
            value = "not given"
        rows.append({"field": name, "value": str(value), "what it decides": role, "rules": rules})
    return views.Table(pd.DataFrame(rows))


def environment() -> HTML:
    """Which Python runs this notebook, and whether it is the kit's own environment (.venv)."""
    prefix = Path(sys.prefix).resolve()
    ours = prefix == (ROOT / ".venv").resolve()
    verdict = (
        "the kit's own environment"
        if ours
        else "not the kit's .venv: if imports fail, start JupyterLab with `make lab`"
    )
    return HTML(
        f"<p class='environment'>Kernel: Python {sys.version.split()[0]} in <code>{html.escape(str(prefix))}</code> "
        f"({html.escape(verdict)}); awayplan {html.escape(__version__)}.</p>"
    )


# --------------------------------------------------------------------------- the explorer


@dataclass(frozen=True)
class Update:
    """What one change did: the new analysis (None if the controls gave an invalid profile)."""

    analysis: Analysis | None
    seconds: float
    rendered: tuple[str, ...]
    error: str | None = None


def _image() -> widgets.Image:
    return widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))


def _html() -> widgets.HTML:
    return widgets.HTML(layout=widgets.Layout(max_width="100%", overflow="auto"))


class Explorer:
    """What-if controls around one applicant's profile, with the tiers, odds, budget and timeline.

    `update()` runs on every control change: it rebuilds the profile from the controls,
    re-runs the analysis (cached per distinct profile) and redraws the visible tab; the
    other tabs are redrawn when selected. `analysis` is always the current result.
    """

    def __init__(
        self,
        profile: Profile,
        programs: pd.DataFrame,
        facts: Facts | None = None,
        assume: Assumptions | None = None,
        today: dt.date | None = None,
    ):
        self.base_profile = profile
        self.programs = programs
        self.facts = facts or load_facts()
        self.assume = assume or load_assumptions()
        self.today = today
        self._cache: OrderedDict[str, Analysis] = OrderedDict()
        self._figures: OrderedDict[tuple, bytes] = OrderedDict()
        self.base = self._analyse(profile)
        self.analysis: Analysis = self.base
        self.last_update: Update | None = None
        self._holding = False
        budget_max = float(self.assume.value("budget_curve")["max_usd"])
        self.controls = build_controls(profile, budget_max)
        self.reset_button = widgets.Button(
            description="Back to the profile file", icon="undo", layout=widgets.Layout(width="auto")
        )
        self.summary = _html()
        self._parts: list[list[widgets.Widget]] = [
            [_image(), _html()],  # Tiers: funnel, tier table
            [_image(), _html()],  # Match odds: interval, table
            [_html(), _image(), _html()],  # Budget: plan, cost bars, alternatives
            [_image(), _html()],  # Timeline: calendar, steps
            [_html(), _html()],  # Warnings, advice
            [_html()],  # the rotation checklist (as in the report)
        ]
        self._renderers: list[Callable[[Analysis], list]] = [
            self._tiers,
            self._odds,
            self._budget,
            self._timeline,
            self._warnings,
            self._checklist,
        ]
        self.tabs = widgets.Tab(children=[widgets.VBox(p) for p in self._parts], titles=list(TABS))
        self._stale: set[int] = set(range(len(TABS)))
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.controls["step2_taken"].observe(self._toggle_step2, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.reset_button.on_click(lambda _: self.reset())
        c = self.controls
        self.widget = widgets.VBox(
            [
                widgets.HBox(
                    [
                        widgets.VBox([c["budget"], c["visa"], c["status"], c["step2_taken"], c["step2"]]),
                        widgets.VBox([c["interests"], self.reset_button]),
                    ]
                ),
                c["months"],
                self.summary,
                self.tabs,
            ]
        )
        self.update()

    @classmethod
    def from_paths(cls, profile_path: str | Path, programs_path: str | Path, **kwargs) -> Explorer:
        """Load the profile and program table (paths as in the analysis notebooks)."""
        plots.enable_display()
        profile, programs = load(profile_path, programs_path)
        return cls(profile, programs, **kwargs)

    # ------------------------------------------------------------------ state

    def values(self) -> dict:
        return {name: w.value for name, w in self.controls.items()}

    def profile_from_controls(self) -> Profile:
        """The profile the controls describe (raises InputError if it is not valid)."""
        return variant(self.base_profile, **changes_from_controls(self.base_profile, self.values()))

    def _analyse(self, profile: Profile) -> Analysis:
        key = profile.model_dump_json()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        a = analyse(profile, self.programs, self.facts, self.assume, self.today)
        self._cache[key] = a
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return a

    def clear_cache(self, figures: bool = True) -> None:
        """Forget earlier what-ifs (and drawn figures) except the profile file's own analysis."""
        self._cache.clear()
        if figures:
            self._figures.clear()
        self._cache[self.base_profile.model_dump_json()] = self.base

    def what_if(self, scenarios: dict[str, dict]) -> views.Table:
        """Key figures for the profile file and for each named set of field changes."""
        runs = {"profile file": self.base}
        for label, changes in scenarios.items():
            runs[label] = self._analyse(variant(self.base_profile, **changes))
        return compare(runs)

    def changed_fields(self, profile: Profile) -> list[str]:
        """'field: file value -> what-if value' for every field the controls changed."""
        old, new = self.base_profile.model_dump(), profile.model_dump()
        return [f"{k}: {old[k]} -> {new[k]}" for k in new if new[k] != old[k]]

    # ------------------------------------------------------------------ updating

    def _on_change(self, change) -> None:
        if not self._holding:
            self.update()

    def _toggle_step2(self, change) -> None:
        self.controls["step2"].disabled = not change["new"]

    def _on_tab(self, change) -> None:
        index = change["new"]
        if index is not None and index in self._stale:
            self._render(index)

    def update(self) -> Update:
        """Rebuild the profile from the controls, re-run the analysis, redraw the visible tab."""
        t0 = time.perf_counter()
        try:
            profile = self.profile_from_controls()
            a = self._analyse(profile)
        except InputError as exc:
            message = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in exc.problems)
            return self._failed(t0, "These settings do not make a valid profile", message)
        except Exception as exc:  # noqa: BLE001 - a control callback has no cell to show a traceback in
            return self._failed(t0, "The analysis failed for these settings", f"{type(exc).__name__}: {exc}")
        self.analysis = a
        self._stale = set(range(len(TABS)))
        shown = self.tabs.selected_index or 0
        self._render(shown)
        seconds = time.perf_counter() - t0
        self.summary.value = self._summary_html(a, profile, seconds)
        self.last_update = Update(a, seconds, (TABS[shown],))
        return self.last_update

    def _failed(self, t0: float, what: str, message: str) -> Update:
        """Say in the summary why nothing changed; the tabs keep the last good plan."""
        self.summary.value = (
            f"<p class='whatif-error'><strong>{html.escape(what)}:</strong> {html.escape(message)}. "
            "The tabs still show the last valid plan.</p>"
        )
        self.last_update = Update(None, time.perf_counter() - t0, (), message)
        return self.last_update

    def render_all(self) -> tuple[str, ...]:
        """Redraw every tab now (the explorer otherwise redraws a tab when it is selected)."""
        for i in sorted(self._stale):
            self._render(i)
        return TABS

    def reset(self) -> Update:
        """Set every control back to the profile file, then update once."""
        fresh = build_controls(self.base_profile, float(self.assume.value("budget_curve")["max_usd"]))
        self._holding = True
        try:
            for name, w in self.controls.items():
                w.value = fresh[name].value
                if name == "step2":
                    w.disabled = fresh[name].disabled
        finally:
            self._holding = False
        return self.update()

    def _render(self, index: int) -> None:
        for part, value in zip(self._parts[index], self._renderers[index](self.analysis), strict=True):
            part.value = value
        self._stale.discard(index)

    def _summary_html(self, a: Analysis, profile: Profile, seconds: float) -> str:
        changed = self.changed_fields(profile)
        what = (
            "Changed from the profile file: " + "; ".join(html.escape(c) for c in changed)
            if changed
            else "As in the profile file."
        )
        table = compare({"profile file": self.base, "this what-if": a})._repr_html_()
        return (
            f"{views.headline(a).data}<p>{what} <span class='whatif-time'>(updated in {seconds:.2f} s)</span></p>"
            f"{table}"
        )

    # ------------------------------------------------------------------ tab contents

    def _png(self, name: str, inputs: tuple, draw: Callable[..., object]) -> bytes:
        """The figure `draw(*inputs)` as PNG, drawn again only when its inputs changed (a budget
        change leaves the funnel as it was). The key is built from exactly what is drawn."""
        key = (
            name,
            *(x.to_json(default_handler=str) if isinstance(x, pd.DataFrame) else repr(x) for x in inputs),
        )
        if key in self._figures:
            self._figures.move_to_end(key)
            return self._figures[key]
        png = plots.png_bytes(draw(*inputs))
        self._figures[key] = png
        if len(self._figures) > CACHE_SIZE:
            self._figures.popitem(last=False)
        return png

    def _tiers(self, a: Analysis) -> list:
        funnel = self._png("funnel", (a.table[["status", "tier"]],), plots.funnel)
        return [funnel, views.tier_table(a, per_tier=5)._repr_html_()]

    def _odds(self, a: Analysis) -> list:
        odds = self._png("odds", (a.baseline, a.with_plan), plots.odds_interval)
        return [odds, views.odds_table(a)._repr_html_()]

    def _budget(self, a: Analysis) -> list:
        inputs = (a.top_candidates(), a.profile.budget_usd, a.fixed_cost)
        return [
            views.plan_table(a)._repr_html_(),
            self._png("cost_bars", inputs, plots.cost_bars),
            views.alternatives_table(a)._repr_html_(),
        ]

    def _timeline(self, a: Analysis) -> list:
        p = a.profile
        inputs = (a.steps, a.rotations, (p.window_start, p.window_end), a.plan_date)
        return [self._png("gantt", inputs, plots.gantt), views.steps_table(a)._repr_html_()]

    @staticmethod
    def _warnings(a: Analysis) -> list:
        return [views.warnings_table(a)._repr_html_(), views.advice_table(a)._repr_html_()]

    @staticmethod
    def _checklist(a: Analysis) -> list:
        return [checklist.for_applicant(a)._repr_html_()]

    # ------------------------------------------------------------------ display

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            "What-if explorer: open this notebook in JupyterLab with a running kernel to use the controls."
        )
        return bundle
