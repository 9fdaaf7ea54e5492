"""The pipeline for one workspace: pull sources -> load landing -> validate -> build -> publish.

Plain functions do the work so tests and the CLI need no Prefect server; `run_flow` wraps
them as a Prefect flow with one task per step.
"""

from __future__ import annotations

import fcntl
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.formats import Record, read_records
from flows.landing import LandedFile, landed_files
from flows.pull import SourceOutcome, pull_all, pullable, source_health, sources_markdown
from flows.requests import apply_requests
from models.errors import UsageError, WorkspaceBusy
from models.settings import Settings, WorkspacePaths
from warehouse import queries
from warehouse.build import build
from warehouse.db import open_writer
from warehouse.detect import DetectOptions, detect
from warehouse.load import (
    LandingFile,
    LoadResult,
    load_records,
    loaded_landing_files,
    record_source_runs,
    sync_config,
)
from warehouse.metrics import default_as_of, latest_as_of, metric_params, metric_rows
from warehouse.migrate import migrate
from warehouse.publish import publish
from warehouse.replay import replay, replay_nights

__all__ = [
    "Progress",
    "RunSummary",
    "load_pending",
    "new_summary",
    "read_cursors",
    "read_metrics",
    "replay_quarantine",
    "run_pipeline",
    "step_build_publish",
    "step_load",
    "step_pull",
    "workspace_lock",
]

Progress = Callable[[str, int], None]  # (what, records done so far); what = file or "phase:<name>"


def _no_progress(what: str, done: int) -> None:
    return None


@dataclass
class RunSummary:
    """What one run did, for stdout, the runs table and the Prefect artifact."""

    workspace: str
    run_id: str
    started_at: str
    finished_at: str = ""
    status: str = "running"
    files: list[dict[str, Any]] = field(default_factory=list)
    processes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(f["loaded"] for f in self.files)

    @property
    def new(self) -> int:
        return sum(f["new"] for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f["quarantined"] for f in self.files)

    def to_json(self) -> str:
        return json.dumps(
            {
                **asdict(self),
                "loaded": self.loaded,
                "new": self.new,
                "quarantined": self.quarantined,
            },
            default=str,
        )

    def markdown(self) -> str:
        """The summary as a small markdown report."""
        lines = [
            f"# opspulse run `{self.run_id}` — workspace `{self.workspace}`",
            "",
            f"Status **{self.status}**; {len(self.files)} file(s), {self.loaded} rows loaded "
            f"({self.new} new), {self.quarantined} quarantined.",
            "",
            "| process | cases | open | completed | cancelled | events |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {p['process']} | {p['cases']} | {p['open']} | {p['completed']} | "
            f"{p['cancelled']} | {p['events']} |"
            for p in self.processes
        ]
        lines += sources_markdown(self.sources)
        lines += [f"- warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@contextmanager
def workspace_lock(paths: WorkspacePaths, timeout: float = 60.0) -> Iterator[None]:
    """Hold the workspace's run lock: one run (one writer) per workspace at a time."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.lock.open("a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        f"another run is still working on workspace {paths.root.name!r}; "
                        "wait for it to finish and try again"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _reader_process(landed: LandedFile) -> str | None:
    """The process a reader assigns: --process, else the file's name for single-process logs."""
    if landed.process:
        return landed.process
    return landed.stem if landed.format in {"csv", "xes"} else None


def _counted(
    records: Iterator[Record], what: str, progress: Progress
) -> Iterator[tuple[int, str | None, str | None, str | None]]:
    for n, record in enumerate(records, start=1):
        if n % 20_000 == 0:
            progress(what, n)
        yield record


def _open(settings: Settings, workspace: str) -> duckdb.DuckDBPyConnection:
    paths = settings.paths(workspace)
    con = open_writer(paths.warehouse)
    migrate(con)
    configs = sorted(settings.process_configs(workspace).items())
    processes = [(name, cfg.type, cfg.client_facing, cfg.ct_finish) for name, cfg in configs]
    sync_config(
        con,
        workspace,
        settings.workspace_timezone(workspace),
        settings.status_map_rows(workspace),
        processes,
        settings.ct_start_rows(workspace),
        settings.workspace_holidays(workspace),
        {name: cfg.frt_target_hours for name, cfg in configs if cfg.frt_target_hours},
    )
    return con


def _landing_file(landed: LandedFile, path: Path) -> LandingFile:
    """What the loader needs to know of a landed file (a pull's also carries its cursor)."""
    cursor = datetime.fromisoformat(landed.cursor) if landed.cursor else None
    raw = path if landed.format == "raw" else None
    return LandingFile(landed.name, landed.format, landed.process, landed.sha256, landed.bytes,
                       landed.source, cursor, landed.scopes, raw)  # fmt: skip


def _load_one(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    workspace: str,
    landed: LandedFile,
    now: datetime,
    progress: Progress,
    lines: set[int] | None = None,
) -> LoadResult:
    paths = settings.paths(workspace)
    path = paths.landing / landed.name
    source = settings.source_configs(workspace).get(landed.source) if landed.source else None
    records: Iterator[Record] = read_records(
        path, landed.format, _reader_process(landed), settings.max_line_bytes, source
    )
    if lines is not None:
        records = (r for r in records if r.line in lines)
    return load_records(
        con,
        _landing_file(landed, path),
        _counted(records, landed.original, progress),
        workspace=workspace,
        timezone=settings.workspace_timezone(workspace),
        docs_root=paths.gx,
        now=now,
        future_days=settings.future_tolerance_days,
        replay=lines is not None,
        on_phase=lambda phase: progress(f"phase:{phase}", 0),
    )


def load_pending(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    workspace: str,
    now: datetime,
    progress: Progress = _no_progress,
) -> list[LoadResult]:
    """Load every landed file the warehouse has not loaded yet, each in its own transaction."""
    done = loaded_landing_files(con)
    pending = [f for f in landed_files(settings.paths(workspace).landing) if f.name not in done]
    return [_load_one(con, settings, workspace, landed, now, progress) for landed in pending]


def replay_quarantine(
    con: duckdb.DuckDBPyConnection, settings: Settings, workspace: str, now: datetime
) -> list[LoadResult]:
    """Re-validate open quarantine rows from their landing files with today's code and config."""
    open_lines: dict[str, set[int]] = {}
    for landing_file, line in con.execute(
        "select landing_file, line from quarantine where replayed_at is null"
    ).fetchall():
        open_lines.setdefault(landing_file, set()).add(int(line))
    with_rows = [f for f in landed_files(settings.paths(workspace).landing) if f.name in open_lines]
    return [
        _load_one(con, settings, workspace, landed, now, _no_progress, open_lines[landed.name])
        for landed in with_rows
    ]


def _finish(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    summary: RunSummary,
    results: list[LoadResult],
    progress: Progress = _no_progress,
) -> None:
    """Build the derived layers, record the run and publish the snapshot."""
    paths = settings.paths(summary.workspace)
    progress("phase:build", 0)
    timezone = settings.workspace_timezone(summary.workspace)
    as_of = default_as_of(con, timezone, datetime.fromisoformat(summary.started_at).date())
    configs = settings.process_configs(summary.workspace)
    ws_config = settings.workspace.get(summary.workspace)
    sources = source_health(
        settings, summary.workspace, queries.source_status(con), datetime.now(UTC)
    )
    options = DetectOptions(
        targets={name: cfg.sle_days is not None for name, cfg in configs.items()},
        owner=ws_config.owner if ws_config else None,
        unhealthy={s["source"]: s["freshness"] for s in sources
                   if s["freshness"] in ("stale", "failing")},
    )  # fmt: skip
    if as_of is not None:
        nights = replay_nights(con, summary.workspace, as_of, timezone,
                               settings.alerts.replay_nights, settings.alerts.replay_budget)  # fmt: skip
        if nights:
            progress("phase:replay", len(nights))
            replay(con, workspace=summary.workspace, nights=nights, timezone=timezone,
                   metrics=settings.metrics, maturity=settings.maturity, options=options)  # fmt: skip
    build(con, metric_params(con, timezone, settings.metrics, as_of))
    con.execute(
        "create or replace table build_info as select ?::date as as_of, ? as timezone, "
        "current_timestamp as built_at",
        [as_of, timezone],
    )
    detect(
        con,
        workspace=summary.workspace,
        as_of=as_of,
        timezone=timezone,
        cfg=settings.maturity,
        options=options,
    )
    # Acknowledge/snooze requests the dashboard left apply to the flags this run just evaluated.
    apply_requests(con, settings, summary.workspace)
    summary.files = [
        {"file": r.landing_file, "records": r.records, "loaded": r.loaded, "new": r.new,
         "quarantined": r.quarantined, "reasons": r.reasons}
        for r in results
    ]  # fmt: skip
    summary.warnings = [w for r in results for w in r.warnings]
    summary.processes = queries.process_summary(con)
    summary.sources = sources
    summary.status = "success"
    summary.finished_at = datetime.now(UTC).isoformat()
    con.execute(
        "insert into runs values (?, ?, ?, ?, ?, ?::json)",
        [summary.run_id, summary.workspace, summary.started_at, summary.finished_at,
         summary.status, summary.to_json()],
    )  # fmt: skip
    progress("phase:publish", 0)
    publish(con, paths.warehouse, paths.snapshot)


def read_cursors(settings: Settings, workspace: str) -> dict[str, dict[str, datetime]]:
    """The committed pull cursors (briefly opening the writer: hold the run lock)."""
    con = _open(settings, workspace)
    try:
        return queries.source_cursors(con)
    finally:
        con.close()


def step_pull(settings: Settings, workspace: str) -> list[SourceOutcome]:
    """Pull every source that has scopes from its committed cursor, in parallel."""
    if not pullable(settings, workspace):
        return []
    return pull_all(settings, workspace, read_cursors(settings, workspace))


def step_load(
    settings: Settings,
    workspace: str,
    now: datetime,
    progress: Progress = _no_progress,
    replay: bool = False,
    run_id: str = "",
    pulls: Sequence[SourceOutcome] = (),
) -> list[LoadResult]:
    """Open the writer, record the pulls, load pending landing files (and replay quarantine if
    asked), close."""
    con = _open(settings, workspace)
    try:
        record_source_runs(con, run_id, [asdict(p) for p in pulls])
        results = load_pending(con, settings, workspace, now, progress)
        if replay:
            results += replay_quarantine(con, settings, workspace, now)
        return results
    finally:
        con.close()


def step_build_publish(
    settings: Settings,
    summary: RunSummary,
    results: list[LoadResult],
    progress: Progress = _no_progress,
) -> RunSummary:
    """Open the writer, build the derived layers, record the run and publish the snapshot."""
    con = _open(settings, summary.workspace)
    try:
        _finish(con, settings, summary, results, progress)
    finally:
        con.close()
    return summary


def new_summary(workspace: str, now: datetime) -> RunSummary:
    """An empty summary for a run starting now."""
    return RunSummary(workspace, uuid.uuid4().hex[:12], now.isoformat())


def run_pipeline(
    settings: Settings,
    workspace: str,
    *,
    now: datetime | None = None,
    progress: Progress = _no_progress,
    replay: bool = False,
    lock_timeout: float = 60.0,
) -> RunSummary:
    """One full run for a workspace, holding its lock; the snapshot is published only on success."""
    now = now or datetime.now(UTC)
    summary = new_summary(workspace, now)
    with workspace_lock(settings.paths(workspace), lock_timeout):
        pulls = step_pull(settings, workspace)
        results = step_load(settings, workspace, now, progress, replay, summary.run_id, pulls)
        return step_build_publish(settings, summary, results, progress)


def read_metrics(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    workspace: str,
    *,
    process: str | None = None,
    window: str = "all",
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """Metric rows from a snapshot: the run's own as_of, `latest`, or a given date."""
    built = con.execute("select as_of, timezone from build_info").fetchone()
    if built is None:
        raise WorkspaceBusy("the snapshot has no metrics yet; run `opspulse run` once")
    stored_as_of, timezone = built
    wanted = _parse_as_of(con, as_of, timezone) if as_of else stored_as_of
    if wanted is None:
        raise UsageError(f"workspace {workspace!r} has no events yet, so there are no metrics")
    params = (
        None if wanted == stored_as_of else metric_params(con, timezone, settings.metrics, wanted)
    )
    return metric_rows(
        con, workspace=workspace, as_of=wanted, params=params, process=process, window=window
    )


def _parse_as_of(con: duckdb.DuckDBPyConnection, text: str, timezone: str) -> date | None:
    if text == "latest":
        return latest_as_of(con, timezone)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not a date (YYYY-MM-DD) or 'latest'") from None
