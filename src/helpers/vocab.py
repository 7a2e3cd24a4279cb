"""Fixed vocabularies shared by profiles and program tables (R-L4 fit keywords, states)."""

from __future__ import annotations

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "PR",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)

# Subspecialty keywords used in the program table's `subspecialties` column.
SUBSPECIALTIES = ("neuro", "msk", "ir", "body", "breast", "peds", "nucs", "chest", "er", "cardiac")
# Story interests (R-L4): the kind of site that fits the applicant's narrative.
STORY_INTERESTS = ("academic", "research", "community")

INTEREST_ALIASES = {
    "neuroradiology": "neuro",
    "neuroimaging": "neuro",
    "neuro-imaging": "neuro",
    "musculoskeletal": "msk",
    "interventional": "ir",
    "interventional radiology": "ir",
    "abdominal": "body",
    "body imaging": "body",
    "breast imaging": "breast",
    "mammography": "breast",
    "pediatric": "peds",
    "paediatric": "peds",
    "pediatrics": "peds",
    "nuclear": "nucs",
    "nuclear medicine": "nucs",
    "thoracic": "chest",
    "cardiothoracic": "chest",
    "emergency": "er",
    "emergency radiology": "er",
    "cardiac imaging": "cardiac",
    "oncology imaging": "body",
    "academic radiology": "academic",
    "community radiology": "community",
    "imaging research": "research",
    "ai": "research",
}


def normalise_interest(word: str) -> str | None:
    """Map an interest as people write it to the kit's keyword, or None if unknown."""
    key = word.strip().lower()
    key = INTEREST_ALIASES.get(key, key)
    return key if key in SUBSPECIALTIES or key in STORY_INTERESTS else None
