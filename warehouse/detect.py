"""Detection step of the writer: maturity per process and the flag life cycle, for the readers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import duckdb

from models.settings import MaturityConfig
from warehouse.flag_state import evaluate_flags
from warehouse.maturity import assess, maturity_rows

__all__ = ["detect"]


def detect(
    con: duckdb.DuckDBPyConnection,
    *,
    workspace: str,
    as_of: date | None,
    timezone: str,
    cfg: MaturityConfig,
    targets: dict[str, bool],
    now: datetime | None = None,
) -> int:
    """Assess every process, replace the `maturity` table and advance the flags (one transaction).

    Returns the maturity rows written. The flags advance once per as_of (METRICS.md §6).
    """
    results = (
        assess(con, workspace=workspace, as_of=as_of, timezone=timezone, cfg=cfg, targets=targets)
        if as_of
        else []
    )
    rows = maturity_rows(results, as_of) if as_of else []
    con.execute("begin")
    con.execute(
        "create or replace table maturity (workspace varchar, process varchar, level integer, "
        "subscore integer, confidence varchar, window_days integer, completions integer, "
        "explanation varchar, next_step varchar, criteria json, as_of date)"
    )
    for r in rows:
        con.execute(
            "insert into maturity values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::json, ?)",
            [r["workspace"], r["process"], r["level"], r["subscore"], r["confidence"], r["window_days"],
             r["completions"], r["explanation"], r["next_step"], json.dumps(r["criteria"]), r["as_of"]],
        )  # fmt: skip
    if as_of:
        try:
            evaluate_flags(con, workspace, as_of, now or datetime.now(UTC))
        except duckdb.Error:
            con.execute("rollback")
            raise
    con.execute("commit")
    return len(rows)
