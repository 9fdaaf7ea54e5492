"""Typeform's HTTP surface: endpoints, bearer auth, retry policy and client-side pacing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from pydantic import SecretStr

from flows import http
from flows.http import RetryPolicy
from models.settings import SourceConfig

__all__ = [
    "DEFAULT_BASE",
    "FORM",
    "ME",
    "MIN_INTERVAL_SECONDS",
    "NAME",
    "PAGE_SIZE",
    "RESPONSES",
    "Clock",
    "make_client",
    "policy",
    "setting",
]

NAME = "typeform"
DEFAULT_BASE = "https://api.typeform.com"
RESPONSES = "/forms/{form_id}/responses"
FORM = "/forms/{form_id}"
ME = "/me"
PAGE_SIZE = 1000  # Typeform's maximum
MIN_INTERVAL_SECONDS = 0.5  # 2 requests/s per account (SOURCES.md §2.4, unverified): throttle here
RATE_LIMIT_WAIT_SECONDS = 2.0  # a 429 without Retry-After: the limit is per second, wait a little

Clock = Callable[[], float]


def setting(config: SourceConfig) -> str:
    """The environment variable that holds the token."""
    return config.token_env or f"OPSPULSE_SOURCES__{NAME.upper()}__TOKEN"


def make_client(config: SourceConfig, token: SecretStr) -> httpx.Client:
    """An httpx client with Typeform's bearer auth."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    return http.make_client(
        config.base_url or DEFAULT_BASE, headers=headers, timeout=config.timeout_seconds
    )


def policy(config: SourceConfig) -> RetryPolicy:
    """Typeform's retries: Retry-After when it sends one, else a short default."""
    return RetryPolicy(
        max_retries=config.max_retries,
        max_wait_seconds=config.max_wait_seconds,
        rate_limit_default_seconds=RATE_LIMIT_WAIT_SECONDS,
    )
