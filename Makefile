# The README's two commands: `make run` and `make test`. Both create or reuse .venv and install.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The console: node_modules from the lock file, then the static build `userops serve` serves.
WEB_STAMP := web/node_modules/.installed-stamp
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json web/tsconfig.app.json web/tsconfig.node.json

.PHONY: install run test lint typecheck console web-test chromium bench-import bench-events \
	bench-ingest bench-analyses clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build

install: $(STAMP) console

console: web/dist/index.html

run: install
	$(VENV)/bin/userops demo --project demo --if-empty
	$(VENV)/bin/userops serve

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

web-test: $(WEB_STAMP)
	cd web && npm test

# Debian's Chromium for the console's end-to-end tests (Playwright drives it).
chromium:
	scripts/install-chromium.sh

# USEROPS_E2E=required: the browser tests fail instead of skipping when the build or browser is gone.
test: install lint typecheck web-test chromium
	. scripts/test-services.sh && USEROPS_E2E=required $(VENV)/bin/pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

bench-import: $(STAMP)
	$(PY) benchmarks/import_jsonl.py --events 1000000

clean:
	rm -rf $(VENV) web/node_modules web/dist .pytest_cache .mypy_cache .ruff_cache .coverage

bench-events: $(STAMP)
	$(PY) benchmarks/events_table.py --events 2000000

bench-ingest: $(STAMP)
	$(PY) benchmarks/ingest.py --clients 8 --seconds 15

bench-analyses: $(STAMP)
	$(PY) benchmarks/analyses.py --events 10000000
