"""One function per figure type, in one style: titled, labelled with units, readable in grey.

Figures are built with matplotlib's object API (no pyplot state), so nothing carries
over between applicants when a kernel is reused.
"""

from __future__ import annotations

import datetime as dt
import io

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .tiering import TIER_LABEL, TIERS

# Colour-blind-safe colours that stay distinct in grey, plus hatches for printing.
INK = "#222222"
TIER_STYLE = {
    "high_reach": {"color": "#1b3a6b", "hatch": "", "marker": "^"},
    "mid_tier": {"color": "#5f8dc9", "hatch": "//", "marker": "o"},
    "img_friendly": {"color": "#c7d8ee", "hatch": "..", "marker": "s"},
}
STATUS_STYLE = {
    "eligible": {"color": "#2d6a4f", "hatch": ""},
    "unknown": {"color": "#b7b7b7", "hatch": "xx"},
    "excluded": {"color": "#7f2704", "hatch": "\\\\"},
}
PART_STYLE = {
    "vslo_fee": ("#000000", ""),
    "host_fee": ("#1b3a6b", ""),
    "non_lcme_surcharge": ("#7f2704", "xx"),
    "housing": ("#5f8dc9", "//"),
    "travel": ("#9e9e9e", ".."),
    "insurance": ("#d9d9d9", "\\\\"),
}
RC = {
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "hatch.linewidth": 0.6,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "svg.hashsalt": "awayplan",
    "text.parse_math": False,  # program ids and names are text, never maths ('P$x^$')
}


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG without version metadata, so the same inputs give the same bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def enable_display() -> None:
    """Show Figure objects as PNG in IPython (the kit never touches pyplot's global state)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is not None:
        ip.display_formatter.formatters["image/png"].for_type(Figure, png_bytes)


def _figure(width: float = 8.0, height: float = 4.2) -> tuple[Figure, object]:
    with mpl.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _styled(func):
    """Draw under the kit's rc settings without touching global state."""

    def wrapper(*args, **kwargs):
        with mpl.rc_context(RC):
            return func(*args, **kwargs)

    wrapper.__doc__ = func.__doc__
    wrapper.__name__ = func.__name__
    return wrapper


@_styled
def funnel(table: pd.DataFrame) -> Figure:
    """All programs -> eligible / unknown / excluded -> tiers (of eligible and unknown)."""
    fig, ax = _figure(8, 3.8)
    counts = table["status"].value_counts().reindex(["eligible", "unknown", "excluded"], fill_value=0)
    open_ = table.loc[table["status"] != "excluded", "tier"].value_counts().reindex(list(TIERS), fill_value=0)
    untiered = int((table["status"] != "excluded").sum() - open_.sum())
    rows = [("All programs", [("all", len(table), {"color": "#555555", "hatch": ""})])]
    rows.append(("By eligibility", [(k, int(v), STATUS_STYLE[k]) for k, v in counts.items()]))
    tier_row = [(TIER_LABEL[k], int(v), TIER_STYLE[k]) for k, v in open_.items()]
    if untiered:
        tier_row.append(("no tier (unknown make-up)", untiered, {"color": "#eeeeee", "hatch": "--"}))
    rows.append(("Tiers (eligible + unknown)", tier_row))
    for y, (_, segments) in enumerate(rows):
        left = 0
        for label, n, style in segments:
            if n == 0:
                continue
            ax.barh(y, n, left=left, color=style["color"], hatch=style["hatch"], edgecolor=INK, linewidth=0.6)
            dark = style["color"] in ("#1b3a6b", "#2d6a4f", "#7f2704", "#555555")
            if n < 0.09 * len(table):  # too narrow for a label: the count alone, above the bar
                ax.text(left + n / 2, y - 0.42, str(n), ha="center", va="bottom", fontsize=7)
                left += n
                continue
            ax.text(
                left + n / 2,
                y,
                f"{label}\n{n}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else INK,
            )
            left += n
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("programs (count)")
    ax.set_title("From all programs to your tiered list")
    return fig


@_styled
def exclusion_reasons(table: pd.DataFrame) -> Figure:
    """Why programs are excluded: count of programs per rule ID."""
    fig, ax = _figure(8, 3.2)
    excluded = table.loc[table["status"] == "excluded", "excluded_by"]
    rules = excluded.map(lambda rs: sorted({r.split(":", 1)[0] for r in rs}))
    counts = pd.Series([r for rs in rules for r in rs], dtype="str").value_counts().sort_values()
    if counts.empty:
        ax.text(0.5, 0.5, "No program is excluded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        ax.barh(
            counts.index,
            counts.to_numpy(),
            color=STATUS_STYLE["excluded"]["color"],
            hatch="\\\\",
            edgecolor=INK,
            linewidth=0.6,
        )
        for y, v in enumerate(counts.to_numpy()):
            ax.text(v, y, f" {v}", va="center", fontsize=9)
        ax.set_xlabel("excluded programs (count; a program can fail several rules)")
    ax.set_title("Why programs are out (rule IDs)")
    return fig


@_styled
def leverage_vs_odds(table: pd.DataFrame) -> Figure:
    """Leverage of an away rotation (R-L1..R-L4) against the interview chance without one."""
    fig, ax = _figure(8, 4.6)
    shown = table.loc[table["leverage"].notna()]
    for tier in TIERS:
        part = shown.loc[shown["tier"] == tier]
        if part.empty:
            continue
        s = TIER_STYLE[tier]
        ax.scatter(
            100 * part["interview_chance"].astype(float),
            part["leverage"].astype(float),
            marker=s["marker"],
            facecolor=s["color"],
            edgecolor=INK,
            linewidth=0.6,
            s=36,
            label=TIER_LABEL[tier],
        )
    if shown.empty:
        ax.text(
            0.5,
            0.5,
            "No program has enough known data for leverage",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.set_xlabel("interview chance without a rotation (%)")
    ax.set_ylabel("leverage of a rotation (0-1)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Where a rotation has leverage")
    ax.legend(loc="lower right", fontsize=8)
    return fig


@_styled
def odds_interval(baseline: dict, with_plan: dict) -> Figure:
    """Match chance now and with the plan: mean and 10th-90th percentile range."""
    fig, ax = _figure(8, 2.6)
    labels = ["without rotations", "with the planned rotations"]
    for y, s in enumerate([baseline, with_plan]):
        lo, hi, mid = (
            100 * s[k] for k in ("match_probability_p10", "match_probability_p90", "match_probability")
        )
        ax.plot([lo, hi], [y, y], color=INK, linewidth=2)
        ax.plot(
            [mid], [y], marker="D", color="#1b3a6b" if y else "#9e9e9e", markeredgecolor=INK, markersize=9
        )
        ax.text(
            hi + 1, y, f"about {5 * round(mid / 5):.0f}% (range {lo:.0f}-{hi:.0f}%)", va="center", fontsize=9
        )
    ax.set_yticks([0, 1], labels)
    ax.set_xlim(0, 115)
    ax.set_xlabel(
        "chance of matching in DR (%); bar = 10th-90th percentile over what the data cannot tell about you"
    )
    ax.set_title("Match chance: an interval, not a promise")
    return fig


@_styled
def calibration(reproduction: pd.DataFrame) -> Figure:
    """Published figures against what the calibrated model gives."""
    fig, ax = _figure(8, 3.6)
    r = reproduction.reset_index(drop=True)
    y = np.arange(len(r))
    scale = np.where(r["unit"] == "%", 0.1, 1.0)  # percentages shown in tens to share the axis
    ax.barh(
        y - 0.2,
        r["published"] * scale,
        height=0.4,
        color="#9e9e9e",
        hatch="//",
        edgecolor=INK,
        linewidth=0.5,
        label="published",
    )
    ax.barh(
        y + 0.2, r["model"] * scale, height=0.4, color="#1b3a6b", edgecolor=INK, linewidth=0.5, label="model"
    )
    ax.set_yticks(
        y,
        [
            f"{f} ({'tens of %' if u == '%' else u}; {role.split(' ')[0]})"
            for f, u, role in zip(r["figure"], r["unit"], r["role"], strict=True)
        ],
        fontsize=8,
    )
    ax.invert_yaxis()
    ax.set_xlabel("value (percentages divided by 10)")
    ax.set_title("Does the model reproduce the published figures?")
    fig.legend(loc="outside lower center", fontsize=8, ncols=2)
    return fig


@_styled
def cost_bars(costs: pd.DataFrame, budget: float, fixed_cost: float) -> Figure:
    """Stacked cost parts per candidate rotation, with the budget line (R-C3)."""
    from .budget import COST_PARTS

    fig, ax = _figure(8, max(2.6, 0.32 * len(costs) + 1.4))
    if costs.empty:
        ax.text(
            0.5, 0.5, "No rotation is possible to price", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        ax.set_title("What each rotation costs")
        return fig
    labels = [
        f"{p}{' (plan)' if chosen else ''}"
        for p, chosen in zip(costs["program_id"], costs["chosen"], strict=True)
    ]
    y = np.arange(len(costs))
    left = np.zeros(len(costs))
    for part in COST_PARTS:
        values = costs[part].astype(float).to_numpy()
        color, hatch = PART_STYLE[part]
        ax.barh(
            y,
            values,
            left=left,
            color=color,
            hatch=hatch,
            edgecolor=INK,
            linewidth=0.4,
            label=part.replace("_", " "),
        )
        left += values
    ax.axvline(budget, color=INK, linestyle="--", linewidth=1)
    ax.text(budget, -0.9, f" budget ${budget:,.0f}", fontsize=8, va="bottom")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"cost per rotation (USD; visa fees ${fixed_cost:,.0f} once, not shown)")
    ax.set_title("What each rotation really costs")
    fig.legend(loc="outside lower center", fontsize=7, ncols=6)
    return fig


@_styled
def budget_curve(curve: pd.DataFrame, budget: float) -> Figure:
    """Gain in match chance and number of rotations as the budget varies."""
    fig, ax = _figure(8, 3.8)
    ax.step(
        curve["budget_usd"],
        curve["gain_points"],
        where="post",
        color="#1b3a6b",
        linewidth=2,
        label="gain in match chance",
    )
    ax.set_xlabel("budget (USD)")
    ax.set_ylabel("gain in match chance (percentage points)")
    ax2 = ax.twinx()
    ax2.step(
        curve["budget_usd"],
        curve["rotations"],
        where="post",
        color="#9e9e9e",
        linestyle="--",
        linewidth=1.5,
        label="rotations",
    )
    ax2.set_ylabel("rotations (count)")
    ax2.set_ylim(0, max(3.5, curve["rotations"].max() + 0.5))
    ax2.spines["top"].set_visible(False)
    ax.axvline(budget, color=INK, linestyle=":", linewidth=1)
    ax.text(budget, ax.get_ylim()[1], "your budget ", fontsize=8, va="top", ha="right")
    ax.set_title("What more budget buys")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower right", fontsize=8)
    return fig


@_styled
def gantt(
    steps: pd.DataFrame, rotations: pd.DataFrame, window: tuple[dt.date, dt.date], plan_date: dt.date
) -> Figure:
    """The plan on a calendar: window, rotation blocks, application deadlines, ERAS and Match."""
    import matplotlib.dates as mdates

    fig, ax = _figure(9, 4.6)
    lanes = ["rotations", "deadlines", "tasks", "cycle"]
    ax.axvspan(window[0], window[1], color="#eeeeee", zorder=0, label="available window")
    for r in rotations.to_dict("records") if len(rotations) else []:
        ax.barh(
            0,
            (r["end"] - r["start"]).days + 1,
            left=r["start"],
            height=0.5,
            color="#1b3a6b",
            edgecolor=INK,
            linewidth=0.6,
        )
        ax.text(r["start"], -0.4, r["program_id"], fontsize=8, va="bottom")
    lane_of = {"rotation": 0, "deadline": 1, "task": 2, "cycle": 3}
    marker = {"deadline": ("v", "#7f2704"), "task": ("o", "#9e9e9e"), "cycle": ("D", "#5f8dc9")}
    for kind, (m, color) in marker.items():
        part = steps.loc[steps["lane"] == kind]
        if not part.empty:
            ax.scatter(
                part["date"],
                [lane_of[kind]] * len(part),
                marker=m,
                color=color,
                edgecolor=INK,
                linewidth=0.5,
                s=40,
                zorder=3,
            )
    ax.axvline(plan_date, color=INK, linestyle=":", linewidth=1)
    ax.text(plan_date, 3.45, " plan date", fontsize=8)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(3.7, -0.8)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=[1, 3, 5, 7, 9, 11]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_xlabel("date")
    ax.set_title("From today to Match Day")
    return fig
