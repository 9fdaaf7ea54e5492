"""ClickUp payloads -> canonical events (SOURCES.md §2.2): tasks, time-in-status histories, comments.

ClickUp has no activity endpoint, so three kinds of landed objects feed the events:
- a task -> `created` at `date_created`, carrying the task's name, assignee and due date *as of
  the pull* (REST keeps no history of them; each night's pull upserts the same event);
- a task's time-in-status object -> one stage event per status row at its `since` (actor null):
  stage_changed, completed on entering done, reopened on leaving done/cancelled. ClickUp keeps
  one row per status, so a status visited twice shows once; when `current_status` was entered
  later than its row says, that re-entry becomes one more event, so the current stage is right;
- a comment -> `commented`.
Stages: status type `open` -> backlog, `custom` -> the name table, `done`/`closed` -> done (or
cancelled when the name says so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.sources.names import stage_from_name
from models.errors import PayloadInvalid
from models.events import EVENT_FIELDS

__all__ = [
    "SOURCE",
    "comment_event",
    "iso_ms",
    "status_events",
    "status_key",
    "task_created",
    "task_stage",
    "transition_kind",
]

SOURCE = "clickup"
_OPEN = frozenset({"backlog", "active", "review", "waiting_on_client"})
_FINISHED = frozenset({"done", "cancelled"})


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _User(_Payload):
    id: int | str | None = None
    username: str | None = None


class _Ref(_Payload):
    id: str | None = None
    name: str | None = None


class _Status(_Payload):
    status: str
    type: str | None = None


class _Task(_Payload):
    id: str = Field(min_length=1)
    name: str | None = None
    custom_id: str | None = None
    status: _Status | None = None
    date_created: int  # ms since the epoch; ClickUp sends strings, pydantic reads them as ints
    creator: _User | None = None
    assignees: list[_User] = Field(default_factory=list)
    due_date: int | None = None
    parent: str | None = None
    home_list: _Ref | None = Field(default=None, alias="list")


class _TotalTime(_Payload):
    by_minute: int | None = None
    since: int


class _StatusRow(_Payload):
    status: str
    type: str | None = None
    orderindex: int | None = None
    total_time: _TotalTime


class _CurrentStatus(_Payload):
    status: str
    total_time: _TotalTime


class _TimeInStatus(_Payload):
    current_status: _CurrentStatus | None = None
    status_history: list[_StatusRow] = Field(default_factory=list)


class _Comment(_Payload):
    id: str = Field(min_length=1)
    comment_text: str | None = None
    user: _User | None = None
    date: int


_M = TypeVar("_M", bound=BaseModel)


def _parse(model: type[_M], payload: Any, what: str) -> _M:
    if not isinstance(payload, dict):
        raise PayloadInvalid(f"a ClickUp {what} must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or what
        raise PayloadInvalid(f"ClickUp {what} field '{where}' is invalid ({first['msg']})") from exc


def iso_ms(ms: int) -> str:
    """ISO 8601 UTC with milliseconds and `Z` for a ClickUp ms-epoch time."""
    try:
        moment = datetime.fromtimestamp(ms // 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadInvalid(f"ClickUp time {ms} is not a valid ms-epoch timestamp") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def status_key(task_id: str, status: str, since_ms: int) -> str:
    """SOURCES.md's dedup key of a status entry: (task_id, "status", status name, since ms)."""
    return f"{SOURCE}:{task_id}:status:{status}:{since_ms}"


def task_stage(status: str, status_type: str | None) -> str:
    """The stage class of a ClickUp status (its type first, then its name)."""
    named = stage_from_name(status)
    if status_type in ("done", "closed"):
        return "cancelled" if named == "cancelled" else "done"
    if status_type == "open":
        return "backlog"
    return named


def transition_kind(before: str | None, after: str) -> str:
    """completed on entering done, reopened on leaving done/cancelled for an open stage."""
    if after == "done" and before != "done":
        return "completed"
    if before in _FINISHED and after in _OPEN:
        return "reopened"
    return "stage_changed"


def _event(key: str, task_id: str, process: str, ingest_path: str, **fields: Any) -> dict[str, Any]:
    attributes = {
        "case_type": "task",
        "ingest_path": ingest_path,
        "task_id": task_id,
        **fields.pop("attributes", {}),
    }
    event: dict[str, Any] = dict.fromkeys(EVENT_FIELDS)
    event.update(
        event_id=hashlib.sha256(key.encode()).hexdigest(),
        source=SOURCE,
        process=process,
        case_id=f"{SOURCE}:task:{task_id}",
        attributes={k: v for k, v in attributes.items() if v is not None},
        **fields,
    )
    return event


def task_created(payload: Any, process: str, ingest_path: str = "pull") -> dict[str, Any]:
    """The `created` event of a task, with its current name, assignee and due date."""
    task = _parse(_Task, payload, "task")
    names = [a.username for a in task.assignees if a.username]
    return _event(
        f"{SOURCE}:task:{task.id}", task.id, process, ingest_path,
        kind="created",
        occurred_at=iso_ms(task.date_created),
        actor=task.creator.username if task.creator else None,
        assignee=names[0] if names else None,
        due_at=None if task.due_date is None else iso_ms(task.due_date),
        case_title=task.name,
        attributes={
            "list_id": task.home_list.id if task.home_list else None,
            "parent_task_id": task.parent,
            "custom_id": task.custom_id,
            "assignees": names if len(names) > 1 else None,
            "actor_id": task.creator.id if task.creator else None,
        },
    )  # fmt: skip


def _steps(history: _TimeInStatus) -> list[tuple[str, str | None, int]]:
    """(status, type, entered ms) in time order, plus a later re-entry of the current status."""
    rows = sorted(history.status_history, key=lambda r: (r.total_time.since, r.orderindex or 0))
    steps = [(r.status, r.type, r.total_time.since) for r in rows]
    current = history.current_status
    if current is None:
        return steps
    entered = current.total_time.since
    known = (current.status, entered) in {(s, t) for s, _, t in steps}
    if not steps or (not known and entered > steps[-1][2]):
        types = {r.status.lower(): r.type for r in rows}
        steps.append((current.status, types.get(current.status.lower()), entered))
    return steps


def status_events(
    payload: Any, process: str, ingest_path: str = "pull"
) -> Iterator[dict[str, Any]]:
    """One stage event per entry of a task's status history (`{task_id: time-in-status}`)."""
    if not isinstance(payload, dict) or len(payload) != 1:
        raise PayloadInvalid("a ClickUp time-in-status record must be {task_id: {...}}")
    ((task_id, body),) = payload.items()
    history = _parse(_TimeInStatus, body, "time-in-status object")
    before: tuple[str, str] | None = None
    for status, status_type, entered in _steps(history):
        stage = task_stage(status, status_type)
        yield _event(
            status_key(str(task_id), status, entered), str(task_id), process, ingest_path,
            kind=transition_kind(before[1] if before else None, stage),
            occurred_at=iso_ms(entered),
            stage=stage,
            original_status=status,
            attributes={"status_from": before[0] if before else None, "status_type": status_type},
        )  # fmt: skip
        before = (status, stage)


def comment_event(
    payload: Any, task_id: str, process: str, ingest_path: str = "pull"
) -> dict[str, Any]:
    """The `commented` event of one task comment."""
    comment = _parse(_Comment, payload, "comment")
    return _event(
        f"{SOURCE}:comment:{comment.id}", task_id, process, ingest_path,
        kind="commented",
        occurred_at=iso_ms(comment.date),
        actor=comment.user.username if comment.user else None,
        comment=comment.comment_text or "",
        attributes={
            "comment_id": comment.id,
            "actor_id": comment.user.id if comment.user else None,
        },
    )  # fmt: skip
