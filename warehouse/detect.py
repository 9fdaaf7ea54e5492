"""Detection step of the writer: maturity per process, the task and operations flags, escalation,
inhibition by unhealthy sources, and the flag life cycle, for the readers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import duckdb

from models.settings import MaturityConfig
from warehouse.flag_state import ACTIVE, evaluate_flags, task_findings
from warehouse.flags_ops import Ctx, Finding, Instance, ProcessInfo, operations_findings
from warehouse.maturity import assess, maturity_rows

__all__ = ["DetectOptions", "detect"]

# Flags whose metric reads feedback: frozen when only a feedback source is unhealthy (§6).
FEEDBACK_FLAGS = frozenset({"O3", "O13", "T7"})


@dataclass
class DetectOptions:
    """What detection needs beyond the warehouse: targets, the owner, source health."""

    targets: dict[str, bool] = field(default_factory=dict)  # process -> an SLE is configured
    owner: str | None = None  # the business owner; else the person events call "owner"
    unhealthy: Mapping[str, str] = field(default_factory=dict)  # source -> stale | failing


def _frt_targets(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Configured first-reply targets (`process.<p>.frt_target_hours`, mirrored by sync_config)."""
    return {str(p): float(h) for p, h in con.execute("select * from cfg_frt_target").fetchall()}


def _has_target(con: duckdb.DuckDBPyConnection, opts: DetectOptions) -> dict[str, bool]:
    """Processes with an SLE or a first-reply target (an SLA for M2.2 and Q4.5)."""
    return {**opts.targets, **dict.fromkeys(_frt_targets(con), True)}


def _processes(con: duckdb.DuckDBPyConnection) -> dict[str, ProcessInfo]:
    targets = _frt_targets(con)
    rows = con.execute(
        "select process, any_value(process_type), bool_or(client_facing) from fct_cases group by 1"
    ).fetchall()
    return {
        str(p): ProcessInfo(str(p), str(t), bool(cf), targets.get(str(p), 12.0))
        for p, t, cf in rows
    }


def _owner(con: duckdb.DuckDBPyConnection, opts: DetectOptions) -> str | None:
    if opts.owner:
        return opts.owner
    rows = con.execute(
        "select actor from stg_events where attr_actor_role = 'owner' and actor is not null "
        "group by 1 order by count(*) desc, 1 limit 1"
    ).fetchall()
    return str(rows[0][0]) if rows else None


def _inhibition(
    con: duckdb.DuckDBPyConnection, unhealthy: Mapping[str, str]
) -> tuple[dict[str, frozenset[str] | None], list[Finding]]:
    """Per process, the flags frozen by unhealthy sources (None: all of them); DS1 per source."""
    frozen: dict[str, frozenset[str] | None] = {}
    alerts = []
    for source, why in sorted(unhealthy.items()):
        rows = con.execute(
            "select process, bool_or(kind <> 'feedback') from events where source = ? "
            "and process is not null group by 1",
            [source],
        ).fetchall()
        for process, tasks in rows:
            before = frozen.get(process, frozenset())
            frozen[process] = None if tasks or before is None else before | FEEDBACK_FLAGS
        alerts.append(
            Finding(
                "DS1",
                "Data source unhealthy",
                None,
                {"": "open"},
                severity="high",
                dim=source,
                explanation=(
                    f"The {source} source is {why}: flags that read it are frozen until "
                    f"it syncs again. Check its credentials and run `opspulse sources check`."
                ),
            )
        )
    return frozen, alerts


def _active(con: duckdb.DuckDBPyConnection, workspace: str) -> set[tuple[str, str | None]]:
    rows = con.execute(
        "select flag_id, process, coalesce(held_status, status) from flag_state "
        "where workspace = ? and status in ?",
        [workspace, list(ACTIVE)],
    ).fetchall()
    return {(r[0], r[1]) for r in rows if r[2] in ("pending", "firing")}


def evaluate(
    con: duckdb.DuckDBPyConnection, workspace: str, as_of: date, timezone: str,
    levels: dict[str, int | None], opts: DetectOptions, now: datetime,
) -> dict[str, int]:  # fmt: skip
    """One evaluation of every flag at as_of on the built layers (inside the caller's transaction)."""
    tasks = task_findings(con, datetime.combine(as_of, time(), ZoneInfo(timezone)))
    ctx = Ctx(con, workspace, as_of, timezone, _processes(con), _owner(con, opts), levels)
    instances = [Instance(f.flag_id, str(f.process), str(f.case_id), f.stage) for f in tasks]
    ops = operations_findings(ctx, instances, _active(con, workspace))
    frozen, alerts = _inhibition(con, opts.unhealthy)

    def is_frozen(flag_id: str, process: str | None) -> bool:
        if process is None or process not in frozen:
            return False
        flags = frozen[process]
        return flags is None or flag_id in flags

    return evaluate_flags(con, workspace, as_of, now, [*tasks, *ops, *alerts], is_frozen)


def detect(
    con: duckdb.DuckDBPyConnection,
    *,
    workspace: str,
    as_of: date | None,
    timezone: str,
    cfg: MaturityConfig,
    options: DetectOptions | None = None,
    now: datetime | None = None,
) -> int:
    """Assess every process, replace the `maturity` table and advance the flags (one transaction).

    Returns the maturity rows written. The flags advance once per as_of (METRICS.md §6).
    """
    opts = options or DetectOptions()
    results = (
        assess(con, workspace=workspace, as_of=as_of, timezone=timezone, cfg=cfg,
               targets=_has_target(con, opts))
        if as_of
        else []
    )  # fmt: skip
    rows = maturity_rows(results, as_of) if as_of else []
    con.execute("begin")
    try:
        con.execute(
            "create or replace table maturity (workspace varchar, process varchar, level integer, "
            "subscore integer, confidence varchar, window_days integer, completions integer, "
            "explanation varchar, next_step varchar, criteria json, as_of date)"
        )
        for r in rows:
            con.execute(
                "insert into maturity values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::json, ?)",
                [
                    r["workspace"],
                    r["process"],
                    r["level"],
                    r["subscore"],
                    r["confidence"],
                    r["window_days"],
                    r["completions"],
                    r["explanation"],
                    r["next_step"],
                    json.dumps(r["criteria"]),
                    r["as_of"],
                ],
            )
        if as_of:
            levels = {m.process: m.level for m in results}
            evaluate(con, workspace, as_of, timezone, levels, opts, now or datetime.now(UTC))
    except duckdb.Error:
        con.execute("rollback")
        raise
    con.execute("commit")
    return len(rows)
