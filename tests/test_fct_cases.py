"""fct_cases on tiny hand-made event tables: exact rows for each kind of case (METRICS.md §1.3, §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.settings import MetricsConfig
from warehouse.build import build
from warehouse.db import open_memory
from warehouse.metrics import latest_as_of, metric_params
from warehouse.migrate import migrate

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ev(case: str, kind: str, at: float, stage: str | None = None, **extra: object) -> dict:
    return {"case_id": case, "kind": kind, "occurred_at": day(at), "stage": stage, **extra}


def build_cases(events: list[dict], status_map: list[tuple[str, str, str]] = ()) -> dict[str, dict]:
    con = open_memory()
    migrate(con)
    for i, e in enumerate(events):
        row = {"process": "P", "source": "test", "workspace": "w", "landing_file": "f", "line": i,
               "ingested_at": T0, "event_id": f"e{i}", **e}  # fmt: skip
        cols = ", ".join(row)
        con.execute(
            f"insert into events ({cols}) values ({', '.join('?' * len(row))})", list(row.values())
        )
    if status_map:
        con.executemany("insert into cfg_status_map values (?, ?, ?)", list(status_map))
    con.execute("insert into cfg_workspace values ('w', 'UTC')")
    build(con, metric_params(con, "UTC", MetricsConfig(), latest_as_of(con, "UTC")))
    cur = con.execute("select * from fct_cases")
    names = [d[0] for d in cur.description]
    return {r[names.index("case_id")]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_simple_completed_case() -> None:
    got = build_cases([
        ev("A", "created", 0, "backlog", assignee="ann", due_at=day(10), client_id="c1"),
        ev("A", "stage_changed", 1, "active"),
        ev("A", "completed", 4, "done", actor="ann"),
    ])["A"]  # fmt: skip
    assert got["state"] == "completed"
    assert (got["created_at"], got["started_at"], got["completed_at"]) == (day(0), day(1), day(4))
    assert got["start_basis"] == "first_enter:started"
    assert got["lead_time_days"] == pytest.approx(4) and got["cycle_time_days"] == pytest.approx(3)
    assert (got["rework"], got["reopen_count"], got["backward_moves"], got["revision_rounds"]) == (
        0,
        0,
        0,
        0,
    )
    assert got["on_time"] is True and got["due_at"] == day(10)
    assert (got["assignee"], got["client_id"], got["n_events"]) == ("ann", "c1", 3)


def test_review_bounce_counts_rework_and_revision_rounds() -> None:
    got = build_cases([
        ev("B", "created", 0, "active"),
        ev("B", "stage_changed", 1, "review"),
        ev("B", "stage_changed", 2, "active"),
        ev("B", "stage_changed", 3, "review"),
        ev("B", "stage_changed", 4, "active"),
        ev("B", "stage_changed", 5, "review"),
        ev("B", "completed", 6, "done"),
    ])["B"]  # fmt: skip
    assert (got["rework"], got["backward_moves"], got["revision_rounds"]) == (1, 2, 2)
    assert got["start_basis"] == "first_enter:started" and got["started_at"] == day(0)


def test_waiting_on_client_is_rank_neutral() -> None:
    got = build_cases([
        ev("W", "created", 0, "backlog"),
        ev("W", "stage_changed", 1, "review"),
        ev("W", "stage_changed", 2, "waiting_on_client"),
        ev("W", "stage_changed", 3, "review"),  # back from waiting to the same rank: no rework
        ev("W", "stage_changed", 4, "waiting_on_client"),
        ev("W", "stage_changed", 5, "active"),  # from waiting, but review was the last ranked stage
        ev("W", "completed", 6, "done"),
    ])["W"]  # fmt: skip
    assert (got["backward_moves"], got["revision_rounds"], got["rework"]) == (1, 1, 1)


def test_reopen_from_done_finishes_at_the_last_done_entry() -> None:
    got = build_cases([
        ev("R", "created", 0, "backlog"),
        ev("R", "stage_changed", 1, "active"),
        ev("R", "completed", 2, "done"),
        ev("R", "reopened", 5, "active"),
        ev("R", "completed", 7, "done"),
    ])["R"]  # fmt: skip
    assert got["completed_at"] == day(7) and got["cycle_time_days"] == pytest.approx(6)
    assert (got["reopen_count"], got["rework"], got["backward_moves"]) == (1, 1, 0)


def test_open_cancelled_and_created_done_cases() -> None:
    got = build_cases([
        ev("O", "created", 0, "backlog"),
        ev("O2", "created", 0, "backlog"),
        ev("O2", "assigned", 1, assignee="bo"),
        ev("X", "created", 0, "backlog"),
        ev("X", "stage_changed", 1, "active"),
        ev("X", "cancelled", 2, "cancelled"),
        ev("D", "created", 3, "done"),
    ])  # fmt: skip
    assert (
        got["O"]["state"] == "open"
        and got["O"]["started_at"] is None
        and got["O"]["start_basis"] is None
    )
    assert got["O2"]["start_basis"] == "first_assigned" and got["O2"]["started_at"] == day(1)
    assert got["O2"]["assignee"] == "bo" and got["O2"]["completed_at"] is None
    assert got["O2"]["lead_time_days"] is None and got["O2"]["on_time"] is None
    assert got["X"]["state"] == "cancelled" and got["X"]["completed_at"] is None
    assert got["D"]["state"] == "completed" and got["D"]["completed_at"] == day(3)
    assert got["D"]["created_done"] is True and got["D"]["lead_time_days"] is None


def test_start_falls_back_to_created_only_for_finished_cases() -> None:
    got = build_cases([
        ev("F", "created", 0, "backlog"),
        ev("F", "completed", 2, "done"),
    ])["F"]  # fmt: skip
    # Entering done is "past backlog", so the start is that entry: CT 0, LT 2.
    assert got["start_basis"] == "first_enter:started" and got["cycle_time_days"] == pytest.approx(
        0
    )
    assert got["lead_time_days"] == pytest.approx(2)


def test_late_finish_and_due_date_in_force_at_finish() -> None:
    got = build_cases([
        ev("L", "created", 0, "active", due_at=day(2)),
        ev("L", "due_changed", 1, due_at=day(3)),
        ev("L", "completed", 4, "done"),
        ev("L", "due_changed", 5, due_at=day(9)),  # after the finish: does not count
    ])["L"]  # fmt: skip
    assert got["due_at"] == day(3) and got["on_time"] is False


def test_status_map_turns_a_generic_log_into_a_staged_one() -> None:
    events = [
        ev("G", "stage_changed", 0, original_status="Open"),
        ev("G", "stage_changed", 1, original_status="Check"),
        ev("G", "stage_changed", 2, original_status="Open"),
        ev("G", "stage_changed", 3, original_status="Closed"),
    ]
    generic = build_cases(events)["G"]
    assert generic["start_basis"] == "first_event" and generic["rework"] == 1
    assert generic["lead_time_days"] == pytest.approx(3) and generic["reopen_count"] is None
    staged = build_cases(
        events, [("P", "Open", "active"), ("P", "Check", "review"), ("P", "Closed", "done")]
    )["G"]
    assert (
        staged["state"] == "completed"
        and staged["revision_rounds"] == 1
        and staged["reopen_count"] == 0
    )
    assert staged["completed_at"] == day(3)


def test_negative_duration_is_null_and_flagged() -> None:
    got = build_cases([
        ev("N", "created", 5, "backlog"),
        ev("N", "stage_changed", 1, "active"),
        ev("N", "completed", 2, "done"),
    ])["N"]  # fmt: skip
    assert got["lead_time_days"] is None and got["negative_duration"] is True
