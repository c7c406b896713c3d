# Two set-up commands work on a fresh machine with Python 3.11 and make:
#   make demo   -- builds .venv, installs tdmguard, runs the main job on the embedded defaults
#   make test   -- builds .venv with the dev extras, runs ruff, mypy --strict, import-linter, pytest
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
STAMP_RUN := $(VENV)/.installed-run

.PHONY: demo test test-slow lint typecheck imports venv clean bench

$(BIN)/uv:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "tdmguard needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# --compile-bytecode and compileall: where PYTHONDONTWRITEBYTECODE is set, Python never
# caches what it compiles, and every process (each scan worker, each CLI call) would
# compile every module it imports again, seconds of CPU each time.
$(STAMP_RUN): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[all]'
	$(BIN)/python -m compileall -q src
	touch $@

$(STAMP): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $@ $(STAMP_RUN)

venv: $(STAMP)

demo: $(STAMP_RUN)
	rm -rf demo-out
	$(BIN)/tdmguard demo --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck imports
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
