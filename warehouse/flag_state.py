"""The flag life cycle (METRICS.md §6): one record per fingerprint, advanced once per evaluation.

inactive -> pending -> firing -> recovering -> resolved. A condition seen for the first time is
pending (T7 and critical fire at once: pending_runs 1); seen again it fires. A firing flag whose
condition is absent recovers; absent on `RESOLVE_CLEAN_RUNS` consecutive runs it resolves, and
present again it fires again. A pending flag whose condition clears goes silently back to
inactive (its record is dropped). The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

import duckdb

__all__ = [
    "ACTIVE",
    "FLAG_STATE_COLUMNS",
    "PENDING_RUNS",
    "RESOLVE_CLEAN_RUNS",
    "evaluate_flags",
    "fingerprint",
]

PENDING_RUNS = 2  # alerts.pending_runs
PENDING_RUNS_CRITICAL = 1  # alerts.pending_runs_critical
RESOLVE_CLEAN_RUNS = 2  # alerts.resolve_clean_runs
IMMEDIATE_FLAGS = frozenset({"T7"})  # flags with pending_runs = 1 (METRICS.md §5.1)
ACTIVE = ("pending", "firing", "recovering")

FLAG_STATE_COLUMNS = (
    "fingerprint", "flag_id", "name", "level", "workspace", "process", "case_id", "dim", "severity",
    "status", "as_of", "observed", "baseline", "explanation", "action", "trigger", "first_seen_at",
    "last_seen_at", "open_runs", "clean_runs", "resolved_at",
)  # fmt: skip

_VALUES = ("flag_id", "name", "level", "process", "case_id", "dim", "severity", "observed",
           "baseline", "explanation", "action")  # fmt: skip


def fingerprint(workspace: str, process: str | None, flag_id: str, dim: str | None) -> str:
    """sha256 of workspace|process|flag_id|dim (METRICS.md §5)."""
    key = "|".join((workspace, process or "", flag_id, dim or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _last_as_of(con: duckdb.DuckDBPyConnection, workspace: str) -> date | None:
    row = con.execute(
        "select as_of from flag_evaluations where workspace = ?", [workspace]
    ).fetchone()
    return row[0] if row else None


def _opened(row: dict[str, Any]) -> str:
    """The status of a condition seen for the first time."""
    immediate = row["flag_id"] in IMMEDIATE_FLAGS or row["severity"] == "critical"
    runs = PENDING_RUNS_CRITICAL if immediate else PENDING_RUNS
    return "firing" if runs <= 1 else "pending"


def _write(con: duckdb.DuckDBPyConnection, record: dict[str, Any]) -> None:
    cols = ", ".join(FLAG_STATE_COLUMNS)
    marks = ", ".join("?" for _ in FLAG_STATE_COLUMNS)
    con.execute(
        f"insert or replace into flag_state ({cols}) values ({marks})",
        [record[c] for c in FLAG_STATE_COLUMNS],
    )


def evaluate_flags(
    con: duckdb.DuckDBPyConnection, workspace: str, as_of: date, now: datetime
) -> dict[str, int]:
    """Advance every flag of the workspace by one run from the `flag_task` rows of this build.

    Returns the count of records per status after the run (empty when nothing was evaluated:
    an as_of not after the last evaluation's does not advance the machine).
    """
    last = _last_as_of(con, workspace)
    if last is not None and as_of <= last:
        return {}
    present: dict[str, dict[str, Any]] = {}
    if _has_table(con, "flag_task"):
        for row in _rows(con, "select * from flag_task", []):
            present[fingerprint(workspace, row["process"], row["flag_id"], row["dim"])] = row
    known = {
        r["fingerprint"]: r
        for r in _rows(con, "select * from flag_state where workspace = ?", [workspace])
    }
    for fp, row in present.items():
        old = known.get(fp)
        values = {k: row[k] for k in _VALUES}
        if old is None or old["status"] == "resolved":
            record = {
                "fingerprint": fp, **values, "workspace": workspace, "status": _opened(row),
                "trigger": "rule", "first_seen_at": now, "open_runs": 1, "clean_runs": 0,
                "resolved_at": None,
            }  # fmt: skip
        else:
            record = {**old, **values, "status": "firing", "open_runs": old["open_runs"] + 1,
                      "clean_runs": 0}  # fmt: skip
        record.update(as_of=as_of, last_seen_at=now)
        _write(con, record)
    for fp, old in known.items():
        if fp in present or old["status"] == "resolved":
            continue
        if old["status"] == "pending":
            con.execute("delete from flag_state where fingerprint = ?", [fp])
            continue
        clean = old["clean_runs"] + 1 if old["status"] == "recovering" else 1
        resolved = clean >= RESOLVE_CLEAN_RUNS
        _write(con, {**old, "as_of": as_of, "clean_runs": clean,
                     "status": "resolved" if resolved else "recovering",
                     "resolved_at": now if resolved else None})  # fmt: skip
    con.execute("insert or replace into flag_evaluations values (?, ?, ?)", [workspace, as_of, now])
    counts = con.execute(
        "select status, count(*) from flag_state where workspace = ? group by status",
        [workspace],
    ).fetchall()
    return {str(status): int(n) for status, n in counts}
