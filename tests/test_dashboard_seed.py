"""A seeded demo data folder for the dashboard tests, built once and shared by pytest-xdist workers.

Workspaces: `acme` (the demo business, 20 weeks), `launch` (a small hand-written launch-prep log:
other processes, other people) and `fresh` (landed nothing, published nothing: the empty state).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import write_jsonl

SEED = 20250106
WEEKS = 20
WORKSPACES = ("acme", "launch")


def launch_log(path: Path) -> Path:
    """Twelve launch-prep tasks over a week: some done, some late, some without an owner."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rows: list[dict[str, object]] = []
    for i in range(12):
        case, created = f"LP-{i:02d}", start + timedelta(hours=10 * i)
        rows.append({"kind": "created", "process": "Launch prep", "case_id": case,
                     "occurred_at": created.isoformat(), "stage": "active", "case_title": f"Launch task {i}",
                     "assignee": "Rosa Quinn" if i % 3 else None,
                     "due_at": (created + timedelta(days=1)).isoformat()})  # fmt: skip
        if i < 6:
            rows.append({"kind": "completed", "process": "Launch prep", "case_id": case, "stage": "done",
                         "occurred_at": (created + timedelta(days=1 + i % 3)).isoformat()})  # fmt: skip
    return write_jsonl(path, rows)


def build_seed(home: Path) -> None:
    """Simulate and run the pipeline for every seeded workspace."""
    from flows.demo import simulate_to_file
    from flows.ingest import land_imports
    from flows.pipeline import run_pipeline
    from models.settings import Settings

    settings = Settings(home=home)
    for workspace in WORKSPACES:
        paths = settings.paths(workspace)
        paths.root.mkdir(parents=True)
        if workspace == "acme":
            path = simulate_to_file(paths.root / "demo", SEED, WEEKS)
        else:
            path = launch_log(paths.root / "launch.jsonl")
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

    for workspace in WORKSPACES:
        with open_snapshot(seed_home / workspace / "published" / "warehouse.duckdb") as con:
            assert queries.maturity_rows(con), workspace
            assert queries.has_table(con, "metric_dash_weekly")
    assert not (seed_home / "fresh" / "published").exists()
