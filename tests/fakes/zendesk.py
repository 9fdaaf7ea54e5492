"""A fake Zendesk Support API: the ticket-event export, CSAT ratings with cursor pages, auth."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.fakes.base import FakeAPI, Reply, Request

__all__ = ["ZendeskFake"]

API = "/api/v2"


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskFake(FakeAPI):
    """Tickets change through ticket events; the export pages by time, ratings by cursor."""

    def __init__(
        self, token: str = "zd_secret_token", email: str = "ops@acme.test", page_limit: int = 1000
    ) -> None:
        super().__init__()
        self.token, self.email, self.page_limit = token, email, page_limit
        self.now: Callable[[], float] = time.time
        self.tickets: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.ratings: dict[int, dict[str, Any]] = {}
        self.groups = {360: "Support", 361: "Billing"}
        self.hooks: list[tuple[str, int, Callable[[], None]]] = []
        self._ids = iter(range(926256957600, 926256999999))
        self._hook_lock = threading.Lock()
        self.route("GET", rf"{API}/incremental/ticket_events\.json", self._export)
        self.route("GET", rf"{API}/satisfaction_ratings(\.json)?", self._ratings)
        self.route("GET", rf"{API}/tickets/show_many\.json", self._show_many)
        self.route("GET", rf"{API}/users/me\.json", self._me)
        self.route("GET", rf"{API}/groups/(?P<id>\d+)\.json", self._group)

    # -- data ---------------------------------------------------------------------------------
    def _event(self, ticket_id: int, at: int, updater: int, children: list[dict[str, Any]]) -> None:
        for child in children:
            child.setdefault("id", next(self._ids))
            child.setdefault("via", {"channel": "web"})
        self.events.append({
            "id": next(self._ids), "ticket_id": ticket_id, "timestamp": at, "created_at": _iso(at),
            "updater_id": updater, "via": {"channel": "web"}, "event_type": "Audit",
            "child_events": children,
        })  # fmt: skip

    def create_ticket(
        self, ticket_id: int, at: int, *, group_id: int = 360, requester: int = 501,
        assignee: int | None = None, status: str = "new", body: str = "Help please",
    ) -> None:  # fmt: skip
        """A new ticket: one Create child per field set, then the first comment."""
        self.tickets[ticket_id] = {
            "id": ticket_id, "subject": f"Ticket {ticket_id}", "status": status,
            "group_id": group_id, "assignee_id": assignee, "requester_id": requester,
        }  # fmt: skip
        fields = {"subject": f"Ticket {ticket_id}", "status": status, "group_id": group_id}
        if assignee is not None:
            fields["assignee_id"] = assignee
        children = [{"event_type": "Create", "field_name": f, f: v} for f, v in fields.items()]
        children.append({"event_type": "Comment", "type": "Comment", "author_id": requester,
                         "body": body, "public": True})  # fmt: skip
        self._event(ticket_id, at, requester, children)

    def change(self, ticket_id: int, at: int, field: str, value: Any, updater: int = 7890) -> None:
        """One field change by an agent (or -1, Zendesk itself)."""
        ticket = self.tickets[ticket_id]
        child = {"event_type": "Change", "field_name": field, field: value,
                 "previous_value": ticket.get(field)}  # fmt: skip
        ticket[field] = value
        self._event(ticket_id, at, updater, [child])

    def comment(self, ticket_id: int, at: int, body: str, public: bool, author: int = 7890) -> None:
        child = {"event_type": "Comment", "type": "Comment", "author_id": author, "body": body,
                 "public": public}  # fmt: skip
        self._event(ticket_id, at, author, [child])

    def rate(self, rating_id: int, ticket_id: int, score: str, at: int, **extra: Any) -> None:
        """Create or update a satisfaction rating (updated_at moves)."""
        ticket = self.tickets.get(ticket_id, {})
        old = self.ratings.get(rating_id, {"created_at": _iso(at)})
        self.ratings[rating_id] = {
            "id": rating_id, "url": f"https://acme.zendesk.com/api/v2/satisfaction_ratings/{rating_id}.json",
            "ticket_id": ticket_id, "assignee_id": ticket.get("assignee_id"),
            "group_id": ticket.get("group_id"), "requester_id": ticket.get("requester_id"),
            "score": score, "comment": None, "reason": None, "reason_code": None,
            "created_at": old["created_at"], "updated_at": _iso(at), **extra,
        }  # fmt: skip

    def between_calls(self, path_pattern: str, nth: int, action: Callable[[], None]) -> None:
        """Run `action` just before answering the nth request whose path matches."""
        self.hooks.append((path_pattern, nth, action))

    # -- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._hook_lock:
            n = sum(1 for r in self.requests if r.path == request.path) + 1
            for pattern, nth, action in self.hooks:
                if re.search(pattern, request.path) and n == nth:
                    action()
        return super().handle(request)

    def _authorized(self, request: Request) -> bool | None:
        """True for good credentials, False for bad ones, None for none at all."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        basic = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        return header in (f"Bearer {self.token}", f"Basic {basic}")

    def _deny(self, request: Request) -> Reply | None:
        if self._authorized(request):
            return None
        return Reply(401, {"error": "Couldn't authenticate you"})

    def _export(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        raw = request.param("start_time")
        if raw is None or not raw.isdigit():
            return Reply(400, {"error": "InvalidValue", "description": "start_time is required"})
        start, horizon = int(raw), int(self.now()) - 60
        if start > horizon:
            reason = "start_time is too recent; use a value at least one minute old"
            return Reply(400, {"error": "InvalidValue", "description": reason})
        chosen = sorted(
            (e for e in self.events if start <= e["timestamp"] <= horizon),
            key=lambda e: (e["timestamp"], e["id"]),
        )[: self.page_limit]
        comments = request.param("include") == "comment_events"
        page = [self._shown(e, comments) for e in chosen]
        end = page[-1]["timestamp"] if page else start
        return Reply(200, {
            "ticket_events": page, "count": len(page), "end_time": end,
            "next_page": f"{self.url}{API}/incremental/ticket_events.json?start_time={end}",
            "end_of_stream": len(page) < self.page_limit,
        })  # fmt: skip

    @staticmethod
    def _shown(event: dict[str, Any], comments: bool) -> dict[str, Any]:
        """Without the comment_events sideload, comments show only as two flags."""
        if comments:
            return event
        children = [
            {"id": c["id"], "via": c["via"], "comment_present": True, "comment_public": c["public"]}
            if c.get("event_type") == "Comment" else c
            for c in event["child_events"]
        ]  # fmt: skip
        return {**event, "child_events": children}

    def _ratings(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        size = int(request.param("page[size]", "100") or 100)
        if not 1 <= size <= 100:
            return Reply(400, {"error": "InvalidPaginationParameter"})
        start, end = int(request.param("start_time", "0") or 0), request.param("end_time")
        after = request.param("page[after]")
        last = int(base64.b64decode(after).decode()) if after else 0
        # Filtered on updated_at, so a rating answered after it was offered comes back.
        chosen = [
            r for _, r in sorted(self.ratings.items())
            if r["id"] > last and int(_parse(r["updated_at"])) >= start
            and (end is None or int(_parse(r["updated_at"])) <= int(end))
        ]  # fmt: skip
        page, more = chosen[:size], len(chosen) > size
        cursor = base64.b64encode(str(page[-1]["id"]).encode()).decode() if page else None
        next_url = f"{self.url}{API}/satisfaction_ratings?page[after]={cursor}" if more else None
        return Reply(200, {
            "satisfaction_ratings": page,
            "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
            "links": {"next": next_url, "prev": None},
        })  # fmt: skip

    def _show_many(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        ids = [int(i) for i in (request.param("ids") or "").split(",") if i]
        found = [
            self.tickets[i]
            for i in ids
            if i in self.tickets and self.tickets[i]["status"] != "deleted"
        ]
        return Reply(200, {"tickets": found})

    def _me(self, request: Request, match: re.Match[str]) -> Reply:
        state = self._authorized(request)
        if state is False:
            return Reply(401, {"error": "Couldn't authenticate you"})
        if state is None:
            return Reply(200, {"user": {"id": None, "name": "Anonymous user", "role": "end-user"}})
        return Reply(200, {"user": {"id": 7890, "name": "Mia Admin", "role": "admin"}})

    def _group(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        name = self.groups.get(int(match["id"]))
        if name is None:
            return Reply(404, {"error": "RecordNotFound", "description": "Not found"})
        return Reply(200, {"group": {"id": int(match["id"]), "name": name}})


def _parse(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
