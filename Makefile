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

test: $(STAMP)  ## the unit, contract and end-to-end tests (well under 15 minutes)
	$(BIN)/python -m pytest -q -m "not slow"

proof: $(STAMP)  ## the slow suites too
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check connectors sync_engine tests

clean:
	rm -rf $(VENV) .revhub build *.egg-info

.PHONY: bench
bench: $(STAMP)  ## the sync benchmark: write calls vs the batch optimum, read calls, records/s, peak memory (bench/README.md)
	$(BIN)/python -m bench.sync_bench

.PHONY: drill
drill: $(STAMP)  ## the failure drill: inject every failure class, walk alert -> runbook -> fix -> replay (drill/README.md)
	$(BIN)/python -m drill.run
