# The two quickstart commands: `make run` and `make test`. Both create .venv when it is missing.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench serve clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Every suite and scenario against the embedded reference server; writes reports/<run-id>/ and
## points reports/latest at it (exit 0 on the strict server). `make run ARGS="--quirk filter-ignored"`.
run: install
	$(BIN)/scimitar test $(ARGS)
	@echo "open reports/latest/report.html"

## The project's own tests, with lint and type checks.
test: install lint
	$(BIN)/pytest -q -n 2 tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/suite.py

serve: install
	$(BIN)/scimitar serve

clean:
	rm -rf $(VENV) reports/*/ reports/latest
