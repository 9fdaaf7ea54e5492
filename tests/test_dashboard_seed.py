"""A seeded demo data folder for the dashboard tests, built once and shared by pytest-xdist workers.

Workspaces: `acme` (the demo business, 26 weeks), `launch` (scenario S5, ad-hoc launch prep) and
`fresh` (landed nothing, published nothing: the empty state).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

SEED = 20250106
WORKSPACES = (("acme", None, 26), ("launch", "S5", 52))


def build_seed(home: Path) -> None:
    """Simulate and run the pipeline for every seeded workspace (about 10 s)."""
    from flows.demo import simulate_to_file
    from flows.ingest import land_imports
    from flows.pipeline import run_pipeline
    from models.settings import Settings

    settings = Settings(home=home)
    for workspace, scenario, weeks in WORKSPACES:
        paths = settings.paths(workspace)
        path = simulate_to_file(paths.root / "demo", SEED, weeks, scenario=scenario)
        land_imports([path], paths.landing, "jsonl", None, datetime.now(UTC))
        run_pipeline(settings, workspace)
    (home / "fresh" / "landing").mkdir(parents=True)


def seeded_home(shared: Path) -> Path:
    """The seeded folder under `shared`, built by the first worker that asks (a file lock)."""
    home = shared / "dashboard-seed"
    shared.mkdir(parents=True, exist_ok=True)
    with (shared / "dashboard-seed.lock").open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (home / ".ready").exists():
            shutil.rmtree(home, ignore_errors=True)
            build_seed(home)
            (home / ".ready").touch()
    return home


def copy_home(seed: Path, target: Path) -> Path:
    """A private copy of the seeded folder for a test that writes (requests, new runs)."""
    shutil.copytree(seed, target, ignore=shutil.ignore_patterns("*.lock", ".ready"))
    return target


@pytest.fixture(scope="session")
def seed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared, read-only seeded data folder (one per test session, across xdist workers)."""
    base = tmp_path_factory.getbasetemp()
    return seeded_home(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


def test_seed_has_published_workspaces_and_an_empty_one(seed_home: Path) -> None:
    from warehouse import queries
    from warehouse.db import open_snapshot

    for workspace, _, _ in WORKSPACES:
        with open_snapshot(seed_home / workspace / "published" / "warehouse.duckdb") as con:
            assert queries.maturity_rows(con), workspace
            assert queries.has_table(con, "metric_dash_weekly")
    assert not (seed_home / "fresh" / "published").exists()
