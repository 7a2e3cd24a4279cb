"""A transparent match-odds model anchored on published figures (no trained model).

Structure (stated in notebook 01 with its limits):
  1. Calibration. Among non-US IMGs who ranked DR first in 2026 (data/facts/odds_anchors.csv),
     the number of programs ranked K is Poisson with a log-normal spread across applicants,
     and each ranked program turns into a match with probability c. Three published
     figures fix the three parameters exactly: the match rate (102/175), the mean ranks of
     matched (5.3) and unmatched (2.2) applicants. The gaps between matched and unmatched
     applicants in Step 2 CK and in research experiences fix how much each moves the
     expected interviews. Medians and SDs of ranks, and the 2020 match rate, are checks the
     fit was not given.
  2. Applicant. Expected interviews = calibrated mean x the record's effect (Step 2 CK,
     research, failed attempts, US clinical months, US radiology letters, years since
     graduation: `record_factors`) x the share of the NATIONAL market each program on the
     table holds (R-M1: a short table never inflates a program's chance).
  3. Quadrature over the applicant's unknown quality (one dimension, Gauss-Hermite nodes):
     interview chance per program per node; P(no match) = product of (1 - c x p_i). The
     result depends only on the record, never on the applicant's id or a random seed.
     Percentiles follow from monotonicity: the chance rises with quality, so its 10th
     percentile is its value at the 10th percentile of quality.
  4. A rotation acts through two channels (R-V4): at its host (published away-rotation odds
     ratio, shrunk) and everywhere, through the US radiology letter and US clinical months
     it adds to the record (`RecordChannel`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special  # scipy.stats alone takes about 0.4 s to import, in every process

from .assumptions import Assumptions
from .facts import Facts, load_facts

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(48)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()
# Two extra nodes at the 10th and 90th percentile of quality, with no weight in the means.
QUANTILES = (0.1, 0.9)
NODES = np.concatenate([_GH_NODES, special.ndtri(QUANTILES)])
WEIGHTS = np.concatenate([_GH_WEIGHTS, np.zeros(len(QUANTILES))])
K_MAX = 120  # largest number of ranks summed in the calibration (see tests: truncation)

CALIBRATION_FACTS = [
    "nonus_2026_n_matched",
    "nonus_2026_n_unmatched",
    "nonus_2026_matched_contiguous_ranks_mean",
    "nonus_2026_unmatched_contiguous_ranks_mean",
    "nonus_2026_matched_usmle_step2ck_mean",
    "nonus_2026_unmatched_usmle_step2ck_mean",
    "nonus_2026_matched_usmle_step2ck_sd",
    "nonus_2026_unmatched_usmle_step2ck_sd",
    "nonus_2026_matched_research_experiences_mean",
    "nonus_2026_unmatched_research_experiences_mean",
    "nonus_2026_matched_research_experiences_sd",
    "nonus_2026_unmatched_research_experiences_sd",
    "nonus_2026_matched_contiguous_ranks_median",
    "nonus_2026_unmatched_contiguous_ranks_median",
    "nonus_2026_matched_contiguous_ranks_sd",
    "nonus_2026_unmatched_contiguous_ranks_sd",
    "nonus_2020_only_dr_match_rate_pct",
    "dr_positions_2026",
    "dr_programs_2020",
    "away_match_or",
    "signal_interview_or",
    "geo_tie_match_or",
    "gold_signals",
    "silver_signals",
]


def population(mu: float, sigma: float, c: float, k_max: int | None = None) -> dict[str, float]:
    """Aggregates implied by (mu, sigma, c) for applicants who ranked at least one program.

    Ranks are summed up to k_max; by default far enough past the largest expected count of
    any node with weight that the cut loses nothing (at least K_MAX)."""
    lam = mu * np.exp(sigma * _GH_NODES - sigma**2 / 2)
    if k_max is None:
        live = lam[_GH_WEIGHTS > 1e-14]
        top = float(live.max()) if live.size else mu
        k_max = int(max(K_MAX, np.ceil(top + 12 * np.sqrt(top) + 20)))
    k_all = np.arange(0, k_max + 1)
    pk = _GH_WEIGHTS[:, None] * _poisson_pmf(k_all[None, :], lam[:, None])
    pk, k = pk[:, 1:], k_all[1:]
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
            (pm_jk.sum(1) * _GH_NODES).sum() / pm_jk.sum() - (pu_jk.sum(1) * _GH_NODES).sum() / pu_jk.sum()
        ),
        "p_at_least_one": float(pk.sum()),
    }


def _pooled(f: Facts, metric: str, w_m: float) -> tuple[float, float, float]:
    """(pooled mean, pooled SD, matched - unmatched gap) of a metric over both groups."""
    m, u = f.value(f"nonus_2026_matched_{metric}_mean"), f.value(f"nonus_2026_unmatched_{metric}_mean")
    sm, su = f.value(f"nonus_2026_matched_{metric}_sd"), f.value(f"nonus_2026_unmatched_{metric}_sd")
    mean = w_m * m + (1 - w_m) * u
    var = w_m * sm**2 + (1 - w_m) * su**2 + w_m * (1 - w_m) * (m - u) ** 2
    return float(mean), float(np.sqrt(var)), float(m - u)


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
    rho_research: float = 0.0  # the same for research experiences
    research_mean: float = 0.0
    research_sd: float = 1.0
    p_at_least_one: float = 1.0  # model share of the population with at least one rank

    @property
    def beta(self) -> float:
        return self.rho * self.sigma

    @property
    def beta_research(self) -> float:
        return self.rho_research * self.sigma

    @property
    def sigma_e(self) -> float:
        """Spread of quality that the record does not explain (R-G3 and the rest aside)."""
        return self.sigma * float(np.sqrt(max(1e-6, 1 - self.rho**2 - self.rho_research**2)))


def _poisson_pmf(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """scipy.stats.poisson.pmf, computed the way scipy computes it (same bits)."""
    return np.exp(special.xlogy(k, mu) - special.gammaln(k + 1) - mu)


def fit(match_rate: float, ranks_matched: float, ranks_unmatched: float) -> tuple[float, float, float]:
    """(mu, sigma, c) reproducing a match rate and the mean ranks of matched and unmatched."""

    def residuals(x: np.ndarray) -> list[float]:
        pop = population(np.exp(x[0]), np.exp(x[1]), 1 / (1 + np.exp(-x[2])))
        # Three equations, three unknowns: the fit is exact; the divisors only balance the scales.
        return [
            (pop["match_rate"] - match_rate) / 0.05,
            (pop["ranks_mean_matched"] - ranks_matched) / 0.5,
            (pop["ranks_mean_unmatched"] - ranks_unmatched) / 0.3,
        ]

    from scipy import optimize

    sol = optimize.least_squares(residuals, x0=[np.log(3.0), np.log(0.8), 0.0], xtol=1e-12, ftol=1e-12)
    return float(np.exp(sol.x[0])), float(np.exp(sol.x[1])), float(1 / (1 + np.exp(-sol.x[2])))


@functools.lru_cache(maxsize=4)
def calibrate(facts_folder: str | None = None) -> Calibration:
    """Fit (mu, sigma, c) to the 2026 non-US IMG anchors; cached (shared data only).

    Call it as `calibrate(str(facts.folder))` everywhere, so one cache entry serves all."""
    f = load_facts(facts_folder)
    n_m, n_u = f.value("nonus_2026_n_matched"), f.value("nonus_2026_n_unmatched")
    target_rate = n_m / (n_m + n_u)
    km, ku = (
        f.value("nonus_2026_matched_contiguous_ranks_mean"),
        f.value("nonus_2026_unmatched_contiguous_ranks_mean"),
    )
    mu, sigma, c = fit(target_rate, km, ku)
    pop = population(mu, sigma, c)

    step2_mean, step2_sd, step2_gap = _pooled(f, "usmle_step2ck", target_rate)
    res_mean, res_sd, res_gap = _pooled(f, "research_experiences", target_rate)
    # A standardised record item correlated rho with quality differs between matched and
    # unmatched by rho x (their gap in quality): the published gap fixes rho.
    rho = float(np.clip((step2_gap / step2_sd) / pop["u_gap"], -0.95, 0.95))
    rho_r = float(np.clip((res_gap / res_sd) / pop["u_gap"], -0.95, 0.95))

    rows = [
        ("match rate, ranked DR first (2026)", 100 * target_rate, 100 * pop["match_rate"], "%", "fitted"),
        ("mean ranks, matched", km, pop["ranks_mean_matched"], "programs", "fitted"),
        ("mean ranks, unmatched", ku, pop["ranks_mean_unmatched"], "programs", "fitted"),
        ("Step 2 CK gap, matched - unmatched", step2_gap, rho * pop["u_gap"] * step2_sd, "points", "fitted"),
        (
            "research experiences gap, matched - unmatched",
            res_gap,
            rho_r * pop["u_gap"] * res_sd,
            "items",
            "fitted",
        ),
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
    gate = interview_gate_fact(f)
    if gate is not None:
        rows.append(
            (
                "applicants to DR who ranked at least one DR program",
                gate,
                100 * pop["p_at_least_one"],
                "%",
                "check (interview gate)",
            )
        )
    reproduction = pd.DataFrame(rows, columns=["figure", "published", "model", "unit", "role"])
    reproduction["published"] = reproduction["published"].astype(float).round(1)
    reproduction["model"] = reproduction["model"].round(1)
    return Calibration(
        mu,
        sigma,
        c,
        rho,
        step2_mean,
        step2_sd,
        reproduction,
        rho_research=rho_r,
        research_mean=res_mean,
        research_sd=res_sd,
        p_at_least_one=pop["p_at_least_one"],
    )


def interview_gate_fact(f: Facts) -> float | None:
    """Published share (%) of non-US IMG DR applicants who went on to rank DR, if the data has it."""
    try:
        return f.value("nonus_dr_ranked_share_of_applicants_pct")
    except KeyError:
        return None


def _odds_mult(p: np.ndarray, odds_ratio: np.ndarray | float) -> np.ndarray:
    odds = p / (1 - p)
    odds = odds * odds_ratio
    return odds / (1 + odds)


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Factor:
    """One item of the record and how it moves the expected number of DR interviews."""

    field: str
    value: object
    log_effect: float  # added to log expected interviews, against the reference record
    basis: str

    @property
    def multiplier(self) -> float:
        return float(np.exp(self.log_effect))


def _saturating(x, scale: float):
    """0 at x = 0, rising towards 1: each further unit adds less (concave, so channels of
    several rotations never add up to more than their parts). Numbers or arrays."""
    return 1 - np.exp(-np.maximum(x, 0.0) / scale)


@dataclass(frozen=True)
class RecordEffects:
    """The named assumptions and sourced facts that turn a record into interview effects."""

    letters_max_log: float
    letters_scale: float
    usce_max_log: float
    usce_scale_months: float
    attempt_log: float
    years_free: float
    year_log: float
    research_z_cap: float
    reference: dict

    @classmethod
    def from_assumptions(cls, assume: Assumptions) -> RecordEffects:
        r = assume.value("record_effects")
        return cls(
            letters_max_log=float(np.log(r["letters_max_multiplier"])),
            letters_scale=float(r["letters_scale"]),
            usce_max_log=float(np.log(r["usce_max_multiplier"])),
            usce_scale_months=float(r["usce_scale_months"]),
            attempt_log=float(np.log(r["attempt_multiplier"])),
            years_free=float(r["years_since_graduation_free"]),
            year_log=float(np.log(r["year_multiplier"])),
            research_z_cap=float(r["research_z_cap"]),
            reference=dict(r["reference"]),
        )

    def letters(self, n):
        return self.letters_max_log * _saturating(n, self.letters_scale)

    def usce(self, months):
        return self.usce_max_log * _saturating(months, self.usce_scale_months)

    def channel(self, letters: float, months: float) -> float:
        """Log effect of the letters and US months on the record, against the reference."""
        ref = self.reference
        return (
            self.letters(letters)
            - self.letters(float(ref["us_radiology_letters"]))
            + self.usce(months)
            - self.usce(float(ref["us_clinical_months"]))
        )


def record_factors(profile, cal: Calibration, eff: RecordEffects, assume: Assumptions) -> list[Factor]:
    """What moves the odds (R-G3, R-V1, R-V2, R-C4): each record item's effect on expected
    interviews, against the calibration population (published) or the reference record
    (record_effects.reference, a named assumption)."""
    a_file = assume.file_label
    out = []
    if profile.step2_ck is None:
        out.append(Factor("step2_ck", None, 0.0, "not given: counted as the population's average"))
    else:
        z = (profile.step2_ck - cal.step2_mean) / cal.step2_sd
        out.append(
            Factor(
                "step2_ck",
                profile.step2_ck,
                cal.beta * z,
                f"gap between matched and unmatched non-US IMGs in DR, 2026 (mean {cal.step2_mean:.0f})",
            )
        )
    zr = float(
        np.clip((profile.research_items - cal.research_mean) / cal.research_sd, -5, eff.research_z_cap)
    )
    out.append(
        Factor(
            "research_items",
            profile.research_items,
            cal.beta_research * zr,
            f"gap in research experiences between matched and unmatched non-US IMGs in DR, 2026 (mean {cal.research_mean:.1f})",
        )
    )
    failed = profile.failed_attempts
    ref_failed = int(eff.reference["failed_attempts"])
    out.append(
        Factor(
            "failed_attempts",
            failed,
            eff.attempt_log * (failed - ref_failed),
            f"named assumption record_effects (failed attempts, R-G3) in {a_file}",
        )
    )
    out.append(
        Factor(
            "us_clinical_months",
            profile.us_clinical_months,
            eff.usce(profile.us_clinical_months) - eff.usce(float(eff.reference["us_clinical_months"])),
            f"named assumption record_effects (US clinical months) in {a_file}",
        )
    )
    out.append(
        Factor(
            "us_radiology_letters",
            profile.us_radiology_letters,
            eff.letters(profile.us_radiology_letters)
            - eff.letters(float(eff.reference["us_radiology_letters"])),
            f"named assumption record_effects (US radiology letters, R-W8) in {a_file}",
        )
    )
    years = profile.years_out_at_eras
    basis_years = f"named assumption record_effects (years since graduation) in {a_file}"
    if years is None:
        years = float(eff.reference["graduate_years_if_unknown"])
        basis_years += "; graduation_year not given, so a typical graduate's years are assumed"
    ref_years = float(eff.reference["years_since_graduation"])

    def over(y: float) -> float:
        return max(0.0, y - eff.years_free)

    out.append(
        Factor(
            "years_since_graduation",
            years,
            eff.year_log * (over(years) - over(ref_years)),
            basis_years,
        )
    )
    return out


# --------------------------------------------------------------------------- the model


@dataclass
class OddsModel:
    """Per-program interview chances for one applicant, on quadrature nodes of quality.

    A rotation at a program acts on both steps there: the interview odds and the odds
    that the interview becomes the match (`rotation_interview_share` of the log effect on
    the first, the rest on the second), since the published odds ratio is for matching there.
    """

    program_ids: np.ndarray
    p: np.ndarray  # interview chance per program at multiplier 1 (0 if excluded)
    multipliers: np.ndarray  # per-node multiplier of expected interviews (applicant quality)
    c: float
    cap: float
    interview_share: float  # odds.rotation_interview_share in data/assumptions.yaml
    weights: np.ndarray = field(default_factory=lambda: WEIGHTS.copy())

    def split(self, odds_ratio: np.ndarray | float) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(interview, conversion) odds multipliers for a program-level match odds ratio."""
        return odds_ratio**self.interview_share, odds_ratio ** (1 - self.interview_share)

    def mean(self, per_node: np.ndarray) -> np.ndarray:
        """Expectation over quality of a per-node quantity (axis 0)."""
        return np.tensordot(self.weights, per_node, axes=(0, 0))

    def matrix(self, odds_ratio: np.ndarray | None = None, shift: float = 0.0) -> np.ndarray:
        """Nodes x programs interview probabilities, with rotation effects where given and the
        record shifted by `shift` (log expected interviews; the letter channel)."""
        pm = np.minimum(self.p[None, :] * (self.multipliers[:, None] * np.exp(shift)), self.cap)
        if odds_ratio is not None:
            pm = _odds_mult(pm, self.split(odds_ratio)[0][None, :])
        return pm

    def conversion(self, odds_ratio: np.ndarray | None = None) -> np.ndarray:
        """Per-program chance that an interview becomes the match."""
        c = np.full(len(self.p), self.c)
        return c if odds_ratio is None else _odds_mult(c, self.split(odds_ratio)[1])

    def log_no_match(self, odds_ratio: np.ndarray | None = None, shift: float = 0.0) -> np.ndarray:
        return np.log1p(-self.conversion(odds_ratio)[None, :] * self.matrix(odds_ratio, shift)).sum(axis=1)

    def interview_chances(self, shift: float = 0.0) -> np.ndarray:
        """Expected interview chance per program."""
        return self.mean(self.matrix(shift=shift))

    def summary(self, odds_ratio: np.ndarray | None = None, shift: float = 0.0) -> dict[str, float]:
        """Match chance (mean and 10th-90th percentile of quality) and expected interviews."""
        pm = self.matrix(odds_ratio, shift)
        p_match = -np.expm1(np.log1p(-self.conversion(odds_ratio)[None, :] * pm).sum(axis=1))
        p_none = np.exp(np.log1p(-pm).sum(axis=1))
        interviews = pm.sum(axis=1)
        mean = float(self.mean(p_match))
        at_least_one = float(1 - self.mean(p_none))
        n = len(QUANTILES)
        return {
            "match_probability": round(mean, 3),
            "match_probability_p10": round(float(p_match[-n]), 3),
            "match_probability_p90": round(float(p_match[-1]), 3),
            "expected_interviews": round(float(self.mean(interviews)), 2),
            "p_at_least_one_interview": round(at_least_one, 3),
            "match_probability_if_interviewed": round(mean / at_least_one, 3) if at_least_one > 0 else 0.0,
        }

    def rotation_effect(self, index: int, odds_ratio: float) -> np.ndarray:
        """Per-node change of log P(no match) from a rotation at one program (host channel)."""
        col = np.minimum(self.p[index] * self.multipliers, self.cap)
        interview_or, conversion_or = self.split(odds_ratio)
        new_p = _odds_mult(col, interview_or)
        new_c = _odds_mult(np.float64(self.c), conversion_or)
        return np.log1p(-new_c * new_p) - np.log1p(-self.c * col)


class RecordChannel:
    """The letter channel of rotations (R-V4): the US radiology letters and US clinical
    months that rotations add to the record, as a per-node change of log P(no match).

    The change is tabulated once on a grid of record shifts and interpolated, so a plan
    optimiser can score many sets of rotations at once.
    """

    def __init__(self, model: OddsModel, eff: RecordEffects, letters: float, months: float, steps: int = 400):
        self.eff, self.letters0, self.months0 = eff, float(letters), float(months)
        top = max(1e-6, eff.letters_max_log + eff.usce_max_log)
        self.grid = np.linspace(0.0, top, steps + 1)
        base = model.log_no_match()
        self.table = np.stack([model.log_no_match(shift=s) - base for s in self.grid])  # grid x nodes
        self.step = self.grid[1] - self.grid[0]

    def shift(self, letters: np.ndarray | float, months: np.ndarray | float) -> np.ndarray:
        """Log change of expected interviews from extra letters and months (>= 0)."""
        e = self.eff
        lm = np.asarray(letters, dtype=float)
        mm = np.asarray(months, dtype=float)

        return (
            e.letters(self.letters0 + lm)
            - e.letters(self.letters0)
            + e.usce(self.months0 + mm)
            - e.usce(self.months0)
        )

    def effect(self, shift: np.ndarray | float) -> np.ndarray:
        """Per-node change of log P(no match) for record shifts (shape: shifts x nodes)."""
        s = np.clip(np.atleast_1d(np.asarray(shift, dtype=float)), 0.0, self.grid[-1])
        pos = s / self.step
        lo = np.minimum(np.floor(pos).astype(int), len(self.grid) - 2)
        frac = (pos - lo)[:, None]
        return self.table[lo] * (1 - frac) + self.table[lo + 1] * frac


def program_weights(tiers: pd.DataFrame, assume: Assumptions) -> np.ndarray:
    """Relative share of interviews a program gives (tier weight x exp(w x openness))."""
    o = assume.value("odds")
    tier_w = tiers["tier"].map(o["tier_weight"]).astype(float).fillna(1.0).to_numpy()
    open_ = tiers["openness"].astype(float)
    open_ = open_.fillna(float(open_.median()) if open_.notna().any() else 0.5).to_numpy()  # as tiering
    return tier_w * np.exp(float(o["openness_weight"]) * open_)


def position_factor(programs: pd.DataFrame, facts: Facts) -> np.ndarray:
    """Positions of each program against the national mean per program (1 where blank)."""
    mean = facts.value("dr_positions_2026") / facts.value("dr_programs_2020")
    pos = pd.to_numeric(programs["positions"], errors="coerce").astype(float).to_numpy()
    return np.where(np.isnan(pos) | (pos <= 0), 1.0, pos / mean)


def open_to_j1(programs: pd.DataFrame, unknown_p: float) -> np.ndarray:
    """1 for programs open to a J-1 non-US IMG, 0 for closed ones, unknown_p where blank."""
    considers = programs["considers_imgs"].astype("boolean")
    j1 = programs["sponsors_j1"].astype("boolean")
    closed = (~considers).fillna(False).to_numpy(bool) | (~j1).fillna(False).to_numpy(bool)
    blank = considers.isna().to_numpy() | j1.isna().to_numpy()
    return np.where(closed, 0.0, np.where(blank, unknown_p, 1.0))


@functools.lru_cache(maxsize=16)
def _reference_weight(label: str, facts_folder: str, assume_file: str) -> float:
    """Mean interview weight per program of the national market, open to a J-1 applicant,
    for a profile of this strength label (tiers move with the label alone, R-T4).

    The bundled table's make-up follows the published national shares (J-1, H-1B, any IMG),
    so its mean weight stands for the nation's; scaled by the national program count it is
    the denominator of every program's share, whatever table is loaded (R-M1)."""
    from .assumptions import load_assumptions
    from .config import DEFAULT_PROGRAMS
    from .programs import load_programs
    from .tiering import Strength, assign_tiers

    assume = load_assumptions(assume_file)
    facts = load_facts(facts_folder)
    ref = load_programs(DEFAULT_PROGRAMS)
    tiers = assign_tiers(ref, Strength(0.0, label, ()), assume)
    unknown_p = float(assume.value("odds")["unknown_eligible_probability"])
    w = program_weights(tiers, assume) * open_to_j1(ref, unknown_p) * position_factor(ref, facts)
    return float(w.mean())


def build_model(
    step2_ck: int | None,
    programs: pd.DataFrame,
    status: pd.Series,
    tiers: pd.DataFrame,
    ties: np.ndarray,
    facts: Facts,
    assume: Assumptions,
    strength,
    record_shift: float = 0.0,
) -> OddsModel:
    """Interview model for one applicant over the program table.

    Each program's share of the applicant's expected interviews is its weight over the
    national market's (R-M1), so it does not depend on which other programs the table
    holds; the match chance counts only the programs in the table. `record_shift` is the
    record's log effect on expected interviews apart from Step 2 CK (`record_factors`).
    """
    o = assume.value("odds")
    cal = calibrate(str(facts.folder))
    unknown_p = float(o["unknown_eligible_probability"])
    w = program_weights(tiers, assume) * position_factor(programs, facts)
    st = status.to_numpy()
    elig = np.select([st == "eligible", st == "unknown"], [1.0, unknown_p], 0.0)
    tie_or = facts.value("geo_tie_match_or") ** float(o["association_exponent"])
    w = w * np.where(ties, tie_or, 1.0)
    w_national = facts.value("dr_programs_2020") * _reference_weight(
        strength.label, str(facts.folder), str(assume.file)
    )
    p = cal.mu * w * elig / w_national
    z = 0.0 if step2_ck is None else (step2_ck - cal.step2_mean) / cal.step2_sd
    multipliers = np.exp(cal.beta * z + record_shift + cal.sigma_e * NODES - cal.sigma**2 / 2)
    return OddsModel(
        programs["program_id"].to_numpy(),
        p,
        multipliers,
        cal.c,
        float(o["interview_cap"]),
        float(o["rotation_interview_share"]),
    )


def coverage(programs: pd.DataFrame, facts: Facts) -> dict:
    """What share of the national DR market the loaded table covers (R-M1)."""
    pos = pd.to_numeric(programs["positions"], errors="coerce")
    national = facts.value("dr_positions_2026")
    mean = national / facts.value("dr_programs_2020")
    known = float(pos.sum(min_count=1)) if pos.notna().any() else 0.0
    in_table = known + mean * int(pos.isna().sum())  # blank positions count as the national mean
    return {
        "programs_in_table": len(programs),
        "positions_in_table": int(round(in_table)),
        "national_positions": int(national),
        "share_of_national_positions": round(min(1.0, in_table / national), 3),
    }


def signal_odds_ratios(facts: Facts, assume: Assumptions) -> tuple[float, float]:
    """(gold, silver) interview odds multipliers from the published signal odds ratio."""
    o = assume.value("odds")
    gold = facts.value("signal_interview_or") ** float(o["association_exponent"])
    return gold, gold ** float(o["silver_signal_exponent"])


def program_key(program_id: str) -> str:
    """The program an NRMP track belongs to (R-S2): a 9-character NRMP code such as
    1234420C0 is institution (4) + specialty (3) + track letter + digit; tracks of one
    program share the first seven characters. Other ids are their own program."""
    pid = str(program_id)
    if len(pid) == 9 and pid[:7].isdigit() and pid[7] in "ACPR" and pid[8].isdigit():
        return pid[:7]
    return pid


def is_reserved_track(program_id: str) -> bool:
    """NRMP reserved (physician) tracks end in R + digit (R-S2)."""
    pid = str(program_id)
    return program_key(pid) != pid and pid[7] == "R"


def suggest_signals(
    model: OddsModel,
    status: pd.Series,
    rotation_ids: list[str],
    facts: Facts,
    assume: Assumptions,
    preference: np.ndarray | None = None,
) -> pd.DataFrame:
    """Where the gold and silver DR signals go: gold first where the applicant rotates
    (consistent with the away plan), then by the largest gain in interview chance, weighted
    by the applicant's preferences where given (R-B3). One signal per program, never one
    per NRMP track (R-S2)."""
    gold_or, silver_or = signal_odds_ratios(facts, assume)
    n_gold, n_silver = int(facts.value("gold_signals")), int(facts.value("silver_signals"))
    base = model.interview_chances()
    gain_gold = _odds_mult(np.minimum(base, model.cap), gold_or) - base
    gain_silver = _odds_mult(np.minimum(base, model.cap), silver_or) - base
    if preference is not None:
        gain_gold, gain_silver = gain_gold * preference, gain_silver * preference
    ids = model.program_ids
    keys = np.array([program_key(i) for i in ids], dtype=object)
    st = status.to_numpy()
    eligible_first = np.where(st == "eligible", 0, np.where(st == "unknown", 1, 9))
    rows, used = [], set()
    for pid in rotation_ids:
        i = int(np.flatnonzero(ids == pid)[0])
        if keys[i] in used:
            continue
        rows.append(
            (
                pid,
                "gold",
                "where you rotate: a signal confirms the interest the rotation showed",
                base[i],
                base[i] + gain_gold[i],
            )
        )
        used.add(keys[i])
    for kind, gain, count, why in (
        ("gold", gain_gold, n_gold, "largest gain in interview chance"),
        ("silver", gain_silver, n_silver, "next largest gain"),
    ):
        taken = sum(r[1] == kind for r in rows)
        for i in np.lexsort((ids, -gain, eligible_first)):
            if taken >= count:
                break
            if keys[i] in used or st[i] == "excluded":
                continue
            rows.append((ids[i], kind, why, base[i], base[i] + gain[i]))
            used.add(keys[i])
            taken += 1
    out = pd.DataFrame(rows, columns=["program_id", "signal", "why", "interview_chance", "with_signal"])
    out["interview_chance"] = out["interview_chance"].round(3)
    out["with_signal"] = out["with_signal"].round(3)
    return out
