"""Metric parameters (as_of, windows) and readers for the metric_ layer, on any connection.

The run materialises every metric_ table for its default as_of; a read command asking for
another as_of runs the same SQL files as queries on the snapshot instead.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from models.errors import UsageError
from models.settings import MetricsConfig
from warehouse.build import layer_files
from warehouse.queries import Row

__all__ = [
    "METRIC_COLUMNS",
    "WINDOWS",
    "default_as_of",
    "latest_as_of",
    "metric_params",
    "metric_rows",
    "metric_tables",
]

WINDOWS = ("current", "baseline", "maturity", "all")
METRIC_COLUMNS = (
    "workspace", "process", "window", "metric", "value", "n", "unit", "low", "high", "as_of",
)  # fmt: skip
# metric_ tables that are series for charts rather than (process, window, metric) rows.
_SERIES = {
    "metric_wip_daily",
    "metric_throughput_weekly",
    "metric_dash_weekly",
    "metric_dash_stage_dwell",
    "metric_dash_cfd",
    "metric_dash_aging",
}
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(instant: datetime) -> int:
    """An aware instant as microseconds since the epoch, as DuckDB's `epoch_us` gives it."""
    return (instant - _EPOCH) // timedelta(microseconds=1)


def latest_as_of(con: duckdb.DuckDBPyConnection, timezone: str) -> date | None:
    """`latest`: the local day after the day of the last event (its midnight ends the window)."""
    row = con.execute("select max(occurred_at) from events").fetchone()
    if not row or row[0] is None:
        return None
    last: datetime = row[0]
    return last.astimezone(ZoneInfo(timezone)).date() + timedelta(days=1)


def _fed_only_by_files(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "select count(*) from events where landing_file not like 'import/%'"
    ).fetchone()
    return not row or row[0] == 0


def default_as_of(con: duckdb.DuckDBPyConnection, timezone: str, today: date) -> date | None:
    """The run's date for live sources, `latest` for workspaces fed only by imported files."""
    return latest_as_of(con, timezone) if _fed_only_by_files(con) else today


def metric_params(
    con: duckdb.DuckDBPyConnection, timezone: str, config: MetricsConfig, as_of: date | None
) -> dict[str, Any]:
    """Bound parameters of the metric SQL files for one as_of (a local date)."""
    first = con.execute("select min(occurred_at) from events").fetchone()
    as_of = as_of or date(1970, 1, 2)
    first_at = (
        first[0]
        if first and first[0] is not None
        else datetime.combine(as_of, time(), ZoneInfo(timezone))
    )
    return {
        "as_of_local": datetime.combine(as_of, time()),
        "tz": timezone,
        "first_at": first_at,
        "current_days": config.current_days,
        "baseline_weeks": config.baseline_weeks,
        "maturity_days": config.maturity_days,
        "link_days": config.link_days,
        "bus_factor_share": config.bus_factor_share,
        "z": config.z,
    }


def metric_tables() -> list[tuple[str, str]]:
    """(name, sql) of the metric_ files that give (process, window, metric) rows."""
    return [(n, s) for n, s in layer_files() if n.startswith("metric_") and n not in _SERIES]


def metric_rows(
    con: duckdb.DuckDBPyConnection,
    *,
    workspace: str,
    as_of: date,
    params: dict[str, Any] | None,
    process: str | None = None,
    window: str = "all",
) -> list[Row]:
    """Metric rows: from the materialised tables (params None) or computed for another as_of."""
    if window not in (*WINDOWS, "every"):
        raise UsageError(f"--window {window!r} is not one of {', '.join(WINDOWS)}")
    parts = []
    for name, sql in metric_tables():
        source = f'"{name}"' if params is None else f"({sql.strip().rstrip(';')})"
        parts.append(f"select * from {source}")
    union = " union all ".join(parts)
    query = (
        f"select $out_workspace as workspace, process, window_name as window, metric, value, n, "
        f"unit, low, high, $out_as_of::date as as_of from ({union}) "
        f"where ($out_process::varchar is null or process = $out_process) "
        f"and ($out_window = 'every' or window_name = $out_window) order by process, window_name, metric"
    )
    named = {
        **(params or {}),
        "out_workspace": workspace,
        "out_as_of": as_of,
        "out_process": process,
        "out_window": window,
    }
    used = set(_PARAM.findall(query))
    cursor = con.cursor()
    cursor.execute(query, {k: v for k, v in named.items() if k in used})
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
