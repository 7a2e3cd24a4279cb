"""Budget: cost arithmetic (R-C3, R-A4), rotation counts (R-N1..R-N3), exact optimiser,
alternatives (R-V3)."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from conftest import make_profile, make_programs

from helpers.analysis import analyse
from helpers.assumptions import load_assumptions
from helpers.budget import Candidate, Objective, best_set, exhaustive_best, rotation_cost, visa_fee
from helpers.config import DEFAULT_PROGRAMS
from helpers.facts import load_facts
from helpers.programs import load_programs
from helpers.timeline import Block

A = load_assumptions()
F = load_facts()
PROGRAMS = load_programs(DEFAULT_PROGRAMS)


def row(**cells):
    return next(make_programs(cells).itertuples(index=False))


def test_R_C3_cost_parts_add_up():
    r = row(host_fee_usd="300", non_lcme_surcharge_usd="1000", housing_month_usd="1500")
    c = rotation_cost(make_profile(travel_cost_usd=900), r, "vslo", F, A)
    months = 28 / 30.4375
    assert c["vslo_fee"] == 15
    assert c["host_fee"] == 300 and c["non_lcme_surcharge"] == 1000
    assert c["housing"] == pytest.approx(1500 * months, abs=0.01)
    assert c["insurance"] == pytest.approx(378 * months, abs=0.01)
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
    assert visa_fee(make_profile(current_us_status="none"), F) == 185 + 250
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


def test_every_plan_respects_budget_and_three_at_most():
    for budget in (0, 3000, 6000, 12000, 30000):
        a = analyse(make_profile(budget_usd=budget, max_rotations=3), PROGRAMS)
        assert a.total_cost <= budget
        assert len(a.rotations) <= 3


def test_R_N1_two_by_default():
    a = analyse(make_profile(budget_usd=30000), PROGRAMS)
    assert len(a.rotations) <= 2 or any(r == "R-N2" for r, _ in a.advice)


def test_R_N2_third_needs_all_conditions():
    no_reason = analyse(make_profile(budget_usd=30000), PROGRAMS)
    assert len(no_reason.rotations) <= 2
    rules = [r for r, _ in no_reason.advice]
    assert "R-N1" in rules


def test_R_N3_warns_above_three():
    a = analyse(make_profile(budget_usd=30000, max_rotations=5), PROGRAMS)
    assert any(rule == "R-N3" for rule, _ in a.warnings)
    assert len(a.rotations) <= 3


def test_R_V3_alternatives_when_nothing_fits():
    a = analyse(make_profile(budget_usd=500), PROGRAMS)
    assert len(a.rotations) == 0
    assert list(a.alternatives["alternative"]) == ["observership", "virtual_elective", "research"]
    assert (a.alternatives["cost_usd"] >= 0).all()
    assert any(rule == "R-V3" for rule, _ in a.warnings)


def test_R_V2_solid_experience_means_one_rotation():
    a = analyse(make_profile(budget_usd=30000, us_radiology_letters=3, us_clinical_months=6), PROGRAMS)
    assert a.away_value == "lower"
    assert len(a.rotations) <= 1


def test_budget_curve_never_decreases():
    a = analyse(make_profile(budget_usd=9000), PROGRAMS)
    gains = a.budget_curve["gain_points"].to_numpy()
    assert (np.diff(gains) >= -1e-9).all()
    assert a.budget_curve["rotations"].max() <= 3
