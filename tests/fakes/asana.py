"""A fake Asana API (SOURCES.md §2.1): projects, tasks and stories in memory, served over real HTTP.

It keeps Asana's habits that a connector can get wrong: bearer auth with Asana's error shape,
`limit` + opaque `offset` paging with `next_page` (offsets can be expired on demand), compact
records unless `opt_fields` asks for more, `modified_since` on the task listing (a new story
modifies its task), and stories oldest first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.fakes.base import FakeAPI, Reply, Request

__all__ = ["FakeAsana", "iso"]

TASK_COMPACT = ("gid", "resource_type", "name", "resource_subtype")
STORY_COMPACT = ("gid", "resource_type", "created_at", "created_by", "resource_subtype", "text", "type")  # fmt: skip
MAX_LIMIT = 100


def iso(value: datetime | str) -> str:
    """Asana's timestamp format: UTC, milliseconds, Z."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _errors(status: int, message: str) -> Reply:
    return Reply(status, {"errors": [{"message": message, "help": "https://developers.asana.com"}]})


def _user(name: str | None) -> dict[str, Any] | None:
    return {"gid": f"u-{name.lower()}", "resource_type": "user", "name": name} if name else None


def _fields(
    obj: dict[str, Any], opt_fields: str | None, compact: tuple[str, ...]
) -> dict[str, Any]:
    """Asana returns compact records unless opt_fields names more (dotted paths pick the field)."""
    wanted = (
        set(compact)
        if opt_fields is None
        else {"gid", "resource_type"} | {f.split(".", 1)[0] for f in opt_fields.split(",") if f}
    )
    return {k: v for k, v in obj.items() if k in wanted}


class FakeAsana(FakeAPI):
    """Asana's REST API over a small in-memory workspace."""

    def __init__(self, token: str = "asana-test-token", *, eager_next: bool = False) -> None:
        super().__init__()
        self.token = token
        self.eager_next = eager_next  # a full page always points at a next one (maybe empty)
        self.me = {"gid": "501", "name": "Mia Owner", "email": "mia@example.com",
                   "workspaces": [{"gid": "1", "name": "Acme"}]}  # fmt: skip
        self.projects: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}  # gid -> task, in creation order
        self.task_projects: dict[str, list[str]] = {}
        self.stories: dict[str, list[dict[str, Any]]] = {}
        self.offsets: dict[str, int] = {}  # live offset token -> index of the next item
        self.hooks: list[tuple[re.Pattern[str], int, Callable[[], None]]] = []
        self._seen: dict[int, int] = {}  # hook index -> matching requests so far
        self._gid = 1_200_000
        self.route("GET", r"/users/me", self._me)
        self.route("GET", r"/projects/(?P<gid>[^/]+)", self._project)
        self.route("GET", r"/tasks", self._tasks)
        self.route("GET", r"/tasks/(?P<gid>[^/]+)/stories", self._stories)

    # -- building the workspace -------------------------------------------------------------

    def new_gid(self) -> str:
        self._gid += 1
        return str(self._gid)

    def add_project(self, gid: str, name: str) -> dict[str, Any]:
        self.projects[gid] = {"gid": gid, "resource_type": "project", "name": name}
        return self.projects[gid]

    def add_task(self, project: str, created_at: datetime | str, *, gid: str | None = None,
                 name: str = "A task", creator: str | None = "Mia Owner", **extra: Any) -> dict[str, Any]:  # fmt: skip
        """A new task in a project; `extra` holds any other task field (assignee, custom_fields...)."""
        gid = gid or self.new_gid()
        at = iso(created_at)
        self.tasks[gid] = {
            "gid": gid, "resource_type": "task", "resource_subtype": "default_task", "name": name,
            "created_at": at, "modified_at": at, "completed": False, "completed_at": None,
            "created_by": _user(creator),
            "memberships": [{"project": {"gid": project, "name": self.projects[project]["name"]}}],
            **extra,
        }  # fmt: skip
        self.task_projects[gid] = [project]
        self.stories[gid] = []
        return self.tasks[gid]

    def add_story(self, task: str, subtype: str, created_at: datetime | str, *,
                  actor: str | None = "Mia Owner", **fields: Any) -> dict[str, Any]:  # fmt: skip
        """A story on a task (it modifies the task, as Asana does)."""
        at = iso(created_at)
        story = {
            "gid": self.new_gid(), "resource_type": "story", "created_at": at,
            "created_by": _user(actor),
            "type": "comment" if subtype == "comment_added" else "system", "resource_subtype": subtype,
            "text": fields.pop("text", subtype.replace("_", " ")),
            "target": {"gid": task, "resource_type": "task", "name": self.tasks[task]["name"]},
            **fields,
        }  # fmt: skip
        self.stories[task].append(story)
        self.stories[task].sort(key=lambda s: s["created_at"])
        self.touch(task, at)
        return story

    def touch(self, task: str, at: datetime | str) -> None:
        """Move a task's modified_at forward (a change that left no story, e.g. a rename)."""
        self.tasks[task]["modified_at"] = max(self.tasks[task]["modified_at"], iso(at))

    def when(self, path_pattern: str, nth: int, action: Callable[[], None]) -> None:
        """Run `action` just before answering the n-th request to a path (data changing mid-pull)."""
        self.hooks.append((re.compile(path_pattern), nth, action))

    def expire_offsets(self) -> None:
        """Every offset handed out so far stops working (Asana's offsets expire)."""
        self.offsets.clear()

    # -- the API ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        for index, (pattern, nth, action) in enumerate(self.hooks):
            if pattern.search(request.path):
                self._seen[index] = self._seen.get(index, 0) + 1
                if self._seen[index] == nth:
                    action()
        if request.headers.get("authorization") != f"Bearer {self.token}":
            with self.lock:
                self.requests.append(request)
            return _errors(401, "Not Authorized")
        return super().handle(request)

    def _me(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(200, {"data": _fields(self.me, request.param("opt_fields"), ("gid", "name"))})

    def _project(self, request: Request, match: re.Match[str]) -> Reply:
        project = self.projects.get(match["gid"])
        if project is None:
            return _errors(404, f"project: Not a recognized ID: {match['gid']}")
        return Reply(200, {"data": _fields(project, request.param("opt_fields"), ("gid", "name"))})

    def _tasks(self, request: Request, match: re.Match[str]) -> Reply:
        project = request.param("project")
        if not project:
            return _errors(400, "Must specify exactly one of project, tag, section, ...")
        if project not in self.projects:
            return _errors(404, f"project: Not a recognized ID: {project}")
        since_text = request.param("modified_since")
        try:
            since = iso(since_text) if since_text else None
        except ValueError:
            return _errors(400, "modified_since: Not a valid date-time")
        items = [
            t for gid, t in self.tasks.items()
            if project in self.task_projects[gid] and (since is None or t["modified_at"] >= since)
        ]  # fmt: skip
        return self._page(request, items, TASK_COMPACT)

    def _stories(self, request: Request, match: re.Match[str]) -> Reply:
        if match["gid"] not in self.tasks:
            return _errors(404, f"task: Not a recognized ID: {match['gid']}")
        return self._page(request, self.stories[match["gid"]], STORY_COMPACT)

    def _page(
        self, request: Request, items: list[dict[str, Any]], compact: tuple[str, ...]
    ) -> Reply:
        opt_fields = request.param("opt_fields")
        limit_text = request.param("limit")
        if limit_text is None:
            return Reply(200, {"data": [_fields(i, opt_fields, compact) for i in items]})
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
            return _errors(400, f"limit: Must be between 1 and {MAX_LIMIT}")
        limit, offset = int(limit_text), request.param("offset")
        if offset is not None and offset not in self.offsets:
            return _errors(400, "offset: Your pagination token has expired.")
        start = self.offsets[offset] if offset is not None else 0
        page = items[start : start + limit]
        more = start + limit < len(items) or (self.eager_next and len(page) == limit)
        following = None
        if more:
            token = uuid.uuid4().hex
            self.offsets[token] = start + limit
            path = f"{request.path}?limit={limit}&offset={token}"
            following = {"offset": token, "path": path, "uri": f"{self.url}{path}"}
        return Reply(
            200, {"data": [_fields(i, opt_fields, compact) for i in page], "next_page": following}
        )
