"""awayplan helpers: the importable logic behind the notebooks and the `awayplan` command.

One module per concept: profile, programs, cohort, facts, assumptions, eligibility,
tiering, odds, budget, timeline, plots, summary, report, batch, cli.
"""

__version__ = "0.1.0"
