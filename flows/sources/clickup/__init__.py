"""ClickUp connector (SOURCES.md §2.2): changed tasks per list, then their status history and comments.

Plain httpx through flows/http.py, not dlt: dlt is not a dependency and its cursor state would live
outside our landing/commit rule.

Nightly, per configured list: `GET /list/{id}/task?date_updated_gt=<ms>&include_closed=true&
subtasks=true&order_by=updated&page=N` (100 per page until `last_page`), newest change first, so a
task changed mid-pull moves onto a page already read (the next night's cursor fetches it) and the
rest shift towards later pages (repeats that dedup removes), never past an unread page. Then
`GET /task/bulk_time_in_status/task_ids` for their status history (2-100 ids per call; a lone
task uses `GET /task/{id}/time_in_status`, same shape) and
`GET /task/{id}/comment` (25 per page, newest first, older via `start`/`start_id`) down to the
cursor. Assumption (SOURCES.md is silent): a new comment bumps the task's `date_updated`.
A 429 waits until `X-RateLimit-Reset` (Unix seconds).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from flows import http
from flows.http import RetryPolicy, request_json, reset_epoch_seconds
from flows.sources import register
from flows.sources.clickup.events import comment_event, status_events, task_created, task_stage
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["check", "fetch", "make_client", "name", "normalize", "policy"]

name = "clickup"
DEFAULT_BASE = "https://api.clickup.com/api/v2"
TASKS_PATH = "/list/{list_id}/task"
BULK_STATUS_PATH = "/task/bulk_time_in_status/task_ids"
STATUS_PATH = "/task/{task_id}/time_in_status"
COMMENTS_PATH = "/task/{task_id}/comment"
LIST_PATH = "/list/{list_id}"
USER_PATH = "/user"
TASK_PAGE_SIZE = 100  # fixed by ClickUp
BULK_LIMIT = 100  # task ids per bulk time-in-status call
COMMENT_PAGE_SIZE = 25  # fixed by ClickUp
RATE_LIMIT_WINDOW_SECONDS = 60.0  # limits are per minute; used only if a 429 lacks its reset time
TOKEN_SETTING = "OPSPULSE_SOURCES__CLICKUP__TOKEN"
_COMMENTS_ENDPOINT = re.compile(r"^/task/([^/]+)/comment$")


def make_client(config: SourceConfig, token: SecretStr) -> httpx.Client:
    """An httpx client for ClickUp: a personal `pk_` token as it is, an OAuth token as Bearer."""
    value = token.get_secret_value()
    auth = value if value.startswith("pk_") else f"Bearer {value}"
    return http.make_client(
        config.base_url or DEFAULT_BASE,
        headers={"Authorization": auth, "Accept": "application/json"},
        timeout=config.timeout_seconds,
    )


def policy(config: SourceConfig) -> RetryPolicy:
    """ClickUp's retry policy: a 429 waits until its X-RateLimit-Reset time."""
    return RetryPolicy(
        max_retries=config.max_retries,
        max_wait_seconds=config.max_wait_seconds,
        rate_limit_wait=reset_epoch_seconds,
        rate_limit_default_seconds=RATE_LIMIT_WINDOW_SECONDS,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _get(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, path: str, params: Any
) -> dict[str, Any]:
    body, _ = request_json(
        client, "GET", path, source=name, policy=retry,
        setting=config.token_env or TOKEN_SETTING, params=params,
    )  # fmt: skip
    if not isinstance(body, dict):
        raise RetriableSourceError(
            f"clickup answered {path} with JSON that is not an object; the pull stops here and "
            "its cursor does not move",
            source=name, endpoint=path,
        )  # fmt: skip
    return body


def _items(body: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    items = body.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
        raise RetriableSourceError(
            f"clickup answered {path} without a list of {key} with ids; the pull stops here and "
            "its cursor does not move",
            source=name, endpoint=path,
        )  # fmt: skip
    return items


def fetch(
    client: httpx.Client, config: SourceConfig, since: datetime, *, retry: RetryPolicy | None = None
) -> Iterator[RawRecord]:
    """Tasks of the configured lists changed since `since`, their status history and comments."""
    for list_id in config.scopes:
        yield from _list(client, config, retry or policy(config), list_id, _ms(since))


def _list(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, list_id: str, since_ms: int
) -> Iterator[RawRecord]:
    task_ids: dict[str, None] = {}  # ordered set: a task seen on two shifted pages counts once
    for record in _tasks(client, config, retry, list_id, since_ms):
        task_ids[str(record.payload["id"])] = None
        yield record
    ids = list(task_ids)
    for start in range(0, len(ids), BULK_LIMIT):
        yield from _time_in_status(client, config, retry, list_id, ids[start : start + BULK_LIMIT])
    for task_id in ids:
        yield from _comments(client, config, retry, list_id, task_id, since_ms)


def _tasks(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, list_id: str, since_ms: int
) -> Iterator[RawRecord]:
    endpoint = TASKS_PATH.format(list_id=list_id)
    page = 0
    while True:
        params = {
            # `gt` is exclusive: ask from 1 ms earlier so a task changed at the cursor is kept.
            "date_updated_gt": since_ms - 1,
            "include_closed": "true",
            "subtasks": "true",
            "order_by": "updated",
            "page": page,
        }
        body = _get(client, config, retry, endpoint, params)
        tasks = _items(body, "tasks", endpoint)
        fetched_at = datetime.now(UTC)
        for task in tasks:
            yield RawRecord.of(
                name, endpoint, f"{name}:task:{task['id']}", task,
                fetched_at=fetched_at, scope=list_id, params=params,
            )  # fmt: skip
        last = body.get("last_page")
        if not tasks or last is True or (last is None and len(tasks) < TASK_PAGE_SIZE):
            return
        page += 1


def _time_in_status(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, list_id: str, ids: list[str]
) -> Iterator[RawRecord]:
    if len(ids) == 1:  # the bulk endpoint wants at least two ids
        path, params = STATUS_PATH.format(task_id=ids[0]), {}
        bodies = {ids[0]: _get(client, config, retry, path, None)}
    else:
        path, params = BULK_STATUS_PATH, {"task_ids": ids}
        bodies = _get(client, config, retry, path, params)
    fetched_at = datetime.now(UTC)
    for task_id in ids:
        if task_id in bodies:  # absent when the task was deleted since it was listed
            yield RawRecord.of(
                name, path, f"{name}:time_in_status:{task_id}", {task_id: bodies[task_id]},
                fetched_at=fetched_at, scope=list_id, params=params,
            )  # fmt: skip


def _comment_ms(comment: dict[str, Any]) -> int | None:
    value = comment.get("date")
    try:
        return int(value) if isinstance(value, int | str) else None
    except ValueError:
        return None


def _comments(
    client: httpx.Client,
    config: SourceConfig,
    retry: RetryPolicy,
    list_id: str,
    task_id: str,
    since_ms: int,
) -> Iterator[RawRecord]:
    endpoint = COMMENTS_PATH.format(task_id=task_id)
    params: dict[str, Any] = {}
    while True:
        comments = _items(_get(client, config, retry, endpoint, params), "comments", endpoint)
        fetched_at = datetime.now(UTC)
        for comment in comments:
            moment = _comment_ms(comment)
            if moment is not None and moment < since_ms:
                return  # newest first: the rest was pulled on an earlier night
            yield RawRecord.of(
                name, endpoint, f"{name}:comment:{comment['id']}", comment,
                fetched_at=fetched_at, scope=list_id, params=params,
            )  # fmt: skip
        if len(comments) < COMMENT_PAGE_SIZE:
            return
        oldest = comments[-1]
        following = {"start": oldest.get("date"), "start_id": oldest["id"]}
        if following == params:
            raise RetriableSourceError(
                f"clickup comment paging did not move on {endpoint}; the pull stops here",
                source=name, endpoint=endpoint,
            )  # fmt: skip
        params = following


def normalize(record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]:
    """Canonical events of one landed task, time-in-status object or comment."""
    scope = record.scope or ""
    process = config.scopes.get(scope) or config.default_process or f"ClickUp list {scope}"
    kind = record.external_id.split(":")[1] if record.external_id.count(":") >= 2 else ""
    if kind == "task":
        yield task_created(record.payload, process, record.ingest_path)
    elif kind == "time_in_status":
        yield from status_events(record.payload, process, record.ingest_path)
    elif kind == "comment":
        match = _COMMENTS_ENDPOINT.match(record.endpoint)
        if match is None:
            raise PayloadInvalid(
                f"ClickUp comment came from {record.endpoint}, not a task's comments"
            )
        yield comment_event(record.payload, match.group(1), process, record.ingest_path)
    else:
        raise PayloadInvalid(f"ClickUp record {record.external_id!r} is of no known kind")


def check(
    client: httpx.Client, config: SourceConfig, *, retry: RetryPolicy | None = None
) -> dict[str, str]:
    """Who the token belongs to, and which configured lists it can read (with their statuses)."""
    retry = retry or policy(config)
    user = _get(client, config, retry, USER_PATH, None).get("user") or {}
    account = f"{user.get('username') or '?'} (user {user.get('id') or '?'})"
    lists = [_check_list(client, config, retry, lid, p) for lid, p in config.scopes.items()]
    return {"account": account, "scopes": "; ".join(lists) or "no lists configured"}


def _check_list(
    client: httpx.Client, config: SourceConfig, retry: RetryPolicy, list_id: str, process: str
) -> str:
    try:
        found = _get(client, config, retry, LIST_PATH.format(list_id=list_id), None)
    except FatalSourceError as exc:
        return f"list {list_id}: not visible ({exc.status})"
    statuses = [s for s in found.get("statuses") or [] if isinstance(s, dict) and s.get("status")]
    stages = ", ".join(
        f"{s['status']} -> {task_stage(s['status'], s.get('type'))}" for s in statuses
    )
    process = process or config.default_process or "?"
    return (
        f"list {list_id} ({found.get('name') or '?'}, process {process}): ok; "
        f"statuses {stages or 'none'}"
    )


register(sys.modules[__name__])
