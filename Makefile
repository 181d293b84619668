# The two commands a new user runs:  `make demo`  and  `make test`.
# Both create a local virtual environment (.venv), install the CPU build of
# torch 2.13.0 when no torch is present, then vegan with its dev extras.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
DEMO_OUT ?= runs/demo

.PHONY: setup demo test test-slow lint bench docs clean

$(BIN)/vegan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(BIN)/vegan

setup: $(BIN)/vegan

demo: setup
	$(BIN)/vegan train wae-mmd --data mnist --out $(DEMO_OUT) --overwrite
	$(BIN)/vegan report $(DEMO_OUT) --out $(DEMO_OUT)/report.html

test: setup
	$(BIN)/python -m pytest -n 2

test-slow: setup
	$(BIN)/python -m pytest -n 2 -m slow

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: setup
	$(BIN)/python -m pip install -q -e ".[dev,bench]"
	$(BIN)/python bench/run_all.py

docs: setup
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
