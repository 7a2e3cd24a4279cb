"""Where an applicant's time goes: the stage timer and `report --timings`."""

from __future__ import annotations

import csv
import time

import pytest
from conftest import example_timings_path

from helpers import stages
from helpers.stages import ORDER, Clock


def test_a_nested_stage_pauses_the_outer_one():
    stages.taken(reset=True)
    with stages.timed("figures"):
        time.sleep(0.05)
        with stages.timed("analysis"):
            time.sleep(0.1)
        time.sleep(0.05)
    took = stages.taken(reset=True)
    assert took["analysis"] >= 0.1
    assert 0.1 <= took["figures"] < took["analysis"] + 0.1  # the inner 0.1 s is not counted twice
    assert stages.taken() == {}


def test_timed_call_counts_every_call_and_keeps_the_function():
    @stages.timed_call("outputs")
    def write(x):
        """Docstring kept."""
        return x * 2

    stages.taken(reset=True)
    assert write(2) == 4 and write(3) == 6
    assert write.__doc__ == "Docstring kept." and "outputs" in stages.taken(reset=True)


def test_a_clock_adds_up_repeated_stages():
    clock = Clock()
    with clock("writing files"):
        time.sleep(0.01)
    clock.add("writing files", 0.5)
    clock.add("pdf", -1.0)  # a measurement never goes below zero
    assert clock.seconds["writing files"] >= 0.51 and clock.seconds["pdf"] == 0.0


@pytest.mark.slow
def test_timings_name_every_built_applicant_and_add_up_to_its_time(example_reports):
    """`report --timings`: each applicant's stages, in the kit's stage names, and their sum
    never more than the applicant's own time in manifest.csv; then the cohort's stages."""
    with example_timings_path(example_reports).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (example_reports / "manifest.csv").open(encoding="utf-8") as fh:
        seconds = {r["applicant_id"]: float(r["seconds"]) for r in csv.DictReader(fh)}
    per: dict[str, dict[str, float]] = {}
    cohort = {}
    for r in rows:
        if r["applicant_id"]:
            per.setdefault(r["applicant_id"], {})[r["stage"]] = float(r["seconds"])
        else:
            cohort[r["stage"]] = float(r["seconds"])
    assert set(per) == set(seconds)
    for aid, took in per.items():
        assert set(took) <= set(ORDER), took
        assert {"kernel start", "analysis", "figures", "notebook execution", "html export"} <= set(took)
        assert all(v >= 0 for v in took.values())
        assert sum(took.values()) <= seconds[aid] + 0.05, (aid, took, seconds[aid])
    assert set(cohort) == {"manifest and index", "overview"}
