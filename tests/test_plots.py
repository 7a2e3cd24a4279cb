"""Figures read cleanly: labels stay inside the picture and never print over each other."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from helpers import plots


def _drawn_texts(fig):
    """Every visible text of the figure with its box in pixels, after a full draw."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        for t in [*ax.texts, ax.xaxis.label, ax.yaxis.label, ax.title]:
            if t.get_visible() and t.get_text().strip():
                out.append((t.get_text(), t.get_window_extent(renderer)))
    return fig.bbox, out


def _inside(outer, box, slack=1.0):
    return (
        box.x0 >= outer.x0 - slack
        and box.x1 <= outer.x1 + slack
        and box.y0 >= outer.y0 - slack
        and box.y1 <= outer.y1 + slack
    )


def _rotations(n: int, start: dt.date, weeks: int = 4) -> pd.DataFrame:
    rows = []
    for i in range(n):
        s = start + dt.timedelta(weeks=weeks * i)
        rows.append(
            {
                "program_id": f"P{i}",
                "name": f"Long Regional University Medical Center {i}",
                "start": s,
                "end": s + dt.timedelta(weeks=weeks, days=-1),
            }
        )
    return pd.DataFrame(rows)


STEPS = pd.DataFrame(
    [
        {"lane": "deadline", "kind": "deadline", "date": dt.date(2027, 2, 1)},
        {"lane": "task", "kind": "task", "date": dt.date(2027, 3, 1)},
        {"lane": "cycle", "kind": "cycle", "date": dt.date(2028, 3, 17)},
    ]
)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_back_to_back_rotations_have_readable_names(n):
    """Rotations in consecutive blocks: each name on its own line, all inside the picture."""
    fig = plots.gantt(
        STEPS,
        _rotations(n, dt.date(2027, 6, 7)),
        (dt.date(2027, 4, 1), dt.date(2027, 9, 30)),
        dt.date(2026, 12, 1),
    )
    outer, texts = _drawn_texts(fig)
    names = [box for text, box in texts if text.startswith("Long Regional")]
    assert len(names) == n
    for a, b in itertools.combinations(names, 2):
        assert not a.overlaps(b), "two rotation names print over each other"
    for text, box in texts:
        assert _inside(outer, box), f"{text!r} runs out of the picture"


@pytest.mark.parametrize(
    "low, mid, high",
    [(0.02, 0.05, 0.12), (0.17, 0.45, 0.80), (0.55, 0.80, 0.97), (0.85, 0.93, 0.99)],
)
def test_match_chance_labels_stay_in_the_picture(low, mid, high):
    """Wherever the interval lies, its words and the axis title are inside the figure."""
    s = {"match_probability_p10": low, "match_probability": mid, "match_probability_p90": high}
    base = {k: v / 2 for k, v in s.items()}
    outer, texts = _drawn_texts(plots.odds_interval(base, s))
    labels = [box for text, box in texts if text.startswith("about")]
    assert len(labels) == 2
    for text, box in texts:
        assert _inside(outer, box), f"{text!r} runs out of the picture"


@pytest.mark.parametrize("budget", [1500.0, 9000.0, 40000.0])
def test_budget_label_leaves_the_title_alone(budget):
    """The budget line's label sits inside the axes, clear of the title, at any budget."""
    from helpers.budget import COST_PARTS

    costs = pd.DataFrame(
        [
            {"program_id": f"P{i}", "chosen": i == 0, **{part: 300.0 + 10 * i for part in COST_PARTS}}
            for i in range(5)
        ]
    )
    costs["cost_usd"] = costs[list(COST_PARTS)].sum(axis=1)
    fig = plots.cost_bars(costs, budget, 435.0)
    outer, texts = _drawn_texts(fig)
    title = next(box for text, box in texts if text.startswith("What each rotation"))
    label = next(box for text, box in texts if "budget $" in text)
    assert not label.overlaps(title)
    ax = fig.axes[0].get_window_extent()
    assert _inside(ax, label)
    for text, box in texts:
        assert _inside(outer, box), f"{text!r} runs out of the picture"
