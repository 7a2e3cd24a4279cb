"""awayplan helpers: the importable logic behind the notebooks and the `awayplan` command.

One module per concept: inputs (profile, programs, cohort, tables), sourced facts and named
assumptions, the analysis (eligibility, tiering, leverage, odds, budget, timeline, analysis),
what people see (views, plots, checklist, teaching, report, overview, summary) and running
it (notebook, batch, warmkernel, cli).
"""

__version__ = "0.1.0"
