"""The read commands of `opspulse`: cases, metrics, maturity, flags and export, on the snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import (
    Config,
    Debug,
    Format,
    Workspace,
    check_choice,
    known_process,
    out,
    snapshot,
)
from flows.export import EXPORT_FORMATS, export_events
from flows.output import render
from flows.pipeline import read_metrics
from warehouse import queries
from warehouse.metrics import METRIC_COLUMNS

__all__ = ["cases", "export", "flags", "maturity", "metrics"]

_METRIC_TABLE = ("process", "window", "metric", "value", "n", "unit", "low", "high")
_CASE_TABLE = ("process", "case_id", "state", "created_at", "completed_at", "lead_time_days",
               "cycle_time_days", "rework", "on_time", "assignee")  # fmt: skip
_FLAG_TABLE = ("id", "severity", "status", "process", "case_id", "explanation")


def cases(
    process: Annotated[str | None, typer.Option("--process", help="Only this process.")] = None,
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """One row per case: timestamps, lead and cycle time, rework, on-time, assignee."""
    with snapshot(config, workspace, fmt) as (_settings, con):
        rows = known_process(con, workspace, process, queries.case_rows(con, process))
    render(rows, fmt, queries.CASE_COLUMNS, out, _CASE_TABLE)


def metrics(
    process: Annotated[str | None, typer.Option("--process", help="Only this process.")] = None,
    window: Annotated[
        str, typer.Option("--window", help="current, baseline, maturity or all.")
    ] = "all",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of the current window: YYYY-MM-DD or latest.")
    ] = None,
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """One row per (process, window, metric), with n, unit and interval where one is defined."""
    with snapshot(config, workspace, fmt) as (settings, con):
        found = read_metrics(con, settings, workspace, process=process, window=window, as_of=as_of)
        rows = known_process(con, workspace, process, found)
    render(rows, fmt, METRIC_COLUMNS, out, _METRIC_TABLE)


def maturity(
    process: Annotated[str | None, typer.Option("--process", help="Only this process.")] = None,
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """One row per process: level, sub-score, confidence, explanation, next step, criteria."""
    with snapshot(config, workspace, fmt) as (_settings, con):
        rows = known_process(con, workspace, process, queries.maturity_rows(con, process))
    if fmt == "table":
        for row in rows:
            level = (
                "not enough data"
                if row["level"] is None
                else f"L{row['level']} ({row['subscore']}% to next)"
            )
            out.print(
                f"[bold]{row['process']}[/]: {level}, confidence {row['confidence']}",
                highlight=False,
            )
            out.print(row["explanation"], markup=False, highlight=False)
            out.print(row["next_step"] + "\n", markup=False, highlight=False)
        return
    render(rows, fmt, queries.MATURITY_COLUMNS, out)


def flags(
    level: Annotated[str | None, typer.Option("--level", help="task or operations.")] = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include resolved flags.")
    ] = False,
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """One row per flag: id, severity, status, process, case and the next action."""
    if level is not None:
        check_choice(level, ("task", "operations"), "--level")
    with snapshot(config, workspace, fmt) as (_settings, con):
        rows = queries.flag_rows(con, level, include_resolved)
    render(rows, fmt, queries.FLAG_COLUMNS, out, _FLAG_TABLE)


def export(
    file_format: Annotated[str, typer.Option("--format", help="|".join(EXPORT_FORMATS))],
    out_path: Annotated[Path, typer.Option("--out", help="File to write (.gz for gzip XES/CSV).")],
    process: Annotated[str | None, typer.Option("--process", help="Only this process.")] = None,
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Write the event log in an interchange format (XES, flat CSV, Parquet)."""
    with snapshot(config, workspace) as (_settings, con):
        count = export_events(con, file_format, out_path, process)
    out.print(f"wrote {count:,} events to {out_path}")
