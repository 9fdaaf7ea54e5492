"""The only module that builds HTTP clients: timeouts, auth, and one retry policy for every source.

Retries: 429 waits for the source's own signal (Retry-After, a reset time, or a fixed window for
sources that send none), capped; 5xx, timeouts and connection errors back off exponentially with
full jitter; 401/403 and other 4xx fail at once with the source and the setting to fix. Prefect's
task retries cannot read Retry-After, which is why this layer exists. Messages never carry
headers or tokens.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from models.errors import FatalSourceError, RetriableSourceError, SourceError

__all__ = [
    "Pacer",
    "RetryPolicy",
    "make_client",
    "request_json",
    "reset_epoch_seconds",
    "retry_after_seconds",
]

Sleep = Callable[[float], None]


def retry_after_seconds(response: httpx.Response, header: str = "Retry-After") -> float | None:
    """Seconds to wait from a Retry-After style header (seconds or an HTTP date)."""
    value = response.headers.get(header)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def reset_epoch_seconds(
    response: httpx.Response, header: str = "X-RateLimit-Reset"
) -> float | None:
    """Seconds until a Unix-epoch reset time in a header (ClickUp)."""
    value = response.headers.get(header)
    try:
        return None if value is None else max(0.0, float(value) - time.time())
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How one source is retried."""

    max_retries: int = 5
    max_wait_seconds: float = 60.0
    backoff_base_seconds: float = 0.5
    # How long a 429 asks us to wait; None falls back to `rate_limit_default_seconds`.
    rate_limit_wait: Callable[[httpx.Response], float | None] = retry_after_seconds
    rate_limit_default_seconds: float = 10.0
    sleep: Sleep = field(default=time.sleep, compare=False)


def make_client(
    base_url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30.0,
    auth: httpx.Auth | None = None,
) -> httpx.Client:  # fmt: skip
    """An httpx client for one source: base URL, timeouts, auth headers, no redirects."""
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        auth=auth,
        follow_redirects=False,
    )


def _request_id(response: httpx.Response) -> str | None:
    for name in ("X-Request-Id", "X-Zendesk-Request-Id", "X-Amzn-Trace-Id", "Request-Id"):
        if name in response.headers:
            return response.headers[name]
    return None


def _fatal(source: str, response: httpx.Response, path: str, setting: str) -> FatalSourceError:
    status = response.status_code
    if status in (401, 403):
        text = (
            f"{source} refused the credentials ({status} on {path}); check {setting} "
            "and the token's scopes"
        )
    else:
        text = f"{source} answered {status} on {path}; the request is not valid for this account"
    return FatalSourceError(
        text, source=source, endpoint=path, status=status, request_id=_request_id(response)
    )


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    return random.uniform(0, min(policy.max_wait_seconds, policy.backoff_base_seconds * 2**attempt))


def _decode(source: str, response: httpx.Response, path: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = response.headers.get("content-type", "unknown content")
        raise RetriableSourceError(
            f"{source} sent a body that is not JSON ({kind}) on {path}; the pull stops here and "
            "its cursor does not move",
            source=source, endpoint=path, status=response.status_code,
            request_id=_request_id(response),
        ) from exc  # fmt: skip


def request_json(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    source: str,
    policy: RetryPolicy,
    setting: str,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
) -> tuple[Any, httpx.Response]:
    """Send one request with the source's retry policy; return (parsed JSON, response).

    `setting` names what the user must fix on 401/403 (e.g. OPSPULSE_SOURCES__ASANA__TOKEN).
    A malformed body on a 2xx is retried like a 5xx, then fails the pull.
    """
    attempt = 0
    while True:
        failure: SourceError
        try:
            response = client.request(method, path, params=params, json=json_body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            failure = RetriableSourceError(
                f"{source} did not answer on {path} ({type(exc).__name__})",
                source=source,
                endpoint=path,
            )
            wait = _backoff(policy, attempt)
        else:
            status = response.status_code
            if 200 <= status < 300:
                try:
                    return _decode(source, response, path), response
                except RetriableSourceError as exc:
                    failure, wait = exc, _backoff(policy, attempt)
            elif status == 429:
                asked = policy.rate_limit_wait(response)
                wait = min(
                    policy.max_wait_seconds,
                    asked if asked is not None else policy.rate_limit_default_seconds,
                )
                failure = RetriableSourceError(
                    f"{source} kept rate-limiting requests to {path} (429)", source=source, endpoint=path,
                    status=status, request_id=_request_id(response),
                )  # fmt: skip
            elif status >= 500 or status == 408:
                wait = _backoff(policy, attempt)
                failure = RetriableSourceError(
                    f"{source} failed with {status} on {path}", source=source, endpoint=path,
                    status=status, request_id=_request_id(response),
                )  # fmt: skip
            else:
                raise _fatal(source, response, path, setting)
        if attempt >= policy.max_retries:
            raise failure
        attempt += 1
        policy.sleep(wait)


@dataclass
class Pacer:
    """Keeps requests at least `interval` seconds apart (a client-side rate limit)."""

    interval: float
    sleep: Callable[[float], None]
    clock: Callable[[], float] = time.monotonic
    last: float | None = None

    def wait(self) -> None:
        """Sleep until `interval` seconds have passed since the previous request ended."""
        now = self.clock()
        if self.last is not None and now < self.last + self.interval:
            self.sleep(self.last + self.interval - now)

    def done(self) -> None:
        """Mark the end of a request; counting from there leaves the round trip as headroom."""
        self.last = self.clock()
