# One entry point for readers, developers and CI.
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= ci
SHARED_NAMES := $(abspath ../shared/data/names)
ifneq ($(wildcard $(SHARED_NAMES)/SHA256SUMS),)
export IMBLOSS_NAMES_DIR ?= $(SHARED_NAMES)
endif

.PHONY: venv test lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

test: venv
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

bench: venv
	$(PY) bench/bench_losses.py

clean:
	rm -rf _build
