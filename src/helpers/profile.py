"""Applicant profiles (YAML files or cohort rows), validated with pydantic at the edge.

Field names and defaults follow the kit's interface contract. A blank optional field takes
its default; a wrong one is reported with the file, the line (YAML) or row (cohort) and
the field, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .cycle import match_day
from .errors import InputError, Problem, display_path
from .tables import decode_text
from .vocab import STORY_INTERESTS, SUBSPECIALTIES, US_STATES, normalise_interest

MAX_PROFILE_BYTES = 256 * 1024

ApplicantId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class FieldProblem(ValueError):
    """A cross-field check that fails: still names the field the user should change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


REQUIRED_FIELDS = ("applicant_id", "visa_needed", "school_status", "step1", "budget_usd", "application_cycle")
NUMBER_FIELDS = (
    "budget_usd",
    "application_cycle",
    "graduation_year",
    "step2_ck",
    "us_clinical_months",
    "us_radiology_letters",
    "research_items",
    "travel_cost_usd",
    "max_rotations",
    "step1_attempts",
    "step2_ck_attempts",
    "prior_gme_months",
)
CHOICE_FIELDS = (
    "visa_needed",
    "school_status",
    "step1",
    "current_us_status",
    "school_accreditation",
    "step3",
)
LIST_FIELDS = ("school_affiliations", "interests", "preferred_states", "ties_states")


class Profile(BaseModel):
    """One applicant's situation (R-C1..R-C4) and preferences, as the kit reads it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    applicant_id: ApplicantId
    visa_needed: Literal["none", "j1", "h1b", "j1_or_h1b"]
    school_status: Literal["student", "graduate"]
    step1: Literal["pass", "fail", "not_taken"]
    budget_usd: Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
    application_cycle: Annotated[int, Field(ge=2000, le=2100)]

    name: Annotated[str, Field(max_length=200)] | None = None
    current_us_status: Literal["none", "b1b2", "esta", "f1", "j1", "h1b", "other", "permanent_resident"] = (
        "none"
    )
    graduation_year: Annotated[int, Field(ge=1950, le=2100)] | None = None
    school_accreditation: Literal["lcme", "aoa", "other"] = "other"
    school_affiliations: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    step2_ck: Annotated[int, Field(ge=1, le=300)] | None = None
    step3: Literal["pass", "not_taken"] = "not_taken"
    ecfmg_certified: bool = False
    english_test: Annotated[str, Field(max_length=100)] | None = None
    us_clinical_months: Annotated[float, Field(ge=0, le=240, allow_inf_nan=False)] = 0
    us_radiology_letters: Annotated[int, Field(ge=0, le=20)] = 0
    home_radiology_program: bool = False
    research_items: Annotated[int, Field(ge=0, le=500)] = 0
    interests: list[str] = []
    preferred_states: list[str] = []
    ties_states: list[str] = []
    travel_cost_usd: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    available_from: dt.date | None = None
    available_to: dt.date | None = None
    plan_date: dt.date | None = None
    max_rotations: Annotated[int, Field(ge=0, le=10)] | None = None
    # R-G3: attempts until the pass (with step1: fail, the attempts made so far, all failed)
    step1_attempts: Annotated[int, Field(ge=1, le=6)] = 1
    step2_ck_attempts: Annotated[int, Field(ge=1, le=6)] = 1
    # R-S2: months of earlier residency training (reserved NRMP tracks need some)
    prior_gme_months: Annotated[float, Field(ge=0, le=240, allow_inf_nan=False)] = 0

    @field_validator(*NUMBER_FIELDS, mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        # YAML reads `yes`/`true` as a boolean, and pydantic would quietly take it as 1.
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value

    @field_validator(*CHOICE_FIELDS, mode="before")
    @classmethod
    def _choice_any_case(cls, value: Any) -> Any:
        # Spreadsheets capitalise ("J1", "Student"); the choices themselves are lower case.
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("name", "english_test")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = "".join(ch for ch in value if ch.isprintable())
        return cleaned or None

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: list[str]) -> list[str]:
        out = []
        for word in value:
            key = normalise_interest(word)
            if key is None:
                allowed = ", ".join(SUBSPECIALTIES + STORY_INTERESTS)
                raise ValueError(f"unknown interest '{word}' (use one of: {allowed})")
            if key not in out:
                out.append(key)
        return out

    @field_validator("preferred_states", "ties_states")
    @classmethod
    def _states(cls, value: list[str]) -> list[str]:
        out = []
        for code in value:
            up = code.strip().upper()
            if up not in US_STATES:
                raise ValueError(f"'{code}' is not a two-letter US state code")
            if up not in out:
                out.append(up)
        return out

    @field_validator("plan_date", mode="before")
    @classmethod
    def _today_word(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "today":
            return None
        return value

    @model_validator(mode="after")
    def _dates_make_sense(self) -> Profile:
        cycle = self.application_cycle
        lo, hi = dt.date(cycle - 1, 1, 1), dt.date(cycle, 12, 31)
        for name in ("available_from", "available_to"):
            value = getattr(self, name)
            if value is not None and not lo <= value <= hi:
                raise FieldProblem(
                    name, f"{name} {value} is outside application cycle {cycle} (allowed {lo} to {hi})"
                )
        if self.window_start > self.window_end:
            which = "available_from" if self.available_from is not None else "available_to"
            raise FieldProblem(
                which, f"available_from {self.window_start} is after available_to {self.window_end}"
            )
        end = match_day(cycle + 1)
        plan = self.plan_date
        if plan is not None and plan < dt.date(cycle - 3, 1, 1):
            raise FieldProblem(
                "plan_date", f"plan_date {plan} is more than three years before application cycle {cycle}"
            )
        effective = self.effective_plan_date()
        if effective > end:
            which = "plan_date" if plan is not None else "today"
            raise FieldProblem(
                "plan_date" if plan is not None else "application_cycle",
                f"application_cycle {cycle} is over: its Match Day was {end} and {which} is {effective}",
            )
        if self.graduation_year is not None and self.graduation_year > cycle + 6:
            raise FieldProblem(
                "graduation_year",
                f"graduation_year {self.graduation_year} is implausibly late for cycle {cycle}",
            )
        self._consistent()
        return self

    def _consistent(self) -> None:
        """Fields that contradict each other are invalid input, with both fields named
        (R-C1, R-E2 visa and status; R-C2 student or graduate and graduation_year)."""
        visitor_or_temporary = ("b1b2", "esta", "f1", "j1", "h1b")
        if self.visa_needed == "none" and self.current_us_status in visitor_or_temporary:
            raise FieldProblem(
                "current_us_status",
                f"visa_needed is none but current_us_status is {self.current_us_status}: a visitor or "
                "temporary status means a visa is needed for residency (set visa_needed, or "
                "current_us_status to permanent_resident or none)",
            )
        if self.visa_needed != "none" and self.current_us_status == "permanent_resident":
            raise FieldProblem(
                "visa_needed",
                f"visa_needed is {self.visa_needed} but current_us_status is permanent_resident: a "
                "permanent resident needs no visa (set visa_needed: none)",
            )
        year, cycle = self.graduation_year, self.application_cycle
        if year is not None and self.is_student and year < cycle:
            raise FieldProblem(
                "graduation_year",
                f"school_status is student but graduation_year {year} is before application cycle {cycle}: "
                "a student graduates in the cycle year or later (or set school_status: graduate)",
            )
        if year is not None and not self.is_student and year > cycle:
            raise FieldProblem(
                "graduation_year",
                f"school_status is graduate but graduation_year {year} is after application cycle {cycle} "
                "(or set school_status: student)",
            )

    def years_since_graduation(self, today: dt.date | None = None) -> int | None:
        """Whole years from graduation_year to the plan date's year (None if unknown or a student)."""
        if self.graduation_year is None or self.is_student:
            return None
        return max(0, self.effective_plan_date(today).year - self.graduation_year)

    @property
    def window_start(self) -> dt.date:
        """First day the applicant can rotate (R-W1 default: 1 April of the cycle year)."""
        return self.available_from or dt.date(self.application_cycle, 4, 1)

    @property
    def window_end(self) -> dt.date:
        """Last day the applicant can rotate (R-W1 default: 30 September of the cycle year)."""
        return self.available_to or dt.date(self.application_cycle, 9, 30)

    def effective_plan_date(self, today: dt.date | None = None) -> dt.date:
        """The 'today' of the plan: plan_date if given, else the real date."""
        return self.plan_date or today or dt.date.today()

    @property
    def is_student(self) -> bool:
        return self.school_status == "student"

    @property
    def years_out_at_eras(self) -> int | None:
        """Whole years from graduation to the ERAS submission year (0 for a student); None if
        a graduate did not give graduation_year (the odds model's R-G3-style screen)."""
        if self.is_student:
            return 0
        if self.graduation_year is None:
            return None
        return max(0, self.application_cycle - self.graduation_year)

    @property
    def failed_attempts(self) -> int:
        """Failed USMLE attempts on the record (R-G3): attempts before each pass, and with
        Step 1 failed and not yet passed, every attempt made so far."""
        step1 = self.step1_attempts if self.step1 == "fail" else self.step1_attempts - 1
        step2 = self.step2_ck_attempts - 1 if self.step2_ck is not None else 0
        return step1 + step2


# --------------------------------------------------------------------------- loading


class _ProfileLoader(yaml.SafeLoader):
    """SafeLoader that keeps an impossible date (2026-13-45) as text, so that validation
    reports it against its field instead of the YAML parser failing without one."""


def _date_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_ProfileLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_or_text)


def _parse_yaml(text: str, file: str) -> tuple[object, dict[str, int]]:
    """The YAML document and the line of each top-level key; InputError for syntax
    errors, nesting too deep to read, and keys given twice (YAML would keep the last)."""
    try:
        node = yaml.compose(text, Loader=_ProfileLoader)
        data = yaml.load(text, Loader=_ProfileLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError([Problem(file, f"YAML syntax error: {problem}", line=line)]) from None
    except RecursionError:
        raise InputError([Problem(file, "YAML nests too deeply to be a profile")]) from None
    lines: dict[str, int] = {}
    problems = []
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in lines:
                problems.append(
                    Problem(
                        file,
                        f"field given twice (first on line {lines[key.value]})",
                        field=str(key.value),
                        line=line,
                    )
                )
            else:
                lines[str(key.value)] = line
    if problems:
        raise InputError(problems)
    return data, lines


_FRIENDLY = {
    ("applicant_id", "string_pattern_mismatch"): (
        "must be 1-64 letters, digits, '-' or '_' (pattern ^[A-Za-z0-9_-]{1,64}$; it names the report folder)"
    ),
}


def problems_from_validation(
    exc: ValidationError, file: str, row: int | None = None, lines: dict[str, int] | None = None
) -> list[Problem]:
    """Turn pydantic's errors into one Problem per field, in plain words."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        field = loc[0] if loc else None
        kind = err.get("type", "")
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            field = cause.field
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field (check the spelling against the profile fields in README)"
        else:
            message = _FRIENDLY.get((field, kind)) or err.get("msg", "invalid value")
            message = message.removeprefix("Value error, ")
            if "input" in err and kind not in ("value_error",) and not isinstance(err["input"], dict | list):
                message = f"{message} (got {_shown(err['input'])})"
        line = lines.get(field) if (lines and field) else None
        out.append(Problem(file, message, row=row, field=field, line=line))
    return out


def _shown(value: object, limit: int = 80) -> str:
    """A value as the user typed it, shortened so that one problem stays one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def load_profile(path: str | Path) -> Profile:
    """Read and validate one YAML profile; raises InputError naming file, line and field."""
    path = Path(path)
    name = display_path(path)
    if not path.exists():
        raise InputError([Problem(name, "profile file not found")])
    if path.is_dir():
        raise InputError([Problem(name, "expected a YAML profile file, got a folder")])
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm"):
        raise InputError(
            [Problem(name, "this is a table, not a YAML profile: for a cohort use --cohort FILE")]
        )
    size = path.stat().st_size
    if size > MAX_PROFILE_BYTES:
        raise InputError(
            [Problem(name, f"profile is {size // 1024} KB; the limit is {MAX_PROFILE_BYTES // 1024} KB")]
        )
    text = decode_text(path.read_bytes())
    if not text.strip():
        raise InputError([Problem(name, "file is empty")])
    if "\x00" in text:
        raise InputError([Problem(name, "not a text file (binary content); save the profile as YAML")])
    data, lines = _parse_yaml(text, name)
    if not isinstance(data, dict):
        raise InputError([Problem(name, "a profile must be a mapping of field: value pairs")])
    return profile_from_mapping(data, name, lines=lines)


def profile_from_mapping(
    data: dict[str, Any], file: str, row: int | None = None, lines: dict[str, int] | None = None
) -> Profile:
    """Validate a field mapping (YAML or one cohort row); raises InputError on problems."""
    cleaned = {str(k).strip(): v for k, v in data.items()}
    for key in LIST_FIELDS:
        if cleaned.get(key) is None:
            cleaned.pop(key, None)
        elif isinstance(cleaned[key], str):
            cleaned[key] = [p.strip() for p in cleaned[key].split(";") if p.strip()]
    cleaned = {k: v for k, v in cleaned.items() if v is not None}
    try:
        return Profile.model_validate(cleaned)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, file, row=row, lines=lines)) from None


def profile_to_yaml(profile: Profile) -> str:
    """The profile as YAML (only the fields that were set), for the per-applicant input copy."""
    data = profile.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    for key in REQUIRED_FIELDS:
        data[key] = getattr(profile, key)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
