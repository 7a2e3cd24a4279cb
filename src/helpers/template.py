"""A blank program table for advisors to fill: the kit's columns, dropdowns, and notes.

`awayplan template --out programs-template.xlsx` writes it. The first sheet ("programs")
is the table; the second ("notes") explains each column, where advisors usually find the
fact, and that a blank cell means unknown (the kit then asks the program, R-K2).
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation

from .outputs import write_atomic
from .programs import BOOL_COLUMNS, ENUMS, OPTIONAL
from .vocab import SUBSPECIALTIES, US_STATES

# column -> (meaning, form of the value, where advisors usually find it)
COLUMN_NOTES: dict[str, tuple[str, str, str]] = {
    "program_id": (
        "unique id; the NRMP program code (e.g. 1234420C0) if you have it; leave blank and the kit makes a stable one from name and state",
        "text",
        "NRMP R3 / ERAS program listing",
    ),
    "name": ("program name", "text (required)", "program website"),
    "state": ("US state", "two-letter code or full name (required)", "program website"),
    "city": ("city", "text", "program website"),
    "setting": ("academic, hybrid or community", "dropdown", "FREIDA program type"),
    "positions": ("DR positions a year", "whole number", "FREIDA, NRMP program listing"),
    "research_strength": ("research activity", "low, medium or high", "department website, publications"),
    "nci_cancer_center": ("NCI-designated cancer centre at the institution", "yes/no", "cancer.gov list"),
    "fellowships": ("radiology fellowships offered", "whole number", "department website"),
    "img_share_pct": (
        "share of current residents who are IMGs",
        "% (e.g. 12%)",
        "resident roster on the website, FREIDA",
    ),
    "non_us_img_recent": (
        "non-US IMGs matched in the last 5 years",
        "whole number",
        "resident rosters of the last 5 years",
    ),
    "considers_imgs": (
        "considers IMGs for interview at all",
        "yes/no",
        "program website, FREIDA, coordinator",
    ),
    "sponsors_j1": (
        "takes J-1 (ECFMG-sponsored) residents",
        "yes/no",
        "FREIDA, program website, coordinator",
    ),
    "sponsors_h1b": ("sponsors H-1B visas for residents", "yes/no", "FREIDA, program website, coordinator"),
    "visiting_students": (
        "how visiting students come: through VSLO, applied for directly, observers only, or not at all",
        "dropdown",
        "VSLO catalog, department website, coordinator",
    ),
    "requires_step1": (
        "needs a Step 1 result before a visiting elective",
        "yes/no",
        "VSLO catalog, coordinator",
    ),
    "requires_lcme": (
        "takes visiting students only from LCME/AOA schools",
        "yes/no",
        "VSLO catalog, coordinator",
    ),
    "requires_affiliation": (
        "needs an affiliation agreement with the student's school",
        "yes/no",
        "visiting-student office, coordinator",
    ),
    "host_fee_usd": ("host fee per elective", "USD (e.g. $1,200)", "visiting-student office, VSLO catalog"),
    "non_lcme_surcharge_usd": (
        "extra fee for students of schools outside LCME/AOA",
        "USD",
        "visiting-student office",
    ),
    "housing_month_usd": ("housing near the host, per month", "USD", "coordinator, local listings"),
    "application_lead_weeks": (
        "how many weeks before the start the host wants the application",
        "weeks",
        "VSLO catalog",
    ),
    "rotation_months": ("months when visitors are taken", "e.g. 4-9 or 5;6;7", "VSLO catalog, coordinator"),
    "step2_typical": ("typical Step 2 CK of interviewees", "score", "program website, FREIDA"),
    "step2_min": ("minimum Step 2 CK the program states", "score", "program website, FREIDA"),
    "subspecialties": (
        "subspecialty strengths, separated by ;",
        "; ".join(SUBSPECIALTIES),
        "department website",
    ),
    "source_url": ("where the row was checked", "URL", "-"),
    "verified_on": ("when the row was checked", "date (YYYY-MM-DD)", "-"),
}
COLUMNS = ["program_id", "name", "state", *OPTIONAL]
TEMPLATE_ROWS = 500  # rows the dropdowns cover

NOTES_TEXT = (
    "Fill one row per program on the 'programs' sheet. Only name and state are required. "
    "A blank cell means unknown: the kit never reads it as no or zero, marks the program "
    "'unknown — confirm with the program' and lists the question to ask it "
    "(awayplan questions). Your own headers and spellings also work: see data/README.md."
)


def template_bytes() -> bytes:
    """The template workbook as bytes (deterministic apart from the file's timestamps)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "programs"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    lists = {c: "yes,no" for c in BOOL_COLUMNS} | {c: ",".join(v) for c, v in ENUMS.items()}
    lists["state"] = ",".join(sorted(US_STATES))
    for j, column in enumerate(COLUMNS, start=1):
        letter = openpyxl.utils.get_column_letter(j)
        sheet.column_dimensions[letter].width = max(12, len(column) + 2)
        if column in lists:
            dv = DataValidation(type="list", formula1=f'"{lists[column]}"', allow_blank=True)
            dv.error = f"Choose one of: {lists[column]} (or leave blank for unknown)"
            dv.errorTitle = column
            dv.prompt = COLUMN_NOTES[column][0]
            dv.showErrorMessage = column != "state"  # state also takes full names
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(dv)
    notes = book.create_sheet("notes")
    notes.append([NOTES_TEXT])
    notes.append([])
    notes.append(["column", "meaning", "value", "where advisors usually find it"])
    for cell in notes[3]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        notes.append([column, *COLUMN_NOTES[column]])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 70
    notes.column_dimensions["C"].width = 30
    notes.column_dimensions["D"].width = 40
    notes["A1"].alignment = Alignment(wrap_text=False)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_template(path: str | Path) -> Path:
    return write_atomic(path, template_bytes())


def text_workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Workbook bytes with one sheet per frame, every cell stored as text (a value that
    starts with '=' stays text, never a formula)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(frame.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for i, values in enumerate(frame.itertuples(index=False, name=None), start=2):
            for j, value in enumerate(values, start=1):
                text = "" if value is None or value is pd.NA else str(value)
                if text:
                    cell = sheet.cell(row=i, column=j)
                    cell.value = text
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
