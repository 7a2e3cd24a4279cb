"""Named assumptions: values the kit needs where no published source gives one.

They live in data/assumptions.yaml, each with its unit, meaning and basis, so that an
advisor can read and change them. Reports list the ones they used.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .config import ASSUMPTIONS_FILE
from .errors import InputError, Problem, display_path


class Assumption(BaseModel):
    """One named assumption as written in the YAML file."""

    model_config = ConfigDict(extra="forbid")

    value: Any
    unit: str
    meaning: str
    basis: str
    used_by: str
    range: Any = None  # the plausible span of the value, where one is stated


class Assumptions:
    """The named assumptions, looked up by key."""

    def __init__(self, entries: dict[str, Assumption], file: Path):
        self.entries = entries
        self.file = Path(file)

    @property
    def file_label(self) -> str:
        try:
            return str(self.file.relative_to(ASSUMPTIONS_FILE.parents[1]))
        except ValueError:
            return str(self.file)

    def value(self, key: str) -> Any:
        try:
            return self.entries[key].value
        except KeyError:
            raise KeyError(f"assumption '{key}' is missing from {self.file_label}") from None

    def table(self, keys: list[str] | None = None):
        """The assumptions as a table (key, value, unit, basis) for reports."""
        import pandas as pd

        keys = keys or list(self.entries)
        rows = []
        for k in keys:
            e = self.entries[k]
            value = _flat(e.value)
            rows.append(
                {
                    "assumption": k,
                    "value": value,
                    "range": "" if e.range is None else _flat(e.range),
                    "unit": e.unit,
                    "meaning": e.meaning,
                    "basis": e.basis,
                }
            )
        return pd.DataFrame(rows)


def _flat(value: Any) -> str:
    """`{a: 1, b: {c: 2}}` -> `a: 1; b: {c: 2}` for one-line display in tables."""
    if isinstance(value, dict):
        return "; ".join(
            f"{k}: {'{' + _flat(v) + '}' if isinstance(v, dict) else _flat(v)}" for k, v in value.items()
        )
    if isinstance(value, list):
        return ", ".join(_flat(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # whole numbers shown whole
    return str(value)


@functools.lru_cache(maxsize=4)
def load_assumptions(path: str | None = None) -> Assumptions:
    """Read and check data/assumptions.yaml (or another file an advisor points to)."""
    file = Path(path) if path else ASSUMPTIONS_FILE
    name = display_path(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(name, "assumptions file not found")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError([Problem(name, "YAML syntax error", line=mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(name, "expected a mapping of assumption name: entry")])
    entries, problems = {}, []
    for key, raw in data.items():
        try:
            entries[str(key)] = Assumption.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or None
                problems.append(Problem(name, err["msg"], field=f"{key}.{field}" if field else str(key)))
    if problems:
        raise InputError(problems)
    return Assumptions(entries, file)
