"""History replay (METRICS.md §6): evaluate past nights as if the product had been running.

Each night sees only the events before its local midnight. The nights are built in a private
in-memory database (the warehouse's own tables are not touched while it runs); after the first,
a night redoes only the per-case rows of the cases that gained events that day (most of a
night's build otherwise). The flag records it produces are copied back at the end, in one
transaction. Nothing is sent for replayed
nights: only the caller's final evaluation notifies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb

from models.settings import MaturityConfig, MetricsConfig
from warehouse.build import build
from warehouse.db import open_memory
from warehouse.detect import DetectOptions, detect
from warehouse.metrics import metric_params
from warehouse.migrate import migrate

__all__ = ["FLAG_TABLES", "replay", "replay_nights"]

COPIED_IN = (
    "cfg_status_map", "cfg_process", "cfg_ct_start", "cfg_holidays", "cfg_workspace",
    "cfg_frt_target",
)  # fmt: skip
FLAG_TABLES = ("flag_state", "flag_evaluations", "flag_history")


def _dashboard_only(name: str) -> bool:
    """Tables only the dashboard reads: a replayed night has no dashboard."""
    return name.startswith("metric_dash_")


def replay_nights(
    con: duckdb.DuckDBPyConnection, workspace: str, as_of: date, timezone: str, limit: int,
    budget: int = 0,
) -> list[date]:  # fmt: skip
    """The nights to replay before evaluating as_of: none when the flags are up to date.

    A first evaluation replays the last `limit` nights that have events before them; a run after
    a gap replays the missed nights (at most `limit`). A `budget` of event-nights (each night
    rebuilds every event) shortens the replay of a large log, keeping at least the last 3 nights.
    """
    (last, first, events), *_ = con.execute(
        "select (select as_of from flag_evaluations where workspace = ?), "
        "(select min(occurred_at) from events), (select count(*) from events)",
        [workspace],
    ).fetchall()
    if budget > 0 and events:
        limit = min(limit, max(3, budget // events))
    if limit <= 0:
        return []
    if first is None:
        return []
    first_night = first.astimezone(ZoneInfo(timezone)).date() + timedelta(days=1)
    start = max(as_of - timedelta(days=limit), first_night)
    if last is not None:
        start = max(start, last + timedelta(days=1))
    return [start + timedelta(days=k) for k in range((as_of - start).days)]


def _copy(source: duckdb.DuckDBPyConnection, target: duckdb.DuckDBPyConnection, table: str,
          where: str = "true", params: list[object] | None = None) -> None:  # fmt: skip
    """Copy rows of one table between two databases (Arrow in between, no files)."""
    rows = (
        source.cursor()
        .sql(f'select * from "{table}" where {where}', params=params)
        .to_arrow_table()
    )
    target.register("opspulse_rows", rows)
    try:
        target.execute(f'insert into "{table}" select * from opspulse_rows')
    finally:
        target.unregister("opspulse_rows")


def replay(
    con: duckdb.DuckDBPyConnection,
    *,
    workspace: str,
    nights: Iterable[date],
    timezone: str,
    metrics: MetricsConfig,
    maturity: MaturityConfig,
    options: DetectOptions,
    clock: Callable[[date], datetime] | None = None,
    after_night: Callable[[duckdb.DuckDBPyConnection, date], None] | None = None,
) -> int:
    """Build and evaluate each night in order; copy the flag records back. Returns nights run.

    `clock(night)` is the wall time stamped on each evaluation (default: 06:00 local that night);
    `after_night(con, night)` may read the scratch database after each evaluation (tests do).
    """
    nights = sorted(nights)
    if not nights:
        return 0
    zone = ZoneInfo(timezone)
    stamp = clock or (lambda night: datetime.combine(night, time(6), zone))
    scratch = open_memory()
    try:
        migrate(scratch)
        for table in (*COPIED_IN, *FLAG_TABLES):
            _copy(con, scratch, table)
        previous: datetime | None = None
        for night in nights:
            cutoff = datetime.combine(night, time(), zone)
            _copy(con, scratch, "events", "occurred_at < $1 and ($2::timestamptz is null or "
                  "occurred_at >= $2)", [cutoff, previous])  # fmt: skip
            cases = None  # the first night builds every case
            if previous is not None:  # later ones redo only the cases with new events
                scratch.execute(
                    "create or replace temp table replay_cases as select distinct process, "
                    "case_id from events where occurred_at >= $1 and occurred_at < $2",
                    [previous, cutoff],
                )
                cases = "replay_cases"
            build(scratch, metric_params(scratch, timezone, metrics, night), skip=_dashboard_only,
                  cases=cases)  # fmt: skip
            previous = cutoff
            detect(scratch, workspace=workspace, as_of=night, timezone=timezone, cfg=maturity,
                   options=options, now=stamp(night))  # fmt: skip
            if after_night is not None:
                after_night(scratch, night)
        con.execute("begin")
        for table in FLAG_TABLES:
            con.execute(f'delete from "{table}"')
            _copy(scratch, con, table)
        con.execute("commit")
    finally:
        scratch.close()
    return len(nights)
