# Two entry points (see README): `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs the project and runs the main job on the embedded default: generates the sample production
# if missing and provisions one environment with each strategy on the local runtime.
run: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/stagetui demo

# Installs the test dependencies and runs the whole suite (lint, types, tests).
test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/ruff check stagetui tests benchmarks
	$(BIN)/ruff format --check stagetui tests benchmarks
	$(BIN)/mypy
	$(BIN)/python tests/run_pytest.py

clean:
	rm -rf $(VENV) .state
