"""Where an applicant's time goes: seconds per stage, each second counted once.

A stage started inside another pauses the outer one (the budget curve computed while a
figure is built counts as analysis, not figures). The analysis kernel keeps its own
totals here; a batch run reads them back after the notebooks (`execution`), adds the
stages it times itself, and `awayplan report --timings FILE` writes them all out.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator

# Stages in the order an applicant goes through them (the benchmark's table follows it).
ORDER = (
    "kernel start",
    "load inputs",
    "analysis",
    "figures",
    "notebook execution",
    "outputs",
    "html export",
    "pdf",
    "writing files",
)

_seconds: dict[str, float] = {}
_stack: list[str] = []
_mark = [0.0]


@contextlib.contextmanager
def timed(stage: str) -> Iterator[None]:
    """Count the time inside the block to `stage`, minus any stage nested in it."""
    now = time.perf_counter()
    if _stack:
        _seconds[_stack[-1]] = _seconds.get(_stack[-1], 0.0) + now - _mark[0]
    _stack.append(stage)
    _mark[0] = now
    try:
        yield
    finally:
        now = time.perf_counter()
        _seconds[stage] = _seconds.get(stage, 0.0) + now - _mark[0]
        _stack.pop()
        _mark[0] = now


def timed_call(stage: str) -> Callable:
    """Decorator: every call of the function counts to `stage`."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with timed(stage):
                return fn(*args, **kwargs)

        return inner

    return wrap


def taken(reset: bool = False) -> dict[str, float]:
    """Seconds per stage so far in this process (and start again from zero if asked)."""
    out = {k: round(v, 4) for k, v in _seconds.items()}
    if reset:
        _seconds.clear()
    return out


class Clock:
    """Stages timed one after another in a worker: `with clock("html export"): ...`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + max(seconds, 0.0), 4)
