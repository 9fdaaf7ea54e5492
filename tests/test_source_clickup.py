"""ClickUp connector against a faithful local fake: SOURCES.md §5 checklist, normalize, secrecy."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from flows.sources import SOURCES, clickup
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.fakes.base import Reply, running
from tests.fakes.clickup import FakeClickUp, ms

LIST = "901"
BASE = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
TASKS = r"^/list/901/task$"


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def at(minutes: float) -> int:
    return ms(BASE + timedelta(minutes=minutes))


@pytest.fixture
def api() -> Iterator[FakeClickUp]:
    fake = FakeClickUp()
    fake.add_list(LIST, "Onboarding")
    with running(fake):
        yield fake


def config(api: FakeClickUp, **overrides: object) -> SourceConfig:
    values: dict[str, object] = {
        "base_url": api.url,
        "scopes": {LIST: "Client onboarding"},
        "timeout_seconds": 2.0,
        "max_retries": 3,
        "max_wait_seconds": 120.0,
    }
    values.update(overrides)
    return SourceConfig.model_validate(values)


def pull(
    api: FakeClickUp,
    since: datetime = EPOCH,
    cfg: SourceConfig | None = None,
    waits: list[float] | None = None,
    token: str | None = None,
    into: list[RawRecord] | None = None,
) -> list[RawRecord]:
    """Run one pull with a recording sleep; records land in `into` as they are yielded."""
    cfg = cfg or config(api)
    records = into if into is not None else []
    sleep = waits.append if waits is not None else (lambda _s: None)
    retry = replace(clickup.policy(cfg), sleep=sleep)
    with clickup.make_client(cfg, SecretStr(token or api.token)) as client:
        records.extend(clickup.fetch(client, cfg, since, retry=retry))
    return records


def events(records: list[RawRecord], cfg: SourceConfig) -> list[dict[str, object]]:
    return [e for r in records for e in clickup.normalize(r, cfg)]


def seed(api: FakeClickUp, count: int, start: float = 0) -> list[str]:
    return [api.add_task(LIST, f"Task {n}", at(start + n)) for n in range(count)]


def task_pages(api: FakeClickUp) -> list[str | None]:
    return [r.param("page") for r in api.requests if r.path == f"/list/{LIST}/task"]


# -- pagination ------------------------------------------------------------------------------


def test_pages_until_last_page_with_the_documented_parameters(api) -> None:
    seed(api, 250)
    records = pull(api)
    tasks = [r for r in records if r.external_id.startswith("clickup:task:")]
    assert len({r.external_id for r in tasks}) == len(tasks) == 250
    assert task_pages(api) == ["0", "1", "2"]
    first = next(r for r in api.requests if r.path == f"/list/{LIST}/task")
    assert first.param("include_closed") == "true" and first.param("subtasks") == "true"
    assert first.param("order_by") == "updated"
    assert first.headers["authorization"] == api.token  # personal token: no "Bearer"
    bulk = [r.query["task_ids"] for r in api.requests if "bulk_time_in_status" in r.path]
    assert [len(ids) for ids in bulk] == [100, 100, 50]
    assert {r.external_id for r in records if "time_in_status" in r.external_id} == {
        f"clickup:time_in_status:{r.payload['id']}" for r in tasks
    }
    assert all(r.scope == LIST and r.endpoint == f"/list/{LIST}/task" for r in tasks)


def test_an_empty_list_costs_one_request_and_an_empty_page_ends_paging(api) -> None:
    assert pull(api) == []
    assert task_pages(api) == ["0"]
    seed(api, 100)
    api.requests.clear()
    # A page that is full but not marked last, followed by an empty page.
    api.fail(
        TASKS,
        1,
        Reply(200, {"tasks": [api.tasks[t] for t in list(api.tasks)[:100]], "last_page": False}),
    )
    api.fail(TASKS, 2, Reply(200, {"tasks": [], "last_page": False}))
    records = pull(api)
    assert task_pages(api) == ["0", "1"]
    assert len([r for r in records if r.external_id.startswith("clickup:task:")]) == 100


def test_comments_page_25_at_a_time_with_start_and_start_id(api) -> None:
    task = api.add_task(LIST, "Chatty", at(0))
    made = [api.add_comment(task, f"note {n}", at(1 + n)) for n in range(60)]
    records = pull(api)
    comments = [r for r in records if r.external_id.startswith("clickup:comment:")]
    assert [r.payload["id"] for r in comments] == made[::-1]  # newest first, none twice
    asked = [r for r in api.requests if r.path == f"/task/{task}/comment"]
    assert len(asked) == 3 and asked[0].param("start") is None
    # One changed task: its history comes from the single-task endpoint (bulk wants two ids).
    assert [r.path for r in api.requests if "time_in_status" in r.path] == [
        f"/task/{task}/time_in_status"
    ]
    assert sum(r.external_id == f"clickup:time_in_status:{task}" for r in records) == 1
    assert (asked[1].param("start"), asked[1].param("start_id")) == (str(at(36)), made[35])
    assert (asked[2].param("start"), asked[2].param("start_id")) == (str(at(11)), made[10])


# -- incremental cursor ------------------------------------------------------------------------


def test_a_second_pull_asks_only_for_what_changed_including_the_boundary(api) -> None:
    before, boundary, after = (api.add_task(LIST, n, at(i)) for i, n in enumerate("abc"))
    api.add_comment(before, "old", at(0.5))
    cursor = BASE + timedelta(minutes=1)  # exactly when `boundary` was last updated
    api.tasks[before]["date_updated"] = str(at(0.5))
    first = pull(api)
    assert {r.payload["id"] for r in first if r.external_id.startswith("clickup:task:")} == {
        before,
        boundary,
        after,
    }
    api.requests.clear()
    second = pull(api, since=cursor)
    asked = next(r for r in api.requests if r.path == f"/list/{LIST}/task")
    assert asked.param("date_updated_gt") == str(ms(cursor) - 1)
    assert {r.payload["id"] for r in second if r.external_id.startswith("clickup:task:")} == {
        boundary,
        after,
    }
    assert not any(r.path == f"/task/{before}/comment" for r in api.requests)
    assert [r.query["task_ids"] for r in api.requests if "bulk" in r.path] == [[after, boundary]]


def test_comment_paging_stops_at_the_cursor(api) -> None:
    task = api.add_task(LIST, "Chatty", at(0))
    for n in range(60):
        api.add_comment(task, f"note {n}", at(1 + n))
    records = pull(api, since=BASE + timedelta(minutes=50))  # comments 49..59 are new
    comments = [r for r in records if r.external_id.startswith("clickup:comment:")]
    assert [int(r.payload["date"]) for r in comments] == [at(1 + n) for n in range(59, 48, -1)]
    assert len([r for r in api.requests if r.path == f"/task/{task}/comment"]) == 1


# -- rate limits and failures ----------------------------------------------------------------


def test_429_waits_until_the_reset_time_and_resumes_the_same_page(api) -> None:
    seed(api, 150)
    reset = int(time.time()) + 30
    headers = {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    api.fail(TASKS, 2, Reply(429, {"err": "Rate limit reached", "ECODE": "APP_002"}, headers))
    waits: list[float] = []
    records = pull(api, waits=waits)
    assert len(waits) == 1 and 27 <= waits[0] <= 30
    assert task_pages(api) == ["0", "1", "1"]
    assert len([r for r in records if r.external_id.startswith("clickup:task:")]) == 150


def test_429_without_a_reset_header_waits_the_one_minute_window_capped(api) -> None:
    seed(api, 3)
    api.fail(TASKS, 1, Reply(429, {"err": "Rate limit reached", "ECODE": "APP_002"}))
    waits: list[float] = []
    pull(api, waits=waits)
    assert waits == [60.0]
    api.fail(TASKS, 1, Reply(429, {"err": "Rate limit reached", "ECODE": "APP_002"}))
    waits.clear()
    pull(api, cfg=config(api, max_wait_seconds=5.0), waits=waits)
    assert waits == [5.0]


def test_a_5xx_once_is_retried_then_succeeds(api) -> None:
    seed(api, 5)
    api.fail(
        r"bulk_time_in_status",
        1,
        Reply(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}),
    )
    waits: list[float] = []
    records = pull(api, waits=waits)
    assert len(waits) == 1
    assert len([r for r in records if "time_in_status" in r.external_id]) == 5


def test_repeated_5xx_fails_the_pull_with_a_retriable_error(api) -> None:
    seed(api, 5)
    api.fail(TASKS, 1, Reply(500, {"err": "Internal error"}), times=10)
    with pytest.raises(RetriableSourceError, match="500"):
        pull(api, cfg=config(api, max_retries=2))
    assert len(task_pages(api)) == 3


def test_a_timeout_is_retried(api) -> None:
    seed(api, 5)
    api.fail(TASKS, 1, Reply(200, {"tasks": [], "last_page": True}, delay=1.0))
    waits: list[float] = []
    records = pull(api, cfg=config(api, timeout_seconds=0.25), waits=waits)
    assert len(waits) == 1 and len(task_pages(api)) == 2
    assert len([r for r in records if r.external_id.startswith("clickup:task:")]) == 5


def test_401_is_fatal_names_the_setting_and_never_the_token(api) -> None:
    seed(api, 2)
    wrong = "pk_183_WRONGTOKEN987654321"
    with pytest.raises(FatalSourceError) as raised:
        pull(api, token=wrong)
    message = str(raised.value)
    assert "OPSPULSE_SOURCES__CLICKUP__TOKEN" in message and "401" in message
    assert wrong not in message and api.token not in message
    assert len(api.requests) == 1  # no retry on bad credentials


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b'{"tasks": [{"id": "86c0', {}),
        Reply(200, b"<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}),
    ],
    ids=["truncated", "html"],
)
def test_malformed_json_stops_the_pull_and_nothing_past_it_is_yielded(api, reply) -> None:
    seed(api, 150)
    api.fail(TASKS, 2, reply, times=10)
    got: list[RawRecord] = []
    with pytest.raises(RetriableSourceError, match="not JSON"):
        pull(api, cfg=config(api, max_retries=1), into=got)
    assert len(got) == 100 and all(r.external_id.startswith("clickup:task:") for r in got)
    assert not any("bulk" in r.path or "comment" in r.path for r in api.requests)


def test_a_page_that_changes_between_calls_loses_nothing_after_dedup(api) -> None:
    ids = seed(api, 150)
    moved = ids[20]  # on page 1 (newest first), moves to the top of page 0 mid-pull
    late = BASE + timedelta(days=10)
    added: list[str] = []

    def edit() -> None:
        api.set_status(moved, "in progress", ms(late))
        added.append(api.add_task(LIST, "Inserted", ms(late) + 1))

    api.after(TASKS, 1, edit)
    cfg = config(api)
    first = pull(api)
    second = pull(api, since=late - timedelta(minutes=5))  # next night: cursor minus overlap
    tasks = [r.payload["id"] for r in first if r.external_id.startswith("clickup:task:")]
    assert moved not in tasks and len(tasks) == 151  # two shifted repeats, the moved task missed
    merged: dict[str, dict[str, object]] = {}
    for event in events(first + second, cfg):
        merged[str(event["event_id"])] = event  # the warehouse upsert: last version wins
    fresh = {str(e["event_id"]): e for e in events(pull(api), cfg)}
    assert merged == fresh
    assert {e["case_id"] for e in fresh.values()} == {f"clickup:task:{t}" for t in ids + added}


# -- normalize ---------------------------------------------------------------------------------

SOURCES_EXAMPLE = {
    "status_history": [
        {
            "status": "to do",
            "type": "open",
            "orderindex": 0,
            "total_time": {"by_minute": 1440, "since": "1727800000000"},
        },
        {
            "status": "in review",
            "type": "custom",
            "orderindex": 2,
            "total_time": {"by_minute": 95, "since": "1727970011132"},
        },
    ]
}
NULLS = dict.fromkeys(
    [
        "actor",
        "assignee",
        "due_at",
        "client_id",
        "template",
        "case_title",
        "comment",
        "public",
        "scale",
        "score",
    ]
)


def _record(external_id: str, payload: object, endpoint: str) -> RawRecord:
    return RawRecord.of(
        "clickup", endpoint, external_id, payload, fetched_at=BASE, scope=LIST, params={}
    )


def test_normalize_the_sources_md_status_history_example() -> None:
    cfg = SourceConfig(scopes={LIST: "Client onboarding"})
    record = _record(
        "clickup:time_in_status:86abc12", {"86abc12": SOURCES_EXAMPLE}, clickup.BULK_STATUS_PATH
    )
    common = {
        "source": "clickup",
        "process": "Client onboarding",
        "case_id": "clickup:task:86abc12",
        **NULLS,
    }
    assert list(clickup.normalize(record, cfg)) == [
        {
            **common,
            "event_id": _sha("clickup:86abc12:status:to do:1727800000000"),
            "kind": "stage_changed",
            "occurred_at": "2024-10-01T16:26:40.000Z",
            "stage": "backlog",
            "original_status": "to do",
            "attributes": {
                "case_type": "task",
                "ingest_path": "pull",
                "task_id": "86abc12",
                "status_type": "open",
            },
        },
        {
            **common,
            "event_id": _sha("clickup:86abc12:status:in review:1727970011132"),
            "kind": "stage_changed",
            "occurred_at": "2024-10-03T15:40:11.132Z",
            "stage": "review",
            "original_status": "in review",
            "attributes": {
                "case_type": "task",
                "ingest_path": "pull",
                "task_id": "86abc12",
                "status_type": "custom",
                "status_from": "to do",
            },
        },
    ]


def test_normalize_completion_reopen_and_a_folded_re_entry() -> None:
    history = {
        "current_status": {
            "status": "complete",
            "total_time": {"by_minute": 3, "since": "1728000300000"},
        },
        "status_history": [
            {
                "status": "complete",
                "type": "closed",
                "orderindex": 4,
                "total_time": {"by_minute": 60, "since": "1728000100000"},
            },
            {
                "status": "to do",
                "type": "open",
                "orderindex": 0,
                "total_time": {"by_minute": 9, "since": "1728000000000"},
            },
            {
                "status": "in progress",
                "type": "custom",
                "orderindex": 1,
                "total_time": {"by_minute": 9, "since": "1728000200000"},
            },
            {
                "status": "Cancelled",
                "type": "closed",
                "orderindex": 5,
                "total_time": {"by_minute": 1, "since": "1728000250000"},
            },
        ],
    }
    # ClickUp folds revisits into one row per status; `current_status` says "complete" was
    # entered again after the rows' last entry, so that re-entry is an event of its own.
    record = _record("clickup:time_in_status:t1", {"t1": history}, clickup.BULK_STATUS_PATH)
    got = [
        (e["kind"], e["stage"], e["original_status"])
        for e in clickup.normalize(record, SourceConfig())
    ]
    assert got == [
        ("stage_changed", "backlog", "to do"),
        ("completed", "done", "complete"),
        ("reopened", "active", "in progress"),
        ("stage_changed", "cancelled", "Cancelled"),
        ("completed", "done", "complete"),
    ]


def test_normalize_a_history_with_only_the_current_status() -> None:
    history = {
        "current_status": {"status": "in progress", "total_time": {"since": "1728000000000"}}
    }
    record = _record("clickup:time_in_status:t2", {"t2": history}, "/task/t2/time_in_status")
    (event,) = clickup.normalize(record, SourceConfig())
    assert (event["kind"], event["stage"], event["occurred_at"]) == (
        "stage_changed",
        "active",
        "2024-10-04T00:00:00.000Z",
    )


def test_normalize_a_task_and_a_comment() -> None:
    cfg = SourceConfig(scopes={LIST: ""}, default_process="Delivery")
    task = {
        "id": "86abc12",
        "custom_id": None,
        "name": "Kick-off call",
        "date_created": "1727800000000",
        "date_updated": "1727970011132",
        "status": {"status": "in review", "type": "custom"},
        "creator": {"id": 183, "username": "Sam"},
        "assignees": [{"id": 7, "username": "Mia"}],
        "due_date": "1728057600000",
        "parent": None,
        "list": {"id": LIST, "name": "Onboarding"},
        "unknown_vendor_field": {"ignored": True},
    }
    record = _record("clickup:task:86abc12", task, f"/list/{LIST}/task")
    assert list(clickup.normalize(record, cfg)) == [
        {
            **NULLS,
            "event_id": _sha("clickup:task:86abc12"),
            "source": "clickup",
            "kind": "created",
            "process": "Delivery",
            "case_id": "clickup:task:86abc12",
            "occurred_at": "2024-10-01T16:26:40.000Z",
            "stage": None,
            "original_status": None,
            "actor": "Sam",
            "assignee": "Mia",
            "due_at": "2024-10-04T16:00:00.000Z",
            "case_title": "Kick-off call",
            "attributes": {
                "case_type": "task",
                "ingest_path": "pull",
                "task_id": "86abc12",
                "list_id": LIST,
                "actor_id": 183,
            },
        }
    ]
    comment = {
        "id": "458",
        "comment_text": "Sent the welcome pack",
        "date": "1727970011132",
        "user": {"id": 183, "username": "Sam"},
        "comment": [{"text": "Sent the welcome pack"}],
    }
    record = _record("clickup:comment:458", comment, "/task/86abc12/comment")
    assert list(clickup.normalize(record, cfg)) == [
        {
            **NULLS,
            "event_id": _sha("clickup:comment:458"),
            "source": "clickup",
            "kind": "commented",
            "process": "Delivery",
            "case_id": "clickup:task:86abc12",
            "occurred_at": "2024-10-03T15:40:11.132Z",
            "stage": None,
            "original_status": None,
            "actor": "Sam",
            "comment": "Sent the welcome pack",
            "attributes": {
                "case_type": "task",
                "ingest_path": "pull",
                "task_id": "86abc12",
                "comment_id": "458",
                "actor_id": 183,
            },
        }
    ]


@pytest.mark.parametrize(
    ("external_id", "payload", "endpoint", "reason"),
    [
        ("clickup:task:1", {"id": "1"}, "/list/901/task", "date_created"),
        ("clickup:task:1", ["not", "an", "object"], "/list/901/task", "JSON object"),
        ("clickup:time_in_status:1", {"1": {}, "2": {}}, clickup.BULK_STATUS_PATH, "task_id"),
        (
            "clickup:time_in_status:1",
            {"1": {"status_history": [{"status": "x"}]}},
            clickup.BULK_STATUS_PATH,
            "total_time",
        ),
        ("clickup:comment:9", {"id": "9", "date": "soon"}, "/task/1/comment", "date"),
        ("clickup:comment:9", {"id": "9", "date": "1"}, "/list/901/task", "not a task's comments"),
        ("clickup:webhook:1", {}, "/x", "no known kind"),
    ],
)
def test_normalize_rejects_what_it_cannot_read(external_id, payload, endpoint, reason) -> None:
    with pytest.raises(PayloadInvalid, match=reason):
        list(clickup.normalize(_record(external_id, payload, endpoint), SourceConfig()))


def test_status_stage_rules() -> None:
    from flows.sources.clickup.events import task_stage

    assert task_stage("Backlog", "open") == "backlog"
    assert task_stage("Waiting on client", "custom") == "waiting_on_client"
    assert task_stage("Doing", "custom") == "active"
    assert task_stage("Shipped", "done") == "done"
    assert task_stage("Won't do", "closed") == "cancelled"


# -- the whole surface, check and secrecy ------------------------------------------------------


def test_pulled_records_normalize_into_cases_that_follow_the_tasks(api) -> None:
    task = api.add_task(LIST, "Onboard Acme", at(0), assignees=("Mia",))
    api.set_status(task, "in progress", at(60))
    api.add_comment(task, "Call booked", at(61), user="Mia")
    api.set_status(task, "complete", at(120))
    cfg = config(api)
    got = events(pull(api), cfg)
    assert [(e["kind"], e["stage"], e["occurred_at"]) for e in got] == [
        ("created", None, "2026-10-01T09:00:00.000Z"),
        ("stage_changed", "backlog", "2026-10-01T09:00:00.000Z"),
        ("stage_changed", "active", "2026-10-01T10:00:00.000Z"),
        ("completed", "done", "2026-10-01T11:00:00.000Z"),
        ("commented", None, "2026-10-01T10:01:00.000Z"),
    ]
    assert {e["case_id"] for e in got} == {f"clickup:task:{task}"}
    assert {e["process"] for e in got} == {"Client onboarding"}
    assert SOURCES["clickup"] is clickup


def test_check_reports_the_account_and_which_lists_it_can_see(api) -> None:
    cfg = config(api, scopes={LIST: "Client onboarding", "999": "Other"})
    with clickup.make_client(cfg, SecretStr(api.token)) as client:
        report = clickup.check(client, cfg)
    assert report["account"] == "Sam (user 183)"
    assert "list 901 (Onboarding, process Client onboarding): ok" in report["scopes"]
    assert "to do -> backlog" in report["scopes"] and "complete -> done" in report["scopes"]
    assert "list 999: not visible (401)" in report["scopes"]
    with (
        clickup.make_client(cfg, SecretStr("pk_bad")) as client,
        pytest.raises(FatalSourceError, match="CLICKUP__TOKEN"),
    ):
        clickup.check(client, cfg)


def test_the_token_never_appears_in_records_errors_or_logs(api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    task = api.add_task(LIST, "Secret stuff", at(0))
    api.add_comment(task, "hello", at(1))
    cfg = config(api)
    records = pull(api)
    assert {r.external_id.split(":")[1] for r in records} == {"task", "time_in_status", "comment"}
    texts = [r.model_dump_json() for r in records]
    texts += [str(e) for e in events(records, cfg)]
    for status in (401, 500):
        api.fail(TASKS, 1, Reply(status, {"err": "nope"}), times=10)
        with pytest.raises((FatalSourceError, RetriableSourceError)) as raised:
            pull(api, cfg=config(api, max_retries=1))
        texts += [str(raised.value), repr(raised.value), str(raised.value.__cause__)]
        api.faults.clear()
    texts.append(caplog.text)
    assert caplog.text  # httpx did log the requests
    for text in texts:
        assert api.token not in text
