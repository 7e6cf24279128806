# The README's two commands: `make run` and `make test`. Both create or reuse .venv and install.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck bench-import bench-events bench-ingest bench-analyses clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/userops demo --project demo --if-empty
	$(VENV)/bin/userops serve

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

test: install lint typecheck
	. scripts/test-services.sh && $(VENV)/bin/pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

bench-import: install
	$(PY) benchmarks/import_jsonl.py --events 1000000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage

bench-events: install
	$(PY) benchmarks/events_table.py --events 2000000

bench-ingest: install
	$(PY) benchmarks/ingest.py --clients 8 --seconds 15

bench-analyses: install
	$(PY) benchmarks/analyses.py --events 10000000
