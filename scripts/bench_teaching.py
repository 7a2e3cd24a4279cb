"""Time the start-here explorer: each control changed N times as a user would, and each tab opened.

Prints median and worst milliseconds per control (kernel side: the analysis re-run and the
visible tab redrawn; the browser adds its own drawing). Usage:
    .venv/bin/python scripts/bench_teaching.py [N] [profile.yaml] [programs.csv]
"""

from __future__ import annotations

import sys
import time

from helpers import teaching
from helpers.config import DEFAULT_PROGRAMS, EXAMPLE_PROFILE


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
        timings = teaching.benchmark(explorer, changes=n, cold=cold)
        print(f"\n{label}\n{timings.to_string(index=False)}")
        changes = timings.loc[timings["what"].str.startswith("change")]
        print(
            f"all control changes: median of medians {changes['median_ms'].median():.0f} ms, "
            f"worst {changes['worst_ms'].max():.0f} ms"
        )


if __name__ == "__main__":
    main(sys.argv)
