"""`opspulse doctor`: versions, paths, last runs, pending files, quarantine, sources, misconfiguration."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from flows.landing import landed_files
from flows.pull import health_sentence, published_health, token_origin, token_variable
from flows.sources import source_for
from models.errors import OpspulseError, UsageError
from models.settings import Settings
from warehouse import queries
from warehouse.db import open_snapshot

__all__ = ["diagnose"]

_PACKAGES = ("opspulse", "duckdb", "prefect", "great-expectations", "streamlit", "pydantic")


_NOT_PUBLISHED = "not published yet; import a file or run `opspulse demo`"


def _row(check: str, status: str, detail: str) -> dict[str, Any]:
    return {"check": check, "status": status, "detail": detail}


def _versions() -> list[dict[str, Any]]:
    rows = [_row("python", "ok", platform.python_version())]
    for name in _PACKAGES:
        try:
            rows.append(_row(name, "ok", metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append(_row(name, "error", "not installed; run `make install`"))
    return rows


def _paths(settings: Settings, workspace: str, config: Path | None) -> list[dict[str, Any]]:
    paths = settings.paths(workspace)
    config_text = (
        str(config) if config else "opspulse.toml or $OPSPULSE_CONFIG (defaults if absent)"
    )
    return [
        _row("config", "ok", config_text),
        _row("data folder", "ok", str(settings.home.resolve())),
        _row("warehouse", "ok" if paths.warehouse.exists() else "warn", str(paths.warehouse)),
        _row("snapshot", "ok" if paths.snapshot.exists() else "warn",
             str(paths.snapshot) if paths.snapshot.exists() else _NOT_PUBLISHED),
        _row("data docs", "ok" if paths.gx.exists() else "warn",
             str(paths.gx / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html")),
    ]  # fmt: skip


def _snapshot_checks(settings: Settings, workspace: str) -> list[dict[str, Any]]:
    paths = settings.paths(workspace)
    try:
        con = open_snapshot(paths.snapshot)
    except OpspulseError:
        return []
    with con:
        rows = []
        runs = queries.last_runs(con, 1)
        if runs:
            last = runs[0]
            rows.append(_row("last run", "ok" if last["status"] == "success" else "error",
                             f"{last['run_id']} {last['status']} at {last['finished_at']}"))  # fmt: skip
        loaded = queries.loaded_file_names(con)
        pending = [f.name for f in landed_files(paths.landing) if f.name not in loaded]
        rows.append(_row("landing", "warn" if pending else "ok",
                         f"{len(pending)} file(s) landed but not loaded; run `opspulse run`" if pending
                         else f"{len(loaded)} file(s) loaded"))  # fmt: skip
        counts = queries.quarantine_counts(con)
        total = sum(c["n"] for c in counts)
        rows.append(_row("quarantine", "warn" if total else "ok", f"{total} open row(s)"))
        rows += [
            _row("quarantine reason", "warn", f"{c['n']} x {c['reason']}") for c in counts[:10]
        ]
        known = {p["process"] for p in queries.process_summary(con)}
    for name in sorted(set(settings.process_configs(workspace)) - known):
        rows.append(_row("config", "warn", f"process {name!r} is configured but has no events"))
    return rows


_FRESHNESS_STATUS = {"fresh": "ok", "stale": "warn", "never": "warn", "failing": "error"}


def _source_checks(settings: Settings, workspace: str) -> list[dict[str, Any]]:
    """Per configured source: misconfiguration (no connector, token or scopes), else freshness."""
    configs = settings.source_configs(workspace)
    now = datetime.now(UTC)
    health = {h["source"]: h for h in published_health(settings, workspace, now)} if configs else {}
    rows = []
    for name, config in sorted(configs.items()):
        try:
            source_for(name, config)
        except UsageError as exc:
            rows.append(_row(f"source {name}", "error", str(exc)))
            continue
        if token_origin(settings, name, config) is None:
            variable = token_variable(name, config)
            rows.append(_row(f"source {name}", "error", f"no token; set {variable}"))
        elif name not in health:
            text = 'no scopes, so nothing is pulled; add scopes = { "<id>" = "<process>" }'
            rows.append(_row(f"source {name}", "warn", text))
        else:
            state = health[name]["freshness"]
            detail = health_sentence(health[name], config, now)
            rows.append(_row(f"source {name}", _FRESHNESS_STATUS[state], detail))
    return rows


def diagnose(settings: Settings, workspace: str, config: Path | None) -> list[dict[str, Any]]:
    """Every check as a row of (check, status, detail); status is ok, warn or error."""
    return (
        _versions()
        + _paths(settings, workspace, config)
        + _snapshot_checks(settings, workspace)
        + _source_checks(settings, workspace)
    )
