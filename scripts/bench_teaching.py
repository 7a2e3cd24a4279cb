"""Time the start-here explorer: each control changed N times as a user would, and each tab opened.

Prints median and worst milliseconds per control (kernel side: the analysis re-run and the
visible tab redrawn; the browser adds its own drawing). Usage:
    .venv/bin/python scripts/bench_teaching.py [N] [profile.yaml] [programs.csv]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Iterable

import pandas as pd

from helpers import teaching
from helpers.config import DEFAULT_PROGRAMS, EXAMPLE_PROFILE
from helpers.teaching import CONTROLS, TABS, Explorer


def _sequence(explorer: Explorer, name: str, n: int) -> list:
    """n values for one control that differ from each other and from the current value."""
    w = explorer.controls[name]
    if name == "budget":
        step = max(1, (w.max - w.min) // n)
        return [w.min + ((i * 7 + 3) % n) * step for i in range(n)]
    if name == "step2":
        span = range(w.min, w.max + 1)
        return [span[(i * 13 + 5) % len(span)] for i in range(n)]
    if name in ("visa", "status"):
        keys = [v for _, v in w.options]
        return [keys[(keys.index(w.value) + 1 + i) % len(keys)] for i in range(n)]
    if name == "step2_taken":
        return [(not w.value) if i % 2 == 0 else w.value for i in range(n)]
    if name == "months":
        days = [d for _, d in w.options]
        pairs = [(days[i], days[j]) for i in range(len(days)) for j in range(i, len(days))]
        return [pairs[(i * 11 + 2) % len(pairs)] for i in range(n)]
    if name == "interests":
        keys = [v for _, v in w.options]
        return [tuple(keys[(i + k) % len(keys)] for k in range(1 + i % 3)) for i in range(n)]
    raise KeyError(name)


def benchmark(
    explorer: Explorer, changes: int = 20, controls: Iterable[str] = CONTROLS, cold: bool = True
) -> pd.DataFrame:
    """Time each control change as a user makes it (value set -> visible tab redrawn) and each
    tab switch; returns median and worst milliseconds. The analysis is always re-run; with
    cold=False figures whose inputs did not change are reused, as in a session. Asserts nothing."""
    rows = []
    explorer.controls["step2_taken"].value = True
    for name in controls:
        w = explorer.controls[name]
        seconds = []
        explorer.clear_cache()
        for value in _sequence(explorer, name, changes):
            if w.value == value:
                continue
            explorer.clear_cache(figures=cold)
            t0 = time.perf_counter()
            w.value = value
            seconds.append(time.perf_counter() - t0)
        explorer.reset()
        rows.append(_timing_row(f"change {name}", seconds))
    for index, title in enumerate(TABS):
        seconds = []
        for _ in range(max(1, changes // 4)):
            explorer.clear_cache()
            explorer._stale.add(index)
            t0 = time.perf_counter()
            explorer._on_tab({"new": index})  # what selecting a tab with stale contents runs
            seconds.append(time.perf_counter() - t0)
        rows.append(_timing_row(f"open tab {title}", seconds))
    return pd.DataFrame(rows)


def _timing_row(what: str, seconds: list[float]) -> dict:
    return {
        "what": what,
        "changes": len(seconds),
        "median_ms": round(1000 * statistics.median(seconds), 1) if seconds else None,
        "worst_ms": round(1000 * max(seconds), 1) if seconds else None,
    }


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 30
    profile = argv[2] if len(argv) > 2 else EXAMPLE_PROFILE
    programs = argv[3] if len(argv) > 3 else DEFAULT_PROGRAMS
    t0 = time.perf_counter()
    explorer = teaching.Explorer.from_paths(profile, programs)
    print(f"explorer built in {time.perf_counter() - t0:.2f} s ({len(explorer.programs)} programs)")
    for cold, label in (
        (True, "cold: every figure drawn again"),
        (False, "session: unchanged figures reused"),
    ):
        timings = benchmark(explorer, changes=n, cold=cold)
        print(f"\n{label}\n{timings.to_string(index=False)}")
        changes = timings.loc[timings["what"].str.startswith("change")]
        print(
            f"all control changes: median of medians {changes['median_ms'].median():.0f} ms, "
            f"worst {changes['worst_ms'].max():.0f} ms"
        )


if __name__ == "__main__":
    main(sys.argv)
