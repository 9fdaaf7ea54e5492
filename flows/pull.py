"""The pull step: every source with scopes fetched since its committed cursor and landed raw.

Nothing here opens the warehouse: the pipeline reads the committed cursors first, and loading a
landing file later commits the cursor it carries (the start of its pull) in the same transaction,
so a crash in between re-fetches and never skips. A failing source lands nothing for the run,
because its cursor cannot move anyway and the next run fetches the same window again; its outcome
says why, and the other sources carry on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from flows.landing import land_raw
from flows.sources import Source, source_for
from models.errors import FatalSourceError, OpspulseError, UsageError
from models.raw import RawRecord
from models.settings import Settings, SourceConfig
from warehouse import queries
from warehouse.db import open_snapshot
from warehouse.queries import Row

__all__ = [
    "DEFAULT_HISTORY_DAYS",
    "FAILING_AFTER_RUNS",
    "SourceOutcome",
    "freshness",
    "health_sentence",
    "published_health",
    "pull_all",
    "pull_source",
    "pullable",
    "resolve_token",
    "since_groups",
    "source_health",
    "sources_markdown",
    "token_origin",
    "token_variable",
]

DEFAULT_HISTORY_DAYS = 365  # how far back a first pull goes without `start_date`
FAILING_AFTER_RUNS = 2  # failed runs in a row that mark a source failing (an auth error: one)
MAX_PARALLEL_PULLS = 8
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceOutcome:
    """How one source's pull went in one run; `error` is one sentence without secrets."""

    source: str
    type: str
    status: str  # ok or failed
    started_at: str
    finished_at: str
    records: int = 0
    landing_file: str | None = None
    error: str | None = None
    auth_error: bool = False  # credentials (or configuration) missing or refused


def token_variable(name: str, config: SourceConfig) -> str:
    """The environment variable that holds (or would hold) the source's token."""
    return config.token_env or f"OPSPULSE_SOURCES__{name.upper()}__TOKEN"


def _configs(settings: Settings, name: str, config: SourceConfig) -> list[SourceConfig]:
    # A workspace's [workspace.x.sources.<name>] replaces the top-level table, but the token
    # variable OPSPULSE_SOURCES__<NAME>__TOKEN only fills the top-level one: look there too.
    top = settings.sources.get(name)
    return [config] if top is None or top is config else [config, top]


def token_origin(settings: Settings, name: str, config: SourceConfig) -> str | None:
    """Where the source's token comes from (a variable or a block name), or None; no value."""
    for candidate in _configs(settings, name, config):
        if settings.source_token_set(candidate):
            return f"env {token_variable(name, candidate)}"
    return f"Prefect Secret block {config.token_block!r}" if config.token_block else None


def resolve_token(settings: Settings, name: str, config: SourceConfig) -> SecretStr:
    """The source's token: environment first, then its Prefect Secret block; else a usage error."""
    for candidate in _configs(settings, name, config):
        if settings.source_token_set(candidate):
            return settings.source_token(name, candidate)
    if config.token_block:
        return _block_secret(name, config.token_block, token_variable(name, config))
    return settings.source_token(name, config)  # raises, naming the variable to set


def _block_secret(name: str, block: str, variable: str) -> SecretStr:
    from prefect.blocks.system import Secret  # Prefect only when a block is configured

    try:
        loaded: Any = Secret.load(block)  # a coroutine only when called from async code
        value = loaded.get()
    except (ValueError, RuntimeError, httpx.HTTPError) as exc:
        raise UsageError(
            f"source {name!r}: the Prefect Secret block {block!r} could not be loaded "
            f"({type(exc).__name__}); create it or set {variable}"
        ) from exc
    return SecretStr(str(value))


def since_groups(
    config: SourceConfig, committed: Mapping[str, datetime], now: datetime
) -> list[tuple[datetime, list[str]]]:
    """Scopes grouped by where their pull starts: the committed cursor, else `start_date` (or
    365 days back), minus the overlap; so a scope added later gets its full history."""
    first = (
        datetime.combine(config.start_date, time(), UTC)
        if config.start_date
        else now - timedelta(days=DEFAULT_HISTORY_DAYS)
    )
    overlap = timedelta(seconds=config.overlap_seconds)
    groups: dict[datetime, list[str]] = {}
    for scope in config.scopes:
        start = committed[scope].astimezone(UTC) if scope in committed else first
        groups.setdefault(start - overlap, []).append(scope)
    return sorted(groups.items())


def _records(
    source: Source,
    client: httpx.Client,
    config: SourceConfig,
    committed: Mapping[str, datetime],
    now: datetime,
) -> Iterator[RawRecord]:
    for since, scopes in since_groups(config, committed, now):
        part = config
        if len(scopes) < len(config.scopes):
            part = config.model_copy(update={"scopes": {s: config.scopes[s] for s in scopes}})
        yield from source.fetch(client, part, since)


def _scrub(text: str, token: SecretStr | None) -> str:
    secret = token.get_secret_value() if token else ""
    return text.replace(secret, "***") if secret else text


def pull_source(
    settings: Settings, workspace: str, name: str, committed: Mapping[str, datetime]
) -> SourceOutcome:
    """Pull one source into one raw landing file; never raises, the outcome says what happened."""
    config = settings.source_configs(workspace)[name]
    kind, started = config.type or name, datetime.now(UTC)
    token: SecretStr | None = None
    try:
        source = source_for(name, config)
        token = resolve_token(settings, name, config)
        with source.make_client(config, token) as client:
            records = _records(source, client, config, committed, started)
            landing = settings.paths(workspace).landing
            landed, count = land_raw(records, landing, name, list(config.scopes), started, started)
    except OpspulseError as exc:
        # No token yet means the credentials or the configuration are missing: like a refused
        # token, only a person can fix that, so one such failure marks the source failing.
        auth = token is None or (isinstance(exc, FatalSourceError) and exc.status in (401, 403))
        message = _scrub(str(exc), token)
        _log.warning("pull of source %s failed: %s", name, message)
        return _outcome(name, kind, started, "failed", error=message, auth_error=auth)
    except Exception as exc:  # a connector bug must not stop the other sources: logged in full
        trace = "".join(traceback.format_exception(exc))
        _log.error("pull of source %s failed unexpectedly:\n%s", name, _scrub(trace, token))
        message = _scrub(f"{type(exc).__name__}: {exc}", token)
        return _outcome(name, kind, started, "failed", error=f"unexpected error: {message}")
    _log.info("pulled source %s: %d records into %s", name, count, landed.name)
    return _outcome(name, kind, started, "ok", records=count, landing_file=landed.name)


def _outcome(name: str, kind: str, started: datetime, status: str, **details: Any) -> SourceOutcome:
    return SourceOutcome(
        name, kind, status, started.isoformat(), datetime.now(UTC).isoformat(), **details
    )


def pullable(settings: Settings, workspace: str) -> dict[str, SourceConfig]:
    """The sources a run pulls: those with scopes (a token variable alone also makes a table)."""
    return {n: c for n, c in sorted(settings.source_configs(workspace).items()) if c.scopes}


def pull_all(
    settings: Settings, workspace: str, cursors: Mapping[str, Mapping[str, datetime]]
) -> list[SourceOutcome]:
    """Pull every pullable source of a workspace in parallel threads; one failing stops none."""
    names = list(pullable(settings, workspace))
    if not names:
        return []
    workers = min(MAX_PARALLEL_PULLS, len(names))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull") as pool:
        futures = [
            pool.submit(pull_source, settings, workspace, name, cursors.get(name, {}))
            for name in names
        ]
        return [future.result() for future in futures]


def freshness(config: SourceConfig, status: Mapping[str, Any], now: datetime) -> str:
    """fresh, stale (no committed data within `stale_after_hours`), failing or never (pulled)."""
    failures = int(status.get("consecutive_failures") or 0)
    if status.get("last_status") == "failed" and (
        status.get("last_auth_error") or failures >= FAILING_AFTER_RUNS
    ):
        return "failing"
    last = status.get("last_success_at")
    if last is None:
        return "stale" if status else "never"
    return "stale" if now - last > timedelta(hours=config.stale_after_hours) else "fresh"


def source_health(
    settings: Settings, workspace: str, status_rows: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """One row per pullable source: its freshness, last success, last run and last error."""
    facts = {row["source"]: row for row in status_rows}
    rows = []
    for name, config in pullable(settings, workspace).items():
        status = facts.get(name, {})
        rows.append(
            {
                "source": name,
                "type": config.type or name,
                "freshness": freshness(config, status, now),
                "last_success_at": status.get("last_success_at"),
                "last_run_at": status.get("last_run_at"),
                "last_status": status.get("last_status"),
                "last_records": status.get("last_records"),
                "consecutive_failures": status.get("consecutive_failures", 0),
                "last_error": status.get("last_error"),
            }
        )
    return rows


def sources_markdown(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown table lines of source_health rows, for the run summary."""
    if not rows:
        return []
    lines = ["", "| source | last pull | records | freshness | last success | error |",
             "|---|---|---:|---|---|---|"]  # fmt: skip
    for r in rows:
        last = r["last_success_at"]
        when = f"{last.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if last else ""
        lines.append(
            f"| {r['source']} | {r['last_status'] or 'never'} | {r['last_records'] or 0} | "
            f"{r['freshness']} | {when} | {r['last_error'] or ''} |"
        )
    return lines


def published_health(settings: Settings, workspace: str, now: datetime) -> list[dict[str, Any]]:
    """source_health as of the published snapshot (every source `never` before a first run)."""
    status: list[Row] = []
    if settings.paths(workspace).snapshot.exists():
        with open_snapshot(settings.paths(workspace).snapshot) as con:
            status = queries.source_status(con)
    return source_health(settings, workspace, status, now)


def health_sentence(row: Mapping[str, Any], config: SourceConfig, now: datetime) -> str:
    """One sentence on a source_health row, for doctor."""
    last, state, error = row["last_success_at"], row["freshness"], row["last_error"]
    if state == "never":
        return "never pulled; run `opspulse run`"
    since = "no successful pull yet"
    if last is not None:
        hours = (now - last).total_seconds() / 3600
        since = f"last success {last.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({hours:.1f} h ago)"
    if state == "failing":
        failed = row["consecutive_failures"]
        return f"failing: {failed} failed run(s) in a row, {since}; last error: {error}"
    if state == "stale":
        older = f", older than {config.stale_after_hours:g} h" if last is not None else ""
        return f"stale: {since}{older}; last error: {error or 'none'}"
    return f"fresh: {since}"
