"""The metric benchmark's bare query computes the same figures as the layers it is timed against."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

from models.settings import MetricsConfig
from tests.sqlkit import build_events, ev, utc
from warehouse.metrics import metric_params

REPO = Path(__file__).resolve().parent.parent


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bare_query_agrees_on_the_edge_cases() -> None:
    d = lambda day, h=12: utc(2025, 2, day, h)  # noqa: E731
    events = [
        # reworked through review twice, waiting on the client in between (rank-neutral)
        ev("A", "created", d(2), "backlog"), ev("A", "stage_changed", d(3), "active", assignee="ann"),
        ev("A", "stage_changed", d(4), "review"), ev("A", "stage_changed", d(5), "waiting_on_client"),
        ev("A", "stage_changed", d(6), "active"), ev("A", "stage_changed", d(7), "review"),
        ev("A", "stage_changed", d(8), "backlog"), ev("A", "completed", d(10), "done"),
        # reopened from done: finishes at the second done
        ev("B", "created", d(2), "active"), ev("B", "completed", d(3), "done"),
        ev("B", "reopened", d(5)), ev("B", "completed", d(9), "done"),
        # created already done: throughput only
        ev("C", "created", d(4), "done"),
        # a late created event does not move the case
        ev("D", "stage_changed", d(3), "active"), ev("D", "created", d(4), "backlog"),
        ev("D", "completed", d(6), "done"),
        # cancelled, and done then cancelled
        ev("E", "created", d(3), "backlog"), ev("E", "cancelled", d(8), "cancelled"),
        ev("F", "created", d(3), "active"), ev("F", "completed", d(5), "done"),
        ev("F", "cancelled", d(7), "cancelled"),
        # never started, only assigned, then done
        ev("G", "created", d(6), "backlog", assignee="bo"), ev("G", "completed", d(9, 18), "done"),
        # open work
        ev("H", "created", d(6), "active"),
        # finished before its (late) creation: negative durations stay out
        ev("I", "completed", d(5), "done"), ev("I", "created", d(7), "backlog"),
    ]  # fmt: skip
    built = build_events(events, as_of=date(2025, 3, 1))
    run = bench()
    params = metric_params(built.con, "UTC", MetricsConfig(), date(2025, 3, 1))
    assert run.disagreements(built.con, params) == []
    # The comparison can fail: a changed layer figure is reported.
    built.con.execute(
        "update metric_quality set value = value + 0.01 where metric = 'rework_rate'"
        " and window_name = 'current'"
    )
    assert any("rework_rate" in w for w in run.disagreements(built.con, params))


def test_bare_query_agrees_on_the_generated_events() -> None:
    run = bench()
    con, n, params = run._prepare(40_000)
    run._core(con, params)
    assert n > 30_000
    # The generator exercises the rules the bare query must repeat: reopens from done and late
    # duplicate created events.
    reopens, late_created = con.execute(
        "select count(*) filter (where is_reopen_from_done),"
        " count(*) filter (where is_created_event and stage_set is null) from stg_event_stages"
    ).fetchall()[0]
    assert reopens > 100 and late_created > 50
    assert run.disagreements(con, params) == []
