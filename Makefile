# Two entry points: `make run` assesses the bundled Nightscout example,
# `make test` runs lint, type checks and the test suite. Both create .venv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_SBOM := ../shared/data/sbom/nightscout-14.2.6.cdx.json
OUT ?= out/nightscout

.PHONY: run test lint install bench clean

$(BIN)/nemecys: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ml]'
	touch $@

install: $(BIN)/nemecys

# The real Nightscout SBOM is attached only when ../shared is present, so a
# fresh machine still gets a report.
run: install
	@if [ -f $(SHARED_SBOM) ]; then sbom="--sbom nightscout-server=$(SHARED_SBOM)"; else sbom=""; \
	  echo "note: $(SHARED_SBOM) not found; assessing without an SBOM"; fi; \
	$(BIN)/nemecys assess examples/nightscout -o $(OUT) $$sbom

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
