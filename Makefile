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

# METRICS.md §7's seed sweep (about 70 minutes on two cores; resumable: results are kept in
# SWEEP_OUT). Not in CI: with `make test` it would exceed CI's 90-minute limit.
SWEEP_OUT ?= .opspulse/sweep
sweep: $(STAMP)
	$(BIN)/python -m tests.scenario_sweep --out $(SWEEP_OUT)

clean:
	rm -rf $(VENV) .opspulse .pytest_cache
