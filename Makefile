# The two commands a new user needs: `make demo` and `make test`. Each installs what it needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test proof lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)  ## start the emulators with sample data, run every pipeline once, print a summary
	$(BIN)/revhub demo

test: $(STAMP)  ## lint and types, then the unit, contract and end-to-end tests (well under 15 minutes)
	$(BIN)/ruff check connectors sync_engine tests bench drill
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q -m "not slow"

proof: $(STAMP)  ## the slow suites too
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff, then mypy (make typecheck)
	$(BIN)/ruff check connectors sync_engine tests bench drill
	$(BIN)/python -m mypy

.PHONY: typecheck
typecheck: $(STAMP)  ## mypy over connectors, sync_engine, bench, drill (config in pyproject.toml)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) .revhub build *.egg-info

.PHONY: bench
bench: $(STAMP)  ## the sync benchmark: write calls vs the batch optimum, read calls, records/s, peak memory (bench/README.md)
	$(BIN)/python -m bench.sync_bench

.PHONY: drill
drill: $(STAMP)  ## the failure drill: inject every failure class, walk alert -> runbook -> fix -> replay (drill/README.md)
	$(BIN)/python -m drill.run
