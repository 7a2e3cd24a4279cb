"""summary.json (schema_version 2): the machine-readable result of one applicant's analysis.

Keys and shapes follow the interface contract; extra keys are additions. The pydantic
model below checks every file the kit writes, so a report run cannot emit a summary that
breaks the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import __version__
from .analysis import SCHEMA_VERSION, Analysis
from .outputs import write_atomic
from .timeline import DEADLINE_KINDS

RULE_ID = re.compile(r"^R-[A-Z]\d+")
DateStr = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class ProgramOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    program_id: str
    status: Literal["eligible", "excluded", "unknown"]
    tier: Literal["high_reach", "mid_tier", "img_friendly"] | None
    reasons: list[str]
    leverage: Annotated[float, Field(ge=0, le=1)] | None

    @field_validator("reasons")
    @classmethod
    def _coded(cls, value: list[str]) -> list[str]:
        for r in value:
            if not RULE_ID.match(r):
                raise ValueError(f"reason without a rule ID: {r!r}")
        return value


class RotationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    program_id: str
    kind: Literal["vslo", "direct", "observership"]
    start: DateStr
    end: DateStr
    apply_by: DateStr
    cost_usd: Annotated[float, Field(ge=0)]
    gain: dict[Literal["host", "letter"], float]


class WarningOut(BaseModel):
    rule: Annotated[str, Field(pattern=r"^R-[A-Z]\d+$")]
    message: str


class DeadlineOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    date: DateStr
    what: str
    kind: Literal[DEADLINE_KINDS] | None = None  # type: ignore[valid-type]


class AlternativeOut(BaseModel):
    """An alternative to away rotations (R-V3, R-Y3), as an object (schema_version 2)."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["observership", "virtual_elective", "research"]
    cost_usd: Annotated[float, Field(ge=0)]
    fits_budget: bool
    needs_visa: bool
    feasible: bool
    why: str


class Gate(BaseModel):
    rule: Annotated[str, Field(pattern=r"^R-[A-Z]\d+$")]
    reason: str


class Condition(Gate):
    by: DateStr


class FactorOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str
    value: object
    effect: float
    basis: str


class MatchProbability(BaseModel):
    model_config = ConfigDict(extra="allow")
    without_rotations: dict
    with_plan: dict
    blocked: Gate | None
    condition: Condition | None
    factors: list[FactorOut]


class Coverage(BaseModel):
    programs_in_table: Annotated[int, Field(ge=0)]
    positions_in_table: Annotated[int, Field(ge=0)]
    national_positions: Annotated[int, Field(ge=0)]
    share_of_national_positions: Annotated[float, Field(ge=0, le=1)]


class SummaryV2(BaseModel):
    """The contract for summary.json, schema_version 2 (every version-1 field kept)."""

    model_config = ConfigDict(extra="allow")
    schema_version: Literal[2]
    match_probability: MatchProbability
    coverage: Coverage
    applicant_id: str
    programs: list[ProgramOut]
    rotations: list[RotationOut]
    total_cost_usd: Annotated[float, Field(ge=0)]
    budget_usd: Annotated[float, Field(ge=0)]
    alternatives: list[AlternativeOut]
    warnings: list[WarningOut]
    deadlines: list[DeadlineOut]


def _leverage(value: object) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else round(v, 3)


def build_summary(a: Analysis) -> dict:
    """The summary dict for one analysis (deterministic: same inputs, same bytes)."""
    programs = []
    for r in a.table.itertuples(index=False):
        rotation_reasons = [x for x in r.rotation_reasons if x not in r.reasons]
        programs.append(
            {
                "program_id": str(r.program_id),
                "status": r.status,
                "tier": r.tier if isinstance(r.tier, str) else None,
                "reasons": [*r.reasons, *rotation_reasons],
                "leverage": _leverage(r.leverage),
                "questions": [*r.questions, *[q for q in r.rotation_questions if q not in r.questions]],
                "rotation_status": r.rotation_status,
                "rotation_kind": r.rotation_kind if isinstance(r.rotation_kind, str) else None,
                "interview_chance": round(float(r.interview_chance), 4),
            }
        )
    rotations = [
        {
            "program_id": str(r["program_id"]),
            "kind": r["kind"],
            "start": r["start"].isoformat(),
            "end": r["end"].isoformat(),
            "apply_by": r["apply_by"].isoformat(),
            "cost_usd": round(float(r["cost_usd"]), 2),
            "cost_parts": {
                k: round(float(r[k]), 2)
                for k in ("vslo_fee", "host_fee", "non_lcme_surcharge", "housing", "travel", "insurance")
            },
            "estimated_parts": [x for x in str(r["estimated"]).split(", ") if x],
            "tier": r["tier"] if isinstance(r["tier"], str) else None,
            "gain": {"host": float(r["gain_host"]), "letter": float(r["gain_letter"])},
        }
        for r in a.rotations.to_dict("records")
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "applicant_id": a.profile.applicant_id,
        "programs": programs,
        "rotations": rotations,
        "total_cost_usd": a.total_cost,
        "budget_usd": round(float(a.profile.budget_usd), 2),
        "alternatives": [
            {
                "kind": r["kind"],
                "cost_usd": round(float(r["cost_usd"]), 2),
                "fits_budget": bool(r["fits_budget"]),
                "needs_visa": bool(r["needs_visa"]),
                "feasible": bool(r["feasible"]),
                "why": r["why"],
                "rule": r["rule"],
                "hosts": [str(h) for h in r["hosts"]],
            }
            for r in a.alternatives.to_dict("records")
        ],
        "warnings": [{"rule": rule, "message": msg} for rule, msg in a.warnings],
        "deadlines": [
            {
                "date": row.date.isoformat(),
                "what": row.what,
                "kind": row.kind,
                "rule": row.rule,
                "status": row.status,
                **({"end": row.end.isoformat()} if isinstance(row.end, dt.date) else {}),
            }
            for row in a.steps.itertuples(index=False)
        ],
        "advice": [{"rule": rule, "message": msg} for rule, msg in a.advice],
        "visa_fees_usd": round(a.fixed_cost if len(a.rotations) else 0.0, 2),
        "match_probability": a.match_probability,
        "coverage": a.coverage,
        "signals": [
            {"program_id": s.program_id, "signal": s.signal} for s in a.signals.itertuples(index=False)
        ],
        "strength": {"label": a.strength.label, "z": a.strength.z},
        "away_value": a.away_value,
        "plan_date": a.plan_date.isoformat(),
        "kit_version": __version__,
    }


def summary_json(a: Analysis) -> str:
    data = build_summary(a)
    SummaryV2.model_validate(data)
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_summary(a: Analysis, out_dir: str | Path) -> Path:
    """Validate against the contract and write `<out_dir>/summary.json` atomically."""
    return write_atomic(Path(out_dir) / "summary.json", summary_json(a))


def read_summary(path: str | Path) -> SummaryV2:
    """Load and check a summary.json against the contract."""
    return SummaryV2.model_validate_json(Path(path).read_text(encoding="utf-8"))


SummaryV1 = SummaryV2  # the version-1 fields are all part of version 2
