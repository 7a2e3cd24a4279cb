"""The `awayplan` command: `report` (one profile or a cohort) and `validate`.

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
    pdf = rep.add_mutually_exclusive_group()
    pdf.add_argument(
        "--pdf", dest="pdf", action="store_true", default=None, help="also print report.pdf (needs chromium)"
    )
    pdf.add_argument("--no-pdf", dest="pdf", action="store_false", help="HTML only")

    val = sub.add_parser("validate", help="check profiles, cohorts and program tables; writes nothing")
    val.add_argument("files", nargs="+")
    return parser


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # a polite kill stops the workers too
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return cmd_validate(args.files)
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


def cmd_validate(files: list[str]) -> int:
    """Check each file by kind (profile YAML, cohort, program table); print every problem."""
    from .cohort import load_cohort
    from .profile import Profile, load_profile
    from .programs import load_programs
    from .tables import read_table

    # Columns only a cohort has: a table with any of them is a cohort even without applicant_id.
    cohort_only = set(Profile.model_fields) - {"name"}
    problems: list[Problem] = []
    for name in files:
        path = resolve(name)
        found: list[Problem] = []
        try:
            if path.is_dir():
                entries = load_cohort(path)
                found = [p for e in entries for p in e.problems]
                kind = f"cohort of {len(entries)}"
            elif path.suffix.lower() in (".yaml", ".yml"):
                load_profile(path)
                kind = "profile"
            else:
                columns = set(read_table(path).columns)
                if "program_id" not in columns and columns & cohort_only:
                    entries = load_cohort(path)
                    found = [p for e in entries for p in e.problems]
                    kind = f"cohort of {len(entries)}"
                else:
                    load_programs(path)
                    kind = "program table"
        except InputError as exc:
            found = exc.problems
        if not found:
            print(f"ok: {display_path(path)} ({kind})")
        problems += found
    for problem in problems:
        print(f"awayplan: error: {problem}", file=sys.stderr)
    return EXIT_INVALID if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
