"""The Prefect flow `run` loads landing, builds, publishes and leaves a markdown summary artifact."""

from __future__ import annotations

import asyncio

import pytest

from flows.ingest import land_imports
from models.settings import load_settings
from tests.conftest import REAL
from warehouse.db import open_snapshot


@pytest.mark.slow
@pytest.mark.xdist_group("prefect")  # one Prefect test server per worker: share it
def test_run_flow_publishes_and_writes_a_summary_artifact(home, prefect_harness) -> None:
    from datetime import UTC, datetime

    from prefect.client.orchestration import get_client

    from flows.flow import run_flow

    settings = load_settings()
    land_imports(
        [REAL / "receipt.csv"], settings.paths("default").landing, "auto", None, datetime.now(UTC)
    )
    report = run_flow(workspace="default")
    assert "| receipt | 1434 | 0 | 1434 | 0 | 8577 |" in report
    with open_snapshot(settings.paths("default").snapshot) as con:
        assert con.execute("select count(*) from events").fetchall()[0][0] == 8577

    async def artifacts() -> list:
        async with get_client() as client:
            return await client.read_artifacts()

    found = [a for a in asyncio.run(artifacts()) if a.key == "run-summary-default"]
    assert found and "receipt" in found[0].data
