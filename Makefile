# Doorstep: the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install warm demo serve-demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/doorstep network warm
	touch $@

install: $(BIN)/.installed

# Compile the road-network code into the user's cache (~/.cache/doorstep/numba), so the
# first plan does not spend ~15 s on it. `install` runs it once; run it again after
# clearing the cache.
warm: install
	$(BIN)/doorstep network warm

# The main job on embedded defaults: plan the Helsinki sample day on the bundled roads
# and write plan.json, the drivers' CSVs, plan.geojson and map.html to demo-plan/.
# The sample has planted defects that the gate rejects, so `plan` exits 1 (plan
# written, some rows left out); any other exit code means something is broken.
demo: install
	$(BIN)/doorstep plan examples/helsinki/orders.csv --fleet examples/helsinki/fleet.csv \
		--out demo-plan || test $$? -eq 1

# The service with the Helsinki sample day uploaded, planned and published on a fresh SQLite
# file, and demo accounts (one per role) printed: open the address it prints and sign in.
serve-demo: install
	$(BIN)/doorstep serve --demo

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_network.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
