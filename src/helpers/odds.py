"""A transparent match-odds model anchored on published figures (no trained model).

Structure (stated in notebook 01 with its limits):
  1. Calibration. Among non-US IMGs who ranked DR first in 2026 (data/facts/odds_anchors.csv),
     the number of programs ranked K is Poisson with a log-normal spread across applicants,
     and each ranked program turns into a match with probability c. Three published
     figures fix the three parameters exactly: the match rate (102/175), the mean ranks of
     matched (5.3) and unmatched (2.2) applicants. The tiny Step 2 CK gap between matched
     and unmatched (251 vs 250) fixes how much Step 2 CK moves the expected interviews.
     Medians and SDs of ranks, and the 2020 match rate, are checks the fit was not given.
  2. Applicant. Expected interviews = calibrated mean x Step 2 effect x (how much of the
     market the applicant's eligible list covers, relative to a J-1 applicant), spread
     over programs by tier and openness weights (data/assumptions.yaml, `odds`).
  3. Monte Carlo over the applicant's unknown quality (the calibrated spread): interview
     chance per program per draw; P(no match) = product of (1 - c x p_i). Rotations,
     signals and ties multiply a program's interview odds by shrunken published odds ratios.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .assumptions import Assumptions
from .facts import Facts, load_facts

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(48)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
_K = np.arange(0, 121)

CALIBRATION_FACTS = [
    "nonus_2026_n_matched",
    "nonus_2026_n_unmatched",
    "nonus_2026_matched_contiguous_ranks_mean",
    "nonus_2026_unmatched_contiguous_ranks_mean",
    "nonus_2026_matched_usmle_step2ck_mean",
    "nonus_2026_unmatched_usmle_step2ck_mean",
    "nonus_2026_matched_usmle_step2ck_sd",
    "nonus_2026_unmatched_usmle_step2ck_sd",
    "nonus_2026_matched_contiguous_ranks_median",
    "nonus_2026_unmatched_contiguous_ranks_median",
    "nonus_2026_matched_contiguous_ranks_sd",
    "nonus_2026_unmatched_contiguous_ranks_sd",
    "nonus_2020_only_dr_match_rate_pct",
    "away_match_or",
    "signal_interview_or",
    "geo_tie_match_or",
    "gold_signals",
    "silver_signals",
]


def _population(mu: float, sigma: float, c: float) -> dict[str, float]:
    """Aggregates implied by (mu, sigma, c) for applicants who ranked at least one program."""
    lam = mu * np.exp(sigma * _NODES - sigma**2 / 2)
    pk = _WEIGHTS[:, None] * stats.poisson.pmf(_K[None, :], lam[:, None])
    pk, k = pk[:, 1:], _K[1:]
    m = 1 - (1 - c) ** k
    pm_jk, pu_jk = pk * m, pk * (1 - m)
    matched, unmatched = pm_jk.sum(0), pu_jk.sum(0)

    def median(dist: np.ndarray) -> float:
        cdf = np.cumsum(dist) / dist.sum()
        i = int(np.searchsorted(cdf, 0.5))
        return float(k[i]) if cdf[i] > 0.5 + 1e-9 or i + 1 >= len(k) else float(k[i] + 0.5)

    def sd(dist: np.ndarray) -> float:
        mean = (dist * k).sum() / dist.sum()
        return float(np.sqrt((dist * (k - mean) ** 2).sum() / dist.sum()))

    return {
        "match_rate": float(pm_jk.sum() / pk.sum()),
        "ranks_mean_matched": float((matched * k).sum() / matched.sum()),
        "ranks_mean_unmatched": float((unmatched * k).sum() / unmatched.sum()),
        "ranks_median_matched": median(matched),
        "ranks_median_unmatched": median(unmatched),
        "ranks_sd_matched": sd(matched),
        "ranks_sd_unmatched": sd(unmatched),
        "u_gap": float(
            (pm_jk.sum(1) * _NODES).sum() / pm_jk.sum() - (pu_jk.sum(1) * _NODES).sum() / pu_jk.sum()
        ),
        "p_at_least_one": float(pk.sum()),
    }


@dataclass(frozen=True)
class Calibration:
    """Fitted parameters and how the fit reproduces the published figures."""

    mu: float  # mean expected DR interviews (ranks) of the anchor population, before truncation
    sigma: float  # log-normal spread of expected interviews across applicants
    c: float  # chance that one ranked program becomes the match
    rho: float  # correlation of standardised Step 2 CK with log expected interviews
    step2_mean: float
    step2_sd: float
    reproduction: pd.DataFrame

    @property
    def beta(self) -> float:
        return self.rho * self.sigma

    @property
    def sigma_e(self) -> float:
        return self.sigma * float(np.sqrt(1 - self.rho**2))


@functools.lru_cache(maxsize=4)
def calibrate(facts_folder: str | None = None) -> Calibration:
    """Fit (mu, sigma, c) to the 2026 non-US IMG anchors; cached (shared data only)."""
    f = load_facts(facts_folder)
    n_m, n_u = f.value("nonus_2026_n_matched"), f.value("nonus_2026_n_unmatched")
    target_rate = n_m / (n_m + n_u)
    km, ku = (
        f.value("nonus_2026_matched_contiguous_ranks_mean"),
        f.value("nonus_2026_unmatched_contiguous_ranks_mean"),
    )

    def residuals(x: np.ndarray) -> list[float]:
        pop = _population(np.exp(x[0]), np.exp(x[1]), 1 / (1 + np.exp(-x[2])))
        # Three equations, three unknowns: the fit is exact; the divisors only balance the scales.
        return [
            (pop["match_rate"] - target_rate) / 0.05,
            (pop["ranks_mean_matched"] - km) / 0.5,
            (pop["ranks_mean_unmatched"] - ku) / 0.3,
        ]

    sol = optimize.least_squares(residuals, x0=[np.log(3.0), np.log(0.8), 0.0], xtol=1e-12, ftol=1e-12)
    mu, sigma, c = float(np.exp(sol.x[0])), float(np.exp(sol.x[1])), float(1 / (1 + np.exp(-sol.x[2])))
    pop = _population(mu, sigma, c)

    s_m, s_u = (
        f.value("nonus_2026_matched_usmle_step2ck_mean"),
        f.value("nonus_2026_unmatched_usmle_step2ck_mean"),
    )
    sd_m, sd_u = (
        f.value("nonus_2026_matched_usmle_step2ck_sd"),
        f.value("nonus_2026_unmatched_usmle_step2ck_sd"),
    )
    w_m = target_rate
    mean = w_m * s_m + (1 - w_m) * s_u
    var = w_m * sd_m**2 + (1 - w_m) * sd_u**2 + w_m * (1 - w_m) * (s_m - s_u) ** 2
    sd = float(np.sqrt(var))
    rho = float(np.clip(((s_m - s_u) / sd) / pop["u_gap"], -0.95, 0.95))
    gap_model = rho * pop["u_gap"] * sd

    rows = [
        ("match rate, ranked DR first (2026)", 100 * target_rate, 100 * pop["match_rate"], "%", "fitted"),
        ("mean ranks, matched", km, pop["ranks_mean_matched"], "programs", "fitted"),
        ("mean ranks, unmatched", ku, pop["ranks_mean_unmatched"], "programs", "fitted"),
        ("Step 2 CK gap, matched - unmatched", s_m - s_u, gap_model, "points", "fitted"),
        (
            "median ranks, matched",
            f.value("nonus_2026_matched_contiguous_ranks_median"),
            pop["ranks_median_matched"],
            "programs",
            "check",
        ),
        (
            "median ranks, unmatched",
            f.value("nonus_2026_unmatched_contiguous_ranks_median"),
            pop["ranks_median_unmatched"],
            "programs",
            "check",
        ),
        (
            "SD of ranks, matched",
            f.value("nonus_2026_matched_contiguous_ranks_sd"),
            pop["ranks_sd_matched"],
            "programs",
            "check",
        ),
        (
            "SD of ranks, unmatched",
            f.value("nonus_2026_unmatched_contiguous_ranks_sd"),
            pop["ranks_sd_unmatched"],
            "programs",
            "check",
        ),
        (
            "match rate, ranked only DR (2020)",
            f.value("nonus_2020_only_dr_match_rate_pct"),
            100 * pop["match_rate"],
            "%",
            "check (other year and definition)",
        ),
    ]
    reproduction = pd.DataFrame(rows, columns=["figure", "published", "model", "unit", "role"])
    reproduction["published"] = reproduction["published"].round(1)
    reproduction["model"] = reproduction["model"].round(1)
    return Calibration(mu, sigma, c, rho, float(mean), sd, reproduction)


def applicant_seed(applicant_id: str) -> int:
    """A stable seed per applicant, so the same inputs give the same numbers every run."""
    return int.from_bytes(hashlib.sha256(applicant_id.encode()).digest()[:8], "little")


def _odds_mult(p: np.ndarray, odds_ratio: np.ndarray | float) -> np.ndarray:
    odds = p / (1 - p)
    odds = odds * odds_ratio
    return odds / (1 + odds)


@dataclass
class OddsModel:
    """Per-program interview chances for one applicant, with Monte Carlo draws of quality.

    A rotation at a program acts on both steps there: the interview odds and the odds
    that the interview becomes the match (`rotation_interview_share` of the log effect on
    the first, the rest on the second), since the published odds ratio is for matching there.
    """

    program_ids: np.ndarray
    p: np.ndarray  # expected interview chance per program at the average draw (0 if excluded)
    multipliers: np.ndarray  # per-draw multiplier of expected interviews (applicant quality)
    c: float
    cap: float
    interview_share: float  # odds.rotation_interview_share in data/assumptions.yaml

    def split(self, odds_ratio: np.ndarray | float) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(interview, conversion) odds multipliers for a program-level match odds ratio."""
        return odds_ratio**self.interview_share, odds_ratio ** (1 - self.interview_share)

    def matrix(self, odds_ratio: np.ndarray | None = None) -> np.ndarray:
        """Draws x programs interview probabilities, with rotation effects where given."""
        pm = np.minimum(self.p[None, :] * self.multipliers[:, None], self.cap)
        if odds_ratio is not None:
            pm = _odds_mult(pm, self.split(odds_ratio)[0][None, :])
        return pm

    def conversion(self, odds_ratio: np.ndarray | None = None) -> np.ndarray:
        """Per-program chance that an interview becomes the match."""
        c = np.full(len(self.p), self.c)
        return c if odds_ratio is None else _odds_mult(c, self.split(odds_ratio)[1])

    def log_no_match(self, odds_ratio: np.ndarray | None = None) -> np.ndarray:
        return np.log1p(-self.conversion(odds_ratio)[None, :] * self.matrix(odds_ratio)).sum(axis=1)

    def summary(self, odds_ratio: np.ndarray | None = None) -> dict[str, float]:
        """Match chance (mean and 10th-90th percentile over draws) and expected interviews."""
        pm = self.matrix(odds_ratio)
        p_match = -np.expm1(np.log1p(-self.conversion(odds_ratio)[None, :] * pm).sum(axis=1))
        p_none = np.exp(np.log1p(-pm).sum(axis=1))
        interviews = pm.sum(axis=1)
        mean = float(p_match.mean())
        at_least_one = float(1 - p_none.mean())
        return {
            "match_probability": round(mean, 3),
            "match_probability_p10": round(float(np.quantile(p_match, 0.1)), 3),
            "match_probability_p90": round(float(np.quantile(p_match, 0.9)), 3),
            "expected_interviews": round(float(interviews.mean()), 2),
            "p_at_least_one_interview": round(at_least_one, 3),
            "match_probability_if_interviewed": round(mean / at_least_one, 3) if at_least_one > 0 else 0.0,
        }

    def rotation_effect(self, index: int, odds_ratio: float) -> np.ndarray:
        """Per-draw change of log P(no match) from a rotation at one program."""
        col = np.minimum(self.p[index] * self.multipliers, self.cap)
        interview_or, conversion_or = self.split(odds_ratio)
        new_p = _odds_mult(col, interview_or)
        new_c = _odds_mult(np.float64(self.c), conversion_or)
        return np.log1p(-new_c * new_p) - np.log1p(-self.c * col)


def program_weights(tiers: pd.DataFrame, assume: Assumptions) -> np.ndarray:
    """Relative share of interviews a program gives (tier weight x exp(w x openness))."""
    o = assume.value("odds")
    tier_w = tiers["tier"].map(o["tier_weight"]).astype(float).fillna(1.0).to_numpy()
    open_ = tiers["openness"].astype(float)
    open_ = open_.fillna(float(open_.median()) if open_.notna().any() else 0.5).to_numpy()  # as tiering
    return tier_w * np.exp(float(o["openness_weight"]) * open_)


def build_model(
    profile_id: str,
    step2_ck: int | None,
    programs: pd.DataFrame,
    status: pd.Series,
    tiers: pd.DataFrame,
    ties: np.ndarray,
    facts: Facts,
    assume: Assumptions,
    draws: int | None = None,
) -> OddsModel:
    """Interview model for one applicant over the program table.

    The list is every eligible program plus unknown ones at the assumed chance of turning
    out eligible; it is compared with the list of a J-1 applicant (the common case) to
    scale the calibrated expected interviews.
    """
    o = assume.value("odds")
    cal = calibrate(str(facts.folder))
    w = program_weights(tiers, assume)
    unknown_p = float(o["unknown_eligible_probability"])
    elig = np.select([status.to_numpy() == "eligible", status.to_numpy() == "unknown"], [1.0, unknown_p], 0.0)
    considers = programs["considers_imgs"].astype("boolean")
    j1 = programs["sponsors_j1"].astype("boolean")
    closed = (~considers).fillna(False).to_numpy(bool) | (~j1).fillna(False).to_numpy(bool)
    blank = considers.isna().to_numpy() | j1.isna().to_numpy()
    ref = np.where(closed, 0.0, np.where(blank, unknown_p, 1.0))
    tie_or = facts.value("geo_tie_match_or") ** float(o["association_exponent"])
    w = w * np.where(ties, tie_or, 1.0)
    w_ref = float((program_weights(tiers, assume) * ref).sum()) or 1.0
    p = cal.mu * w * elig / w_ref
    z = 0.0 if step2_ck is None else (step2_ck - cal.step2_mean) / cal.step2_sd
    rng = np.random.default_rng(applicant_seed(profile_id))
    n = int(draws or o["draws"])
    e = rng.standard_normal(n)
    multipliers = np.exp(cal.beta * z + cal.sigma_e * e - cal.sigma**2 / 2)
    return OddsModel(
        programs["program_id"].to_numpy(),
        p,
        multipliers,
        cal.c,
        float(o["interview_cap"]),
        float(o["rotation_interview_share"]),
    )


def signal_odds_ratios(facts: Facts, assume: Assumptions) -> tuple[float, float]:
    """(gold, silver) interview odds multipliers from the published signal odds ratio."""
    o = assume.value("odds")
    gold = facts.value("signal_interview_or") ** float(o["association_exponent"])
    return gold, gold ** float(o["silver_signal_exponent"])


def suggest_signals(
    model: OddsModel,
    status: pd.Series,
    rotation_ids: list[str],
    facts: Facts,
    assume: Assumptions,
) -> pd.DataFrame:
    """Where the 6 gold and 6 silver DR signals go: gold first where the applicant rotates
    (consistent with the away plan), then by the largest gain in interview chance."""
    gold_or, silver_or = signal_odds_ratios(facts, assume)
    n_gold, n_silver = int(facts.value("gold_signals")), int(facts.value("silver_signals"))
    base = model.matrix().mean(axis=0)
    gain_gold = _odds_mult(np.minimum(base, model.cap), gold_or) - base
    gain_silver = _odds_mult(np.minimum(base, model.cap), silver_or) - base
    ids = model.program_ids
    st = status.to_numpy()
    eligible_first = np.where(st == "eligible", 0, np.where(st == "unknown", 1, 9))
    rows, used = [], set()
    for pid in rotation_ids:
        i = int(np.flatnonzero(ids == pid)[0])
        rows.append(
            (
                pid,
                "gold",
                "where you rotate: a signal confirms the interest the rotation showed",
                base[i],
                base[i] + gain_gold[i],
            )
        )
        used.add(pid)
    for kind, gain, count, why in (
        ("gold", gain_gold, n_gold, "largest gain in interview chance"),
        ("silver", gain_silver, n_silver, "next largest gain"),
    ):
        taken = sum(r[1] == kind for r in rows)
        for i in np.lexsort((-gain, eligible_first)):
            if taken >= count:
                break
            if ids[i] in used or st[i] == "excluded":
                continue
            rows.append((ids[i], kind, why, base[i], base[i] + gain[i]))
            used.add(ids[i])
            taken += 1
    out = pd.DataFrame(rows, columns=["program_id", "signal", "why", "interview_chance", "with_signal"])
    out["interview_chance"] = out["interview_chance"].round(3)
    out["with_signal"] = out["with_signal"].round(3)
    return out
