"""Where an away rotation is worth its cost: leverage 0-1 from R-L1..R-L4, shown by part.

R-L1 IMG history, R-L2 the department welcomes visiting students, R-L3 the student's
performance can reach the selection committee (small/medium program), R-L4 fit with the
applicant's story. Weights: data/assumptions.yaml `leverage`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .assumptions import Assumptions
from .profile import Profile
from .tiering import openness
from .vocab import SUBSPECIALTIES

COMPONENTS = ("img_history", "welcomes_visitors", "reaches_committee", "fit")


def fit_score(p: Profile, programs: pd.DataFrame, neutral: float) -> pd.Series:
    """R-L4: share of the applicant's subspecialty interests the program offers, averaged with
    story fit (academic/research -> research strength; community -> community setting)."""
    subs = [i for i in p.interests if i in SUBSPECIALTIES]
    story = [i for i in p.interests if i not in SUBSPECIALTIES]
    if not subs and not story:
        return pd.Series(neutral, index=programs.index, dtype="Float64")
    parts = []
    if subs:
        offered = programs["subspecialties"].map(lambda s: set(s.split(";")) if isinstance(s, str) else None)
        parts.append(
            offered.map(lambda o: np.nan if o is None else len(o & set(subs)) / len(subs)).astype("Float64")
        )
    research_map = {"high": 1.0, "medium": 0.5, "low": 0.0}
    community_map = {"community": 1.0, "hybrid": 0.6, "academic": 0.2}
    for s in story:
        if s in ("academic", "research"):
            parts.append(programs["research_strength"].map(research_map).astype("Float64"))
        else:
            parts.append(programs["setting"].map(community_map).astype("Float64"))
    frame = pd.concat(parts, axis=1)
    return frame.mean(axis=1, skipna=True).astype("Float64").where(frame.notna().any(axis=1))


def components(p: Profile, programs: pd.DataFrame, assume: Assumptions) -> pd.DataFrame:
    """The four leverage parts per program (NA where the table is silent)."""
    lv = assume.value("leverage")
    size = lv["size_score"]
    pos = programs["positions"].astype(float)  # NA -> NaN
    committee = pd.Series(
        np.select(
            [
                pos <= size["small_max_positions"],
                pos <= size["medium_max_positions"],
                pos > size["medium_max_positions"],
            ],
            [size["small"], size["medium"], size["large"]],
            np.nan,
        ),
        index=programs.index,
    ).astype("Float64")
    return pd.DataFrame(
        {
            "img_history": openness(programs, assume),
            "welcomes_visitors": programs["visiting_students"].map(lv["visiting_score"]).astype("Float64"),
            "reaches_committee": committee,
            "fit": fit_score(p, programs, float(lv["fit_neutral"])),
        },
        index=programs.index,
    )


def leverage(parts: pd.DataFrame, rotation_possible: pd.Series, assume: Assumptions) -> pd.Series:
    """Weighted mean of the known parts; NA where a rotation is impossible or too little is known."""
    lv = assume.value("leverage")
    w = pd.Series(lv["weights"], dtype=float)[list(COMPONENTS)]
    known = parts[list(COMPONENTS)].notna()
    num = (parts[list(COMPONENTS)].astype(float).fillna(0.0) * w).sum(axis=1)
    den = (known.astype(float) * w).sum(axis=1)
    value = (num / den.replace(0, np.nan)).round(3)
    enough = known.sum(axis=1) >= int(lv["min_known_components"])
    return value.where(enough & rotation_possible.to_numpy()).astype("Float64")
