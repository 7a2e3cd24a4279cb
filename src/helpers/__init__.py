"""awayplan helpers: the importable logic behind the notebooks and the `awayplan` command.

One module per concept: inputs (profile, programs, cohort, tables), sourced facts and named
assumptions, the analysis (eligibility, tiering, leverage, odds, budget, timeline, analysis),
what people see (views, plots, checklist, teaching, report, overview, summary) and running
it (notebook, batch, warmkernel, cli).
"""

import sys

__version__ = "0.1.0"

# jsonschema (under nbformat) imports the optional IRI checker rfc3987_syntax, which
# jupyter-events pulls in, and that module builds its grammar at import: about 2 s in every
# process that reads a notebook (python-jsonschema/jsonschema#1428). Nothing the kit
# validates has an IRI format, so its processes (the command, its workers) go without it:
# jsonschema then leaves that one format unchecked. A process that imported jsonschema
# before the kit keeps what it has.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
