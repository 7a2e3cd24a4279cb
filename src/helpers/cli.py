"""The `awayplan` command: `report` (one profile or a cohort), `validate`, and the program
table's round trip: `template`, `questions` (out to programs), `merge-answers` (back in).

Exit codes: 0 all done; 1 some applicants failed (the others are complete); 2 bad
invocation or invalid input (nothing written). User mistakes get one readable line per
problem, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .config import DEFAULT_PROGRAMS, REPORTS_DIR, resolve
from .errors import InputError, Problem, display_path

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class UsageError(Exception):
    """Bad invocation (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2 with usage; keep it to one line + hint
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="awayplan",
        description="Plan US diagnostic radiology away rotations for international medical graduates.",
    )
    parser.add_argument("--version", action="version", version=f"awayplan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    rep = sub.add_parser("report", help="write reports for one applicant or a cohort")
    rep.add_argument("profile", nargs="?", help="one applicant profile (YAML)")
    rep.add_argument("--cohort", help="CSV/XLSX with one row per applicant, or a folder of YAML profiles")
    rep.add_argument(
        "--programs", default=None, help=f"program table (CSV/XLSX); default {display_path(DEFAULT_PROGRAMS)}"
    )
    rep.add_argument("--out", default=None, help=f"output folder; default {display_path(REPORTS_DIR)}")
    rep.add_argument(
        "--workers", type=int, default=None, help="parallel local processes for a cohort (default: cores)"
    )
    rep.add_argument(
        "--scheduler",
        default=None,
        help="address of a Dask distributed scheduler (e.g. tcp://host:8786) for a cohort; workers need the same paths",
    )
    rep.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds one applicant may take before it is stopped and recorded as failed (default 300)",
    )
    rep.add_argument(
        "--force",
        action="store_true",
        help="rebuild every report, even those whose inputs have not changed since the last run",
    )
    rep.add_argument(
        "--timings",
        default=None,
        metavar="FILE.csv",
        help="for a cohort, also write the seconds each applicant spent in each stage (kernel start, analysis, figures, export...)",
    )
    pdf = rep.add_mutually_exclusive_group()
    pdf.add_argument(
        "--pdf", dest="pdf", action="store_true", default=None, help="also print report.pdf (needs chromium)"
    )
    pdf.add_argument("--no-pdf", dest="pdf", action="store_false", help="HTML only")

    val = sub.add_parser("validate", help="check profiles, cohorts and program tables; writes nothing")
    val.add_argument("files", nargs="+")
    val.add_argument("--columns", default=None, help=COLUMNS_HELP)

    tpl = sub.add_parser("template", help="write a blank program table (XLSX) with dropdowns and notes")
    tpl.add_argument("--out", required=True, help="the workbook to write, e.g. programs-template.xlsx")

    qs = sub.add_parser(
        "questions", help="list the open questions to send programs (blank cells that matter), as CSV or XLSX"
    )
    qs.add_argument(
        "--programs", default=None, help=f"program table (CSV/XLSX); default {display_path(DEFAULT_PROGRAMS)}"
    )
    who = qs.add_mutually_exclusive_group()
    who.add_argument("--profile", help="only the questions that matter for this applicant (YAML)")
    who.add_argument(
        "--cohort", help="only the questions that matter for these applicants (CSV/XLSX or folder)"
    )
    qs.add_argument("--out", required=True, help="FILE.csv or FILE.xlsx")
    qs.add_argument(
        "--by-program",
        action="store_true",
        help="one drafted message per program instead of one row per question",
    )
    qs.add_argument("--columns", default=None, help=COLUMNS_HELP)

    mg = sub.add_parser("merge-answers", help="fill blank cells of a program table from answered questions")
    mg.add_argument("table", help="the program table (CSV/XLSX)")
    mg.add_argument("answers", help="the questions file with answer, answered_on and source filled in")
    mg.add_argument("--out", required=True, help="the new table (CSV/XLSX); its sources go beside it")
    mg.add_argument(
        "--overwrite",
        action="store_true",
        help="apply answers that differ from a filled cell (listed either way)",
    )
    mg.add_argument("--columns", default=None, help=COLUMNS_HELP)
    return parser


COLUMNS_HELP = (
    "YAML file mapping the table's headers to kit columns (`Program Name: name`), for sheets "
    "whose headers are not recognised; default: <table stem>.columns.yaml beside it, if present"
)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # a polite kill stops the workers too
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return cmd_validate(args.files, args.columns)
        if args.command == "template":
            return cmd_template(args)
        if args.command == "questions":
            return cmd_questions(args)
        if args.command == "merge-answers":
            return cmd_merge_answers(args)
        return cmd_report(args)
    except UsageError as exc:
        print(f"awayplan: error: {exc} (see awayplan --help)", file=sys.stderr)
        return EXIT_INVALID
    except InputError as exc:
        for problem in exc.problems:
            print(f"awayplan: error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:  # e.g. --out under a file, or a folder the user may not write to
        where = display_path(exc.filename) if exc.filename else "awayplan"
        print(f"awayplan: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("awayplan: interrupted; finished reports are complete, rerun to continue", file=sys.stderr)
        return 130


def _programs_path(arg: str | None) -> Path:
    return resolve(arg) if arg else DEFAULT_PROGRAMS


def _out_dir(arg: str | None) -> Path:
    out = Path(arg) if arg else REPORTS_DIR
    if out.exists() and not out.is_dir():
        raise InputError([Problem(display_path(out), "output path exists and is not a folder")])
    return out


def cmd_report(args: argparse.Namespace) -> int:
    zygote = None
    if args.cohort and not args.scheduler and (args.workers is None or args.workers >= 1):
        from .warmkernel import SharedZygoteServer

        # Started first: its imports (seconds) overlap the command's own and the checks below.
        # The workers' forkserver starts once there is an applicant to build (LocalBackend):
        # started here as well, it made a rerun with nothing to rebuild slower (mean 6.7 s
        # against 5.9 on 16 applicants) and fresh runs no faster (35.7 s against 34.1).
        zygote = SharedZygoteServer()
    try:
        return _report(args, zygote)
    finally:
        if zygote is not None:
            zygote.close()


def _report(args: argparse.Namespace, zygote) -> int:
    from .batch import DEFAULT_TIMEOUT, run_applicant, run_cohort
    from .cohort import load_cohort
    from .profile import load_profile
    from .programs import load_programs
    from .report import find_browser

    if bool(args.profile) == bool(args.cohort):
        raise UsageError("give either one PROFILE.yaml or --cohort FILE")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.timeout is not None and not 0 < args.timeout < 1e7:  # also refuses nan and inf
        raise UsageError("--timeout must be a positive number of seconds")
    timeout = args.timeout or DEFAULT_TIMEOUT
    programs_path = _programs_path(args.programs)
    load_programs(programs_path)  # validate before writing anything
    out = _out_dir(args.out)
    pdf = (find_browser() is not None) if args.pdf is None else args.pdf
    if args.pdf and find_browser() is None:
        raise UsageError("--pdf needs chromium (Debian: apt-get install chromium)")

    if args.profile:
        profile = load_profile(resolve(args.profile))
        out.mkdir(parents=True, exist_ok=True)
        result = run_applicant(profile, programs_path.resolve(), out.resolve(), pdf=pdf, timeout=timeout)
        if result.status != "ok":
            print(f"awayplan: {profile.applicant_id} failed: {result.error}", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"{profile.applicant_id}: report in {display_path(out / profile.applicant_id / 'report.html')} ({result.seconds:.1f} s)"
        )
        return EXIT_OK

    entries = load_cohort(resolve(args.cohort))
    for e in entries:
        for problem in e.problems:
            print(f"awayplan: warning: {problem} (applicant skipped)", file=sys.stderr)
    run = run_cohort(
        entries,
        programs_path.resolve(),
        out.resolve(),
        pdf=pdf,
        workers=args.workers,
        scheduler=args.scheduler,
        timeout=timeout,
        force=args.force,
        progress=True,
        timings=Path(args.timings) if args.timings else None,
        zygote=zygote,
    )
    ok = sum(r.status == "ok" for r in run.results)
    unchanged = sum(r.skipped for r in run.results)
    if run.overview_error:
        print(f"awayplan: the advisor's overview failed: {run.overview_error}", file=sys.stderr)
    kept = f"; {unchanged} unchanged since the last run, kept" if unchanged else ""
    print(
        f"{ok} of {len(run.results)} reports complete in {display_path(out)} (index.html, overview.html, manifest.csv){kept}"
    )
    return EXIT_OK if run.ok else EXIT_FAILED


def _looks_like_cohort(path: Path) -> bool:
    """A table with applicant columns and no program_id is a cohort even without applicant_id."""
    from .profile import Profile
    from .tables import first_filled_row, normalise_header, read_sheets

    cohort_only = set(Profile.model_fields) - {"name"}
    try:
        rows = read_sheets(path)[0][1]
    except InputError:
        return False  # the program table reader names the same problem
    first = first_filled_row(rows)
    columns = {normalise_header(c) for c in rows[first]} if first is not None else set()
    return "program_id" not in columns and bool(columns & cohort_only)


def cmd_validate(files: list[str], columns: str | None = None) -> int:
    """Check each file by kind (profile YAML, cohort, program table); print every problem,
    and for a program table the header mapping it applied."""
    from .cohort import load_cohort
    from .profile import load_profile
    from .programs import read_programs

    problems: list[Problem] = []
    for name in files:
        path = resolve(name)
        found: list[Problem] = []
        notes: list[str] = []
        try:
            if path.is_dir():
                entries = load_cohort(path)
                found = [p for e in entries for p in e.problems]
                kind = f"cohort of {len(entries)}"
            elif path.suffix.lower() in (".yaml", ".yml"):
                load_profile(path)
                kind = "profile"
            elif _looks_like_cohort(path):
                entries = load_cohort(path)
                found = [p for e in entries for p in e.problems]
                kind = f"cohort of {len(entries)}"
            else:
                programs, mapping = read_programs(path, resolve(columns) if columns else None)
                kind = f"program table of {len(programs)}"
                notes = mapping.lines()
                answered = programs.attrs.get("sources") or ()
                if answered:
                    notes.append(
                        f"  {len(answered)} cell(s) filled from answers, sources in {_sources_name(path)}"
                    )
        except InputError as exc:
            found = exc.problems
        if not found:
            print(f"ok: {display_path(path)} ({kind})")
            for line in notes:
                print(line)
        problems += found
    for problem in problems:
        print(f"awayplan: error: {problem}", file=sys.stderr)
    return EXIT_INVALID if problems else EXIT_OK


def _sources_name(table: Path) -> str:
    from .programs import sources_path

    return display_path(sources_path(table))


def _output_kind(out: str, allowed: tuple[str, ...]) -> Path:
    path = Path(out)
    if path.suffix.lower() not in allowed:
        raise UsageError(f"--out must end in {' or '.join(allowed)}, got '{out}'")
    if path.is_dir():
        raise InputError([Problem(display_path(path), "output path is a folder; name a file")])
    return path


def _table_bytes(frame, path: Path, sheet: str) -> bytes:
    from .template import text_workbook

    if path.suffix.lower() == ".xlsx":
        return text_workbook({sheet: frame})
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")  # BOM: Excel reads UTF-8 right


def cmd_template(args: argparse.Namespace) -> int:
    from .template import write_template

    out = _output_kind(args.out, (".xlsx",))
    write_template(out)
    print(
        f"template: {display_path(out)} (fill the 'programs' sheet; the 'notes' sheet explains each column)"
    )
    return EXIT_OK


def cmd_questions(args: argparse.Namespace) -> int:
    """One row per open question (program, column) that matters, or one message per program."""
    from .answers import any_applicant, draft_messages, open_questions
    from .cohort import load_cohort
    from .outputs import write_atomic
    from .profile import load_profile
    from .programs import read_programs

    out = _output_kind(args.out, (".csv", ".xlsx"))
    programs, _ = read_programs(
        _programs_path(args.programs), resolve(args.columns) if args.columns else None
    )
    if args.profile:
        profiles, who = [load_profile(resolve(args.profile))], "this applicant"
    elif args.cohort:
        entries = load_cohort(resolve(args.cohort))
        for e in entries:
            for problem in e.problems:
                print(f"awayplan: warning: {problem} (applicant skipped)", file=sys.stderr)
        profiles = [e.profile for e in entries if e.ok]
        if not profiles:
            raise InputError(
                [Problem(display_path(resolve(args.cohort)), "no valid applicant in the cohort")]
            )
        who = f"{len(profiles)} applicant(s)"
    else:
        profiles, who = any_applicant(), "any applicant"
    questions = open_questions(programs, profiles)
    if args.by_program:
        frame, sheet = draft_messages(questions), "messages"
    else:
        frame, sheet = questions, "questions"
    write_atomic(out, _table_bytes(frame, out, sheet))
    n_programs = questions["program_id"].nunique()
    what = f"{len(frame)} message(s)" if args.by_program else f"{len(questions)} question(s)"
    print(f"{what} for {n_programs} program(s), for {who}: {display_path(out)}")
    return EXIT_OK


def cmd_merge_answers(args: argparse.Namespace) -> int:
    """Fill blank cells from answers; list conflicts; write the new table and its sources."""
    import os

    from .answers import merge_answers
    from .outputs import write_atomic
    from .programs import parse_programs, sources_path

    out = _output_kind(args.out, (".csv", ".xlsx"))
    result = merge_answers(
        resolve(args.table),
        resolve(args.answers),
        resolve(args.columns) if args.columns else None,
        overwrite=args.overwrite,
    )
    parse_programs(result.table, display_path(out))  # the new table must load as it is written
    sources = sources_path(out)
    # both files or neither: stage both, then swap them in
    staged_table = write_atomic(
        out.with_name(f".{out.name}.staged"), _table_bytes(result.table, out, "programs")
    )
    staged_sources = write_atomic(
        sources.with_name(f".{sources.name}.staged"),
        result.sources.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"),
    )
    os.replace(staged_sources, sources)
    os.replace(staged_table, out)
    print(
        f"{len(result.filled)} blank cell(s) filled, {len(result.overwritten)} overwritten, "
        f"{result.unchanged} answer(s) already in the table, {len(result.conflicts)} conflict(s) kept out"
    )
    for pid, column, value in result.filled:
        print(f"  filled {pid} {column} = {value!r}")
    for pid, column, old, new in result.overwritten:
        print(f"  overwritten {pid} {column}: table said {old!r}, answer says {new!r}")
    for pid, column, old, new in result.conflicts:
        print(
            f"  conflict {pid} {column}: table says {old!r}, answer says {new!r} (kept the table; --overwrite applies it)"
        )
    print(f"new table: {display_path(out)}; sources: {display_path(sources)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
