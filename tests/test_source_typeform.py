"""Typeform connector against a local fake (SOURCES.md §5 checklist) and its normalizer."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from flows.sources import SOURCES, typeform
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.fakes.base import FakeClock, Reply, running
from tests.fakes.typeform import TypeformFake

PULL = importlib.import_module("flows.sources.typeform.fetch")
TOKEN = "tfp_secret_token"
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
RESPONSES = r"/forms/F1/responses"


@pytest.fixture
def api() -> Iterator[TypeformFake]:
    fake = TypeformFake(TOKEN)
    fake.add_form("F1", "Onboarding NPS")
    with running(fake):
        yield fake


def _config(api: TypeformFake, **extra) -> SourceConfig:
    values = {
        "base_url": api.url, "scopes": {"F1": "Client onboarding"}, "timeout_seconds": 0.5,
        "max_retries": 2, "max_wait_seconds": 30.0, **extra,
    }  # fmt: skip
    return SourceConfig(**values)


def _pull(api: TypeformFake, config: SourceConfig | None = None, since: datetime = SINCE):
    """Fetch everything, with a fake clock; returns (records, clock)."""
    config = config or _config(api)
    clock = FakeClock()
    retry = dataclasses.replace(typeform.policy(config), sleep=clock.sleep)
    with typeform.make_client(config, SecretStr(TOKEN)) as client:
        records = list(typeform.fetch(client, config, since, retry=retry, clock=clock))
    return records, clock


def _seed(api: TypeformFake, n: int) -> list[str]:
    tokens = []
    for i in range(n):
        token = f"r{i:02d}"
        api.add_response("F1", token, f"2026-10-0{2 + i // 4}T10:00:{i:02d}Z", score=i % 11)
        tokens.append(token)
    return tokens


def _response_requests(api: TypeformFake) -> list[dict[str, str | None]]:
    return [
        {k: r.param(k) for k in ("since", "sort", "after", "page_size", "completed")}
        for r in api.requests
        if r.path == "/forms/F1/responses"
    ]


def test_registered_as_a_source() -> None:
    assert SOURCES["typeform"] is typeform


def test_pages_until_a_short_page_then_continue_after_the_last_token(api, monkeypatch) -> None:
    monkeypatch.setattr(PULL, "PAGE_SIZE", 2)
    tokens = _seed(api, 5)
    api.add_response("F1", "partial", None)  # started but never submitted: not a response
    records, _ = _pull(api)
    assert [r.payload["token"] for r in records] == tokens
    assert [r.external_id for r in records][:1] == ["typeform:response:r00"]
    assert {r.scope for r in records} == {"F1"}
    assert _response_requests(api) == [
        {"since": "2026-10-01T00:00:00", "sort": "submitted_at,asc", "after": None,
         "page_size": "2", "completed": "true"},
        {"since": "2026-10-01T00:00:00", "sort": None, "after": "r01", "page_size": "2",
         "completed": "true"},
        {"since": "2026-10-01T00:00:00", "sort": None, "after": "r03", "page_size": "2",
         "completed": "true"},
    ]  # fmt: skip


def test_a_full_last_page_is_followed_by_one_empty_page(api, monkeypatch) -> None:
    monkeypatch.setattr(PULL, "PAGE_SIZE", 2)
    tokens = _seed(api, 4)
    records, _ = _pull(api)
    assert [r.payload["token"] for r in records] == tokens
    assert [r["after"] for r in _response_requests(api)] == [None, "r01", "r03"]


def test_no_forms_and_no_responses_mean_no_records(api) -> None:
    assert _pull(api)[0] == []
    assert _pull(api, _config(api, scopes={}))[0] == []


def test_second_pull_asks_only_from_its_cursor_and_keeps_the_boundary_response(api) -> None:
    api.add_response("F1", "old", "2026-10-02T08:00:00Z")
    api.add_response("F1", "edge", "2026-10-03T16:40:11Z")
    api.add_response("F1", "new", "2026-10-04T09:00:00Z")
    first, _ = _pull(api)
    assert [r.payload["token"] for r in first] == ["old", "edge", "new"]
    api.requests.clear()
    second, _ = _pull(api, since=datetime(2026, 10, 3, 16, 40, 11, 700000, tzinfo=UTC))
    assert [r.payload["token"] for r in second] == ["edge", "new"]  # since is inclusive
    assert [r["since"] for r in _response_requests(api)] == ["2026-10-03T16:40:11"]


def test_requests_are_paced_to_two_per_second(api, monkeypatch) -> None:
    monkeypatch.setattr(PULL, "PAGE_SIZE", 1)
    _seed(api, 3)
    records, clock = _pull(api)
    assert len(records) == 3
    assert PULL.MIN_INTERVAL_SECONDS >= 0.5  # at most 2 requests a second
    assert clock.sleeps == [PULL.MIN_INTERVAL_SECONDS] * 3  # four requests, three waits


def test_pacing_keeps_a_strict_fake_from_rate_limiting(monkeypatch) -> None:
    fake = TypeformFake(TOKEN, rate_limit_rps=2)
    fake.add_form("F1")
    monkeypatch.setattr(PULL, "PAGE_SIZE", 1)
    with running(fake):
        _seed(fake, 2)
        config = _config(fake)
        started = time.monotonic()
        with typeform.make_client(config, SecretStr(TOKEN)) as client:
            records = list(typeform.fetch(client, config, SINCE))
        assert len(records) == 2
        assert time.monotonic() - started >= 1.0  # 3 requests, 0.5 s apart, real clock
    assert all(r.path == "/forms/F1/responses" for r in fake.requests)
    assert len(fake.requests) == 3


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "3"}, 3.0), ({}, 2.0)])
def test_429_waits_as_told_or_a_default_then_resumes_the_same_page(api, headers, wait) -> None:
    _seed(api, 2)
    api.fail(RESPONSES, 1, Reply(429, {"code": "RATE_LIMIT_EXCEEDED"}, headers))
    records, clock = _pull(api)
    assert len(records) == 2
    assert clock.sleeps == [wait]
    first, again = _response_requests(api)
    assert first == again


def test_a_5xx_once_is_retried(api) -> None:
    _seed(api, 2)
    api.fail(RESPONSES, 1, Reply(503, {"code": "SERVICE_UNAVAILABLE"}))
    records, clock = _pull(api)
    assert len(records) == 2 and len(clock.sleeps) == 1


def test_repeated_5xx_fails_retriably_after_the_cap(api) -> None:
    _seed(api, 2)
    api.fail(RESPONSES, 1, Reply(500, b"oops"), times=10)
    with pytest.raises(RetriableSourceError) as info:
        _pull(api)
    assert info.value.status == 500
    assert len(api.requests) == 3  # one try + max_retries


def test_a_timeout_is_retried(api) -> None:
    _seed(api, 1)
    api.fail(RESPONSES, 1, Reply(200, {"items": []}, delay=1.5))
    records, clock = _pull(api)
    assert [r.payload["token"] for r in records] == ["r00"]
    assert len(clock.sleeps) == 1


def test_401_is_fatal_names_the_setting_and_hides_the_token(api) -> None:
    config = _config(api)
    with (
        typeform.make_client(config, SecretStr("tfp_wrong_token")) as client,
        pytest.raises(FatalSourceError) as info,
    ):
        list(typeform.fetch(client, config, SINCE))
    assert info.value.status == 401
    assert "OPSPULSE_SOURCES__TYPEFORM__TOKEN" in str(info.value)
    assert "tfp_wrong_token" not in str(info.value) and TOKEN not in str(info.value)
    assert len(api.requests) == 1  # never retried


@pytest.mark.parametrize(
    "body",
    [b'{"total_items": 2, "items": [{"token": "r0', b"<html><body>Bad gateway</body></html>"],
)
def test_malformed_json_stops_the_pull_after_the_good_pages(api, monkeypatch, body) -> None:
    monkeypatch.setattr(PULL, "PAGE_SIZE", 1)
    _seed(api, 3)
    api.fail(RESPONSES, 2, Reply(200, body, {"Content-Type": "text/html"}), times=10)
    got = []
    with pytest.raises(RetriableSourceError, match="not JSON"):
        config = _config(api)
        clock = FakeClock()
        retry = dataclasses.replace(typeform.policy(config), sleep=clock.sleep)
        with typeform.make_client(config, SecretStr(TOKEN)) as client:
            got.extend(typeform.fetch(client, config, SINCE, retry=retry, clock=clock))
    assert [r.payload["token"] for r in got] == ["r00"]


def test_a_response_arriving_between_pages_is_read_once(api, monkeypatch) -> None:
    monkeypatch.setattr(PULL, "PAGE_SIZE", 2)
    _seed(api, 3)
    api.between_calls(RESPONSES, 2, lambda: api.add_response("F1", "late", "2026-10-02T10:30:00Z"))
    records, _ = _pull(api)
    tokens = [r.payload["token"] for r in records]
    assert sorted(tokens) == ["late", "r00", "r01", "r02"]
    assert len(tokens) == len(set(tokens))


def test_the_token_never_reaches_records_or_errors(api) -> None:
    _seed(api, 2)
    records, _ = _pull(api)
    assert records and all(TOKEN not in r.model_dump_json() for r in records)
    api.fail(RESPONSES, 1, Reply(403, {"code": "FORBIDDEN"}))
    with pytest.raises(FatalSourceError) as info:
        _pull(api)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.__dict__)


def test_check_names_the_account_and_each_form(api) -> None:
    config = _config(api, scopes={"F1": "Client onboarding", "F9": "Gone"})
    with typeform.make_client(config, SecretStr(TOKEN)) as client:
        assert typeform.check(client, config) == {
            "account": "Acme Studio",
            "scopes": "form F1 (Onboarding NPS): ok; form F9: not visible",
        }


# -- normalize ------------------------------------------------------------------------------

EXAMPLE = {  # SOURCES.md §2.4
    "token": "a3a12ec6", "response_id": "a3a12ec6", "landed_at": "2026-10-03T16:38:02Z",
    "submitted_at": "2026-10-03T16:40:11Z", "hidden": {"client_id": "c_981"},
    "answers": [{"type": "number", "number": 9, "field": {"id": "Fn1", "type": "nps", "ref": "nps"}}],
}  # fmt: skip


def _record(payload: dict, form: str = "F1") -> RawRecord:
    return RawRecord.of(
        "typeform", f"/forms/{form}/responses", f"typeform:response:{payload['token']}", payload,
        fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope=form,
    )  # fmt: skip


def _config_only(**options) -> SourceConfig:
    return SourceConfig(scopes={"F1": "Client onboarding"}, options=options)


def test_normalize_the_sources_example_exactly() -> None:
    (event,) = typeform.normalize(_record(EXAMPLE), _config_only())
    assert event == {
        "event_id": hashlib.sha256(b"typeform:response:a3a12ec6").hexdigest(),
        "kind": "feedback", "process": "Client onboarding", "case_id": "typeform:response:a3a12ec6",
        "occurred_at": "2026-10-03T16:40:11.000Z", "source": "typeform", "stage": None,
        "original_status": None, "actor": None, "assignee": None, "due_at": None,
        "client_id": "c_981", "template": None, "case_title": None, "comment": None,
        "public": None, "scale": "nps10", "score": 9,
        "attributes": {
            "form_id": "F1", "response_token": "a3a12ec6", "answers": {"nps": 9},
            "hidden": {"client_id": "c_981"}, "landed_at": "2026-10-03T16:38:02.000Z",
            "nps_bucket": "promoter",
        },
    }  # fmt: skip


def test_a_configured_hidden_field_names_the_rated_case() -> None:
    payload = {**EXAMPLE, "hidden": {"client_id": "c_981", "case_id": "asana:task:9001"}}
    config = _config_only(**{"F1.case_field": "case_id"})
    (event,) = typeform.normalize(_record(payload), config)
    assert event["case_id"] == "asana:task:9001"
    assert event["attributes"]["related_case_id"] == "asana:task:9001"
    assert event["event_id"] == hashlib.sha256(b"typeform:response:a3a12ec6").hexdigest()


@pytest.mark.parametrize(
    ("field_type", "options", "number", "scale", "bucket"),
    [
        ("rating", {}, 4, "csat5", None),
        ("opinion_scale", {}, 6, "ces7", None),
        ("nps", {}, 7, "nps10", "passive"),
        ("nps", {}, 3, "nps10", "detractor"),
        ("rating", {"F1.scale": "csat3"}, 2, "csat3", None),
    ],
)
def test_scale_follows_the_field_type_unless_configured(
    field_type, options, number, scale, bucket
) -> None:
    payload = {**EXAMPLE, "answers": [
        {"type": "text", "text": "Quick and kind", "field": {"id": "T", "type": "long_text", "ref": "why"}},
        {"type": "number", "number": number, "field": {"id": "S", "type": field_type, "ref": "score"}},
    ]}  # fmt: skip
    (event,) = typeform.normalize(_record(payload), _config_only(**options))
    assert (event["scale"], event["score"], event["comment"]) == (scale, number, "Quick and kind")
    assert event["attributes"].get("nps_bucket") == bucket


def test_a_configured_field_picks_the_answer_by_ref() -> None:
    payload = {**EXAMPLE, "answers": [
        {"type": "number", "number": 9, "field": {"id": "A", "type": "nps", "ref": "nps"}},
        {"type": "number", "number": 2, "field": {"id": "B", "type": "rating", "ref": "effort"}},
    ]}  # fmt: skip
    config = _config_only(**{"F1.field": "effort", "F1.scale": "csat5"})
    (event,) = typeform.normalize(_record(payload), config)
    assert (event["scale"], event["score"]) == ("csat5", 2)
    assert event["attributes"]["answers"] == {"nps": 9, "effort": 2}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({**EXAMPLE, "answers": []}, "no answer"),
        ({**EXAMPLE, "answers": [{"type": "number", "number": 3,
          "field": {"id": "X", "type": "number", "ref": "x"}}]}, "no answer"),
        ({**EXAMPLE, "submitted_at": None}, "never submitted"),
        ({"submitted_at": "2026-10-03T16:40:11Z"}, "not readable"),
        ({**EXAMPLE, "submitted_at": "yesterday"}, "not readable"),
    ],
)  # fmt: skip
def test_unreadable_responses_raise_payload_invalid(payload, reason) -> None:
    record = RawRecord.of(
        "typeform", "/forms/F1/responses", "typeform:response:x", payload,
        fetched_at=datetime(2026, 10, 4, tzinfo=UTC), scope="F1",
    )  # fmt: skip
    with pytest.raises(PayloadInvalid, match=reason):
        list(typeform.normalize(record, _config_only()))


def test_a_field_without_a_known_scale_asks_for_configuration() -> None:
    payload = {**EXAMPLE, "answers": [
        {"type": "number", "number": 3, "field": {"id": "X", "type": "number", "ref": "x"}}]}  # fmt: skip
    with pytest.raises(PayloadInvalid, match=r"F1\.scale"):
        list(typeform.normalize(_record(payload), _config_only(**{"F1.field": "x"})))
