"""The Asana connector against its fake (SOURCES.md §5 checklist) and its story mapping."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from flows.http import RetryPolicy
from flows.sources import asana, source_for
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError, SourceError
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.fakes.asana import FakeAsana
from tests.fakes.base import Reply, running

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
TOKEN = "asana-pat-0123456789abcdef"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def api():
    fake = FakeAsana(TOKEN)
    fake.add_project("1200", "Client onboarding")
    with running(fake):
        yield fake


def config(api: FakeAsana, **extra) -> SourceConfig:
    return SourceConfig(base_url=api.url, scopes={"1200": "Client onboarding"}, **extra)


def client(api: FakeAsana, token: str = TOKEN, timeout: float = 5.0) -> httpx.Client:
    return asana.make_client(config(api, timeout_seconds=timeout), SecretStr(token))


def pull(
    api: FakeAsana,
    since: datetime = T0 - timedelta(days=1),
    *,
    waits: list[float] | None = None,
    token: str = TOKEN,
    timeout: float = 5.0,
    retries: int = 3,
) -> list[RawRecord]:
    sink = waits if waits is not None else []
    rules = RetryPolicy(
        max_retries=retries, max_wait_seconds=30, backoff_base_seconds=0.01, sleep=sink.append
    )
    with client(api, token, timeout) as http:
        return list(asana.fetch(http, config(api), since, retry=rules))


def tasks_with_stories(api: FakeAsana, n: int, stories: int = 1) -> list[str]:
    gids = []
    for i in range(n):
        task = api.add_task("1200", T0 + timedelta(hours=i), name=f"Task {i}")
        for j in range(stories):
            api.add_story(
                task["gid"],
                "comment_added",
                T0 + timedelta(hours=i, minutes=j + 1),
                text=f"c{i}.{j}",
            )
        gids.append(task["gid"])
    return gids


def ids(records: list[RawRecord]) -> list[str]:
    return [r.external_id for r in records]


def listing(api: FakeAsana, path: str = "/tasks") -> list:
    return [r for r in api.requests if r.path == path]


def test_registered_and_resolved_by_type() -> None:
    assert source_for("agency_asana", SourceConfig(type="asana")) is asana


def test_pagination_follows_next_page_through_the_last_page(api, monkeypatch) -> None:
    monkeypatch.setattr(asana, "PAGE_SIZE", 2)
    gids = tasks_with_stories(api, 5, stories=3)
    records = pull(api)
    assert [r.external_id for r in records if ":task:" in r.external_id] == [
        f"asana:task:{g}" for g in gids
    ]
    assert len(records) == 5 + 15 and len(set(ids(records))) == 20
    pages = listing(api)
    assert [r.param("limit") for r in pages] == ["2", "2", "2"]
    assert pages[0].param("offset") is None and all(r.param("offset") for r in pages[1:])
    # stories paginate the same way: 3 stories -> two pages per task
    assert len(listing(api, f"/tasks/{gids[0]}/stories")) == 2
    # a story page asked for the fields normalize reads
    assert "new_section.name" in listing(api, f"/tasks/{gids[0]}/stories")[0].param("opt_fields")


def test_a_full_last_page_and_an_empty_page_end_the_listing(api, monkeypatch) -> None:
    monkeypatch.setattr(asana, "PAGE_SIZE", 2)
    api.eager_next = True  # a full page points at the next one even when it is empty
    tasks_with_stories(api, 4, stories=0)
    records = pull(api)
    assert len(records) == 4
    assert len(listing(api)) == 3  # 2 + 2 + an empty page with next_page null
    api.add_project("1300", "Empty")
    with client(api) as http:
        cfg = SourceConfig(base_url=api.url, scopes={"1300": "Empty"})
        assert list(asana.fetch(http, cfg, T0)) == []


def test_incremental_pull_asks_only_for_what_changed_including_the_boundary(api) -> None:
    old, edge, new = (
        api.add_task("1200", T0 + timedelta(days=d), name=f"t{d}")["gid"] for d in (0, 1, 2)
    )
    cursor = T0 + timedelta(days=1)  # `edge` was modified exactly at the cursor
    records = pull(api, since=cursor)
    assert ids(records) == [f"asana:task:{edge}", f"asana:task:{new}"]
    assert listing(api)[0].param("modified_since") == "2026-10-02T09:00:00.000Z"
    story_paths = {r.path for r in api.requests if r.path.endswith("/stories")}
    assert story_paths == {f"/tasks/{edge}/stories", f"/tasks/{new}/stories"}
    # a comment on the old task modifies it: the next pull sees it and nothing else
    api.requests.clear()
    story = api.add_story(old, "comment_added", T0 + timedelta(days=3), text="late note")
    records = pull(api, since=T0 + timedelta(days=2, hours=1))
    assert ids(records) == [f"asana:task:{old}", f"asana:story:{story['gid']}"]
    assert {r.path for r in api.requests} == {"/tasks", f"/tasks/{old}/stories"}


def test_429_waits_for_retry_after_then_resumes_the_same_page(api, monkeypatch) -> None:
    monkeypatch.setattr(asana, "PAGE_SIZE", 2)
    tasks_with_stories(api, 3, stories=0)
    api.fail(
        r"^/tasks$", 2, Reply(429, {"errors": [{"message": "Rate limited"}]}, {"Retry-After": "7"})
    )
    waits: list[float] = []
    assert len(pull(api, waits=waits)) == 3
    assert waits == [7.0]
    second, retried = listing(api)[1:3]
    assert second.param("offset") == retried.param("offset") is not None


def test_429_without_retry_after_waits_the_default_capped(api) -> None:
    tasks_with_stories(api, 1, stories=0)
    api.fail(r"^/tasks$", 1, Reply(429, {"errors": [{"message": "Rate limited"}]}))
    waits: list[float] = []
    assert len(pull(api, waits=waits)) == 1
    assert waits == [RetryPolicy().rate_limit_default_seconds]


def test_a_5xx_once_is_retried(api) -> None:
    gids = tasks_with_stories(api, 2)
    api.fail(r"/stories$", 1, Reply(503, {"errors": [{"message": "Service Unavailable"}]}))
    waits: list[float] = []
    assert len(pull(api, waits=waits)) == 4
    assert len(waits) == 1 and len(listing(api, f"/tasks/{gids[0]}/stories")) == 2


def test_repeated_5xx_fails_and_yields_nothing_past_it(api) -> None:
    _, second = tasks_with_stories(api, 2)
    api.fail(
        f"^/tasks/{second}/stories$",
        1,
        Reply(500, {"errors": [{"message": "Server Error"}]}),
        times=99,
    )
    got: list[RawRecord] = []
    with pytest.raises(RetriableSourceError, match="500"), client(api) as http:
        rules = RetryPolicy(max_retries=2, backoff_base_seconds=0.01, sleep=lambda s: None)
        got.extend(asana.fetch(http, config(api), T0 - timedelta(days=1), retry=rules))
    assert [r.external_id.split(":")[1] for r in got] == ["task", "story", "task"]
    assert len(listing(api, f"/tasks/{second}/stories")) == 3  # 1 try + 2 retries


def test_a_timeout_is_retried(api) -> None:
    tasks_with_stories(api, 1)
    api.fail(r"^/tasks$", 1, Reply(200, {"data": []}, delay=1.0))
    waits: list[float] = []
    assert len(pull(api, waits=waits, timeout=0.3)) == 2
    assert len(waits) == 1 and len(listing(api)) == 2


def test_401_is_fatal_names_the_setting_and_hides_the_token(api) -> None:
    tasks_with_stories(api, 1)
    wrong = "wrong-token-5f9e2c"
    with pytest.raises(FatalSourceError) as caught:
        pull(api, token=wrong)
    text = str(caught.value)
    assert "OPSPULSE_SOURCES__ASANA__TOKEN" in text and "401" in text
    assert wrong not in text and TOKEN not in text
    assert len(api.requests) == 1  # no retry


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b'{"data": [{"gid": "12'),  # truncated JSON
        Reply(200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}),
        Reply(200, {"errors": [{"message": "no data key"}]}),  # JSON, but not a page
    ],
)
def test_a_malformed_page_fails_the_pull_and_nothing_past_it_is_yielded(api, reply) -> None:
    first, second = tasks_with_stories(api, 2)
    api.fail(f"^/tasks/{second}/stories$", 1, reply, times=99)
    got: list[RawRecord] = []
    with pytest.raises(RetriableSourceError, match=f"/tasks/{second}/stories"), client(api) as http:
        rules = RetryPolicy(max_retries=1, backoff_base_seconds=0.01, sleep=lambda s: None)
        got.extend(asana.fetch(http, config(api), T0 - timedelta(days=1), retry=rules))
    assert ids(got)[0] == f"asana:task:{first}" and ids(got)[2:] == [f"asana:task:{second}"]
    assert ids(got)[1].startswith("asana:story:")  # the first task's story


def test_a_listing_that_changes_between_pages_loses_nothing_after_the_next_pull(
    api, monkeypatch
) -> None:
    monkeypatch.setattr(asana, "PAGE_SIZE", 2)
    gids = tasks_with_stories(api, 4)
    added: dict[str, str] = {}

    def change() -> None:  # between page 1 and page 2 of the task listing
        added["story"] = api.add_story(
            gids[0], "comment_added", T0 + timedelta(days=1), text="edit"
        )["gid"]
        added["task"] = api.add_task("1200", T0 + timedelta(days=1), name="inserted")["gid"]

    api.when(r"^/tasks$", 2, change)
    pull_started = T0 + timedelta(hours=12)  # the pull began before the change
    first = pull(api)
    second = pull(api, since=pull_started - timedelta(seconds=300))
    everything = {f"asana:task:{g}" for g in api.tasks} | {
        f"asana:story:{s['gid']}" for stories in api.stories.values() for s in stories
    }
    assert set(ids(first)) | set(ids(second)) == everything
    assert f"asana:task:{added['task']}" in ids(first)  # inserted at the end: not skipped
    assert f"asana:story:{added['story']}" in ids(second)  # changed behind the offset: next pull


def test_an_expired_offset_restarts_the_listing_once(api, monkeypatch) -> None:
    monkeypatch.setattr(asana, "PAGE_SIZE", 2)
    tasks_with_stories(api, 5, stories=0)
    api.when(r"^/tasks$", 2, api.expire_offsets)
    records = pull(api)
    assert len(records) == 5 == len(set(ids(records)))
    offsets = [r.param("offset") for r in listing(api)]
    assert offsets[0] is None and offsets[2] is None  # the second page failed: started over
    # expiring again after the restart fails the pull (no endless loop)
    api.when(r"^/tasks$", 2, api.expire_offsets)
    api.when(r"^/tasks$", 4, api.expire_offsets)
    with pytest.raises(FatalSourceError, match="400"):
        pull(api)


def test_the_token_appears_in_no_record_and_no_error(api) -> None:
    tasks_with_stories(api, 2, stories=2)
    records = pull(api)
    assert records and all(TOKEN not in r.model_dump_json() for r in records)
    api.fail(r"^/tasks$", 1, Reply(500, {"errors": [{"message": TOKEN[:4]}]}), times=99)
    for failing in (lambda: pull(api, retries=1), lambda: pull(api, token=TOKEN + "x")):
        with pytest.raises(SourceError) as caught:
            failing()
        assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value.args)


def test_check_names_the_account_and_what_it_can_see(api) -> None:
    cfg = SourceConfig(base_url=api.url, scopes={"1200": "Client onboarding", "1300": "Sales"})
    with asana.make_client(cfg, SecretStr(TOKEN)) as http:
        found = asana.check(http, cfg)
    assert found == {
        "account": "Mia Owner (mia@example.com); workspaces: Acme",
        "scopes": "project 1200 (Client onboarding) -> Client onboarding: ok; project 1300: not visible",
    }
    with asana.make_client(cfg, SecretStr("nope")) as http, pytest.raises(FatalSourceError):
        asana.check(http, cfg)


# -- normalize ------------------------------------------------------------------------------

CFG = SourceConfig(scopes={"1200": "Client onboarding"})


def story_record(payload: dict, task: str = "9001") -> RawRecord:
    return RawRecord.of(
        "asana",
        f"/tasks/{task}/stories",
        f"asana:story:{payload['gid']}",
        payload,
        fetched_at=T0,
        scope="1200",
    )


def events(payload: dict) -> list[dict]:
    return list(asana.normalize(story_record(payload), CFG))


def test_sources_md_example_stories_map_exactly() -> None:
    # SOURCES.md §2.1 example page, item by item
    moved = {
        "gid": "120111",
        "resource_subtype": "section_changed",
        "type": "system",
        "created_at": "2026-10-02T09:14:03.512Z",
        "created_by": {"gid": "501", "name": "Mia"},
        "old_section": {"gid": "77", "name": "Doing"},
        "new_section": {"gid": "78", "name": "Client review"},
    }
    done = {
        "gid": "120112",
        "resource_subtype": "marked_complete",
        "created_at": "2026-10-03T16:40:11.000Z",
    }
    assert events(moved) == [
        {
            "event_id": sha("asana:story:120111"),
            "source": "asana",
            "kind": "stage_changed",
            "process": "Client onboarding",
            "case_id": "asana:task:9001",
            "occurred_at": "2026-10-02T09:14:03.512Z",
            "actor": "Mia",
            "stage": "waiting_on_client",
            "original_status": "Client review",
            "attributes": {
                "task_gid": "9001",
                "project_gid": "1200",
                "story_gid": "120111",
                "resource_subtype": "section_changed",
                "status_from": "Doing",
            },
        }
    ]
    assert events(done) == [
        {
            "event_id": sha("asana:story:120112"),
            "source": "asana",
            "kind": "completed",
            "process": "Client onboarding",
            "case_id": "asana:task:9001",
            "occurred_at": "2026-10-03T16:40:11.000Z",
            "actor": None,
            "stage": "done",
            "attributes": {
                "task_gid": "9001",
                "project_gid": "1200",
                "story_gid": "120112",
                "resource_subtype": "marked_complete",
            },
        }
    ]


def test_a_task_record_is_its_created_event() -> None:
    task = {
        "gid": "9001",
        "name": "Onboard Acme",
        "created_at": "2026-10-01T09:00:00.000Z",
        "created_by": {"gid": "501", "name": "Mia"},
        "assignee": {"gid": "7", "name": "Sam"},
        "custom_fields": [{"name": "Client", "display_value": "client-042"}],
    }
    record = RawRecord.of("asana", "/tasks", "asana:task:9001", task, fetched_at=T0, scope="1200")
    assert list(asana.normalize(record, CFG)) == [
        {
            "event_id": sha("asana:task:9001"),
            "source": "asana",
            "kind": "created",
            "process": "Client onboarding",
            "case_id": "asana:task:9001",
            "occurred_at": "2026-10-01T09:00:00.000Z",
            "actor": "Mia",
            "case_title": "Onboard Acme",
            "client_id": "client-042",
            "attributes": {"task_gid": "9001", "project_gid": "1200"},
        }
    ]


def _story(subtype: str, **fields) -> dict:
    return {
        "gid": "7",
        "resource_subtype": subtype,
        "created_at": "2026-10-05T10:00:00.000Z",
        "created_by": {"name": "Sam"},
        **fields,
    }


@pytest.mark.parametrize(
    ("story", "expected"),
    [
        (
            _story("section_changed", old_section={"name": "Done"}, new_section={"name": "Doing"}),
            {"kind": "reopened", "stage": "active", "original_status": "Doing"},
        ),
        (
            _story(
                "section_changed", old_section={"name": "Doing"}, new_section={"name": "Won't do"}
            ),
            {"kind": "stage_changed", "stage": "cancelled", "original_status": "Won't do"},
        ),
        (
            _story(
                "section_changed", old_section={"name": "Review"}, new_section={"name": "Delivered"}
            ),
            {"kind": "completed", "stage": "done", "original_status": "Delivered"},
        ),
        (
            _story(
                "enum_custom_field_changed",
                custom_field={"name": "Status"},
                old_enum_value={"name": "In QA"},
                new_enum_value={"name": "Published"},
            ),
            {"kind": "completed", "stage": "done", "original_status": "Published"},
        ),
        (_story("marked_incomplete"), {"kind": "reopened", "stage": "active"}),
        (_story("marked_duplicate"), {"kind": "cancelled", "stage": "cancelled"}),
        (_story("assigned", assignee={"name": "Priya"}), {"kind": "assigned", "assignee": "Priya"}),
        (_story("reassigned", assignee={"name": "Lena"}), {"kind": "assigned", "assignee": "Lena"}),
        (_story("unassigned", assignee={"name": "Lena"}), {"kind": "assigned", "assignee": None}),
        (
            _story(
                "due_date_changed",
                new_dates={"due_at": "2026-10-09T17:00:00.000Z"},
                old_dates={"due_on": "2026-10-08"},
            ),
            {"kind": "due_changed", "due_at": "2026-10-09T17:00:00.000Z"},
        ),
        (
            _story("due_date_changed", new_dates={"due_on": "2026-10-10"}),
            {"kind": "due_changed", "due_at": "2026-10-10"},
        ),
        (
            _story("comment_added", text="Draft attached"),
            {"kind": "commented", "comment": "Draft attached"},
        ),
        (
            _story(
                "approval_status_changed",
                old_approval_status="pending",
                new_approval_status="changes_requested",
            ),
            {"kind": "stage_changed", "stage": "active", "original_status": "changes_requested"},
        ),
        (
            _story("approval_status_changed", new_approval_status="approved"),
            {"kind": "completed", "stage": "done", "original_status": "approved"},
        ),
    ],
)
def test_story_subtypes_map_to_one_event_each(story: dict, expected: dict) -> None:
    (event,) = events(story)
    assert {k: event.get(k) for k in expected} == expected
    assert event["actor"] == "Sam" and event["case_id"] == "asana:task:9001"
    assert event["event_id"] == sha("asana:story:7")


def test_stories_that_change_nothing_we_track_give_no_event() -> None:
    assert events(_story("liked")) == []
    assert events(_story("name_changed", text="renamed")) == []
    other_enum = _story(
        "enum_custom_field_changed",
        custom_field={"name": "Priority"},
        new_enum_value={"name": "High"},
    )
    assert events(other_enum) == []


def test_records_it_cannot_read_are_payload_invalid() -> None:
    with pytest.raises(PayloadInvalid, match="created_at"):
        events(
            {"gid": "8", "resource_subtype": "comment_added", "created_at": "2026-10-05T10:00:00"}
        )
    with pytest.raises(PayloadInvalid, match="new status"):
        events(_story("section_changed", old_section={"name": "Doing"}))
    with pytest.raises(PayloadInvalid, match="approval status"):
        events(_story("approval_status_changed", new_approval_status="maybe"))
    odd = RawRecord.of("asana", "/tasks", "asana:project:1", {"gid": "1"}, fetched_at=T0)
    with pytest.raises(PayloadInvalid):
        list(asana.normalize(odd, CFG))
