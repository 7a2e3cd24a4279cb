"""One function per figure type, in one style: titled, labelled with units, readable in grey.

Figures are built with matplotlib's object API (no pyplot state), so nothing carries
over between applicants when a kernel is reused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from . import stages
from .tiering import TIER_LABEL, TIERS

TIER_WORDS = {"high_reach": "high reach", "mid_tier": "mid-tier", "img_friendly": "IMG-friendly"}


def _short(text: str, n: int) -> str:
    """A name cut to n characters with an ellipsis (labels stay inside the figure)."""
    text = str(text).replace(" (fictional)", "")
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# Colour-blind-safe colours that stay distinct in grey, plus hatches for printing.
INK = "#222222"
# zlib level for the figures' PNGs. Without the (always opaque) alpha channel, level 3 gives
# files about the size of Pillow's default (level 6, with alpha) in under half the time:
# the encoding was a quarter of each figure's cost.
PNG_COMPRESSION = 3
DISPLAY_DPI = 100  # CSS pixels per inch of figure: a 7-inch figure shows 700 px wide
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
    "host_fee": ("#6a51a3", "++"),
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
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "figure.dpi": 100,
    "savefig.dpi": 2 * DISPLAY_DPI,  # twice the shown size: sharp on high-resolution screens and in print
    "svg.hashsalt": "awayplan",
    "text.parse_math": False,  # program ids and names are text, never maths ('P$x^$')
}


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG at twice its shown size, without version metadata, so the same
    inputs give the same bytes.

    Drawn once on an Agg canvas at that resolution: `savefig` draws a constrained-layout
    figure twice (a layout pass, then the picture) for the same pixels. The figures are
    opaque, so the PNG carries no alpha channel; see PNG_COMPRESSION for the zlib level."""
    dpi = fig.dpi
    fig.set_dpi(2 * DISPLAY_DPI)
    try:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    finally:
        fig.set_dpi(dpi)
    buf = io.BytesIO()
    image.save(buf, format="png", dpi=(2 * DISPLAY_DPI, 2 * DISPLAY_DPI), compress_level=PNG_COMPRESSION)
    return buf.getvalue()


def describe(fig: Figure, text: str) -> Figure:
    """Attach the figure's message as its alt text (what a reader should take from it)."""
    fig.awayplan_alt = " ".join(text.split())
    return fig


def png_display(fig: Figure) -> tuple[bytes, dict]:
    """PNG at twice the shown size, with its shown size and alt text as display metadata."""
    w, h = fig.get_size_inches()
    md = {"width": round(w * DISPLAY_DPI), "height": round(h * DISPLAY_DPI)}
    alt = getattr(fig, "awayplan_alt", "")
    if alt:
        md["alt"] = alt
    with stages.timed("figures"):
        if getattr(fig, "awayplan_shared", False):  # drawn from shared data: render once
            if not hasattr(fig, "awayplan_png"):
                fig.awayplan_png = png_bytes(fig)
            return fig.awayplan_png, md
        return png_bytes(fig), md


def enable_display() -> None:
    """Show Figure objects as PNG in IPython (the kit never touches pyplot's global state)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is not None:
        ip.display_formatter.formatters["image/png"].for_type(Figure, png_display)


def _figure(width: float = 7.0, height: float = 4.2) -> tuple[Figure, object]:
    with mpl.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _title(ax, text: str) -> None:
    """The axes title, placed at the top of the axes (plus rc's title pad).

    Left to place it itself, matplotlib measures every y tick label again at each layout
    pass and draw, to keep the title clear of top tick labels and offset texts. These
    figures have neither, so the picture is the same (byte for byte) and the drawing is
    quicker (measured: seven applicant figures 1.47 s -> 1.23 s on an idle machine)."""
    ax.set_title(text, y=1.0)


def _styled(func):
    """Draw under the kit's rc settings without touching global state."""

    def wrapper(*args, **kwargs):
        with stages.timed("figures"), mpl.rc_context(RC):
            return func(*args, **kwargs)

    wrapper.__doc__ = func.__doc__
    wrapper.__name__ = func.__name__
    return wrapper


@_styled
def funnel(table: pd.DataFrame) -> Figure:
    """All programs -> eligible / unknown / excluded -> tiers (of eligible and unknown)."""
    fig, ax = _figure(7, 3.8)
    counts = table["status"].value_counts().reindex(["eligible", "unknown", "excluded"], fill_value=0)
    open_ = table.loc[table["status"] != "excluded", "tier"].value_counts().reindex(list(TIERS), fill_value=0)
    untiered = int((table["status"] != "excluded").sum() - open_.sum())
    rows = [("All programs", [("all", len(table), {"color": "#555555", "hatch": ""})])]
    rows.append(("By eligibility", [(k, int(v), STATUS_STYLE[k]) for k, v in counts.items()]))
    tier_row = [(TIER_WORDS[k], int(v), TIER_STYLE[k]) for k, v in open_.items()]
    if untiered:
        tier_row.append(("no tier (unknown make-up)", untiered, {"color": "#eeeeee", "hatch": "--"}))
    rows.append(("Tiers (eligible + unknown)", tier_row))

    def width(text: str) -> float:
        """About how many programs of the axis a text spans: 7.5 px a character, 480 px axis."""
        return 7.5 * len(text) / 480 * len(table)

    for y, (_, segments) in enumerate(rows):
        left = 0
        for label, n, style in segments:
            if n == 0:
                continue
            ax.barh(y, n, left=left, color=style["color"], hatch=style["hatch"], edgecolor=INK, linewidth=0.6)
            dark = style["color"] in ("#1b3a6b", "#2d6a4f", "#7f2704", "#555555")
            # Too narrow for its label: label and count on one line above the bar.
            if n < max(0.09 * len(table), width(label)):
                text = f"{label} {n}"
                half = width(text) / 2
                x, ha = left + n / 2, "center"  # kept inside the axes at either end
                if x - half < 0:
                    x, ha = left, "left"
                elif x + half > len(table):
                    x, ha = left + n, "right"
                ax.text(x, y - 0.42, text, ha=ha, va="bottom", fontsize=10)
                left += n
                continue
            ax.text(
                left + n / 2,
                y,
                f"{label}\n{n}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if dark else INK,
                # a light patch behind the words, so a hatched fill does not run through them
                bbox=None if dark else {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
            )
            left += n
        if left == 0:
            ax.text(0, y, " none", ha="left", va="center", fontsize=10)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # top to bottom; an empty last row keeps its place
    ax.set_xlabel("programs (count)")
    _title(ax, "From all programs to your tiered list")
    tiers = ", ".join(f"{int(v)} {TIER_WORDS[k]}" for k, v in open_.items())
    return describe(
        fig,
        f"Of {len(table)} programs, {counts['eligible']} are eligible, {counts['unknown']} unknown and "
        f"{counts['excluded']} excluded. The programs open to you split into {tiers}"
        + (f" and {untiered} without a tier" if untiered else "")
        + ".",
    )


@_styled
def exclusion_reasons(table: pd.DataFrame) -> Figure:
    """Why programs are excluded: count of programs per rule ID."""
    fig, ax = _figure(7, 3.2)
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
            ax.text(v, y, f" {v}", va="center", fontsize=10)
        ax.set_xlabel("excluded programs (count; a program can fail several rules)")
    _title(ax, "Why programs are out (rule IDs)")
    if counts.empty:
        return describe(fig, "No program is excluded.")
    top = ", ".join(f"{rule}: {n}" for rule, n in counts.sort_values(ascending=False).items())
    return describe(fig, f"Programs excluded, by the rule that excludes them: {top}.")


@_styled
def leverage_vs_odds(table: pd.DataFrame, planned: Sequence[str] = ()) -> Figure:
    """Leverage of an away rotation (R-L1..R-L4) against the interview chance without one;
    the planned rotations ringed and named."""
    fig, ax = _figure(7, 4.6)
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
    plan = shown.loc[shown["program_id"].isin(list(planned))] if "program_id" in shown else shown.iloc[0:0]
    if not plan.empty:
        ax.scatter(
            100 * plan["interview_chance"].astype(float),
            plan["leverage"].astype(float),
            s=190,
            facecolor="none",
            edgecolor="#7f2704",
            linewidth=2,
            label="planned rotation",
        )
        for r in plan.itertuples(index=False):
            ax.annotate(
                _short(r.name, 24),
                (100 * float(r.interview_chance), float(r.leverage)),
                xytext=(8, 6),
                textcoords="offset points",
                fontsize=10,
                color="#7f2704",
            )
    _title(ax, "Where a rotation has leverage")
    if shown.empty:  # nothing drawn, so no legend (matplotlib would warn in the notebook)
        return describe(fig, "No program has enough known data for a leverage score.")
    ax.legend(loc="lower right", fontsize=10)
    best = shown.sort_values("leverage", ascending=False).iloc[0]
    planned_words = (
        "; planned rotations: "
        + ", ".join(f"{r.name} (leverage {float(r.leverage):.2f})" for r in plan.itertuples(index=False))
        if not plan.empty
        else ""
    )
    return describe(
        fig,
        f"Leverage against interview chance for {len(shown)} programs. The highest leverage is "
        f"{best['name'] if 'name' in shown else best['program_id']} at {float(best['leverage']):.2f}{planned_words}.",
    )


@_styled
def odds_interval(baseline: dict, with_plan: dict) -> Figure:
    """Match chance now and with the plan: mean and 10th-90th percentile range."""
    fig, ax = _figure(7, 2.6)
    labels = ["without rotations", "with the planned rotations"]
    for y, s in enumerate([baseline, with_plan]):
        lo, hi, mid = (
            100 * s[k] for k in ("match_probability_p10", "match_probability_p90", "match_probability")
        )
        ax.plot([lo, hi], [y, y], color=INK, linewidth=2)
        ax.plot(
            [mid], [y], marker="D", color="#1b3a6b" if y else "#9e9e9e", markeredgecolor=INK, markersize=9
        )
        # Above the bar, running from its low end to the right, or from its high end to the
        # left when the bar sits far right: the words never leave the axes.
        right = lo > 50
        ax.text(
            hi if right else lo,
            y + 0.14,
            f"about {5 * round(mid / 5):.0f}% (range {lo:.0f}-{hi:.0f}%)",
            ha="right" if right else "left",
            va="bottom",
            fontsize=10,
        )
    ax.set_yticks([0, 1], labels)
    ax.set_ylim(-0.4, 1.6)
    ax.set_xlim(0, 100)
    ax.set_xlabel(
        "chance of matching in DR (%)\nbar = 10th-90th percentile over what the data cannot tell about you"
    )
    _title(ax, "Match chance: an interval, not a promise")
    words = [
        f"{label}: about {5 * round(100 * s['match_probability'] / 5):.0f}% (likely range "
        f"{100 * s['match_probability_p10']:.0f}% to {100 * s['match_probability_p90']:.0f}%)"
        for label, s in zip(labels, [baseline, with_plan], strict=True)
    ]
    return describe(fig, "Match chance " + "; ".join(words) + ".")


_SHARED: dict[str, Figure] = {}  # figures that depend on shared data only, by content


def calibration(reproduction: pd.DataFrame) -> Figure:
    """Published figures against what the calibrated model gives.

    The same for every applicant (it shows the shared calibration), so it is drawn once
    per process for the same figures and its PNG kept: a warm kernel's parent draws it
    before any applicant, and every applicant's kernel shows that picture."""
    key = hashlib.sha256(
        pd.util.hash_pandas_object(reproduction, index=True).to_numpy().tobytes()
        + repr(list(reproduction.columns)).encode()
    ).hexdigest()
    fig = _SHARED.get(key)
    if fig is None:
        fig = _calibration(reproduction)
        fig.awayplan_shared = True  # png_display keeps its PNG
        _SHARED.clear()  # one calibration at a time
        _SHARED[key] = fig
    return fig


@_styled
def _calibration(reproduction: pd.DataFrame) -> Figure:
    fig, ax = _figure(7, 3.6)
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
        fontsize=10,
    )
    ax.invert_yaxis()
    ax.set_xlabel("value (percentages divided by 10)")
    _title(ax, "Does the model reproduce the published figures?")
    fig.legend(loc="outside lower center", fontsize=10, ncols=2)
    pairs = "; ".join(
        f"{f}: published {p:g}, model {m:g}"
        for f, p, m in zip(r["figure"], r["published"], r["model"], strict=True)
    )
    return describe(fig, f"Published figures against the model: {pairs}.")


@_styled
def cost_bars(
    costs: pd.DataFrame, budget: float, fixed_cost: float, names: dict[str, str] | None = None
) -> Figure:
    """Stacked cost parts per candidate rotation, with the budget line (R-C3)."""
    from .budget import COST_PARTS

    fig, ax = _figure(7, max(2.6, 0.32 * len(costs) + 1.4))
    if costs.empty:
        ax.text(
            0.5, 0.5, "No rotation is possible to price", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        _title(ax, "What each rotation costs")
        return describe(fig, "No rotation is possible to price.")
    names = names or {}
    labels = [
        f"{_short(names.get(p, p), 30)}{' (plan)' if chosen else ''}"
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
    # Inside the axes, above the first bar, on the side of the line with room (not in the title).
    wide = max(budget, float(left.max())) * 1.05
    ax.set_xlim(0, wide)
    room_right = budget < 0.6 * wide
    ax.text(
        budget,
        -0.75,
        f" budget ${budget:,.0f} " if room_right else f"budget ${budget:,.0f} ",
        ha="left" if room_right else "right",
        va="center",
        fontsize=10,
    )
    ax.set_yticks(y, labels, fontsize=10)
    for tick, chosen in zip(ax.get_yticklabels(), costs["chosen"], strict=True):
        if chosen:
            tick.set_fontweight("bold")
    ax.set_ylim(len(costs) - 0.4, -1.2)  # top to bottom, with a row above the bars for the label
    ax.set_xlabel(f"cost per rotation (USD)\nvisa fees of ${fixed_cost:,.0f} are paid once, not shown")
    _title(ax, "What each rotation really costs")
    fig.legend(loc="outside lower center", fontsize=10, ncols=3)
    total = costs["cost_usd"].astype(float)
    plan = [f"{lab} ${v:,.0f}" for lab, v, c in zip(labels, total, costs["chosen"], strict=True) if c]
    return describe(
        fig,
        f"Cost of one rotation at {len(costs)} programs, from ${total.min():,.0f} to ${total.max():,.0f}, "
        f"against a budget of ${budget:,.0f}"
        + (f"; planned: {', '.join(plan)}" if plan else "")
        + f"; visa fees of ${fixed_cost:,.0f} are paid once on top.",
    )


@_styled
def budget_curve(curve: pd.DataFrame, budget: float) -> Figure:
    """Gain in match chance and number of rotations as the budget varies."""
    fig, ax = _figure(7, 3.8)
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
    ax.text(budget, ax.get_ylim()[1], "your budget ", fontsize=10, va="top", ha="right")
    _title(ax, "What more budget buys")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower right", fontsize=10)
    here = curve.loc[curve["budget_usd"] == budget]
    best = curve.sort_values(["gain_points", "budget_usd"], ascending=[False, True]).iloc[0]
    at = (
        f"At your budget of ${budget:,.0f} the plan has {int(here['rotations'].iloc[0])} rotation(s) and gains "
        f"{float(here['gain_points'].iloc[0]):.1f} percentage points. "
        if len(here)
        else ""
    )
    return describe(
        fig,
        at + f"The largest gain shown, {float(best['gain_points']):.1f} points, needs a budget of "
        f"${float(best['budget_usd']):,.0f}.",
    )


LABEL_STEP = 0.3  # lanes between the name lines of successive rotations in the calendar


@_styled
def gantt(
    steps: pd.DataFrame, rotations: pd.DataFrame, window: tuple[dt.date, dt.date], plan_date: dt.date
) -> Figure:
    """The plan on a calendar: window, rotation blocks, application deadlines, ERAS and Match."""
    import matplotlib.dates as mdates

    fig, ax = _figure(7, 4.6)
    lanes = ["rotations", "deadlines", "tasks", "cycle"]
    ax.axvspan(window[0], window[1], color="#eeeeee", zorder=0, label="available window")
    records = sorted(rotations.to_dict("records"), key=lambda r: r["start"]) if len(rotations) else []
    for i, r in enumerate(records):
        ax.barh(
            0,
            (r["end"] - r["start"]).days + 1,
            left=r["start"],
            height=0.5,
            color="#1b3a6b",
            edgecolor=INK,
            linewidth=0.6,
        )
        # One line per rotation, so that back-to-back blocks do not print names over each other.
        ax.text(
            r["start"],
            -0.3 - LABEL_STEP * i,
            _short(r.get("name", r["program_id"]), 22),
            fontsize=10,
            va="bottom",
        )
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
    ax.text(plan_date, 3.45, " plan date", fontsize=10)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(3.7, min(-0.8, -0.45 - LABEL_STEP * len(records)))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=[1, 3, 5, 7, 9, 11]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_xlabel("date")
    _title(ax, "From today to Match Day")
    rots = [
        f"{r['name']} from {r['start']:%d %b} to {r['end']:%d %b %Y}"
        for r in (rotations.to_dict("records") if len(rotations) else [])
    ]
    deadlines = steps.loc[steps["kind"] == "deadline", "date"]
    return describe(
        fig,
        (f"Rotations: {'; '.join(rots)}. " if rots else "No rotation planned. ")
        + (
            f"{len(deadlines)} deadlines from {min(deadlines):%d %b %Y} to {max(deadlines):%d %b %Y}. "
            if len(deadlines)
            else ""
        )
        + f"Available window {window[0]:%d %b} to {window[1]:%d %b %Y}; plan date {plan_date:%d %b %Y}.",
    )


# --------------------------------------------------------------------------------------
# The advisor's cohort overview (overview.py, notebooks/04-cohort.ipynb): one row per
# applicant with the columns of overview.COLUMNS.


@_styled
def cohort_eligible_histogram(applicants: pd.DataFrame) -> Figure:
    """How many programs each applicant can apply to (eligible) or must ask (unknown)."""
    fig, ax = _figure(7, 3.6)
    a = applicants
    top = int(max(1, a["eligible"].max() if len(a) else 1, a["unknown"].max() if len(a) else 1))
    bins = np.linspace(0, top + 1, min(30, top + 2))
    for col in ("eligible", "unknown"):
        style = STATUS_STYLE[col]
        ax.hist(
            a[col],
            bins=bins,
            color=style["color"],
            hatch=style["hatch"],
            edgecolor=INK,
            linewidth=0.6,
            alpha=0.85,
            label=col,
        )
    ax.set_xlabel("programs per applicant (count)")
    ax.set_ylabel("applicants (count)")
    _title(ax, "Eligible and unknown programs per applicant")
    ax.legend(loc="upper right", fontsize=10)
    if not len(a):
        return describe(fig, "No applicant has a report yet.")
    return describe(
        fig,
        f"Eligible programs per applicant range from {int(a['eligible'].min())} to {int(a['eligible'].max())} "
        f"(median {a['eligible'].median():.0f}); programs to confirm range from {int(a['unknown'].min())} "
        f"to {int(a['unknown'].max())}, across {len(a)} applicants.",
    )


@_styled
def cohort_budget_scatter(applicants: pd.DataFrame) -> Figure:
    """Each applicant's budget against the cost of the planned rotations."""
    fig, ax = _figure(7, 4.2)
    a = applicants
    marks = (
        (a["rotations"] == 0, "s", "#c7d8ee", "no rotation planned"),
        (a["rotations"] == 1, "o", "#5f8dc9", "1 rotation"),
        (a["rotations"] >= 2, "^", "#1b3a6b", "2 or more rotations"),
    )
    for mask, marker, colour, label in marks:
        sub = a.loc[mask]
        ax.scatter(
            sub["budget_usd"],
            sub["plan_cost_usd"],
            marker=marker,
            s=28,
            color=colour,
            edgecolor=INK,
            linewidth=0.5,
            label=f"{label} ({len(sub)})",
        )
    top = float(max(1.0, a["budget_usd"].max() if len(a) else 1.0))
    ax.plot([0, top], [0, top], color=INK, linestyle=":", linewidth=1, label="plan cost = budget")
    ax.set_xlim(0, top * 1.05)
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("budget (USD)")
    ax.set_ylabel("plan cost (USD)")
    _title(ax, "Budget against the cost of the plan")
    ax.legend(loc="upper left", fontsize=10)
    counts = ", ".join(
        f"{int((a['rotations'] == k).sum())} with {k}" for k in sorted(a["rotations"].unique())
    )
    return describe(
        fig,
        f"Budget against plan cost for {len(a)} applicants; rotations planned: {counts or 'none'}. "
        "No plan costs more than its budget.",
    )


@_styled
def cohort_chance_histogram(applicants: pd.DataFrame, low_chance: float) -> Figure:
    """Match chance with the plan across the cohort, with the at-risk line at `low_chance`."""
    fig, ax = _figure(7, 3.4)
    a = applicants
    ax.hist(
        100 * a["chance_with_plan"].dropna(),
        bins=np.arange(0, 101, 5),
        color="#5f8dc9",
        hatch="//",
        edgecolor=INK,
        linewidth=0.6,
    )
    ax.axvline(100 * low_chance, color="#7f2704", linestyle="--", linewidth=1.2)
    ax.text(100 * low_chance, ax.get_ylim()[1], " at-risk line", fontsize=10, va="top", color="#7f2704")
    ax.set_xlim(0, 100)
    ax.set_xlabel("match chance with the plan (%)")
    ax.set_ylabel("applicants (count)")
    _title(ax, "Match chance across the cohort")
    below = int((a["chance_with_plan"] < low_chance).sum())
    return describe(
        fig,
        f"Match chance with the plan for {len(a)} applicants; {below} below the at-risk line of "
        f"{100 * low_chance:.0f}%.",
    )
