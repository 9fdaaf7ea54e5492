"""Queries answered for every process at once, for the nightly evaluation's per-process rules.

Each query of an evaluation costs a few milliseconds to plan however small the data, and the
rules of METRICS.md §4-§5 ask dozens of them per process. A rule asks for its own process's rows
of a query grouped by process; the first ask runs it for all of them, later asks (other
processes, or the same SQL and parameters again) read the answer.
"""

from __future__ import annotations

from typing import Any

import duckdb

__all__ = ["PerProcess"]


class PerProcess:
    """The rows of queries whose first column is the process, by process, asked once each."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._found: dict[tuple[str, str], dict[str, list[tuple[Any, ...]]]] = {}
        self._columns: dict[str, list[str]] = {}

    def rows(self, sql: str, params: dict[str, Any] | None, process: str) -> list[tuple[Any, ...]]:
        """`process`'s rows of the query (without the process column), in the query's order."""
        key = (sql, repr(sorted((params or {}).items())))
        found = self._found.get(key)
        if found is None:
            cursor = self.con.cursor()
            cursor.execute(sql, params)
            self._columns[sql] = [d[0] for d in cursor.description or []][1:]
            found = {}
            for row in cursor.fetchall():
                found.setdefault(str(row[0]), []).append(row[1:])
            self._found[key] = found
        return found.get(process, [])

    def columns(self, sql: str) -> list[str]:
        """The names of an asked query's columns after the process."""
        return self._columns[sql]
