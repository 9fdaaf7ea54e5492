"""Zendesk connector against a local fake (SOURCES.md §5 checklist) and its normalizer."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from flows.http import make_client
from flows.sources import SOURCES, zendesk
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError, UsageError
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.fakes.base import FakeClock, Reply, running
from tests.fakes.zendesk import ZendeskFake

PULL = importlib.import_module("flows.sources.zendesk.fetch")
TOKEN = "zd_secret_token"
T0 = 1791000000  # 2026-10-03T03:20:00Z
SINCE = datetime.fromtimestamp(T0 - 3600, UTC)
EXPORT = r"/incremental/ticket_events"
RATINGS = r"/satisfaction_ratings"


@pytest.fixture
def api() -> Iterator[ZendeskFake]:
    fake = ZendeskFake(TOKEN, page_limit=3)
    fake.now = lambda: T0 + 86400
    with running(fake):
        yield fake


def _config(api: ZendeskFake, **extra) -> SourceConfig:
    values = {
        "base_url": f"{api.url}/api/v2", "scopes": {"*": "Support"}, "timeout_seconds": 0.5,
        "max_retries": 2, "max_wait_seconds": 30.0, "options": {"email": api.email}, **extra,
    }  # fmt: skip
    return SourceConfig(**values)


def _pull(api: ZendeskFake, config: SourceConfig | None = None, since: datetime = SINCE):
    """Fetch everything with a fake clock; returns (records, clock)."""
    config = config or _config(api)
    clock = FakeClock()
    retry = dataclasses.replace(zendesk.policy(config), sleep=clock.sleep)
    with zendesk.make_client(config, SecretStr(TOKEN)) as client:
        return list(zendesk.fetch(client, config, since, retry=retry, clock=clock)), clock


def _export_starts(api: ZendeskFake) -> list[int]:
    return [int(r.param("start_time")) for r in api.requests if "ticket_events" in r.path]


def _story(api: ZendeskFake) -> None:
    """Two tickets over a day: created, worked, solved, one reopened; events share seconds."""
    api.create_ticket(155, T0)
    api.change(155, T0 + 10, "status", "open")
    api.change(155, T0 + 10, "assignee_id", 7890)
    api.create_ticket(156, T0 + 20, group_id=361)
    api.comment(155, T0 + 30, "Looking into it", public=False)
    api.change(155, T0 + 40, "status", "solved")
    api.change(156, T0 + 40, "status", "pending")
    api.change(155, T0 + 50, "status", "open")


def test_registered_as_a_source() -> None:
    assert SOURCES["zendesk"] is zendesk


def test_export_follows_end_time_until_end_of_stream_landing_repeats_once(api) -> None:
    _story(api)
    records, _ = _pull(api)
    events = [r for r in records if r.endpoint == "/incremental/ticket_events.json"]
    assert [r.payload["id"] for r in events] == [e["id"] for e in api.events]
    assert len({r.external_id for r in events}) == len(api.events) == 8
    # Each page of three ends at its last second, which the next page starts with again.
    assert _export_starts(api) == [T0 - 3600, T0 + 10, T0 + 20, T0 + 40, T0 + 50]
    assert all(r.param("include") == "comment_events" for r in api.requests if EXPORT in r.path)
    assert {r.scope for r in records} == {"*"}


def test_an_empty_export_and_no_ratings_make_no_records(api) -> None:
    assert _pull(api)[0] == []
    assert _export_starts(api) == [T0 - 3600]
    assert _pull(api, _config(api, scopes={}))[0] == []


def test_ratings_page_by_cursor_until_has_more_is_false(api, monkeypatch) -> None:
    monkeypatch.setattr(PULL, "RATINGS_PAGE_SIZE", 2)
    api.create_ticket(155, T0)
    for rid in range(1, 6):
        api.rate(rid, 155, "good", T0 + rid)
    records, _ = _pull(api)
    ratings = [r for r in records if r.external_id.startswith("zendesk:rating:")]
    assert [r.payload["id"] for r in ratings] == [1, 2, 3, 4, 5]
    pages = [r for r in api.requests if RATINGS in r.path]
    assert [r.param("page[size]") for r in pages] == ["2", "2", "2"]
    assert [r.param("page[after]") is None for r in pages] == [True, False, False]
    assert pages[0].param("start_time") == str(T0 - 3600)


def test_second_pull_starts_at_its_cursor_and_keeps_the_boundary_second(api) -> None:
    _story(api)
    _pull(api)
    api.requests.clear()
    records, _ = _pull(api, since=datetime.fromtimestamp(T0 + 40, UTC))
    assert _export_starts(api)[0] == T0 + 40
    assert [r.payload["timestamp"] for r in records] == [T0 + 40, T0 + 40, T0 + 50]


def test_the_last_minute_is_left_for_the_next_pull(api) -> None:
    _story(api)
    api.now = lambda: T0 + 75  # only events up to T0+15 are more than a minute old
    first, _ = _pull(api)
    assert max(r.payload["timestamp"] for r in first) == T0 + 10
    api.now = lambda: T0 + 86400
    second, _ = _pull(api, since=datetime.fromtimestamp(T0 + 75 - 300, UTC))  # cursor - overlap
    assert [r.payload["timestamp"] for r in second if r.payload["timestamp"] > T0 + 10] == [
        T0 + 20, T0 + 30, T0 + 40, T0 + 40, T0 + 50,
    ]  # fmt: skip


def test_export_calls_are_paced_at_six_seconds_and_ratings_are_not(api) -> None:
    _story(api)
    api.create_ticket(157, T0 + 60)
    api.rate(1, 155, "good", T0 + 60)
    _, clock = _pull(api)
    assert len(_export_starts(api)) == 5
    assert clock.sleeps == [6.0, 6.0, 6.0, 6.0]


def test_group_scopes_pull_only_tickets_of_those_groups(api) -> None:
    _story(api)
    api.rate(1, 155, "good", T0 + 60)
    api.rate(2, 156, "bad", T0 + 60)
    config = _config(api, scopes={"360": "Support", "999": "Gone"})
    records, _ = _pull(api, config)
    assert {r.payload["ticket_id"] for r in records} == {155}
    assert {r.scope for r in records} == {"360"}
    lookups = [r.param("ids") for r in api.requests if "show_many" in r.path]
    assert lookups == ["155", "156"]  # each ticket is looked up once, with its first page


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "7"}, 7.0), ({}, 10.0)])
def test_429_waits_as_told_or_a_default_then_resumes_the_same_page(api, headers, wait) -> None:
    _story(api)
    api.fail(EXPORT, 2, Reply(429, {"error": "APIRateLimitExceeded"}, headers))
    records, clock = _pull(api)
    assert len(records) == 8
    assert wait in clock.sleeps
    starts = _export_starts(api)
    assert starts[1] == starts[2] == T0 + 10


def test_a_5xx_once_is_retried(api) -> None:
    _story(api)
    api.fail(RATINGS, 1, Reply(503, {"error": "Unavailable"}))
    api.rate(1, 155, "good", T0 + 60)
    records, _ = _pull(api)
    assert len(records) == 9


def test_repeated_5xx_fails_retriably(api) -> None:
    _story(api)
    api.fail(EXPORT, 2, Reply(500, b"oops"), times=10)
    got = []
    with pytest.raises(RetriableSourceError) as info:
        config = _config(api)
        clock = FakeClock()
        retry = dataclasses.replace(zendesk.policy(config), sleep=clock.sleep)
        with zendesk.make_client(config, SecretStr(TOKEN)) as client:
            got.extend(zendesk.fetch(client, config, SINCE, retry=retry, clock=clock))
    assert info.value.status == 500
    assert len(got) == 3  # the first page only; the cursor of the run never passes page two


def test_a_timeout_is_retried(api) -> None:
    _story(api)
    api.fail(EXPORT, 1, Reply(200, {"ticket_events": []}, delay=1.5))
    records, _ = _pull(api)
    assert len(records) == 8


def test_401_is_fatal_names_the_setting_and_hides_the_token(api) -> None:
    config = _config(api)
    with (
        zendesk.make_client(config, SecretStr("zd_wrong_token")) as client,
        pytest.raises(FatalSourceError) as info,
    ):
        list(zendesk.fetch(client, config, SINCE))
    assert info.value.status == 401
    assert "OPSPULSE_SOURCES__ZENDESK__TOKEN" in str(info.value)
    assert "zd_wrong_token" not in str(info.value)
    assert len(api.requests) == 1


@pytest.mark.parametrize("body", [b'{"ticket_events": [{"id": 9', b"<html>Maintenance</html>"])
def test_malformed_json_stops_the_pull_after_the_good_pages(api, body) -> None:
    _story(api)
    api.fail(EXPORT, 2, Reply(200, body, {"Content-Type": "text/html"}), times=10)
    got = []
    with pytest.raises(RetriableSourceError, match="not JSON"):
        config = _config(api)
        retry = dataclasses.replace(zendesk.policy(config), sleep=lambda s: None)
        with zendesk.make_client(config, SecretStr(TOKEN)) as client:
            got.extend(zendesk.fetch(client, config, SINCE, retry=retry, clock=FakeClock()))
    assert [r.payload["timestamp"] for r in got] == [T0, T0 + 10, T0 + 10]


def test_events_and_ratings_arriving_between_pages_are_not_lost(api, monkeypatch) -> None:
    monkeypatch.setattr(PULL, "RATINGS_PAGE_SIZE", 2)
    _story(api)
    for rid in (1, 2, 3):
        api.rate(rid, 155, "offered", T0 + 60)
    api.between_calls(EXPORT, 2, lambda: api.change(156, T0 + 45, "status", "open"))
    api.between_calls(
        RATINGS, 2, lambda: (api.rate(4, 156, "bad", T0 + 70), api.rate(1, 155, "good", T0 + 70))
    )
    records, _ = _pull(api)
    ids = [r.external_id for r in records]
    assert len(ids) == len(set(ids))
    assert {r.payload["id"] for r in records if "ticket_event" in r.external_id} == {
        e["id"] for e in api.events
    }
    assert [r.payload["id"] for r in records if "rating" in r.external_id] == [1, 2, 3, 4]
    # The answer to rating 1 came after its page was read: the next night upserts it.
    again, _ = _pull(api, since=datetime.fromtimestamp(T0 + 65, UTC))
    assert [r.payload["score"] for r in again if r.external_id == "zendesk:rating:1"] == ["good"]


def test_bearer_auth_without_an_email(api) -> None:
    _story(api)
    config = _config(api, options={})
    records, _ = _pull(api, config)
    assert len(records) == 8
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_the_subdomain_builds_the_base_url_and_is_required() -> None:
    config = SourceConfig(options={"subdomain": "acme"})
    with zendesk.make_client(config, SecretStr(TOKEN)) as client:
        assert str(client.base_url) == "https://acme.zendesk.com/api/v2/"
    with pytest.raises(UsageError, match="subdomain"):
        zendesk.make_client(SourceConfig(), SecretStr(TOKEN))


def test_the_token_never_reaches_records_or_errors(api) -> None:
    _story(api)
    api.rate(1, 155, "good", T0 + 60)
    records, _ = _pull(api)
    assert records and all(TOKEN not in r.model_dump_json() for r in records)
    api.fail(EXPORT, 1, Reply(403, {"error": "Forbidden"}))
    with pytest.raises(FatalSourceError) as info:
        _pull(api)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.__dict__)


def test_check_names_the_user_and_each_group(api) -> None:
    config = _config(api, scopes={"360": "Support", "999": "Gone"})
    with zendesk.make_client(config, SecretStr(TOKEN)) as client:
        assert zendesk.check(client, config) == {
            "account": "Mia Admin (role admin)",
            "scopes": "group 360 (Support): ok; group 999: not visible",
        }


def test_check_rejects_the_anonymous_user(api) -> None:
    config = _config(api)
    with (
        make_client(config.base_url or "") as client,  # no credentials at all
        pytest.raises(FatalSourceError, match="anonymous"),
    ):
        zendesk.check(client, config)


# -- normalize ------------------------------------------------------------------------------

EXAMPLE = {  # SOURCES.md §2.5
    "id": 926256957613, "ticket_id": 155, "timestamp": 1791052811, "updater_id": 7890,
    "child_events": [{"id": 926256957614, "event_type": "Change", "field_name": "status",
                      "status": "solved", "previous_value": "open"}],
}  # fmt: skip
CONFIG = SourceConfig(scopes={"*": "Support"})


def _record(payload: dict, kind: str = "ticket_event") -> RawRecord:
    endpoint = "/satisfaction_ratings" if kind == "rating" else "/incremental/ticket_events.json"
    return RawRecord.of(
        "zendesk", endpoint, f"zendesk:{kind}:{payload.get('id')}", payload,
        fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope="*",
    )  # fmt: skip


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_normalize_the_sources_example_exactly() -> None:
    (event,) = zendesk.normalize(_record(EXAMPLE), CONFIG)
    assert event == {
        "event_id": _sha("zendesk:event:926256957614"), "kind": "completed", "process": "Support",
        "case_id": "zendesk:ticket:155", "occurred_at": "2026-10-03T18:40:11.000Z",
        "source": "zendesk", "stage": "done", "original_status": "solved", "actor": "7890",
        "assignee": None, "due_at": None, "client_id": None, "template": None,
        "case_title": None, "comment": None, "public": None, "scale": None, "score": None,
        "attributes": {"ticket_event_id": 926256957613, "updater_id": 7890, "via": None,
                       "child_event_id": 926256957614, "status_from": "open"},
    }  # fmt: skip


def _change(field: str, value, before, updater: int = 7890) -> dict:
    child = {
        "id": 2,
        "event_type": "Change",
        "field_name": field,
        field: value,
        "previous_value": before,
    }
    return {"id": 1, "ticket_id": 155, "timestamp": 1791052811, "updater_id": updater,
            "child_events": [child]}  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "kind", "stage"),
    [
        ("new", "open", "stage_changed", "active"),
        ("open", "pending", "stage_changed", "waiting_on_client"),
        ("pending", "hold", "stage_changed", "active"),
        ("solved", "open", "reopened", "active"),
        ("solved", "pending", "reopened", "waiting_on_client"),
        ("solved", "new", "reopened", "backlog"),
        ("solved", "closed", "stage_changed", "done"),
        ("open", "deleted", "stage_changed", "cancelled"),
        (None, "solved", "completed", "done"),
    ],
)
def test_status_changes_follow_the_stage_rules(before, after, kind, stage) -> None:
    (event,) = zendesk.normalize(_record(_change("status", after, before)), CONFIG)
    assert (event["kind"], event["stage"], event["original_status"]) == (kind, stage, after)
    assert event["attributes"]["status_from"] == before


def test_assignee_and_due_date_changes() -> None:
    (assigned,) = zendesk.normalize(_record(_change("assignee_id", 7891, 7890)), CONFIG)
    assert (assigned["kind"], assigned["assignee"], assigned["stage"]) == ("assigned", "7891", None)
    (unassigned,) = zendesk.normalize(_record(_change("assignee_id", None, 7891)), CONFIG)
    assert unassigned["assignee"] is None
    (due,) = zendesk.normalize(_record(_change("due_at", "2026-10-10T12:00:00Z", None)), CONFIG)
    assert (due["kind"], due["due_at"]) == ("due_changed", "2026-10-10T12:00:00.000Z")


def test_automation_changes_have_no_actor_and_other_fields_make_no_event() -> None:
    (event,) = zendesk.normalize(_record(_change("status", "closed", "solved", updater=-1)), CONFIG)
    assert event["actor"] is None
    assert list(zendesk.normalize(_record(_change("priority", "high", "normal")), CONFIG)) == []


def test_a_new_ticket_is_one_created_event_plus_its_first_comment() -> None:
    payload = {"id": 10, "ticket_id": 156, "timestamp": 1791052811, "updater_id": 501, "child_events": [
        {"id": 11, "event_type": "Create", "field_name": "subject", "subject": "Login broken"},
        {"id": 12, "event_type": "Create", "field_name": "status", "status": "new"},
        {"id": 13, "event_type": "Create", "field_name": "assignee_id", "assignee_id": 7890},
        {"id": 14, "event_type": "Comment", "author_id": 501, "body": "I cannot log in", "public": True},
    ]}  # fmt: skip
    created, commented = zendesk.normalize(_record(payload), CONFIG)
    assert created["event_id"] == _sha("zendesk:event:11")
    assert (created["kind"], created["stage"], created["original_status"]) == (
        "created",
        "backlog",
        "new",
    )
    assert (created["assignee"], created["actor"]) == ("7890", "501")
    assert commented["event_id"] == _sha("zendesk:event:14")
    assert (commented["kind"], commented["comment"], commented["public"]) == (
        "commented", "I cannot log in", True,
    )  # fmt: skip


def test_the_export_shape_without_field_name_is_read_too() -> None:
    payload = {"id": 1, "ticket_id": 155, "timestamp": 1791052811, "updater_id": 7890,
               "child_events": [{"id": 2, "event_type": "Change", "status": "pending",
                                 "previous_value": "open"}]}  # fmt: skip
    (event,) = zendesk.normalize(_record(payload), CONFIG)
    assert (event["kind"], event["stage"]) == ("stage_changed", "waiting_on_client")


RATING = {
    "id": 35436, "ticket_id": 155, "assignee_id": 7890, "group_id": 360, "requester_id": 501,
    "score": "good", "comment": "Fast and friendly", "reason": None, "reason_code": None,
    "created_at": "2026-10-03T18:00:00Z", "updated_at": "2026-10-04T09:00:00Z",
}  # fmt: skip


def test_a_rating_is_feedback_on_the_ticket_on_the_csat2_scale() -> None:
    (event,) = zendesk.normalize(_record(RATING, "rating"), CONFIG)
    assert event == {
        "event_id": _sha("zendesk:rating:35436"), "kind": "feedback", "process": "Support",
        "case_id": "zendesk:ticket:155", "occurred_at": "2026-10-04T09:00:00.000Z",
        "source": "zendesk", "stage": None, "original_status": None, "actor": None,
        "assignee": None, "due_at": None, "client_id": None, "template": None,
        "case_title": None, "comment": "Fast and friendly", "public": None, "scale": "csat2",
        "score": 1,
        "attributes": {"rating_id": 35436, "reason": None, "reason_code": None,
                       "assignee_id": 7890, "requester_id": 501, "group_id": 360},
    }  # fmt: skip
    (bad,) = zendesk.normalize(_record({**RATING, "score": "bad"}, "rating"), CONFIG)
    assert (bad["score"], bad["event_id"]) == (0, event["event_id"])


@pytest.mark.parametrize("score", ["offered", "unoffered"])
def test_offered_ratings_are_landed_but_make_no_event(score) -> None:
    assert list(zendesk.normalize(_record({**RATING, "score": score}, "rating"), CONFIG)) == []


@pytest.mark.parametrize(
    ("payload", "kind", "reason"),
    [
        ({**RATING, "score": "meh"}, "rating", "unknown score"),
        ({**RATING, "ticket_id": None}, "rating", "ticket_id"),
        ({"id": 1, "ticket_id": 155}, "ticket_event", "timestamp"),
        ({**EXAMPLE, "timestamp": "soon"}, "ticket_event", "timestamp"),
        (_change("due_at", "next week", None), "ticket_event", "not an ISO 8601"),
    ],
)
def test_unreadable_payloads_raise_payload_invalid(payload, kind, reason) -> None:
    with pytest.raises(PayloadInvalid, match=reason):
        list(zendesk.normalize(_record(payload, kind), CONFIG))
