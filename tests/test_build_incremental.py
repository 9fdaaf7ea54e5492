"""A build told which cases changed (history replay, night after night) gives the same tables as a
full build, and really leaves the other cases' rows alone."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest

from models.settings import MetricsConfig
from tests.sqlkit import ev, utc
from warehouse.build import build, layer_files, per_case
from warehouse.db import open_memory
from warehouse.metrics import metric_params
from warehouse.migrate import migrate

CUT = utc(2025, 3, 10, 0)  # the first night sees the events before this instant


def _events() -> list[dict[str, Any]]:
    """Two staged processes (one with a status map and a ct_start chain) and a generic log:
    moves, a reopen, handoffs, a public reply and feedback, some cases spanning the cut."""
    out = []
    for k in range(6):
        case = f"A{k}"
        day = 3 + k
        out += [
            ev(case, "created", utc(2025, 3, day, 9), "backlog", assignee="ann"),
            ev(case, "stage_changed", utc(2025, 3, day, 10), None, original_status="Doing"),
            ev(case, "assigned", utc(2025, 3, day, 11), assignee="bob"),
            ev(case, "commented", utc(2025, 3, day, 12), public=True, actor="bob"),
            ev(case, "stage_changed", utc(2025, 3, day + 1, 9), "review", actor="bob"),
            ev(case, "stage_changed", utc(2025, 3, day + 2, 9), "active", actor="cy"),
            ev(case, "completed", utc(2025, 3, day + 3, 9), "done", actor="bob"),
        ]
    out += [
        ev("A0", "reopened", utc(2025, 3, 12, 9), "active"),
        ev("A0", "completed", utc(2025, 3, 13, 9), "done"),
        ev("B1", "created", utc(2025, 3, 4, 9), "active", process="Q", due_at=utc(2025, 3, 6)),
        ev("B1", "completed", utc(2025, 3, 11, 9), "done", process="Q"),
        ev("B2", "created", utc(2025, 3, 12, 9), "active", process="Q"),
        {"kind": "feedback", "occurred_at": utc(2025, 3, 12, 15), "process": "Q",
         "case_id": "B1", "score": 2, "scale": "csat5", "client_id": "c1"},
    ]  # fmt: skip
    for k, (activity, day) in enumerate([("Register", 5), ("Check", 7), ("Check", 8)]):
        out.append(ev("G1", "stage_changed", utc(2025, 3, day, 9), None, process="G",
                      original_status=activity, event_id=f"g{k}"))  # fmt: skip
    return out


def _insert(con: duckdb.DuckDBPyConnection, events: list[dict[str, Any]], first: int) -> None:
    for i, event in enumerate(events, first):
        row = {
            "process": "P", "source": "test", "workspace": "w", "landing_file": "f", "line": i,
            "ingested_at": utc(2030, 1, 1), "event_id": f"e{i}", **event,
        }  # fmt: skip
        con.execute(
            f"insert into events ({', '.join(row)}) values ({', '.join('?' * len(row))})",
            list(row.values()),
        )


def _warehouse(events: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = open_memory()
    migrate(con)
    con.execute("insert into cfg_workspace values ('w', 'UTC')")
    con.execute("insert into cfg_status_map values ('P', 'Doing', 'active')")
    con.execute("insert into cfg_ct_start values ('P', 1, 'first_enter:Doing')")
    _insert(con, events, 0)
    return con


def _build(con: duckdb.DuckDBPyConnection, night: date, cases: str | None = None) -> None:
    build(con, metric_params(con, "UTC", MetricsConfig(), night), cases=cases)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    """A table's rows in a fixed order, floats to 12 digits (DuckDB's parallel sums may differ
    in the last bits between two builds of the same rows)."""
    rows = con.execute(f'select * from "{table}"').fetchall()
    return sorted(
        (tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in r) for r in rows),
        key=repr,
    )


def _two_nights(later: list[dict[str, Any]]) -> tuple[duckdb.DuckDBPyConnection, ...]:
    """(incremental, full): both hold every event; the first was built before `later` arrived and
    then only for the cases `later` touches."""
    early = [e for e in _events() if e["occurred_at"] < CUT]
    inc = _warehouse(early)
    _build(inc, date(2025, 3, 10))
    _insert(inc, later, 1000)
    inc.execute(
        "create temp table changed as select distinct process, case_id from events where line >= 1000"
    )
    _build(inc, date(2025, 3, 15), cases="changed")
    full = _warehouse(early)
    _insert(full, later, 1000)
    _build(full, date(2025, 3, 15))
    return inc, full


def _later() -> list[dict[str, Any]]:
    return [e for e in _events() if e["occurred_at"] >= CUT]


PER_CASE = [name for name, sql in layer_files() if per_case(sql)]
EVERY = [name for name, _ in layer_files()]


def test_per_case_files_are_the_case_level_tables() -> None:
    assert set(PER_CASE) == {
        "stg_event_stages", "stg_events", "fct_case_flow", "fct_cases", "fct_case_points",
        "fct_stage_visits", "fct_handoffs", "flag_status_visits",
    }  # fmt: skip


def test_an_incremental_night_equals_a_full_build() -> None:
    inc, full = _two_nights(_later())
    differ = [table for table in EVERY if _rows(inc, table) != _rows(full, table)]
    assert differ == []
    assert _rows(inc, "fct_cases") and _rows(inc, "fct_handoffs") and _rows(inc, "fct_feedback")
    assert inc.execute(
        "select count(*) from duckdb_schemas() where schema_name = 'opspulse_delta'"
    ).fetchall() == [(0,)]


def test_cases_without_new_events_are_not_rebuilt() -> None:
    early = [e for e in _events() if e["occurred_at"] < CUT]
    con = _warehouse(early)
    _build(con, date(2025, 3, 10))
    # Mark an untouched case's row: an incremental build keeps it, a full one replaces it.
    con.execute("update fct_cases set case_title = 'kept' where case_id in ('A1', 'A5')")
    _insert(con, _later(), 1000)
    con.execute(
        "create temp table changed as select distinct process, case_id from events where line >= 1000"
    )
    _build(con, date(2025, 3, 15), cases="changed")
    titles = dict(con.execute("select case_id, case_title from fct_cases").fetchall())
    assert titles["A1"] == "kept"  # all of A1's events came before the first night
    assert titles["A5"] is None  # A5 had new events: its row was worked out again
    _build(con, date(2025, 3, 15))
    assert con.execute("select case_title from fct_cases where case_id = 'A1'").fetchall() == [
        (None,)
    ]


def test_a_process_that_becomes_staged_redoes_every_case() -> None:
    # G's log has no stages until a staged event arrives for a new case: every G case changes
    # kind (generic -> staged), not only the new one.
    later = [*_later(), ev("G2", "created", utc(2025, 3, 12, 9), "active", process="G")]
    inc, full = _two_nights(later)
    for table in PER_CASE:
        assert _rows(inc, table) == _rows(full, table), table
    staged = inc.execute("select case_id, is_staged from fct_cases where process = 'G'").fetchall()
    assert sorted(staged) == [("G1", True), ("G2", True)]


def test_a_failed_incremental_build_keeps_the_old_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.errors import WarehouseError

    early = [e for e in _events() if e["occurred_at"] < CUT]
    con = _warehouse(early)
    _build(con, date(2025, 3, 10))
    before = _rows(con, "fct_cases")
    _insert(con, _later(), 1000)
    with pytest.raises(WarehouseError, match="building"):
        _build(con, date(2025, 3, 15), cases="no_such_table")
    assert _rows(con, "fct_cases") == before
    con.execute(
        "create temp table changed as select distinct process, case_id from events where line >= 1000"
    )
    _build(con, date(2025, 3, 15), cases="changed")  # the delta schema did not outlive the failure
    assert _rows(con, "fct_cases") != before


def test_a_delta_schema_left_by_a_dead_process_is_replaced() -> None:
    early = [e for e in _events() if e["occurred_at"] < CUT]
    con = _warehouse(early)
    _build(con, date(2025, 3, 10))
    con.execute("create schema opspulse_delta")
    con.execute("create table opspulse_delta.events as select 1 as stale")
    _insert(con, _later(), 1000)
    con.execute(
        "create temp table changed as select distinct process, case_id from events where line >= 1000"
    )
    _build(con, date(2025, 3, 15), cases="changed")
    assert con.execute("select count(*) from fct_cases where case_id = 'B2'").fetchall() == [(1,)]


def test_history_replay_redoes_only_the_new_cases_and_matches_full_nights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warehouse.replay as replay_module
    from models.settings import MaturityConfig
    from warehouse.detect import DetectOptions

    nights = [date(2025, 3, d) for d in range(6, 15)]
    real_build = replay_module.build

    def run(incremental: bool) -> tuple[list[object], dict[date, list[tuple[Any, ...]]]]:
        given: list[object] = []
        seen: dict[date, list[tuple[Any, ...]]] = {}

        def spy(con: duckdb.DuckDBPyConnection, params: Any, **kw: Any) -> list[str]:
            given.append(kw.get("cases"))
            return real_build(con, params, **({**kw, "cases": None} if not incremental else kw))

        monkeypatch.setattr(replay_module, "build", spy)
        con = _warehouse(_events())
        replay_module.replay(
            con, workspace="w", nights=nights, timezone="UTC", metrics=MetricsConfig(),
            maturity=MaturityConfig(), options=DetectOptions(),
            after_night=lambda c, night: seen.__setitem__(night, _rows(c, "fct_cases")),
        )  # fmt: skip
        return given, seen

    given, incremental = run(True)
    assert given[0] is None and all(g == "replay_cases" for g in given[1:])
    _, full = run(False)
    assert incremental == full
    assert len({len(rows) for rows in incremental.values()}) > 1  # cases arrive night by night
