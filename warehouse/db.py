"""The only two ways to connect to a workspace's DuckDB files; both pin TimeZone to UTC."""

from __future__ import annotations

from pathlib import Path

import duckdb

from models.errors import UsageError, WarehouseError, WorkspaceBusy

__all__ = ["open_memory", "open_snapshot", "open_writer"]


def _pin(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("set TimeZone = 'UTC'")
    return con


def open_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the live warehouse read-write; only the pipeline's writer modules call this."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _pin(duckdb.connect(str(path)))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WorkspaceBusy(
                f"the warehouse {path} is open in another process; wait for it to finish"
            ) from exc
        raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from exc


def open_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a published snapshot read-only, for the CLI's read commands and the dashboard."""
    if not path.exists():
        raise UsageError(
            f"no published data at {path}; run `opspulse import FILE` or `opspulse demo` first"
        )
    try:
        return _pin(duckdb.connect(str(path), read_only=True))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the snapshot {path}: {exc}") from exc


def open_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory database, for tests of SQL files and for scratch work."""
    return _pin(duckdb.connect(":memory:"))
