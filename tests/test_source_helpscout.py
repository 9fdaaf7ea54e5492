"""Help Scout connector against a local fake (SOURCES.md §5 checklist) and its normalizer."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from flows.sources import SOURCES, helpscout
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.fakes.base import Reply, running
from tests.fakes.helpscout import HelpScoutFake

TOKEN = "hs_personal_token"
SECRET = "hs_app_secret"
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
LIST = r"^/v2/conversations$"


@pytest.fixture
def api() -> Iterator[HelpScoutFake]:
    fake = HelpScoutFake(TOKEN, app_secret=SECRET, page_size=2, thread_page_size=2)
    with running(fake):
        yield fake


def _config(api: HelpScoutFake, **extra) -> SourceConfig:
    values = {
        "base_url": api.url, "scopes": {"*": "Support"}, "timeout_seconds": 0.5,
        "max_retries": 2, "max_wait_seconds": 30.0, **extra,
    }  # fmt: skip
    return SourceConfig(**values)


def _pull(api, config=None, since=SINCE, token=TOKEN, sleeps=None):
    config = config or _config(api)
    waits = [] if sleeps is None else sleeps
    retry = dataclasses.replace(helpscout.policy(config), sleep=waits.append)
    with helpscout.make_client(config, SecretStr(token)) as client:
        return list(helpscout.fetch(client, config, since, retry=retry))


def _day(n: int, minute: int = 0) -> str:
    return f"2026-10-{n:02d}T09:{minute:02d}:00Z"


def _seed(api: HelpScoutFake, n: int) -> list[int]:
    ids = []
    for i in range(n):
        api.open(2000 + i, _day(2 + i))
        ids.append(2000 + i)
    return ids


def _conversation_ids(records: list[RawRecord]) -> list[int]:
    return [r.payload["id"] for r in records if r.external_id.startswith("helpscout:conversation:")]


def _list_pages(api: HelpScoutFake) -> list[dict]:
    keys = ("status", "modifiedSince", "sortField", "sortOrder", "page", "mailbox")
    return [{k: r.param(k) for k in keys} for r in api.requests if r.path == "/v2/conversations"]


def test_registered_as_a_source() -> None:
    assert SOURCES["helpscout"] is helpscout


def test_conversations_page_until_the_last_page_newest_first(api) -> None:
    ids = _seed(api, 5)
    records = _pull(api)
    assert _conversation_ids(records) == list(reversed(ids))
    pages = _list_pages(api)
    assert [p["page"] for p in pages] == ["1", "2", "3"]
    assert pages[0] == {"status": "all", "modifiedSince": "2026-10-01T00:00:00Z",
                        "sortField": "modifiedAt", "sortOrder": "desc", "page": "1", "mailbox": None}  # fmt: skip


def test_an_empty_list_is_one_request(api) -> None:
    assert _pull(api) == []
    assert len(api.requests) == 1


def test_threads_are_paged_and_landed_oldest_first_with_their_context(api) -> None:
    api.open(2000, _day(2))
    api.add_thread(2000, _day(2, 5), "message", "pending", body="Shipped today", assign=11)
    api.add_thread(2000, _day(2, 6), "note", body="Check the courier")
    api.add_thread(2000, _day(3), "customer", "active", body="Not here yet", by_customer=True)
    api.add_thread(2000, _day(4), "lineitem", "closed")
    records = _pull(api)
    threads = [r for r in records if r.external_id.startswith("helpscout:thread:")]
    assert [r.payload["type"] for r in threads] == [
        "customer",
        "message",
        "note",
        "customer",
        "lineitem",
    ]
    assert [r.params["status_before"] for r in threads] == [
        None,
        "active",
        "pending",
        "pending",
        "active",
    ]
    assert [r.params["assignee_before"] for r in threads] == [None, None, "11", "11", "11"]
    thread_pages = [r.param("page") for r in api.requests if r.path.endswith("/threads")]
    assert thread_pages == ["1", "2", "3"]


def test_second_pull_asks_from_its_cursor_and_reads_only_changed_conversations(api) -> None:
    _seed(api, 3)
    _pull(api)
    api.add_thread(2001, _day(9), "message", "closed", body="Done")
    api.requests.clear()
    records = _pull(api, since=datetime(2026, 10, 9, 9, 0, tzinfo=UTC))
    assert _conversation_ids(records) == [2001]  # modified exactly at the cursor: kept
    assert [p["modifiedSince"] for p in _list_pages(api)] == ["2026-10-09T09:00:00Z"]
    assert [r.path for r in api.requests if r.path.endswith("/threads")] == [
        "/v2/conversations/2001/threads"
    ]


def test_mailbox_scopes_are_pulled_one_by_one(api) -> None:
    api.open(2000, _day(2), mailbox=85)
    api.open(2001, _day(3), mailbox=86)
    records = _pull(api, _config(api, scopes={"86": "Sales", "87": "Gone"}))
    assert _conversation_ids(records) == [2001]
    assert {r.scope for r in records} == {"86"}
    assert [p["mailbox"] for p in _list_pages(api)] == ["86", "87"]


@pytest.mark.parametrize(("headers", "wait"), [({"X-RateLimit-Retry-After": "4"}, 4.0), ({}, 10.0)])
def test_429_waits_as_told_or_a_default_then_resumes_the_same_page(api, headers, wait) -> None:
    _seed(api, 3)
    api.fail(LIST, 2, Reply(429, {"message": "Too many requests"}, headers))
    sleeps: list[float] = []
    records = _pull(api, sleeps=sleeps)
    assert len(_conversation_ids(records)) == 3
    assert sleeps == [wait]
    assert [p["page"] for p in _list_pages(api)] == ["1", "2", "2"]


def test_a_5xx_once_is_retried(api) -> None:
    _seed(api, 1)
    api.fail(r"/threads$", 1, Reply(502, b"Bad gateway"))
    assert len(_pull(api)) == 2


def test_repeated_5xx_fails_retriably(api) -> None:
    _seed(api, 3)
    api.fail(LIST, 2, Reply(503, {"message": "down"}), times=10)
    got = []
    with pytest.raises(RetriableSourceError) as info:
        config = _config(api)
        retry = dataclasses.replace(helpscout.policy(config), sleep=lambda s: None)
        with helpscout.make_client(config, SecretStr(TOKEN)) as client:
            got.extend(helpscout.fetch(client, config, SINCE, retry=retry))
    assert info.value.status == 503
    assert _conversation_ids(got) == [2002, 2001]  # the first page only


def test_a_timeout_is_retried(api) -> None:
    _seed(api, 1)
    api.fail(LIST, 1, Reply(200, {"_embedded": {"conversations": []}}, delay=1.5))
    assert _conversation_ids(_pull(api)) == [2000]


def test_401_with_a_plain_token_is_fatal_at_once(api) -> None:
    _seed(api, 1)
    with pytest.raises(FatalSourceError) as info:
        _pull(api, token="hs_wrong_token")
    assert info.value.status == 401
    assert "OPSPULSE_SOURCES__HELPSCOUT__TOKEN" in str(info.value)
    assert "hs_wrong_token" not in str(info.value)
    assert len(api.requests) == 1


def test_an_app_gets_one_bearer_and_refreshes_it_once_when_it_expires(api) -> None:
    _seed(api, 3)
    config = _config(api, options={"app_id": api.app_id})
    api.between_calls(LIST, 2, api.expire_tokens)
    records = _pull(api, config, token=SECRET)
    assert len(_conversation_ids(records)) == 3
    token_calls = [r for r in api.requests if r.path == "/v2/oauth2/token"]
    assert len(token_calls) == 2  # the first request, then once after the 401
    statuses = [r.path for r in api.requests]
    assert statuses.count("/v2/conversations") == 3  # page 2 was asked twice: 401, then 200


def test_an_app_whose_bearer_keeps_failing_refreshes_once_then_fails(api) -> None:
    _seed(api, 1)
    config = _config(api, options={"app_id": api.app_id})
    api.fail(LIST, 1, Reply(401, {"error": "invalid_token"}), times=5)
    with pytest.raises(FatalSourceError) as info:
        _pull(api, config, token=SECRET)
    assert info.value.status == 401
    assert [r.path for r in api.requests] == [
        "/v2/oauth2/token", "/v2/conversations", "/v2/oauth2/token", "/v2/conversations",
    ]  # fmt: skip


def test_a_wrong_app_secret_is_fatal_and_never_shown(api) -> None:
    config = _config(api, options={"app_id": api.app_id})
    with pytest.raises(FatalSourceError) as info:
        _pull(api, config, token="hs_wrong_secret")
    assert "OPSPULSE_SOURCES__HELPSCOUT__TOKEN" in str(info.value)
    assert "hs_wrong_secret" not in str(info.value)
    assert [r.path for r in api.requests] == ["/v2/oauth2/token"]


@pytest.mark.parametrize(
    "body", [b'{"_embedded": {"conversations": [{"id": 2', b"<html>Oops</html>"]
)
def test_malformed_json_stops_the_pull_after_the_good_pages(api, body) -> None:
    _seed(api, 3)
    api.fail(LIST, 2, Reply(200, body, {"Content-Type": "text/html"}), times=10)
    got = []
    with pytest.raises(RetriableSourceError, match="not JSON"):
        config = _config(api)
        retry = dataclasses.replace(helpscout.policy(config), sleep=lambda s: None)
        with helpscout.make_client(config, SecretStr(TOKEN)) as client:
            got.extend(helpscout.fetch(client, config, SINCE, retry=retry))
    assert _conversation_ids(got) == [2002, 2001]


def test_conversations_changing_between_pages_are_read_now_or_next_night(api) -> None:
    _seed(api, 5)
    # Between pages 1 and 2: replies on the oldest and the newest conversation (one of them
    # already read whichever way the list is sorted) and a new conversation.
    api.between_calls(LIST, 2, lambda: (
        api.add_thread(2000, _day(20), "message", "pending", body="On it"),
        api.add_thread(2004, _day(20, 1), "message", "pending", body="On it too"),
        api.open(2009, _day(21)),
    ))  # fmt: skip
    seen = _conversation_ids(_pull(api))
    assert len(seen) == len(set(seen))  # a conversation pushed onto the next page lands once
    assert {2001, 2002, 2003} <= set(seen)  # nothing left untouched is skipped
    again = _conversation_ids(_pull(api, since=datetime(2026, 10, 20, 9, 0, tzinfo=UTC)))
    assert {2000, 2004, 2009} <= set(again)  # what changed mid-pull, the next night's overlap has


def test_a_thread_arriving_between_thread_pages_is_read_once_now_or_next_night(api) -> None:
    api.open(2000, _day(2))
    for minute in (1, 2, 3):
        api.add_thread(2000, _day(2, minute), "message", body=f"reply {minute}")
    late: list[dict] = []
    api.between_calls(
        r"/threads$", 2, lambda: late.append(api.add_thread(2000, _day(2, 9), "note", body="late"))
    )
    threads = [r for r in _pull(api) if r.external_id.startswith("helpscout:thread:")]
    # Newest first: the late reply lands on page 1, already read, and pushes one thread onto
    # page 2 again; that repeat is landed once, and nothing older is lost.
    assert len(threads) == len({r.external_id for r in threads}) == 4
    again = _pull(api, since=datetime(2026, 10, 2, 9, 9, tzinfo=UTC))  # the next night's overlap
    assert f"helpscout:thread:{late[0]['id']}" in {r.external_id for r in again}


def test_a_rating_with_an_id_is_fetched_and_one_without_is_not(api) -> None:
    api.open(2000, _day(2))
    rated = api.add_thread(2000, _day(2, 5), "message", "closed", body="Refunded")
    api.rate(2000, rated, 5434, "great", _day(3), comments="Sorted")
    api.open(2001, _day(4))
    quiet = api.add_thread(2001, _day(4, 5), "message", "closed", body="Fixed")
    api.rate(2001, quiet, 5435, "okay", _day(5), with_id=False)
    records = _pull(api)
    ratings = [r for r in records if r.external_id.startswith("helpscout:rating:")]
    assert [r.external_id for r in ratings] == ["helpscout:rating:5434"]
    assert [r.path for r in api.requests if "/ratings/" in r.path] == ["/v2/ratings/5434"]
    config = _config(api)
    feedback = [
        e for r in records for e in helpscout.normalize(r, config) if e["kind"] == "feedback"
    ]
    assert sorted((e["case_id"], e["score"]) for e in feedback) == [
        ("helpscout:conversation:2000", 3), ("helpscout:conversation:2001", 2),
    ]  # fmt: skip


def test_the_tokens_never_reach_records_or_errors(api) -> None:
    api.open(2000, _day(2))
    rated = api.add_thread(2000, _day(2, 5), "message", "closed", body="Refunded")
    api.rate(2000, rated, 5434, "great", _day(3))
    for token, options in ((TOKEN, {}), (SECRET, {"app_id": api.app_id})):
        records = _pull(api, _config(api, options=options), token=token)
        assert records and all(token not in r.model_dump_json() for r in records)
    api.fail(LIST, 1, Reply(403, {"message": "Forbidden"}), times=3)
    with pytest.raises(FatalSourceError) as info:
        _pull(api, _config(api, options={"app_id": api.app_id}), token=SECRET)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.__dict__)


def test_check_names_the_user_and_each_mailbox(api) -> None:
    config = _config(api, scopes={"85": "Support", "99": "Gone", "*": "All"})
    with helpscout.make_client(config, SecretStr(TOKEN)) as client:
        assert helpscout.check(client, config) == {
            "account": "Mia Lee",
            "scopes": "mailbox 85 (Support): ok; mailbox 99: not visible; all mailboxes (2 visible): ok",
        }


# -- normalize ------------------------------------------------------------------------------

CONFIG = SourceConfig(scopes={"*": "Support"})
EXAMPLE = {  # SOURCES.md §2.6
    "id": 3002084, "type": "customer", "status": "active", "createdAt": "2026-10-03T16:40:11Z",
    "createdBy": {"id": 449379, "type": "customer"},
}  # fmt: skip


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _thread(payload: dict, before: str | None = None, assignee: str | None = None) -> RawRecord:
    return RawRecord.of(
        "helpscout", "/v2/conversations/1560011/threads", f"helpscout:thread:{payload.get('id')}",
        payload, fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope="*",
        params={"conversation_id": "1560011", "status_before": before, "assignee_before": assignee},
    )  # fmt: skip


def _events(record: RawRecord) -> list[dict]:
    return list(helpscout.normalize(record, CONFIG))


def test_normalize_the_sources_thread_example_exactly() -> None:
    commented, status = _events(_thread(EXAMPLE))
    common = {
        "process": "Support", "case_id": "helpscout:conversation:1560011",
        "occurred_at": "2026-10-03T16:40:11.000Z", "source": "helpscout", "actor": "449379",
        "assignee": None, "due_at": None, "client_id": None, "template": None,
        "case_title": None, "scale": None, "score": None,
    }  # fmt: skip
    assert commented == {
        **common, "event_id": _sha("helpscout:thread:3002084"), "kind": "commented",
        "stage": None, "original_status": None, "comment": None, "public": True,
        "attributes": {"thread_id": 3002084, "thread_type": "customer"},
    }  # fmt: skip
    assert status == {
        **common, "event_id": _sha("helpscout:thread:3002084:status"), "kind": "stage_changed",
        "stage": "active", "original_status": "active", "comment": None, "public": None,
        "attributes": {"thread_id": 3002084, "thread_type": "customer", "status_from": None},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("before", "status", "kind", "stage"),
    [
        ("active", "closed", "completed", "done"),
        ("closed", "active", "reopened", "active"),
        ("closed", "pending", "reopened", "waiting_on_client"),
        ("active", "pending", "stage_changed", "waiting_on_client"),
        ("active", "spam", "stage_changed", "cancelled"),
        ("spam", "active", "reopened", "active"),
    ],
)
def test_status_changes_follow_the_stage_rules(before, status, kind, stage) -> None:
    payload = {**EXAMPLE, "type": "lineitem", "status": status, "createdBy": {"id": 11, "type": "user",
               "first": "Mia", "last": "Lee"}}  # fmt: skip
    (event,) = _events(_thread(payload, before))
    assert (event["kind"], event["stage"], event["original_status"], event["actor"]) == (
        kind, stage, status, "Mia Lee",
    )  # fmt: skip


@pytest.mark.parametrize(("before", "status"), [("active", "nochange"), ("active", "active")])
def test_a_thread_that_keeps_the_status_is_only_a_comment(before, status) -> None:
    (event,) = _events(_thread({**EXAMPLE, "status": status}, before))
    assert event["kind"] == "commented"


def test_notes_are_private_comments_and_line_items_are_not_comments() -> None:
    (note,) = _events(
        _thread({**EXAMPLE, "type": "note", "body": "Call them", "status": "nochange"})
    )
    assert (note["kind"], note["comment"], note["public"]) == ("commented", "Call them", False)
    assert _events(_thread({**EXAMPLE, "type": "lineitem", "status": "nochange"})) == []


def test_assignment_changes_make_assigned_events() -> None:
    person = {"id": 12, "type": "user", "first": "Sam", "last": "Ode"}
    payload = {**EXAMPLE, "type": "lineitem", "status": "nochange", "assignedTo": person}
    (event,) = _events(_thread(payload, "active", assignee="11"))
    assert (event["kind"], event["assignee"], event["event_id"]) == (
        "assigned", "Sam Ode", _sha("helpscout:thread:3002084:assigned"),
    )  # fmt: skip
    assert _events(_thread(payload, "active", assignee="12")) == []
    (cleared,) = _events(_thread({**payload, "assignedTo": None}, "active", assignee="12"))
    assert (cleared["kind"], cleared["assignee"]) == ("assigned", None)


def test_a_conversation_record_is_its_created_event() -> None:
    convo = {
        "id": 1560011, "number": 560, "subject": "Where is my order?", "mailboxId": 85,
        "status": "closed", "createdAt": "2026-10-03T16:40:11Z",
        "createdBy": {"id": 449379, "type": "customer", "first": "Vernon", "last": "Bear"},
        "primaryCustomer": {"id": 449379, "first": "Vernon", "last": "Bear"},
    }  # fmt: skip
    record = RawRecord.of(
        "helpscout", "/v2/conversations", "helpscout:conversation:1560011", convo,
        fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope="*",
    )  # fmt: skip
    (event,) = _events(record)
    assert event == {
        "event_id": _sha("helpscout:conversation:1560011"), "kind": "created",
        "process": "Support", "case_id": "helpscout:conversation:1560011",
        "occurred_at": "2026-10-03T16:40:11.000Z", "source": "helpscout", "stage": None,
        "original_status": None, "actor": "Vernon Bear", "assignee": None, "due_at": None,
        "client_id": "449379", "template": None, "case_title": "Where is my order?",
        "comment": None, "public": None, "scale": None, "score": None,
        "attributes": {"number": 560, "mailbox_id": 85},
    }  # fmt: skip


RATING = {  # SOURCES.md §2.6 (the webhook's capitalised values) with the REST fields
    "id": 5434, "ticketId": 1560011, "threadId": 3002084, "conversationId": 1560011,
    "rating": "Great", "comments": "Sorted", "createdAt": "2026-10-04T09:00:00Z",
}  # fmt: skip


def _rating(payload: dict) -> RawRecord:
    return RawRecord.of(
        "helpscout", "/v2/ratings/5434", "helpscout:rating:5434", payload,
        fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope="*",
    )  # fmt: skip


def test_a_rating_is_feedback_on_the_conversation_on_the_csat3_scale() -> None:
    (event,) = _events(_rating(RATING))
    assert event == {
        "event_id": _sha("helpscout:rating:5434"), "kind": "feedback", "process": "Support",
        "case_id": "helpscout:conversation:1560011", "occurred_at": "2026-10-04T09:00:00.000Z",
        "source": "helpscout", "stage": None, "original_status": None, "actor": None,
        "assignee": None, "due_at": None, "client_id": None, "template": None,
        "case_title": None, "comment": "Sorted", "public": None, "scale": "csat3", "score": 3,
        "attributes": {"rating_id": 5434, "thread_id": 3002084, "rated_user": None},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "score"), [("great", 3), ("Okay", 2), ("not_good", 1), ("Bad", 1), ("unknown", None)]
)
def test_rating_values_are_normalised(value, score) -> None:
    events = _events(_rating({**RATING, "rating": value, "createdAt": "2026-10-04T09:00:00"}))
    assert [e["score"] for e in events] == ([] if score is None else [score])
    assert all(e["occurred_at"] == "2026-10-04T09:00:00.000Z" for e in events)  # naive = UTC


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_rating({**RATING, "rating": "meh"}), "unknown rating"),
        (_rating({**RATING, "conversationId": None}), "conversationId"),
        (_thread({**EXAMPLE, "createdAt": "soon"}), "createdAt"),
        (_thread({"type": "customer"}), "id"),
    ],
)
def test_unreadable_payloads_raise_payload_invalid(record, reason) -> None:
    with pytest.raises(PayloadInvalid, match=reason):
        _events(record)


def test_a_thread_landed_without_its_conversation_is_invalid() -> None:
    record = RawRecord.of(
        "helpscout", "/v2/conversations/1/threads", "helpscout:thread:3002084", EXAMPLE,
        fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope="*",
    )  # fmt: skip
    with pytest.raises(PayloadInvalid, match="conversation"):
        _events(record)
