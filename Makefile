# awayplan: one entry point. `make run` builds the example reports, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBSTRIP_KEYS := metadata.papermill cell.metadata.papermill

.PHONY: run test lab lint format browser bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "awayplan needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/awayplan report --cohort data/example-cohort --out reports

test: $(STAMP) browser lint
	$(BIN)/nbstripout --verify --extra-keys "$(NBSTRIP_KEYS)" notebooks/*.ipynb
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/nbstripout --extra-keys "$(NBSTRIP_KEYS)" notebooks/*.ipynb

# JupyterLab on notebooks/ with the kit's environment as the kernel. The notebooks ask for the
# `python3` kernel; Jupyter started from .venv resolves it to .venv's own Python, and
# JUPYTER_PREFER_ENV_PATH=1 keeps a user-level `python3` kernel from shadowing it. As root
# (containers) JupyterLab refuses to start without --allow-root. Extra flags: LAB_ARGS=...
lab: $(STAMP)
	JUPYTER_PREFER_ENV_PATH=1 $(BIN)/jupyter lab --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Cohort throughput against plain papermill + nbconvert, same content check, peak memory.
# `make bench BENCH_ARGS=--scale` also times 100 and 1,000 applicants (about 40 minutes on 2 cores).
bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# Debian's chromium prints the PDFs and runs the browser tests.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium package for PDFs and browser tests"; fi; }

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
