"""The advisor's overview: figures per applicant, who is at risk, common questions, escaping."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from conftest import ROOT
from matplotlib.figure import Figure

from helpers import overview
from helpers.views import Table


def summary(aid: str, **kw) -> dict:
    """A small summary.json-shaped dict (only what the overview reads)."""
    programs = kw.pop(
        "programs",
        [
            {"program_id": "P1", "status": "eligible", "questions": ["R-K2: Does P1 take J-1?"]},
            {"program_id": "P2", "status": "unknown", "questions": ["R-K2: Does P2 take visitors?"]},
            {"program_id": "P3", "status": "excluded", "questions": []},
        ],
    )
    return {
        "applicant_id": aid,
        "programs": programs,
        "rotations": kw.pop("rotations", [{"program_id": "P1"}]),
        "total_cost_usd": kw.pop("cost", 3000.0),
        "budget_usd": kw.pop("budget", 5000.0),
        "alternatives": kw.pop("alternatives", []),
        "warnings": kw.pop("warnings", []),
        "match_probability": {
            "with_plan": {"match_probability": kw.pop("chance", 0.5)},
            "without_rotations": {"match_probability": 0.45},
        },
    }


def write_run(tmp_path, summaries: list[dict], failed: dict[str, str] | None = None):
    rows = []
    for s in summaries:
        (tmp_path / s["applicant_id"]).mkdir()
        (tmp_path / s["applicant_id"] / "summary.json").write_text(json.dumps(s))
        rows.append({"applicant_id": s["applicant_id"], "status": "ok", "seconds": "1.00", "error": ""})
    for aid, error in (failed or {}).items():
        rows.append({"applicant_id": aid, "status": "failed", "seconds": "0.00", "error": error})
    with (tmp_path / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["applicant_id", "status", "seconds", "error"])
        w.writeheader()
        w.writerows(rows)
    return tmp_path


def test_record_counts_programs_and_keeps_only_risk_warnings():
    row, pairs = overview.record(
        summary(
            "a1",
            warnings=[
                {"rule": "R-K2", "message": "confirm"},
                {"rule": "R-W5", "message": "Step 1 not passed"},
            ],
        )
    )
    assert (row["eligible"], row["unknown"], row["excluded"], row["rotations"]) == (1, 1, 1, 1)
    assert row["risk_rules"] == ["R-W5"] and row["risk_messages"] == ["R-W5: Step 1 not passed"]
    assert pairs == [("P1", "R-K2: Does P1 take J-1?"), ("P2", "R-K2: Does P2 take visitors?")]


def test_at_risk_flags_each_reason_and_leaves_the_others_out(tmp_path):
    run = write_run(
        tmp_path,
        [
            summary("fine"),
            summary("no-rotation", rotations=[], cost=0.0, alternatives=["observership"]),
            summary("low-chance", chance=0.1),
            summary("visa", warnings=[{"rule": "R-A2", "message": "H-1B needs Step 3"}]),
            summary("step2", warnings=[{"rule": "R-C4", "message": "below minimum"}]),
            summary("closed", programs=[{"program_id": "P3", "status": "excluded", "questions": []}]),
        ],
        failed={"broken": "notebook cell failed"},
    )
    c = overview.from_reports(run)
    risky = overview.at_risk(c, low_chance=0.3).set_index("applicant_id")
    assert "fine" not in risky.index and "broken" not in risky.index
    assert risky.loc["no-rotation", "why"] == ["no away rotation possible (alternatives: observership)"]
    assert risky.loc["low-chance", "why"] == ["low match chance: 10% with the plan"]
    assert risky.loc["visa", "why"] == ["R-A2: H-1B needs Step 3"]
    assert risky.loc["step2", "why"] == ["R-C4: below minimum"]
    assert risky.loc["closed", "why"] == ["no eligible program"]
    counts = overview.risk_counts(c, low_chance=0.3).set_index("risk")["applicants"]
    assert counts["no away rotation possible"] == 1
    assert counts["match chance with the plan below 30%"] == 1
    assert counts["report failed"] == 1
    assert list(c.failed["applicant_id"]) == ["broken"]
    # the line moves with the parameter
    assert "low-chance" not in overview.at_risk(c, low_chance=0.05)["applicant_id"].tolist()


def test_common_questions_count_applicants_per_program_question(tmp_path):
    run = write_run(
        tmp_path,
        [
            summary("a"),
            summary("b"),
            summary(
                "c",
                programs=[
                    {"program_id": "P2", "status": "unknown", "questions": ["R-K2: Does P2 take visitors?"]}
                ],
            ),
        ],
    )
    c = overview.from_reports(run)
    q = overview.common_questions(c, top=5)
    assert q.iloc[0][["program_id", "applicants"]].tolist() == ["P2", 3]
    assert q.iloc[1][["program_id", "applicants"]].tolist() == ["P1", 2]


def test_reports_folder_without_manifest_is_read_from_summaries(tmp_path):
    write_run(tmp_path, [summary("a"), summary("b")])
    (tmp_path / "manifest.csv").unlink()
    c = overview.from_reports(tmp_path)
    assert sorted(c.applicants["applicant_id"]) == ["a", "b"] and c.failed.empty


def test_tables_escape_everything_and_link_ids_only_next_to_reports(tmp_path):
    run = write_run(tmp_path, [summary("a-1", warnings=[{"rule": "R-A2", "message": "<script>x</script>"}])])
    c = overview.from_reports(run)
    html = overview.table(overview.at_risk(c), c)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<a href='a-1/report.html'>a-1</a>" in html
    c.linked = False
    assert "<a href" not in overview.table(overview.at_risk(c), c)._repr_html_()
    assert overview.table(c.failed)._repr_html_() == "<p><em>(none)</em></p>"


def test_the_overview_table_is_a_views_table_whose_links_and_lists_stay_escaped():
    """views.Table renders the overview: an id that tries to leave its link is text, each
    reason is a line of its own, and headers read as words."""
    frame = pd.DataFrame({"applicant_id": ["x'><script>y</script>"], "why": [["a <b>", "c & d"]]})
    t = overview.table(frame, overview.Cohort(frame, frame.iloc[0:0], linked=True))
    assert isinstance(t, Table)
    html = t._repr_html_()
    assert "<script>" not in html and "x'>" not in html
    assert "<a href='x&#x27;&gt;&lt;script&gt;y&lt;/script&gt;/report.html'>" in html
    assert "<td>a &lt;b&gt;<br>c &amp; d</td>" in html
    assert "<th scope='col'>applicant</th><th scope='col'>why</th>" in html


@pytest.mark.slow
def test_example_cohort_in_process_has_ids_not_names_and_the_expected_risks():
    c = overview.from_profiles(ROOT / "data" / "example-cohort", ROOT / "data" / "programs.csv")
    assert len(c.applicants) == 10 and c.failed.empty
    risky = overview.at_risk(c).set_index("applicant_id")
    assert "R-A2" in " ".join(risky.loc["ex03-h1b-no-step3", "why"])
    assert "R-W5" in " ".join(risky.loc["ex07-no-step1", "why"])
    assert any("no away rotation" in w for w in risky.loc["ex04-tiny-budget", "why"])
    page = " ".join(
        [
            overview.table(overview.at_risk(c), c)._repr_html_(),
            overview.headline(c).data,
            overview.table(overview.common_questions(c))._repr_html_(),
        ]
    )
    for name in ("Amina", "Rafael"):
        assert name not in page
    for fig in (overview.eligible_histogram(c), overview.budget_scatter(c), overview.chance_histogram(c)):
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert ax.get_title() and "(" in ax.get_xlabel() and "(" in ax.get_ylabel()


def test_figures_draw_for_an_empty_cohort(tmp_path):
    write_run(tmp_path, [], failed={"x": "bad row"})
    c = overview.from_reports(tmp_path)
    for fig in (overview.eligible_histogram(c), overview.budget_scatter(c), overview.chance_histogram(c)):
        fig.canvas.draw()
    assert overview.budget_table(c).empty
    assert "0 applicant(s) with a plan" in overview.headline(c).data


def test_figures_are_the_kits_plots_with_alt_text(tmp_path):
    """The overview's figures come from plots.py: the kit's style and a message as alt text."""
    write_run(tmp_path, [summary("a"), summary("b", rotations=[], cost=0.0, chance=0.1)])
    c = overview.from_reports(tmp_path)
    figs = {
        "eligible": overview.eligible_histogram(c),
        "budget": overview.budget_scatter(c),
        "chance": overview.chance_histogram(c, low_chance=0.3),
    }
    for fig in figs.values():
        assert fig.axes[0].title.get_fontweight() == "bold"  # plots.RC
    assert "range from 1 to 1" in figs["eligible"].awayplan_alt
    assert "rotations planned: 1 with 0, 1 with 1" in figs["budget"].awayplan_alt
    assert figs["chance"].awayplan_alt.endswith("1 below the at-risk line of 30%.")
