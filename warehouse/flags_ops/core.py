"""What an operations-flag rule sees (one evaluation's context) and what it returns (a finding).

A rule judges each of its sub-rules into one of four states (METRICS.md §5.2, §3.5):
`open` (the open condition holds), `close` (the looser close condition holds), `hold` (between the
two: a firing flag stays firing) or `frozen` (below the minimum sample, or its source is unhealthy:
the run counts as neither firing nor clean). The life cycle in `warehouse.flag_state` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import duckdb

from warehouse.batch import PerProcess
from warehouse.metrics import epoch_us

__all__ = [
    "Ctx",
    "Finding",
    "ProcessInfo",
    "SubState",
    "Visit",
    "days",
    "judge",
    "pct",
]

SubState = Literal["open", "close", "hold", "frozen"]


def judge(opens: bool, closes: bool, enough: bool = True) -> SubState:
    """One sub-rule's state from its open and close conditions and its minimum sample."""
    if not enough:
        return "frozen"
    return "open" if opens else ("close" if closes else "hold")


def pct(share: float | None) -> str:
    """A share as a whole percentage for a sentence (0.384 -> "38")."""
    return "n/a" if share is None else f"{100 * share:.0f}"


def days(value: float | None) -> str:
    """Days for a sentence: one decimal without a trailing .0."""
    if value is None:
        return "n/a"
    text = f"{value:.1f}"
    return text.removesuffix(".0")


@dataclass
class Finding:
    """One operations flag's verdict for one process (and dim) at one evaluation."""

    flag_id: str
    name: str
    process: str | None
    subs: dict[str, SubState]
    severity: str = "medium"
    dim: str | None = None
    observed: float | None = None
    baseline: float | None = None
    explanation: str = ""
    trigger: str = "rule"
    level: str = "operations"
    case_id: str | None = None
    stage: str | None = None
    # Whether the flag's own data back an escalation into it (O4: the stage is slower than its
    # baseline, or new; O10: WIP is above its baseline); escalation.py reads it.
    corroborated: bool = True

    @property
    def is_open(self) -> bool:
        return any(s == "open" for s in self.subs.values())

    @property
    def fired(self) -> list[str]:
        return sorted(k for k, s in self.subs.items() if s == "open")


class Visit(NamedTuple):
    """One visit to a named stage (a flag_status_visits row). Its instants are microseconds since
    the epoch (`Ctx.us` turns a bound into one): a year of visits is read every night, and
    time-zone-aware datetimes cost four times as much to fetch."""

    process: str
    case_id: str
    stage: str
    stage_class: str
    entered_us: int
    exited_us: int | None
    dwell_days: float | None
    holder: str | None


@dataclass(frozen=True)
class ProcessInfo:
    """What a rule needs to know about a process beyond its events."""

    name: str
    process_type: str
    client_facing: bool
    frt_target_hours: float = 12.0


@dataclass
class Ctx:
    """One evaluation: the connection (after the build), the as_of and its windows, the owner."""

    con: duckdb.DuckDBPyConnection
    workspace: str
    as_of: date
    tz: str
    processes: dict[str, ProcessInfo]
    owner: str | None = None
    levels: dict[str, int | None] = field(default_factory=dict)
    current_days: int = 28
    baseline_weeks: int = 12
    batch: PerProcess = field(init=False)

    def __post_init__(self) -> None:
        self.batch = PerProcess(self.con)

    def local(self, day: date) -> datetime:
        """Local midnight starting `day` in the workspace's time zone."""
        return datetime.combine(day, time(), ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        return self.local(self.as_of)

    def ago(self, n_days: int) -> datetime:
        return self.local(self.as_of - timedelta(days=n_days))

    us = staticmethod(epoch_us)  # an instant as DuckDB's epoch_us gives it

    @property
    def cur(self) -> tuple[datetime, datetime]:
        return self.ago(self.current_days), self.end

    @property
    def base(self) -> tuple[datetime, datetime]:
        return self.ago(self.current_days + 7 * self.baseline_weeks), self.ago(self.current_days)

    def rows(
        self, sql: str, params: dict[str, Any] | list[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        cursor = self.con.cursor()
        cursor.execute(sql, params)
        return cursor.fetchall()

    def per_process(
        self, sql: str, params: dict[str, Any] | None, process: str
    ) -> list[tuple[Any, ...]]:
        """`process`'s rows of a query over every process at once (its first column is the
        process; warehouse.batch): one query per evaluation, not one per process."""
        return self.batch.rows(sql, params, process)

    def metric(self, process: str, window: str, metric: str) -> tuple[float | None, int]:
        """(value, n) of one metric_ row of this build; (None, 0) when the row is missing."""
        return self.batch.metric(process, window, metric)
