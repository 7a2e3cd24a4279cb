"""Budget: cost arithmetic (R-C3, R-A4), rotation counts (R-N1..R-N3), exact optimiser,
alternatives (R-V3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pytest
from conftest import analysed, make_profile, make_programs

from helpers.analysis import analyse
from helpers.assumptions import load_assumptions
from helpers.budget import (
    Candidate,
    Objective,
    _without_twins,
    best_set,
    choose,
    exhaustive_best,
    rotation_cost,
    visa_fee,
)
from helpers.facts import load_facts
from helpers.timeline import Block

A = load_assumptions()
F = load_facts()


def row(**cells):
    return next(make_programs(cells).itertuples(index=False))


def test_R_C3_cost_parts_add_up():
    r = row(host_fee_usd="300", non_lcme_surcharge_usd="1000", housing_month_usd="1500")
    c = rotation_cost(make_profile(travel_cost_usd=900), r, "vslo", F, A)
    months = int(A.value("rotation_weeks")) * 7 / 30.4375  # the block, in average months
    assert c["vslo_fee"] == F.value("vslo_fee_usd")
    assert c["host_fee"] == 300 and c["non_lcme_surcharge"] == 1000
    assert c["housing"] == pytest.approx(1500 * months, abs=0.01)
    assert c["insurance"] == pytest.approx(F.value("insurance_month_usd") * months, abs=0.01)
    assert c["travel"] == 900
    assert c["cost_usd"] == pytest.approx(
        sum(c[k] for k in ("vslo_fee", "host_fee", "non_lcme_surcharge", "housing", "travel", "insurance")),
        abs=0.01,
    )
    assert c["estimated"] == []


def test_R_A4_surcharge_only_for_non_lcme_students():
    r = row(non_lcme_surcharge_usd="5000")
    assert (
        rotation_cost(make_profile(school_accreditation="lcme"), r, "vslo", F, A)["non_lcme_surcharge"] == 0
    )
    assert rotation_cost(make_profile(), r, "vslo", F, A)["non_lcme_surcharge"] == 5000
    assert rotation_cost(make_profile(), r, "direct", F, A)["vslo_fee"] == 0


def test_blank_costs_are_flagged_as_estimates():
    c = rotation_cost(
        make_profile(), row(host_fee_usd="", housing_month_usd="", non_lcme_surcharge_usd=""), "vslo", F, A
    )
    assert set(c["estimated"]) == {"host_fee", "housing", "non_lcme_surcharge", "travel"}


def test_visa_fees_once_only_from_abroad():
    fees = F.value("visa_mrv_fee_usd") + F.value("visa_integrity_fee_usd")
    assert fees > 0
    assert visa_fee(make_profile(current_us_status="none"), F) == fees
    assert visa_fee(make_profile(current_us_status="f1"), F) == 0


def random_instance(rng, n):
    starts = [dt.date(2027, m, d) for m in (4, 5, 6, 7, 8) for d in (5, 19)]
    cands, effects = [], {}
    draws = 200
    base = rng.uniform(0.3, 0.7, draws)
    tiers = ["high_reach", "mid_tier", "img_friendly", None]
    for i in range(n):
        s = starts[rng.integers(len(starts))]
        effects[i] = -rng.uniform(0, 0.2, draws) * rng.uniform(0.2, 1.5)
        value = float(np.mean(base * -np.expm1(effects[i])))
        cands.append(
            Candidate(
                i,
                f"P{rng.integers(0, max(2, n // 2))}",
                Block(s, s + dt.timedelta(days=25)),
                s,
                "vslo",
                float(rng.integers(1000, 5000)),
                value,
                tiers[rng.integers(4)],
                "NY",
                i,
            )
        )
    asp = {c.program_id for c in cands if c.tier == "high_reach"}
    return cands, Objective(base, effects, 0.5, lambda c: c.program_id in asp)


@pytest.mark.parametrize("seed", range(40))
def test_optimiser_matches_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    cands, objective = random_instance(rng, int(rng.integers(3, 10)))
    k = int(rng.integers(1, 4))
    budget = float(rng.integers(2000, 14000))
    fixed = float(rng.choice([0, 435]))
    fast = best_set(cands, k, budget, fixed, objective)
    slow = exhaustive_best(cands, k, budget, fixed, objective)
    assert fast.value == pytest.approx(slow.value, abs=1e-12)
    assert [c.index for c in fast.chosen] == [c.index for c in slow.chosen]
    assert fast.cost <= budget + 1e-9
    for a, b in itertools.combinations(fast.chosen, 2):
        assert a.program_id != b.program_id and not a.block.overlaps(b.block)


class ConcaveChannel:
    """A stand-in for odds.RecordChannel: letters and months lower P(no match) with
    diminishing returns, a little more at some quality nodes than at others."""

    def __init__(self, nodes: int, rng):
        self.scale = rng.uniform(0.1, 0.4, nodes)

    def shift(self, letters, months):
        return np.atleast_1d(np.asarray(letters, float) + 0.1 * np.asarray(months, float))

    def effect(self, shift):
        return -np.expm1(-shift)[:, None] * -self.scale[None, :]


def lettered_instance(rng, n):
    """A random instance whose rotations also add letters and US months (R-V4)."""
    cands, objective = random_instance(rng, n)
    cands = [
        dataclasses.replace(
            c, letter_weight=float(rng.choice([0.0, 0.5, 1.0])), usce_months=float(rng.choice([0.0, 0.9]))
        )
        for c in cands
    ]
    objective.channel = ConcaveChannel(len(objective.base), rng)
    return cands, objective


@pytest.mark.parametrize("seed", range(25))
def test_optimiser_with_the_letter_channel_matches_exhaustive_search_at_every_budget(seed):
    """The letter-class search, its cheapest-member pruning and the budget memo (largest
    budget first, as the budget curve asks) give the exhaustive answer at every budget."""
    rng = np.random.default_rng(1000 + seed)
    cands, objective = lettered_instance(rng, int(rng.integers(3, 9)))
    k = int(rng.integers(1, 4))
    fixed = float(rng.choice([0, 435]))
    for budget in (20000.0, 9000.0, 6500.0, 5000.0, 3500.0, 2000.0, 500.0):
        fast = best_set(cands, k, budget, fixed, objective)
        slow = exhaustive_best(cands, k, budget, fixed, objective)
        assert fast.value == pytest.approx(slow.value, abs=1e-12), budget
        assert [c.index for c in fast.chosen] == [c.index for c in slow.chosen], budget
        assert fast.cost <= budget + 1e-9


def twin_instance(rng, templates: int, copies: int):
    """Programs made by copying a few: each copy has its own id (shuffled, so table order is
    not id order) and its own effect group, with the same blocks, cost and effect."""
    cands, objective = lettered_instance(rng, templates * 2)
    by_program: dict[str, list[Candidate]] = {}
    for c in cands:
        by_program.setdefault(c.program_id, []).append(c)
    twins, effects = [], {}
    ids = [f"T{i:03d}" for i in rng.permutation(len(by_program) * copies)]
    for members in by_program.values():
        for _ in range(copies):
            pid = ids.pop()
            for c in members:
                g = len(effects)
                effects[g] = objective.effects[c.group].copy()
                twins.append(dataclasses.replace(c, index=len(twins), program_id=pid, group=g))
    asp = {c.program_id for c in twins if c.tier == "high_reach"}
    return twins, Objective(
        objective.base, effects, 0.5, lambda c: c.program_id in asp, channel=objective.channel
    )


@pytest.mark.parametrize("seed", range(12))
def test_copies_of_the_same_program_give_the_exhaustive_answer(seed):
    """Of each family of identical programs only the k smallest ids are searched (a set
    with another has an equal set with a smaller id, which wins the tie): the answer is the
    one trying every subset gives, at every budget."""
    rng = np.random.default_rng(500 + seed)
    cands, objective = twin_instance(rng, int(rng.integers(2, 4)), int(rng.integers(2, 5)))
    k = int(rng.integers(1, 4))
    fixed = float(rng.choice([0, 435]))
    for budget in (20000.0, 9000.0, 5000.0, 2000.0):
        fast = best_set(cands, k, budget, fixed, objective)
        slow = exhaustive_best(cands, k, budget, fixed, objective)
        assert fast.value == pytest.approx(slow.value, abs=1e-12), budget
        assert [c.index for c in fast.chosen] == [c.index for c in slow.chosen], budget


def test_only_k_of_each_family_of_identical_programs_are_searched():
    rng = np.random.default_rng(3)
    cands, objective = twin_instance(rng, 3, 40)
    families: dict[tuple, set[str]] = {}
    for c in cands:  # a template's copies: the same blocks, cost and value
        families.setdefault((c.block, c.cost, c.value), set()).add(c.program_id)
    smallest = {pid for family in families.values() for pid in sorted(family)[:2]}
    assert len(smallest) < len({c.program_id for c in cands}) / 10
    searched = {c.program_id for c in _without_twins(tuple(cands), 2, objective)}
    assert searched == smallest
    # a program that differs in anything the search weighs (here one cent) is its own family
    odd = [
        dataclasses.replace(c, program_id="T999", cost=c.cost + 0.01, index=len(cands) + i)
        for i, c in enumerate(o for o in cands if o.program_id == cands[0].program_id)
    ]
    searched = {c.program_id for c in _without_twins((*cands, *odd), 2, objective)}
    assert searched == smallest | {"T999"}


def test_budget_memo_answers_like_a_fresh_search():
    """A remembered best set is reused only where it is still the best: the same answers
    as searching each budget with a fresh objective."""
    rng = np.random.default_rng(7)
    cands, objective = lettered_instance(rng, 9)
    budgets = [float(b) for b in rng.integers(1000, 16000, 30)]
    for budget in budgets:
        remembered = best_set(cands, 3, budget, 435.0, objective)
        fresh_objective = Objective(
            objective.base,
            objective.effects,
            objective.bonus,
            objective.aspirational,
            channel=objective.channel,
        )
        fresh = best_set(cands, 3, budget, 435.0, fresh_objective)
        assert [c.index for c in remembered.chosen] == [c.index for c in fresh.chosen]
        assert remembered.value == fresh.value
    assert len(objective.__dict__["_best_sets"]) == 1


def test_every_plan_respects_budget_and_three_at_most():
    for budget in (0, 3000, 6000, 12000, 30000):
        a = analysed(make_profile(budget_usd=budget, max_rotations=3))
        assert a.total_cost <= budget
        assert len(a.rotations) <= 3


# --------------------------------------------------------------------------------------
# R-N1/R-N2: how many rotations, on hand-made candidates with known values

RC = A.value("rotation_count")
DRAWS = 50


def rotation_options(*specs: tuple[str, str, str, float]) -> tuple[list[Candidate], Objective]:
    """One candidate per (program_id, state, tier, cost), in separate months, each adding an
    equal, independent effect, so a third always adds value: only R-N2 can refuse it."""
    base = np.full(DRAWS, 0.6)
    cands, effects = [], {}
    for i, (pid, state, tier, cost) in enumerate(specs):
        start = dt.date(2027, 4 + 2 * i, 5)
        effects[i] = np.full(DRAWS, -0.25)
        value = float(np.mean(base * -np.expm1(effects[i])))
        cands.append(
            Candidate(
                i,
                pid,
                Block(start, start + dt.timedelta(days=25)),
                start,
                "vslo",
                cost,
                value,
                tier,
                state,
                i,
            )
        )
    return cands, Objective(base, effects, 0.0, lambda c: False)


# Three distinct opportunities (different regions and tiers), 1,000 dollars each.
DISTINCT = (
    ("N", "NY", "high_reach", 1000.0),
    ("M", "OH", "mid_tier", 1000.0),
    ("W", "CA", "img_friendly", 1000.0),
)


def plan_for(specs=DISTINCT, budget: float = 10000, fit=None, **profile):
    cands, objective = rotation_options(*specs)
    p = make_profile(budget_usd=budget, **{"preferred_states": ["NY", "OH", "CA"], **profile})
    return choose(p, cands, objective, 0.0, "normal", fit or {}, A, budget=budget)


def test_R_N2_third_rotation_chosen_when_all_three_conditions_hold():
    plan = plan_for()
    assert len(plan.selection.chosen) == 3
    assert any(n.startswith("R-N2: a third rotation is justified") for n in plan.notes)
    assert "R-N1: 3 well-chosen rotation(s) planned" in plan.notes


def test_R_N1_two_rotations_when_a_third_has_no_reason():
    plan = plan_for(preferred_states=[], ties_states=[])  # no geographic or fit reason anywhere
    assert len(plan.selection.chosen) == int(RC["recommended_max"]) == 2
    assert "R-N1: 2 well-chosen rotation(s) planned" in plan.notes
    assert any(
        n.startswith("R-N2: a third rotation is not advised") and "no specific" in n for n in plan.notes
    )


def test_R_N2_affordability_boundary_at_just_below_and_just_above_the_share():
    share = float(RC["third_affordable_share"])
    at = 3000 / share  # the three cost exactly the share of this budget
    assert len(plan_for(budget=at).selection.chosen) == 3  # at the share: affordable
    assert len(plan_for(budget=at + 1).selection.chosen) == 3  # cheaper than the share
    over = plan_for(budget=at - 1)  # the three cost just more than the share
    assert len(over.selection.chosen) == 2
    assert any("R-N2" in n and "of the budget" in n for n in over.notes)


def test_R_N2_fit_reason_boundary_at_just_below_and_just_above_fit_reason_min():
    least = float(RC["fit_reason_min"])
    far = {"preferred_states": [], "ties_states": []}  # no place reason: only fit can give one
    for fit, third in ((least, True), (least + 0.01, True), (least - 0.01, False)):
        plan = plan_for(fit=dict.fromkeys("NMW", fit), **far)
        assert (len(plan.selection.chosen) == 3) is third, fit


def test_R_N2_a_tie_state_is_a_geographic_reason_too():
    plan = plan_for(preferred_states=[], ties_states=["NY", "OH", "CA"])
    assert len(plan.selection.chosen) == 3


def test_R_N2_same_region_and_tier_is_not_a_distinct_opportunity():
    same = (
        ("N", "NY", "mid_tier", 1000.0),
        ("M", "PA", "mid_tier", 1000.0),
        ("W", "CA", "img_friendly", 1000.0),
    )
    plan = plan_for(specs=same, preferred_states=["NY", "PA", "CA"])
    assert len(plan.selection.chosen) == 2
    assert any("not distinct opportunities" in n for n in plan.notes)
    # Same region but different tiers are distinct.
    mixed = (
        ("N", "NY", "high_reach", 1000.0),
        ("M", "PA", "mid_tier", 1000.0),
        ("W", "CA", "img_friendly", 1000.0),
    )
    assert len(plan_for(specs=mixed, preferred_states=["NY", "PA", "CA"]).selection.chosen) == 3


def test_R_N2_never_a_third_when_max_rotations_is_two():
    assert len(plan_for(max_rotations=2).selection.chosen) == 2


def test_R_N2_third_needs_all_conditions():
    no_reason = analysed(make_profile(budget_usd=30000))
    assert len(no_reason.rotations) <= 2
    rules = [r for r, _ in no_reason.advice]
    assert "R-N1" in rules


def test_R_N3_warns_above_three():
    a = analysed(make_profile(budget_usd=30000, max_rotations=5))
    assert any(rule == "R-N3" for rule, _ in a.warnings)
    assert len(a.rotations) <= 3


def test_R_V3_alternatives_when_nothing_fits():
    a = analysed(make_profile(budget_usd=500))
    assert len(a.rotations) == 0
    assert list(a.alternatives["kind"]) == ["observership", "virtual_elective", "research"]
    assert (a.alternatives["cost_usd"] >= 0).all()
    assert list(a.alternatives["fits_budget"]) == [c <= 500 for c in a.alternatives["cost_usd"]]
    assert any(rule == "R-V3" for rule, _ in a.warnings)


def test_R_V2_solid_experience_means_one_rotation():
    """R-V2: strong US clerkships and several US radiology letters make rotations less critical."""
    a = analysed(make_profile(budget_usd=30000, us_radiology_letters=3, us_clinical_months=6))
    assert a.away_value == "lower"
    assert len(a.rotations) <= 1


def test_budget_curve_never_decreases():
    """More money never makes the plan worse by its own measure (gain with the R-B1 bonus);
    the raw gain may dip where a balanced pair becomes affordable."""
    a = analysed(make_profile(budget_usd=9000))
    curve = a.budget_curve
    assert (np.diff(curve["plan_score"].to_numpy()) >= -1e-9).all()
    assert curve["rotations"].max() <= 3
    assert (curve["cost_usd"] <= curve["budget_usd"]).all()
    assert curve["gain_points"].iloc[-1] > 0


def test_R_V1_little_us_experience_makes_rotations_valuable():
    """R-V1: no US radiology letter, little US experience, no home radiology program."""
    a = analysed(make_profile())
    assert a.away_value == "high"
    assert sum(rule == "R-V1" for rule, _ in a.advice) >= 2


def test_R_N4_pairs_with_home_radiology_and_research():
    with_home = analysed(make_profile(home_radiology_program=True, interests=["neuro"]))
    messages = [m for rule, m in with_home.advice if rule == "R-N4"]
    assert any("home school" in m for m in messages)
    assert any("research or imaging elective in neuro" in m for m in messages)
    without = analysed(make_profile(home_radiology_program=False))
    assert not any("home school" in m for rule, m in without.advice if rule == "R-N4")


def test_R_B1_balanced_pair_earns_the_bonus():
    """R-B1: an aspirational academic programme with IMG history plus a realistic one."""
    from helpers.budget import balanced

    def cand(pid, tier):
        s = dt.date(2027, 5, 3)
        return Candidate(0, pid, Block(s, s + dt.timedelta(days=25)), s, "vslo", 1000.0, 0.01, tier, "NY", 0)

    asp = {"A"}
    high, mid, friendly = cand("A", "high_reach"), cand("B", "mid_tier"), cand("C", "img_friendly")
    assert balanced([high, friendly], lambda c: c.program_id in asp)
    assert balanced([high, mid], lambda c: c.program_id in asp)
    assert not balanced([cand("D", "mid_tier"), friendly], lambda c: c.program_id in asp)
    effects = {0: np.full(10, -0.1)}
    obj = Objective(np.full(10, 0.5), effects, 0.5, lambda c: c.program_id in asp)
    assert obj([high, friendly]) == pytest.approx(1.5 * obj.gain([high, friendly]))
    assert obj([cand("D", "mid_tier"), friendly]) == pytest.approx(obj.gain([friendly, friendly]))


def test_R_B1_default_plan_is_a_balanced_pair_when_one_is_affordable():
    a = analysed(make_profile(budget_usd=12000))
    assert len(a.rotations) == 2
    assert any(rule == "R-B1" and "balanced" in m and "not a classic" not in m for rule, m in a.advice)


def test_R_Y1_R_Y2_R_Y3_kinds_are_weighted_vslo_direct_observership():
    """R-Y1 VSLO > R-Y2 direct elective > R-Y3 observership, for the same program and block."""
    w = A.value("rotation_value")["kind_weight"]
    assert w["vslo"] > w["direct"] > w["observership"] > 0
    progs = make_programs(
        {"visiting_students": "vslo"}, {"visiting_students": "direct"}, {"visiting_students": "observer_only"}
    )
    grad = analyse(make_profile(school_status="graduate", budget_usd=20000), progs)
    student = analyse(make_profile(budget_usd=20000), progs)
    by_kind = student.candidates.groupby("kind")["gain"].max()
    assert by_kind["vslo"] > by_kind["direct"]
    assert set(grad.candidates["kind"]) <= {"observership", "direct"}


def test_R_W2_R_W3_summer_blocks_are_worth_more():
    """R-W2 May-July best; R-W3 August-September still count, for less, with a warning."""
    from helpers.timeline import month_weight

    may, aug, sep = (month_weight(dt.date(2027, m, 3), A) for m in (5, 8, 9))
    assert may > aug > sep > 0
    late = analysed(make_profile(budget_usd=9000, available_from=dt.date(2027, 8, 1)))
    assert len(late.rotations) >= 1
    assert any(rule == "R-W3" for rule, _ in late.warnings)


# --------------------------------------------------------------------------- issue 12


def test_R_V3_alternatives_are_objects_and_say_whether_they_fit_a_1500_budget():
    a = analysed(make_profile(budget_usd=1500))
    alt = a.alternatives.set_index("kind")
    assert list(alt.index) == ["observership", "virtual_elective", "research"]
    assert {"cost_usd", "fits_budget", "needs_visa", "feasible", "why"} <= set(alt.columns)
    assert alt.loc["observership", "cost_usd"] > 1500 and not alt.loc["observership", "fits_budget"]
    assert "above the $1,500 left in your budget" in alt.loc["observership", "why"]
    assert alt.loc["virtual_elective", "fits_budget"] and alt.loc["research", "fits_budget"]
    assert alt.loc["observership", "needs_visa"] and not alt.loc["virtual_elective", "needs_visa"]


def test_R_Y3_observer_hosts_named_only_where_the_table_says_so():
    from helpers.budget import alternatives

    grad = make_profile(school_status="graduate", graduation_year=2025)
    table = make_programs({"visiting_students": "observer_only"}, {"visiting_students": ""}, {})
    a = analyse(grad, table)
    obs = a.alternatives.set_index("kind").loc["observership"]
    assert obs["hosts"] == ["P0"]  # P1 (blank) and P2 (VSLO) are not named
    assert "P1" not in obs["why"] and "P2" not in obs["why"]
    none = alternatives(grad, F, A, observer_hosts=[])
    assert "ask departments" in none.set_index("kind").loc["observership", "why"]


def test_R_V3_a_rejected_observership_is_offered_only_with_what_differs():
    from helpers.budget import alternatives

    weighed = {"hosts": 3, "best_points": 0.2, "floor_points": 0.5}
    obs = alternatives(make_profile(), F, A, weighed=weighed).set_index("kind").loc["observership"]
    assert "the plan weighed observerships at 3 host(s)" in obs["why"]
    assert "not for the odds" in obs["why"]
    plain = alternatives(make_profile(), F, A).set_index("kind").loc["observership"]
    assert "weighed" not in plain["why"]


def test_R_E2_no_visa_alternative_costs_no_visa_fee():
    from helpers.budget import alternatives

    abroad = alternatives(make_profile(), F, A).set_index("kind").loc["observership"]
    resident = (
        alternatives(make_profile(visa_needed="none", current_us_status="permanent_resident"), F, A)
        .set_index("kind")
        .loc["observership"]
    )
    c = A.value("costs")
    fees = F.value("visa_mrv_fee_usd") + F.value("visa_integrity_fee_usd")
    travel = c["default_travel_international_usd"] - c["default_travel_domestic_usd"]
    assert abroad["cost_usd"] - resident["cost_usd"] == pytest.approx(fees + travel)
    assert not resident["needs_visa"] and abroad["needs_visa"]


STRONG = {
    "step2_ck": 266,
    "research_items": 6,
    "budget_usd": 15000,
    "interests": ["neuro", "academic"],
    "graduation_year": 2028,
}


def test_R_B3_preferred_states_shape_hosts_and_signals_within_the_tier_mix():
    without = analysed(make_profile(**STRONG))
    with_ = analysed(make_profile(**STRONG, preferred_states=["NY", "MA", "PA"]))
    states = set(with_.rotations["state"])
    assert states & {"NY", "MA", "PA"}
    assert not set(without.rotations["state"]) & {"NY", "MA", "PA"}
    for r in with_.rotations.to_dict("records"):  # each choice says what it serves
        assert any(
            rule == "R-B3" and m.startswith(f"{r['program_id']} ({r['state']}) serves")
            for rule, m in with_.advice
        )
    st = dict(zip(with_.table["program_id"], with_.table["state"], strict=True))
    tier = dict(zip(with_.table["program_id"], with_.table["tier"], strict=True))

    def gold(a):
        return list(a.signals.loc[a.signals["signal"] == "gold", "program_id"])

    pref_gold = sum(st[p] in {"NY", "MA", "PA"} for p in gold(with_))
    base_gold = sum(st[p] in {"NY", "MA", "PA"} for p in gold(without))
    assert pref_gold > base_gold

    # R-B1 balance: signals that are not at a rotation keep the tier mix the model chose
    def mix(a):
        s = a.signals.loc[~a.signals["why"].str.startswith("where you rotate")]
        return sorted((sig, tier[p]) for sig, p in zip(s["signal"], s["program_id"], strict=True))

    assert len(with_.signals) == len(without.signals)
    assert mix(with_) == mix(without) or set(with_.rotations["program_id"]) != set(
        without.rotations["program_id"]
    )


def test_R_B3_keep_share_bounds_what_a_preference_may_cost():
    """The preferred plan is worth at least keep_share of the model's best (R-B1 bonus included)."""
    from helpers.budget import Preferences, choose

    p = make_profile(**STRONG, preferred_states=["NY", "MA", "PA"])
    a = analysed(p)
    fit = dict(zip(a.table["program_id"], a.table["fit"].astype(float).fillna(0.0), strict=True))
    plain = choose(p, a.candidate_list, a.objective, a.fixed_cost, a.away_value, fit, A)
    keep = A.value("preference")["keep_share"]
    assert a.plan.selection.value >= keep * plain.selection.value - 1e-12
    none = choose(
        p,
        a.candidate_list,
        a.objective,
        a.fixed_cost,
        a.away_value,
        fit,
        A,
        prefs=Preferences(),  # no preference at all, and not strong: the model's own choice
    )
    assert [c.program_id for c in none.selection.chosen] == [c.program_id for c in plain.selection.chosen]


def test_R_B2_strong_profile_takes_the_ambitious_half_when_one_is_worth_it():
    """Synthetic: an aspirational candidate worth a little less than a realistic one is
    chosen for a strong profile only."""
    from helpers.budget import Preferences, choose

    def cand(i, pid, tier, value, month):
        s = dt.date(2027, month, 3)
        return Candidate(i, pid, Block(s, s + dt.timedelta(days=25)), s, "vslo", 1000.0, value, tier, "OH", i)

    cands = [
        cand(0, "R1", "img_friendly", 0.03, 5),
        cand(1, "R2", "img_friendly", 0.028, 6),
        cand(2, "H", "high_reach", 0.026, 7),
    ]
    effects = {i: np.full(4, np.log1p(-c.value / 0.5)) for i, c in enumerate(cands)}
    obj = Objective(np.full(4, 0.5), effects, 0.0, lambda c: c.program_id == "H")
    p = make_profile(budget_usd=5000, max_rotations=2)
    modest = choose(p, cands, obj, 0.0, "high", {}, A, prefs=Preferences())
    strong = choose(p, cands, obj, 0.0, "high", {}, A, prefs=Preferences(ambitious=True))
    assert {c.program_id for c in modest.selection.chosen} == {"R1", "R2"}
    assert "H" in {c.program_id for c in strong.selection.chosen}
    assert any(n.startswith("R-B2: a strong profile: H") for n in strong.notes)


def test_R_N2_third_rotation_names_its_reason():
    p = make_profile(
        step2_ck=266,
        budget_usd=25000,
        step3="pass",
        visa_needed="j1_or_h1b",
        max_rotations=3,
        interests=["neuro"],
        preferred_states=["MA", "CA", "IL"],
        ties_states=["MA", "CA", "IL"],
    )
    a = analysed(p)
    notes = [m for rule, m in a.advice if rule == "R-N2"]
    assert notes
    if len(a.rotations) == 3:
        (note,) = notes
        assert "a specific geographic or fit reason" not in note  # no boilerplate
        assert "tie to" in note or "preferred state" in note or "fits your interests" in note
        assert "it adds a" in note and "beside" in note
    else:
        assert notes[0].startswith("a third rotation is not advised")


def test_R_N2_third_rotation_reason_names_state_interest_and_what_it_adds():
    from helpers.budget import Selection, third_rotation_blockers, third_rotation_reason

    def cand(pid, tier, state, value, month):
        s = dt.date(2027, month, 3)
        return Candidate(
            0, pid, Block(s, s + dt.timedelta(days=25)), s, "vslo", 3000.0, value, tier, state, 0
        )

    sel = Selection(
        (
            cand("A", "high_reach", "NY", 0.03, 5),
            cand("B", "img_friendly", "TX", 0.02, 6),
            cand("C", "mid_tier", "IL", 0.01, 7),
        ),
        0.06,
        9000.0,
    )
    p = make_profile(budget_usd=20000, ties_states=["IL"], interests=["neuro"])
    assert third_rotation_blockers(p, sel, {}, 20000, A) == []
    reason = third_rotation_reason(p, sel, {"C": 0.9}, A)
    assert reason.startswith("C in IL: a tie to IL")
    assert "fits your interests (neuro; fit 0.90)" in reason
    assert (
        "it adds a mid_tier program in the Midwest beside A (Northeast, high_reach), B (South, img_friendly)"
        in reason
    )
