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
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/flash_sale.py
	$(BIN)/python bench/jielong.py
	$(BIN)/python bench/scheduler.py
	$(BIN)/python bench/recap.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
