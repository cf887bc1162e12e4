# Two commands on a fresh machine with Python 3.11:
#   make run    install everything into .venv and run the tutorial (`rnnlab compare`)
#   make test   install everything into .venv, lint, check formatting and run the whole test suite
# While developing:
#   make check  lint and the tests not marked slow (under 2 minutes)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint bench compile clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Byte-compile rnnlab: an editable install leaves it as sources, which Python would compile
# on every start where it may not write its cache (PYTHONDONTWRITEBYTECODE): 0.04 s a run.
compile: $(STAMP)
	$(BIN)/python -m compileall -q src

run: compile
	$(BIN)/rnnlab compare

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# the whole suite, with the 15 slowest tests named at the end
test: lint
	$(BIN)/python -m pytest -q --durations=15

check: lint
	$(BIN)/python -m pytest -q -m "not slow"

bench: compile
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
	find src tests benchmarks -name __pycache__ -prune -exec rm -rf {} +
