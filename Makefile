# Two entry points (see README): `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs the project and runs the main job on the embedded default: generates the sample production
# if missing, provisions one environment with each strategy on the local runtime, compares them, and
# (on a terminal) opens the UI on them.
run: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/stagetui demo --open-ui

# Installs the test dependencies and runs the whole suite (lint, types, tests).
test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/ruff check stagetui tests benchmarks
	$(BIN)/ruff format --check stagetui tests benchmarks
	$(BIN)/mypy
	@# System packages the integration tests drive for real: tmux (the TUI as a user sees it) and the
	@# PostgreSQL server (the tests start and stop their own cluster). Installed only when missing.
	@missing=""; command -v tmux >/dev/null || missing="tmux"; \
	  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; fi
	$(BIN)/python tests/run_pytest.py

clean:
	rm -rf $(VENV) .state
