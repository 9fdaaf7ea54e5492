"""Help Scout's HTTP surface: endpoints, OAuth app auth, retry policy and HAL response checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

import httpx
from pydantic import SecretStr

from flows import http
from flows.http import RetryPolicy, request_json, retry_after_seconds
from models.errors import FatalSourceError, PayloadInvalid
from models.settings import SourceConfig

__all__ = [
    "CONVERSATIONS",
    "DEFAULT_BASE",
    "MAILBOX",
    "MAILBOXES",
    "ME",
    "NAME",
    "RATING",
    "THREADS",
    "TOKEN",
    "AppAuth",
    "embedded",
    "get",
    "make_client",
    "policy",
    "setting",
]

NAME = "helpscout"
DEFAULT_BASE = "https://api.helpscout.net"
TOKEN = "/v2/oauth2/token"
CONVERSATIONS = "/v2/conversations"
THREADS = "/v2/conversations/{conversation_id}/threads"
RATING = "/v2/ratings/{rating_id}"
ME = "/v2/users/me"
MAILBOXES = "/v2/mailboxes"
MAILBOX = "/v2/mailboxes/{mailbox_id}"
RATE_LIMIT_HEADER = "X-RateLimit-Retry-After"
TOKEN_MARGIN_SECONDS = 60  # refresh a little before the bearer's `expires_in` runs out


class AppAuth(httpx.Auth):
    """OAuth client credentials: a bearer fetched on first use, renewed when it expires and
    once more when a request answers 401, before that 401 is allowed to fail the pull."""

    requires_response_body = True

    def __init__(
        self, token_url: str, app_id: str, secret: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._token_url, self._app_id, self._secret, self._clock = token_url, app_id, secret, clock
        self._bearer: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"AppAuth(app_id={self._app_id!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        stale = self._bearer is None or self._clock() >= self._expires_at
        if stale and not self._store((yield self._token_request(request))):
            return  # the token endpoint's own failure goes back to the retry layer
        request.headers["Authorization"] = f"Bearer {self._bearer}"
        response = yield request
        if response.status_code == 401 and self._store((yield self._token_request(request))):
            request.headers["Authorization"] = f"Bearer {self._bearer}"
            yield request

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        body = {"grant_type": "client_credentials", "client_id": self._app_id,
                "client_secret": self._secret}  # fmt: skip
        return httpx.Request("POST", self._token_url, json=body, extensions=request.extensions)

    def _store(self, response: httpx.Response) -> bool:
        """Keep a new bearer from a 200; any other status is returned to the caller as is."""
        if response.status_code != 200:
            return False
        try:
            data = response.json()
            bearer, lifetime = str(data["access_token"]), float(data.get("expires_in", 0))
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalSourceError(
                f"helpscout's token endpoint answered 200 without an access_token on {TOKEN}",
                source=NAME, endpoint=TOKEN, status=200,
            ) from exc  # fmt: skip
        self._bearer = bearer
        self._expires_at = self._clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
        return True


def setting(config: SourceConfig) -> str:
    """The environment variable that holds the token (or the app secret)."""
    return config.token_env or f"OPSPULSE_SOURCES__{NAME.upper()}__TOKEN"


def make_client(config: SourceConfig, token: SecretStr) -> httpx.Client:
    """An httpx client: an app's client-credentials bearer when `app_id` is set, else the token."""
    base = (config.base_url or DEFAULT_BASE).rstrip("/")
    app_id = config.options.get("app_id")
    if app_id:
        auth = AppAuth(base + TOKEN, str(app_id), token.get_secret_value())
        return http.make_client(base, timeout=config.timeout_seconds, auth=auth)
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    return http.make_client(base, headers=headers, timeout=config.timeout_seconds)


def _rate_limit_wait(response: httpx.Response) -> float | None:
    return retry_after_seconds(response, RATE_LIMIT_HEADER)


def policy(config: SourceConfig) -> RetryPolicy:
    """Help Scout's retries: a 429 says how long to wait in X-RateLimit-Retry-After."""
    return RetryPolicy(
        max_retries=config.max_retries,
        max_wait_seconds=config.max_wait_seconds,
        rate_limit_wait=_rate_limit_wait,
    )


def get(
    client: httpx.Client, config: SourceConfig, path: str, retry: RetryPolicy,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """GET a Help Scout JSON object through the shared retry layer."""
    body, _ = request_json(
        client, "GET", path, source=NAME, policy=retry, setting=setting(config), params=params
    )
    if not isinstance(body, dict):
        raise PayloadInvalid(f"helpscout answered {path} with JSON that is not an object")
    return body


def embedded(body: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    """The HAL `_embedded.<key>` list (absent on an empty page), or PayloadInvalid."""
    hal = body.get("_embedded") or {}
    items = hal.get(key, []) if isinstance(hal, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PayloadInvalid(f"helpscout answered {path} without an `_embedded.{key}` list")
    return items
