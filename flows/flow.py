"""The Prefect flow `run`: the pipeline's plain steps as tasks, one run per workspace at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import State, flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed

from flows.pipeline import (
    RunSummary,
    new_summary,
    read_cursors,
    step_build_publish,
    step_load,
    workspace_lock,
)
from flows.pull import SourceOutcome, pull_source, pullable
from models.errors import SourceError
from models.settings import load_settings
from warehouse.load import LoadResult

__all__ = ["run_flow"]


@task(name="pull-source")
def pull_one(
    config: str | None, workspace: str, name: str, committed: dict[str, datetime]
) -> SourceOutcome:
    """Pull one source into a raw landing file (no task retries: the HTTP layer retried)."""
    return pull_source(load_settings(Path(config) if config else None), workspace, name, committed)


@task(name="load-landing", retries=1, retry_delay_seconds=5)
def load_landing(
    config: str | None,
    workspace: str,
    now: datetime,
    replay: bool,
    run_id: str = "",
    pulls: list[SourceOutcome] | None = None,
) -> list[LoadResult]:
    """Record the pulls, then validate and load every pending landing file."""
    settings = load_settings(Path(config) if config else None)
    return step_load(settings, workspace, now, replay=replay, run_id=run_id, pulls=pulls or [])


@task(name="build-and-publish")
def build_and_publish(
    config: str | None, summary: RunSummary, results: list[LoadResult]
) -> RunSummary:
    """Rebuild the SQL layers in one transaction and publish the read-only snapshot."""
    return step_build_publish(load_settings(Path(config) if config else None), summary, results)


@flow(name="run", log_prints=False)
def run_flow(
    workspace: str = "default", config: str | None = None, replay: bool = False
) -> str | State[None]:
    """The nightly pipeline for one workspace; returns the run summary as markdown.

    Sources are pulled in parallel; a failing source does not stop the others, whose data is
    loaded and published, but the run then ends Failed, and calling it raises a SourceError
    naming the source (a returned state, so Prefect logs no traceback for it).
    """
    settings = load_settings(Path(config) if config else None)
    now = datetime.now(UTC)
    summary = new_summary(workspace, now)
    with workspace_lock(settings.paths(workspace)):
        names = list(pullable(settings, workspace))
        cursors = read_cursors(settings, workspace) if names else {}
        futures = [pull_one.submit(config, workspace, n, cursors.get(n, {})) for n in names]
        pulls = [future.result() for future in futures]
        results = load_landing(config, workspace, now, replay, summary.run_id, pulls)
        summary = build_and_publish(config, summary, results)
    report = summary.markdown()
    create_markdown_artifact(
        markdown=report,
        key=f"run-summary-{workspace}".lower().replace("_", "-").replace(".", "-"),
        description="opspulse run summary",
    )
    failed = [p for p in pulls if p.status == "failed"]
    if failed:
        error = _failure(failed)
        return Failed(message=str(error), data=error)
    return report


def _failure(failed: list[SourceOutcome]) -> SourceError:
    reasons = "; ".join(f"{p.source}: {p.error}" for p in failed)
    return SourceError(
        f"{len(failed)} source(s) failed ({reasons}); the other sources were loaded and "
        "published; see `opspulse sources list`",
        source=", ".join(p.source for p in failed),
    )
