"""A fake Typeform Responses API: forms with responses, `since`/`sort`/`after` paging, bearer auth."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.base import FakeAPI, Reply, Request

__all__ = ["TypeformFake"]


def _parse_time(value: str) -> datetime | None:
    """Typeform takes Unix seconds or ISO 8601 UTC to the second (with or without Z)."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class _Stored:
    payload: dict[str, Any]
    completed: bool


class TypeformFake(FakeAPI):
    """Responses are kept in processing order (the order `after` walks)."""

    def __init__(self, token: str = "tfp_secret_token", rate_limit_rps: int | None = None) -> None:
        super().__init__()
        self.token = token
        self.forms: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[_Stored]] = {}
        self.rate_limit_rps = rate_limit_rps
        self.request_times: list[float] = []
        self.hooks: list[tuple[str, int, Callable[[], None]]] = []
        self._hook_lock = threading.Lock()
        self.route("GET", r"/forms/(?P<form>[^/]+)/responses", self._responses)
        self.route("GET", r"/forms/(?P<form>[^/]+)", self._form)
        self.route("GET", r"/me", self._me)

    # -- data -----------------------------------------------------------------------------
    def add_form(self, form_id: str, title: str = "Survey") -> None:
        self.forms[form_id] = {"id": form_id, "title": title}
        self.responses.setdefault(form_id, [])

    def add_response(
        self, form_id: str, token: str, submitted_at: str | None, *, score: int | None = 9,
        field_type: str = "nps", ref: str = "nps", hidden: dict[str, Any] | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Store a response (submitted_at None = a partial one); returns its payload."""
        answers: list[dict[str, Any]] = []
        if score is not None:
            answers.append({"field": {"id": f"F_{ref}", "type": field_type, "ref": ref},
                            "type": "number", "number": score})  # fmt: skip
        if comment is not None:
            answers.append({"field": {"id": "F_why", "type": "long_text", "ref": "why"},
                            "type": "text", "text": comment})  # fmt: skip
        payload: dict[str, Any] = {
            "landing_id": token, "token": token, "response_id": token,
            "landed_at": submitted_at or "2026-10-01T00:00:00Z",
            "submitted_at": submitted_at or "0001-01-01T00:00:00Z",
            "metadata": {"platform": "other"}, "hidden": hidden or {}, "calculated": {"score": 0},
            "answers": answers,
        }  # fmt: skip
        self.responses.setdefault(form_id, []).append(_Stored(payload, submitted_at is not None))
        return payload

    def between_calls(self, path_pattern: str, nth: int, action: Callable[[], None]) -> None:
        """Run `action` just before answering the nth request whose path matches."""
        self.hooks.append((path_pattern, nth, action))

    # -- HTTP -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._hook_lock:
            n = sum(1 for r in self.requests if r.path == request.path) + 1
            for pattern, nth, action in self.hooks:
                if re.search(pattern, request.path) and n == nth:
                    action()
        return super().handle(request)

    def _auth(self, request: Request) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            reason = "Authentication credentials not found on the Request Headers"
            return Reply(401, {"code": "AUTHENTICATION_FAILED", "description": reason})
        if self.rate_limit_rps is not None:
            now = time.monotonic()
            with self._hook_lock:
                self.request_times = [t for t in self.request_times if now - t < 1.0] + [now]
                if len(self.request_times) > self.rate_limit_rps:
                    return Reply(429, {"code": "RATE_LIMIT_EXCEEDED"})
        return None

    def _me(self, request: Request, match: re.Match[str]) -> Reply:
        return self._auth(request) or Reply(200, {"alias": "Acme Studio", "language": "en"})

    def _form(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._auth(request)
        if denied:
            return denied
        form = self.forms.get(match["form"])
        if form is None:
            return Reply(404, {"code": "FORM_NOT_FOUND", "description": "Non existing form"})
        return Reply(200, form)

    def _responses(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._auth(request)
        if denied:
            return denied
        if match["form"] not in self.forms:
            return Reply(404, {"code": "FORM_NOT_FOUND", "description": "Non existing form"})
        try:
            items = self._select(match["form"], request)
        except ValueError as exc:
            return Reply(400, {"code": "VALIDATION_ERROR", "description": str(exc)})
        size = int(request.param("page_size", "25") or 25)
        if not 1 <= size <= 1000:
            return Reply(400, {"code": "VALIDATION_ERROR", "description": "page_size out of range"})
        pages = -(-len(items) // size)
        return Reply(200, {"total_items": len(items), "page_count": pages, "items": items[:size]})

    def _select(self, form_id: str, request: Request) -> list[dict[str, Any]]:
        stored = self.responses[form_id]
        if request.param("completed") == "true":
            stored = [s for s in stored if s.completed]
        after, sort = request.param("after"), request.param("sort")
        if after is not None and sort is not None:
            raise ValueError("after cannot be used together with sort")
        for key, keep in (("since", lambda t, b: t >= b), ("until", lambda t, b: t <= b)):
            raw = request.param(key)
            if raw is not None:
                bound = _parse_time(raw)
                if bound is None:
                    raise ValueError(f"{key} is not a valid date")
                stored = [s for s in stored if keep(_when(s.payload["submitted_at"]), bound)]
        if after is not None:
            tokens = [s.payload["token"] for s in self.responses[form_id]]
            if after not in tokens:
                raise ValueError("after token not found")
            processed = {t: i for i, t in enumerate(tokens)}
            return [s.payload for s in stored if processed[s.payload["token"]] > processed[after]]
        field, _, order = (sort or "submitted_at,desc").partition(",")
        ordered = sorted(stored, key=lambda s: s.payload[field], reverse=order != "asc")
        return [s.payload for s in ordered]
