"""Running the notebooks for applicants: papermill per notebook, then the report.

Each applicant is built in a private staging folder and moved into place only when
complete (report.html, summary.json, plan.ics and the executed notebooks), so a crash
never leaves a half-written report. One applicant's failure is recorded and never stops
the others.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import shutil
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cohort import Entry
from .config import ANALYSIS_NOTEBOOKS, NOTEBOOKS_DIR, ROOT
from .outputs import applicant_dir, write_atomic
from .profile import Profile, profile_to_yaml
from .report import print_pdf, write_report
from .summary import read_summary

MANIFEST_FIELDS = ("applicant_id", "status", "seconds", "error")
REPORT_FILES = ("report.html", "summary.json", "plan.ics", *ANALYSIS_NOTEBOOKS)


@dataclass
class Result:
    applicant_id: str
    status: str  # ok | failed
    seconds: float
    error: str = ""


def load_notebooks() -> list[nbformat.NotebookNode]:
    return [nbformat.read(NOTEBOOKS_DIR / name, as_version=4) for name in ANALYSIS_NOTEBOOKS]


def execute_notebooks(
    profile_path: Path,
    programs_path: Path,
    out_dir: Path,
    templates: list[nbformat.NotebookNode] | None = None,
    kernel_manager=None,
    timeout: float | None = 600,
) -> list[nbformat.NotebookNode]:
    """Run the three analysis notebooks with papermill in one kernel; return them executed.

    Parameters are paths only (papermill copies them into the notebook metadata).
    """
    import papermill as pm
    from jupyter_client import KernelManager

    templates = templates or load_notebooks()
    km = kernel_manager
    own = km is None
    if own:
        km = KernelManager(
            kernel_name="python3",
            transport="ipc",
            ip=str(Path(tempfile.mkdtemp(prefix="awayplan-kernel-")) / "k"),
        )
        km.start_kernel(cwd=str(ROOT), extra_arguments=["--HistoryManager.enabled=False"])
    try:
        executed = []
        for template in templates:
            params = {"profile_path": str(profile_path), "programs_path": str(programs_path)}
            if "out_dir = " in "".join(
                c.source for c in template.cells if "parameters" in c.metadata.get("tags", [])
            ):
                params["out_dir"] = str(out_dir)
            nb = pm.execute_notebook(
                copy_nb(template),
                None,
                parameters=params,
                kernel_name="python3",
                km=km,
                progress_bar=False,
                request_save_on_cell_execute=False,
                execution_timeout=timeout,
                cwd=str(ROOT),
            )
            executed.append(nb)
        return executed
    finally:
        if own:
            km.shutdown_kernel(now=True)


def copy_nb(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def run_applicant(
    profile: Profile,
    programs_path: Path,
    out_root: Path,
    pdf: bool = False,
    templates: list[nbformat.NotebookNode] | None = None,
    kernel_manager=None,
) -> Result:
    """Build one applicant's complete output folder, or record why it failed."""
    start = time.perf_counter()
    target = applicant_dir(out_root, profile.applicant_id)
    staging = out_root / ".staging" / f"{profile.applicant_id}-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        profile_file = write_atomic(staging / "profile.yaml", profile_to_yaml(profile))
        notebooks = execute_notebooks(profile_file, programs_path, staging, templates, kernel_manager)
        for name, nb in zip(ANALYSIS_NOTEBOOKS, notebooks, strict=True):
            write_atomic(staging / name, nbformat.writes(nb))
        read_summary(staging / "summary.json")  # contract check
        generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        report = write_report(
            staging / "report.html", profile.applicant_id, profile.name, notebooks, generated
        )
        if pdf:
            print_pdf(report, staging / "report.pdf")
        (staging / "profile.yaml").unlink()
        _swap_into_place(staging, target)
        return Result(profile.applicant_id, "ok", round(time.perf_counter() - start, 2))
    except Exception as exc:  # one applicant's failure is recorded, never raised
        shutil.rmtree(staging, ignore_errors=True)
        return Result(
            profile.applicant_id, "failed", round(time.perf_counter() - start, 2), describe_failure(exc)
        )


def describe_failure(exc: BaseException) -> str:
    """One line for the manifest: the exception, or the failing cell's error for notebooks."""
    name = exc.__class__.__name__
    evalue = getattr(exc, "evalue", None) or str(exc)
    if name == "PapermillExecutionError":
        return f"notebook cell failed: {getattr(exc, 'ename', '')}: {evalue}".splitlines()[0][:500]
    text = (
        f"{name}: {evalue}".splitlines()[0]
        if evalue
        else "".join(traceback.format_exception_only(exc)).strip()
    )
    return text[:500]


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace the applicant's folder by the finished staging folder in two renames."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_cohort(
    entries: list[Entry], programs_path: Path, out_root: Path, pdf: bool = False, progress=None
) -> list[Result]:
    """Run every valid entry in turn; invalid rows become failed results with their problem."""
    out_root.mkdir(parents=True, exist_ok=True)
    templates = load_notebooks()
    results = []
    for entry in entries:
        if not entry.ok:
            results.append(Result(entry.key, "failed", 0.0, "; ".join(str(p) for p in entry.problems)))
        else:
            results.append(
                run_applicant(entry.profile, programs_path, out_root, pdf=pdf, templates=templates)
            )
        if progress is not None:
            progress(results[-1])
    write_manifest(out_root, results)
    write_index(out_root, results)
    shutil.rmtree(out_root / ".staging", ignore_errors=True)
    return results


def write_manifest(out_root: Path, results: list[Result]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow(
            {
                "applicant_id": r.applicant_id,
                "status": r.status,
                "seconds": f"{r.seconds:.2f}",
                "error": r.error,
            }
        )
    return write_atomic(out_root / "manifest.csv", buf.getvalue())


def write_index(out_root: Path, results: list[Result]) -> Path:
    """index.html: one row per applicant linking its report (ids only, no names or scores)."""
    rows = []
    for r in results:
        aid = html.escape(r.applicant_id)
        if r.status == "ok":
            s = json.loads((out_root / r.applicant_id / "summary.json").read_text(encoding="utf-8"))
            counts = {
                k: sum(1 for p in s["programs"] if p["status"] == k)
                for k in ("eligible", "unknown", "excluded")
            }
            mp = s["match_probability"]["with_plan"]["match_probability"]
            rows.append(
                f"<tr><td><a href='{html.escape(r.applicant_id, quote=True)}/report.html'>{aid}</a></td><td>ok</td>"
                f"<td>{counts['eligible']}</td><td>{counts['unknown']}</td><td>{len(s['rotations'])}</td>"
                f"<td>${s['total_cost_usd']:,.0f} / ${s['budget_usd']:,.0f}</td><td>{100 * mp:.0f}%</td><td>{len(s['warnings'])}</td><td></td></tr>"
            )
        else:
            rows.append(
                f"<tr><td>{aid}</td><td>failed</td><td></td><td></td><td></td><td></td><td></td><td></td><td>{html.escape(r.error)}</td></tr>"
            )
    ok = sum(r.status == "ok" for r in results)
    page = f"""<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>
<meta http-equiv='Content-Security-Policy' content="default-src 'none'; style-src 'unsafe-inline'">
<title>awayplan cohort overview</title>
<style>body{{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:auto;padding:1.5rem;font-size:14px}}
table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #ccc;padding:4px 6px;text-align:left}}thead th{{background:#eef2f8}}</style></head>
<body><h1>Cohort overview</h1><p>{ok} of {len(results)} applicants have a complete report. Failures are listed with the reason; see manifest.csv.</p>
<table><thead><tr><th>applicant</th><th>status</th><th>eligible</th><th>unknown</th><th>rotations</th><th>cost / budget</th><th>match chance with plan</th><th>warnings</th><th>error</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
    return write_atomic(out_root / "index.html", page)
