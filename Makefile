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
	@echo "== installing requirements.txt into $(VENV) (a few minutes the first time)"
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --progress-bar off -r requirements.txt
	touch $@

# one line per test file with a [done/total] count, a line a minute naming a test that runs
# long (the notebooks, tests/conftest.py) with its time so far, and the slowest at the end
test: venv
	@echo "== make test: pytest (the slow tests read or execute the notebooks of PROFILE=$(PROFILE))"
	$(PY) -m pytest -o console_output_style=count --durations=10

lint: venv
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

# ratios measured in one run each: every loss against F.cross_entropy, the default model
# against the PyTorch char-RNN tutorial's recipe (needs the names data), and digits runs
# one model at a time against the seeds of a setting trained as one stacked model
bench: venv
	$(PY) bench/bench_losses.py
	$(PY) bench/bench_training.py
	$(PY) bench/bench_stacked.py

clean:
	rm -rf _build build dist

# --- the book: scripts/build_book.py executes every notebook once with papermill ---------
# (PROFILE=ci|full) into _build/executed/$(PROFILE)/, then builds _build/html with
# `jupyter-book build -W --keep-going` from those copies.
.PHONY: book book-html book-urls

book: venv
	@echo "== make book: executing the notebooks (PROFILE=$(PROFILE)), then building the HTML"
	$(PY) scripts/build_book.py --profile $(PROFILE)

# rebuild _build/html from the executed notebooks of the last `make book`
book-html: venv
	$(PY) scripts/build_book.py --profile $(PROFILE) --html-only

# after changing repository.url in _config.yml: rewrite the Colab badges and install lines
book-urls: venv
	$(PY) scripts/build_book.py --sync-urls
