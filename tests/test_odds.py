"""The odds model: fitted to published anchors, moved by the whole record, deterministic,
scaled on the national market, and checked against a simulation written here
(R-S1, R-V1, R-V4, R-G1, R-G3, R-M1, R-S2)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import analysed, bundled_programs, make_profile

from helpers.analysis import analyse
from helpers.assumptions import load_assumptions
from helpers.facts import load_facts
from helpers.odds import calibrate, fit, population

PROGRAMS = bundled_programs()
FACTS = load_facts()
ASSUME = load_assumptions()
# The J-1 student of the record tests: Step 2 CK 245, no US experience, no US letters.
STUDENT = {"step2_ck": 245, "us_clinical_months": 0, "us_radiology_letters": 0, "research_items": 0}


def chance(**changes) -> float:
    return analysed(make_profile(**{**STUDENT, **changes})).baseline["match_probability"]


@pytest.fixture(scope="module")
def base():
    return analysed(make_profile(**STUDENT))


# --------------------------------------------------------------------------- calibration


def test_calibration_hits_the_fitted_figures():
    r = calibrate().reproduction.set_index("figure")
    fitted = r.loc[r["role"] == "fitted"]
    assert np.allclose(fitted["published"], fitted["model"], atol=0.05)
    assert {"match rate, ranked DR first (2026)", "research experiences gap, matched - unmatched"} <= set(
        fitted.index
    )


def test_the_poisson_weights_are_scipys_to_the_bit():
    """odds avoids importing scipy.stats (slow in every kernel); its pmf must not drift."""
    from scipy import stats

    from helpers.odds import _poisson_pmf

    k = np.arange(0, 200)[None, :]
    mu = np.array([1e-6, 0.3, 2.0, 7.5, 31.0, 140.0])[:, None]
    assert np.array_equal(_poisson_pmf(k, mu), stats.poisson.pmf(k, mu))


def test_checks_are_reported_not_forced():
    r = calibrate().reproduction
    checks = r.loc[r["role"].str.startswith("check")]
    assert len(checks) >= 4
    assert (checks["model"] > 0).all()


def test_one_cache_entry_serves_every_caller():
    """Warm-up and analysis call calibrate with the same folder string: one fit."""
    calibrate.cache_clear()
    analyse(make_profile(), PROGRAMS)
    calibrate(str(FACTS.folder))
    assert calibrate.cache_info().currsize == 1


# --------------------------------------------------------------------------- the record moves the odds


@pytest.mark.parametrize(
    "change",
    [{"us_clinical_months": 6}, {"us_radiology_letters": 2}, {"research_items": 10}, {"step2_ck": 260}],
    ids=["R-V1-us-months", "R-W8-us-letters", "research", "R-C4-step2"],
)
def test_more_of_what_matters_raises_the_chance(base, change):
    assert chance(**change) > base.baseline["match_probability"]


def test_R_G3_a_second_attempt_lowers_the_chance(base):
    assert chance(step1_attempts=2) < base.baseline["match_probability"]
    assert chance(step2_ck_attempts=2) < base.baseline["match_probability"]


def test_years_since_graduation_lower_the_chance():
    recent = chance(school_status="graduate", graduation_year=2026)
    older = chance(school_status="graduate", graduation_year=2020)
    assert older < recent


def test_factors_name_each_field_value_effect_and_basis(base):
    factors = {f["field"]: f for f in base.match_probability["factors"]}
    assert set(factors) >= {
        "step2_ck",
        "research_items",
        "failed_attempts",
        "us_clinical_months",
        "us_radiology_letters",
        "years_since_graduation",
    }
    assert factors["us_radiology_letters"]["value"] == 0
    assert factors["us_radiology_letters"]["effect"] < 0  # below the reference record
    assert all(f["basis"] for f in factors.values())


# --------------------------------------------------------------------------- gates


def test_R_G1_step1_not_passed_makes_the_chance_conditional_and_lower(base):
    a = analysed(make_profile(**STUDENT, step1="fail"))
    mp = a.match_probability
    assert mp["blocked"] is None
    assert mp["condition"]["rule"] == "R-G1" and mp["condition"]["by"]
    assert a.baseline["match_probability"] < base.baseline["match_probability"]
    # no paid rotation is applied for before the Step 1 result
    weeks = int(ASSUME.value("step1_gate")["retake_weeks"])
    result = a.plan_date + dt.timedelta(weeks=weeks)
    assert len(a.rotations) and all(r >= result for r in a.rotations["apply_by"])
    # the dated steps lead with the exam and its dates
    first = a.steps.iloc[0]
    assert first["rule"] == "R-G1" and first["date"] == a.plan_date
    assert {result, dt.date.fromisoformat(mp["condition"]["by"])} <= set(
        a.steps.loc[a.steps["rule"] == "R-G1", "date"]
    )


def test_R_G1_step1_too_late_blocks_this_cycle():
    a = analysed(make_profile(**STUDENT, step1="not_taken", plan_date=dt.date(2027, 8, 20)))
    mp = a.match_probability
    assert mp["blocked"]["rule"] == "R-G1"
    assert a.baseline["match_probability"] == 0 and a.with_plan["match_probability"] == 0
    assert a.rotations.empty


# --------------------------------------------------------------------------- determinism


def test_same_record_under_three_ids_gives_identical_numbers():
    runs = [analyse(make_profile(**STUDENT, applicant_id=i), PROGRAMS) for i in ("a", "zz-9", "cohort_17")]
    for other in runs[1:]:
        assert other.baseline == runs[0].baseline
        assert other.with_plan == runs[0].with_plan
        assert list(other.rotations["program_id"]) == list(runs[0].rotations["program_id"])


# --------------------------------------------------------------------------- coverage (R-M1)


def test_R_M1_a_short_table_does_not_inflate_chances(base):
    florida = PROGRAMS.loc[PROGRAMS["state"] == "FL"]
    assert len(florida) >= 10
    small = analyse(make_profile(**STUDENT), florida)
    full = base.table.set_index("program_id")["interview_chance"]
    part = small.table.set_index("program_id")["interview_chance"]
    open_ = part[part > 0]
    assert len(open_) > 0
    ratio = open_ / full.loc[open_.index]
    assert ((ratio > 0.8) & (ratio < 1.2)).all(), ratio
    assert small.baseline["match_probability"] < base.baseline["match_probability"]
    cov = small.coverage
    assert cov["programs_in_table"] == len(florida)
    assert 0 < cov["share_of_national_positions"] < 0.2
    assert cov["national_positions"] == int(FACTS.value("dr_positions_2026"))


# --------------------------------------------------------------------------- two channels (R-V4)


def test_R_V4_plan_gain_splits_into_host_and_letter(base):
    assert len(base.rotations) >= 1
    gains = base.gains
    assert all(g["host"] > 0 and g["letter"] > 0 for g in gains)
    total = sum(g["host"] + g["letter"] for g in gains)
    plan_gain = 100 * (base.with_plan["match_probability"] - base.baseline["match_probability"])
    assert total == pytest.approx(plan_gain, abs=0.6)  # rounding of the two chances
    sens = base.effect_sensitivity()
    assert set(sens["channel"]) == {"host", "letter"}
    letter = sens.loc[sens["channel"] == "letter"].set_index("reading")["gain_points"]
    assert letter.is_monotonic_increasing  # a larger letter effect, a larger gain


def test_R_V4_letters_already_in_hand_shrink_the_letter_channel(base):
    rich = analysed(make_profile(**{**STUDENT, "us_radiology_letters": 3, "us_clinical_months": 6}))
    if len(rich.rotations):
        assert max(g["letter"] for g in rich.gains) < max(g["letter"] for g in base.gains)


# --------------------------------------------------------------------------- tracks (R-S2)


def _tracks() -> pd.DataFrame:
    t = PROGRAMS.head(6).copy()
    t["program_id"] = ["1111420C0", "1111420R0", "2222420A0", "2222420C0", "3333420A0", "P900"]
    return t.reset_index(drop=True).set_axis(PROGRAMS.head(6).index)


def test_R_S2_reserved_tracks_need_prior_training():
    t = _tracks()
    none = analyse(make_profile(**STUDENT), t).table.set_index("program_id")
    assert none.loc["1111420R0", "status"] == "excluded"
    assert any(r.startswith("R-S2") for r in none.loc["1111420R0", "reasons"])
    trained = analyse(make_profile(**STUDENT, prior_gme_months=12), t).table.set_index("program_id")
    assert trained.loc["1111420R0", "status"] != "excluded" or not any(
        r.startswith("R-S2") for r in trained.loc["1111420R0", "reasons"]
    )


def test_R_S2_signals_go_to_programs_not_tracks():
    a = analyse(make_profile(**STUDENT, prior_gme_months=12), _tracks())
    keys = [pid[:7] if pid[:7].isdigit() else pid for pid in a.signals["program_id"]]
    assert len(keys) == len(set(keys))


def test_signals_follow_the_published_counts(base):
    counts = base.signals["signal"].value_counts()
    assert counts["gold"] == int(FACTS.value("gold_signals"))
    assert counts["silver"] == int(FACTS.value("silver_signals"))
    gold = set(base.signals.loc[base.signals["signal"] == "gold", "program_id"])
    assert set(base.rotations["program_id"]) <= gold


def test_visa_restrictions_lower_the_odds():
    j1 = analysed(make_profile(visa_needed="j1")).baseline["match_probability"]
    h1b = analysed(
        make_profile(visa_needed="h1b", step3="pass", school_status="graduate", graduation_year=2025)
    )
    assert h1b.baseline["match_probability"] < j1


def test_interval_brackets_the_mean(base):
    s = base.baseline
    assert s["match_probability_p10"] < s["match_probability"] < s["match_probability_p90"]


# --------------------------------------------------------------------------- independent checks


def _simulate_population(mu: float, sigma: float, c: float, n: int, seed: int) -> dict:
    """Applicants, interviews and matches drawn directly (not through the model's code)."""
    rng = np.random.default_rng(seed)
    lam = mu * np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
    k = rng.poisson(lam)
    ranked = k > 0
    matched = rng.random(n) < 1 - (1 - c) ** k
    k, matched = k[ranked], matched[ranked]
    return {
        "match_rate": matched.mean(),
        "ranks_mean_matched": k[matched].mean(),
        "ranks_mean_unmatched": k[~matched].mean(),
        "n": len(k),
        "sd_matched": k[matched].std(),
        "sd_unmatched": k[~matched].std(),
        "n_matched": int(matched.sum()),
    }


@pytest.mark.parametrize("point", ["calibrated", "other"])
def test_simulation_agrees_with_the_model_aggregates(point):
    cal = calibrate()
    mu, sigma, c = (cal.mu, cal.sigma, cal.c) if point == "calibrated" else (6.0, 1.1, 0.4)
    sim = _simulate_population(mu, sigma, c, 400_000, seed=11)
    model = population(mu, sigma, c)
    se_rate = np.sqrt(model["match_rate"] * (1 - model["match_rate"]) / sim["n"])
    assert abs(sim["match_rate"] - model["match_rate"]) < 4 * se_rate
    se_m = sim["sd_matched"] / np.sqrt(sim["n_matched"])
    assert abs(sim["ranks_mean_matched"] - model["ranks_mean_matched"]) < 4 * se_m
    se_u = sim["sd_unmatched"] / np.sqrt(sim["n"] - sim["n_matched"])
    assert abs(sim["ranks_mean_unmatched"] - model["ranks_mean_unmatched"]) < 4 * se_u


def test_fit_recovers_parameters_from_simulated_aggregates():
    """Aggregates simulated at a known point, fitted back: the fit finds the point."""
    truth = (4.0, 0.9, 0.3)
    agg = population(*truth)
    mu, sigma, c = fit(agg["match_rate"], agg["ranks_mean_matched"], agg["ranks_mean_unmatched"])
    assert (mu, sigma, c) == pytest.approx(truth, rel=1e-3)


def test_applicant_chance_agrees_with_a_direct_simulation(base):
    """Quality drawn at random, interviews drawn program by program, each turning into the
    match with chance c: the share matched agrees with the model's quadrature."""
    from helpers.odds import NODES

    m, cal = base.model, calibrate()
    const = np.log(m.multipliers[0]) - cal.sigma_e * NODES[0]  # the record's part of log M
    rng = np.random.default_rng(5)
    n = 20_000
    mult = np.exp(const + cal.sigma_e * rng.standard_normal(n))
    p = np.minimum(m.p[None, :] * mult[:, None], m.cap)
    matched = ((rng.random(p.shape) < p) & (rng.random(p.shape) < m.c)).any(axis=1)
    se = np.sqrt(matched.mean() * (1 - matched.mean()) / n)
    assert abs(matched.mean() - base.baseline["match_probability"]) < 4 * se + 0.001


def test_truncation_of_ranks_does_not_bias_wider_parameters():
    for mu, sigma in ((8.0, 1.3), (15.0, 1.0)):
        narrow = population(mu, sigma, 0.3)
        wide = population(mu, sigma, 0.3, k_max=60_000)
        for key in ("match_rate", "ranks_mean_matched", "ranks_mean_unmatched"):
            assert narrow[key] == pytest.approx(wide[key], rel=1e-6)
