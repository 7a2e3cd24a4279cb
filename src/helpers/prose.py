"""Sentences whose figures come from the data at run time, never typed into the text.

`say("... {fact.nonus_2026_n_matched:.0f} matched ...", facts, assume, a=analysis)`
fills each field from a sourced fact (`fact.KEY`), a named assumption (`assume.KEY.PATH`)
or the analysis (`a.ATTR.PATH`), so editing data/facts or data/assumptions.yaml can never
leave a notebook's or report's prose behind.
"""

from __future__ import annotations

import string
from typing import Any

from .assumptions import Assumptions
from .facts import Facts


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


class _Formatter(string.Formatter):
    def __init__(self, facts: Facts, assume: Assumptions, **objects: Any):
        self.facts, self.assume, self.objects = facts, assume, objects

    def get_field(self, field_name: str, args, kwargs):
        kind, *path = field_name.split(".")
        if kind == "fact":
            return self.facts.value(".".join(path)), field_name
        if kind == "assume":
            return _walk(self.assume.value(path[0]), path[1:]), field_name
        if kind in self.objects:
            return _walk(self.objects[kind], path), field_name
        raise KeyError(f"unknown source '{kind}' in '{field_name}' (use fact., assume. or an object name)")


def say(template: str, facts: Facts, assume: Assumptions, **objects: Any) -> str:
    """The template with every {source.key:format} field filled from the data."""
    return _Formatter(facts, assume, **objects).format(template)
