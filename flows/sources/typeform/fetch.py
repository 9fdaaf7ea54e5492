"""Typeform pulls: completed responses per form, `since` then `after` token pages, paced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from flows.http import Pacer, RetryPolicy, request_json
from flows.sources.typeform.api import (
    FORM,
    ME,
    MIN_INTERVAL_SECONDS,
    NAME,
    PAGE_SIZE,
    RESPONSES,
    Clock,
    policy,
    setting,
)
from models.errors import FatalSourceError, PayloadInvalid
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["check", "fetch"]


def _since_param(since: datetime) -> str:
    # Typeform reads ISO 8601 in UTC to the second; `since` is inclusive, so flooring is safe.
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def fetch(
    client: httpx.Client,
    config: SourceConfig,
    since: datetime,
    *,
    retry: RetryPolicy | None = None,
    clock: Clock = time.monotonic,
) -> Iterator[RawRecord]:
    """Completed responses of every configured form submitted since `since`, oldest first.

    `retry` and `clock` replace the source's retry policy and pacing clock (tests).
    """
    retry = retry or policy(config)
    pacer = Pacer(MIN_INTERVAL_SECONDS, retry.sleep, clock)
    for form_id in config.scopes:
        yield from _fetch_form(client, config, form_id, since, retry, pacer)


def _fetch_form(
    client: httpx.Client,
    config: SourceConfig,
    form_id: str,
    since: datetime,
    retry: RetryPolicy,
    pacer: Pacer,
) -> Iterator[RawRecord]:
    path = RESPONSES.format(form_id=form_id)
    base = {"page_size": PAGE_SIZE, "since": _since_param(since), "completed": "true"}
    # The first page is sorted oldest first; later pages continue after the last token, in
    # Typeform's processing order (`after` cannot be combined with `sort`), so none repeats.
    params: dict[str, Any] = {**base, "sort": "submitted_at,asc"}
    while True:
        pacer.wait()
        body, _ = request_json(
            client, "GET", path, source=NAME, policy=retry, setting=setting(config), params=params
        )
        pacer.done()
        items = _items(body, path)
        fetched_at = datetime.now(UTC)
        for item in items:
            yield RawRecord.of(
                NAME, path, f"typeform:response:{_token(item, path)}", item,
                fetched_at=fetched_at, scope=form_id, params=params,
            )  # fmt: skip
        if len(items) < PAGE_SIZE:
            return
        params = {**base, "after": _token(items[-1], path)}


def _items(body: Any, path: str) -> list[dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PayloadInvalid(f"typeform answered {path} without an `items` list of responses")
    return items


def _token(item: dict[str, Any], path: str) -> str:
    token = item.get("token")
    if not isinstance(token, str) or not token:
        raise PayloadInvalid(f"a typeform response on {path} has no `token`")
    return token


def check(client: httpx.Client, config: SourceConfig) -> dict[str, str]:
    """Who the token belongs to and which configured forms it can read."""
    retry, env = policy(config), setting(config)
    me, _ = request_json(client, "GET", ME, source=NAME, policy=retry, setting=env)
    alias = (me.get("alias") or me.get("email")) if isinstance(me, dict) else None
    seen = []
    for form_id in config.scopes:
        try:
            form, _ = request_json(
                client, "GET", FORM.format(form_id=form_id), source=NAME, policy=retry,
                setting=env,
            )  # fmt: skip
        except FatalSourceError as exc:
            if exc.status not in (403, 404):
                raise
            seen.append(f"form {form_id}: not visible")
            continue
        title = form.get("title") if isinstance(form, dict) else None
        seen.append(f"form {form_id} ({title or 'untitled'}): ok")
    return {"account": str(alias or "unknown"), "scopes": "; ".join(seen) or "no forms configured"}
