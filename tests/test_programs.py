"""Program tables: blank means unknown (never false or zero); problems name row and field."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from helpers.config import DEFAULT_PROGRAMS, ROOT
from helpers.errors import InputError
from helpers.programs import load_programs


def write(tmp_path, text, name="p.csv", encoding="utf-8"):
    f = tmp_path / name
    f.write_bytes(text.encode(encoding))
    return f


def test_bundled_table_loads_with_unknowns():
    t = load_programs(DEFAULT_PROGRAMS)
    assert len(t) == 200
    assert t["program_id"].is_unique
    assert t["sponsors_j1"].isna().sum() > 0  # blanks are kept as unknown
    assert str(t["sponsors_j1"].dtype) == "boolean"


@pytest.mark.slow
def test_bundled_table_is_what_the_script_makes(tmp_path):
    out = tmp_path / "programs.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_programs.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == DEFAULT_PROGRAMS.read_bytes()


def test_bundled_table_follows_published_aggregates():
    """Make-up checks against data/facts (known values only): J-1 73.1%, H-1B 23.2%, any IMG 66.1%."""
    t = load_programs(DEFAULT_PROGRAMS)
    j1 = t["sponsors_j1"].dropna().mean()
    h1b = t["sponsors_h1b"].dropna().mean()
    img = (t["img_share_pct"].dropna() > 0).mean()
    assert abs(j1 - 0.731) < 0.05
    assert abs(h1b - 0.232) < 0.05
    assert abs(img - 0.661) < 0.05
    assert 1050 < t["positions"].sum() <= 1186
    assert t["name"].str.contains("(fictional)", regex=False).all()


def test_required_columns_only(tmp_path):
    t = load_programs(write(tmp_path, "program_id,name,state\nX,Some Hospital,NY\n"))
    assert t.loc[2, "considers_imgs"] is pd.NA
    assert pd.isna(t.loc[2, "host_fee_usd"])


def test_boolean_spellings(tmp_path):
    t = load_programs(
        write(tmp_path, "program_id,name,state,sponsors_j1\nA,a,NY,Yes\nB,b,NY,0\nC,c,NY,TRUE\nD,d,NY,\n")
    )
    assert t["sponsors_j1"].tolist() == [True, False, True, pd.NA]


@pytest.mark.parametrize(
    ("text", "row", "field", "words"),
    [
        ("program_id,name,state,sponsors_j1\nA,a,NY,maybe\n", 2, "sponsors_j1", "true/false"),
        ("program_id,name,state,positions\nA,a,NY,-3\n", 2, "positions", "between"),
        ("program_id,name,state,setting\nA,a,NY,private\n", 2, "setting", "not one of"),
        ("program_id,name,state\nA,a,NY\nA,b,OH\n", 3, "program_id", "duplicate"),
        ("program_id,name,state\nA,a,Ohiio\n", 2, "state", "two-letter code or its name"),
        ("program_id,name,state,rotation_months\nA,a,NY,4-13\n", 2, "rotation_months", "months"),
        ("program_id,name,state\nA,,NY\n", 2, "name", "blank"),
    ],
)
def test_problems_name_row_and_field(tmp_path, text, row, field, words):
    with pytest.raises(InputError) as exc:
        load_programs(write(tmp_path, text))
    p = exc.value.problems[0]
    assert (p.row, p.field) == (row, field)
    assert words in str(p)


def test_missing_required_column(tmp_path):
    with pytest.raises(InputError, match="field 'state': required column is missing"):
        load_programs(write(tmp_path, "program_id,name\nA,a\n"))


def test_excel_bom_latin1_and_semicolons(tmp_path):
    bom = write(tmp_path, "\ufeffprogram_id,name,state\nA,Hôpital,NY\n", "bom.csv")
    assert load_programs(bom).loc[2, "name"] == "Hôpital"
    latin = write(
        tmp_path, "program_id;name;state\nA;Hôpital Saint-Jérôme;NY\n", "latin.csv", encoding="cp1252"
    )
    assert load_programs(latin).loc[2, "name"] == "Hôpital Saint-Jérôme"


def test_xlsx_round_trip(tmp_path):
    f = tmp_path / "p.xlsx"
    pd.DataFrame(
        {
            "program_id": ["A", "B"],
            "name": ["a", "b"],
            "state": ["NY", "TX"],
            "positions": [4, None],
            "sponsors_j1": [True, None],
        }
    ).to_excel(f, index=False)
    t = load_programs(f)
    assert t["positions"].tolist() == [4, pd.NA]
    assert t["sponsors_j1"].tolist() == [True, pd.NA]


def test_empty_and_header_only(tmp_path):
    with pytest.raises(InputError, match="file is empty"):
        load_programs(write(tmp_path, ""))
    with pytest.raises(InputError, match="no data rows"):
        load_programs(write(tmp_path, "program_id,name,state\n"))
