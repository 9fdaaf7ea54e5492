"""Zendesk's HTTP surface: endpoints, auth, retry policy, pacing and response checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from flows import http
from flows.http import RetryPolicy, request_json
from models.errors import PayloadInvalid, UsageError
from models.settings import SourceConfig

__all__ = [
    "DEFAULT_BASE",
    "EXPORT_LAG_SECONDS",
    "GROUP",
    "INCREMENTAL_INTERVAL_SECONDS",
    "ME",
    "NAME",
    "RATINGS",
    "RATINGS_PAGE_SIZE",
    "TICKETS",
    "TICKETS_PER_LOOKUP",
    "TICKET_EVENTS",
    "Clock",
    "get",
    "items_of",
    "make_client",
    "policy",
    "setting",
]

NAME = "zendesk"
DEFAULT_BASE = "https://{subdomain}.zendesk.com/api/v2"
TICKET_EVENTS = "/incremental/ticket_events.json"
RATINGS = "/satisfaction_ratings"
TICKETS = "/tickets/show_many.json"
ME = "/users/me.json"
GROUP = "/groups/{group_id}.json"
RATINGS_PAGE_SIZE = 100
TICKETS_PER_LOOKUP = 100
INCREMENTAL_INTERVAL_SECONDS = 6.0  # incremental exports allow 10 requests a minute
EXPORT_LAG_SECONDS = 60  # the export leaves out the last minute; never ask for it

Clock = Callable[[], float]


def setting(config: SourceConfig) -> str:
    return config.token_env or f"OPSPULSE_SOURCES__{NAME.upper()}__TOKEN"


def make_client(config: SourceConfig, token: SecretStr) -> httpx.Client:
    """An httpx client: Basic `<email>/token` auth when an email is configured, else bearer."""
    subdomain = config.options.get("subdomain")
    if not config.base_url and not subdomain:
        raise UsageError("source 'zendesk' needs options.subdomain (or base_url) in opspulse.toml")
    base = config.base_url or DEFAULT_BASE.format(subdomain=subdomain)
    email = config.options.get("email")
    if email:
        auth = httpx.BasicAuth(f"{email}/token", token.get_secret_value())
        return http.make_client(base, timeout=config.timeout_seconds, auth=auth)
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    return http.make_client(base, headers=headers, timeout=config.timeout_seconds)


def policy(config: SourceConfig) -> RetryPolicy:
    """Zendesk's retries: it sends Retry-After with every 429."""
    return RetryPolicy(max_retries=config.max_retries, max_wait_seconds=config.max_wait_seconds)


def get(
    client: httpx.Client, config: SourceConfig, path: str, retry: RetryPolicy,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """GET a Zendesk JSON object through the shared retry layer."""
    body, _ = request_json(
        client, "GET", path, source=NAME, policy=retry, setting=setting(config), params=params
    )
    if not isinstance(body, dict):
        raise PayloadInvalid(f"zendesk answered {path} with JSON that is not an object")
    return body


def items_of(body: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    """The list of objects under `key`, or PayloadInvalid."""
    items = body.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PayloadInvalid(f"zendesk answered {path} without a `{key}` list")
    return items
