# opspulse developer commands: `make demo`, `make test`, `make check`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser demo test check fmt bench bench-dashboard sweep clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/opspulse demo

# The browser test drives Debian's chromium through Playwright (which never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends chromium)

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

check: $(STAMP) browser
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy flows models warehouse dashboards
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -W error::pytest.PytestUnraisableExceptionWarning

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-dashboard: $(STAMP)
	$(BIN)/python benchmarks/dashboard.py

# METRICS.md §7's seed sweep, 20 seeds (resumable: results are kept in SWEEP_OUT). All seven
# scenarios take about an hour on two cores; CI runs them after `make test`.
SWEEP_OUT ?= .opspulse/sweep
SWEEP_SCENARIOS ?= S1 S2 S3 S4 S5 S6 S7
sweep: $(STAMP)
	$(BIN)/python -m tests.scenario_sweep --out $(SWEEP_OUT) --scenarios $(SWEEP_SCENARIOS)

clean:
	rm -rf $(VENV) .opspulse .pytest_cache
