"""One applicant's whole analysis: tiers, odds, budget plan and timeline, from one call.

The three notebooks and the summary.json writer all call `analyse`, so what the report
shows and what the JSON says come from the same computation (R-S1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from . import __version__
from .assumptions import Assumptions, load_assumptions
from .budget import (
    COST_PARTS,
    Candidate,
    Objective,
    Plan,
    alternatives,
    build_candidates,
    choose,
    model_base,
    visa_fee,
)
from .eligibility import assess
from .facts import Facts, load_facts
from .leverage import components, leverage
from .odds import Calibration, OddsModel, build_model, calibrate, suggest_signals
from .profile import Profile
from .tiering import Strength, applicant_strength, assign_tiers
from .timeline import CycleDate, cycle_calendar, earliest_start, milestones, needs_entry_visa

SCHEMA_VERSION = 1


@dataclass
class Analysis:
    """Everything the notebooks show for one applicant."""

    profile: Profile
    plan_date: dt.date
    strength: Strength
    table: pd.DataFrame
    model: OddsModel
    calibration: Calibration
    baseline: dict
    candidates: pd.DataFrame
    candidate_list: list[Candidate]
    objective: Objective
    fixed_cost: float
    plan: Plan
    rotations: pd.DataFrame
    with_plan: dict
    alternatives: pd.DataFrame
    signals: pd.DataFrame
    cycle: list[CycleDate]
    steps: pd.DataFrame
    away_value: str
    away_reasons: list[str]
    warnings: list[tuple[str, str]] = field(default_factory=list)
    advice: list[tuple[str, str]] = field(default_factory=list)
    facts: Facts | None = None
    assume: Assumptions | None = None

    @property
    def total_cost(self) -> float:
        return round(
            float(self.rotations["cost_usd"].sum()) + (self.fixed_cost if len(self.rotations) else 0.0), 2
        )

    @cached_property
    def budget_curve(self) -> pd.DataFrame:
        """Expected gain in match chance and rotation count as the budget varies."""
        bc = self.assume.value("budget_curve")
        budgets = sorted(
            set(np.arange(0, float(bc["max_usd"]) + 1, float(bc["step_usd"])).tolist())
            | {self.profile.budget_usd}
        )
        fit = dict(zip(self.table["program_id"], self.table["fit"].astype(float).fillna(0.0), strict=True))
        rows = []
        for b in budgets:
            plan = choose(
                self.profile,
                self.candidate_list,
                self.objective,
                self.fixed_cost,
                self.away_value,
                fit,
                self.assume,
                budget=b,
            )
            rows.append(
                {
                    "budget_usd": b,
                    "rotations": len(plan.selection.chosen),
                    "gain_points": round(100 * self.objective.gain(plan.selection.chosen), 2),
                    "plan_score": round(100 * plan.selection.value, 3),  # gain with the R-B1 bonus
                    "cost_usd": plan.selection.cost,
                }
            )
        return pd.DataFrame(rows)

    def top_candidates(self, top: int = 12) -> pd.DataFrame:
        """Cost parts of the most valuable block at each candidate program, plan first."""
        c = self.candidates
        if c.empty:
            return pd.DataFrame(columns=["program_id", *COST_PARTS, "cost_usd", "estimated", "chosen"])
        planned = set(self.rotations["program_id"])
        best = c.sort_values(["gain", "cost_usd"], ascending=[False, True]).drop_duplicates("program_id")
        best = best.assign(chosen=best["program_id"].isin(planned))
        best = pd.concat([best.loc[best["chosen"]], best.loc[~best["chosen"]]]).head(top)
        return best[["program_id", *COST_PARTS, "cost_usd", "estimated", "chosen"]].reset_index(drop=True)

    def effect_sensitivity(self, exponents: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
        """Match chance with the planned rotations under other readings of the published
        away-rotation association (`odds.association_exponent`; 1.0 = fully causal)."""
        current = float(self.assume.value("odds")["association_exponent"])
        rows = []
        for x in exponents:
            ratio = np.ones(len(self.model.p))
            for c in self.plan.selection.chosen:
                i = int(np.flatnonzero(self.model.program_ids == c.program_id)[0])
                ratio[i] = c.odds_ratio ** (x / current)
            s = self.model.summary(ratio)
            rows.append(
                {
                    "association_exponent": x,
                    "reading": "fully causal" if x == 1.0 else ("current assumption" if x == current else ""),
                    "match_probability": s["match_probability"],
                    "gain_points": round(
                        100 * (s["match_probability"] - self.baseline["match_probability"]), 1
                    ),
                }
            )
        return pd.DataFrame(rows)

    @property
    def status_counts(self) -> dict[str, int]:
        return (
            self.table["status"]
            .value_counts()
            .reindex(["eligible", "unknown", "excluded"], fill_value=0)
            .to_dict()
        )


def away_value(p: Profile, assume: Assumptions) -> tuple[str, list[str]]:
    """R-V1/R-V2: how much away rotations matter for this applicant, with the reasons."""
    rc = assume.value("rotation_count")
    reasons = []
    if p.us_radiology_letters >= int(rc["several_letters"]) and p.us_clinical_months >= float(
        rc["solid_usce_months"]
    ):
        return "lower", [
            f"R-V2: already {p.us_radiology_letters} US radiology letters and {p.us_clinical_months:g} months of US clinical experience"
        ]
    if p.us_radiology_letters == 0:
        reasons.append("R-V1: no US radiology letter yet")
    if p.us_clinical_months < float(rc["little_usce_months"]):
        reasons.append("R-V1: little or no US clinical experience")
    if not p.home_radiology_program:
        reasons.append("R-V1: no radiology residency at the home school")
    if "academic" in p.interests:
        reasons.append("R-V1: aiming at academic programs that take few IMGs")
    return ("high" if len(reasons) >= 2 else "standard"), reasons


def analyse(
    profile: Profile,
    programs: pd.DataFrame,
    facts: Facts | None = None,
    assume: Assumptions | None = None,
    today: dt.date | None = None,
) -> Analysis:
    """Run tiering, odds, budget and timing for one applicant against one program table."""
    facts = facts or load_facts()
    assume = assume or load_assumptions()
    plan_date = profile.effective_plan_date(today)
    strength = applicant_strength(profile, facts, assume)

    elig = assess(profile, programs)
    tiers = assign_tiers(programs, strength, assume)
    parts = components(profile, programs, assume)
    rotation_possible = elig["rotation_status"] != "excluded"
    lev = leverage(parts, rotation_possible, assume)
    table = pd.concat(
        [
            programs.reindex(
                columns=["program_id", "name", "state", "city", "setting", "positions"]
            ).reset_index(drop=True),
            elig.drop(columns="program_id"),
            tiers.drop(columns="program_id"),
            parts.reset_index(drop=True),
        ],
        axis=1,
    )
    table["leverage"] = lev.to_numpy()
    table.loc[table["status"] == "excluded", "tier"] = None

    ties = programs["state"].isin(profile.ties_states).to_numpy()
    model = build_model(
        profile.applicant_id, profile.step2_ck, programs, table["status"], tiers, ties, facts, assume
    )
    table["interview_chance"] = np.round(model.matrix().mean(axis=0), 4)
    baseline = model.summary()
    cal = calibrate(str(facts.folder))

    cand_frame, cands, effects = build_candidates(profile, programs, table, model, facts, assume, today)
    aspirational_ids = set(
        table.loc[
            table["tier"].isin(["high_reach", "mid_tier"])
            & (table["setting"] == "academic")
            & (table["openness"].astype(float) > 0),
            "program_id",
        ]
    )
    objective = Objective(
        np.exp(model_base(model)),
        effects,
        float(assume.value("rotation_value")["balance_bonus"][strength.label]),  # R-B1, R-B2
        lambda c: c.program_id in aspirational_ids,
    )
    fixed = visa_fee(profile, facts)
    value_level, value_reasons = away_value(profile, assume)
    fit = dict(zip(table["program_id"], table["fit"].astype(float).fillna(0.0), strict=True))
    plan = choose(profile, cands, objective, fixed, value_level, fit, assume)

    chosen_idx = [c.index for c in plan.selection.chosen]
    rotations = cand_frame.iloc[chosen_idx].reset_index(drop=True)
    if chosen_idx:
        odds_ratio = np.ones(len(model.p))
        for c in plan.selection.chosen:
            i = int(np.flatnonzero(model.program_ids == c.program_id)[0])
            odds_ratio[i] = c.odds_ratio
        with_plan = model.summary(odds_ratio)
    else:
        with_plan = dict(baseline)
    hosts = table.loc[(table["rotation_kind"] == "observership") & (table["rotation_status"] != "excluded")]
    hosts = hosts.sort_values(["leverage", "program_id"], ascending=[False, True], na_position="last")
    alts = alternatives(profile, facts, assume, list(hosts["program_id"].head(5)))
    if chosen_idx and profile.is_student:
        alts = alts.iloc[0:0]
    signals = suggest_signals(
        model, table["status"], [c.program_id for c in plan.selection.chosen], facts, assume
    )
    cycle = cycle_calendar(profile.application_cycle, facts, assume)
    rot_dicts = rotations.to_dict("records")
    steps = milestones(profile, rot_dicts, cycle, assume, today)

    analysis = Analysis(
        profile=profile,
        plan_date=plan_date,
        strength=strength,
        table=table,
        model=model,
        calibration=cal,
        baseline=baseline,
        candidates=cand_frame,
        candidate_list=cands,
        objective=objective,
        fixed_cost=fixed,
        plan=plan,
        rotations=rotations,
        with_plan=with_plan,
        alternatives=alts,
        signals=signals,
        cycle=cycle,
        steps=steps,
        away_value=value_level,
        away_reasons=value_reasons,
        facts=facts,
        assume=assume,
    )
    analysis.warnings, analysis.advice = _warnings_and_advice(analysis, today)
    return analysis


def _warnings_and_advice(
    a: Analysis, today: dt.date | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    p = a.profile
    warnings: list[tuple[str, str]] = list(a.plan.warnings)
    advice: list[tuple[str, str]] = []
    counts = a.status_counts
    if p.step1 == "fail":
        warnings.append(
            (
                "R-C4",
                "Step 1 is recorded as failed: many programs and hosts screen on it; discuss the plan with your advisor before paying for rotations",
            )
        )
    elif p.step1 == "not_taken":
        warnings.append(
            (
                "R-W5",
                "Step 1 is not passed yet: hosts that require it are closed to you, and ECFMG certification needs it before the rank list deadline",
            )
        )
    if p.visa_needed == "h1b" and p.step3 != "pass":
        h1b = int(
            (
                (a.table["status"] == "excluded")
                & a.table["reasons"].map(lambda r: any("needs Step 3" in x for x in r))
            ).sum()
        )
        warnings.append(
            (
                "R-A2",
                f"H-1B needs Step 3 passed before residency: {h1b} programs that sponsor H-1B stay closed until it is; consider accepting J-1 too (visa_needed: j1_or_h1b)",
            )
        )
    if not p.is_student:
        warnings.append(
            (
                "R-C2",
                "As a graduate you are usually not eligible for visiting-student electives; the plan looks at observerships, imaging research and electives arranged through contacts",
            )
        )
    if p.current_us_status in ("b1b2", "esta"):
        warnings.append(
            (
                "R-C1",
                "On B1/B2 or ESTA some hosts let visitors observe only; confirm hands-on status before paying",
            )
        )
    for r in a.rotations.to_dict("records"):
        if r["start"].month >= 8:
            warnings.append(
                (
                    "R-W3",
                    f"The {r['start']:%B} rotation at {r['name']} ends after ERAS opens: ask for the letter early and make sure word of your work reaches the program",
                )
            )
    if counts["unknown"]:
        warnings.append(
            (
                "R-K2",
                f"{counts['unknown']} programs are unknown on at least one point: confirm with the program before counting on them",
            )
        )
    est = int(a.rotations["estimated"].astype(str).str.len().gt(0).sum())
    if est:
        warnings.append(
            (
                "R-C3",
                f"{est} planned rotation cost(s) use default estimates where the program table is blank; confirm the fees",
            )
        )
    if not len(a.rotations):
        reason = _why_no_rotation(a, today)
        warnings.append(
            (
                "R-V3",
                f"No away rotation fits: {reason}. Away rotations are not mandatory; see the alternatives (observership, virtual elective, imaging research)",
            )
        )
    for note in [*a.away_reasons, *a.plan.notes]:  # "R-XX: text" -> ("R-XX", "text")
        rule, _, message = note.partition(": ")
        advice.append((rule, message))
    if len(a.rotations) >= 2:
        chosen = a.plan.selection.chosen
        tiers = ", ".join(f"{r['program_id']} ({r['tier']})" for r in a.rotations.to_dict("records"))
        if a.objective(chosen) > a.objective.gain(chosen) + 1e-12:
            shape = "balanced: one aspirational academic program with IMG history and one realistic one"
            # What following the odds model alone would give, so the preference is visible.
            plain = Objective(a.objective.base, a.objective.effects, 0.0, a.objective.aspirational)
            alt = choose(p, a.candidate_list, plain, a.fixed_cost, a.away_value, {}, a.assume).selection
            g_alt, g_plan = 100 * plain.gain(alt.chosen), 100 * a.objective.gain(chosen)
            if round(g_alt, 1) > round(g_plan, 1):  # worth saying at the precision shown
                ids = ", ".join(c.program_id for c in alt.chosen)
                shape += (
                    f". By the odds model alone {ids} would add {g_alt:.1f} points instead of {g_plan:.1f};"
                    " the plan prefers balance (set rotation_value.balance_bonus to 0 to follow the model alone)"
                )
        else:
            shape = "not a classic aspirational + realistic pair (none is affordable or worth it)"
        advice.append(("R-B1", f"Planned pair: {tiers}; {shape}"))
    advice.append(("R-B2", f"Profile strength: {a.strength.label} ({'; '.join(a.strength.parts)})"))
    if p.home_radiology_program:
        advice.append(("R-N4", "Pair the away rotations with one radiology rotation at your home school"))
    interest = next((i for i in p.interests if i not in ("academic", "community")), None)
    advice.append(
        (
            "R-N4",
            f"Add one research or imaging elective{f' in {interest}' if interest else ''} (remote research counts)",
        )
    )
    return warnings, advice


def _why_no_rotation(a: Analysis, today: dt.date | None) -> str:
    p = a.profile
    if a.candidates.empty:
        first = earliest_start(p, a.assume, today)
        if first > p.window_end or a.plan_date > p.window_end:
            return f"it is too late this cycle (the earliest possible start is {max(first, a.plan_date)}, after your window ends on {p.window_end})"
        if int((a.table["status"] != "excluded").sum()) == 0:
            return "no program in the table is open to you for residency, so no rotation can pay off (see the warnings above)"
        if int((a.table["rotation_status"] != "excluded").sum()) == 0:
            return "no program in the table can host you (see the rotation reasons)"
        return "host application deadlines or your available dates leave no block open, or too little is known about the hosts"
    cheapest = float(a.candidates["cost_usd"].min()) + a.fixed_cost
    if cheapest > p.budget_usd:
        return f"the cheapest possible rotation costs about ${cheapest:,.0f}, above the budget of ${p.budget_usd:,.0f}"
    if p.max_rotations == 0:
        return "max_rotations is 0"
    floor = float(a.assume.value("rotation_value")["min_gain_points"])
    best = 100 * float(a.candidates["gain"].max())
    if best < floor:
        return f"no possible rotation adds {floor:g} points to your match chance (the best adds {best:.1f}), so the money does more elsewhere"
    return "no affordable set adds enough to your chances"


__all__ = ["Analysis", "analyse", "away_value", "SCHEMA_VERSION", "needs_entry_visa", "__version__"]
