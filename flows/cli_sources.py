"""`opspulse sources list|check`: the configured sources, their freshness, and whether they answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from flows.cli_common import Config, Debug, Format, Workspace, err, out
from flows.output import OUTPUT_FORMATS, render
from flows.pull import published_health, resolve_token, token_origin
from flows.sources import source_for
from models.errors import OpspulseError, UsageError
from models.settings import Settings, SourceConfig, load_settings

__all__ = ["CHECK_COLUMNS", "LIST_COLUMNS", "check_source", "source_rows", "sources_app"]

sources_app = typer.Typer(help="Configured sources and whether they answer.", no_args_is_help=True)
LIST_COLUMNS = ("name", "type", "base_url", "scopes", "token", "last_success_at", "freshness")
CHECK_COLUMNS = ("name", "status", "detail")


def _check_format(fmt: str) -> None:
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of {', '.join(OUTPUT_FORMATS)}")


def _no_sources(workspace: str) -> str:
    return f"workspace {workspace!r} has no sources; add a [sources.<name>] table to opspulse.toml"


def _base_url(name: str, config: SourceConfig) -> str:
    if config.base_url:
        return config.base_url
    try:
        return str(getattr(source_for(name, config), "DEFAULT_BASE", ""))
    except UsageError:
        return ""  # an unknown type: `sources check` and `doctor` say so


def source_rows(settings: Settings, workspace: str, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source: where it answers, what feeds which process, freshness."""
    health = {h["source"]: h for h in published_health(settings, workspace, now)}
    return [
        {
            "name": name,
            "type": config.type or name,
            "base_url": _base_url(name, config),
            "scopes": "; ".join(f"{k} -> {v}" for k, v in config.scopes.items()),
            "token": "yes" if token_origin(settings, name, config) else "no",
            "last_success_at": health.get(name, {}).get("last_success_at"),
            "freshness": health[name]["freshness"] if name in health else "no scopes",
        }
        for name, config in sorted(settings.source_configs(workspace).items())
    ]


def check_source(settings: Settings, name: str, config: SourceConfig) -> dict[str, Any]:
    """Ask one source who the token is and what it can see; failures become the row's detail."""
    try:
        source = source_for(name, config)
        with source.make_client(config, resolve_token(settings, name, config)) as client:
            found = source.check(client, config)
    except OpspulseError as exc:
        return {"name": name, "status": "failed", "detail": str(exc)}
    detail = "; ".join(f"{key}: {value}" for key, value in found.items())
    return {"name": name, "status": "ok", "detail": detail}


@sources_app.command("list")
def list_sources(
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Each source: type, base URL, scopes -> processes, token set, last success, freshness."""
    _check_format(fmt)
    settings = load_settings(config)
    rows = source_rows(settings, workspace, datetime.now(UTC))
    render(rows, fmt, LIST_COLUMNS, out)
    if not rows:
        err.print(_no_sources(workspace), highlight=False)


@sources_app.command("check")
def check_sources(
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Call each source once: ok with what the token sees, or failed with why (exit 1)."""
    _check_format(fmt)
    settings = load_settings(config)
    configs = settings.source_configs(workspace)
    if not configs:
        raise UsageError(_no_sources(workspace))
    rows = [check_source(settings, name, cfg) for name, cfg in sorted(configs.items())]
    render(rows, fmt, CHECK_COLUMNS, out)
    failed = [r["name"] for r in rows if r["status"] != "ok"]
    if failed:
        err.print(f"{len(failed)} source(s) failed: {', '.join(failed)}", highlight=False)
        raise typer.Exit(1)
