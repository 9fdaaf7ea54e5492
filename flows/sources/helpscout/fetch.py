"""Help Scout pulls: conversations modified since a cursor, all their threads, and rated replies.

Conversations are paged newest-modified first (`sortOrder=desc`), not oldest first: with page
numbers, a conversation modified mid-pull jumps to the modified end of the list; sorted oldest
first that shifts unread conversations onto pages already read (lost for good), while newest first
only repeats a conversation (dedup removes it) or leaves its new version to the next night's
overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from flows.http import RetryPolicy
from flows.sources.helpscout.api import (
    CONVERSATIONS,
    MAILBOX,
    MAILBOXES,
    ME,
    NAME,
    RATING,
    THREADS,
    embedded,
    get,
    policy,
)
from flows.sources.helpscout.normalize import STATUS_STAGES, rating_id
from models.errors import FatalSourceError
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["check", "fetch"]


def fetch(
    client: httpx.Client,
    config: SourceConfig,
    since: datetime,
    *,
    retry: RetryPolicy | None = None,
) -> Iterator[RawRecord]:
    """Each conversation modified since `since` in the configured mailboxes, then its threads and
    the ratings they carry. `retry` replaces the source's retry policy (tests)."""
    retry = retry or policy(config)
    scopes = ["*"] if "*" in config.scopes else list(config.scopes)
    for scope in scopes:
        seen: set[Any] = set()
        for conversation, params in _conversations(client, config, since, scope, retry):
            if conversation.get("id") in seen:  # pushed onto the next page by a newer change
                continue
            seen.add(conversation.get("id"))
            yield RawRecord.of(
                NAME, CONVERSATIONS, f"helpscout:conversation:{conversation.get('id')}",
                conversation, fetched_at=datetime.now(UTC), scope=scope, params=params,
            )  # fmt: skip
            yield from _threads(client, config, conversation.get("id"), scope, retry)


def _since_param(since: datetime) -> str:
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _has_next(body: dict[str, Any], number: int) -> bool:
    links = body.get("_links")
    if isinstance(links, dict) and isinstance(links.get("next"), dict):
        return True
    page = body.get("page")
    total = page.get("totalPages") if isinstance(page, dict) else None
    return isinstance(total, int) and number < total


def _conversations(
    client: httpx.Client, config: SourceConfig, since: datetime, scope: str, retry: RetryPolicy
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    params: dict[str, Any] = {
        "status": "all",  # the default lists active conversations only
        "modifiedSince": _since_param(since),
        "sortField": "modifiedAt",
        "sortOrder": "desc",
        "page": 1,
    }
    if scope != "*":
        params["mailbox"] = scope
    while True:
        body = get(client, config, CONVERSATIONS, retry, params)
        for conversation in embedded(body, "conversations", CONVERSATIONS):
            yield conversation, params
        if not _has_next(body, params["page"]):
            return
        params = {**params, "page": params["page"] + 1}


def _thread_pages(
    client: httpx.Client, config: SourceConfig, path: str, retry: RetryPolicy
) -> list[dict[str, Any]]:
    """Every thread of a conversation, oldest first (the API lists newest first)."""
    threads: dict[Any, dict[str, Any]] = {}
    number = 1
    while True:
        body = get(client, config, path, retry, {"page": number})
        for thread in embedded(body, "threads", path):
            threads.setdefault(thread.get("id"), thread)  # a new reply shifts pages: keep one
        if not _has_next(body, number):
            break
        number += 1
    return sorted(threads.values(), key=lambda t: (str(t.get("createdAt")), str(t.get("id"))))


def _threads(
    client: httpx.Client, config: SourceConfig, conversation_id: Any, scope: str, retry: RetryPolicy
) -> Iterator[RawRecord]:
    """Threads with the status and assignee before each (a thread alone cannot tell a change)."""
    path = THREADS.format(conversation_id=conversation_id)
    status: str | None = None
    assignee: str | None = None
    for thread in _thread_pages(client, config, path, retry):
        context = {"conversation_id": str(conversation_id), "status_before": status,
                   "assignee_before": assignee}  # fmt: skip
        yield RawRecord.of(
            NAME, path, f"helpscout:thread:{thread.get('id')}", thread,
            fetched_at=datetime.now(UTC), scope=scope, params=context,
        )  # fmt: skip
        if thread.get("status") in STATUS_STAGES:
            status = thread["status"]
        if "assignedTo" in thread:
            assignee = _person_id(thread["assignedTo"])
        rated = rating_id(thread)
        if rated is not None:
            yield from _rating(client, config, rated, context, scope, retry)


def _person_id(person: Any) -> str | None:
    return str(person["id"]) if isinstance(person, dict) and person.get("id") is not None else None


def _rating(
    client: httpx.Client, config: SourceConfig, rated: str, context: dict[str, Any], scope: str,
    retry: RetryPolicy,
) -> Iterator[RawRecord]:  # fmt: skip
    path = RATING.format(rating_id=rated)
    try:
        body = get(client, config, path, retry)
    except FatalSourceError as exc:
        if exc.status != 404:
            raise
        return  # the rating was removed after the thread listed it: nothing left to land
    yield RawRecord.of(
        NAME, path, f"helpscout:rating:{rated}", body, fetched_at=datetime.now(UTC), scope=scope,
        params={"conversation_id": context["conversation_id"]},
    )  # fmt: skip


def check(client: httpx.Client, config: SourceConfig) -> dict[str, str]:
    """Whose credentials these are and which configured mailboxes they can read."""
    retry = policy(config)
    me = get(client, config, ME, retry)
    who = " ".join(str(me[k]) for k in ("firstName", "lastName") if me.get(k)) or "unknown"
    seen = []
    for mailbox_id in config.scopes:
        if mailbox_id == "*":
            boxes = embedded(get(client, config, MAILBOXES, retry), "mailboxes", MAILBOXES)
            seen.append(f"all mailboxes ({len(boxes)} visible): ok")
            continue
        if not re.fullmatch(r"\d+", mailbox_id):
            seen.append(f"mailbox {mailbox_id}: not a mailbox id")
            continue
        try:
            box = get(client, config, MAILBOX.format(mailbox_id=mailbox_id), retry)
        except FatalSourceError as exc:
            if exc.status not in (403, 404):
                raise
            seen.append(f"mailbox {mailbox_id}: not visible")
            continue
        seen.append(f"mailbox {mailbox_id} ({box.get('name') or 'unnamed'}): ok")
    return {"account": who, "scopes": "; ".join(seen) or "no mailboxes configured"}
