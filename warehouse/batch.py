"""Queries answered for every process at once, for the nightly evaluation's per-process rules.

Each query of an evaluation costs a few milliseconds to plan however small the data, and the
rules of METRICS.md §4-§5 ask dozens of them per process. A rule asks for its own process's rows
of a query grouped by process; the first ask runs it for all of them, later asks (other
processes, or the same SQL and parameters again) read the answer.
"""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse.metrics import metric_tables

__all__ = ["PerProcess"]


class PerProcess:
    """The rows of queries whose first column is the process, by process, asked once each."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._found: dict[tuple[str, str], dict[str, list[tuple[Any, ...]]]] = {}
        self._columns: dict[str, list[str]] = {}
        self._metrics: dict[tuple[str, str, str], tuple[Any, ...]] | None = None

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

    def metric(self, process: str, window: str, metric: str) -> tuple[float | None, int]:
        """(value, n) of one row of the built metric_ tables; (None, 0) when it is missing.
        Every metric_ table is read once, in one query."""
        if self._metrics is None:
            self._metrics = self._load_metrics()
        row = self._metrics.get((process, window, metric))
        return (None, 0) if row is None else (row[0], int(row[1] or 0))

    def _load_metrics(self) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        cursor = self.con.cursor()
        existing = {
            r[0]
            for r in cursor.execute("select table_name from information_schema.tables").fetchall()
        }
        union = " union all ".join(
            f'select process, window_name, metric, value, n from "{n}"'
            for n, _ in metric_tables()
            if n in existing
        )
        if not union:
            return {}
        return {(r[0], r[1], r[2]): (r[3], r[4]) for r in cursor.execute(union).fetchall()}
