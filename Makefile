# awayplan: one entry point. `make run` builds the example reports, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := constraints.txt
# Install stamps: runtime dependencies, then the test extra (`make lab STAMP=` skips the install).
STAMP      := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP    := $(BIN)/python -m pip install --quiet --constraint $(LOCK)
NBSTRIP_KEYS := metadata.papermill cell.metadata.papermill

.PHONY: run test test-fast lab lint format browser bench lock clean

# The main job's environment: runtime dependencies only, at the versions in constraints.txt.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "awayplan needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP) -e .
	@touch $@

# The same, plus the test and lint tools (pytest, nbval, ruff, nbstripout, icalendar, pypdf).
$(TEST_STAMP): $(STAMP) pyproject.toml $(LOCK)
	$(PIP) -e '.[test]'
	@touch $@

run: $(STAMP)
	$(BIN)/awayplan report --cohort data/example-cohort --out reports

test: $(TEST_STAMP) browser lint
	$(BIN)/nbstripout --verify --extra-keys "$(NBSTRIP_KEYS)" notebooks/*.ipynb
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider

# Unit tests only: no notebooks, no kernels, no browser, no papermill (well under a minute).
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest tests -m "not slow and not browser" -p no:cacheprovider -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
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

# Regenerate constraints.txt: install the kit with every extra into a throwaway venv from the
# package index, then freeze the versions pip chose. Run it on purpose (an upgrade), commit the
# result with the tests passing; every other target installs from the committed file.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[dev]' && \
	{ echo "# Versions awayplan is tested with: every target installs with --constraint $(LOCK)."; \
	  echo "# Regenerate with \`make lock\` (Python $$("$$tmp/venv/bin/python" -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())'))."; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable; } > $(LOCK).new && \
	mv $(LOCK).new $(LOCK) && echo "wrote $(LOCK)"

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
