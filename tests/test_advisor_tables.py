"""Program tables as advisors keep them: human headers, state names, Yes/No, "$1,200", "12%",
no id column, a note sheet first. Blank stays unknown (R-K2); ids are stable across runs."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT, awayplan

from helpers import cli
from helpers.analysis import analyse
from helpers.errors import InputError
from helpers.headers import HEADER_KEYS, header_key, make_program_id, nrmp_track, parse_state
from helpers.programs import load_programs, read_programs
from helpers.template import COLUMN_NOTES, COLUMNS, template_bytes

PROFILE = ROOT / "data" / "example-cohort" / "ex01-j1-student.yaml"

ADVISOR_HEADER = [
    "Program Name",
    "State",
    "City",
    "J-1 sponsor?",
    "H-1B sponsor?",
    "Considers IMGs?",
    "Visiting students?",
    "Host fee",
    "% IMGs",
    "Positions",
    "LCME only?",
    "Step 1 required?",
    "Notes",
]
ADVISOR_ROWS = [
    [
        "Hudson Valley Medical Center",
        "New York",
        "Albany",
        "Yes",
        "No",
        "Y",
        "VSLO",
        "$1,200",
        "12%",
        "6",
        "No",
        "✓",
        "nice",
    ],
    [
        "Lakeshore University Hospital",
        "Ohio",
        "Cleveland",
        "No",
        "",
        "yes",
        "direct",
        "$0",
        "5%",
        "8",
        "",
        "N",
        "",
    ],
    [
        "Prairie Community Radiology",
        "Nebraska",
        "Omaha",
        "",
        "No",
        "Yes",
        "observers only",
        "",
        "0%",
        "4",
        "No",
        "No",
        "",
    ],
    ["Bayou General", "La.", "New Orleans", "Yes", "Yes", "", "VSLO", "$350", "30%", "5", "", "", ""],
]
NOTE = "Radiology programs our office tracks. Blank = not known yet. Checked October 2026."


def advisor_csv(folder, name="advisor.csv"):
    path = folder / name
    frame = pd.DataFrame(ADVISOR_ROWS, columns=ADVISOR_HEADER)
    path.write_text(frame.to_csv(index=False), encoding="utf-8")
    return path


def advisor_xlsx(folder, name="advisor.xlsx", second_title="DR list 2027"):
    """A note sheet first; then the table under a note row, with typed cells as Excel keeps
    them: a percentage 0.12 shown as 12%, a fee 1200 shown as $1,200, a real boolean."""
    book = openpyxl.Workbook()
    note = book.active
    note.title = "Read me"
    note.append([NOTE])
    note.append(["Ask Dr. K before emailing programs."])
    sheet = book.create_sheet(second_title)
    sheet.append(["Updated by the IMG office"])
    sheet.append([])
    sheet.append(ADVISOR_HEADER)
    for row in ADVISOR_ROWS:
        cells = list(row)
        cells[7] = float(cells[7].replace("$", "").replace(",", "")) if cells[7] else None
        cells[8] = int(cells[8].rstrip("%")) / 100
        cells[9] = int(cells[9])
        sheet.append(cells)
    for r in range(4, 4 + len(ADVISOR_ROWS)):
        sheet.cell(row=r, column=8).number_format = '"$"#,##0'
        sheet.cell(row=r, column=9).number_format = "0%"
    sheet.cell(row=4, column=4).value = True  # a real TRUE cell for "J-1 sponsor?"
    path = folder / name
    book.save(path)
    return path


def check_advisor_table(t: pd.DataFrame) -> None:
    assert list(t["state"]) == ["NY", "OH", "NE", "LA"]
    assert t["sponsors_j1"].tolist() == [True, False, pd.NA, True]
    assert t["sponsors_h1b"].tolist() == [False, pd.NA, False, True]  # blank is unknown, never no
    assert t["considers_imgs"].tolist() == [True, True, True, pd.NA]
    assert t["visiting_students"].tolist() == ["vslo", "direct", "observer_only", "vslo"]
    assert t["host_fee_usd"].tolist() == [1200.0, 0.0, pd.NA, 350.0]
    assert t["img_share_pct"].tolist() == [12.0, 5.0, 0.0, 30.0]
    assert t["requires_step1"].tolist() == [True, False, False, pd.NA]
    assert t["program_id"].is_unique
    assert t.loc[t["state"] == "NY", "program_id"].item() == make_program_id(
        "Hudson Valley Medical Center", "NY"
    )


def test_advisor_csv_is_read(tmp_path):
    check_advisor_table(load_programs(advisor_csv(tmp_path)))


def test_advisor_xlsx_with_a_note_sheet_first_is_read(tmp_path):
    t = load_programs(advisor_xlsx(tmp_path))
    check_advisor_table(t)
    assert list(t.index) == [4, 5, 6, 7]  # spreadsheet rows under the note and the header


def test_ids_are_stable_across_runs_and_copies(tmp_path):
    first = load_programs(advisor_csv(tmp_path))["program_id"].tolist()
    again = load_programs(advisor_csv(tmp_path, "copy.csv"))["program_id"].tolist()
    xlsx = load_programs(advisor_xlsx(tmp_path))["program_id"].tolist()
    assert first == again == xlsx
    # the documented recipe: slug, state, 6 hex digits of SHA-1 of the normalised name|STATE
    assert (
        first[0]
        == "hudson-valley-medical-center-ny-"
        + __import__("hashlib").sha1(b"hudson valley medical center|NY").hexdigest()[:6]
    )
    # punctuation and case do not change the id; the state does
    assert make_program_id("St. Mary's Hospital", "NY") == make_program_id("ST MARYS HOSPITAL", "NY")
    assert make_program_id("St. Mary's Hospital", "NY") != make_program_id("St. Mary's Hospital", "NJ")


def test_same_name_and_state_twice_is_a_duplicate(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("Program Name,State\nCity Hospital,Texas\nCity Hospital,TX\n")
    with pytest.raises(InputError, match="duplicate program_id") as exc:
        load_programs(path)
    assert exc.value.problems[0].row == 3


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Program Name", "name"),
        ("PROGRAM  NAME", "name"),
        ("program-name", "name"),
        ("J-1 sponsor?", "sponsors_j1"),
        ("J1 Visa", "sponsors_j1"),
        ("H-1B Sponsorship", "sponsors_h1b"),
        ("Program Code", "program_id"),
        ("NRMP code", "program_id"),
        ("% IMGs", "img_share_pct"),
        ("IMG share (%)", "img_share_pct"),
        ("Host fee ($)", "host_fee_usd"),
        ("Host Fee USD", "host_fee_usd"),
        ("# Positions", "positions"),
        ("Step 2 CK cutoff", "step2_min"),
        ("Average Step 2 CK", "step2_typical"),
        ("Away rotations", "visiting_students"),
        ("Last verified", "verified_on"),
        ("step2_ck_cutoff", "step2_min"),
    ],
)
def test_header_synonyms(header, field):
    assert HEADER_KEYS[header_key(header)][0] == field


def test_every_kit_column_is_its_own_synonym():
    for column in COLUMNS:
        assert HEADER_KEYS[header_key(column)][0] == column


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("New York", "NY"),
        ("new york", "NY"),
        ("N.Y.", "NY"),
        ("ny", "NY"),
        ("Calif.", "CA"),
        ("Mass.", "MA"),
        ("District of Columbia", "DC"),
        ("Washington, D.C.", "DC"),
        ("Washington", "WA"),
        ("Puerto Rico", "PR"),
        ("W. Va.", "WV"),
    ],
)
def test_state_names_and_abbreviations(text, code):
    assert parse_state(text) == code


@pytest.mark.parametrize("text", ["Ohiio", "ZZ", "Ontario", "New"])
def test_unknown_state_is_refused(text):
    with pytest.raises(ValueError, match="two-letter code or its name"):
        parse_state(text)


def test_nrmp_codes_are_ids_and_their_track_is_read(tmp_path):
    path = tmp_path / "nrmp.csv"
    path.write_text(
        "NRMP Code,Program Name,State\n1234420C0,A Hospital,Ohio\n1234420A0,A Hospital,Ohio\n"
        "1234420R0,A Hospital,Ohio\n5678420P1,B Hospital,TX\nX-1,C Hospital,TX\n"
    )
    t = load_programs(path)
    assert t["program_id"].tolist() == ["1234420C0", "1234420A0", "1234420R0", "5678420P1", "X-1"]
    tracks = [None if pd.isna(v) else v for v in t["nrmp_track"]]
    assert tracks == ["categorical", "advanced", "reserved", "preliminary", None]
    assert nrmp_track(" 1234420r0 ") == "reserved"


def test_nrmp_code_wins_over_acgme_id_and_the_other_is_listed(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("ACGME ID,Program Code,Program Name,State\n4203521001,1234420C0,A,Ohio\n")
    t, mapping = read_programs(path)
    assert t["program_id"].tolist() == ["1234420C0"]
    assert ("ACGME ID", "'Program Code' already gives program_id") in mapping.ignored


def test_two_headers_for_one_field_are_refused(tmp_path, capsys):
    path = tmp_path / "two.csv"
    path.write_text("Program Name,Program,State\nA,B,Ohio\n")
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'Program Name' and 'Program' both read as 'name'" in err and "two.csv" in err


def test_blank_id_cells_are_filled_and_unknown_words_are_blank(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text(
        "program_id,name,state,sponsors_j1,host_fee_usd\nP1,A,Ohio,unknown,?\n,B,Texas,TBD,USD 900\n"
    )
    t = load_programs(path)
    assert t["program_id"].tolist() == ["P1", make_program_id("B", "TX")]
    assert t["sponsors_j1"].isna().all() and t["host_fee_usd"].tolist() == [pd.NA, 900.0]


def test_freida_program_types_and_route_spellings(tmp_path):
    path = tmp_path / "freida.csv"
    path.write_text(
        "Program Name,State,Program type,Away rotations\n"
        "A,Ohio,University-based,VSAS\nB,Ohio,Community-based university affiliated,Direct application\n"
        "C,Ohio,Community-based,No\n"
    )
    t = load_programs(path)
    assert t["setting"].tolist() == ["academic", "hybrid", "community"]
    assert t["visiting_students"].tolist() == ["vslo", "direct", "none"]


def test_validate_prints_the_mapping_and_writes_nothing(tmp_path, capsys):
    path = advisor_xlsx(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli.main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok: " in out and "program table of 4" in out
    assert "mapping: sheet 'DR list 2027', header in row 3" in out
    assert "'Program Name' -> name" in out and "'J-1 sponsor?' -> sponsors_j1" in out
    assert "'% IMGs' -> img_share_pct" in out
    assert "'Notes' ignored (no kit field has this name)" in out
    assert "program_id made from name and state for 4 row(s)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sheet_named_programs_wins(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Old list"
    book.active.append(["Program Name", "State"])
    book.active.append(["Old Hospital", "Ohio"])
    new = book.create_sheet("Programs 2027")
    new.append(["Program Name", "State"])
    new.append(["New Hospital", "Texas"])
    book.save(tmp_path / "two.xlsx")
    assert load_programs(tmp_path / "two.xlsx")["name"].tolist() == ["New Hospital"]


def test_several_candidate_sheets_are_an_error_listing_them(tmp_path, capsys):
    book = openpyxl.Workbook()
    for i, title in enumerate(["2026", "2027"]):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(["Program Name", "State"])
        sheet.append(["A Hospital", "Ohio"])
    book.save(tmp_path / "many.xlsx")
    assert cli.main(["validate", str(tmp_path / "many.xlsx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "many.xlsx" in err[0] and "sheets: '2026', '2027'" in err[0]


def test_explicit_mapping_file(tmp_path, capsys):
    table = tmp_path / "odd.csv"
    table.write_text("Inst,Loc,Visa J,Remarks\nA Hospital,Ohio,yes,x\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("Inst: name\nLoc: state\nVisa J: sponsors_j1\nRemarks: ignore\n")
    with pytest.raises(InputError, match="required column is missing"):
        load_programs(table)
    t = load_programs(table, columns=mapping)
    assert t["sponsors_j1"].tolist() == [True] and t["state"].tolist() == ["OH"]
    assert cli.main(["validate", str(table), "--columns", str(mapping)]) == 0
    out = capsys.readouterr().out
    assert (
        "columns from" in out
        and "map.yaml" in out
        and "'Inst' -> name" in out
        and "'Remarks' ignored (the mapping file says ignore)" in out
    )
    # beside the table as <stem>.columns.yaml, every command uses it without being told
    (tmp_path / "odd.columns.yaml").write_text(mapping.read_text())
    assert load_programs(table)["name"].tolist() == ["A Hospital"]


def test_bad_mapping_files_are_one_line_each(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("Inst,Loc\nA,Ohio\n")
    bad_field = tmp_path / "bad.yaml"
    bad_field.write_text("Inst: nombre\n")
    assert cli.main(["validate", str(table), "--columns", str(bad_field)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "'Inst: nombre' names no kit field" in err
    assert cli.main(["validate", str(table), "--columns", str(tmp_path / "none.yaml")]) == 2
    assert "column mapping file not found" in capsys.readouterr().err


def test_template_has_dropdowns_and_notes(tmp_path, capsys):
    out = tmp_path / "programs-template.xlsx"
    assert cli.main(["template", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["programs", "notes"]
    header = [c.value for c in book["programs"][1]]
    assert header == COLUMNS
    lists = {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1
        for dv in book["programs"].data_validations.dataValidation
    }
    col = {name: openpyxl.utils.get_column_letter(i) for i, name in enumerate(COLUMNS, start=1)}
    assert lists[col["sponsors_j1"]] == '"yes,no"'
    assert lists[col["visiting_students"]] == '"vslo,direct,observer_only,none"'
    assert lists[col["setting"]] == '"academic,hybrid,community"'
    notes = [[c.value for c in row] for row in book["notes"].iter_rows()]
    assert "blank cell means unknown" in notes[0][0]
    assert [r[0] for r in notes[3:]] == COLUMNS and all(r[1] for r in notes[3:])
    assert set(COLUMN_NOTES) == set(COLUMNS)
    assert len(template_bytes()) > 0
    # a filled template reads back as a program table
    book["programs"].append(["", "Filled Hospital", "Oregon", *[""] * (len(COLUMNS) - 3)])
    book.save(out)
    assert load_programs(out)["state"].tolist() == ["OR"]


def test_template_refuses_csv_out(tmp_path, capsys):
    assert cli.main(["template", "--out", str(tmp_path / "t.csv")]) == 2
    assert not (tmp_path / "t.csv").exists()


def test_advisor_csv_analyses_with_unknowns_kept(tmp_path):
    """R-K2: the blank J-1 cell leaves the Nebraska program unknown for a J-1 applicant."""
    from helpers.profile import load_profile

    a = analyse(load_profile(PROFILE), load_programs(advisor_csv(tmp_path)))
    status = dict(zip(a.table["state"], a.table["status"], strict=True))
    assert status["OH"] == "excluded"  # R-A2: J-1 = No
    assert status["NE"] == "unknown"  # R-A2: J-1 blank


def test_advisor_xlsx_outputs_carry_the_made_ids(tmp_path):
    """The outputs a report's kernel writes (notebook.save) from the advisor's workbook as it
    is: summary ids are the made ids. test_advisor_xlsx_reports runs the real report."""
    from helpers.notebook import save
    from helpers.profile import load_profile

    table = advisor_xlsx(tmp_path)
    save(analyse(load_profile(PROFILE), load_programs(table)), tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    ids = {p["program_id"]: p["status"] for p in summary["programs"]}
    assert set(ids) == set(load_programs(table)["program_id"])
    assert ids[make_program_id("Prairie Community Radiology", "NE")] == "unknown"


@pytest.mark.slow
def test_advisor_xlsx_reports(tmp_path):
    """The kit's report runs on the advisor's workbook as it is; summary ids are the made ids."""
    table = advisor_xlsx(tmp_path)
    out = tmp_path / "out"
    res = awayplan("report", str(PROFILE), "--programs", str(table), "--out", str(out), "--no-pdf")
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "ex01-j1-student" / "summary.json").read_text())
    ids = {p["program_id"]: p["status"] for p in summary["programs"]}
    assert set(ids) == set(load_programs(table)["program_id"])
    assert ids[make_program_id("Prairie Community Radiology", "NE")] == "unknown"
    assert (out / "ex01-j1-student" / "report.html").stat().st_size > 0


def test_data_readme_lists_every_header_spelling():
    """The synonyms users can rely on are the ones documented."""
    from helpers.headers import SYNONYMS

    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for column, groups in SYNONYMS.items():
        line = next(x for x in readme.splitlines() if x.startswith(f"| `{column}` |"))
        for spelling in (s for g in groups for s in g if s != column):
            assert spelling in line, (column, spelling)


def test_a_note_above_the_header_in_a_csv(tmp_path):
    path = tmp_path / "note.csv"
    path.write_text(
        "Our list; checked Oct 2026\n\nProgram Name;State;J-1?\nA Hospital;Ohio;yes\nB Hospital;Texas;\n"
    )
    t, mapping = read_programs(path)
    assert mapping.header_row == 3 and list(t.index) == [4, 5]
    assert t["sponsors_j1"].tolist() == [True, pd.NA]
