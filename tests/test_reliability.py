"""A run killed with SIGKILL leaves the warehouse consistent (AC 4); readers never block a run (AC 7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.settings import load_settings
from tests.conftest import REPO, write_jsonl
from warehouse.db import open_snapshot

RUNNER = """
import sys
from flows.pipeline import run_pipeline
from models.settings import load_settings
summary = run_pipeline(load_settings(), "default", progress=lambda what, n: print("progress", what, n, flush=True))
print("done", summary.loaded, flush=True)
"""


def _big_file(path: Path, cases: int) -> int:
    rows = []
    for i in range(cases):
        for step, (kind, stage) in enumerate([("created", "backlog"), ("stage_changed", "active"),
                                              ("stage_changed", "review"), ("completed", "done")]):  # fmt: skip
            rows.append({"kind": kind, "process": f"P{i % 5}", "case_id": f"C{i}", "stage": stage,
                         "occurred_at": f"2025-{1 + i % 12:02d}-{1 + step:02d}T{8 + i % 9:02d}:00:00Z"})  # fmt: skip
    write_jsonl(path, rows)
    return len(rows)


def _spawn(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at(env: dict[str, str], marker: str, delay: float) -> bool:
    """Start a run and SIGKILL it `delay` s after it reports `marker`; True if it died mid-run."""
    proc = _spawn(env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("progress") and marker in line:
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=30) == -signal.SIGKILL
        if line.startswith("done"):
            break
    proc.wait(timeout=30)
    return False


@pytest.mark.slow
def test_sigkill_mid_load_then_next_run_completes_without_duplicates(cli, home, tmp_path) -> None:
    n = _big_file(tmp_path / "big.jsonl", 60_000)
    small = write_jsonl(tmp_path / "small.jsonl", [{"kind": "created", "process": "Q", "case_id": "S1",
                                                    "occurred_at": "2025-01-01T00:00:00Z"}])  # fmt: skip
    assert cli("import", "--no-run", str(tmp_path / "big.jsonl")).code == 0
    env = {**os.environ, "OPSPULSE_HOME": str(home)}
    # Kill while staging, inside the upsert transaction, while building and while publishing.
    points = [
        ("big.jsonl", 0.0),
        ("phase:upsert", 0.3),
        ("phase:build", 0.2),
        ("phase:publish", 0.0),
    ]
    kills = [_kill_at(env, marker, delay) for marker, delay in points]
    assert kills == [True, True, True, True], kills
    assert cli("import", str(small)).code == 0  # this run completes the pending load too
    paths = load_settings().paths("default")
    with open_snapshot(paths.snapshot) as con:
        total, distinct = con.execute(
            "select count(*), count(distinct event_id) from events"
        ).fetchall()[0]
        loaded_files = con.execute("select count(*) from landing_files").fetchall()[0][0]
    assert total == distinct == n + 1
    assert loaded_files == 2
    cases = cli("cases", "--format", "json").json()
    assert len(cases) == 60_001


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select count(*) from events").fetchall()[0][0], flush=True)
sys.stdin.readline()
print(con.execute("select count(*) from events").fetchall()[0][0], flush=True)
"""


def test_a_reader_holding_the_snapshot_does_not_block_a_run(cli, home, tmp_path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [{"kind": "created", "process": "P", "case_id": "A",
                                                "occurred_at": "2025-01-01T00:00:00Z"}])  # fmt: skip
    second = write_jsonl(tmp_path / "b.jsonl", [{"kind": "created", "process": "P", "case_id": "B",
                                                 "occurred_at": "2025-01-02T00:00:00Z"}])  # fmt: skip
    assert cli("import", str(first)).code == 0
    snapshot = home / "default" / "published" / "warehouse.duckdb"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(snapshot)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline().strip() == "1"
    started = time.monotonic()
    result = cli("import", str(second))  # loads and publishes while the reader holds the old file
    assert result.code == 0, result.err
    assert time.monotonic() - started < 60
    reader.stdin.write("\n")
    reader.stdin.flush()
    assert reader.stdout.readline().strip() == "1"  # the open reader keeps its consistent view
    reader.wait(timeout=10)
    with open_snapshot(snapshot) as con:  # a new reader sees the new publication
        assert con.execute("select count(*) from events").fetchall()[0][0] == 2
    assert json.loads(cli("cases", "--format", "json").out)[1]["case_id"] == "B"


def test_a_second_writer_waits_then_fails_clearly(home) -> None:
    from flows.pipeline import workspace_lock
    from models.errors import WorkspaceBusy

    paths = load_settings().paths("default")
    with (
        workspace_lock(paths),
        pytest.raises(WorkspaceBusy, match="another run"),
        workspace_lock(paths, timeout=0.3),
    ):
        pass
