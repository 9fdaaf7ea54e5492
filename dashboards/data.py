"""Cached readers over published snapshots; every cache is keyed on the snapshot's path and mtime.

Only `warehouse.db.open_snapshot` opens a file (read-only), and each reader closes it before it
returns, so a run can publish (swap the file) at any time. A new publish changes the mtime, so
the next rerun reads the new snapshot while the cached frames of the old one age out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import streamlit as st

from models.settings import Settings
from warehouse import queries
from warehouse.db import open_snapshot

__all__ = [
    "CASE_LIMIT",
    "FLAG_LIMIT",
    "SCATTER_LIMIT",
    "XMR_POINTS",
    "Snapshot",
    "case_events",
    "cases",
    "flag_counts",
    "flag_page",
    "health",
    "overview",
    "process_view",
    "snapshot_of",
    "workspaces",
]

XMR_POINTS = 200  # the last points of the XmR chart; B and E (the last 40) are the same as over all
SCATTER_LIMIT = 3000  # most recent completions of the maturity window drawn on the scatter
CASE_LIMIT = 500  # rows of the case drill-down table
FLAG_LIMIT = 500  # rows of the task queue and flags tables: 1M events can hold 100k+ task flags
_MAX_ENTRIES = 64  # cached frames per reader: a few snapshots (path, mtime) of each workspace

Frames = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Snapshot:
    """A workspace's published snapshot file and its modification time (the cache key)."""

    workspace: str
    path: Path
    mtime: float

    @property
    def key(self) -> tuple[str, float]:
        """(path, mtime): what every cached reader is keyed on."""
        return str(self.path), self.mtime

    @property
    def published_at(self) -> datetime:
        """When the run swapped this snapshot in."""
        return datetime.fromtimestamp(self.mtime, UTC)


def workspaces(settings: Settings) -> list[str]:
    """Workspaces under the data folder (with a landing or published folder) and configured ones."""
    found = set(settings.workspace)
    if settings.home.is_dir():
        found |= {
            p.name
            for p in settings.home.iterdir()
            if (p / "published").is_dir() or (p / "landing").is_dir()
        }
    return sorted(found)


def snapshot_of(settings: Settings, workspace: str) -> Snapshot | None:
    """The workspace's published snapshot, or None when no run has published one yet."""
    path = settings.paths(workspace).snapshot
    try:
        return Snapshot(workspace, path, path.stat().st_mtime)
    except FileNotFoundError:
        return None


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    if not _tables_exist(con, sql):
        return pd.DataFrame()
    return con.execute(sql, params or []).df()


def _tables_exist(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    """Whether every metric_/fct_/flag_ table the query names exists (older snapshots lack some)."""
    names = set(re.findall(r"\b((?:metric|fct|flag)_[a-z0-9_]+)\b", sql))
    return all(queries.has_table(con, n) for n in names)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_name = ?", [table]
    ).fetchall()
    return {r[0] for r in rows}


_METRICS_SQL = " union all ".join(
    f"select process, window_name, metric, value, n, unit, low, high from {t}"
    for t in ("metric_flow", "metric_quality", "metric_feedback", "metric_wip", "metric_delivery")
)

_TASK_COUNTS_SQL = """
select process, name, count(*) as n
from flag_state
where level = 'task' and status in ('pending', 'firing', 'recovering')
group by all order by process, n desc, name
"""

_OPS_COUNTS_SQL = """
select process, count(*) as n,
       min(case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2
                         when 'low' then 3 else 4 end) as worst
from flag_state
where level <> 'task' and status in ('pending', 'firing', 'recovering')
group by all
"""


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def overview(path: str, mtime: float) -> Frames:
    """What the portfolio shows of one workspace: build, maturity, key metrics, flag counts, weeks."""
    with open_snapshot(Path(path)) as con:
        return {
            "build": _df(con, "select as_of, timezone, built_at from build_info"),
            "maturity": pd.DataFrame(queries.maturity_rows(con)),
            "metrics": _df(
                con, f"select * from ({_METRICS_SQL}) where window_name in ('current', 'baseline')"
            ),
            "weekly": _df(con, "select * from metric_dash_weekly order by process, week_start"),
            "ops": _df(con, _OPS_COUNTS_SQL),
            "tasks": _df(con, _TASK_COUNTS_SQL),
            "runs": pd.DataFrame(queries.last_runs(con, 1)),
            "processes": pd.DataFrame(queries.process_summary(con)),
        }


_XMR_SQL = """
select * from (
    select case_id, case_title, completed_at, cycle_time_days
    from fct_cases
    where process = $process and state = 'completed' and cycle_time_days is not null
      and completed_at >= $end - to_days($lookback) and completed_at < $end
    order by completed_at desc, case_id desc
    limit $limit
) order by completed_at, case_id
"""

_SCATTER_SQL = """
select case_id, case_title, assignee, completed_at, cycle_time_days, rework
from fct_cases
where process = $process and state = 'completed' and cycle_time_days is not null
  and completed_at >= $end - to_days($days) and completed_at < $end
order by completed_at desc limit $limit
"""


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def process_view(
    path: str, mtime: float, process: str, lookback_days: int, window_days: int
) -> Frames:
    """Everything the process page charts for one process, read in one connection."""
    with open_snapshot(Path(path)) as con:
        build = _df(con, "select as_of, timezone, built_at from build_info")
        frames: Frames = {"build": build}
        one = [process]
        frames["maturity"] = pd.DataFrame(queries.maturity_rows(con, process))
        frames["metrics"] = _df(con, f"select * from ({_METRICS_SQL}) where process = ?", one)
        for name, table, order in (
            ("weekly", "metric_dash_weekly", "week_start"),
            ("throughput", "metric_throughput_weekly", "week_start"),
            ("wip", "metric_wip_daily", "day"),
            ("cfd", "metric_dash_cfd", "week_start, stage_class"),
            ("dwell", "metric_dash_stage_dwell", "window_name, stage"),
            ("aging", "metric_dash_aging", "age_days desc nulls last"),
        ):
            frames[name] = _df(
                con, f"select * from {table} where process = ? order by {order}", one
            )
        if build.empty:
            frames["xmr"] = frames["scatter"] = pd.DataFrame()
            return frames
        end = _as_of_instant(build)
        params = {"process": process, "end": end}
        frames["xmr"] = con.execute(
            _XMR_SQL, {**params, "lookback": lookback_days, "limit": XMR_POINTS}
        ).df()
        frames["scatter"] = con.execute(
            _SCATTER_SQL, {**params, "days": window_days, "limit": SCATTER_LIMIT}
        ).df()
        return frames


def _as_of_instant(build: pd.DataFrame) -> datetime:
    """as_of (a local date) as the instant its local midnight falls on."""
    as_of = pd.Timestamp(build["as_of"].iloc[0]).date()
    return datetime(as_of.year, as_of.month, as_of.day, tzinfo=ZoneInfo(build["timezone"].iloc[0]))


_CASES_SQL = """
select case_id, case_title, state, assignee, client_id, created_at, completed_at,
       cycle_time_days, lead_time_days, rework, revision_rounds, on_time, due_at, n_events
from fct_cases
where process = $process and ($state::varchar is null or state = $state)
  and ($text::varchar is null or case_id ilike $text or coalesce(case_title, '') ilike $text
       or coalesce(assignee, '') ilike $text or coalesce(client_id, '') ilike $text)
order by coalesce(completed_at, created_at) desc, case_id
limit $limit
"""


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def cases(
    path: str, mtime: float, process: str, state: str | None, text: str | None
) -> pd.DataFrame:
    """The process's cases, newest first, filtered by state and a search text (id, title, people)."""
    pattern = f"%{text}%" if text else None
    with open_snapshot(Path(path)) as con:
        return con.execute(
            _CASES_SQL,
            {"process": process, "state": state, "text": pattern, "limit": CASE_LIMIT},
        ).df()


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def case_events(path: str, mtime: float, process: str, case_id: str) -> pd.DataFrame:
    """The events of one case in log order."""
    with open_snapshot(Path(path)) as con:
        return con.execute(
            "select occurred_at, kind, stage, original_status, actor, assignee, due_at, comment, "
            "scale, score from events where process = ? and case_id = ? "
            "order by occurred_at, landing_file, line",
            [process, case_id],
        ).df()


_SILENCE = (
    "acknowledged_at", "acknowledged_by", "acknowledged_severity", "snoozed_at", "snoozed_until",
    "snoozed_by", "snooze_reason", "snoozed_severity",
)  # fmt: skip


_FLAG_COUNTS_SQL = """
select level, status, name, process, count(*) as n
from flag_state
group by all order by all
"""

# Every filter is bound: an empty list (or a null level or text) keeps every row.
_FLAG_WHERE = """
where ($level::varchar is null or f.level = $level)
  and (len($statuses::varchar[]) = 0 or list_contains($statuses::varchar[], f.status))
  and (len($severities::varchar[]) = 0 or list_contains($severities::varchar[], f.severity))
  and (len($names::varchar[]) = 0 or list_contains($names::varchar[], f.name))
  and (len($processes::varchar[]) = 0 or list_contains($processes::varchar[], f.process))
"""

# The search text matches the case id, title and assignee joined by spaces, as the page always has.
_FLAG_TEXT = """
  and contains(upper(concat_ws(' ', coalesce(f.case_id, ''), coalesce(c.case_title, ''),
                               coalesce(c.assignee, ''))), upper($text))
"""

_CASE_JOIN = "left join fct_cases c on c.process = f.process and c.case_id = f.case_id"

# Most severe first; dim and fingerprint only make ties (operations flags of one process) stable.
_FLAG_ORDER = (
    "case f.severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 "
    "when 'low' then 3 else 4 end, f.flag_id, f.process, f.case_id, f.dim, f.fingerprint"
)

_FLAG_COLUMNS = (
    "f.fingerprint, f.flag_id as id, f.name, f.level, f.process, f.case_id, c.case_title, "
    "c.assignee, f.dim, f.severity, f.status, f.as_of, f.observed, f.baseline, f.explanation, "
    "f.action, f.trigger, f.first_seen_at, f.last_seen_at, f.open_runs, f.clean_runs, "
    "f.resolved_at"
)


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def flag_counts(path: str, mtime: float) -> pd.DataFrame:
    """How many flag records there are per (level, status, name, process): a few hundred rows.

    The task queue's per-name counts and filter options and the flags page's per-status counts
    are sums over this frame; it is empty when no flag was ever recorded.
    """
    with open_snapshot(Path(path)) as con:
        return _df(con, _FLAG_COUNTS_SQL)


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def flag_page(
    path: str,
    mtime: float,
    *,
    level: str | None = None,
    statuses: tuple[str, ...] = (),
    severities: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
    processes: tuple[str, ...] = (),
    text: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """The first FLAG_LIMIT matching flag records, most severe first, and how many match in all.

    Each record carries its evidence, its case's title and assignee, and its acknowledge/snooze
    state. Empty filters keep every record; `text` is a case-insensitive substring of the case
    id, title or assignee.
    """
    with open_snapshot(Path(path)) as con:
        if not queries.has_table(con, "flag_state"):
            return pd.DataFrame(), 0
        have = _columns(con, "flag_state")
        silence = ", ".join(f"f.{c}" if c in have else f"null as {c}" for c in _SILENCE)
        params: dict[str, Any] = {
            "level": level, "statuses": list(statuses), "severities": list(severities),
            "names": list(names), "processes": list(processes),
        }  # fmt: skip
        matched = f"from flag_state f {_FLAG_WHERE}"
        if text:  # only the search text needs the cases joined to every record
            matched = f"from flag_state f {_CASE_JOIN} {_FLAG_WHERE} {_FLAG_TEXT}"
            params["text"] = text
        row = con.execute(f"select count(*) {matched}", params).fetchone()
        total = int(row[0]) if row else 0
        page = con.execute(
            f"select {_FLAG_COLUMNS}, {silence} "
            f"from (select f.* {matched} order by {_FLAG_ORDER} limit $limit) f "
            f"{_CASE_JOIN} order by {_FLAG_ORDER}",
            {**params, "limit": FLAG_LIMIT},
        ).df()
        return page, total


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def health(path: str, mtime: float) -> Frames:
    """Last runs, source freshness, quarantine counts and landed files of a snapshot."""
    with open_snapshot(Path(path)) as con:
        runs = pd.DataFrame(queries.last_runs(con, 10))
        return {
            "build": _df(con, "select as_of, timezone, built_at from build_info"),
            "runs": runs.drop(columns=["summary"]) if not runs.empty else runs,
            "summaries": runs[["run_id", "summary"]] if not runs.empty else runs,
            "sources": pd.DataFrame(queries.source_status(con)),
            "quarantine": pd.DataFrame(queries.quarantine_counts(con)),
            "files": _df(
                con,
                "select landing_file, format, process, n_records, n_loaded, n_quarantined, "
                "loaded_at from landing_files order by loaded_at desc limit 20",
            ),
            "warnings": _df(con, "select code, n, detail, landing_file from dq_warnings"),
        }
