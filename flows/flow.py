"""The Prefect flow `run`: the pipeline's plain steps as tasks, one run per workspace at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.pipeline import RunSummary, new_summary, step_build_publish, step_load, workspace_lock
from models.settings import load_settings
from warehouse.load import LoadResult

__all__ = ["run_flow"]


@task(name="load-landing", retries=1, retry_delay_seconds=5)
def load_landing(
    config: str | None, workspace: str, now: datetime, replay: bool
) -> list[LoadResult]:
    """Validate and load every pending landing file."""
    return step_load(load_settings(Path(config) if config else None), workspace, now, replay=replay)


@task(name="build-and-publish")
def build_and_publish(
    config: str | None, summary: RunSummary, results: list[LoadResult]
) -> RunSummary:
    """Rebuild the SQL layers in one transaction and publish the read-only snapshot."""
    return step_build_publish(load_settings(Path(config) if config else None), summary, results)


@flow(name="run", log_prints=False)
def run_flow(workspace: str = "default", config: str | None = None, replay: bool = False) -> str:
    """The nightly pipeline for one workspace; returns the run summary as markdown."""
    settings = load_settings(Path(config) if config else None)
    now = datetime.now(UTC)
    with workspace_lock(settings.paths(workspace)):
        results = load_landing(config, workspace, now, replay)
        summary = build_and_publish(config, new_summary(workspace, now), results)
    report = summary.markdown()
    create_markdown_artifact(
        markdown=report,
        key=f"run-summary-{workspace}".lower().replace("_", "-").replace(".", "-"),
        description="opspulse run summary",
    )
    return report
