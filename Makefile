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
	@# System packages the integration tests drive for real: tmux (the TUI as a user sees it), the
	@# PostgreSQL server (the tests start and stop their own cluster), and a Docker Engine with what the
	@# sample images are built from (busybox-static, debootstrap). Installed only when missing; a failed
	@# install fails CI, elsewhere the tests needing them skip or fail saying what is missing.
	@missing=""; command -v tmux >/dev/null || missing="tmux"; \
	  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing="$$missing docker.io"; \
	  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing="$$missing debootstrap"; \
	  dpkg-query -W -f='$${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
	    || missing="$$missing busybox-static"; \
	  command -v ip >/dev/null || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing="$$missing iproute2"; \
	  if [ -n "$$missing" ]; then { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; } \
	    || { [ "$$CI" != true ] && echo "make test: could not install$$missing; continuing" >&2; }; fi
	@# The suite runs next to a private dockerd (started and removed by the wrapper) unless DOCKER_HOST
	@# already answers.
	$(BIN)/python tests/with_dockerd.py $(BIN)/python tests/run_pytest.py

clean:
	rm -rf $(VENV) .state
