"""Build data/programs.csv: an illustrative table of fictional DR programs.

No open per-program DR data exists (data/README.md, known gaps), so the bundled table is
made up, but its make-up follows the published aggregates in data/facts/:
  - total positions = 2024 DR positions offered (nrmp_dr_match_by_year.csv, 1,186);
  - 73.1% sponsor J-1, 23.2% H-1B, 66.1% have any IMG (published_effects.csv, 2023 PD survey);
  - states that matched no IMG in DR in 2020 (state_img_share_dr_2020.csv) get none here.
Everything else (settings, research, fees, months, blanks) is drawn from the stated
assumptions below. Names are invented and marked "(fictional)". Fixed seed: the same
table every run.

    python scripts/make_programs.py [--out data/programs.csv] [--n 200]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FACTS = ROOT / "data" / "facts"
SEED = 20261125

COLUMNS = [
    "program_id", "name", "state", "city", "setting", "positions", "research_strength",
    "nci_cancer_center", "fellowships", "img_share_pct", "non_us_img_recent", "considers_imgs",
    "sponsors_j1", "sponsors_h1b", "visiting_students", "requires_step1", "requires_lcme",
    "requires_affiliation", "host_fee_usd", "non_lcme_surcharge_usd", "housing_month_usd",
    "application_lead_weeks", "rotation_months", "step2_typical", "step2_min", "subspecialties",
    "source_url", "verified_on", "notes",
]  # fmt: skip

# Assumptions of the generator (not facts): rough state weights by population, setting mix,
# route mix, fee and housing ranges. They shape an illustration, not a dataset.
STATE_WEIGHTS = {
    "CA": 10, "TX": 8, "NY": 9, "FL": 6, "PA": 6, "IL": 5, "OH": 5, "MI": 4, "MA": 5, "NC": 3,
    "GA": 3, "VA": 3, "NJ": 3, "WA": 2, "AZ": 2, "TN": 2, "MO": 2, "MD": 2, "WI": 2, "MN": 2,
    "IN": 2, "CO": 2, "CT": 2, "LA": 1, "KY": 1, "OK": 1, "AL": 1, "SC": 1, "UT": 1, "IA": 1,
    "KS": 1, "NE": 1, "AR": 1, "OR": 1, "DC": 1, "NM": 1,
}  # fmt: skip
HIGH_COST = {"NY", "MA", "CA", "DC", "NJ", "WA", "CT", "MD"}
SETTINGS = (["academic", "hybrid", "community"], [0.5, 0.3, 0.2])
ROUTES = {
    "academic": [0.70, 0.10, 0.10, 0.10],
    "hybrid": [0.50, 0.20, 0.15, 0.15],
    "community": [0.25, 0.25, 0.25, 0.25],
}
ROUTE_NAMES = ["vslo", "direct", "observer_only", "none"]
SUBS = ["neuro", "msk", "ir", "body", "breast", "peds", "nucs", "chest", "er", "cardiac"]
MONTHS = (["4-9", "5-8", "6-9", "4;5;6;7", "7-9", "1-12"], [0.5, 0.15, 0.1, 0.1, 0.05, 0.1])
FEES = [0, 50, 100, 150, 200, 250, 300, 400, 500, 600]
BLANK_SHARE = 0.06
OPTIONAL_BLANKABLE = [
    c for c in COLUMNS if c not in ("program_id", "name", "state", "source_url", "verified_on", "notes")
]
PLACE_A = ["Amber", "Birch", "Cedar", "Copper", "Crystal", "Elm", "Fern", "Granite", "Harbor", "Heron", "Juniper", "Lantern", "Maple", "Meadow", "Oak", "Orchid", "Pine", "Quarry", "Raven", "River", "Sage", "Silver", "Spruce", "Stone", "Summit", "Thistle", "Willow", "Wren", "Aspen", "Bramble", "Clover", "Falcon", "Hazel", "Ivy", "Larch", "Marigold", "Nettle", "Otter", "Poplar", "Rowan"]  # fmt: skip
PLACE_B = [
    "brook",
    "field",
    "haven",
    "ridge",
    "vale",
    "ford",
    "wood",
    "crest",
    "moor",
    "port",
    "dale",
    "gate",
    "hollow",
    "mere",
    "stead",
]
KIND = {
    "academic": ["University Medical Center", "University Hospital", "School of Medicine"],
    "hybrid": ["Regional Medical Center", "Health System", "Medical Center"],
    "community": ["Community Hospital", "Memorial Hospital", "General Hospital"],
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def sourced_targets() -> dict[str, float]:
    """The published aggregates the table must follow, read from data/facts/."""
    effects = {
        r["metric"]: float(r["value"]) for r in read_csv(FACTS / "published_effects.csv") if r["value"]
    }
    positions = next(
        int(r["positions_offered"])
        for r in read_csv(FACTS / "nrmp_dr_match_by_year.csv")
        if r["year"] == "2024" and r["position_type"] == "All DR"
    )
    no_img_states = [
        r["state"] for r in read_csv(FACTS / "state_img_share_dr_2020.csv") if float(r["img_matched"]) == 0
    ]
    return {
        "positions": positions,
        "j1_share": effects["dr_programs_offering_j1_pct"] / 100,
        "h1b_share": effects["dr_programs_offering_h1b_pct"] / 100,
        "any_img_share": effects["dr_programs_with_at_least_one_img_pct"] / 100,
        "no_img_states": no_img_states,
    }


def build(n: int = 200, seed: int = SEED) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    t = sourced_targets()
    states = list(STATE_WEIGHTS)
    weights = np.array([STATE_WEIGHTS[s] for s in states], dtype=float)
    state = rng.choice(states, size=n, p=weights / weights.sum())
    setting = rng.choice(SETTINGS[0], size=n, p=SETTINGS[1])

    # positions: skewed sizes scaled so that the total equals the published total.
    raw = rng.lognormal(mean=1.6, sigma=0.5, size=n) * np.where(setting == "academic", 1.4, 0.8)
    positions = np.maximum(2, np.round(raw / raw.sum() * t["positions"])).astype(int)
    order = np.argsort(-positions)
    i = 0
    while positions.sum() != t["positions"]:
        j = order[i % n]
        step = 1 if positions.sum() < t["positions"] else -1
        if positions[j] + step >= 2:
            positions[j] += step
        i += 1

    # IMG history: exactly the published share with any IMG; none in the no-IMG states.
    propensity = rng.random(n) + np.select([setting == "community", setting == "hybrid"], [0.5, 0.25], 0.0)
    propensity[np.isin(state, t["no_img_states"])] = -1
    any_img = np.zeros(n, dtype=bool)
    any_img[np.argsort(-propensity)[: round(t["any_img_share"] * n)]] = True
    residents5 = positions * 5
    img_share = np.where(any_img, np.clip(rng.beta(2, 5, n) * 60, 2, 70), 0.0)
    img_total = np.maximum(np.round(img_share / 100 * residents5), any_img.astype(int))
    img_share = np.round(img_total / residents5 * 100, 1)
    non_us = np.where(any_img, np.round(img_total * rng.uniform(0.4, 0.9, n)), 0).astype(int)

    considers = np.ones(n, dtype=bool)
    no_img_idx = np.flatnonzero(~any_img)
    considers[rng.choice(no_img_idx, size=len(no_img_idx) // 3, replace=False)] = False

    # visas: exact published shares; J-1 goes first to programs with IMG history.
    j1 = np.zeros(n, dtype=bool)
    j1_rank = np.argsort(-(propensity + any_img * 2 + considers * 4 + rng.random(n) * 0.1))
    j1[j1_rank[: round(t["j1_share"] * n)]] = True
    h1b = np.zeros(n, dtype=bool)
    h1b_rank = np.argsort(-(j1 * 2 + non_us / 10 + rng.random(n)))
    h1b[h1b_rank[: round(t["h1b_share"] * n)]] = True

    research = np.array(
        [
            rng.choice(["high", "medium", "low"], p={"academic": [0.5, 0.4, 0.1], "hybrid": [0.15, 0.6, 0.25], "community": [0.02, 0.28, 0.7]}[s])
            for s in setting
        ]
    )  # fmt: skip
    nci = (setting == "academic") & (research == "high") & (rng.random(n) < 0.6) | (rng.random(n) < 0.03)
    fellows = np.select(
        [setting == "academic", setting == "hybrid"],
        [rng.integers(3, 10, n), rng.integers(0, 5, n)],
        rng.integers(0, 2, n),
    )
    route = np.array([rng.choice(ROUTE_NAMES, p=ROUTES[s]) for s in setting])
    lcme_p = np.select([setting == "academic", setting == "hybrid"], [0.35, 0.2], 0.1)
    surcharge = np.where(
        rng.random(n) < 0.8,
        0,
        np.where((research == "high") & (rng.random(n) < 0.35), 5000, rng.choice([500, 750, 1000, 1500], n)),
    )
    housing = np.where(
        np.isin(state, list(HIGH_COST)), rng.integers(18, 27, n) * 100, rng.integers(9, 17, n) * 100
    )
    step2_typ = np.select(
        [research == "high", research == "medium"], [rng.integers(252, 263, n), rng.integers(245, 256, n)], rng.integers(238, 251, n)
    )  # fmt: skip
    step2_min = np.where(rng.random(n) < 0.4, step2_typ - rng.integers(15, 26, n), -1)

    used_names: set[str] = set()
    rows = []
    for k in range(n):
        while True:
            place = rng.choice(PLACE_A) + rng.choice(PLACE_B)
            name = f"{place} {rng.choice(KIND[setting[k]])} (fictional)"
            if name not in used_names:
                used_names.add(name)
                break
        n_subs = {
            "academic": rng.integers(4, 8),
            "hybrid": rng.integers(2, 5),
            "community": rng.integers(1, 4),
        }[setting[k]]
        row = {
            "program_id": f"P{k + 1:03d}",
            "name": name,
            "state": str(state[k]),
            "city": rng.choice(PLACE_A) + rng.choice(PLACE_B),
            "setting": str(setting[k]),
            "positions": str(positions[k]),
            "research_strength": str(research[k]),
            "nci_cancer_center": str(bool(nci[k])).lower(),
            "fellowships": str(int(fellows[k])),
            "img_share_pct": f"{img_share[k]:g}",
            "non_us_img_recent": str(int(non_us[k])),
            "considers_imgs": str(bool(considers[k])).lower(),
            "sponsors_j1": str(bool(j1[k])).lower(),
            "sponsors_h1b": str(bool(h1b[k])).lower(),
            "visiting_students": str(route[k]),
            "requires_step1": str(bool(rng.random() < 0.65)).lower(),
            "requires_lcme": str(bool(rng.random() < lcme_p[k])).lower(),
            "requires_affiliation": str(bool(rng.random() < 0.1)).lower(),
            "host_fee_usd": str(int(rng.choice(FEES))),
            "non_lcme_surcharge_usd": str(int(surcharge[k])),
            "housing_month_usd": str(int(housing[k])),
            "application_lead_weeks": str(int(rng.integers(12, 27))),
            "rotation_months": str(rng.choice(MONTHS[0], p=MONTHS[1])),
            "step2_typical": str(int(step2_typ[k])),
            "step2_min": "" if step2_min[k] < 0 else str(int(step2_min[k])),
            "subspecialties": ";".join(sorted(rng.choice(SUBS, size=n_subs, replace=False), key=SUBS.index)),
            "source_url": "",
            "verified_on": "",
            "notes": "fictional program for illustration; make-up follows published aggregates",
        }
        if not considers[k]:
            row["sponsors_j1"] = row["sponsors_h1b"] = "false"
        rows.append(row)

    # Blank cells = unknown, as in real directories; never in the id, name and state.
    for row in rows:
        for col in OPTIONAL_BLANKABLE:
            if rng.random() < BLANK_SHARE:
                row[col] = ""
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "programs.csv"))
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    Path(args.out).write_text(to_csv(build(args.n)), encoding="utf-8")
    print(f"wrote {args.n} fictional programs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
