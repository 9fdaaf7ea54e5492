"""The single writer's load step: staged records -> checks -> quarantine and idempotent upsert."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from models.events import EVENT_FIELDS
from warehouse.checks import CHECK_COLUMNS, check_frame
from warehouse.sqlfiles import read_sql, run_script

__all__ = [
    "LandingFile",
    "LoadResult",
    "load_records",
    "loaded_landing_files",
    "record_source_runs",
    "sync_config",
]

RAW_LIMIT = 1024
_SCHEMA = pa.schema(
    [("line", pa.int64()), ("doc", pa.string()), ("error", pa.string()), ("raw", pa.string())]
)


@dataclass(frozen=True)
class LandingFile:
    """A landed file as the loader sees it: where, what format, which process by default.

    A pull's raw file also carries its source, the cursor to commit for its scopes and its
    path (its envelopes are copied into raw_events), all in the transaction that loads it.
    """

    name: str
    format: str
    default_process: str | None
    sha256: str | None = None
    bytes: int | None = None
    source: str | None = None
    cursor_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    raw_path: Path | None = None


@dataclass
class LoadResult:
    """What one landing file's load did."""

    landing_file: str
    records: int = 0
    loaded: int = 0
    new: int = 0
    quarantined: int = 0
    warnings: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)


def loaded_landing_files(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the landing files already loaded."""
    return {row[0] for row in con.execute("select landing_file from landing_files").fetchall()}


def sync_config(
    con: duckdb.DuckDBPyConnection,
    workspace: str,
    timezone: str,
    status_map: Sequence[tuple[str, str, str]],
    processes: Sequence[tuple[str, str, bool, str]],
    ct_start: Sequence[tuple[str, int, str]] = (),
    holidays: Sequence[date] = (),
    frt_targets: Mapping[str, float] | None = None,
) -> None:
    """Mirror the configuration the SQL layers read into cfg_ tables, in one transaction."""
    con.execute("begin")
    con.execute("delete from cfg_frt_target")
    if frt_targets:
        con.executemany("insert into cfg_frt_target values (?, ?)", list(frt_targets.items()))
    con.execute("delete from cfg_status_map")
    con.execute("delete from cfg_process")
    con.execute("delete from cfg_workspace")
    con.execute("delete from cfg_ct_start")
    con.execute("delete from cfg_holidays")
    if ct_start:
        con.executemany("insert into cfg_ct_start values (?, ?, ?)", list(ct_start))
    if holidays:
        con.executemany("insert into cfg_holidays values (?)", [[d] for d in holidays])
    if status_map:
        con.executemany("insert into cfg_status_map values (?, ?, ?)", list(status_map))
    if processes:
        con.executemany("insert into cfg_process values (?, ?, ?, ?)", list(processes))
    con.execute("insert into cfg_workspace values (?, ?)", [workspace, timezone])
    con.execute("commit")


def _stage(
    con: duckdb.DuckDBPyConnection,
    records: Iterable[tuple[int, str | None, str | None, str | None]],
) -> int:
    """Copy records into the temp table _in in chunks; return how many."""
    con.execute(
        "create or replace temp table _in (line bigint, doc varchar, error varchar, raw varchar)"
    )
    total = 0
    iterator: Iterator[tuple[int, str | None, str | None, str | None]] = iter(records)
    while chunk := list(islice(iterator, 200_000)):
        columns = list(zip(*chunk, strict=True))
        table = pa.Table.from_arrays(
            [pa.array(c, type=t.type) for c, t in zip(columns, _SCHEMA, strict=True)],
            schema=_SCHEMA,
        )
        con.register("_chunk", table)
        con.execute("insert into _in select * from _chunk")
        con.unregister("_chunk")
        total += len(chunk)
    return total


def _fold_unknown_keys(con: duckdb.DuckDBPyConnection) -> int:
    """Move unknown top-level keys into attributes (a data-quality warning, not a rejection)."""
    # By rowid, not line: one raw pull line can carry several events.
    rows = con.execute(
        "select rowid, doc, attributes from _parsed where reason is null and len(unknown_keys) > 0"
    ).fetchall()
    for rowid, doc, attributes in rows:
        original = json.loads(doc)
        merged = json.loads(attributes) if attributes else {}
        merged.update({k: original[k] for k in original if k not in _KNOWN})
        con.execute(
            "update _parsed set attributes = ?::json where rowid = ?", [json.dumps(merged), rowid]
        )
    return len(rows)


_KNOWN = set(EVENT_FIELDS)


def _semantic_checks(
    con: duckdb.DuckDBPyConnection, docs_root: Path, now: datetime, future_days: float
) -> None:
    """Run the GX suite on the rows that parsed, writing its reasons back onto _parsed."""
    cols = ", ".join(CHECK_COLUMNS)
    frame = con.execute(f"select rowid as _rowid, {cols} from _parsed where reason is null").df()
    if frame.empty:
        return
    failures = check_frame(
        frame[list(CHECK_COLUMNS)], docs_root=docs_root, now=now, future_days=future_days
    )
    if failures:
        fixes = pa.table(
            {
                "_rowid": [int(frame["_rowid"].iloc[i]) for i in failures],
                "reason": list(failures.values()),
            }
        )
        con.register("_fixes", fixes)
        con.execute(
            "update _parsed set reason = f.reason from _fixes f where _parsed.rowid = f._rowid"
        )
        con.unregister("_fixes")


def load_records(
    con: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    records: Iterable[tuple[int, str | None, str | None, str | None]],
    *,
    workspace: str,
    timezone: str,
    docs_root: Path,
    now: datetime,
    future_days: float = 1.0,
    replay: bool = False,
    on_phase: Callable[[str], None] = lambda phase: None,
) -> LoadResult:
    """Validate and load one landing file's records in one transaction; bad rows go to quarantine."""
    result = LoadResult(landing.name)
    on_phase("stage")
    result.records = _stage(con, records)
    on_phase("parse")
    run_script(
        con,
        read_sql("load", "parse.sql"),
        {
            "default_process": landing.default_process,
            "tz": timezone,
            "known_keys": list(EVENT_FIELDS),
        },
    )
    folded = _fold_unknown_keys(con)
    on_phase("check")
    _semantic_checks(con, docs_root, now, future_days)
    con.execute("create or replace temp table _good as select * from _parsed where reason is null")
    on_phase("upsert")
    con.execute("begin")
    try:
        run_script(con, read_sql("load", "batch.sql"))
        result.new = _count(
            con,
            "select count(*) from _batch b where copy_no = 1 and not exists "
            "(select 1 from events e where e.event_id = b.final_id)",
        )
        run_script(
            con,
            read_sql("load", "upsert.sql"),
            {"workspace": workspace, "landing_file": landing.name, "now": now},
        )
        _quarantine(con, landing.name, now, replay)
        _account(con, landing, result, folded, now, replay)
        if not replay:
            _commit_pull(con, landing, now)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


_COPY_RAW = """
insert into raw_events
select json ->> 'source', json ->> 'external_id', json ->> 'payload_hash', json ->> 'endpoint',
       json -> 'params', json ->> 'scope', json -> 'payload', (json ->> 'fetched_at')::timestamptz,
       coalesce(json ->> 'ingest_path', 'pull'), $landing_file, $now
from read_json_objects($path, format = 'newline_delimited', ignore_errors = true)
where (json ->> 'source') is not null and (json ->> 'external_id') is not null
  and (json ->> 'payload_hash') is not null and (json -> 'payload') is not null
qualify row_number() over (
    partition by json ->> 'source', json ->> 'external_id', json ->> 'payload_hash') = 1
on conflict do nothing
"""
_ADVANCE_CURSOR = """
insert into source_cursors values (?, ?, ?, ?, ?)
on conflict (source, scope) do update set
    cursor_at = excluded.cursor_at, landing_file = excluded.landing_file,
    committed_at = excluded.committed_at
where excluded.cursor_at > source_cursors.cursor_at
"""


def _commit_pull(con: duckdb.DuckDBPyConnection, landing: LandingFile, now: datetime) -> None:
    """Copy a pull's raw envelopes and advance its cursor (never backwards), inside the load."""
    if landing.raw_path is not None:
        con.execute(
            _COPY_RAW, {"path": str(landing.raw_path), "landing_file": landing.name, "now": now}
        )
    if landing.source and landing.cursor_at:
        rows = [
            [landing.source, scope, landing.cursor_at, landing.name, now]
            for scope in landing.scopes
        ]
        con.executemany(_ADVANCE_CURSOR, rows)


def record_source_runs(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: Sequence[dict[str, Any]]
) -> None:
    """Record how each source's pull went in this run (one transaction)."""
    if not outcomes:
        return
    con.execute("begin")
    columns = ("source", "type", "started_at", "finished_at", "status", "records", "auth_error",
               "error", "landing_file")  # fmt: skip
    con.executemany(
        # a retried load step records the same run again: keep the first
        "insert into source_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
        [[run_id, *(o[c] for c in columns)] for o in outcomes],
    )
    con.execute("commit")


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def _quarantine(
    con: duckdb.DuckDBPyConnection, landing_file: str, now: datetime, replay: bool
) -> None:
    if replay:
        con.execute(
            "update quarantine set replayed_at = ? where landing_file = ? and line in "
            "(select line from _parsed where reason is null)",
            [now, landing_file],
        )
    con.execute(
        """
        insert into quarantine
        select ?, line, string_agg(distinct reason, '; ' order by reason),
               left(coalesce(any_value(raw), any_value(doc)), 1024), ?, null
        from _parsed where reason is not null group by line
        on conflict (landing_file, line) do update set reason = excluded.reason
        """,
        [landing_file, now],
    )


def _account(
    con: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    result: LoadResult,
    folded: int,
    now: datetime,
    replay: bool,
) -> None:
    """Record counts, warnings and (for a first load) the landing file as loaded."""
    result.loaded = _count(con, "select count(*) from _good")
    result.quarantined = _count(
        con, "select count(distinct line) from _parsed where reason is not null"
    )
    result.reasons = dict(
        con.execute(
            "select reason, count(distinct line) from _parsed where reason is not null group by 1"
        ).fetchall()
    )
    repeats = _count(con, "select count(*) from _batch where is_exact_repeat")
    duplicate_ids = _count(con, "select count(*) from _batch where copy_no > 1")
    warnings = [
        (
            "exact_repeat",
            repeats,
            f"{repeats} events repeat an earlier event of the same case exactly; kept, "
            "as process-mining tools count them",
        ),
        (
            "duplicate_event_id",
            duplicate_ids,
            f"{duplicate_ids} lines repeat an event_id seen earlier in the file; the first was kept",
        ),
        (
            "unknown_keys",
            folded,
            f"{folded} lines had unknown top-level keys, moved into attributes",
        ),
    ]
    for code, n, text in warnings:
        if n:
            result.warnings.append(text)
            con.execute(
                "insert into dq_warnings values (?, ?, ?, ?, ?)", [landing.name, code, n, text, now]
            )
    if not replay:
        con.execute(
            "insert into landing_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                landing.name,
                landing.format,
                landing.default_process,
                landing.sha256,
                landing.bytes,
                result.records,
                result.loaded,
                result.new,
                result.quarantined,
                now,
            ],
        )
