"""Trello connector against a faithful local fake: SOURCES.md §5 checklist, normalize, secrecy."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from flows.sources import SOURCES, trello
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError, UsageError
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.fakes.base import Reply, running
from tests.fakes.trello import FakeTrello, iso

BOARD = "60d5ecb8a1b2c3d4e5f60001"
LISTS = ("Backlog", "Doing", "Client review", "Done")
BASE = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
ACTIONS = rf"^/boards/{BOARD}/actions$"
LIMIT_EXCEEDED = {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def t(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


@pytest.fixture
def api() -> Iterator[FakeTrello]:
    fake = FakeTrello()
    fake.add_board(BOARD, "Client onboarding board", LISTS)
    with running(fake):
        yield fake


def config(api: FakeTrello, **overrides: Any) -> SourceConfig:
    values: dict[str, Any] = {
        "base_url": api.url,
        "scopes": {BOARD: "Client onboarding"},
        "options": {"key": api.key},
        "timeout_seconds": 2.0,
        "max_retries": 3,
        "max_wait_seconds": 60.0,
    }
    values.update(overrides)
    return SourceConfig.model_validate(values)


def pull(
    api: FakeTrello,
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
    retry = replace(trello.policy(cfg), sleep=sleep)
    with trello.make_client(cfg, SecretStr(token or api.token)) as client:
        records.extend(trello.fetch(client, cfg, since, retry=retry))
    return records


def action_requests(api: FakeTrello) -> list[dict[str, str | None]]:
    return [
        {"since": r.param("since"), "before": r.param("before"), "limit": r.param("limit")}
        for r in api.requests
        if r.path == f"/boards/{BOARD}/actions"
    ]


def cards(api: FakeTrello, count: int) -> list[str]:
    return [api.create_card(BOARD, "Backlog", f"Card {n}", t(n)) for n in range(count)]


# -- pagination ------------------------------------------------------------------------------


def test_pages_newest_first_with_before_until_a_short_page(api) -> None:
    cards(api, 2500)
    records = pull(api)
    assert len({r.external_id for r in records}) == len(records) == 2500
    asked = action_requests(api)
    assert [a["limit"] for a in asked] == ["1000"] * 3
    ids = [r.payload["id"] for r in records]
    assert ids == sorted(ids, reverse=True)
    assert [a["before"] for a in asked] == [None, ids[999], ids[1999]]
    first = next(r for r in api.requests if r.path.endswith("/actions"))
    assert set(first.param("filter").split(",")) >= {
        "createCard",
        "updateCard",
        "commentCard",
        "deleteCard",
        "addMemberToCard",
        "removeMemberFromCard",
    }
    assert all(r.scope == BOARD and r.endpoint == f"/boards/{BOARD}/actions" for r in records)


def test_a_full_last_page_is_followed_by_one_empty_page_and_an_empty_board_by_none(api) -> None:
    assert pull(api) == []
    assert len(action_requests(api)) == 1
    cards(api, 2000)
    api.requests.clear()
    assert len(pull(api)) == 2000
    assert len(action_requests(api)) == 3  # 1000, 1000, then an empty page


# -- incremental cursor ------------------------------------------------------------------------


def test_a_second_pull_asks_only_since_the_cursor_including_the_boundary(api) -> None:
    old = api.create_card(BOARD, "Backlog", "Old", t(0))
    api.move_card(old, "Doing", t(1))
    boundary = api.create_card(BOARD, "Backlog", "On the cursor", t(2))
    api.comment(boundary, "later", t(3))
    assert len(pull(api)) == 4
    api.requests.clear()
    second = pull(api, since=t(2))
    assert action_requests(api) == [
        {"since": iso(t(2) - timedelta(milliseconds=1)), "before": None, "limit": "1000"}
    ]
    assert [r.payload["type"] for r in second] == ["commentCard", "createCard"]
    assert {r.payload["data"]["card"]["id"] for r in second} == {boundary}


# -- rate limits and failures ----------------------------------------------------------------


def test_429_without_retry_after_waits_out_the_ten_second_window_and_resumes(api) -> None:
    cards(api, 1500)
    api.fail(ACTIONS, 2, Reply(429, LIMIT_EXCEEDED))
    waits: list[float] = []
    records = pull(api, waits=waits)
    assert waits == [10.0]
    asked = action_requests(api)
    assert len(asked) == 3 and asked[1] == asked[2]  # the same page, asked again
    assert len({r.external_id for r in records}) == len(records) == 1500


def test_a_key_lockout_keeps_waiting_windows_then_fails(api) -> None:
    cards(api, 3)
    body = {"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    api.fail(ACTIONS, 1, Reply(429, body), times=3)
    waits: list[float] = []
    assert len(pull(api, waits=waits)) == 3
    assert waits == [10.0, 10.0, 10.0]
    api.fail(ACTIONS, 1, Reply(429, body), times=10)
    with pytest.raises(RetriableSourceError, match="429"):
        pull(api, cfg=config(api, max_retries=2))


def test_a_5xx_once_is_retried_then_succeeds(api) -> None:
    cards(api, 5)
    api.fail(ACTIONS, 1, Reply(503, b"<html>upstream error</html>", {"Content-Type": "text/html"}))
    waits: list[float] = []
    assert len(pull(api, waits=waits)) == 5
    assert len(waits) == 1 and waits[0] <= 0.5  # first backoff step, full jitter


def test_repeated_5xx_fails_the_pull_with_a_retriable_error(api) -> None:
    cards(api, 5)
    api.fail(ACTIONS, 1, Reply(500, {"message": "oops"}), times=10)
    with pytest.raises(RetriableSourceError, match="500"):
        pull(api, cfg=config(api, max_retries=2))
    assert len(action_requests(api)) == 3


def test_a_timeout_is_retried(api) -> None:
    cards(api, 5)
    api.fail(ACTIONS, 1, Reply(200, [], delay=1.0))
    waits: list[float] = []
    records = pull(api, cfg=config(api, timeout_seconds=0.25), waits=waits)
    assert len(records) == 5 and len(waits) == 1 and len(action_requests(api)) == 2


def test_401_is_fatal_names_the_setting_and_shows_no_secret(api) -> None:
    cards(api, 2)
    wrong = "ATTAwrongtoken99999999"
    with pytest.raises(FatalSourceError) as raised:
        pull(api, token=wrong)
    message = str(raised.value)
    assert "OPSPULSE_SOURCES__TRELLO__TOKEN" in message and "401" in message
    for secret in (wrong, api.token, api.key):
        assert secret not in message
    assert len(api.requests) == 1


def test_the_api_key_is_required_and_named(api) -> None:
    cfg = config(api, options={})
    with pytest.raises(UsageError, match="OPSPULSE_SOURCES__TRELLO__OPTIONS__KEY"):
        trello.make_client(cfg, SecretStr(api.token))


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b'[{"id": "6718f0c2a1b2c3d4e5f6', {}),
        Reply(200, b"<html><body>Trello is down</body></html>", {"Content-Type": "text/html"}),
    ],
    ids=["truncated", "html"],
)
def test_malformed_json_stops_the_pull_and_nothing_past_it_is_yielded(api, reply) -> None:
    cards(api, 1500)
    api.fail(ACTIONS, 2, reply, times=10)
    got: list[RawRecord] = []
    with pytest.raises(RetriableSourceError, match="not JSON"):
        pull(api, cfg=config(api, max_retries=1), into=got)
    assert len(got) == 1000


def test_a_json_body_that_is_not_a_list_of_actions_stops_the_pull(api) -> None:
    cards(api, 3)
    api.fail(ACTIONS, 1, Reply(200, {"message": "maintenance"}))
    with pytest.raises(RetriableSourceError, match="list of actions"):
        pull(api)


def test_actions_added_between_pages_are_neither_repeated_nor_lost(api) -> None:
    made = cards(api, 1500)
    late = t(60 * 48)  # after every seeded card
    added: list[str] = []

    def edit() -> None:
        added.append(api.create_card(BOARD, "Doing", "Inserted", late))
        api.move_card(made[1200], "Done", late)  # a change to a card on the unread page

    api.after(ACTIONS, 1, edit)
    first = pull(api)
    assert len({r.external_id for r in first}) == len(first) == 1500
    second = pull(api, since=late - timedelta(minutes=5))  # next night: cursor minus overlap
    assert [r.payload["type"] for r in second] == ["updateCard", "createCard"]
    assert {r.external_id for r in first} | {r.external_id for r in second} == {
        f"trello:action:{a['id']}" for a in api.actions
    }


# -- normalize ---------------------------------------------------------------------------------

SOURCES_EXAMPLE = {
    "id": "6718f0c2a1b2c3d4e5f60718",
    "type": "updateCard",
    "date": "2026-10-03T16:40:11.132Z",
    "data": {
        "card": {"id": "66aa01"},
        "listBefore": {"id": "L2", "name": "Doing"},
        "listAfter": {"id": "L3", "name": "Review"},
        "old": {"idList": "L2"},
    },
    "memberCreator": {"id": "5f1a", "fullName": "Sam"},
}


def _record(payload: object, scope: str | None = BOARD) -> RawRecord:
    return RawRecord.of(
        "trello",
        f"/boards/{BOARD}/actions",
        "trello:action:x",
        payload,
        fetched_at=BASE,
        scope=scope,
    )


def test_normalize_the_sources_md_example_exactly() -> None:
    cfg = SourceConfig(scopes={BOARD: "Content production"}, options={"key": "k"})
    assert list(trello.normalize(_record(SOURCES_EXAMPLE), cfg)) == [
        {
            "event_id": _sha("trello:action:6718f0c2a1b2c3d4e5f60718"),
            "kind": "stage_changed",
            "process": "Content production",
            "case_id": "trello:card:66aa01",
            "occurred_at": "2026-10-03T16:40:11.132Z",
            "source": "trello",
            "stage": "review",
            "original_status": "Review",
            "actor": "Sam",
            "assignee": None,
            "due_at": None,
            "client_id": None,
            "template": None,
            "case_title": None,
            "comment": None,
            "public": None,
            "scale": None,
            "score": None,
            "attributes": {
                "source_event_id": "6718f0c2a1b2c3d4e5f60718",
                "action_type": "updateCard",
                "case_type": "task",
                "ingest_path": "pull",
                "actor_id": "5f1a",
                "status_from": "Doing",
            },
        }
    ]


def _action(kind: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    card = {"id": "c1", "name": "Logo refresh", **data.pop("card", {})}
    board = {"id": BOARD, "name": "Design board"}
    return {
        "id": "a1",
        "type": kind,
        "date": "2026-10-03T16:40:11.132Z",
        "data": {"card": card, "board": board, **data},
        "memberCreator": {"id": "m1", "fullName": "Mia"},
        **extra,
    }


def _one(action: dict[str, Any]) -> dict[str, Any] | None:
    got = list(trello.normalize(_record(action, scope=None), SourceConfig()))
    assert len(got) <= 1
    return got[0] if got else None


def _brief(action: dict[str, Any]) -> tuple[Any, ...] | None:
    event = _one(action)
    if event is None:
        return None
    return (
        event["kind"],
        event["stage"],
        event["original_status"],
        event["assignee"],
        event["due_at"],
    )


DOING = {"id": "L2", "name": "Doing"}
DONE = {"id": "L4", "name": "Done"}


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (
            _action("createCard", {"list": {"id": "L1", "name": "Backlog"}}),
            ("created", "backlog", "Backlog", None, None),
        ),
        (
            _action("copyCard", {"list": DOING, "cardSource": {"id": "tpl"}}),
            ("created", "active", "Doing", None, None),
        ),
        (
            _action(
                "updateCard", {"old": {"idList": "L2"}, "listBefore": DOING, "listAfter": DONE}
            ),
            ("completed", "done", "Done", None, None),
        ),
        (
            _action(
                "updateCard", {"old": {"idList": "L4"}, "listBefore": DONE, "listAfter": DOING}
            ),
            ("reopened", "active", "Doing", None, None),
        ),
        (
            _action(
                "updateCard",
                {
                    "old": {"idList": "L4"},
                    "listBefore": DONE,
                    "listAfter": {"id": "L5", "name": "Delivered"},
                },
            ),
            ("stage_changed", "done", "Delivered", None, None),
        ),
        (
            _action(
                "updateCard",
                {
                    "old": {"idList": "L2"},
                    "listBefore": DOING,
                    "listAfter": {"id": "L6", "name": "Won't do"},
                },
            ),
            ("stage_changed", "cancelled", "Won't do", None, None),
        ),
        (
            _action(
                "updateCard", {"card": {"closed": True}, "old": {"closed": False}, "list": DOING}
            ),
            ("cancelled", "cancelled", None, None, None),
        ),
        (
            _action(
                "updateCard", {"card": {"closed": True}, "old": {"closed": False}, "list": DONE}
            ),
            None,
        ),
        (
            _action(
                "updateCard", {"card": {"closed": False}, "old": {"closed": True}, "list": DOING}
            ),
            ("reopened", "active", "Doing", None, None),
        ),
        (
            _action(
                "updateCard",
                {"card": {"dueComplete": True}, "old": {"dueComplete": False}, "list": DOING},
            ),
            ("completed", "done", None, None, None),
        ),
        (
            _action(
                "updateCard",
                {"card": {"dueComplete": False}, "old": {"dueComplete": True}, "list": DOING},
            ),
            ("reopened", "active", None, None, None),
        ),
        (
            _action(
                "updateCard",
                {"card": {"due": "2026-10-09T17:00:00.000Z"}, "old": {"due": None}, "list": DOING},
            ),
            ("due_changed", None, None, None, "2026-10-09T17:00:00.000Z"),
        ),
        (
            _action(
                "updateCard", {"card": {"due": None}, "old": {"due": "2026-10-09T17:00:00.000Z"}}
            ),
            ("due_changed", None, None, None, None),
        ),
        (
            _action("updateCard", {"card": {"name": "Logo v2"}, "old": {"name": "Logo refresh"}}),
            None,
        ),
        (_action("deleteCard", {"list": DOING}), ("cancelled", "cancelled", None, None, None)),
        (
            _action("moveCardFromBoard", {"boardTarget": {"id": "b2"}}),
            ("cancelled", "cancelled", None, None, None),
        ),
        (
            _action("addMemberToCard", {"idMember": "m2", "member": {"id": "m2", "name": "Noor"}}),
            ("assigned", None, None, "Noor", None),
        ),
        (
            _action(
                "removeMemberFromCard", {"idMember": "m2", "member": {"id": "m2", "name": "Noor"}}
            ),
            ("assigned", None, None, None, None),
        ),
        (_action("addChecklistToCard", {"checklist": {"id": "x", "name": "Steps"}}), None),
    ],
    ids=[
        "create",
        "copy",
        "to-done",
        "reopen",
        "done-to-done",
        "to-cancelled",
        "archive-open",
        "archive-done",
        "unarchive",
        "due-complete",
        "due-incomplete",
        "due-set",
        "due-cleared",
        "rename",
        "delete",
        "moved-away",
        "member-added",
        "member-removed",
        "ignored-type",
    ],
)
def test_each_mapping_bullet(action, expected) -> None:
    assert _brief(action) == expected


def test_comments_carry_their_text_and_the_board_name_is_the_fallback_process() -> None:
    event = _one(_action("commentCard", {"text": "Draft sent to the client", "list": DOING}))
    assert event is not None
    assert (event["kind"], event["comment"], event["actor"]) == (
        "commented",
        "Draft sent to the client",
        "Mia",
    )
    assert event["process"] == "Design board" and event["case_title"] == "Logo refresh"
    assert event["attributes"]["list"] == "Doing" and event["attributes"]["board_id"] == BOARD


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (["not", "an", "object"], "JSON object"),
        (_action("createCard", {}, date="2026-10-03T16:40:11"), "date"),
        (_action("makeBoardPretty", {}), "not mapped"),
        (
            {
                "id": "a2",
                "type": "commentCard",
                "date": "2026-10-03T16:40:11Z",
                "data": {"text": "x"},
            },
            "names no card",
        ),
        (
            _action("updateCard", {"old": {"idList": "L2"}, "listAfter": {"id": "L9"}}),
            "list is unknown",
        ),
    ],
    ids=["not-object", "naive-date", "unknown-type", "no-card", "unnamed-list"],
)
def test_normalize_rejects_what_it_cannot_read(payload, reason) -> None:
    with pytest.raises(PayloadInvalid, match=reason):
        list(trello.normalize(_record(payload), SourceConfig()))


# -- the whole surface, check and secrecy ------------------------------------------------------


def test_a_pulled_board_normalizes_into_its_cases(api) -> None:
    card = api.create_card(BOARD, "Backlog", "Onboard Acme", t(0))
    api.add_member(card, "Noor Haddad", t(1))
    api.move_card(card, "Doing", t(2))
    api.comment(card, "Kick-off booked", t(3), by="Noor Haddad")
    api.update_card(card, t(4), due="2026-10-09T17:00:00.000Z")
    api.move_card(card, "Client review", t(5))
    api.move_card(card, "Done", t(6))
    cfg = config(api)
    got = [e for r in reversed(pull(api)) for e in trello.normalize(r, cfg)]
    assert [(e["kind"], e["stage"]) for e in got] == [
        ("created", "backlog"),
        ("assigned", None),
        ("stage_changed", "active"),
        ("commented", None),
        ("due_changed", None),
        ("stage_changed", "waiting_on_client"),
        ("completed", "done"),
    ]
    assert {(e["case_id"], e["process"]) for e in got} == {
        (f"trello:card:{card}", "Client onboarding")
    }
    assert SOURCES["trello"] is trello


def test_auth_travels_in_the_header_never_in_urls_or_record_params(api) -> None:
    cards(api, 2)
    records = pull(api)
    for request in api.requests:
        assert "key" not in request.query and "token" not in request.query
        assert request.headers["authorization"] == (
            f'OAuth oauth_consumer_key="{api.key}", oauth_token="{api.token}"'
        )
    for record in records:
        assert set(record.params) == {"filter", "limit", "since"}


def test_check_reports_the_account_and_each_boards_lists(api) -> None:
    cfg = config(api, scopes={BOARD: "Client onboarding", "60d5ecb8a1b2c3d4e5f69999": "Gone"})
    with trello.make_client(cfg, SecretStr(api.token)) as client:
        report = trello.check(client, cfg)
    assert report["account"] == "Sam Rivera (@samrivera)"
    assert (
        f"board {BOARD} (Client onboarding board, process Client onboarding): ok"
        in report["scopes"]
    )
    assert "Client review -> waiting_on_client" in report["scopes"]
    assert "board 60d5ecb8a1b2c3d4e5f69999: not visible (404)" in report["scopes"]
    with (
        trello.make_client(cfg, SecretStr("ATTAnope")) as client,
        pytest.raises(FatalSourceError, match="TRELLO__TOKEN"),
    ):
        trello.check(client, cfg)


def test_the_token_and_key_never_appear_in_records_errors_or_logs(api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    card = api.create_card(BOARD, "Backlog", "Secret", t(0))
    api.comment(card, "hello", t(1))
    cfg = config(api)
    records = pull(api)
    texts = [r.model_dump_json() for r in records]
    texts += [str(e) for r in records for e in trello.normalize(r, cfg)]
    for status in (401, 500):
        api.fail(ACTIONS, 1, Reply(status, {"message": "nope"}), times=10)
        with pytest.raises((FatalSourceError, RetriableSourceError)) as raised:
            pull(api, cfg=config(api, max_retries=1))
        texts += [str(raised.value), repr(raised.value), str(raised.value.__cause__)]
        api.faults.clear()
    assert "HTTP Request" in caplog.text  # httpx logged every URL it asked for
    texts.append(caplog.text)
    for text in texts:
        assert api.token not in text and api.key not in text
