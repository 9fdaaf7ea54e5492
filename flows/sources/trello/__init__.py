"""Trello connector (SOURCES.md §2.3): each board's card actions since the cursor, newest first.

Plain httpx through flows/http.py, not dlt: dlt is not a dependency and its cursor state would live
outside our landing/commit rule.

Paging: `since=<cursor>&limit=1000`; while a page comes back full, the next one adds
`before=<oldest id in the page>`, so actions created during a pull never shift a page (they are
newer than `before`; the next night's `since` picks them up). Auth: the API key
(`options.key`) and the token go in Trello's `Authorization: OAuth oauth_consumer_key=...,
oauth_token=...` header instead of the `key`/`token` query parameters Trello also accepts, so they
never become part of a URL: httpx logs full URLs, and params are stored with every RawRecord.
A 429 carries no Retry-After; the retry layer waits out Trello's 10-second window.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from flows import http
from flows.http import RetryPolicy, request_json
from flows.sources import register
from flows.sources.names import stage_from_name
from flows.sources.trello.actions import MAPPED_TYPES, action_events, action_key
from models.errors import FatalSourceError, RetriableSourceError, UsageError
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["check", "fetch", "make_client", "name", "normalize", "policy"]

name = "trello"
DEFAULT_BASE = "https://api.trello.com/1"
ACTIONS_PATH = "/boards/{board_id}/actions"
BOARD_PATH = "/boards/{board_id}"
LISTS_PATH = "/boards/{board_id}/lists"
ME_PATH = "/members/me"
# The six types SOURCES.md names, plus the other ways a card enters or leaves a board.
ACTION_FILTER = ",".join(sorted(MAPPED_TYPES))
PAGE_LIMIT = 1000  # Trello's maximum
RATE_LIMIT_WINDOW_SECONDS = 10.0  # 100 requests per 10 s per token; a 429 says nothing more
TOKEN_SETTING = "OPSPULSE_SOURCES__TRELLO__TOKEN"
KEY_SETTING = "OPSPULSE_SOURCES__TRELLO__OPTIONS__KEY"


def make_client(config: SourceConfig, token: SecretStr) -> httpx.Client:
    """An httpx client for Trello, authenticated by key and token in the Authorization header."""
    key = config.options.get("key")
    if not key:
        raise UsageError(
            f"source 'trello' needs the API key of its Power-Up; set options.key in "
            f"opspulse.toml or {KEY_SETTING}"
        )
    auth = f'OAuth oauth_consumer_key="{key}", oauth_token="{token.get_secret_value()}"'
    return http.make_client(
        config.base_url or DEFAULT_BASE,
        headers={"Authorization": auth, "Accept": "application/json"},
        timeout=config.timeout_seconds,
    )


def policy(config: SourceConfig) -> RetryPolicy:
    """Trello's retry policy: a 429 without Retry-After waits out the 10-second window."""
    return RetryPolicy(
        max_retries=config.max_retries,
        max_wait_seconds=config.max_wait_seconds,
        rate_limit_default_seconds=RATE_LIMIT_WINDOW_SECONDS,
    )


def _setting(config: SourceConfig) -> str:
    return f"{config.token_env or TOKEN_SETTING} (and options.key)"


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fetch(
    client: httpx.Client, config: SourceConfig, since: datetime, *, retry: RetryPolicy | None = None
) -> Iterator[RawRecord]:
    """Every mapped action on the configured boards newer than `since`, as RawRecords."""
    # Trello's `since` may be exclusive: ask from 1 ms earlier so an action at the cursor is kept.
    after = _iso(since - timedelta(milliseconds=1))
    for board_id in config.scopes:
        yield from _board_actions(client, config, retry or policy(config), board_id, after)


def _board_actions(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, board_id: str, after: str
) -> Iterator[RawRecord]:
    endpoint = ACTIONS_PATH.format(board_id=board_id)
    params: dict[str, Any] = {"filter": ACTION_FILTER, "limit": PAGE_LIMIT, "since": after}
    while True:
        page = _page(client, config, retry, endpoint, params)
        fetched_at = datetime.now(UTC)
        for action in page:
            yield RawRecord.of(
                name, endpoint, action_key(str(action["id"])), action,
                fetched_at=fetched_at, scope=board_id, params=dict(params),
            )  # fmt: skip
        if len(page) < PAGE_LIMIT:
            return
        oldest = min(str(action["id"]) for action in page)
        if "before" in params and oldest >= params["before"]:
            raise RetriableSourceError(
                f"trello paging did not move past action {oldest} on {endpoint}; the pull stops "
                "here and its cursor does not move",
                source=name, endpoint=endpoint,
            )  # fmt: skip
        params = {**params, "before": oldest}


def _page(
    client: httpx.Client,
    config: SourceConfig,
    retry: RetryPolicy,
    endpoint: str,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    body, _ = request_json(
        client, "GET", endpoint, source=name, policy=retry, setting=_setting(config), params=params
    )
    if not isinstance(body, list) or not all(
        isinstance(item, dict) and item.get("id") for item in body
    ):
        raise RetriableSourceError(
            f"trello answered {endpoint} with something other than a list of actions with ids; "
            "the pull stops here and its cursor does not move",
            source=name,
            endpoint=endpoint,
        )
    return body


def normalize(record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]:
    """The canonical event of one landed action (PayloadInvalid if it cannot be read)."""
    process = config.scopes.get(record.scope or "") or config.default_process
    yield from action_events(record.payload, process=process, ingest_path=record.ingest_path)


def check(
    client: httpx.Client, config: SourceConfig, *, retry: RetryPolicy | None = None
) -> dict[str, str]:
    """Who the token belongs to, and which configured boards it can read (with their lists)."""
    retry = retry or policy(config)
    me, _ = request_json(
        client, "GET", ME_PATH, source=name, policy=retry, setting=_setting(config),
        params={"fields": "fullName,username"},
    )  # fmt: skip
    account = f"{me.get('fullName') or '?'} (@{me.get('username') or '?'})"
    boards = [_check_board(client, config, retry, b, p) for b, p in config.scopes.items()]
    return {"account": account, "scopes": "; ".join(boards) or "no boards configured"}


def _check_board(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, board_id: str, process: str
) -> str:
    path = BOARD_PATH.format(board_id=board_id)
    try:
        board, _ = request_json(
            client, "GET", path, source=name, policy=retry, setting=_setting(config),
            params={"fields": "name"},
        )  # fmt: skip
        lists, _ = request_json(
            client, "GET", LISTS_PATH.format(board_id=board_id), source=name, policy=retry,
            setting=_setting(config), params={"fields": "name", "filter": "open"},
        )  # fmt: skip
    except FatalSourceError as exc:
        return f"board {board_id}: not visible ({exc.status})"
    names = [str(item.get("name")) for item in lists if isinstance(item, dict)]
    stages = ", ".join(f"{list_name} -> {stage_from_name(list_name)}" for list_name in names)
    label = board.get("name") if isinstance(board, dict) else None
    process = process or config.default_process or "?"
    return f"board {board_id} ({label or '?'}, process {process}): ok; lists {stages or 'none'}"


register(sys.modules[__name__])
