"""What every `opspulse` command shares: the consoles, the option conventions, small checks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console

from flows.output import OUTPUT_FORMATS
from models.errors import UsageError
from models.settings import Settings, load_settings
from warehouse import queries
from warehouse.db import open_snapshot

__all__ = [
    "Config",
    "Debug",
    "Format",
    "Workspace",
    "check_choice",
    "err",
    "known_process",
    "out",
    "snapshot",
]

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)

Workspace = Annotated[str, typer.Option("--workspace", "-w", help="Workspace (one business).")]
Config = Annotated[
    Path | None,
    typer.Option("--config", help="opspulse.toml (default: $OPSPULSE_CONFIG or ./opspulse.toml)."),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
Format = Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")]


def check_choice(value: str, choices: tuple[str, ...], option: str) -> str:
    """The value, or a usage error naming the option and its choices."""
    if value not in choices:
        raise UsageError(f"{option} {value!r} is not one of {', '.join(choices)}")
    return value


@contextmanager
def snapshot(
    config: Path | None, workspace: str, fmt: str | None = None
) -> Iterator[tuple[Settings, duckdb.DuckDBPyConnection]]:
    """Check the output format, load the settings and open the workspace's published snapshot."""
    if fmt is not None:
        check_choice(fmt, OUTPUT_FORMATS, "--format")
    settings = load_settings(config)
    with open_snapshot(settings.paths(workspace).snapshot) as con:
        yield settings, con


def known_process(
    con: duckdb.DuckDBPyConnection, workspace: str, process: str | None, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows, or a usage error naming the known processes when --process matched none."""
    if process and not rows:
        known = ", ".join(p["process"] for p in queries.process_summary(con))
        raise UsageError(f"workspace {workspace!r} has no process {process!r}; known: {known}")
    return rows
