# Two entry points: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv and install what they need on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

.PHONY: install demo test bench lint app
install: $(STAMP)

demo: $(STAMP)
	$(BIN)/immunocycle demo --out results/demo --overwrite

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# The validation scorecard's quick run after the tests: fails on a broken calibration target
# (known gaps, each with its issue, are reported without failing; see README "Validation").
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
	$(BIN)/immunocycle validate --quick --out results/validate

bench: $(STAMP)
	$(BIN)/immunocycle bench --json --out results/bench

# The browser workbench on http://localhost:8501 (or the next free port); Ctrl-C stops it.
app: $(STAMP)
	$(BIN)/immunocycle app --workspace results/app
