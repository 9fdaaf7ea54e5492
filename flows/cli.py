"""The `opspulse` command line (DESIGN.md §5): one-sentence errors, Rich progress, three output formats."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from flows import cli_read
from flows import doctor as doctor_mod
from flows.cli_common import Config, Debug, Format, Workspace, check_choice, err, out, snapshot
from flows.cli_sources import sources_app
from flows.ingest import IMPORT_FORMATS, land_imports
from flows.output import OUTPUT_FORMATS, render
from flows.pipeline import RunSummary, run_pipeline
from models.errors import NothingLoaded, OpspulseError, UsageError
from models.settings import Settings, load_settings
from warehouse import queries

__all__ = ["app", "main"]

app = typer.Typer(
    name="opspulse",
    help="Process-maturity monitor: operations metrics, maturity and flags per process.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
quarantine_app = typer.Typer(
    help="Rejected rows and why; re-run them after a fix.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(sources_app, name="sources")
for _name, _command in (
    ("cases", cli_read.cases),
    ("metrics", cli_read.metrics),
    ("maturity", cli_read.maturity),
    ("flags", cli_read.flags),
    ("export", cli_read.export),
):
    app.command(_name)(_command)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Progress]:
    """A Rich progress display on stderr for long loads."""
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(), console=err, transient=True, disable=not enabled,
    )  # fmt: skip
    with progress:
        yield progress


def _run(settings: Settings, workspace: str, replay: bool = False) -> RunSummary:
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def advance(what: str, done: int) -> None:
            if what.startswith("phase:"):
                for task_id in tasks.values():
                    bar.update(task_id, description=f"{what.removeprefix('phase:')} …")
                return
            if what not in tasks:
                tasks[what] = bar.add_task(f"loading {Path(what).name}", total=None)
            bar.update(tasks[what], completed=done)

        return run_pipeline(settings, workspace, progress=advance, replay=replay)


def _print_summary(summary: RunSummary) -> None:
    rows = [
        {**p, "kind": "staged" if p.get("staged") else "generic log"} for p in summary.processes
    ]
    render(
        rows, "table", ["process", "kind", "cases", "open", "completed", "cancelled", "events"], out
    )
    out.print(
        f"workspace [bold]{summary.workspace}[/]: {len(summary.processes)} processes, "
        f"{summary.loaded:,} rows loaded ({summary.new:,} new), {summary.quarantined:,} quarantined."
    )
    if summary.sources:
        render(
            summary.sources,
            "table",
            ["source", "last_status", "last_records", "freshness", "last_error"],
            out,
        )
    for warning in summary.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)


def _report_quarantine(summary: RunSummary) -> None:
    if summary.quarantined and not summary.loaded:
        raise NothingLoaded(
            f"no row could be loaded: all {summary.quarantined} were quarantined; "
            "see `opspulse quarantine list`"
        )
    if summary.quarantined:
        err.print(f"{summary.quarantined} rows quarantined, see `opspulse quarantine list`")


@app.callback()
def _root(debug: Debug = False) -> None:
    """opspulse watches processes, not just tasks."""


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Event-log files (JSONL, CSV, XES, OCEL).")],
    file_format: Annotated[str, typer.Option("--format", help="|".join(IMPORT_FORMATS))] = "auto",
    process: Annotated[
        str | None, typer.Option("--process", help="Process name for the file's events.")
    ] = None,
    no_run: Annotated[bool, typer.Option("--no-run", help="Only land the files.")] = False,
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Land the files unchanged, then run the pipeline for the workspace."""
    settings = load_settings(config)
    now = datetime.now(UTC)
    outcomes = land_imports(paths, settings.paths(workspace).landing, file_format, process, now)
    for o in outcomes:
        if o.landed is None:
            err.print(f"{o.path}: the same content was imported before ({o.duplicate_of}); skipped")
    if no_run:
        landed = sum(1 for o in outcomes if o.landed)
        out.print(f"landed {landed} file(s); run `opspulse run` to load them")
        return
    summary = _run(settings, workspace)
    _print_summary(summary)
    _report_quarantine(summary)


@app.command("run")
def run(
    all_workspaces: Annotated[
        bool, typer.Option("--all", help="Every workspace under OPSPULSE_HOME.")
    ] = False,
    replay: Annotated[
        bool, typer.Option("--replay-quarantine", help="Also retry quarantined rows.")
    ] = False,
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """The nightly pipeline once, now, as a Prefect flow run."""
    settings = load_settings(config)
    names = _all_workspaces(settings) if all_workspaces else [workspace]
    from flows.flow import run_flow  # Prefect is imported only by the command that needs it

    failures = []
    for name in names:
        try:
            report = run_flow(workspace=name, config=str(config) if config else None, replay=replay)
        except OpspulseError as exc:  # one workspace's failure must not stop the others
            if len(names) == 1:
                raise
            failures.append(f"{name}: {exc}")
            continue
        out.print(report, markup=False, highlight=False)
    if failures:
        raise NothingLoaded(
            f"{len(failures)} of {len(names)} workspaces failed: " + "; ".join(failures)
        )


def _all_workspaces(settings: Settings) -> list[str]:
    names = sorted(
        {p.parent.name for p in settings.home.glob("*/landing")} | set(settings.workspace)
    )
    if not names:
        raise UsageError(
            f"no workspaces under {settings.home}; import a file or run `opspulse demo` first"
        )
    return names


@quarantine_app.command("list")
def quarantine_list(
    include_replayed: Annotated[
        bool, typer.Option("--all", help="Include rows loaded by a replay.")
    ] = False,
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Rejected rows: landing file, line, reason and the first 1 KiB of the raw input."""
    with snapshot(config, workspace, fmt) as (_settings, con):
        rows = queries.quarantine_rows(con, include_replayed)
    render(rows, fmt, ["landing_file", "line", "reason", "raw"], out)


@quarantine_app.command("replay")
def quarantine_replay(
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Re-validate quarantined rows from landing with the current code and config."""
    settings = load_settings(config)
    summary = _run(settings, workspace, replay=True)
    _print_summary(summary)
    replayed = sum(f["loaded"] for f in summary.files)
    out.print(f"{replayed} rows loaded; rows still failing stay in quarantine.")


@app.command("doctor")
def doctor(
    fmt: Format = "table",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Versions, paths, last runs, quarantine counts and what is misconfigured."""
    check_choice(fmt, OUTPUT_FORMATS, "--format")
    settings = load_settings(config)
    rows = doctor_mod.diagnose(settings, workspace, config)
    render(rows, fmt, ["check", "status", "detail"], out)
    if any(r["status"] == "error" for r in rows):
        raise typer.Exit(1)


@app.command("dashboard")
def dashboard(
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Start the Streamlit dashboard on the published snapshots."""
    settings = load_settings(config)
    _serve_dashboard(settings, workspace, port, host)


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _serve_dashboard(settings: Settings, workspace: str, port: int, host: str) -> None:
    if host not in _LOCAL_HOSTS and not settings.dashboard.auth_configured:
        raise UsageError(
            f"--host {host} would serve the dashboard beyond this machine without a login; set "
            "[dashboard] password or [dashboard.users.NAME] in opspulse.toml, or use --host 127.0.0.1"
        )
    spec = importlib.util.find_spec("dashboards")  # located, not imported: flows sits below it
    if spec is None or spec.origin is None:
        raise UsageError("the dashboards package is not installed; run `make install`")
    app_file = Path(spec.origin).with_name("app.py")
    env = {
        **os.environ,
        "OPSPULSE_HOME": str(settings.home.resolve()),
        "OPSPULSE_DASHBOARD_WORKSPACE": workspace,
    }
    out.print(f"dashboard on http://{host}:{port} (Ctrl+C to stop)")
    command = [
        sys.executable, "-m", "streamlit", "run", str(app_file), "--server.port", str(port),
        "--server.address", host, "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with suppress(KeyboardInterrupt):
        subprocess.run(command, env=env, check=False)


@app.command("demo")
def demo(
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed of the simulated business.")
    ] = 20250106,
    weeks: Annotated[int, typer.Option("--weeks", help="Weeks of history to simulate.")] = 52,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not start the dashboard.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Dashboard port.")] = 8501,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", help="One METRICS.md §7 scenario, S1-S7, instead of the business."
        ),
    ] = None,
    workspace: Workspace = "default",
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Simulate a realistic business, run the pipeline, print a summary, open the dashboard."""
    from flows.demo import simulate_to_file
    from flows.scenarios import SCENARIOS

    settings = load_settings(config)
    if scenario and scenario.upper() not in SCENARIOS:
        raise UsageError(f"--scenario {scenario!r} is not one of {', '.join(SCENARIOS)}")
    path = simulate_to_file(settings.paths(workspace).root / "demo", seed, weeks, scenario=scenario)
    land_imports([path], settings.paths(workspace).landing, "jsonl", None, datetime.now(UTC))
    summary = _run(settings, workspace)
    _print_summary(summary)
    _report_quarantine(summary)
    if not no_dashboard:
        _serve_dashboard(settings, workspace, port, "127.0.0.1")


def main() -> None:
    """Entry point: run the app, turning errors into one sentence on stderr and an exit code."""
    debug = "--debug" in sys.argv
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument, ...
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err.print(f"error: {message} (see --help)", highlight=False, markup=False)
        sys.exit(2)
    except OpspulseError as exc:
        if debug:
            raise
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        err.print(
            f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
            highlight=False,
            markup=False,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
