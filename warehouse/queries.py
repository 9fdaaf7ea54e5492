"""Typed readers over any connection (usually a published snapshot); they never write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import duckdb

__all__ = [
    "CASE_COLUMNS",
    "FLAG_COLUMNS",
    "MATURITY_COLUMNS",
    "Row",
    "case_rows",
    "event_batches",
    "event_relation",
    "flag_rows",
    "has_table",
    "last_runs",
    "loaded_file_names",
    "maturity_rows",
    "process_summary",
    "quarantine_counts",
    "quarantine_rows",
    "source_cursors",
    "source_status",
]

Row = dict[str, Any]

# METRICS.md §8 field order of `opspulse cases`.
CASE_COLUMNS = (
    "workspace", "process", "case_id", "state", "created_at", "started_at", "start_basis",
    "completed_at", "lead_time_days", "cycle_time_days", "rework", "reopen_count",
    "backward_moves", "revision_rounds", "n_events", "due_at", "on_time", "assignee", "client_id",
    # What the metrics use besides (METRICS.md §8 allows more fields).
    "process_type", "is_staged", "cancelled_at", "lead_time_bdays", "cycle_time_bdays", "visited_review",
    "due_changes", "finisher", "template", "checklist_completion", "client_facing", "first_reply_hours",
    "variant", "created_done", "negative_duration",
)  # fmt: skip


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Row]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database has a table of that name."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def case_rows(con: duckdb.DuckDBPyConnection, process: str | None = None) -> list[Row]:
    """One row per case, with the fields of METRICS.md §8."""
    cols = ", ".join(CASE_COLUMNS)
    return _rows(
        con,
        f"select {cols} from fct_cases where ?::varchar is null or process = ? "
        "order by process, case_id",
        [process, process],
    )


_EVENTS_SQL = (
    "select * from events where $p::varchar is null or process = $p "
    "order by process, case_id, occurred_at, landing_file, line"
)


def event_relation(
    con: duckdb.DuckDBPyConnection, process: str | None = None
) -> duckdb.DuckDBPyRelation:
    """The event log as a relation (for bulk writers such as Parquet)."""
    return con.sql(_EVENTS_SQL, params={"p": process})


def event_batches(
    con: duckdb.DuckDBPyConnection, process: str | None = None, size: int = 10_000
) -> Iterator[Row]:
    """The event log row by row, ordered as process-mining tools expect (case, time, line)."""
    cursor = con.cursor()
    cursor.execute(_EVENTS_SQL, {"p": process})
    names = [d[0] for d in cursor.description or []]
    while batch := cursor.fetchmany(size):
        for values in batch:
            yield dict(zip(names, values, strict=True))


def process_summary(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """Per process: cases by state, events, first and last event."""
    return _rows(
        con,
        """
        select c.process,
               count(*) as cases,
               count(*) filter (where state = 'open') as open,
               count(*) filter (where state = 'completed') as completed,
               count(*) filter (where state = 'cancelled') as cancelled,
               sum(n_events) as events,
               any_value(is_staged) as staged,
               min(created_at) as first_at,
               max(coalesce(completed_at, created_at)) as last_at
        from fct_cases c group by c.process order by c.process
        """,
    )


def quarantine_rows(con: duckdb.DuckDBPyConnection, include_replayed: bool = False) -> list[Row]:
    """Rejected rows and why, oldest first."""
    return _rows(
        con,
        "select landing_file, line, reason, raw, quarantined_at, replayed_at from quarantine "
        "where ? or replayed_at is null order by quarantined_at, landing_file, line",
        [include_replayed],
    )


def quarantine_counts(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """Open quarantine rows per reason."""
    return _rows(
        con,
        "select reason, count(*) as n from quarantine where replayed_at is null "
        "group by reason order by n desc, reason",
    )


def last_runs(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[Row]:
    """The most recent pipeline runs."""
    return _rows(
        con,
        "select run_id, started_at, finished_at, status, summary from runs "
        "order by started_at desc limit ?",
        [limit],
    )


def loaded_file_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Landing files the warehouse has loaded."""
    return {r[0] for r in con.execute("select landing_file from landing_files").fetchall()}


def source_cursors(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, datetime]]:
    """Committed pull cursors: source -> scope -> start of the last pull whose data is loaded."""
    cursors: dict[str, dict[str, datetime]] = {}
    if not has_table(con, "source_cursors"):
        return cursors
    for source, scope, cursor_at in con.execute(
        "select source, scope, cursor_at from source_cursors"
    ).fetchall():
        cursors.setdefault(source, {})[scope] = cursor_at
    return cursors


_SOURCE_STATUS_SQL = """
with ranked as (
    select *, row_number() over (partition by source order by started_at desc) as rn
    from source_runs
),
last_ok as (
    select source, max(started_at) as ok_started from source_runs where status = 'ok' group by all
),
streak as (
    -- failed runs since the last successful one
    select r.source, count(*) as consecutive_failures
    from source_runs r left join last_ok o using (source)
    where r.status = 'failed' and (o.ok_started is null or r.started_at > o.ok_started)
    group by all
),
committed as (
    select source, max(cursor_at) as last_success_at from source_cursors group by all
)
select r.source, r.type, r.status as last_status, r.started_at as last_run_at,
       r.records as last_records, r.error as last_error, r.auth_error as last_auth_error,
       coalesce(s.consecutive_failures, 0) as consecutive_failures, c.last_success_at
from ranked r
left join streak s using (source)
left join committed c using (source)
where r.rn = 1
order by r.source
"""


def source_status(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """Per pulled source: its last run, failures in a row and its last committed pull's start."""
    if not has_table(con, "source_runs"):
        return []
    return _rows(con, _SOURCE_STATUS_SQL)


def as_utc_text(value: datetime) -> str:
    """ISO 8601 UTC with a Z."""
    return value.isoformat().replace("+00:00", "Z")


MATURITY_COLUMNS = (
    "workspace", "process", "level", "subscore", "confidence", "explanation", "next_step", "criteria",
    "window_days", "completions", "as_of",
)  # fmt: skip


def maturity_rows(con: duckdb.DuckDBPyConnection, process: str | None = None) -> list[Row]:
    """One row per process from the `maturity` table (criteria as a list of objects)."""
    if not has_table(con, "maturity"):
        return []
    rows = _rows(
        con,
        "select * from maturity where ?::varchar is null or process = ? order by process",
        [process, process],
    )
    for row in rows:
        row["criteria"] = (
            json.loads(row["criteria"]) if isinstance(row["criteria"], str) else row["criteria"]
        )
    return rows


# METRICS.md §8 field order of `opspulse flags`.
FLAG_COLUMNS = (
    "fingerprint", "id", "name", "level", "workspace", "process", "case_id", "dim", "severity",
    "status", "as_of", "observed", "baseline", "explanation", "action", "trigger", "first_seen_at",
    "last_seen_at",
)  # fmt: skip


def flag_rows(
    con: duckdb.DuckDBPyConnection, level: str | None = None, include_resolved: bool = False
) -> list[Row]:
    """One row per flag record (METRICS.md §8), most severe first; resolved ones only on request."""
    if not has_table(con, "flag_state"):
        return []
    return _rows(
        con,
        "select fingerprint, flag_id as id, name, level, workspace, process, case_id, dim, "
        "severity, status, as_of, observed, baseline, explanation, action, trigger, "
        "first_seen_at, last_seen_at from flag_state "
        "where (?::varchar is null or level = ?) and (? or status <> 'resolved') "
        "order by case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 "
        "when 'low' then 3 else 4 end, id, process, case_id, dim",
        [level, level, include_resolved],
    )
