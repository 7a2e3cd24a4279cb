"""The printable per-applicant checklist: applying to hosts, the rotation itself, letters, follow-ups.

Built from one Analysis so it names the planned hosts and their dates. Every item carries
the ID of the advising rule it comes from (R-K1 documents, R-K2 questions before paying,
R-P1 what is judged, R-P2 case log and feedback, R-W8 the letter request, R-W9 the
follow-up messages; R-W4/R-W6 deadlines, R-V3/R-Y3 when nothing is planned). Text from
input files (program names, questions, the English test) is HTML-escaped when rendered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .analysis import Analysis
from .profile import Profile
from .timeline import needs_entry_visa

# How the kit's interest keywords read in a sentence (vocab.py holds the keywords).
INTEREST_WORDS = {
    "neuro": "neuroradiology",
    "msk": "musculoskeletal imaging",
    "ir": "interventional radiology",
    "body": "body imaging",
    "breast": "breast imaging",
    "peds": "paediatric radiology",
    "nucs": "nuclear medicine",
    "chest": "chest imaging",
    "er": "emergency radiology",
    "cardiac": "cardiac imaging",
    "academic": "academic radiology",
    "research": "imaging research",
    "community": "community radiology",
}

KIND_WORDS = {
    "vslo": "VSLO visiting-student elective",
    "direct": "elective applied for directly",
    "observership": "observership",
}

# Cost parts a host can confirm, and the question to ask when the plan had to estimate one.
FEE_QUESTIONS = {
    "host_fee": "What is the host fee for the elective? (the plan's cost uses an estimate)",
    "non_lcme_surcharge": "Is there a surcharge for students of schools outside LCME/AOA accreditation, and how much? (the plan's cost uses an estimate)",
    "housing": "Do you offer or recommend housing for visitors, and at what cost? (the plan's cost uses an estimate)",
}

BOX = "\u2610"  # ballot box: prints as an empty square to tick by hand


@dataclass(frozen=True)
class Item:
    """One thing to do or check, with the rule it comes from and, when known, its date."""

    rule: str
    text: str
    when: str = ""


@dataclass(frozen=True)
class Section:
    """A titled group of items (one host, or one phase common to every rotation)."""

    title: str
    items: tuple[Item, ...]
    note: str = ""


@dataclass
class Checklist:
    """The whole checklist for one applicant; shows itself as print-friendly HTML."""

    applicant_id: str
    summary: str
    sections: list[Section]
    footnote: str
    planned: int = 0

    @property
    def items(self) -> list[Item]:
        return [i for s in self.sections for i in s.items]

    def to_frame(self) -> pd.DataFrame:
        """One row per item: section, date, text and rule (for tests and exploration)."""
        rows = [
            {"section": s.title, "when": i.when, "item": i.text, "rule": i.rule}
            for s in self.sections
            for i in s.items
        ]
        return pd.DataFrame(rows, columns=["section", "when", "item", "rule"])

    def _repr_html_(self) -> str:
        return render_html(self)

    def __repr__(self) -> str:
        lines = [self.summary, ""]
        for s in self.sections:
            lines.append(s.title)
            if s.note:
                lines.append(f"  {s.note}")
            for i in s.items:
                when = f"{i.when}: " if i.when else ""
                lines.append(f"  [ ] {when}{i.text} ({i.rule})")
            lines.append("")
        lines.append(self.footnote)
        return "\n".join(lines)


def _day(d: dt.date) -> str:
    return f"{d:%a %d %b %Y}"


def interest_words(profile: Profile) -> list[str]:
    """The applicant's interests as words (neuro -> neuroradiology)."""
    return [INTEREST_WORDS.get(i, i) for i in profile.interests]


def _split_rule(text: str, default: str) -> tuple[str, str]:
    """'R-K2: Does ...?' -> ('R-K2', 'Does ...?'); text without a rule prefix keeps the default."""
    head, sep, rest = text.partition(": ")
    if sep and head.startswith("R-") and len(head) <= 6:
        return head, rest
    return default, text


# --------------------------------------------------------------------------- item builders


def documents(profile: Profile, kind: str | None = None) -> list[Item]:
    """R-K1: what a host usually wants with the application, said for this applicant."""
    p = profile
    items = [Item("R-K1", "Transcript from your medical school")]
    if p.is_student:
        items.append(Item("R-K1", "Dean's letter (MSPE), if your school has issued one by now"))
    else:
        items.append(Item("R-K1", "Your dean's letter (MSPE), if your school issued one"))
    if p.step1 == "pass":
        items.append(Item("R-K1", "USMLE Step 1 result (pass)"))
    elif p.step1 == "not_taken":
        items.append(
            Item(
                "R-K1",
                "USMLE Step 1 result: not out yet. Many hosts will not accept an application without it (R-W5); send it as soon as it arrives",
            )
        )
    else:
        items.append(
            Item(
                "R-K1",
                "USMLE Step 1 result: recorded as not passed. Ask your advisor how to present it before applying",
            )
        )
    if p.step2_ck is not None:
        items.append(Item("R-K1", f"USMLE Step 2 CK score report ({p.step2_ck}), for hosts that ask for it"))
    else:
        items.append(Item("R-K1", "USMLE Step 2 CK: no score yet. Tell hosts that ask when you expect it"))
    items.append(
        Item(
            "R-K1",
            "Immunisation record and health clearance, on the host's own form where it has one (start early: clinics and laboratory tests take time)",
        )
    )
    items.append(
        Item(
            "R-K1",
            "Proof of malpractice (liability) insurance covering the rotation dates; your school often provides it, otherwise ask the host what cover it accepts",
        )
    )
    items.append(Item("R-K1", "Your CV, updated"))
    words = interest_words(p)
    story = f", and how it fits your interest in {' and '.join(words)}" if words else ""
    items.append(Item("R-K1", f"A short statement written for this rotation: why this department{story}"))
    if p.english_test:
        items.append(Item("R-K1", f"English test result ({p.english_test}), where the host asks for one"))
    else:
        items.append(
            Item(
                "R-K1",
                "Proof of English proficiency (TOEFL or similar) if the host asks for it: check its requirements",
            )
        )
    if kind == "observership":
        items.append(
            Item(
                "R-Y3",
                "For an observership: ask what the department requires of observers; it often differs from the list for students",
            )
        )
    return items


def coordinator_questions(profile: Profile) -> list[Item]:
    """R-K2: what to settle with the host's coordinator before paying anything; R-A4/R-E1:
    whether the host helps with the visa (asked of every host when a visa is needed)."""
    status = " on my B1/B2 or ESTA status" if profile.current_us_status in ("b1b2", "esta") else ""  # R-C1
    items = [
        Item("R-K2", "Do you accept visiting students or observers who are non-US IMGs from my school?"),
        Item(
            "R-K2",
            "Will I get a written evaluation, and can faculty write a letter of recommendation if my work merits one?",
        ),
        Item("R-K2", "Which documents do you need, by what date, and when will you decide?"),
        Item("R-K2", f"Will I work hands-on with the team{status}, or only observe?"),
    ]
    if needs_entry_visa(profile):
        items.append(
            Item(
                "R-A4",
                "Do you help visitors with the visa: an acceptance or invitation letter for the consulate, and how soon after acceptance?",
            )
        )
    return items


def host_questions(a: Analysis, program_id: str, estimated: str) -> list[Item]:
    """The questions the program table left open for this host, and fees the plan estimated."""
    rows = a.table.loc[a.table["program_id"] == program_id]
    found: list[Item] = []
    seen: set[str] = set()
    for r in rows.itertuples(index=False):
        for q in [*r.questions, *r.rotation_questions]:
            rule, text = _split_rule(str(q), "R-K2")
            if text not in seen:
                seen.add(text)
                found.append(Item(rule, text))
    for part in [s.strip() for s in str(estimated or "").split(",") if s.strip()]:
        if part in FEE_QUESTIONS:
            found.append(Item("R-K2", FEE_QUESTIONS[part]))
    return found


def judged() -> list[Item]:
    """R-P1: what the department is watching while the applicant is there."""
    return [
        Item(
            "R-P1",
            "Professionalism: there before the first case every day, dependable, dressed for the department, courteous to technologists, nurses and front-desk staff",
        ),
        Item(
            "R-P1",
            "Engagement: read up the evening before on what the service sees, ask short questions at good moments, join read-outs and conferences",
        ),
        Item(
            "R-P1",
            "Teachability: act on each piece of feedback within days, so the change shows before the block ends",
        ),
        Item(
            "R-P1",
            "Team fit: help the residents where you can, ask before using a workstation or a chair, keep your phone silent in the reading room",
        ),
    ]


def case_log() -> list[Item]:
    """R-P2: the case log, mid-rotation feedback and notes for the rank list."""
    return [
        Item(
            "R-P2",
            "Case log, every day: date, type of study, main finding, who you reviewed it with, what you learned",
        ),
        Item("R-P2", "Write down each piece of feedback with its date and who gave it"),
        Item(
            "R-P2",
            "Mark the cases you worked on with each possible letter writer: they go into the letter pack (R-W8)",
        ),
        Item(
            "R-P2",
            "Notes for your rank list: the program's culture, its case mix and equipment, and how it treats visiting students and IMGs",
        ),
    ]


def letter_pack(profile: Profile, planned: bool = True) -> list[Item]:
    """R-W8: how to ask for a letter and what to hand the writer."""
    words = interest_words(profile)
    goals = f" (for you: {', '.join(words)})" if words else ""
    have = profile.us_radiology_letters
    source = "a rotation" if planned else "an observership, elective or research placement"
    count = (
        f"you have none yet, so a letter from {source} matters most"
        if have == 0
        else f"you have {have} so far"
    )
    return [
        Item(
            "R-W8",
            "Ask in person during the last week, the faculty member who saw most of your work: can they write a strong letter for diagnostic radiology? If they hesitate, thank them and ask someone else",
        ),
        Item("R-W8", "Hand over your updated CV"),
        Item(
            "R-W8",
            f"Hand over a short paragraph on your goals: diagnostic radiology and your interests{goals}",
        ),
        Item(
            "R-W8",
            "Hand over a list of the cases you worked on together, from your case log, so the letter can be specific",
        ),
        Item(
            "R-W8",
            "Give the writer the ERAS letter request form (with its letter ID) so the letter can be uploaded, and the date you need it by",
        ),
        Item("R-W8", f"Aim for at least one strong US radiology letter: {count}"),
    ]


def _update_dates(a: Analysis) -> list[dt.date]:
    submit = next(c.date for c in a.cycle if c.key == "eras_submit")
    return [
        submit + dt.timedelta(days=int(d)) for d in a.assume.value("update_message_days_after_submission")
    ]


def follow_ups(a: Analysis) -> list[Item]:
    """R-W9: after ERAS submission, one or two short updates at most."""
    first, *rest = _update_dates(a)
    where = "where you rotated" if len(a.rotations) else "that know your work"
    items = [
        Item(
            "R-W9",
            f"Optional short update to the programs {where}: what is new since you applied, and that you still want to train there",
            f"around {_day(first)}",
        )
    ]
    for d in rest[:1]:
        items.append(
            Item("R-W9", "Second and last optional update, only if there is real news", f"around {_day(d)}")
        )
    items.append(Item("R-W9", "No more than these one or two messages: more does not help"))
    return items


def host_section(a: Analysis, r: dict, n: int) -> Section:
    """Everything dated for one planned rotation: apply, confirm, on site, letter, thank-you."""
    assume = a.assume
    name, pid = str(r["name"]), str(r["program_id"])
    start, end, apply_by = r["start"], r["end"], r["apply_by"]
    kind = str(r["kind"])
    ask = end - dt.timedelta(days=int(assume.value("letter_request_days_before_end")))
    thanks = end + dt.timedelta(days=int(assume.value("thank_you_days_after_end")))
    middle = start + (end - start) / 2
    while middle.weekday() >= 5:  # a feedback talk belongs on a working day
        middle -= dt.timedelta(days=1)
    route = {
        "vslo": "through VSLO",
        "direct": "directly to the department's elective office",
        "observership": "to the department, as an observer",
    }.get(kind, "to the host")
    items = [
        Item("R-W4", f"Send the application {route}, with the documents below", f"by {_day(apply_by)}"),
        *documents(a.profile, kind),
        Item(
            "R-K2",
            "Ask the coordinator the questions below and have the answers in writing before you pay anything",
            f"before {_day(apply_by)}",
        ),
        *coordinator_questions(a.profile),
        *host_questions(a, pid, r.get("estimated", "")),
        Item("R-P2", "Start the case log on the first day", _day(start)),
        Item(
            "R-P2",
            "Halfway through, ask your supervisor how it is going and what to change before the block ends",
            f"around {_day(middle)}",
        ),
        Item("R-W8", "Ask for the letter and hand over the letter pack (see below)", f"around {_day(ask)}"),
        Item(
            "R-W9",
            "Thank-you message to the program director and the faculty you worked with: name something specific you learned, and say you will apply",
            f"by {_day(thanks)}",
        ),
        Item(
            "R-P2",
            "Write up your notes on this program for the rank list while they are fresh",
            f"by {_day(thanks)}",
        ),
    ]
    title = f"Rotation {n}: {pid} {name} ({r.get('state', '')}), {KIND_WORDS.get(kind, kind)}, {start:%d %b} to {end:%d %b %Y}"
    return Section(title, tuple(items))


def for_applicant(a: Analysis) -> Checklist:
    """The checklist for one applicant, personalised with the planned hosts and dates."""
    p = a.profile
    rotations = a.rotations.to_dict("records") if len(a.rotations) else []
    sections: list[Section] = []
    first: list[Item] = []
    if rotations and needs_entry_visa(p):  # R-E1: the visa sequence, in order
        steps = a.steps
        labels = {
            "visa_application": ("R-E1", "Apply for the visitor visa, with the host's acceptance letter"),
            "visa_ready": ("R-W6", "Visitor visa in hand: the consulate's wait must end before you travel"),
            "travel": ("R-E1", "Travel to the US, a few days before the first rotation"),
        }
        for kind, (rule, text) in labels.items():
            when = steps.loc[steps["kind"] == kind, "date"]
            first.append(Item(rule, text, f"by {_day(when.iloc[0])}" if len(when) else "as early as you can"))
    if rotations:
        summary = f"{len(rotations)} planned rotation(s): " + "; ".join(
            f"{r['program_id']} {r['name']}, {r['start']:%d %b} to {r['end']:%d %b %Y}" for r in rotations
        )
        if first:
            sections.append(Section("First", tuple(first)))
        for n, r in enumerate(rotations, start=1):
            sections.append(host_section(a, r, n))
    else:
        why = next((m for rule, m in a.warnings if rule == "R-V3"), "No away rotation fits this plan.")
        summary = "No away rotation is planned."
        alts = a.alternatives["kind"].tolist() if len(a.alternatives) else []
        alt_items = []
        if "observership" in alts or not alts:
            alt_items.append(
                Item(
                    "R-Y3",
                    "Look for a radiology observership: ask departments whether faculty can evaluate you and write a letter",
                )
            )
        alt_items.append(
            Item("R-V3", "Ask about virtual electives with US radiology departments (no visa or travel)")
        )
        alt_items.append(
            Item("R-V3", "Look for imaging research with a US team: it can lead to a letter and publications")
        )
        sections.append(
            Section(
                "No away rotation is planned",
                tuple(alt_items),
                note=f"{why.rstrip('. ')}. The lists below still apply to any observership, elective or research placement you arrange.",
            )
        )
        sections.append(Section("Documents to have ready for any host", tuple(documents(p))))
        sections.append(
            Section("Ask any coordinator before paying anything", tuple(coordinator_questions(p)))
        )
    sections.append(Section("On every rotation: what the department judges", tuple(judged())))
    sections.append(Section("Case log, feedback and notes", tuple(case_log())))
    sections.append(Section("The letter request pack", tuple(letter_pack(p, planned=bool(rotations)))))
    if not rotations:
        sections.append(
            Section(
                "Afterwards",
                (
                    Item(
                        "R-W9",
                        "Thank-you message within a few days of any placement, to the faculty you worked with",
                    ),
                ),
            )
        )
    sections.append(Section("After ERAS submission", tuple(follow_ups(a))))
    days = " and ".join(str(d) for d in a.assume.value("update_message_days_after_submission"))
    submit = next(c for c in a.cycle if c.key == "eras_submit")
    updates = (
        f"update messages {days} days after ERAS submission opens ({submit.status} date {_day(submit.date)}; "
        f"assumption update_message_days_after_submission in {a.assume.file_label})"
    )
    if rotations:
        foot = (
            f"Dates: the letter request falls {a.assume.value('letter_request_days_before_end')} days before a rotation's last day "
            f"and the thank-you {a.assume.value('thank_you_days_after_end')} days after it (assumptions letter_request_days_before_end "
            f"and thank_you_days_after_end); halfway is the working day at or before the middle of the block; {updates}. "
            "Rule IDs refer to the kit's advising rules."
        )
    else:
        foot = f"Dates: {updates}. Rule IDs refer to the kit's advising rules."
    return Checklist(p.applicant_id, summary, sections, foot, planned=len(rotations))


# --------------------------------------------------------------------------- HTML

CSS = """
.awayplan-checklist { font-size: 14px; }
.awayplan-checklist h3 { font-size: 1.05em; margin: 1.1em 0 .3em; break-after: avoid; page-break-after: avoid; }
.awayplan-checklist p.note { margin: .2em 0 .4em; }
.awayplan-checklist ul { list-style: none; margin: 0 0 .6em; padding: 0; }
.awayplan-checklist li { display: flex; gap: .45em; padding: .18em 0; border-bottom: 1px dotted #c8c8c8;
  break-inside: avoid; page-break-inside: avoid; }
.awayplan-checklist .box { font-size: 1.25em; line-height: 1; flex: none; }
.awayplan-checklist .when { font-weight: bold; white-space: nowrap; flex: none; }
.awayplan-checklist .rule { color: #4f4f4f; font-size: 12px; white-space: nowrap; flex: none; margin-left: auto; }
.awayplan-checklist p.foot { color: #4f4f4f; font-size: 13px; }
@media print { .awayplan-checklist { font-size: 10pt; }
  .awayplan-checklist .rule, .awayplan-checklist p.foot { font-size: 9pt; }
  .awayplan-checklist li { border-bottom-color: #999; } }
"""


def render_html(c: Checklist) -> str:
    """Print-friendly HTML: an empty box per item, the date first, the rule ID last; all text
    escaped by the template (Jinja2 with autoescape)."""
    from .views import plain, render_template

    return render_template("checklist.html.j2", c=c, css=CSS, box=BOX, plain=plain, summary=plain(c.summary))
