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

from . import __version__, stages
from .answers import answered_notes
from .assumptions import Assumptions, load_assumptions
from .budget import (
    COST_PARTS,
    Candidate,
    Objective,
    Plan,
    Preferences,
    alternatives,
    build_candidates,
    choose,
    model_base,
    points_text,
    prefer_signals,
    preferences,
    visa_fee,
)
from .eligibility import assess, h1b_restriction_cost, step3_condition
from .facts import Facts, load_facts
from .leverage import components, leverage
from .odds import (
    Calibration,
    Factor,
    OddsModel,
    RecordChannel,
    RecordEffects,
    build_model,
    calibrate,
    coverage,
    is_reserved_track,
    record_factors,
    suggest_signals,
)
from .profile import Profile
from .tiering import Strength, applicant_strength, assign_tiers
from .timeline import (
    CycleDate,
    cycle_calendar,
    earliest_start,
    ecfmg_certificate_date,
    milestones,
    needs_entry_visa,
    sequence_explanation,
    step_row,
    training_start,
)

SCHEMA_VERSION = 2


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
    factors: list[Factor] = field(default_factory=list)
    factor_points: list[float] = field(default_factory=list)
    condition: dict | None = None  # R-G1/R-G4: the chances hold only if this happens by a date
    blocked: dict | None = None  # R-G1: no match possible this cycle
    coverage: dict = field(default_factory=dict)  # R-M1
    channel: RecordChannel | None = None
    gains: list[dict] = field(default_factory=list)  # per planned rotation: {host, letter} points

    prefs: Preferences | None = None
    step3: dict | None = None  # R-G4 condition (eligibility.step3_condition), for match_probability
    h1b_cost: dict | None = None  # R-A2/R-G4: programs open with H-1B only against with J-1

    @property
    def match_probability(self) -> dict:
        """Both chances, the gate (blocked or conditional) and what moves the odds."""
        return {
            "without_rotations": self.baseline,
            "with_plan": self.with_plan,
            "blocked": self.blocked,
            "condition": self.condition,
            "factors": [
                {
                    "field": f.field,
                    "value": f.value,
                    "effect": round(pts, 1),
                    "multiplier": round(f.multiplier, 3),
                    "basis": f.basis,
                }
                for f, pts in zip(self.factors, self.factor_points, strict=True)
            ],
        }

    @property
    def total_cost(self) -> float:
        return round(
            float(self.rotations["cost_usd"].sum()) + (self.fixed_cost if len(self.rotations) else 0.0), 2
        )

    @cached_property
    @stages.timed_call("analysis")
    def budget_curve(self) -> pd.DataFrame:
        """Expected gain in match chance and rotation count as the budget varies."""
        bc = self.assume.value("budget_curve")
        budgets = sorted(
            set(np.arange(0, float(bc["max_usd"]) + 1, float(bc["step_usd"])).tolist())
            | {self.profile.budget_usd}
        )
        fit = dict(zip(self.table["program_id"], self.table["fit"].astype(float).fillna(0.0), strict=True))
        rows = []
        # From the largest budget down: a best set found under a budget is remembered for
        # every smaller budget it still fits (budget.best_set), so each step is searched once.
        for b in reversed(budgets):
            plan = choose(
                self.profile,
                self.candidate_list,
                self.objective,
                self.fixed_cost,
                self.away_value,
                fit,
                self.assume,
                budget=b,
                prefs=self.prefs,
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
        return pd.DataFrame(rows[::-1])

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

    @stages.timed_call("analysis")
    def effect_sensitivity(self, exponents: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
        """Match chance with the planned rotations under other readings of each channel (R-V4):
        the published away-rotation association at the host (`odds.association_exponent`;
        1.0 = fully causal), and the letter effect (`record_effects.letters_max_multiplier`
        scaled), the other channel held at its current reading."""
        current = float(self.assume.value("odds")["association_exponent"])
        chosen = self.plan.selection.chosen
        lc = sum(c.letter_weight for c in chosen)
        mc = sum(c.usce_months for c in chosen)
        letter_shift = float(self.channel.shift(lc, mc)) if self.channel is not None and chosen else 0.0
        base = self.baseline["match_probability"]

        def ratio(x: float) -> np.ndarray:
            out = np.ones(len(self.model.p))
            for c in chosen:
                i = int(np.flatnonzero(self.model.program_ids == c.program_id)[0])
                out[i] = c.odds_ratio ** (x / current)
            return out

        rows = []
        for x in exponents:
            s = self.model.summary(ratio(x), shift=letter_shift)
            rows.append(
                {
                    "channel": "host",
                    "reading": f"association exponent {x:g}"
                    + (" (fully causal)" if x == 1.0 else (" (current assumption)" if x == current else "")),
                    "match_probability": s["match_probability"],
                    "gain_points": round(100 * (s["match_probability"] - base), 1),
                }
            )
        for scale in (0.0, 0.5, 1.0, 1.5):
            s = self.model.summary(ratio(current), shift=letter_shift * scale)
            rows.append(
                {
                    "channel": "letter",
                    "reading": f"letter and US-months effect x{scale:g}"
                    + (" (current assumption)" if scale == 1.0 else (" (none)" if scale == 0 else "")),
                    "match_probability": s["match_probability"],
                    "gain_points": round(100 * (s["match_probability"] - base), 1),
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

    elig = assess(profile, programs, facts, assume, today)
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
    _reserved_tracks(profile, table)
    table["answered"] = answered_notes(
        programs
    ).to_numpy()  # cells filled from programs' answers, with source
    table.loc[table["status"] == "excluded", "tier"] = None

    cal = calibrate(str(facts.folder))
    eff = RecordEffects.from_assumptions(assume)
    factors = record_factors(profile, cal, eff, assume)
    shift = sum(f.log_effect for f in factors if f.field != "step2_ck")  # Step 2 CK: build_model
    ties = programs["state"].isin(profile.ties_states).to_numpy()
    model = build_model(
        profile.step2_ck, programs, table["status"], tiers, ties, facts, assume, strength, record_shift=shift
    )
    table["interview_chance"] = np.round(model.interview_chances(), 4)
    baseline = model.summary()
    factor_points = [
        100 * (baseline["match_probability"] - model.summary(shift=-f.log_effect)["match_probability"])
        for f in factors
    ]
    cycle = cycle_calendar(profile.application_cycle, facts, assume)
    dates = {c.key: c.date for c in cycle}
    condition, blocked, not_before = step1_gate(profile, plan_date, dates, assume)

    channel = RecordChannel(model, eff, profile.us_radiology_letters, profile.us_clinical_months)
    cand_frame, cands, effects = build_candidates(
        profile,
        programs,
        table,
        model,
        facts,
        assume,
        today,
        channel=channel,
        letter_dates=(dates["programs_review"], dates["rank_list_deadline"]),
        not_before=not_before,
    )
    if blocked is not None:  # R-G1: nothing is worth paying for this cycle
        cand_frame, cands = cand_frame.iloc[0:0], []
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
        weights=model.weights,
        channel=channel,
    )
    fixed = visa_fee(profile, facts)
    value_level, value_reasons = away_value(profile, assume)
    fit = dict(zip(table["program_id"], table["fit"].astype(float).fillna(0.0), strict=True))
    prefs = preferences(profile, programs, fit, strong=strength.label == "strong")  # R-B3, R-B2
    plan = choose(profile, cands, objective, fixed, value_level, fit, assume, prefs=prefs)

    chosen = plan.selection.chosen
    chosen_idx = [c.index for c in chosen]
    rotations = cand_frame.iloc[chosen_idx].reset_index(drop=True)
    gains = []
    if chosen_idx:
        odds_ratio = np.ones(len(model.p))
        for c in chosen:
            i = int(np.flatnonzero(model.program_ids == c.program_id)[0])
            odds_ratio[i] = c.odds_ratio
        letter_shift = float(
            channel.shift(sum(c.letter_weight for c in chosen), sum(c.usce_months for c in chosen))
        )
        with_plan = model.summary(odds_ratio, shift=letter_shift)
        gains = rotation_gains(
            objective, chosen, with_plan["match_probability"] - baseline["match_probability"]
        )
    else:
        with_plan = dict(baseline)
    if blocked is not None:
        baseline = _zero(baseline)
        with_plan = _zero(with_plan)
    rotations["gain_host"] = [g["host"] for g in gains]
    rotations["gain_letter"] = [g["letter"] for g in gains]
    rotations["serves"] = [
        "; ".join(plan.serves.get(str(pid), [])) for pid in rotations["program_id"]
    ]  # R-B3
    # R-Y3: name observer hosts only where the table says they take observers.
    says_observers = (programs["visiting_students"] == "observer_only").fillna(False).to_numpy(dtype=bool)
    hosts = table.loc[says_observers & (table["status"] != "excluded").to_numpy()]
    hosts = hosts.sort_values(["leverage", "program_id"], ascending=[False, True], na_position="last")
    planned_cost = float(rotations["cost_usd"].sum()) + (fixed if chosen_idx else 0.0)
    obs = cand_frame.loc[cand_frame["kind"] == "observership"]
    weighed = None
    if len(obs) and not (rotations["kind"] == "observership").any():
        weighed = {
            "hosts": int(obs["program_id"].nunique()),
            "best_points": 100 * float(obs["gain"].max()),
            "floor_points": float(assume.value("rotation_value")["min_gain_points"]),
        }
    alts = alternatives(
        profile,
        facts,
        assume,
        list(hosts["program_id"].head(5)),
        budget_left=max(0.0, profile.budget_usd - planned_cost),
        weighed=weighed,
        today=today,
    )
    if chosen_idx and profile.is_student:
        alts = alts.iloc[0:0]
    signals = suggest_signals(
        model, table["status"], [c.program_id for c in plan.selection.chosen], facts, assume
    )
    signals = prefer_signals(profile, signals, table, prefs)  # R-B3 within the model's tier mix
    step3 = step3_condition(profile, facts, assume, today)
    rot_dicts = rotations.to_dict("records")
    open_programs = int((table["status"] != "excluded").sum()) > 0
    late = not chosen_idx and (
        earliest_start(profile, assume, today) > profile.window_end
        or plan_date > profile.window_end
        or not open_programs
    )
    steps = milestones(
        profile,
        rot_dicts,
        cycle,
        assume,
        today,
        facts=facts,
        late=late or blocked is not None,
        open_programs=open_programs,
    )
    steps = _step1_steps(steps, profile, plan_date, condition, blocked, not_before, dates)

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
        factors=factors,
        factor_points=factor_points,
        condition=condition or _step3_gate(step3),
        blocked=blocked,
        coverage=coverage(programs, facts),
        channel=channel,
        gains=gains,
        prefs=prefs,
        step3=step3,
        h1b_cost=h1b_restriction_cost(profile, programs, facts, assume, today),
    )
    analysis.warnings, analysis.advice = _warnings_and_advice(analysis, today)
    return analysis


def _reserved_tracks(profile: Profile, table: pd.DataFrame) -> None:
    """R-S2: reserved NRMP tracks (code ending R + digit) are for applicants with prior
    residency training; without it they are excluded, with the reason."""
    if profile.prior_gme_months > 0:
        return
    reserved = table["program_id"].map(is_reserved_track).to_numpy(bool)
    reason = "R-S2: reserved track for applicants with prior residency training (prior_gme_months is 0)"
    for i in np.flatnonzero(reserved):
        table.at[i, "status"] = "excluded"
        table.at[i, "reasons"] = [reason, *[r for r in table.at[i, "reasons"] if r != reason]]
        table.at[i, "rotation_status"] = "excluded"


def step1_gate(
    profile: Profile, plan_date: dt.date, dates: dict, assume: Assumptions
) -> tuple[dict | None, dict | None, dt.date | None]:
    """R-G1: (condition, blocked, no application before) for an applicant without a Step 1 pass.

    The result must be out before programs review ERAS applications; the retake time is a
    named assumption (step1_gate). ECFMG certification needs Steps 1 and 2 CK passed by the
    rank-list deadline (data/facts/requirements.csv)."""
    if profile.step1 == "pass":
        return None, None, None
    weeks = int(assume.value("step1_gate")["retake_weeks"])
    result = plan_date + dt.timedelta(weeks=weeks)
    review = dates["programs_review"]
    verb = "retake and pass" if profile.step1 == "fail" else "take and pass"
    if result > review:
        return (
            None,
            {
                "rule": "R-G1",
                "reason": (
                    f"Step 1 is not passed and a result cannot be out before programs review applications on "
                    f"{review:%d %B %Y} (about {weeks} weeks from {plan_date:%d %B %Y}): the match this cycle "
                    f"is out of reach; {verb} Step 1 first and plan for cycle {profile.application_cycle + 1}"
                ),
            },
            None,
        )
    return (
        {
            "rule": "R-G1",
            "reason": (
                f"{verb.capitalize()} Step 1 with the result out by {review:%d %B %Y}, when programs start "
                "reviewing applications; no paid rotation before the result. ECFMG certification also "
                f"needs Step 2 CK passed by the rank-list deadline ({dates['rank_list_deadline']:%d %B %Y})"
            ),
            "by": review.isoformat(),
        },
        None,
        result,
    )


def _step1_steps(
    steps: pd.DataFrame,
    profile: Profile,
    plan_date: dt.date,
    condition: dict | None,
    blocked: dict | None,
    result: dt.date | None,
    dates: dict,
) -> pd.DataFrame:
    """R-G1: without a Step 1 pass the plan leads with the exam and its dates."""
    if profile.step1 == "pass" or not (condition or blocked):
        return steps
    verb = "Retake" if profile.step1 == "fail" else "Take"
    rows = [
        step_row(
            plan_date,
            f"{verb} Step 1 first: book the exam now; nothing else in this plan is paid for before the result",
            "R-G1",
            "other",
            "task",
        )
    ]
    if condition and result is not None:
        rows.append(
            step_row(
                result,
                "Step 1 result expected (the first host application waits for it)",
                "R-G1",
                "other",
                "task",
            )
        )
        rows.append(
            step_row(
                dates["programs_review"],
                "Latest Step 1 result that still serves this cycle (programs start reviewing applications)",
                "R-G1",
                "other",
                "task",
            )
        )
    extra = pd.DataFrame(rows).reindex(columns=steps.columns)
    out = pd.concat([extra, steps], ignore_index=True) if len(steps) else extra
    return out.sort_values(["date"], kind="stable").reset_index(drop=True)


def _step3_gate(step3: dict | None) -> dict | None:
    """R-G4: H-1B programs stay open only if Step 3 is passed by a date."""
    if not step3 or not step3.get("can_meet"):
        return None
    return {k: step3[k] for k in ("rule", "reason", "by")}


def rotation_gains(objective: Objective, chosen, plan_gain: float) -> list[dict]:
    """Each planned rotation's gain in points by channel (R-V4): the plan's gain (as the
    model computes it with both channels at once) split between the channels as each
    channel alone would give it, and within a channel in proportion to each rotation's own."""
    total = objective.channels(chosen)
    joint = total["host"] + total["letter"]
    total = {k: v * plan_gain / joint if joint > 0 else 0.0 for k, v in total.items()}
    own = [objective.channels([c]) for c in chosen]
    out = []
    for o in own:
        row = {}
        for ch in ("host", "letter"):
            denom = sum(x[ch] for x in own)
            row[ch] = round(100 * total[ch] * (o[ch] / denom if denom > 0 else 0.0), 2)
        out.append(row)
    return out


def _zero(summary: dict) -> dict:
    out = dict(summary)
    for key in ("match_probability", "match_probability_p10", "match_probability_p90"):
        out[key] = 0.0
    out["match_probability_if_interviewed"] = 0.0
    return out


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
    if a.step3 is not None:
        warnings.append(("R-G4", a.step3["reason"]))
    if a.h1b_cost is not None:
        c = a.h1b_cost
        warnings.append(
            (
                "R-A2",
                f"H-1B only: {c['open_h1b_only']} programs are open to you, against {c['open_with_j1']} if you also "
                f"accepted J-1; the restriction costs {c['lost']} programs. Would J-1 do? If so, set visa_needed: j1_or_h1b",
            )
        )
    if not p.ecfmg_certified:
        cert = ecfmg_certificate_date(p, a.cycle, a.facts, a.assume)
        start = training_start(p.application_cycle, a.assume)
        if cert > start:
            warnings.append(
                (
                    "R-G2",
                    f"The ECFMG certificate needs your final diploma, so it is expected around {cert}, after training starts on {start}: confirm your graduation date with your school and ECFMG",
                )
            )
    if not p.is_student:
        warnings.append(
            (
                "R-C2",
                "As a graduate"
                + (
                    f" ({n} year(s) since graduation in {p.graduation_year})"
                    if (n := p.years_since_graduation(today)) is not None
                    else ""
                )
                + " you are usually not eligible for visiting-student electives; the plan looks at observerships, imaging research and electives arranged through contacts",
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
    if needs_entry_visa(p) and len(a.rotations):  # R-E1: say why earlier blocks are not offered
        advice.append(
            (
                "R-E1",
                f"Visa order: {sequence_explanation(p, a.assume, today)}; blocks that start earlier are not offered, and each host is asked whether it helps with the visa letter (R-A4)",
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
            plain = Objective(
                a.objective.base,
                a.objective.effects,
                0.0,
                a.objective.aspirational,
                weights=a.objective.weights,
                channel=a.objective.channel,
            )
            alt = choose(p, a.candidate_list, plain, a.fixed_cost, a.away_value, {}, a.assume).selection
            g_alt, g_plan = 100 * plain.gain(alt.chosen), 100 * a.objective.gain(chosen)
            if round(g_alt, 1) > round(g_plan, 1):  # worth saying at the precision shown
                ids = ", ".join(c.program_id for c in alt.chosen)
                shape += (
                    f". By the odds model alone {ids} would add {points_text(g_alt)} points instead of {points_text(g_plan)};"
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
            return f"it is too late this cycle: {sequence_explanation(p, a.assume, today)}, after your window ends on {p.window_end}"
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
        return f"no possible rotation adds {floor:g} points to your match chance (the best adds {points_text(best)}), so the money does more elsewhere"
    return "no affordable set adds enough to your chances"


__all__ = ["Analysis", "analyse", "away_value", "SCHEMA_VERSION", "needs_entry_visa", "__version__"]
