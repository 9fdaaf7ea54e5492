"""The demo: a simulated business (seeded) written as canonical JSONL, ready to land and run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flows.scenarios import simulate_scenario
from flows.simulate import simulate_business, write_jsonl

__all__ = ["demo_start", "simulate_to_file"]


def demo_start(weeks: int, today: date | None = None) -> date:
    """The Monday `weeks` weeks before this week's Monday, so the history ends at its start."""
    today = today or datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks)


def simulate_to_file(
    folder: Path, seed: int, weeks: int, today: date | None = None, scenario: str | None = None
) -> Path:
    """Simulate the business (or one METRICS.md §7 scenario) into folder/<name>-<seed>-<start>.jsonl."""
    start = demo_start(weeks, today)
    name = scenario.upper() if scenario else "business"
    path = folder / f"{name}-{seed}-{start:%Y%m%d}-{weeks}w.jsonl"
    if not path.exists():
        if scenario:
            events = simulate_scenario(scenario, seed=seed, start=start, weeks=weeks)
        else:
            events = simulate_business(seed=seed, start=start, weeks=weeks)
        folder.mkdir(parents=True, exist_ok=True)
        write_jsonl(events, path)
    return path
