"""What each rotation really costs, how many to do, and the best affordable set.

R-C3 (cost), R-N1..R-N4 (how many), R-B1/R-B2 (balance), R-B3 (preferred states and
interests), R-V1..R-V3 (when rotations matter, alternatives), R-Y1..R-Y3 (kinds), R-A4
(non-LCME surcharge), R-E2 (no visa, no visa fee). Cost defaults are sourced facts or named
assumptions; a program's own values win.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .assumptions import Assumptions
from .facts import Facts
from .profile import Profile
from .timeline import (
    Block,
    earliest_start,
    feasible_blocks,
    month_weight,
    needs_entry_visa,
    parse_months,
    sequence_explanation,
)

COST_PARTS = ("vslo_fee", "host_fee", "non_lcme_surcharge", "housing", "travel", "insurance")
CANDIDATE_COLUMNS = [
    "program_id",
    "name",
    "state",
    "tier",
    "kind",
    "rotation_status",
    "start",
    "end",
    "apply_by",
    "month_weight",
    "leverage",
    "gain",
] + [*COST_PARTS, "cost_usd", "estimated"]
REGION = {
    **dict.fromkeys(["CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"], "Northeast"),
    **dict.fromkeys(["IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"], "Midwest"),
    **dict.fromkeys(
        [
            "DE",
            "DC",
            "FL",
            "GA",
            "MD",
            "NC",
            "SC",
            "VA",
            "WV",
            "AL",
            "KY",
            "MS",
            "TN",
            "AR",
            "LA",
            "OK",
            "TX",
            "PR",
        ],
        "South",
    ),
    **dict.fromkeys(["AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "AK", "CA", "HI", "OR", "WA"], "West"),
}
TIER_RANK = {"high_reach": 3, "mid_tier": 2, "img_friendly": 1}


def points_text(x: float) -> str:
    """Points to one decimal, whole numbers shown whole."""
    return f"{x:.1f}".removesuffix(".0")


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def visa_fee(profile: Profile, facts: Facts) -> float:
    """Visitor visa fees, once for the season, if the applicant is outside the US (R-C1, R-W6);
    none for an applicant who needs no visa (R-E2)."""
    if not needs_entry_visa(profile):
        return 0.0
    return facts.value("visa_mrv_fee_usd") + facts.value("visa_integrity_fee_usd")


def rotation_cost(profile: Profile, row, kind: str, facts: Facts, assume: Assumptions) -> dict:
    """Cost parts of one rotation block, and which parts are estimates (R-C3).

    VSLO fee on VSLO electives; host fee; non-LCME surcharge for students of schools that
    are not LCME/AOA; housing for the block; one round trip; insurance for the block.
    """
    c = assume.value("costs")
    weeks = int(assume.value("rotation_weeks"))
    months = weeks * 7 / 30.4375
    estimates = []

    def pick(value: object, default: float, part: str) -> float:
        v = _num(value)
        if v is None:
            estimates.append(part)
            return float(default)
        return v

    parts = dict.fromkeys(COST_PARTS, 0.0)
    if kind == "vslo":
        parts["vslo_fee"] = facts.value("vslo_fee_usd")
    parts["host_fee"] = pick(row.host_fee_usd, c["default_host_fee_usd"], "host_fee")
    if kind in ("vslo", "direct") and profile.school_accreditation == "other":
        parts["non_lcme_surcharge"] = pick(
            row.non_lcme_surcharge_usd, c["default_non_lcme_surcharge_usd"], "non_lcme_surcharge"
        )
    parts["housing"] = round(
        pick(row.housing_month_usd, c["default_housing_month_usd"], "housing") * months, 2
    )
    if profile.travel_cost_usd is not None:
        parts["travel"] = float(profile.travel_cost_usd)
    else:
        default = (
            c["default_travel_international_usd"]
            if needs_entry_visa(profile)
            else c["default_travel_domestic_usd"]
        )
        parts["travel"] = float(default)
        estimates.append("travel")
    parts["insurance"] = round(facts.value("insurance_month_usd") * months, 2)
    return {**parts, "cost_usd": round(sum(parts.values()), 2), "estimated": estimates}


@dataclass(frozen=True)
class Candidate:
    """One possible rotation: a program, a block, its cost and its effect."""

    index: int  # position in the candidate table
    program_id: str
    block: Block
    apply_by: object
    kind: str
    cost: float
    value: float  # gain in match probability if done alone
    tier: str | None
    state: str
    group: int  # candidates with identical effect share a group
    odds_ratio: float = 1.0  # interview odds multiplier at the program (R-L, R-W2, R-Y)
    letter_weight: float = 0.0  # share of a US radiology letter it adds in time (R-V4, R-W2, R-W3)
    usce_months: float = 0.0  # US clinical months it adds to the record (R-V4)


@dataclass
class Selection:
    """The chosen set and its value."""

    chosen: tuple[Candidate, ...]
    value: float
    cost: float
    notes: list[str] = field(default_factory=list)


def compatible(a: Candidate, b: Candidate) -> bool:
    """Different programs and non-overlapping blocks."""
    return a.program_id != b.program_id and not a.block.overlaps(b.block)


def balanced(cands: Sequence[Candidate], aspirational: Callable[[Candidate], bool]) -> bool:
    """R-B1: one aspirational academic programme with some IMG history plus one realistic
    (IMG-friendly or mid-tier) programme of a lower tier."""
    for a in cands:
        if not aspirational(a):
            continue
        for b in cands:
            if b is a or b.tier not in ("img_friendly", "mid_tier"):
                continue
            if TIER_RANK.get(a.tier or "", 0) > TIER_RANK.get(b.tier or "", 0):
                return True
    return False


class Objective:
    """Gain in match probability of a set of rotations (expectation over quality nodes), plus
    the R-B1 balance bonus. Two channels (R-V4): each rotation's effect at its host
    (`effects`, per node) and the letters and US months all of them add to the record
    (`channel`, concave in what is added). Sub-additive, so the sum of single gains bounds
    any set from above."""

    def __init__(
        self,
        base_no_match: np.ndarray,
        effects: dict[int, np.ndarray],
        bonus: float,
        aspirational: Callable[[Candidate], bool],
        weights: np.ndarray | None = None,
        channel=None,
    ):
        self.base = base_no_match  # per-node P(no match) without rotations
        self.effects = effects  # group -> per-node change of log P(no match) at the host
        self.bonus = bonus
        self.aspirational = aspirational
        n = len(base_no_match)
        self.weights = np.full(n, 1.0 / n) if weights is None else weights
        self.channel = channel  # odds.RecordChannel, or None for the host channel alone
        self.const = 0.0  # gain that does not depend on the host channel (see given_letters)

    def given_letters(self, letters: float, months: float) -> Objective:
        """The same objective for sets that add exactly these letters and months: a constant
        (the letter channel's gain) plus a host-channel gain on a re-weighted base. One per
        letters and months, kept: searches at other budgets reuse what it has prepared."""
        return _kept(
            self, "_letter_objectives", (letters, months), lambda: self._given_letters(letters, months)
        )

    def _given_letters(self, letters: float, months: float) -> Objective:
        effect = self.letter_effect(letters, months)[0]
        sub = Objective(self.base * np.exp(effect), self.effects, self.bonus, self.aspirational, self.weights)
        sub.const = float(self.mean(self.base * -np.expm1(effect)))
        sub._host_matrix = self.host_matrix()  # same host effects: share their matrix
        return sub

    def host_matrix(self) -> tuple[dict[int, int], np.ndarray]:
        """Every effect group's per-node 1 - e^effect as one matrix (row of each group), built
        once and shared with the objectives `given_letters` derives."""
        m = self.__dict__.get("_host_matrix")
        if m is None:
            ids = sorted(self.effects)
            m = ({g: i for i, g in enumerate(ids)}, -np.expm1(np.stack([self.effects[g] for g in ids])))
            self._host_matrix = m
        return m

    def mean(self, per_node: np.ndarray) -> np.ndarray:
        return per_node @ self.weights

    def letter_effect(self, letters: np.ndarray | float, months: np.ndarray | float) -> np.ndarray:
        """Per-node change of log P(no match) from letters and months added (rows x nodes)."""
        if self.channel is None:
            return np.zeros((np.size(letters), len(self.base)))
        if np.ndim(letters) == 0 and np.ndim(months) == 0:  # sets repeat the same totals: cache
            key = (round(float(letters), 9), round(float(months), 9))
            cache = self.__dict__.setdefault("_letter_cache", {})
            if key not in cache:
                cache[key] = self.channel.effect(self.channel.shift(letters, months))
            return cache[key]
        return self.channel.effect(self.channel.shift(letters, months))

    def _letters(self, cands: Sequence[Candidate]) -> np.ndarray:
        return self.letter_effect(sum(c.letter_weight for c in cands), sum(c.usce_months for c in cands))[0]

    def gain(self, cands: Sequence[Candidate]) -> float:
        if not cands:
            return 0.0
        total = sum(self.effects[c.group] for c in cands) + self._letters(cands)
        return self.const + float(self.mean(self.base * -np.expm1(total)))

    def host_singles(self, groups: Sequence[int]) -> dict[int, float]:
        """Host-channel gain of one rotation of each effect group, in one step."""
        ids = sorted(set(groups))
        if not ids:
            return {}
        row, matrix = self.host_matrix()
        gains = (self.base[None, :] * matrix[[row[g] for g in ids]]) @ self.weights
        return dict(zip(ids, gains.tolist(), strict=True))

    def host_gain(self, cands: Sequence[Candidate]) -> float:
        """Gain through the host channel alone."""
        if not cands:
            return 0.0
        return float(self.mean(self.base * -np.expm1(sum(self.effects[c.group] for c in cands))))

    def letter_gain(self, letters: float, months: float) -> float:
        """Gain through the letter channel alone, for letters and months added."""
        if self.channel is None:
            return 0.0
        return float(self.mean(self.base * -np.expm1(self.letter_effect(letters, months)[0])))

    def letter_gain_of(self, cands: Sequence[Candidate]) -> float:
        if not cands:
            return 0.0
        return self.letter_gain(sum(c.letter_weight for c in cands), sum(c.usce_months for c in cands))

    def channels(self, cands: Sequence[Candidate]) -> dict[str, float]:
        """The set's gain split by channel (R-V4): each channel alone, then scaled so that the
        two add up to the joint gain."""
        if not cands:
            return {"host": 0.0, "letter": 0.0}
        host, letter = self.host_gain(cands), self.letter_gain_of(cands)
        joint = self.gain(cands)
        scale = joint / (host + letter) if host + letter > 0 else 0.0
        return {"host": host * scale, "letter": letter * scale}

    def __call__(self, cands: Sequence[Candidate]) -> float:
        g = self.gain(cands)
        return g * (1 + self.bonus) if len(cands) >= 2 and balanced(cands, self.aspirational) else g


def _better(a: tuple, b: tuple | None) -> bool:
    """Compare (value, cost, dates, ids) keys: higher value, then cheaper, then earlier, then id."""
    if b is None:
        return True
    if a[0] > b[0] + 1e-12:
        return True
    if a[0] < b[0] - 1e-12:
        return False
    return a[1:] < b[1:]


def _key(cands: Sequence[Candidate], value: float, fixed: float) -> tuple:
    ordered = sorted(cands, key=lambda c: (c.block.start, c.program_id))
    cost = sum(c.cost for c in cands) + (fixed if cands else 0.0)
    return (
        value,
        round(cost, 2),
        tuple(c.block.start for c in ordered),
        tuple(c.program_id for c in ordered),
    )


def best_set(
    cands: Sequence[Candidate], k: int, budget: float, fixed_cost: float, objective: Objective
) -> Selection:
    """The most valuable feasible set of at most k candidates (`_best_set`), remembered on the
    objective for each candidate list: the best set found under budget B, costing C, is also
    the best under any budget between C and B (a smaller budget only removes sets, and this
    one is still among them). A budget curve or a preference search asks for many budgets
    over the same candidates; each distinct answer is searched for once."""
    # Keyed by the candidates' identities (hashing the candidates themselves was a fifth of
    # a budget curve's time); the entry keeps them alive, so an identity is never reused.
    cands = tuple(cands)
    key = (tuple(map(id, cands)), k, round(fixed_cost, 6))
    memo = objective.__dict__.setdefault("_best_sets", {}).setdefault(key, [])
    for high, sel, _ in memo:
        if sel.cost - 1e-9 <= budget <= high:
            return sel
    sel = _best_set(_without_twins(cands, k, objective), k, budget, fixed_cost, objective)
    memo.append((budget, sel, cands))
    return sel


def _without_twins(cands: tuple, k: int, objective: Objective) -> tuple:
    """The candidates less those of programs that cannot be in the best set: of each family
    of twins, only the k with the smallest ids are kept.

    Twins are programs whose rotations are the same in everything the search weighs (blocks,
    cost, effect, letters and months, tier and whether aspirational); only their ids differ.
    A set holds a program at most once, so a set with one twin but not another of a smaller
    id has a copy, with that twin at the same block instead, worth the same and costing the
    same, that wins the tie on ids (`_key`). The best set therefore only uses a family's
    smallest ids, at most k of them, and the answer is the same with or without the others.
    Without this a table with many identical programs (copied rows, or rows that differ only
    in name) made the search try every one of the equally good sets: with 200 copies of one
    program, one applicant's plan took 222-318 s, past the default 300 s limit per applicant."""
    return _kept(
        objective, "_without_twins", (tuple(map(id, cands)), k), lambda: _drop_twins(cands, k, objective)
    )[0]


def _drop_twins(cands: tuple, k: int, objective: Objective) -> tuple:
    by_program: dict[str, list[Candidate]] = {}
    for c in cands:
        by_program.setdefault(c.program_id, []).append(c)
    families: dict[tuple, list[str]] = {}
    for pid, members in by_program.items():
        twin = tuple(
            (
                c.block,
                c.apply_by,
                c.kind,
                c.cost,
                c.value,
                c.tier,
                c.odds_ratio,
                c.letter_weight,
                c.usce_months,
                bool(objective.aspirational(c)),
                objective.effects[c.group].tobytes(),
            )
            for c in sorted(members, key=lambda c: (c.block.start, c.block.end))
        )
        families.setdefault(twin, []).append(pid)
    keep = {pid for ids in families.values() for pid in sorted(ids)[:k]}
    kept = cands if len(keep) == len(by_program) else tuple(c for c in cands if c.program_id in keep)
    return kept, cands  # the list it came from, kept alive (its identities are the key)


def _best_set(
    cands: Sequence[Candidate], k: int, budget: float, fixed_cost: float, objective: Objective
) -> Selection:
    """Exact branch and bound: the most valuable feasible set of at most k candidates.

    Feasible = distinct programs, non-overlapping blocks, total cost (with the once-only
    fixed cost such as visa fees) within the budget.

    With the letter channel (R-V4) the search runs once per combination of letter classes
    (a class = the letter weight and US months a rotation adds). Within a combination the
    letter effect L is fixed, and 1 - e^(H+L) = (1 - e^L) + e^L (1 - e^H) makes the gain a
    constant plus a host-channel gain on a re-weighted base: sub-additive, so the sum of
    single host gains bounds any set (times the balance bonus). Combinations are tried from
    the most promising and skipped once their bound falls below the best set found.
    """
    if not cands or k < 1:
        return Selection((), 0.0, 0.0)
    best: list = [None, ()]
    if objective.channel is None:
        _search(list(cands), k, budget, fixed_cost, objective, best, None)
    else:
        classes: dict[tuple, list[Candidate]] = {}
        for c in cands:
            classes.setdefault((c.letter_weight, c.usce_months), []).append(c)
        keys = sorted(classes, reverse=True)
        costs = {key: sorted(c.cost for c in members) for key, members in classes.items()}
        combos = []
        for r in range(1, k + 1):
            for combo in itertools.combinations_with_replacement(keys, r):
                counts = {key: combo.count(key) for key in dict.fromkeys(combo)}
                cheapest = fixed_cost + sum(sum(costs[key][:m]) for key, m in counts.items())
                if all(len(classes[key]) >= m for key, m in counts.items()) and cheapest <= budget + 1e-9:
                    combos.append((combo, counts))
        plans = []
        if combos:
            # Every group's host gain under every combination's letter effect L, in one
            # product: sum over nodes of w * base * e^L * (1 - e^effect).
            row, matrix = objective.host_matrix()
            letters = np.stack(
                [objective.letter_effect(sum(x[0] for x in c), sum(x[1] for x in c))[0] for c, _ in combos]
            )
            singles = (matrix * (objective.base * objective.weights)[None, :]) @ np.exp(letters).T
            consts = (objective.base[None, :] * -np.expm1(letters)) @ objective.weights
            rows = {key: np.array([row[c.group] for c in members]) for key, members in classes.items()}
            for j, (combo, counts) in enumerate(combos):
                tops = sum(float(np.sort(singles[rows[key], j])[::-1][:m].sum()) for key, m in counts.items())
                plans.append(((1 + objective.bonus) * (float(consts[j]) + tops), combo))
        plans.sort(key=lambda x: -x[0])
        for bound, combo in plans:
            if best[0] is not None and bound < best[0][0] - 1e-12:
                break
            pool = [c for key in set(combo) for c in classes[key]]
            sub = objective.given_letters(sum(x[0] for x in combo), sum(x[1] for x in combo))
            _search(pool, len(combo), budget, fixed_cost, sub, best, combo)
    if best[0] is None:
        return Selection((), 0.0, 0.0)
    chosen = tuple(sorted(best[1], key=lambda c: c.block.start))
    return Selection(chosen, best[0][0], best[0][1])


def _search(
    cands: list[Candidate],
    k: int,
    budget: float,
    fixed_cost: float,
    objective: Objective,
    best: list,
    combo: tuple | None,
) -> None:
    """Branch and bound over host-channel gains; `best` = [key, set] is shared and updated.
    With `combo`, only sets of exactly that multiset of letter classes count."""
    if not cands:
        return
    prep = _prepared(cands, objective)
    order, singles, arr, cls, cls_arr = prep.order, prep.singles, prep.arrays, prep.classes, prep.class_hashes
    cheapest_after, two_cheapest = prep.cheapest_after, prep.two_cheapest
    asp_left_l, real_left_l = prep.aspirational_left, prep.realistic_left
    n = len(order)
    with_bonus = 1 + objective.bonus

    def factors(chosen: Sequence[Candidate]) -> tuple[bool, bool]:
        """Whether the chosen members already hold an aspirational and a realistic one."""
        return (
            any(objective.aspirational(c) for c in chosen),
            any(c.tier in ("img_friendly", "mid_tier") for c in chosen),
        )

    def factor_at(start: int, has: tuple[bool, bool]) -> float:
        if start >= n:
            return 1.0
        asp = asp_left_l[start] or has[0]
        real = real_left_l[start] or has[1]
        return with_bonus if asp and real else 1.0

    def remaining(chosen: Sequence[Candidate]) -> list | None:
        if combo is None:
            return None
        left = list(combo)
        for c in chosen:
            left.remove((c.letter_weight, c.usce_months))
        return left

    def consider(chosen: list[Candidate]) -> None:
        if combo is not None and len(chosen) != len(combo):
            return
        key = _key(chosen, objective(chosen), fixed_cost)
        if _better(key, best[0]):
            best[0], best[1] = key, tuple(chosen)

    def last_level(start: int, chosen: list[Candidate], cost: float) -> None:
        stop = n
        if best[0] is not None:  # host gains are sorted: past `stop` no member can beat the best
            base_gain = objective.gain(chosen) if chosen else objective.const
            factor = factor_at(start, factors(chosen))
            limit = best[0][0] - 1e-12
            stop = start + int(
                np.searchsorted(-factor * (base_gain + arr.single[start:]), -limit, side="right")
            )
        idx = arr.feasible(start, stop, chosen, budget - cost - (0.0 if chosen else fixed_cost))
        left = remaining(chosen)
        if left is not None:
            idx = idx[cls_arr[idx] == hash(left[0])]
        if idx.size == 0:
            return
        values = arr.values(idx, chosen)
        top = values.max()
        if best[0] is not None and top < best[0][0] - 1e-9:
            return
        for j in idx[values >= top - 1e-9]:
            consider([*chosen, order[j]])

    def visit(start: int, chosen: list[Candidate], cost: float) -> None:
        if chosen:
            consider(chosen)
        room = k - len(chosen)
        if room == 0:
            return
        if room == 1 or cost + (0.0 if chosen else fixed_cost) + two_cheapest[start] > budget + 1e-9:
            if room == 1 or combo is None:  # at most one more member fits
                last_level(start, chosen, cost)
            return
        base_gain = objective.gain(chosen) if chosen else objective.const
        left = remaining(chosen)
        has = factors(chosen)
        for i in range(start, n):
            bound = factor_at(i, has) * (base_gain + sum(singles[i : i + room]))
            if best[0] is not None and bound < best[0][0] - 1e-12:
                return
            c = order[i]
            if left is not None and cls[i] not in left:
                continue
            extra = c.cost + (fixed_cost if not chosen else 0.0)
            if cost + extra > budget + 1e-9:
                continue
            if all(compatible(c, o) for o in chosen):
                chosen.append(c)
                if cost + extra + cheapest_after[i] <= budget + 1e-9:
                    visit(i + 1, chosen, cost + extra)
                else:  # no further member fits: only this set itself can count
                    consider(chosen)
                chosen.pop()

    visit(0, [], 0.0)


def _kept(objective: Objective, table: str, key, make: Callable[[], Any]) -> Any:
    """make(), remembered on the objective under `key` in its `table`: it lives as long as
    the analysis that owns the objective, and every budget of a curve asks again."""
    memo = objective.__dict__.setdefault(table, {})
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = make()
    return hit


@dataclass
class _Prepared:
    """What a search needs of its candidates whatever the budget, in search order."""

    order: list[Candidate]
    singles: list[float]  # each member's host-channel gain alone: the bound's terms
    arrays: _CandidateArrays
    classes: list[tuple]  # letter class (letter weight, US months) of each member
    class_hashes: np.ndarray
    aspirational_left: list[bool]  # an aspirational member is still possible from here on
    realistic_left: list[bool]  # likewise a realistic one (both: the R-B1 bonus may apply)
    cheapest_after: list[float]  # the cheapest member after each position
    two_cheapest: list[float]  # the two cheapest members from each position on, together
    cands: tuple  # the list it was prepared from, kept alive (its identities are the key)


def _prepared(cands: Sequence[Candidate], objective: Objective) -> _Prepared:
    """The search order and arrays for these candidates, remembered on the objective: a
    budget curve searches the same candidates under the same objective at many budgets."""
    return _kept(objective, "_prepared", tuple(map(id, cands)), lambda: _prepare(tuple(cands), objective))


def _prepare(cands: tuple, objective: Objective) -> _Prepared:
    order = sorted(cands, key=lambda c: (-c.value, c.cost, c.block.start, c.program_id))
    host = objective.host_singles([c.group for c in order])
    order.sort(key=lambda c: -host[c.group])  # stable: ties keep the order above
    n = len(order)
    singles = [host[c.group] for c in order]
    arr = _CandidateArrays(order, objective)
    arr.single = np.array(singles)
    cls = [(c.letter_weight, c.usce_months) for c in order]
    # The balance bonus (R-B1) can only apply where an aspirational and a realistic member
    # are still possible: elsewhere the bound needs no bonus factor.
    asp_left = np.logical_or.accumulate(arr.aspirational[::-1])[::-1]
    real_left = np.logical_or.accumulate(arr.realistic[::-1])[::-1]
    # The cheapest member still possible after each position: a set that cannot afford one
    # more member is complete where it stands.
    cheapest_after = [*np.minimum.accumulate(arr.cost[::-1])[::-1].tolist()[1:], math.inf]
    two_cheapest = [math.inf] * (n + 1)
    low = [math.inf, math.inf]
    for i in range(n - 1, -1, -1):
        low = sorted([*low, float(arr.cost[i])])[:2]
        two_cheapest[i] = low[0] + low[1]
    return _Prepared(
        order=order,
        singles=singles,
        arrays=arr,
        classes=cls,
        class_hashes=np.array([hash(x) for x in cls]),
        # Plain lists: the search reads one element at a time, which numpy makes slow.
        aspirational_left=asp_left.tolist(),
        realistic_left=real_left.tolist(),
        cheapest_after=cheapest_after,
        two_cheapest=two_cheapest,
        cands=cands,
    )


class _CandidateArrays:
    """Candidates as arrays, to score every possible last member of a set in one step."""

    def __init__(self, order: Sequence[Candidate], objective: Objective):
        self.objective = objective
        groups = sorted({c.group for c in order})
        row = {g: i for i, g in enumerate(groups)}
        self.effects = np.stack([objective.effects[g] for g in groups])
        self.rows = np.array([row[c.group] for c in order])
        self.cost = np.array([c.cost for c in order])
        self.single = np.array([c.value for c in order])
        self.letter = np.array([c.letter_weight for c in order])
        self.months = np.array([c.usce_months for c in order])
        self.start = np.array([c.block.start.toordinal() for c in order])
        self.end = np.array([c.block.end.toordinal() for c in order])
        codes = {p: i for i, p in enumerate(dict.fromkeys(c.program_id for c in order))}
        program = np.array([codes[c.program_id] for c in order])
        # free[i, j]: candidate j can join a set holding candidate i (another program, and
        # blocks that do not overlap), worked out once for the whole search.
        self.free = (program[:, None] != program[None, :]) & (
            (self.start[None, :] > self.end[:, None]) | (self.start[:, None] > self.end[None, :])
        )
        self.position = {id(c): i for i, c in enumerate(order)}
        self.rank = np.array([TIER_RANK.get(c.tier or "", 0) for c in order])
        self.realistic = np.array([c.tier in ("img_friendly", "mid_tier") for c in order])
        self.aspirational = np.array([bool(objective.aspirational(c)) for c in order])

    def feasible(self, start: int, stop: int, chosen: Sequence[Candidate], room: float) -> np.ndarray:
        ok = self.cost[start:stop] <= room + 1e-9
        for o in chosen:  # members of this search's candidates
            ok &= self.free[self.position[id(o)], start:stop]
        return np.flatnonzero(ok) + start

    def values(self, idx: np.ndarray, chosen: Sequence[Candidate]) -> np.ndarray:
        obj = self.objective
        total = sum((obj.effects[c.group] for c in chosen), np.zeros_like(obj.base))
        letters = obj.letter_effect(
            sum(c.letter_weight for c in chosen) + self.letter[idx],
            sum(c.usce_months for c in chosen) + self.months[idx],
        )
        gains = obj.const + obj.mean(
            obj.base[None, :] * -np.expm1(total[None, :] + self.effects[self.rows[idx]] + letters)
        )
        if not chosen:
            return gains
        asp_ranks = [TIER_RANK.get(c.tier or "", 0) for c in chosen if obj.aspirational(c)]
        real_ranks = [
            TIER_RANK.get(c.tier or "", 0) for c in chosen if c.tier in ("img_friendly", "mid_tier")
        ]
        max_asp = max(asp_ranks, default=-1)
        min_real = min(real_ranks, default=99)
        bal = (
            (len(chosen) >= 2 and balanced(chosen, obj.aspirational))
            | (self.aspirational[idx] & (self.rank[idx] > min_real))
            | (self.realistic[idx] & (max_asp > self.rank[idx]))
        )
        return np.where(bal, gains * (1 + obj.bonus), gains)


def exhaustive_best(
    cands: Sequence[Candidate], k: int, budget: float, fixed_cost: float, objective: Objective
) -> Selection:
    """Reference answer by trying every subset (for tests on small instances)."""
    best_key, best_set_ = None, ()
    for r in range(1, k + 1):
        for combo in itertools.combinations(cands, r):
            if any(not compatible(a, b) for a, b in itertools.combinations(combo, 2)):
                continue
            cost = sum(c.cost for c in combo) + fixed_cost
            if cost > budget + 1e-9:
                continue
            key = _key(combo, objective(combo), fixed_cost)
            if _better(key, best_key):
                best_key, best_set_ = key, combo
    if best_key is None:
        return Selection((), 0.0, 0.0)
    return Selection(tuple(sorted(best_set_, key=lambda c: c.block.start)), best_key[0], best_key[1])


def build_candidates(
    profile: Profile,
    programs: pd.DataFrame,
    table: pd.DataFrame,
    model,
    facts: Facts,
    assume: Assumptions,
    today=None,
    channel=None,
    letter_dates: tuple | None = None,
    not_before=None,
) -> tuple[pd.DataFrame, list[Candidate], dict[int, np.ndarray]]:
    """Every (program, block) rotation this applicant could do, with cost and effect.

    `table` is the per-program analysis (status, rotation status/kind, leverage, tier).
    `channel` (odds.RecordChannel) values the letter and US months a rotation adds
    everywhere (R-V4); `letter_dates` = (programs review ERAS, rank-list deadline) decide
    whether its letter counts in full, in part or not (R-W2, R-W3). `not_before`: no
    application before that date (R-G1: no paid rotation before a Step 1 result).
    """
    o, rv = assume.value("odds"), assume.value("rotation_value")
    lc = assume.value("letter_channel")
    weights = getattr(model, "weights", None)
    base_nm = np.exp(model_base(model))
    if weights is None:
        weights = np.full(len(base_nm), 1.0 / len(base_nm))
    away_or = facts.value("away_match_or")
    default_lead = float(assume.value("default_application_lead_weeks"))
    rows, cands, effects, groups = [], [], {}, {}
    pos = {pid: i for i, pid in enumerate(model.program_ids)}
    for prog, info in zip(programs.itertuples(index=False), table.itertuples(index=False), strict=True):
        if info.rotation_status == "excluded" or info.status == "excluded" or pd.isna(info.leverage):
            continue
        kind = info.rotation_kind
        lead = _num(prog.application_lead_weeks) or default_lead
        try:
            months = parse_months(prog.rotation_months) if isinstance(prog.rotation_months, str) else None
        except ValueError:
            months = None
        cost = rotation_cost(profile, prog, kind, facts, assume)
        unknown = info.rotation_status == "unknown" or info.status == "unknown"
        for block, apply_by in feasible_blocks(profile, months, lead, assume, today):
            if not_before is not None and apply_by < not_before:
                continue
            mw = month_weight(block.start, assume)  # R-W2 May-July best, R-W3 Aug-Sep less
            # R-Y1 VSLO > R-Y2 direct elective > R-Y3 observership, through the kind weight
            exponent = (
                float(o["association_exponent"]) * float(info.leverage) * mw * float(rv["kind_weight"][kind])
            )
            if unknown:
                exponent *= float(rv["unknown_rotation_discount"])
            gkey = (prog.program_id, round(exponent, 9))
            if gkey not in groups:
                groups[gkey] = len(groups)
                effects[groups[gkey]] = model.rotation_effect(pos[prog.program_id], away_or**exponent)
            g = groups[gkey]
            letter, usce = letter_contribution(block, kind, unknown, letter_dates, lc, rv, assume)
            letters = (
                channel.effect(channel.shift(letter, usce))[0]
                if channel is not None
                else np.zeros_like(base_nm)
            )
            value = float((base_nm * -np.expm1(effects[g] + letters)) @ weights)
            idx = len(rows)
            rows.append(
                {
                    "program_id": prog.program_id,
                    "name": prog.name,
                    "state": prog.state,
                    "tier": info.tier,
                    "kind": kind,
                    "rotation_status": info.rotation_status,
                    "start": block.start,
                    "end": block.end,
                    "apply_by": apply_by,
                    "month_weight": mw,
                    "leverage": float(info.leverage),
                    "gain": round(value, 5),
                    **{p: cost[p] for p in COST_PARTS},
                    "cost_usd": cost["cost_usd"],
                    "estimated": ", ".join(cost["estimated"]),
                }
            )
            cands.append(
                Candidate(
                    idx,
                    prog.program_id,
                    block,
                    apply_by,
                    kind,
                    cost["cost_usd"],
                    value,
                    info.tier if isinstance(info.tier, str) else None,
                    prog.state,
                    g,
                    away_or**exponent,
                    letter,
                    usce,
                )
            )
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS), cands, effects


def letter_contribution(block, kind: str, unknown: bool, letter_dates, lc: dict, rv: dict, assume) -> tuple:
    """(letter weight, US clinical months) one rotation adds to the record (R-V4).

    A full letter when the block ends `letter_lead_days` before programs review ERAS (R-W2),
    part of one when it ends before the rank-list deadline (R-W3), none later; weighted by
    kind (R-Y1..R-Y3) and discounted where the host's eligibility is unknown."""
    if letter_dates is None:
        return 0.0, 0.0
    review, rank_deadline = letter_dates
    ready = block.end + dt.timedelta(days=int(lc["letter_lead_days"]))
    if ready <= review:
        w = float(lc["letter_ready_weight"])
    elif ready <= rank_deadline:
        w = float(lc["late_letter_weight"])
    else:
        w = 0.0
    w *= float(lc["kind_weight"][kind])
    months = float(assume.value("rotation_weeks")) * 7 / 30.4375 if lc["count_usce"][kind] else 0.0
    if unknown:
        w *= float(rv["unknown_rotation_discount"])
        months *= float(rv["unknown_rotation_discount"])
    return round(w, 6), round(months, 6)


def model_base(model) -> np.ndarray:
    """Per-draw log P(no match) without rotations (cached on the model)."""
    cached = getattr(model, "_base_log_no_match", None)
    if cached is None:
        cached = model.log_no_match()
        model._base_log_no_match = cached
    return cached


@dataclass
class Plan:
    """The recommended rotations and the reasoning about how many."""

    selection: Selection
    notes: list[str]  # advice with rule IDs
    warnings: list[tuple[str, str]]
    serves: dict[str, list[str]] = field(default_factory=dict)  # program_id -> preferences served


@dataclass(frozen=True)
class Preferences:
    """What the applicant prefers (R-B3): preferred and tie states, interests, and for each
    program the interests it offers and its R-L4 fit."""

    preferred_states: frozenset[str] = frozenset()
    ties_states: frozenset[str] = frozenset()
    interests_offered: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fit: dict[str, float] = field(default_factory=dict)
    ambitious: bool = False  # R-B2: a strong profile takes the ambitious half of the pair

    def weight(self, program_id: str, state: str) -> int:
        """How much a program serves the preferences: a preferred or tie state counts 2,
        an interest it offers 1 (a place is the more specific wish)."""
        w = 2 if state in self.preferred_states or state in self.ties_states else 0
        return w + (1 if self.interests_offered.get(program_id) else 0)

    def __bool__(self) -> bool:
        return bool(self.preferred_states or self.ties_states or any(self.interests_offered.values()))

    def served(self, program_id: str, state: str) -> list[str]:
        """The preferences a rotation or signal at this program serves, in words."""
        out = []
        if state in self.preferred_states:
            out.append(f"preferred state {state}")
        if state in self.ties_states:
            out.append(f"tie to {state}")
        offered = self.interests_offered.get(program_id, ())
        if offered:
            out.append("interest in " + ", ".join(offered))
        return out


def preferences(
    profile: Profile, programs: pd.DataFrame, fit: dict[str, float] | None = None, strong: bool = False
) -> Preferences:
    """R-B3: the applicant's preferences against the program table (interests are matched
    to the programs' subspecialties; story interests such as academic are not places).
    `strong` (R-B2) asks for the ambitious half of the pair where one is worth its place."""
    offered: dict[str, tuple[str, ...]] = {}
    wanted = set(profile.interests)
    if "subspecialties" in programs.columns and wanted:
        for pid, subs in zip(programs["program_id"], programs["subspecialties"], strict=True):
            have = {x.strip() for x in str(subs).split(";")} if isinstance(subs, str) else set()
            offered[str(pid)] = tuple(i for i in profile.interests if i in have)
    return Preferences(
        frozenset(profile.preferred_states), frozenset(profile.ties_states), offered, dict(fit or {}), strong
    )


def _served(c: Candidate, prefs: Preferences | None) -> list[str]:
    return prefs.served(c.program_id, c.state) if prefs else []


def _compatible_with(c: Candidate, cands: list[Candidate], objective: Objective) -> tuple[Candidate, ...]:
    """The candidates that can join c, remembered on the objective: a budget curve asks for
    the same anchor in the same list at every budget."""
    key = (id(c), tuple(map(id, cands)))
    # c and cands are kept alive with the answer: their identities are the key
    return _kept(
        objective, "_compatible", key, lambda: (tuple(o for o in cands if compatible(c, o)), c, cands)
    )[0]


def _preferred_best(
    cands: list[Candidate],
    k: int,
    budget: float,
    fixed_cost: float,
    objective: Objective,
    prefs: Preferences | None,
    keep_share: float,
) -> tuple[Selection, Selection]:
    """R-B3: the best set by the model, and the set chosen with preferences: among sets worth
    at least `keep_share` of the best value (R-B1 balance bonus included), the one with an
    aspirational member when the profile is strong (R-B2), then serving the preferences
    most (preferred or tie states before interests), then the most valuable. Tried: the
    best set, the best set of preferred candidates only, and sets built around each of the
    best few preferred (and, for a strong profile, aspirational) programs."""
    best = best_set(cands, k, budget, fixed_cost, objective)
    if prefs is None or not best.chosen:
        return best, best
    liked = [c for c in cands if prefs.weight(c.program_id, c.state)]
    tries = [best]
    if liked:
        tries.append(best_set(liked, k, budget, fixed_cost, objective))
    anchors = sorted(
        liked, key=lambda c: (-prefs.weight(c.program_id, c.state), -c.value, c.cost, c.block.start)
    )
    if prefs.ambitious:
        ambitious = [c for c in cands if objective.aspirational(c)]
        anchors = (
            sorted(
                ambitious,
                key=lambda c: (-prefs.weight(c.program_id, c.state), -c.value, c.cost, c.block.start),
            )
            + anchors
        )
    seen: set[str] = set()
    for c in anchors:
        if c.program_id in seen or len(seen) >= 8:
            continue
        seen.add(c.program_id)
        if c.cost + fixed_cost > budget + 1e-9:
            continue
        rest = _compatible_with(c, cands, objective)
        sub = best_set(rest, k - 1, budget - c.cost - fixed_cost, 0.0, objective) if k > 1 else None
        chosen = tuple(sorted((c, *(sub.chosen if sub else ())), key=lambda x: x.block.start))
        cost = round(sum(x.cost for x in chosen) + fixed_cost, 2)
        tries.append(Selection(chosen, objective(chosen), cost))

    def score(sel: Selection) -> tuple:
        bold = prefs.ambitious and any(objective.aspirational(c) for c in sel.chosen)
        served = sum(prefs.weight(c.program_id, c.state) for c in sel.chosen)
        return (bold, served, sel.value, -sel.cost)

    ok = [t for t in tries if t.chosen and t.value >= keep_share * best.value - 1e-12]
    return best, max(ok, key=score)


def choose(
    profile: Profile,
    cands: list[Candidate],
    objective: Objective,
    fixed_cost: float,
    away_value: str,
    fit: dict[str, float],
    assume: Assumptions,
    budget: float | None = None,
    prefs: Preferences | None = None,
) -> Plan:
    """How many rotations and which: R-N1 (one or two), R-N2 (a third only if all hold, and
    it names its reason), R-N3 (never more than three; warn), R-V2 (less critical -> one),
    R-B3 (preferred states and interests shape the choice within R-B1/R-B2)."""
    rc = assume.value("rotation_count")
    budget = profile.budget_usd if budget is None else budget
    keep = float(assume.value("preference")["keep_share"])
    notes, warnings = [], []
    # A rotation must add enough to the match chance to be worth its money (R-V3).
    floor = float(assume.value("rotation_value")["min_gain_points"]) / 100
    cands = [c for c in cands if c.value >= floor]
    k = int(rc["recommended_max"])
    if away_value == "lower":
        k = 1
        notes.append("R-V2: your US experience is already solid, so one well-chosen rotation is enough")
    if profile.max_rotations is not None:
        if profile.max_rotations > int(rc["hard_max"]):
            warnings.append(
                (
                    "R-N3",
                    f"max_rotations is {profile.max_rotations}: more than three brings diminishing returns and burnout, and programs may ask why so many were needed; the plan stops at three",
                )
            )
        k = min(k, profile.max_rotations)
    model_best, sel = _preferred_best(cands, k, budget, fixed_cost, objective, prefs, keep)
    if prefs is not None and prefs.ambitious and any(objective.aspirational(c) for c in sel.chosen):
        bold = next(c for c in sel.chosen if objective.aspirational(c))
        notes.append(
            f"R-B2: a strong profile: {bold.program_id} ({bold.tier}) is the ambitious half of the plan"
        )
    allow_third = (
        (profile.max_rotations is None or profile.max_rotations >= 3) and k == 2 and len(sel.chosen) == 2
    )
    if allow_third:
        best3, third = _preferred_best(cands, 3, budget, fixed_cost, objective, prefs, keep)
        if len(third.chosen) == 3 and third.value > sel.value + 1e-9:
            failed = third_rotation_blockers(profile, third, fit, budget, assume)
            if failed:
                notes.append("R-N2: a third rotation is not advised: " + "; ".join(failed))
            else:
                notes.append(
                    "R-N2: a third rotation is justified: "
                    + third_rotation_reason(profile, third, fit, assume)
                )
                sel, model_best = third, best3
    serves = {c.program_id: _served(c, prefs) for c in sel.chosen}
    if prefs is not None and sel.chosen:
        ids = {c.program_id for c in sel.chosen}
        if ids != {c.program_id for c in model_best.chosen}:
            other = ", ".join(f"{c.program_id} ({c.state})" for c in model_best.chosen)
            why = "your preferences" if prefs else "the ambitious half a strong profile calls for (R-B2)"
            notes.append(
                f"R-B3: chosen for {why} over {other}, which the odds model alone would pick "
                f"({points_text(100 * model_best.value)} against {points_text(100 * sel.value)} points with the balance bonus; "
                f"assumption preference.keep_share = {keep:g})"
            )
        for c in sel.chosen:
            what = (
                "; ".join(serves[c.program_id])
                or "none of your stated preferences (chosen for its effect and the balance)"
            )
            notes.append(f"R-B3: {c.program_id} ({c.state}) serves {what}")
    if sel.chosen:
        notes.append(f"R-N1: {len(sel.chosen)} well-chosen rotation(s) planned")
    return Plan(sel, notes, warnings, serves)


def third_rotation_blockers(
    profile: Profile, sel: Selection, fit: dict[str, float], budget: float, assume: Assumptions
) -> list[str]:
    """R-N2's three conditions; returns the ones that fail (empty = all hold)."""
    rc = assume.value("rotation_count")
    failed = []
    if sel.cost > float(rc["third_affordable_share"]) * budget:
        failed.append(
            f"three would cost ${sel.cost:,.0f}, more than {float(rc['third_affordable_share']):.0%} of the budget"
        )
    weakest = min(sel.chosen, key=lambda c: c.value)
    places = set(profile.preferred_states) | set(profile.ties_states)
    if weakest.state not in places and fit.get(weakest.program_id, 0) < float(rc["fit_reason_min"]):
        failed.append(f"no specific geographic or fit reason for {weakest.program_id}")
    for a, b in itertools.combinations(sel.chosen, 2):
        if REGION.get(a.state) == REGION.get(b.state) and a.tier == b.tier:
            failed.append(
                f"{a.program_id} and {b.program_id} are not distinct opportunities (same region and tier)"
            )
            break
    return failed


def third_rotation_reason(
    profile: Profile, sel: Selection, fit: dict[str, float], assume: Assumptions
) -> str:
    """R-N2: the specific reason for the third rotation (state, tie or interest fit) and
    what it adds beside the other two (region, tier), in words."""
    rc = assume.value("rotation_count")
    third = min(sel.chosen, key=lambda c: c.value)
    others = [c for c in sel.chosen if c is not third]
    why = []
    if third.state in profile.ties_states:
        why.append(f"a tie to {third.state}")
    if third.state in profile.preferred_states:
        why.append(f"{third.state} is a preferred state")
    f = fit.get(third.program_id, 0.0)
    if f >= float(rc["fit_reason_min"]):
        interests = ", ".join(i for i in profile.interests) or "your story"
        why.append(f"it fits your interests ({interests}; fit {f:.2f})")
    region, tier = REGION.get(third.state, "another region"), third.tier or "no tier"
    seen = ", ".join(
        f"{c.program_id} ({REGION.get(c.state, c.state)}, {c.tier or 'no tier'})" for c in others
    )
    return (
        f"{third.program_id} in {third.state}: "
        + " and ".join(why)
        + f"; it adds a {tier} program in the {region} beside {seen}, and three cost ${sel.cost:,.0f}, "
        f"within {float(rc['third_affordable_share']):.0%} of the budget"
    )


def prefer_signals(
    profile: Profile, signals: pd.DataFrame, table: pd.DataFrame, prefs: Preferences
) -> pd.DataFrame:
    """R-B3 within R-B1/R-B2: re-rank the suggested signals by the applicant's preferences.

    Signals where the applicant rotates stay. Every other signal is swapped for an open
    program of the same tier (the balance the odds model chose) that serves the
    preferences more (a preferred or tie state before an interest), the one with the
    highest interview chance among the best served; its chance with the signal uses the
    same odds multiplier as the signal it replaces. `why` names the
    preference served. Without preferences the signals are returned unchanged."""
    if not prefs or signals.empty:
        return signals
    info = table.set_index("program_id")
    used = set(signals["program_id"])
    rows = []
    pool = table.loc[table["status"] != "excluded"].sort_values(
        ["interview_chance", "program_id"], ascending=[False, True]
    )
    for r in signals.to_dict("records"):
        pid = r["program_id"]
        state = str(info.at[pid, "state"]) if pid in info.index else ""
        served = prefs.served(pid, state)
        if r["why"].startswith("where you rotate"):
            rows.append(r)
            continue
        tier = info.at[pid, "tier"] if pid in info.index else None
        have = prefs.weight(pid, state)
        swap, best_w = None, have
        for c in pool.itertuples(index=False):
            if c.program_id in used or c.tier != tier:
                continue
            w = prefs.weight(c.program_id, str(c.state))
            if w > best_w:  # the pool is sorted by interview chance: the first of each weight wins
                swap, best_w = c, w
        if swap is None:
            if served:
                r = {**r, "why": f"{r['why']}; serves your {'; '.join(served)} (R-B3)"}
            rows.append(r)
            continue
        used.add(swap.program_id)
        ic, ws = float(r["interview_chance"]), float(r["with_signal"])
        mult = (ws / (1 - ws)) / (ic / (1 - ic)) if 0 < ic < 1 and 0 < ws < 1 else 1.0
        p = float(swap.interview_chance)
        with_signal = p * mult / (1 - p + p * mult) if p < 1 else p
        rows.append(
            {
                **r,
                "program_id": swap.program_id,
                "why": f"serves your {'; '.join(prefs.served(swap.program_id, str(swap.state)))} (R-B3), "
                f"in place of {pid} of the same tier (R-B1 balance kept)",
                "interview_chance": round(p, 3),
                "with_signal": round(with_signal, 3),
            }
        )
    return pd.DataFrame(rows, columns=signals.columns)


ALTERNATIVE_COLUMNS = ["kind", "cost_usd", "fits_budget", "needs_visa", "feasible", "why", "rule", "hosts"]


def alternatives(
    profile: Profile,
    facts: Facts,
    assume: Assumptions,
    observer_hosts: Sequence[str] = (),
    budget_left: float | None = None,
    weighed: dict | None = None,
    today=None,
) -> pd.DataFrame:
    """R-V3/R-Y3: what to do instead of (or beside) away rotations, as objects with
    `kind, cost_usd, fits_budget, needs_visa, feasible, why` (plus rule and hosts).

    `observer_hosts` are programs whose table says they take observers (visiting_students
    observer_only); no other host is named, the text says to ask. `budget_left` is what
    the plan leaves of the budget. `weighed` describes observerships the plan itself
    considered and rejected ({"hosts", "best_points", "floor_points"}), so that an
    observership is never offered without saying what differs."""
    c = assume.value("costs")
    weeks = int(assume.value("rotation_weeks"))
    months = weeks * 7 / 30.4375
    left = float(profile.budget_usd if budget_left is None else budget_left)
    visa = needs_entry_visa(profile)
    travel = profile.travel_cost_usd
    if travel is None:
        travel = c["default_travel_international_usd"] if visa else c["default_travel_domestic_usd"]
    obs_fee = facts.get("commercial_observership_4wk_usd")
    observership = round(
        obs_fee.value + c["default_housing_month_usd"] * months + float(travel) + visa_fee(profile, facts), 2
    )
    first = earliest_start(profile, assume, today)
    obs_feasible = first + pd.Timedelta(weeks=weeks).to_pytimedelta() <= profile.window_end
    why = [
        f"exposure and possibly a letter if faculty engage, no formal evaluation; cost: a {weeks}-week placement fee "
        f"${obs_fee.value:,.0f} ({obs_fee.trust} trust: {obs_fee.source}) + housing + travel"
        + (" + visa fees" if visa else "")
    ]
    if visa:
        why.append("needs the same visitor visa as a rotation")
    if not obs_feasible:
        why.append(
            f"not possible this cycle: {sequence_explanation(profile, assume, today)}, after your window ends on {profile.window_end}"
        )
    if weighed and weighed.get("hosts"):
        why.append(
            f"the plan weighed observerships at {weighed['hosts']} host(s) in your table and none adds "
            f"{weighed['floor_points']:g} points to your match chance (the best adds {points_text(weighed['best_points'])}); "
            "a paid placement differs only in being arranged for you, so take one for exposure or a letter, not for the odds"
        )
    if observership > left:
        why.append(f"costs ${observership:,.0f}, above the ${left:,.0f} left in your budget")
    if observer_hosts:
        why.append("programs in your table that take observers: " + ", ".join(observer_hosts))
    else:
        why.append("no program in your table is known to take observers: ask departments (R-K2)")
    rows = [
        {
            "kind": "observership",
            "cost_usd": observership,
            "fits_budget": observership <= left,
            "needs_visa": visa,
            "feasible": bool(obs_feasible),
            "why": "; ".join(why),
            "rule": "R-Y3",
            "hosts": list(observer_hosts),
        }
    ]
    for kind, cost, what in (
        (
            "virtual_elective",
            float(c["virtual_elective_usd"]),
            "contact with a US department from home, no visa or travel",
        ),
        (
            "research",
            float(c["research_elective_usd"]),
            "imaging research with a US team (remote), a possible letter and publications",
        ),
    ):
        key = f"costs.{kind if kind == 'virtual_elective' else 'research_elective'}_usd"
        text = f"{what}; cost from assumption `{key}` in {assume.file_label}"
        if cost > left:
            text += f"; costs ${cost:,.0f}, above the ${left:,.0f} left in your budget"
        rows.append(
            {
                "kind": kind,
                "cost_usd": cost,
                "fits_budget": cost <= left,
                "needs_visa": False,
                "feasible": True,
                "why": text,
                "rule": "R-V3",
                "hosts": [],
            }
        )
    return pd.DataFrame(rows, columns=ALTERNATIVE_COLUMNS)
