"""What a cohort run writes beside the applicants' folders: manifest.csv, the advisor's
overview (notebooks/04-cohort.ipynb run on the finished folder) and index.html."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

import nbformat

from .config import NOTEBOOKS_DIR, ROOT
from .execution import DEFAULT_TIMEOUT, Result, describe_failure, run_papermill
from .outputs import write_atomic
from .warmkernel import WarmKernels

MANIFEST_FIELDS = ("applicant_id", "status", "seconds", "error")
OVERVIEW_NOTEBOOK = "04-cohort.ipynb"
OVERVIEW_HTML = "overview.html"


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


def run_overview(out_root: Path, programs_path: Path) -> str:
    """Run notebooks/04-cohort.ipynb on the finished folder; '' when done, else the error."""
    from .overview import write_overview_html

    kernels = WarmKernels(ROOT)
    km = None
    try:
        nb = nbformat.read(NOTEBOOKS_DIR / OVERVIEW_NOTEBOOK, as_version=4)
        km = kernels.start()
        params = {"reports_dir": str(out_root), "programs_path": str(programs_path)}
        nb = run_papermill(nb, params, km, DEFAULT_TIMEOUT)
        write_atomic(out_root / OVERVIEW_NOTEBOOK, nbformat.writes(nb))
        write_overview_html(out_root / OVERVIEW_HTML, nb)
        return ""
    except Exception as exc:
        return describe_failure(exc)
    finally:
        if km is not None:
            kernels.stop(km)
        kernels.close()


def write_index(out_root: Path, results: list[Result], overview: bool = True) -> Path:
    """index.html: one row per applicant linking its report (ids and figures only, no names)."""
    rows = []
    for r in results:
        aid = html.escape(r.applicant_id)
        if r.status == "ok" and r.row is not None:
            x = r.row
            chance = "" if x["chance"] is None else f"{100 * x['chance']:.0f}%"
            rows.append(
                f"<tr><td><a href='{html.escape(r.applicant_id, quote=True)}/report.html'>{aid}</a></td><td>ok</td>"
                f"<td>{x['eligible']}</td><td>{x['unknown']}</td><td>{x['rotations']}</td>"
                f"<td>${x['cost']:,.0f} / ${x['budget']:,.0f}</td><td>{chance}</td><td>{x['warnings']}</td><td></td></tr>"
            )
        else:
            rows.append(
                f"<tr><td>{aid}</td><td>{html.escape(r.status)}</td><td></td><td></td><td></td><td></td><td></td><td></td><td>{html.escape(r.error)}</td></tr>"
            )
    ok = sum(r.status == "ok" for r in results)
    link = (
        f"<p><a href='{OVERVIEW_HTML}'>Advisor's overview</a>: eligible programs, budgets, applicants at risk and the questions to send programs.</p>"
        if overview
        else "<p>The advisor's overview could not be built this time (see the command's output).</p>"
    )
    page = f"""<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>
<meta http-equiv='Content-Security-Policy' content="default-src 'none'; style-src 'unsafe-inline'">
<title>awayplan cohort overview</title>
<style>body{{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:auto;padding:1.5rem;font-size:14px}}
table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #ccc;padding:4px 6px;text-align:left}}thead th{{background:#eef2f8}}</style></head>
<body><h1>Cohort overview</h1><p>{ok} of {len(results)} applicants have a complete report. Failures are listed with the reason; see manifest.csv.</p>
{link}
<table><thead><tr><th>applicant</th><th>status</th><th>eligible</th><th>unknown</th><th>rotations</th><th>cost / budget</th><th>match chance with plan</th><th>warnings</th><th>error</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
    return write_atomic(out_root / "index.html", page)
