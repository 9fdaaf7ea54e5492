"""The flag life cycle (METRICS.md §6): one record per fingerprint, advanced once per evaluation.

inactive -> pending -> firing -> recovering -> resolved. A condition seen for the first time is
pending (T7 and critical fire at once: pending_runs 1); seen again it fires. A firing flag whose
Close condition holds (for the sub-rules that fired; a task flag's Close is its absence) recovers,
and resolves after `RESOLVE_CLEAN_RUNS` such runs in a row; between the open and close thresholds
it stays firing (hysteresis). A pending flag whose condition clears goes silently back to inactive
(its record is dropped). A frozen flag (below its minimum sample, or its source unhealthy) shows
`insufficient_data` and neither opens nor resolves; it resumes where it was. The caller owns the
transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.flags_ops import Finding
from warehouse.queries import has_table

__all__ = [
    "ACTIVE",
    "FLAG_STATE_COLUMNS",
    "PENDING_RUNS",
    "RESOLVE_CLEAN_RUNS",
    "evaluate_flags",
    "fingerprint",
    "task_findings",
]

PENDING_RUNS = 2  # alerts.pending_runs
PENDING_RUNS_CRITICAL = 1  # alerts.pending_runs_critical
RESOLVE_CLEAN_RUNS = 2  # alerts.resolve_clean_runs
IMMEDIATE_FLAGS = frozenset({"T7", "DS1"})  # flags with pending_runs = 1
ACTIVE = ("pending", "firing", "recovering", "insufficient_data")

FLAG_STATE_COLUMNS = (
    "fingerprint", "flag_id", "name", "level", "workspace", "process", "case_id", "dim", "severity",
    "status", "as_of", "observed", "baseline", "explanation", "action", "trigger", "first_seen_at",
    "last_seen_at", "open_runs", "clean_runs", "resolved_at", "subrules", "held_status",
    "first_as_of", "present_as_of", "stage",
)  # fmt: skip

Frozen = Callable[[str, str | None], bool]


def fingerprint(workspace: str, process: str | None, flag_id: str, dim: str | None) -> str:
    """sha256 of workspace|process|flag_id|dim (METRICS.md §5)."""
    key = "|".join((workspace, process or "", flag_id, dim or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _last_as_of(con: duckdb.DuckDBPyConnection, workspace: str) -> date | None:
    row = con.execute(
        "select as_of from flag_evaluations where workspace = ?", [workspace]
    ).fetchone()
    return row[0] if row else None


# The stage each flagged item is in; for T3 (stale or aging) the working stage where the item
# has spent the most time so far (the open visit counted up to as_of), which is where it is stuck
# and what its escalation into O4 names (METRICS.md §5.3: the modal stage of the stale items).
_TASK_STAGES = """
with dwell as (
    select process, case_id, stage,
        sum(epoch(coalesce(exited_at, ?::timestamptz)) - epoch(entered_at)) as seconds
    from flag_status_visits
    where stage_class in ('active', 'review')
    group by all
),
slowest as (select process, case_id, arg_max(stage, seconds) as stage from dwell group by all)
select t.*,
    case when t.flag_id = 'T3' then coalesce(s.stage, v.stage) else v.stage end as stage
from flag_task t
left join flag_status_visits v
    on v.process = t.process and v.case_id = t.case_id and v.exited_at is null
left join slowest s on s.process = t.process and s.case_id = t.case_id
"""


def task_findings(con: duckdb.DuckDBPyConnection, as_of: datetime | None = None) -> list[Finding]:
    """The `flag_task` rows of this build as present findings, with the stage of each item.

    `as_of` (the evaluation's instant) closes the open visits when T3 weighs an item's stages;
    without it, the last visit's entry.
    """
    if not has_table(con, "flag_task"):
        return []
    if as_of is None:
        (last,), *_ = con.execute("select max(entered_at) from flag_status_visits").fetchall()
        as_of = last or datetime.now(UTC)
    rows = _rows(con, _TASK_STAGES, [as_of])
    return [
        Finding(
            r["flag_id"],
            r["name"],
            r["process"],
            {"": "open"},
            severity=r["severity"],
            dim=r["dim"],
            observed=r["observed"],
            baseline=r["baseline"],
            explanation=r["explanation"],
            level="task",
            case_id=r["case_id"],
            stage=r["stage"],
        )
        for r in rows
    ]


def _opened(f: Finding) -> str:
    """The status of a condition seen for the first time."""
    immediate = f.flag_id in IMMEDIATE_FLAGS or f.severity == "critical"
    runs = PENDING_RUNS_CRITICAL if immediate else PENDING_RUNS
    return "firing" if runs <= 1 else "pending"


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> None:
    """Replace many rows at once by their key: one delete and one insert, through Arrow."""
    if not rows:
        return
    names = ", ".join(rows[0])
    con.register("opspulse_flag_rows", pa.Table.from_pylist(rows))
    try:
        match = " and ".join(f"t.{k} = r.{k}" for k in key)
        con.execute(
            f"delete from {table} t where exists (select 1 from opspulse_flag_rows r where {match})"
        )
        con.execute(f"insert into {table} ({names}) select {names} from opspulse_flag_rows")
    finally:
        con.unregister("opspulse_flag_rows")


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _values(f: Finding) -> dict[str, Any]:
    return {
        "flag_id": f.flag_id, "name": f.name, "level": f.level, "process": f.process,
        "case_id": f.case_id, "dim": f.dim, "severity": f.severity, "observed": _float(f.observed),
        "baseline": _float(f.baseline), "explanation": f.explanation, "action": f.explanation,
        "trigger": f.trigger, "stage": f.stage,
    }  # fmt: skip


def _present(old: dict[str, Any] | None, f: Finding, as_of: date, now: datetime) -> dict[str, Any]:
    """The record of a flag whose open condition holds at this evaluation."""
    if old is None or old["status"] == "resolved":
        return {
            **_values(f), "status": _opened(f), "first_seen_at": now, "open_runs": 1,
            "clean_runs": 0, "resolved_at": None, "subrules": ",".join(f.fired),
            "held_status": None, "first_as_of": as_of,
        }  # fmt: skip
    fired = sorted(set(filter(None, (old["subrules"] or "").split(","))) | set(f.fired))
    return {**old, **_values(f), "status": "firing", "open_runs": old["open_runs"] + 1,
            "clean_runs": 0, "subrules": ",".join(fired), "held_status": None}  # fmt: skip


def _absent(old: dict[str, Any], f: Finding | None, frozen: bool) -> dict[str, Any] | None:
    """The record of an active flag whose open condition does not hold (None: drop it)."""
    status = old["held_status"] if old["status"] == "insufficient_data" else old["status"]
    fired = [s for s in (old["subrules"] or "").split(",")] if old["subrules"] is not None else []
    subs = f.subs if f is not None else {}
    relevant = [subs[s] for s in fired if s in subs] or list(subs.values())
    if frozen or "frozen" in relevant:
        return {**old, "status": "insufficient_data", "held_status": status}
    if status == "pending":
        return None
    values = _values(f) if f is not None else {}
    if all(s == "close" for s in relevant):
        clean = old["clean_runs"] + 1 if status == "recovering" else 1
        resolved = clean >= RESOLVE_CLEAN_RUNS
        return {**old, **values, "clean_runs": clean, "held_status": None,
                "status": "resolved" if resolved else "recovering"}  # fmt: skip
    return {**old, **values, "status": "firing", "clean_runs": 0, "held_status": None}


def evaluate_flags(
    con: duckdb.DuckDBPyConnection,
    workspace: str,
    as_of: date,
    now: datetime,
    findings: Iterable[Finding] | None = None,
    frozen: Frozen | None = None,
) -> dict[str, int]:
    """Advance every flag of the workspace by one run.

    `findings` are this evaluation's verdicts (default: the task flags of `flag_task`); `frozen`
    says which (flag_id, process) may neither open nor resolve (their source is unhealthy).
    Returns the count of records per status after the run (empty when nothing was evaluated: an
    as_of not after the last evaluation's does not advance the machine).
    """
    last = _last_as_of(con, workspace)
    if last is not None and as_of <= last:
        return {}
    is_frozen = frozen or (lambda flag_id, process: False)
    by_fp: dict[str, Finding] = {}
    for f in task_findings(con) if findings is None else findings:
        if is_frozen(f.flag_id, f.process):
            f.subs = dict.fromkeys(f.subs, "frozen")
        by_fp[fingerprint(workspace, f.process, f.flag_id, f.dim)] = f
    known = {
        r["fingerprint"]: r
        for r in _rows(con, "select * from flag_state where workspace = ?", [workspace])
    }
    written: list[tuple[dict[str, Any], bool]] = []
    dropped: list[str] = []
    for fp in sorted(set(by_fp) | {k for k, r in known.items() if r["status"] in ACTIVE}):
        found, old = by_fp.get(fp), known.get(fp)
        present = found is not None and found.is_open
        if found is not None and present:
            record = _present(old, found, as_of, now)
            record.update(
                fingerprint=fp, workspace=workspace, present_as_of=as_of, last_seen_at=now
            )
        elif old is None or old["status"] == "resolved":
            continue
        else:
            new = _absent(old, found, is_frozen(old["flag_id"], old["process"]))
            if new is None:
                dropped.append(fp)
                continue
            record = new
            if record["status"] == "resolved":
                record["resolved_at"] = now
        record["as_of"] = as_of
        written.append((record, present))
    if dropped:
        con.execute("delete from flag_state where list_contains(?, fingerprint)", [dropped])
    _insert(
        con,
        "flag_state",
        [{c: r[c] for c in FLAG_STATE_COLUMNS} for r, _ in written],
        ("fingerprint",),
    )
    _history(con, as_of, written)
    con.execute("insert or replace into flag_evaluations values (?, ?, ?)", [workspace, as_of, now])
    counts = con.execute(
        "select status, count(*) from flag_state where workspace = ? group by status",
        [workspace],
    ).fetchall()
    return {str(status): int(n) for status, n in counts}


def _history(
    con: duckdb.DuckDBPyConnection, as_of: date, written: list[tuple[dict[str, Any], bool]]
) -> None:
    keys = ("workspace", "fingerprint", "flag_id", "level", "process", "case_id", "dim", "stage",
            "status", "severity", "trigger")  # fmt: skip
    _insert(
        con,
        "flag_history",
        [{**{k: r[k] for k in keys}, "as_of": as_of, "present": present} for r, present in written],
        ("workspace", "as_of", "fingerprint"),
    )
