"""Asana connector (SOURCES.md §2.1): tasks modified since the cursor, per project, and their stories.

Plain httpx through flows/http.py, not dlt: dlt is not a dependency and its cursor state would
live outside our landing/commit rule.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from flows import http
from flows.http import RetryPolicy, request_json, retry_after_seconds
from flows.sources import register
from flows.sources.asana.stories import SOURCE, iso, normalize
from models.errors import FatalSourceError, RetriableSourceError
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = [
    "DEFAULT_BASE",
    "PAGE_SIZE",
    "check",
    "fetch",
    "make_client",
    "name",
    "normalize",
    "policy",
]

name = SOURCE
DEFAULT_BASE = "https://app.asana.com/api/1.0"
TASKS = "/tasks"
STORIES = "/tasks/{gid}/stories"
ME = "/users/me"
PROJECT = "/projects/{gid}"
PAGE_SIZE = 100  # Asana's largest `limit`
TASK_FIELDS = (
    "name,created_at,created_by.name,modified_at,completed,completed_at,assignee.name,due_on,"
    "due_at,memberships.project.name,memberships.section.name,custom_fields.name,"
    "custom_fields.display_value"
)
STORY_FIELDS = (
    "created_at,created_by.name,type,resource_subtype,text,target.name,old_section.name,"
    "new_section.name,assignee.name,custom_field.name,old_enum_value.name,new_enum_value.name,"
    "old_dates,new_dates,old_date_value,new_date_value,old_approval_status,new_approval_status"
)


def make_client(config: SourceConfig, token: SecretStr) -> httpx.Client:
    """An httpx client with the bearer token (a PAT or an OAuth access token)."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}", "Accept": "application/json"}
    return http.make_client(
        config.base_url or DEFAULT_BASE, headers=headers, timeout=config.timeout_seconds
    )


def policy(config: SourceConfig) -> RetryPolicy:
    """Asana answers 429 with Retry-After in seconds."""
    return RetryPolicy(
        max_retries=config.max_retries,
        max_wait_seconds=config.max_wait_seconds,
        rate_limit_wait=retry_after_seconds,
    )


def _setting(config: SourceConfig) -> str:
    if config.token_env:
        return config.token_env
    if config.token_block:
        return f"the Prefect Secret block {config.token_block!r}"
    return f"OPSPULSE_SOURCES__{name.upper()}__TOKEN"


def _bad_page(path: str, what: str) -> RetriableSourceError:
    return RetriableSourceError(
        f"{name} sent {what} on {path}; the pull stops here and its cursor does not move",
        source=name,
        endpoint=path,
    )


def _page(body: Any, path: str) -> tuple[list[dict[str, Any]], str | None]:
    """The items of a page and the offset of the next one (None on the last page)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise _bad_page(path, "a page without a `data` list of objects")
    following = body.get("next_page")
    offset = following.get("offset") if isinstance(following, dict) else None
    return data, offset if isinstance(offset, str) and offset else None


def _get(
    client: httpx.Client, path: str, params: dict[str, Any], rules: RetryPolicy, setting: str
) -> Any:
    body, _ = request_json(
        client, "GET", path, source=name, policy=rules, setting=setting, params=params
    )
    return body


def _pages(
    client: httpx.Client, path: str, params: dict[str, Any], rules: RetryPolicy, setting: str
) -> Iterator[dict[str, Any]]:
    """Every item of a paginated listing, following `next_page.offset`."""
    query: dict[str, Any] = {**params, "limit": PAGE_SIZE}
    restarted = False
    while True:
        try:
            body = _get(client, path, query, rules, setting)
        except FatalSourceError as exc:
            # Offsets expire (400); start the listing over once, dedup absorbs the repeats.
            if exc.status != 400 or "offset" not in query or restarted:
                raise
            restarted, query = True, {**params, "limit": PAGE_SIZE}
            continue
        items, offset = _page(body, path)
        yield from items
        if offset is None:
            return
        query = {**params, "limit": PAGE_SIZE, "offset": offset}


def _gid(item: dict[str, Any], path: str) -> str:
    gid = item.get("gid")
    if not isinstance(gid, str) or not gid:
        raise _bad_page(path, "an object without a gid")
    return gid


def fetch(
    client: httpx.Client, config: SourceConfig, since: datetime, *, retry: RetryPolicy | None = None
) -> Iterator[RawRecord]:
    """Tasks of each project modified since `since` (the task itself, then its stories)."""
    rules, setting = retry or policy(config), _setting(config)
    for project in config.scopes:
        wanted = {"project": project, "modified_since": iso(since)}
        listing = _pages(client, TASKS, {**wanted, "opt_fields": TASK_FIELDS}, rules, setting)
        tasks = {_gid(task, TASKS): task for task in listing}  # an expired offset repeats some
        for gid, task in tasks.items():
            yield _record(TASKS, f"{name}:task:{gid}", task, project, wanted)
            path = STORIES.format(gid=gid)
            for story in _pages(client, path, {"opt_fields": STORY_FIELDS}, rules, setting):
                yield _record(path, f"{name}:story:{_gid(story, path)}", story, project, {})


def _record(
    path: str, key: str, payload: dict[str, Any], project: str, params: dict[str, Any]
) -> RawRecord:
    return RawRecord.of(
        name, path, key, payload, fetched_at=datetime.now(UTC), scope=project, params=params
    )


def check(client: httpx.Client, config: SourceConfig) -> dict[str, str]:
    """Who the token is, and which configured projects it can see."""
    rules, setting = policy(config), _setting(config)
    body = _get(client, ME, {"opt_fields": "name,email,workspaces.name"}, rules, setting)
    user = body.get("data") if isinstance(body, dict) else None
    if not isinstance(user, dict):
        raise _bad_page(ME, "no user object")
    spaces = ", ".join(str(w.get("name")) for w in user.get("workspaces") or [])
    account = f"{user.get('name')} ({user.get('email')}); workspaces: {spaces or 'none'}"
    seen = [
        _project(client, gid, process, rules, setting) for gid, process in config.scopes.items()
    ]
    return {"account": account, "scopes": "; ".join(seen) or "none configured"}


def _project(client: httpx.Client, gid: str, process: str, rules: RetryPolicy, setting: str) -> str:
    try:
        body = _get(client, PROJECT.format(gid=gid), {"opt_fields": "name"}, rules, setting)
    except FatalSourceError as exc:
        if exc.status in (403, 404):
            return f"project {gid}: not visible"
        raise
    project = body.get("data") if isinstance(body, dict) else None
    title = project.get("name") if isinstance(project, dict) else None
    return f"project {gid} ({title}) -> {process}: ok"


register(sys.modules[__name__])
