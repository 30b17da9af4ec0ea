# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install system-deps lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev,wechat]'
	touch $(STAMP)

install: $(STAMP)

# Chromium for the browser tests, a CJK font for the poster, Node packages for the gateway tests.
system-deps:
	bash .ci/system-deps.sh

run: install
	-bash .ci/system-deps.sh fonts
	$(BIN)/tuanbot run

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

# Run as modules: bench/scheduler.py would otherwise shadow the scheduler package.
bench: install
	$(BIN)/python -m bench.flash_sale
	$(BIN)/python -m bench.jielong
	$(BIN)/python -m bench.scheduler
	$(BIN)/python -m bench.recap

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
