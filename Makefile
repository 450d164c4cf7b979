# The two commands of README.md: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint venv migrate seed clean

$(STAMP): pyproject.toml setup.py $(wildcard knowledge/*.pyx)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,fit]" --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(BIN)/minsheng migrate

# The demo city's account filings end with its government office (QY-BGS).
DEMO_ENV := MINSHENG_FILING_FINAL_UNIT_CODE=$${MINSHENG_FILING_FINAL_UNIT_CODE:-QY-BGS}

seed: migrate
	$(DEMO_ENV) $(BIN)/minsheng seed-demo

run: seed
	MINSHENG_COOKIE_SECURE=$${MINSHENG_COOKIE_SECURE:-false} $(DEMO_ENV) $(BIN)/minsheng serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) var .pytest_cache
