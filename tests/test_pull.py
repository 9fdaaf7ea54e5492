"""The pull step in the pipeline: cursor commit rule, incremental nights, isolation of failures,
freshness, and secrets kept out of everything written."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.formats import read_records
from flows.landing import landed_files
from flows.pipeline import read_cursors, run_pipeline, step_pull
from flows.pull import freshness, pull_source, since_groups
from flows.sources import SOURCES
from models.errors import PayloadInvalid
from models.raw import RawRecord
from models.settings import Settings, SourceConfig, load_settings
from tests.fakes.asana import FakeAsana, iso
from tests.fakes.base import Reply, running
from tests.fakes.fixtures import ASANA_TOKEN, asana_api, files_containing, source_toml, write_config

__all__ = ["asana_api"]  # the fixture, imported for pytest

NOW = datetime.now(UTC)
WS = "default"


def configure(home: Path, *tables: str) -> Settings:
    write_config(home.parent, *tables)
    return load_settings()


def asana_table(api: FakeAsana, name: str = "asana", **extra) -> str:
    fields = {"base_url": api.url, "scopes": {"1200": "Client onboarding"}, **extra}
    return source_toml(name, **fields)


@pytest.fixture
def asana_env(monkeypatch) -> None:
    monkeypatch.setenv("OPSPULSE_SOURCES__ASANA__TOKEN", ASANA_TOKEN)


def a_task(api: FakeAsana, days_ago: float, name: str = "Onboard Acme") -> str:
    """A task created `days_ago` and moved into Doing half a day later (or now, if sooner)."""
    created = datetime.now(UTC) - timedelta(days=days_ago)
    gid = api.add_task("1200", created, name=name)["gid"]
    moved = min(created + timedelta(days=0.5), datetime.now(UTC))
    api.add_story(
        gid, "section_changed", moved, old_section={"name": "To do"}, new_section={"name": "Doing"}
    )
    return gid


def modified_since(api: FakeAsana) -> list[str | None]:
    return [r.param("modified_since") for r in api.requests if r.path == "/tasks"]


def story_paths(api: FakeAsana) -> set[str]:
    return {r.path for r in api.requests if r.path.endswith("/stories")}


def sql(settings: Settings, query: str, params: list | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(settings.paths(WS).snapshot), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_a_crash_between_landing_and_load_refetches_from_the_committed_cursor(
    home, asana_api, asana_env
) -> None:
    settings = configure(home, asana_table(asana_api))
    first = a_task(asana_api, 5)
    run_pipeline(settings, WS)
    committed = read_cursors(settings, WS)["asana"]["1200"]
    # night 2 lands its pull, then the process dies before the load
    later = a_task(asana_api, 0, "Arrived after night 1")
    step_pull(settings, WS)
    assert read_cursors(settings, WS)["asana"]["1200"] == committed  # not advanced
    assert len(list(landed_files(settings.paths(WS).landing))) == 2
    # night 3 starts again from the committed cursor, never from the unloaded file's
    asana_api.requests.clear()
    summary = run_pipeline(settings, WS)
    assert modified_since(asana_api) == [iso(committed - timedelta(seconds=300))]
    assert len(summary.files) == 2  # the orphan landing file and night 3's
    assert read_cursors(settings, WS)["asana"]["1200"] > committed
    ids = {row[0] for row in sql(settings, "select case_id from events")}
    assert ids == {f"asana:task:{first}", f"asana:task:{later}"}
    assert sql(settings, "select count(*), count(distinct event_id) from events") == [(4, 4)]


def test_the_second_night_asks_only_for_what_changed(home, asana_api, asana_env) -> None:
    settings = configure(home, asana_table(asana_api))
    quiet, busy = a_task(asana_api, 9), a_task(asana_api, 8)
    run_pipeline(settings, WS)
    (first_since,) = modified_since(asana_api)  # a first pull goes back 365 days (and the overlap)
    expected = datetime.now(UTC) - timedelta(days=365, seconds=300)
    assert abs(datetime.fromisoformat(first_since) - expected) < timedelta(minutes=1)
    assert story_paths(asana_api) == {f"/tasks/{quiet}/stories", f"/tasks/{busy}/stories"}
    committed = read_cursors(settings, WS)["asana"]["1200"]
    done = asana_api.add_story(busy, "marked_complete", datetime.now(UTC))
    asana_api.requests.clear()
    summary = run_pipeline(settings, WS)
    assert modified_since(asana_api) == [iso(committed - timedelta(seconds=300))]
    assert story_paths(asana_api) == {f"/tasks/{busy}/stories"}
    assert summary.new == 1
    assert sql(
        settings, "select kind from events where event_id = ?", [sha(f"asana:story:{done['gid']}")]
    ) == [("completed",)]


def test_an_event_pulled_on_two_nights_is_stored_once(home, asana_api, asana_env) -> None:
    settings = configure(home, asana_table(asana_api))
    gid = a_task(asana_api, 3)
    # a comment made a minute ago falls inside the next night's 300 s overlap
    story = asana_api.add_story(
        gid, "comment_added", datetime.now(UTC) - timedelta(minutes=1), text="hi"
    )
    run_pipeline(settings, WS)
    asana_api.requests.clear()
    second = run_pipeline(settings, WS)
    assert f"/tasks/{gid}/stories" in story_paths(asana_api)  # fetched again
    assert second.loaded == 3 and second.new == 0
    key = f"asana:story:{story['gid']}"
    assert sql(settings, "select count(*) from events where event_id = ?", [sha(key)]) == [(1,)]
    assert sql(settings, "select count(*) from raw_events where external_id = ?", [key]) == [(1,)]
    assert sql(settings, "select count(*) from events") == [(3,)]


def test_a_failing_source_leaves_the_others_loaded_and_is_marked(
    home, asana_api, asana_env, cli, monkeypatch
) -> None:
    monkeypatch.setenv("BROKEN_TOKEN", ASANA_TOKEN)
    monkeypatch.setenv("REFUSED_TOKEN", "not-the-token-7c1d")
    broken, refused = FakeAsana(ASANA_TOKEN), FakeAsana(ASANA_TOKEN)
    for api in (broken, refused):
        api.add_project("1200", "Client onboarding")
    broken.fail(r"^/tasks$", 1, Reply(500, {"errors": [{"message": "Server Error"}]}), times=999)
    a_task(asana_api, 2)
    with running(broken), running(refused):
        settings = configure(
            home,
            asana_table(asana_api),
            asana_table(
                broken,
                "broken",
                type="asana",
                token_env="BROKEN_TOKEN",
                max_retries=1,
                max_wait_seconds=0.05,
            ),
            asana_table(refused, "refused", type="asana", token_env="REFUSED_TOKEN"),
        )
        first = run_pipeline(settings, WS)
        second = run_pipeline(settings, WS)
    outcomes = {s["source"]: s for s in first.sources}
    assert outcomes["asana"]["last_status"] == "ok" and outcomes["asana"]["freshness"] == "fresh"
    assert outcomes["broken"]["freshness"] == "stale" and "500" in outcomes["broken"]["last_error"]
    assert (
        outcomes["refused"]["freshness"] == "failing"
        and "REFUSED_TOKEN" in outcomes["refused"]["last_error"]
    )
    assert {s["source"]: s["freshness"] for s in second.sources} == {
        "asana": "fresh",
        "broken": "failing",
        "refused": "failing",
    }
    assert sql(settings, "select count(*) from events where source = 'asana'") == [(2,)]
    assert "| broken | failed | 0 | failing |" in second.markdown()
    listed = {row["name"]: row for row in cli("sources", "list", "--format", "json").json()}
    assert {n: r["freshness"] for n, r in listed.items()} == {
        "asana": "fresh",
        "broken": "failing",
        "refused": "failing",
    }
    assert listed["asana"]["last_success_at"] and listed["broken"]["last_success_at"] is None
    doctor = cli("doctor", "--format", "json")
    assert doctor.code == 1  # a failing source is an error
    rows = {r["check"]: r for r in doctor.json()}
    assert rows["source asana"]["status"] == "ok" and rows["source asana"]["detail"].startswith(
        "fresh"
    )
    assert (
        rows["source broken"]["status"] == "error"
        and "2 failed run(s) in a row" in rows["source broken"]["detail"]
    )


def test_no_token_reaches_landing_the_warehouse_logs_or_errors(
    home, asana_api, asana_env, caplog, monkeypatch
) -> None:
    wrong = "wrong-secret-token-93ab"
    monkeypatch.setenv("WRONG_TOKEN", wrong)
    a_task(asana_api, 1)
    asana_api.fail(r"/stories$", 1, Reply(500, {"errors": [{"message": "x"}]}))  # retried, fine
    caplog.set_level(logging.DEBUG)
    settings = configure(
        home,
        asana_table(asana_api),
        asana_table(asana_api, "again", type="asana", token_env="WRONG_TOKEN"),
    )
    summary = run_pipeline(settings, WS)
    failed = next(s for s in summary.sources if s["source"] == "again")
    assert failed["freshness"] == "failing" and "401" in failed["last_error"]
    assert summary.loaded == 2
    for secret in (ASANA_TOKEN, wrong):
        assert files_containing(home, secret) == []  # landing, warehouse, snapshot, data docs
        assert secret not in caplog.text
        assert secret not in summary.to_json() and secret not in summary.markdown()


def test_a_scope_added_later_is_pulled_from_its_start(home, asana_api, asana_env) -> None:
    settings = configure(home, asana_table(asana_api, start_date="2026-01-05"))
    a_task(asana_api, 4)
    run_pipeline(settings, WS)
    committed = read_cursors(settings, WS)["asana"]["1200"]
    asana_api.add_project("1300", "Sales")
    asana_api.requests.clear()
    scopes = {"1200": "Client onboarding", "1300": "Sales"}
    settings = configure(home, asana_table(asana_api, start_date="2026-01-05", scopes=scopes))
    run_pipeline(settings, WS)
    asked = {
        r.param("project"): r.param("modified_since")
        for r in asana_api.requests
        if r.path == "/tasks"
    }
    assert asked == {
        "1200": iso(committed - timedelta(seconds=300)),
        "1300": "2026-01-04T23:55:00.000Z",
    }
    assert set(read_cursors(settings, WS)["asana"]) == {"1200", "1300"}


def test_since_groups_and_freshness_rules() -> None:
    config = SourceConfig(scopes={"a": "A", "b": "B", "c": "C"}, overlap_seconds=60)
    cursor = datetime(2026, 11, 20, tzinfo=UTC)
    groups = since_groups(config, {"a": cursor, "b": cursor}, NOW)
    assert groups == [
        (NOW - timedelta(days=365, seconds=60), ["c"]),
        (cursor - timedelta(seconds=60), ["a", "b"]),
    ]
    now = datetime(2026, 11, 22, tzinfo=UTC)
    fresh = {
        "last_status": "ok",
        "consecutive_failures": 0,
        "last_success_at": now - timedelta(hours=35),
    }
    assert freshness(config, fresh, now) == "fresh"
    assert (
        freshness(config, {**fresh, "last_success_at": now - timedelta(hours=37)}, now) == "stale"
    )
    once = {**fresh, "last_status": "failed", "consecutive_failures": 1}
    assert freshness(config, once, now) == "fresh"  # one failure: data still fresh
    assert freshness(config, {**once, "consecutive_failures": 2}, now) == "failing"
    assert freshness(config, {**once, "last_auth_error": True}, now) == "failing"
    assert freshness(config, {}, now) == "never"


def test_a_missing_token_fails_that_source_with_the_variable_to_set(
    home, asana_api, monkeypatch
) -> None:
    monkeypatch.delenv("OPSPULSE_SOURCES__ASANA__TOKEN", raising=False)
    settings = configure(home, asana_table(asana_api))
    outcome = pull_source(settings, WS, "asana", {})
    assert outcome.status == "failed" and outcome.auth_error
    assert "OPSPULSE_SOURCES__ASANA__TOKEN" in (outcome.error or "")
    assert asana_api.requests == [] and list(landed_files(settings.paths(WS).landing)) == []


def test_a_workspace_source_uses_the_top_level_token_variable(home, asana_api, asana_env) -> None:
    table = asana_table(asana_api).replace("[sources.", "[workspace.shop.sources.")
    settings = configure(home, table)
    assert "shop" in settings.workspace
    assert pull_source(settings, "shop", "asana", {}).status == "ok"


def test_sources_check_says_what_each_token_sees(
    home, asana_api, asana_env, cli, monkeypatch
) -> None:
    monkeypatch.setenv("WRONG_TOKEN", "nope-nope")
    configure(
        home,
        asana_table(asana_api),
        asana_table(asana_api, "other", type="asana", token_env="WRONG_TOKEN"),
    )
    result = cli("sources", "check", "--format", "json")
    assert result.code == 1 and "1 source(s) failed: other" in result.err
    rows = {r["name"]: r for r in result.json()}
    assert rows["asana"] == {
        "name": "asana",
        "status": "ok",
        "detail": (
            "account: Mia Owner (mia@example.com); workspaces: Acme; "
            "scopes: project 1200 (Client onboarding) -> Client onboarding: ok"
        ),
    }
    assert rows["other"]["status"] == "failed" and "WRONG_TOKEN" in rows["other"]["detail"]
    assert "nope-nope" not in result.out + result.err
    listed = cli("sources", "list")
    assert listed.code == 0 and "never" in listed.out and asana_api.url in listed.out


def test_sources_commands_without_sources(home, cli) -> None:
    result = cli("sources", "check")
    assert result.code == 2 and "has no sources" in result.err
    result = cli("sources", "list", "--format", "json")
    assert result.code == 0 and result.json() == [] and "has no sources" in result.err


# -- the raw reader ----------------------------------------------------------------------------


class _TwoEvents:
    """A stand-in connector whose records each give two events (with an unknown key)."""

    name = "twofold"

    def normalize(self, record: RawRecord, config: SourceConfig):
        if record.payload.get("bad"):
            raise PayloadInvalid("the payload says it is bad")
        for kind in ("created", "commented"):
            yield {
                "event_id": f"{record.external_id}:{kind}",
                "source": "twofold",
                "kind": kind,
                "process": "P",
                "case_id": record.external_id,
                "stage": "backlog" if kind == "created" else None,
                "occurred_at": "2026-10-01T09:00:00.000Z",
                "extra": kind,
            }


def _raw_line(external_id: str, payload: dict, source: str = "twofold") -> str:
    record = RawRecord.of(source, "/things", external_id, payload, fetched_at=NOW)
    return record.model_dump_json()


def test_the_raw_reader_numbers_events_by_line_and_names_what_it_cannot_read(
    home, monkeypatch
) -> None:
    monkeypatch.setitem(SOURCES, "twofold", _TwoEvents())
    path = home.parent / "pull.ndjson"
    path.write_text(
        "\n".join(
            [
                _raw_line("t:1", {"ok": True}),
                "{not json",
                _raw_line("t:3", {"bad": True}),
                json.dumps({"source": "twofold"}),
                _raw_line("t:5", {}, source="nosuch"),
                "",
                _raw_line("t:7", {}),
            ]
        )
        + "\n"
    )
    records = list(read_records(path, "raw", None, 1 << 20, SourceConfig()))
    assert [(r.line, r.error is None) for r in records] == [
        (1, True),
        (1, True),
        (2, False),
        (3, False),
        (4, False),
        (5, False),
        (7, True),
        (7, True),
    ]
    reasons = {r.line: r.error for r in records if r.error}
    assert reasons[2].startswith("line is not a raw record")
    assert reasons[3] == "twofold could not read t:3: the payload says it is bad"
    assert "Field required" in reasons[4] and "nosuch" in reasons[5]
    assert json.loads(records[1].doc)["kind"] == "commented"


def test_a_raw_file_with_two_events_per_line_loads_both(home, monkeypatch) -> None:
    from flows.landing import land_raw

    monkeypatch.setitem(SOURCES, "twofold", _TwoEvents())
    settings = configure(home)
    records = [RawRecord.of("twofold", "/things", f"t:{i}", {}, fetched_at=NOW) for i in range(2)]
    land_raw(records, settings.paths(WS).landing, "twofold", ["x"], NOW, NOW)
    summary = run_pipeline(settings, WS)
    assert summary.loaded == 4 and summary.quarantined == 0
    got = sql(settings, "select event_id, line, attributes ->> 'extra' from events order by 1")
    assert got == [
        ("t:0:commented", 1, "commented"),
        ("t:0:created", 1, "created"),
        ("t:1:commented", 2, "commented"),
        ("t:1:created", 2, "created"),
    ]
    assert sql(
        settings, "select source, scope, landing_file like 'twofold/%' from source_cursors"
    ) == [("twofold", "x", True)]
    assert sql(settings, "select count(*) from raw_events") == [(2,)]


def test_a_pull_that_fails_midway_lands_nothing(home, asana_api, asana_env) -> None:
    settings = configure(home, asana_table(asana_api, max_retries=0))
    a_task(asana_api, 3)
    second = a_task(asana_api, 2)
    asana_api.fail(f"^/tasks/{second}/stories$", 1, Reply(200, b"<html>oops</html>"), times=9)
    outcome = pull_source(settings, WS, "asana", {})
    assert outcome.status == "failed" and not outcome.auth_error
    assert "not JSON" in (outcome.error or "")
    landing = settings.paths(WS).landing
    assert (
        list(landed_files(landing)) == [] and [p for p in landing.rglob("*") if p.is_file()] == []
    )
