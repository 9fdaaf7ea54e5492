"""End to end through `opspulse run` (a Prefect flow run): the simulator's business served by the
Asana fake and pulled gives the same cases as importing the simulator's JSONL (acceptance 2), and a
failing source leaves the others published while the run ends with an error naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.demo import demo_start
from flows.pull import pull_source, token_origin
from flows.simulate import simulate_business, write_jsonl
from models.settings import load_settings
from tests.fakes.asana import FakeAsana
from tests.fakes.base import Reply, running
from tests.fakes.fixtures import (
    ASANA_TOKEN,
    asana_api,
    files_containing,
    source_toml,
    write_config,
)
from tests.fakes.simulation import serve_as_asana

__all__ = ["asana_api"]  # the fixture, imported for pytest

SEED, WEEKS = 11, 8
# Every case field that the comparison covers (METRICS.md §8 names); feedback is not pulled
# from Asana, so feedback-derived fields are left out.
COMPARED = ("state", "created_at", "started_at", "start_basis", "completed_at", "lead_time_days",
            "cycle_time_days", "rework", "reopen_count", "backward_moves", "revision_rounds",
            "due_at", "on_time", "assignee")  # fmt: skip
PREFIX = "asana:task:"


def _cases(cli, workspace: str) -> dict[tuple[str, str], dict]:
    result = cli("cases", "--format", "json", "--workspace", workspace)
    assert result.code == 0, result.err
    return {(c["process"], c["case_id"].removeprefix(PREFIX)): c for c in result.json()}


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return a == b


@pytest.mark.slow
@pytest.mark.xdist_group("prefect")  # one Prefect test server per worker: share it
def test_a_pulled_business_has_the_same_cases_as_its_imported_log(
    cli, home, prefect_harness, monkeypatch
) -> None:
    events = simulate_business(seed=SEED, start=demo_start(WEEKS), weeks=WEEKS)
    jsonl = home.parent / "business.jsonl"
    write_jsonl(events, jsonl)
    business = serve_as_asana(events, FakeAsana(ASANA_TOKEN))
    monkeypatch.setenv("E2E_ASANA_TOKEN", ASANA_TOKEN)
    with running(business.api):
        maps = [
            source_toml(process, "workspace.pulled.processes", status_map=names)
            for process, names in business.status_maps.items()
        ]
        source = source_toml("asana", "workspace.pulled.sources", base_url=business.api.url,
                             scopes=business.scopes, token_env="E2E_ASANA_TOKEN")  # fmt: skip
        write_config(home.parent, source, *maps)
        run = cli("run", "--workspace", "pulled")
    assert run.code == 0, run.err
    assert "| asana | ok |" in run.out and "| fresh |" in run.out
    assert cli("import", str(jsonl), "--workspace", "imported").code == 0

    pulled, imported = _cases(cli, "pulled"), _cases(cli, "imported")
    assert len(imported) > 300 and set(pulled) == set(imported)
    assert {c["state"] for c in imported.values()} >= {"open", "completed"}
    values = {name: [c[name] for c in imported.values()] for name in COMPARED}
    assert any(values["rework"]) and any(values["reopen_count"]) and any(values["revision_rounds"])
    assert {True, False} <= set(values["on_time"]) and sum(
        v is None for v in values["assignee"]
    ) < 50
    differences = [
        (key, name, pulled[key][name], imported[key][name])
        for key in sorted(imported)
        for name in COMPARED
        if not _close(pulled[key][name], imported[key][name])
    ]
    assert differences == []
    # ... and the same metrics, computed for one as_of (a pulled workspace defaults to today).
    as_of = max(c["completed_at"] or c["created_at"] for c in imported.values())[:10]
    metrics = {}
    for workspace in ("pulled", "imported"):
        result = cli(
            "metrics",
            "--workspace",
            workspace,
            "--as-of",
            as_of,
            "--window",
            "all",
            "--format",
            "json",
        )
        assert result.code == 0, result.err
        metrics[workspace] = {
            (m["process"], m["metric"]): (m["value"], m["n"])
            for m in result.json()
            # Left out, as Asana does not carry them: feedback; public replies (first reply time
            # comes from Zendesk or Help Scout); the template a task came from and its checklist.
            if m["process"] != "(workspace)"
            and not m["metric"].startswith(("csat", "nps", "ces", "feedback", "first_reply"))
            and m["metric"] not in ("template_share", "checklist_completion")
        }
    assert len(metrics["imported"]) > 100 and metrics["pulled"].keys() == metrics["imported"].keys()
    metric_differences = [
        (key, metrics["pulled"][key], metrics["imported"][key])
        for key in sorted(metrics["imported"])
        if not (_close(metrics["pulled"][key][0], metrics["imported"][key][0])
                and metrics["pulled"][key][1] == metrics["imported"][key][1])
    ]  # fmt: skip
    assert metric_differences == [], metric_differences
    assert files_containing(home, ASANA_TOKEN) == []


@pytest.mark.slow
@pytest.mark.xdist_group("prefect")  # one Prefect test server per worker: share it
def test_a_failing_source_fails_the_run_after_publishing_the_others(
    cli, home, prefect_harness, monkeypatch
) -> None:
    good, down = FakeAsana(ASANA_TOKEN), FakeAsana(ASANA_TOKEN)
    for api in (good, down):
        api.add_project("1200", "Client onboarding")
    task = good.add_task("1200", datetime.now(UTC) - timedelta(days=2), name="Onboard Acme")
    good.add_story(task["gid"], "marked_complete", datetime.now(UTC) - timedelta(days=1))
    down.fail(r"^/tasks$", 1, Reply(503, {"errors": [{"message": "down"}]}), times=999)
    monkeypatch.setenv("OPSPULSE_SOURCES__ASANA__TOKEN", ASANA_TOKEN)
    monkeypatch.setenv("DOWN_TOKEN", ASANA_TOKEN)
    with running(good), running(down):
        write_config(
            home.parent,
            source_toml("asana", base_url=good.url, scopes={"1200": "Client onboarding"}),
            source_toml("down", base_url=down.url, scopes={"1200": "Client onboarding"}, type="asana",
                        token_env="DOWN_TOKEN", max_retries=1, max_wait_seconds=0.05),
        )  # fmt: skip
        run = cli("run")
    assert run.code == 1
    # the CLI's own line; Prefect's log lines may precede it, but no flow-failure traceback
    last = run.err.strip().splitlines()[-1]
    assert last.startswith("error: 1 source(s) failed (down: asana failed with 503 on /tasks)")
    assert "Encountered exception" not in run.err and ASANA_TOKEN not in run.out + run.err
    (case,) = cli("cases", "--format", "json").json()
    assert case["case_id"] == f"asana:task:{task['gid']}" and case["state"] == "completed"
    listed = {r["name"]: r["freshness"] for r in cli("sources", "list", "--format", "json").json()}
    assert listed == {"asana": "fresh", "down": "stale"}


@pytest.mark.slow
@pytest.mark.xdist_group("prefect")  # one Prefect test server per worker: share it
def test_a_token_can_come_from_a_prefect_secret_block(
    home, asana_api, prefect_harness, monkeypatch
) -> None:
    from prefect.blocks.system import Secret

    monkeypatch.delenv("OPSPULSE_SOURCES__ASANA__TOKEN", raising=False)
    Secret(value=ASANA_TOKEN).save("opspulse-asana-token", overwrite=True)
    scopes = {"1200": "Client onboarding"}
    write_config(
        home.parent,
        source_toml("asana", base_url=asana_api.url, scopes=scopes, token_block="opspulse-asana-token"),
        source_toml("lost", type="asana", base_url=asana_api.url, scopes=scopes, token_block="no-such-block"),
    )  # fmt: skip
    settings = load_settings()
    config = settings.source_configs("default")["asana"]
    assert token_origin(settings, "asana", config) == "Prefect Secret block 'opspulse-asana-token'"
    assert pull_source(settings, "default", "asana", {}).status == "ok"
    lost = pull_source(settings, "default", "lost", {})
    assert lost.status == "failed" and lost.auth_error
    assert "Prefect Secret block 'no-such-block' could not be loaded" in (lost.error or "")
