"""Zendesk pulls: the ticket-event export (time cursor) and CSAT ratings (cursor pages), per group."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from flows.http import Pacer, RetryPolicy
from flows.sources.zendesk.api import (
    EXPORT_LAG_SECONDS,
    GROUP,
    INCREMENTAL_INTERVAL_SECONDS,
    ME,
    NAME,
    RATINGS,
    RATINGS_PAGE_SIZE,
    TICKET_EVENTS,
    TICKETS,
    TICKETS_PER_LOOKUP,
    Clock,
    get,
    items_of,
    policy,
    setting,
)
from models.errors import FatalSourceError, PayloadInvalid, RetriableSourceError
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["check", "fetch"]


def _groups(config: SourceConfig) -> set[str] | None:
    """Configured group ids, or None when the `*` scope asks for every ticket."""
    return None if "*" in config.scopes else set(config.scopes)


def fetch(
    client: httpx.Client,
    config: SourceConfig,
    since: datetime,
    *,
    retry: RetryPolicy | None = None,
    clock: Clock = time.monotonic,
) -> Iterator[RawRecord]:
    """Ticket events, then satisfaction ratings, changed since `since` in the configured groups.

    `retry` and `clock` replace the source's retry policy and pacing clock (tests).
    """
    if not config.scopes:
        return
    retry = retry or policy(config)
    now = int(datetime.now(UTC).timestamp())
    start = min(int(since.timestamp()), now - EXPORT_LAG_SECONDS)
    pacer = Pacer(INCREMENTAL_INTERVAL_SECONDS, retry.sleep, clock)
    yield from _ticket_events(client, config, start, retry, pacer)
    yield from _ratings(client, config, start, now, retry)


def _ticket_events(
    client: httpx.Client, config: SourceConfig, start: int, retry: RetryPolicy, pacer: Pacer
) -> Iterator[RawRecord]:
    seen: set[Any] = set()
    groups: dict[int, str | None] = {}
    while True:
        params = {"start_time": start, "include": "comment_events"}
        pacer.wait()
        body = get(client, config, TICKET_EVENTS, retry, params)
        pacer.done()
        items = items_of(body, "ticket_events", TICKET_EVENTS)
        scopes = _scopes_of(client, config, items, groups, retry)
        fetched_at = datetime.now(UTC)
        for item in items:
            # Items of the page's last second come again on the next page: land them once.
            if item.get("id") in seen or scopes.get(item.get("ticket_id")) is None:
                continue
            seen.add(item.get("id"))
            yield RawRecord.of(
                NAME, TICKET_EVENTS, f"zendesk:ticket_event:{item.get('id')}", item,
                fetched_at=fetched_at, scope=scopes[item.get("ticket_id")], params=params,
            )  # fmt: skip
        if body.get("end_of_stream") is True:
            return
        start = _next_start(body, start)


def _next_start(body: dict[str, Any], start: int) -> int:
    end = body.get("end_time")
    if not isinstance(end, int):
        raise PayloadInvalid(f"zendesk's export page has no end_time (started at {start})")
    if end <= start:
        raise RetriableSourceError(
            f"zendesk's ticket-event export did not move past {start}: more than a page of "
            "events share one second; retry later",
            source=NAME, endpoint=TICKET_EVENTS,
        )  # fmt: skip
    return end


def _scopes_of(
    client: httpx.Client,
    config: SourceConfig,
    items: list[dict[str, Any]],
    groups: dict[int, str | None],
    retry: RetryPolicy,
) -> dict[Any, str | None]:
    """Scope of each item's ticket: `*`, its configured group, or None (not pulled)."""
    wanted = _groups(config)
    if wanted is None:
        return {item.get("ticket_id"): "*" for item in items}
    missing = sorted(
        {i["ticket_id"] for i in items if isinstance(i.get("ticket_id"), int)} - set(groups)
    )
    for offset in range(0, len(missing), TICKETS_PER_LOOKUP):
        ids = ",".join(str(i) for i in missing[offset : offset + TICKETS_PER_LOOKUP])
        for ticket in items_of(
            get(client, config, TICKETS, retry, {"ids": ids}), "tickets", TICKETS
        ):
            group = ticket.get("group_id")
            if isinstance(ticket.get("id"), int):
                groups[ticket["id"]] = None if group is None else str(group)
    # A ticket is attributed to its current group; deleted tickets are no longer listed.
    return {t: (g if g in wanted else None) for t, g in groups.items()}


def _ratings(
    client: httpx.Client, config: SourceConfig, start: int, end: int, retry: RetryPolicy
) -> Iterator[RawRecord]:
    wanted = _groups(config)
    params: dict[str, Any] = {"start_time": start, "end_time": end, "page[size]": RATINGS_PAGE_SIZE}
    while True:
        body = get(client, config, RATINGS, retry, params)
        fetched_at = datetime.now(UTC)
        for rating in items_of(body, "satisfaction_ratings", RATINGS):
            group = rating.get("group_id")
            scope = "*" if wanted is None else str(group) if str(group) in wanted else None
            if scope is not None:
                yield RawRecord.of(
                    NAME, RATINGS, f"zendesk:rating:{rating.get('id')}", rating,
                    fetched_at=fetched_at, scope=scope, params=params,
                )  # fmt: skip
        meta = body.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        if not meta.get("has_more"):
            return
        if not meta.get("after_cursor"):
            raise PayloadInvalid("zendesk said more ratings follow but sent no after_cursor")
        params = {**params, "page[after]": meta["after_cursor"]}


def check(client: httpx.Client, config: SourceConfig) -> dict[str, str]:
    """Whose credentials these are, whether they may export, and which groups they can see."""
    retry = policy(config)
    user = get(client, config, ME, retry).get("user") or {}
    if user.get("id") is None:  # Zendesk answers unknown credentials with an anonymous user
        raise FatalSourceError(
            f"zendesk did not accept the credentials (anonymous user on {ME}); check "
            f"{setting(config)} and options.email",
            source=NAME, endpoint=ME, status=200,
        )  # fmt: skip
    account = f"{user.get('name') or 'unknown'} (role {user.get('role') or 'unknown'})"
    seen = []
    for group_id in config.scopes:
        if group_id == "*":
            seen.append("all groups: ok")
            continue
        try:
            group = get(client, config, GROUP.format(group_id=group_id), retry).get("group") or {}
        except FatalSourceError as exc:
            if exc.status not in (403, 404):
                raise
            seen.append(f"group {group_id}: not visible")
            continue
        seen.append(f"group {group_id} ({group.get('name') or 'unnamed'}): ok")
    return {"account": account, "scopes": "; ".join(seen) or "no groups configured"}
