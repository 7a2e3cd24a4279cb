"""Benchmark: the kit's cohort runner against the plain way of running the notebooks.

Builds a synthetic cohort (fixed seed, fictional applicants) and prints, in one run:
  - the plain approach's throughput: for each applicant of a small sample, the papermill
    command line on each analysis notebook, then `jupyter nbconvert --to html` on each,
    one after another;
  - the kit's throughput: `awayplan report --cohort --no-pdf` on the whole synthetic cohort;
  - their ratio, whether both produced the same report content, and the kit's peak
    memory (all its processes together, sampled with psutil);
  - where an applicant's time goes, stage by stage (`report --timings`): kernel start,
    loading inputs, analysis, figures, the rest of notebook execution, outputs, HTML export,
    PDF, writing files; and the cohort's own stages (overview, index);
  - the same cohort with PDFs, and what they add; and PDF printing both ways on the same
    reports: one chromium start per report (the command line) against one browser that
    stays open (what the kit's workers use);
  - with --repeat R: R rounds of the plain loop, the kit and the kit with PDFs, one after
    another, each round's ratio and PDF cost, and their medians and ranges (on a shared
    machine one run's figures can be off by a fifth either way);
  - with --scale: the kit's time for 100 and for 1,000 applicants, and their ratio.

    python scripts/bench.py [--n 16] [--plain 4] [--workers N] [--no-pdf] [--repeat R] [--scale] [--keep DIR]

Speed is measured here, never asserted in tests. Nothing it writes enters git (a
temporary folder unless --keep is given).
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROGRAMS = ROOT / "data" / "programs.csv"
NOTEBOOKS = ("01-tiering", "02-budget", "03-timing")
SEED = 20261125

FIELDS = [
    "applicant_id", "visa_needed", "school_status", "step1", "step2_ck", "step3", "budget_usd",
    "application_cycle", "current_us_status", "graduation_year", "school_accreditation",
    "ecfmg_certified", "us_clinical_months", "us_radiology_letters", "home_radiology_program",
    "research_items", "interests", "preferred_states", "ties_states", "max_rotations", "plan_date",
]  # fmt: skip
INTERESTS = ["neuro", "msk", "ir", "body", "breast", "peds", "chest", "academic", "research", "community"]


def synthetic_cohort(n: int, seed: int = SEED) -> list[dict]:
    """n fictional applicants whose mix exercises the rules (visa, status, exams, budgets)."""
    rng = np.random.default_rng(seed)
    with PROGRAMS.open(encoding="utf-8") as fh:
        states = sorted({row["state"] for row in csv.DictReader(fh)})
    rows = []
    for i in range(n):
        graduate = rng.random() < 0.3
        step1 = rng.choice(["pass", "not_taken", "fail"], p=[0.88, 0.1, 0.02])
        step2 = "" if step1 != "pass" or rng.random() < 0.15 else int(np.clip(rng.normal(246, 11), 200, 280))
        rows.append(
            {
                "applicant_id": f"syn-{i + 1:05d}",
                "visa_needed": rng.choice(["j1", "h1b", "j1_or_h1b", "none"], p=[0.5, 0.1, 0.3, 0.1]),
                "school_status": "graduate" if graduate else "student",
                "step1": step1,
                "step2_ck": step2,
                "step3": "pass" if rng.random() < 0.15 else "not_taken",
                "budget_usd": int(rng.choice([0, 500, 1500, 3000, 5000, 7000, 9000, 12000, 18000, 25000])),
                "application_cycle": 2027,
                "current_us_status": rng.choice(["none", "b1b2", "f1"], p=[0.8, 0.15, 0.05]),
                "graduation_year": int(rng.integers(2018, 2026)) if graduate else "",
                "school_accreditation": rng.choice(["other", "lcme"], p=[0.95, 0.05]),
                "ecfmg_certified": "true" if graduate and rng.random() < 0.6 else "false",
                "us_clinical_months": int(rng.integers(0, 7)),
                "us_radiology_letters": int(rng.integers(0, 3)),
                "home_radiology_program": "true" if rng.random() < 0.6 else "false",
                "research_items": int(rng.integers(0, 12)),
                "interests": ";".join(rng.choice(INTERESTS, size=int(rng.integers(0, 3)), replace=False)),
                "preferred_states": ";".join(rng.choice(states, size=int(rng.integers(0, 3)), replace=False)),
                "ties_states": ";".join(rng.choice(states, size=int(rng.integers(0, 2)), replace=False)),
                "max_rotations": "" if rng.random() < 0.8 else int(rng.integers(1, 4)),
                "plan_date": dt.date(2026, 12, 1).isoformat(),
            }
        )
    for row in rows:
        # A visitor or student status means a visa is needed (the profile rules refuse
        # "none" with it); fixed after the draws, so every other row stays as it was.
        if row["visa_needed"] == "none" and row["current_us_status"] != "none":
            row["current_us_status"] = "none"
    return rows


def write_cohort(rows: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def profile_yaml(row: dict) -> str:
    """The same applicant as a YAML profile, for the plain approach."""
    data = {}
    for key, value in row.items():
        if value == "" or value is None:
            continue
        if key in ("interests", "preferred_states", "ties_states"):
            data[key] = [x for x in str(value).split(";") if x]
        elif key in ("ecfmg_certified", "home_radiology_program"):
            data[key] = value == "true"
        else:
            data[key] = value.item() if hasattr(value, "item") else value
    return yaml.safe_dump(data, sort_keys=False)


class PeakMemory:
    """Samples the resident memory of a process and all its descendants (RSS and PSS sums)."""

    def __init__(self, pid: int, every: float = 0.25):
        self.root = psutil.Process(pid)
        self.every = every
        self.peak_rss = self.peak_pss = 0
        self.peak_procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            rss = pss = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, len(procs))
            self._stop.wait(self.every)


def run_plain(rows: list[dict], work: Path) -> float:
    """papermill CLI, then nbconvert CLI, per notebook per applicant, one after another."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    for row in rows:
        folder = work / row["applicant_id"]
        folder.mkdir(parents=True)
        profile = folder / "profile.yaml"
        profile.write_text(profile_yaml(row), encoding="utf-8")
        for name in NOTEBOOKS:
            cmd = [
                str(BIN / "papermill"),
                str(ROOT / "notebooks" / f"{name}.ipynb"),
                str(folder / f"{name}.ipynb"),
                "-p",
                "profile_path",
                str(profile),
                "-p",
                "programs_path",
                str(PROGRAMS),
                "--no-progress-bar",
                "--cwd",
                str(ROOT),
            ]
            if name == "03-timing":
                cmd += ["-p", "out_dir", str(folder)]
            subprocess.run(cmd, check=True, capture_output=True, env=env)
        for name in NOTEBOOKS:
            subprocess.run(
                [
                    str(BIN / "jupyter"),
                    "nbconvert",
                    "--to",
                    "html",
                    "--no-input",
                    str(folder / f"{name}.ipynb"),
                ],
                check=True,
                capture_output=True,
                env=env,
            )
    return time.perf_counter() - start


def run_kit(
    cohort: Path, out: Path, workers: int | None, pdf: bool = False, timings: Path | None = None
) -> tuple[float, PeakMemory, str]:
    """`awayplan report --cohort` as a user runs it; returns seconds, memory and its last line."""
    cmd = [str(BIN / "awayplan"), "report", "--cohort", str(cohort), "--out", str(out)]
    cmd.append("--pdf" if pdf else "--no-pdf")
    if timings is not None:
        cmd += ["--timings", str(timings)]
    if workers:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with PeakMemory(proc.pid) as mem:
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: awayplan failed ({proc.returncode}):\n{stderr[-2000:]}")
    return seconds, mem, stdout.strip().splitlines()[-1]


def _outputs(nb: dict) -> list:
    """What a notebook shows: every code cell's outputs, minus the parameter cells."""
    shown = []
    for cell in nb["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"parameters", "injected-parameters"}:
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            shown.append(
                (
                    o.get("output_type"),
                    o.get("name"),
                    "".join(o.get("text", "")),
                    {k: "".join(v) if isinstance(v, list) else v for k, v in sorted(data.items())},
                )
            )
    return shown


def same_content(plain: Path, kit: Path, ids: list[str]) -> tuple[bool, str]:
    """Plain and kit runs agree: identical summary.json and identical notebook outputs."""
    diffs = []
    for aid in ids:
        a, b = plain / aid / "summary.json", kit / aid / "summary.json"
        if a.read_bytes() != b.read_bytes():
            diffs.append(f"{aid}/summary.json")
        for name in NOTEBOOKS:
            pa = json.loads((plain / aid / f"{name}.ipynb").read_text(encoding="utf-8"))
            pb = json.loads((kit / aid / f"{name}.ipynb").read_text(encoding="utf-8"))
            if _outputs(pa) != _outputs(pb):
                diffs.append(f"{aid}/{name}.ipynb")
            if not (plain / aid / f"{name}.html").stat().st_size:
                diffs.append(f"{aid}/{name}.html (empty)")
    images = sum(
        1
        for aid in ids
        for name in NOTEBOOKS
        for o in _outputs(json.loads((kit / aid / f"{name}.ipynb").read_text(encoding="utf-8")))
        if "image/png" in o[3] and base64.b64decode(o[3]["image/png"])
    )
    if diffs:
        return False, "differs: " + ", ".join(diffs[:6])
    return (
        True,
        f"{len(ids)} applicants: summary.json identical, outputs of {3 * len(ids)} notebooks identical ({images} figures)",
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def stage_table(path: Path, n: int, wall: float) -> list[str]:
    """The --timings CSV as a table: per stage, seconds per applicant (mean over those built)
    and share of the workers' time; then the cohort's own stages."""
    from helpers.stages import ORDER

    per: dict[str, float] = {}
    cohort: dict[str, float] = {}
    built = set()
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            seconds = float(row["seconds"])
            if row["applicant_id"]:
                built.add(row["applicant_id"])
                per[row["stage"]] = per.get(row["stage"], 0.0) + seconds
            else:
                cohort[row["stage"]] = cohort.get(row["stage"], 0.0) + seconds
    total = sum(per.values()) or 1.0
    k = max(len(built), 1)
    lines = [f"  {'stage':<22}{'s per applicant':>16}{'share':>8}"]
    for stage in sorted(per, key=lambda x: (ORDER.index(x) if x in ORDER else len(ORDER), x)):
        lines.append(f"  {stage:<22}{per[stage] / k:>16.3f}{per[stage] / total:>8.0%}")
    lines.append(f"  {'all stages':<22}{total / k:>16.3f}{1:>8.0%}")
    for stage, seconds in cohort.items():
        lines.append(f"  cohort: {stage:<14}{seconds:>16.2f} s once")
    lines.append(
        f"  {n} applicants on {len(os.sched_getaffinity(0))} cores: {total:.1f} worker-seconds in {wall:.1f} s of wall time"
    )
    return lines


def repeat_table(rounds: list[tuple[float, float, float | None]], n: int) -> list[str]:
    """Each round (plain s per applicant, kit s, kit-with-PDFs s or None), then medians and ranges."""
    lines = ["rounds, one after another:", "  round  plain s/applicant  kit s   ratio   kit+PDF s  PDFs add"]
    ratios, adds = [], []
    for i, (plain, kit, with_pdf) in enumerate(rounds, 1):
        ratio = plain / (kit / n)
        ratios.append(ratio)
        extra = ""
        if with_pdf is not None:
            adds.append(with_pdf / kit - 1)
            extra = f"  {with_pdf:9.1f}  {adds[-1]:+8.0%}"
        lines.append(f"  {i:5d}  {plain:17.2f}  {kit:5.1f}  {ratio:5.1f}x{extra}")
    lines.append(
        f"  median speed-up {np.median(ratios):.1f}x (from {min(ratios):.1f}x to {max(ratios):.1f}x)"
        + (f"; PDFs add {np.median(adds):+.0%} (from {min(adds):+.0%} to {max(adds):+.0%})" if adds else "")
    )
    return lines


def pdf_both_ways(reports: list[Path], work: Path) -> tuple[float, float]:
    """Seconds to print the same reports with one chromium start each (the command line),
    and with one browser that stays open (report.Printer)."""
    from helpers.report import Printer, print_pdf

    start = time.perf_counter()
    for i, html in enumerate(reports):
        print_pdf(html, work / f"cli-{i}.pdf")
    cli = time.perf_counter() - start
    printer = Printer()
    start = time.perf_counter()
    try:
        for i, html in enumerate(reports):
            printer.print(html, work / f"kept-{i}.pdf")
    finally:
        printer.close()
    return cli, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16, help="applicants for the kit's run (default 16)")
    ap.add_argument("--plain", type=int, default=4, help="applicants for the plain approach (default 4)")
    ap.add_argument("--workers", type=int, default=None, help="kit workers (default: cores)")
    ap.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip the runs with PDFs")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of plain, kit and kit-with-PDF runs, one after another; prints each round and the medians (default 1)",
    )
    ap.add_argument("--scale", action="store_true", help="also time N=100 and N=1,000")
    ap.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = ap.parse_args(argv)
    if args.plain > args.n:
        ap.error("--plain must not exceed --n")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    from helpers.report import find_browser

    pdf = args.pdf and find_browser() is not None
    work = args.keep or Path(tempfile.mkdtemp(prefix="awayplan-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    print(f"awayplan benchmark: {cores} cores, seed {SEED}, program table {digest(PROGRAMS)}, in {work}")
    try:
        rows = synthetic_cohort(max(args.n, 1000 if args.scale else 0))
        cohort = write_cohort(rows[: args.n], work / f"cohort-{args.n}.csv")

        plain_s = run_plain(rows[: args.plain], work / "plain")
        plain_rate = args.plain / plain_s
        print(
            f"plain approach (papermill CLI, then nbconvert CLI, per notebook per applicant), "
            f"{args.plain} applicants: {plain_s:.1f} s -> {plain_s / args.plain:.2f} s per applicant"
        )
        kit_s, mem, line = run_kit(cohort, work / "kit", args.workers, timings=work / "timings.csv")
        kit_rate = args.n / kit_s
        print(
            f"kit (awayplan report --cohort --no-pdf), {args.n} applicants: {kit_s:.1f} s -> "
            f"{kit_s / args.n:.2f} s per applicant"
        )
        print(f"  {line}")
        print(f"speed-up, kit / plain (HTML reports): {kit_rate / plain_rate:.1f}x")
        same, detail = same_content(
            work / "plain", work / "kit", [r["applicant_id"] for r in rows[: args.plain]]
        )
        print(f"same report content: {'yes' if same else 'NO'} ({detail})")
        print(
            f"kit peak memory, all processes together: {mb(mem.peak_rss)} RSS "
            f"({mb(mem.peak_pss)} PSS, shared pages counted once), {mem.peak_procs} processes at most"
        )
        print("where an applicant's time goes (HTML run):")
        print("\n".join(stage_table(work / "timings.csv", args.n, kit_s)))
        if pdf:
            pdf_s, pmem, line = run_kit(
                cohort, work / "kit-pdf", args.workers, True, work / "timings-pdf.csv"
            )
            print(
                f"kit with PDFs (awayplan report --cohort --pdf), {args.n} applicants: {pdf_s:.1f} s; "
                f"PDFs add {pdf_s / kit_s - 1:+.0%} to the cohort's time; peak memory {mb(pmem.peak_rss)} RSS"
            )
            print(f"  {line}")
            print("where an applicant's time goes (run with PDFs):")
            print("\n".join(stage_table(work / "timings-pdf.csv", args.n, pdf_s)))
            sample = [work / "kit-pdf" / r["applicant_id"] / "report.html" for r in rows[: min(args.n, 5)]]
            cli, kept = pdf_both_ways(sample, work)
            print(
                f"printing {len(sample)} reports in this process: one chromium start per report {cli:.1f} s "
                f"({cli / len(sample):.2f} s each), one browser kept open {kept:.1f} s ({kept / len(sample):.2f} s each)"
            )
        elif args.pdf:
            print("no chromium here: the runs with PDFs are skipped")
        if args.repeat > 1:
            rounds = [(plain_s / args.plain, kit_s, pdf_s if pdf else None)]
            for i in range(2, args.repeat + 1):
                p_s = run_plain(rows[: args.plain], work / f"plain-{i}")
                k_s = run_kit(cohort, work / f"kit-{i}", args.workers)[0]
                d_s = run_kit(cohort, work / f"kit-pdf-{i}", args.workers, True)[0] if pdf else None
                for name in (f"plain-{i}", f"kit-{i}", f"kit-pdf-{i}"):
                    shutil.rmtree(work / name, ignore_errors=True)
                rounds.append((p_s / args.plain, k_s, d_s))
            print("\n".join(repeat_table(rounds, args.n)))
        if args.scale:
            times = {}
            for n in (100, 1000):
                c = write_cohort(rows[:n], work / f"cohort-{n}.csv")
                secs, m, line = run_kit(c, work / f"kit-{n}", args.workers)
                times[n] = secs
                print(
                    f"N={n}: {secs:.1f} s ({secs / n:.2f} s per applicant), peak memory {mb(m.peak_rss)} RSS "
                    f"/ {mb(m.peak_pss)} PSS; {line}"
                )
                if args.keep is None:
                    shutil.rmtree(work / f"kit-{n}", ignore_errors=True)
            print(f"time(1000) / time(100): {times[1000] / times[100]:.2f}")
        return 0 if same else 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
