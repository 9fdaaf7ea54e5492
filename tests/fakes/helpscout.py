"""A fake Help Scout Mailbox API 2.0: OAuth client credentials, HAL pages, threads, ratings."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import FakeAPI, Reply, Request

__all__ = ["HelpScoutFake"]


class HelpScoutFake(FakeAPI):
    """Conversations change when threads are added; `modifiedAt` is kept server-side only."""

    def __init__(
        self, token: str = "hs_personal_token", app_id: str = "app-123",
        app_secret: str = "hs_app_secret", page_size: int = 50, thread_page_size: int = 50,
    ) -> None:  # fmt: skip
        super().__init__()
        self.token, self.app_id, self.app_secret = token, app_id, app_secret
        self.page_size, self.thread_page_size = page_size, thread_page_size
        self.issued: set[str] = set()
        self.mailboxes = {85: "Support", 86: "Sales"}
        self.conversations: dict[int, dict[str, Any]] = {}
        self.modified: dict[int, str] = {}
        self.threads: dict[int, list[dict[str, Any]]] = {}
        self.ratings: dict[int, dict[str, Any]] = {}
        self.hooks: list[tuple[str, int, Callable[[], None]]] = []
        self._ids = iter(range(3002000, 3999999))
        self._hook_lock = threading.Lock()
        self.route("POST", r"/v2/oauth2/token", self._token)
        self.route("GET", r"/v2/conversations", self._conversations)
        self.route("GET", r"/v2/conversations/(?P<id>\d+)/threads", self._threads)
        self.route("GET", r"/v2/ratings/(?P<id>\d+)", self._rating)
        self.route("GET", r"/v2/users/me", self._me)
        self.route("GET", r"/v2/mailboxes", self._mailboxes)
        self.route("GET", r"/v2/mailboxes/(?P<id>\d+)", self._mailbox)

    # -- data ---------------------------------------------------------------------------------
    def open(
        self, conversation_id: int, at: str, *, mailbox: int = 85, customer: int = 449379,
        subject: str = "Where is my order?", body: str = "Hello?",
    ) -> None:  # fmt: skip
        """A customer writes in: a new active conversation with its first thread."""
        self.conversations[conversation_id] = {
            "id": conversation_id, "number": conversation_id - 1000, "threads": 0, "type": "email",
            "folderId": 1, "status": "active", "state": "published", "subject": subject,
            "mailboxId": mailbox, "createdAt": at,
            "createdBy": {"id": customer, "type": "customer", "first": "Vernon", "last": "Bear"},
            "primaryCustomer": {"id": customer, "type": "customer", "first": "Vernon", "last": "Bear"},
            "source": {"type": "email", "via": "customer"}, "tags": [],
        }  # fmt: skip
        self.threads[conversation_id] = []
        self.add_thread(conversation_id, at, "customer", "active", body=body, by_customer=True)

    def add_thread(
        self, conversation_id: int, at: str, kind: str = "message", status: str = "nochange", *,
        body: str | None = None, by_customer: bool = False, assign: int | bool | None = False,
    ) -> dict[str, Any]:  # fmt: skip
        """A thread (reply, note, line item); `status` is what it set, `assign` whom (False: no one new)."""
        author = ({"id": 449379, "type": "customer", "first": "Vernon", "last": "Bear"} if by_customer
                  else {"id": 11, "type": "user", "first": "Mia", "last": "Lee"})  # fmt: skip
        thread: dict[str, Any] = {
            "id": next(self._ids), "type": kind, "status": status, "state": "published",
            "body": body, "source": {"type": "email", "via": "user"}, "createdBy": author,
            "createdAt": at, "_embedded": {"attachments": []},
        }  # fmt: skip
        if assign is not False:
            thread["assignedTo"] = (
                None if assign is None else {"id": assign, "type": "user", "first": "Sam", "last": "Ode"}
            )  # fmt: skip
        self.threads[conversation_id].append(thread)
        convo = self.conversations[conversation_id]
        convo["threads"] = len(self.threads[conversation_id])
        if status != "nochange":
            convo["status"] = status
        self.modified[conversation_id] = at
        return thread

    def rate(self, conversation_id: int, thread: dict[str, Any], rating_id: int, value: str,
             at: str, *, with_id: bool = True, comments: str | None = None) -> None:  # fmt: skip
        """The customer rates a reply; the thread shows it, the ratings endpoint has it."""
        self.ratings[rating_id] = {
            "id": rating_id, "customer": {"id": 449379, "email": "vbear@example.com"},
            "threadId": thread["id"], "conversationId": conversation_id,
            "conversationNumber": conversation_id - 1000, "mailboxId": 85, "rating": value,
            "user": {"id": 11, "firstName": "Mia", "lastName": "Lee"}, "comments": comments,
            "createdAt": at.rstrip("Z"), "modifiedAt": at.rstrip("Z"),
        }  # fmt: skip
        embedded = {"customerId": 449379, "rating": value, "comments": comments}
        thread["rating"] = {"id": rating_id, **embedded} if with_id else embedded
        self.modified[conversation_id] = at

    def expire_tokens(self) -> None:
        """Every issued bearer stops working (they last about 48 h)."""
        self.issued.clear()

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

    def _deny(self, request: Request) -> Reply | None:
        header = request.headers.get("authorization", "")
        bearer = header.removeprefix("Bearer ")
        if header.startswith("Bearer ") and (bearer == self.token or bearer in self.issued):
            return None
        return Reply(
            401, {"error": "invalid_token", "error_description": "The access token expired"}
        )

    def _token(self, request: Request, match: re.Match[str]) -> Reply:
        try:
            form = json.loads(request.body)
        except ValueError:
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (self.app_id, self.app_secret):
            return Reply(401, {"error": "invalid_client"})
        bearer = secrets.token_hex(8)
        self.issued.add(bearer)
        return Reply(200, {"token_type": "bearer", "access_token": bearer, "expires_in": 172800})

    def _page(self, items: list[dict[str, Any]], key: str, request: Request, size: int) -> Reply:
        number = int(request.param("page", "1") or 1)
        total = -(-len(items) // size)
        chunk = items[(number - 1) * size : number * size]
        links: dict[str, Any] = {"self": {"href": f"{self.url}{request.path}?page={number}"}}
        if number < total:
            links["next"] = {"href": f"{self.url}{request.path}?page={number + 1}"}
        body: dict[str, Any] = {
            "_embedded": {key: chunk}, "_links": links,
            "page": {"size": size, "totalElements": len(items), "totalPages": total, "number": number},
        }  # fmt: skip
        return Reply(200, body, {"Content-Type": "application/hal+json"})

    def _conversations(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        status = request.param("status", "active")
        since = request.param("modifiedSince")
        mailbox = request.param("mailbox")
        chosen = [
            c for cid, c in self.conversations.items()
            if (status == "all" or c["status"] == status)
            and (since is None or self.modified[cid] >= since)
            and (mailbox is None or str(c["mailboxId"]) in mailbox.split(","))
        ]  # fmt: skip
        if request.param("sortField") == "modifiedAt":
            desc = request.param("sortOrder") == "desc"
            chosen.sort(key=lambda c: (self.modified[c["id"]], c["id"]), reverse=desc)
        return self._page(chosen, "conversations", request, self.page_size)

    def _threads(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        threads = self.threads.get(int(match["id"]))
        if threads is None:
            return Reply(404, {"message": "Conversation not found"})
        newest_first = sorted(threads, key=lambda t: (t["createdAt"], t["id"]), reverse=True)
        return self._page(newest_first, "threads", request, self.thread_page_size)

    def _rating(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        rating = self.ratings.get(int(match["id"]))
        return Reply(200, rating) if rating else Reply(404, {"message": "Rating not found"})

    def _me(self, request: Request, match: re.Match[str]) -> Reply:
        return self._deny(request) or Reply(
            200, {"id": 11, "firstName": "Mia", "lastName": "Lee", "email": "mia@acme.test"}
        )

    def _mailboxes(self, request: Request, match: re.Match[str]) -> Reply:
        boxes = [{"id": i, "name": n} for i, n in self.mailboxes.items()]
        return self._deny(request) or self._page(boxes, "mailboxes", request, 50)

    def _mailbox(self, request: Request, match: re.Match[str]) -> Reply:
        denied = self._deny(request)
        if denied:
            return denied
        name = self.mailboxes.get(int(match["id"]))
        if name is None:
            return Reply(404, {"message": "Mailbox not found"})
        return Reply(200, {"id": int(match["id"]), "name": name})
