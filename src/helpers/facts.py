"""Sourced public figures from data/facts/, each returned with its source, URL and trust.

Every number the kit takes from published data is reached through the FACTS registry
below, so a report can cite it and a test can check that each key points at exactly one
row of a committed file.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import FACTS_DIR

_ANCHOR = "odds_anchors.csv"
_COSTS = "visiting_rotation_costs_examples.csv"
_EFFECTS = "published_effects.csv"
_CHARTING = "charting_outcomes_dr.csv"
_NONUS = "Non-US IMG preferring DR (ranked DR first)"
_NONUS_M = "Non-US IMG preferring DR, matched"
_NONUS_U = "Non-US IMG preferring DR, unmatched"

# key -> (file, {column: value} selecting one row, value column, unit column)
FACTS: dict[str, tuple[str, dict[str, str], str, str]] = {
    # costs (R-C3)
    "vslo_fee_usd": (_COSTS, {"item": "VSLO application fee"}, "amount_usd", "unit"),
    "host_fee_example_usd": (
        _COSTS,
        {
            "item": "Host registration fee (base)",
            "institution": "Johns Hopkins University School of Medicine",
        },
        "amount_usd",
        "unit",
    ),
    "non_lcme_surcharge_example_usd": (
        _COSTS,
        {"item": "Additional registration fee for non-LCME/non-COCA schools"},
        "amount_usd",
        "unit",
    ),
    "insurance_month_usd": (
        _COSTS,
        {"item": "Student health insurance (if no acceptable coverage)"},
        "amount_usd",
        "unit",
    ),
    "visa_mrv_fee_usd": (
        _COSTS,
        {"item": "B1/B2 (and J) nonimmigrant visa application (MRV) fee"},
        "amount_usd",
        "unit",
    ),
    "visa_integrity_fee_usd": (_COSTS, {"item": "Visa Integrity Fee"}, "amount_usd", "unit"),
    "commercial_observership_4wk_usd": (
        _COSTS,
        {"item": "Commercial USCE placement (not VSLO)"},
        "amount_usd",
        "unit",
    ),
    # published effects (odds model, signals)
    "away_match_or": (
        _EFFECTS,
        {"metric": "away_rotation_match_odds_ratio_at_that_program"},
        "value",
        "unit",
    ),
    "signal_interview_or": (
        _EFFECTS,
        {"metric": "signal_interview_odds_ratio_at_that_program"},
        "value",
        "unit",
    ),
    "signal_match_or": (_EFFECTS, {"metric": "signal_match_odds_ratio_at_that_program"}, "value", "unit"),
    "geo_tie_match_or": (_EFFECTS, {"metric": "geographic_tie_match_odds_ratio"}, "value", "unit"),
    "interview_rate_signaled_pct": (
        _EFFECTS,
        {"metric": "interview_rate_signaled_program_pct"},
        "value",
        "unit",
    ),
    "interview_rate_unsignaled_pct": (
        _EFFECTS,
        {"metric": "interview_rate_unsignaled_program_pct"},
        "value",
        "unit",
    ),
    "gold_signals": (_EFFECTS, {"metric": "dr_gold_signals"}, "value", "unit"),
    "silver_signals": (_EFFECTS, {"metric": "dr_silver_signals"}, "value", "unit"),
    "programs_any_img_pct": (_EFFECTS, {"metric": "dr_programs_with_at_least_one_img_pct"}, "value", "unit"),
    "programs_j1_pct": (_EFFECTS, {"metric": "dr_programs_offering_j1_pct"}, "value", "unit"),
    "programs_h1b_pct": (_EFFECTS, {"metric": "dr_programs_offering_h1b_pct"}, "value", "unit"),
    "away_cost_usd_2020": (_EFFECTS, {"metric": "away_rotation_average_cost_usd"}, "value", "unit"),
    # match outcomes (odds calibration anchors)
    "nonus_2020_only_dr_match_rate_pct": (
        _CHARTING,
        {"match_year": "2020", "applicant_group": "Non-US IMG", "metric": "match_rate"},
        "value",
        "unit",
    ),
    "usmd_2020_only_dr_match_rate_pct": (
        _CHARTING,
        {"match_year": "2020", "applicant_group": "US MD", "metric": "match_rate"},
        "value",
        "unit",
    ),
    "nonus_2026_n_matched": (
        _ANCHOR,
        {"year": "2026", "group": _NONUS, "metric": "n_matched"},
        "value",
        "unit",
    ),
    "nonus_2026_n_unmatched": (
        _ANCHOR,
        {"year": "2026", "group": _NONUS, "metric": "n_unmatched"},
        "value",
        "unit",
    ),
    "nonus_2026_match_rate_pct": (
        _ANCHOR,
        {"year": "2026", "group": _NONUS, "metric": "match_rate_to_preferred_specialty"},
        "value",
        "unit",
    ),
    "dr_programs_2020": (
        "nrmp_dr_match_by_year.csv",
        {"year": "2020", "position_type": "All DR"},
        "programs",
        "unit",
    ),
    "dr_positions_2026": (
        _ANCHOR,
        {"year": "2026", "group": "All applicant types, DR", "metric": "positions_offered"},
        "value",
        "unit",
    ),
}
for _group, _tag in ((_NONUS_M, "matched"), (_NONUS_U, "unmatched")):
    for _metric in (
        "contiguous_ranks_mean",
        "contiguous_ranks_sd",
        "contiguous_ranks_median",
        "usmle_step2ck_mean",
        "usmle_step2ck_sd",
        "usmle_step2ck_median",
        "research_experiences_mean",
        "research_experiences_sd",
    ):
        FACTS[f"nonus_2026_{_tag}_{_metric}"] = (
            _ANCHOR,
            {"year": "2026", "group": _group, "metric": _metric},
            "value",
            "unit",
        )


@dataclass(frozen=True)
class Fact:
    """A published number with where it came from."""

    key: str
    value: float
    unit: str
    source: str
    source_url: str
    trust: str
    file: str

    def cite(self) -> str:
        return f"{self.source} ({self.trust} trust) {self.source_url}".strip()


class Facts:
    """Read access to data/facts/*.csv; all cells are read as text and converted on use."""

    def __init__(self, folder: Path = FACTS_DIR):
        self.folder = Path(folder)
        self._tables: dict[str, pd.DataFrame] = {}
        self._facts: dict[str, Fact] = {}

    def table(self, file: str) -> pd.DataFrame:
        if file not in self._tables:
            self._tables[file] = pd.read_csv(self.folder / file, dtype=str, keep_default_na=False)
        return self._tables[file]

    def get(self, key: str) -> Fact:
        """The fact registered under `key`; raises KeyError if the data no longer has it."""
        if key not in self._facts:
            self._facts[key] = self._lookup(key)
        return self._facts[key]

    def _lookup(self, key: str) -> Fact:
        file, where, value_col, unit_col = FACTS[key]
        frame = self.table(file)
        mask = pd.Series(True, index=frame.index)
        for col, val in where.items():
            mask &= frame[col] == val
        rows = frame.loc[mask]
        if len(rows) != 1:
            raise KeyError(f"fact '{key}' matches {len(rows)} rows in {file}, expected 1")
        row = rows.iloc[0]
        return Fact(
            key=key,
            value=float(row[value_col]),
            unit=row.get(unit_col, "") or "",
            source=row.get("source", ""),
            source_url=row.get("source_url", ""),
            trust=row.get("trust", ""),
            file=f"data/facts/{file}",
        )

    def value(self, key: str) -> float:
        return self.get(key).value

    def official_dates(self) -> dict[str, dict]:
        """Official cycle dates from timeline_2026_cycle.csv, keyed by event name."""
        frame = self.table("timeline_2026_cycle.csv")
        out = {}
        for _, row in frame.iterrows():
            try:
                date = dt.date.fromisoformat(row["date"])
            except ValueError:
                date = None
            out[row["event"]] = {"date": date, "source": row["source"], "source_url": row["source_url"]}
        return out

    def cited(self, keys: list[str]) -> pd.DataFrame:
        """A citation table for the given fact keys (for the report's sources section)."""
        facts = [self.get(k) for k in keys]
        return pd.DataFrame(
            {
                "fact": [f.key for f in facts],
                "value": [f"{f.value:g} {f.unit}" for f in facts],
                "source": [f.source for f in facts],
                "trust": [f.trust for f in facts],
                "url": [f.source_url for f in facts],
            }
        )


@functools.lru_cache(maxsize=4)
def load_facts(folder: str | None = None) -> Facts:
    """Facts from the bundled data folder (cached: the data is shared, never per applicant)."""
    return Facts(Path(folder) if folder else FACTS_DIR)
