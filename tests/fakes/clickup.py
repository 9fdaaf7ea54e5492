"""A fake ClickUp API v2 (SOURCES.md §2.2): lists, tasks, time in status, comments, `pk_` auth.

Behaviour reproduced: `GET /list/{id}/task` filters on `date_updated_gt` (exclusive, ms),
`include_closed` and `subtasks`, orders by `order_by` newest first (`reverse=true` flips it) and
pages 100 at a time with `last_page`; `GET /task/bulk_time_in_status/task_ids` takes 2-100
repeated `task_ids` and answers `{task_id: {current_status, status_history}}` (one task:
`GET /task/{id}/time_in_status`) with ONE row per status, whose `since` is the first entry;
`GET /task/{id}/comment` answers 25 comments newest first, older ones via `start`/`start_id`;
the token goes bare in Authorization (no Bearer); a wrong one gets ClickUp's 401
`{"err": "Token invalid", "ECODE": "OAUTH_025"}`.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.base import FakeAPI, Reply, Request

__all__ = ["DEFAULT_STATUSES", "FakeClickUp", "ms"]

DEFAULT_STATUSES = (
    ("to do", "open"),
    ("in progress", "custom"),
    ("client review", "custom"),
    ("in review", "custom"),
    ("complete", "closed"),
)
TASK_PAGE = 100
COMMENT_PAGE = 25
BULK_LIMIT = 100


def ms(moment: datetime | str) -> int:
    """Milliseconds since the epoch of a datetime or an ISO string."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return int(moment.astimezone(UTC).timestamp() * 1000)


@dataclass
class _Hook:
    pattern: str
    nth: int
    fn: Callable[[], None]
    seen: int = 0


class FakeClickUp(FakeAPI):
    """In-memory ClickUp workspace behind a real local HTTP server."""

    def __init__(self, token: str = "pk_183_FAKETOKEN0123456789") -> None:
        super().__init__()
        self.token = token
        self.user = {"id": 183, "username": "Sam", "email": "sam@example.com"}
        self.lists: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}  # task id -> one row per status
        self.entered: dict[str, int] = {}  # task id -> when its current status was entered
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.hooks: list[_Hook] = []
        self._ids = itertools.count(1)
        self.route("GET", r"/user", self._user)
        self.route("GET", r"/list/(?P<list_id>[^/]+)", self._list)
        self.route("GET", r"/list/(?P<list_id>[^/]+)/task", self._tasks)
        self.route("GET", r"/task/bulk_time_in_status/task_ids", self._bulk)
        self.route("GET", r"/task/(?P<task_id>[^/]+)/time_in_status", self._one_status)
        self.route("GET", r"/task/(?P<task_id>[^/]+)/comment", self._comments)

    # -- building the workspace -------------------------------------------------------------

    def add_list(
        self, list_id: str, name: str, statuses: tuple[tuple[str, str], ...] = DEFAULT_STATUSES
    ) -> None:
        self.lists[list_id] = {
            "id": list_id,
            "name": name,
            "statuses": [
                {"status": s, "type": t, "orderindex": i, "color": "#87909e"}
                for i, (s, t) in enumerate(statuses)
            ],
        }

    def add_task(
        self,
        list_id: str,
        name: str,
        at: int,
        *,
        status: str | None = None,
        creator: str = "Sam",
        assignees: tuple[str, ...] = (),
        due: int | None = None,
        parent: str | None = None,
        task_id: str | None = None,
    ) -> str:
        """Create a task at `at` (ms) in the list's first status (or `status`)."""
        task_id = task_id or f"86c{next(self._ids):05x}"
        first = self._status(list_id, status or self.lists[list_id]["statuses"][0]["status"])
        self.tasks[task_id] = {
            "id": task_id, "custom_id": None, "name": name, "text_content": "", "description": "",
            "status": first, "orderindex": "1.00000000", "date_created": str(at),
            "date_updated": str(at), "date_closed": None, "date_done": None, "archived": False,
            "creator": self._person(creator), "assignees": [self._person(a) for a in assignees],
            "watchers": [], "checklists": [], "tags": [], "parent": parent, "priority": None,
            "due_date": None if due is None else str(due), "start_date": None, "points": None,
            "time_estimate": None, "custom_fields": [], "dependencies": [], "linked_tasks": [],
            "team_id": "9001", "url": f"https://app.clickup.com/t/{task_id}",
            "list": {"id": list_id, "name": self.lists[list_id]["name"], "access": True},
            "folder": {"id": "9010", "name": "hidden", "hidden": True, "access": True},
            "space": {"id": "9020"},
        }  # fmt: skip
        self.rows[task_id] = [self._row(first, at)]
        self.entered[task_id] = at
        self.comments[task_id] = []
        return task_id

    def set_status(self, task_id: str, status: str, at: int) -> None:
        """Move a task to another status at `at` (ms), as ClickUp's time-in-status records it."""
        task = self.tasks[task_id]
        row = next(r for r in self.rows[task_id] if r["status"] == task["status"]["status"])
        row["total_time"]["by_minute"] += (at - self.entered[task_id]) // 60000
        new = self._status(task["list"]["id"], status)
        if not any(r["status"] == status for r in self.rows[task_id]):
            self.rows[task_id].append(self._row(new, at))  # a revisit keeps the first `since`
        self.entered[task_id] = at
        task["status"] = new
        if new["type"] in ("done", "closed"):
            task["date_done"] = task["date_closed"] = str(at)
        else:
            task["date_done"] = task["date_closed"] = None
        self.touch(task_id, at)

    def add_comment(self, task_id: str, text: str, at: int, user: str = "Sam") -> str:
        comment_id = str(90080000000 + next(self._ids))
        self.comments[task_id].append(
            {
                "id": comment_id, "comment": [{"text": text}], "comment_text": text,
                "user": self._person(user), "resolved": False, "assignee": None,
                "assigned_by": None, "reactions": [], "date": str(at),
            }
        )  # fmt: skip
        self.touch(task_id, at)
        return comment_id

    def touch(self, task_id: str, at: int) -> None:
        """Any change to a task moves its `date_updated`."""
        self.tasks[task_id]["date_updated"] = str(at)

    def after(self, path_pattern: str, nth: int, fn: Callable[[], None]) -> None:
        """Run `fn` once the n-th request to a matching path has been answered (mid-pull edits)."""
        self.hooks.append(_Hook(path_pattern, nth, fn))

    def _status(self, list_id: str, status: str) -> dict[str, Any]:
        found = next(s for s in self.lists[list_id]["statuses"] if s["status"] == status)
        return dict(found)

    def _row(self, status: dict[str, Any], at: int) -> dict[str, Any]:
        return {
            "status": status["status"], "color": status["color"], "type": status["type"],
            "orderindex": status["orderindex"], "total_time": {"by_minute": 0, "since": str(at)},
        }  # fmt: skip

    def _person(self, username: str) -> dict[str, Any]:
        number = sum(username.encode())
        return {"id": number, "username": username, "email": f"{username.lower()}@example.com",
                "color": "#7b68ee", "initials": username[:2].upper(), "profilePicture": None}  # fmt: skip

    # -- HTTP -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        reply = super().handle(request)
        for hook in self.hooks:
            if re.search(hook.pattern, request.path):
                hook.seen += 1
                if hook.seen == hook.nth:
                    hook.fn()
        return reply

    def _denied(self, request: Request) -> Reply | None:
        if request.headers.get("authorization") != self.token:
            return Reply(401, {"err": "Token invalid", "ECODE": "OAUTH_025"})
        return None

    def _user(self, request: Request, match: re.Match[str]) -> Reply:
        return self._denied(request) or Reply(200, {"user": self.user})

    def _list(self, request: Request, match: re.Match[str]) -> Reply:
        found = self.lists.get(match["list_id"])
        if found is None:
            return self._denied(request) or Reply(
                401, {"err": "Team not authorized", "ECODE": "OAUTH_027"}
            )
        return self._denied(request) or Reply(200, found)

    def _tasks(self, request: Request, match: re.Match[str]) -> Reply:
        if denied := self._denied(request):
            return denied
        list_id = match["list_id"]
        after = int(request.param("date_updated_gt") or 0)
        closed = request.param("include_closed") == "true"
        subtasks = request.param("subtasks") == "true"
        key = {"updated": "date_updated", "created": "date_created"}.get(
            request.param("order_by") or "created", "date_created"
        )
        tasks = [
            t for t in self.tasks.values()
            if t["list"]["id"] == list_id and int(t["date_updated"]) > after
            and (closed or t["status"]["type"] != "closed") and (subtasks or not t["parent"])
        ]  # fmt: skip
        tasks.sort(key=lambda t: (int(t[key]), t["id"]), reverse=request.param("reverse") != "true")
        page = int(request.param("page") or 0)
        chunk = tasks[page * TASK_PAGE : (page + 1) * TASK_PAGE]
        return Reply(200, {"tasks": chunk, "last_page": (page + 1) * TASK_PAGE >= len(tasks)})

    def _bulk(self, request: Request, match: re.Match[str]) -> Reply:
        if denied := self._denied(request):
            return denied
        ids = request.query.get("task_ids", [])
        if not 2 <= len(ids) <= BULK_LIMIT:
            return Reply(400, {"err": "Must provide between 2 and 100 task ids", "ECODE": "TIS_001"})  # fmt: skip
        return Reply(200, {i: self._time_in_status(i) for i in ids if i in self.tasks})

    def _one_status(self, request: Request, match: re.Match[str]) -> Reply:
        if denied := self._denied(request):
            return denied
        if match["task_id"] not in self.tasks:
            return Reply(404, {"err": "Task not found", "ECODE": "ITEM_013"})
        return Reply(200, self._time_in_status(match["task_id"]))

    def _time_in_status(self, task_id: str) -> dict[str, Any]:
        task, since = self.tasks[task_id], self.entered[task_id]
        spent = (int(time.time() * 1000) - since) // 60000
        return {
            "current_status": {
                "status": task["status"]["status"], "color": task["status"]["color"],
                "total_time": {"by_minute": spent, "since": str(since)},
            },
            "status_history": [dict(r) for r in self.rows[task_id]],
        }  # fmt: skip

    def _comments(self, request: Request, match: re.Match[str]) -> Reply:
        if denied := self._denied(request):
            return denied
        task_id = match["task_id"]
        if task_id not in self.comments:
            return Reply(404, {"err": "Task not found", "ECODE": "ITEM_013"})
        ordered = sorted(
            self.comments[task_id], key=lambda c: (int(c["date"]), int(c["id"])), reverse=True
        )
        start, start_id = request.param("start"), request.param("start_id")
        if start and start_id:
            cut = (int(start), int(start_id))
            ordered = [c for c in ordered if (int(c["date"]), int(c["id"])) < cut]
        return Reply(200, {"comments": ordered[:COMMENT_PAGE]})
