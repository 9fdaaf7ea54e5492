"""Tiny event tables on in-memory DuckDB, built through every SQL layer, for exact-row tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from models.settings import MetricsConfig
from warehouse.build import build
from warehouse.db import open_memory
from warehouse.metrics import metric_params
from warehouse.migrate import migrate

NY = ZoneInfo("America/New_York")


def ny(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    """A New York wall-clock time as an aware datetime."""
    return datetime(y, m, d, h, mi, tzinfo=NY)


def utc(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


@dataclass
class Built:
    """A built in-memory warehouse and helpers to read it."""

    con: duckdb.DuckDBPyConnection

    def rows(self, table: str, order: str = "1", where: str = "true") -> list[dict[str, Any]]:
        cur = self.con.execute(f"select * from {table} where {where} order by {order}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def metric(self, table: str, process: str, window: str, metric: str) -> dict[str, Any]:
        found = self.rows(
            table,
            where=f"process = '{process}' and window_name = '{window}' and metric = '{metric}'",
        )
        assert len(found) == 1, (table, process, window, metric, found)
        return found[0]


def build_events(
    events: list[dict[str, Any]],
    *,
    as_of: date,
    tz: str = "UTC",
    status_map: list[tuple[str, str, str]] | None = None,
    processes: list[tuple[str, str, bool, str]] | None = None,
    ct_start: list[tuple[str, int, str]] | None = None,
    holidays: list[date] | None = None,
    config: MetricsConfig | None = None,
    frt_targets: dict[str, float] | None = None,
) -> Built:
    """Insert events (defaults: process P, source test) and build every layer for as_of."""
    con = open_memory()
    migrate(con)
    for i, event in enumerate(events):
        row = {
            "process": "P", "source": "test", "workspace": "w", "landing_file": "f", "line": i,
            "ingested_at": utc(2030, 1, 1), "event_id": f"e{i}", **event,
        }  # fmt: skip
        cols = ", ".join(row)
        con.execute(
            f"insert into events ({cols}) values ({', '.join('?' * len(row))})", list(row.values())
        )
    con.execute("insert into cfg_workspace values ('w', ?)", [tz])
    for table, rows in (
        ("cfg_status_map", status_map),
        ("cfg_process", processes),
        ("cfg_ct_start", ct_start),
        ("cfg_holidays", [(h,) for h in holidays or []]),
        ("cfg_frt_target", list((frt_targets or {}).items())),
    ):
        if rows:
            con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
    build(con, metric_params(con, tz, config or MetricsConfig(), as_of))
    return Built(con)


def ev(
    case: str, kind: str, at: datetime, stage: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One task event."""
    return {"case_id": case, "kind": kind, "occurred_at": at, "stage": stage, **extra}


def simple_case(case: str, created: datetime, done: datetime, **extra: Any) -> list[dict[str, Any]]:
    """A case created in backlog, started on creation (active) and completed at `done`."""
    return [ev(case, "created", created, "active", **extra), ev(case, "completed", done, "done")]
