"""Asana stories and tasks -> canonical events (SOURCES.md §2.1 mapping bullets)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from flows.sources.names import stage_from_name
from models.errors import PayloadInvalid
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["APPROVAL_STAGES", "SOURCE", "Story", "Task", "iso", "normalize"]

SOURCE = "asana"
STATUS_FIELD = "Status"  # the enum custom field that holds the stage (option `status_field`)
CLIENT_FIELD = "Client"  # the custom field that names the client (option `client_field`)
# Our reading of approval tasks (SOURCES.md §2.1): Asana completes the last three.
APPROVAL_STAGES = {
    "pending": "review",
    "changes_requested": "active",
    "approved": "done",
    "rejected": "done",
}
# Story subtypes that set the stage without naming a status: (kind, stage after).
FIXED_MOVES = {
    "marked_complete": ("completed", "done"),
    "marked_incomplete": ("reopened", "active"),
    "marked_duplicate": ("cancelled", "cancelled"),
}
_CLOSED = ("done", "cancelled")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Ref(_Lenient):
    gid: str | None = None
    name: str | None = None


class _CustomField(_Lenient):
    name: str | None = None
    display_value: str | None = None


class _Dates(_Lenient):
    due_at: str | None = None
    due_on: str | None = None


class _DateValue(_Lenient):
    date: str | None = None
    date_time: str | None = None


class Task(_Lenient):
    """The task fields read: its creation, title and client."""

    gid: str
    name: str | None = None
    created_at: AwareDatetime
    created_by: _Ref | None = None
    custom_fields: list[_CustomField] = Field(default_factory=list)


class Story(_Lenient):
    """The story fields read: one change to a task, with paired old_*/new_* values."""

    gid: str
    created_at: AwareDatetime
    created_by: _Ref | None = None
    resource_subtype: str | None = None
    text: str | None = None
    target: _Ref | None = None
    old_section: _Ref | None = None
    new_section: _Ref | None = None
    assignee: _Ref | None = None
    custom_field: _Ref | None = None
    old_enum_value: _Ref | None = None
    new_enum_value: _Ref | None = None
    old_dates: _Dates | None = None
    new_dates: _Dates | None = None
    old_date_value: _DateValue | None = None
    new_date_value: _DateValue | None = None
    old_approval_status: str | None = None
    new_approval_status: str | None = None


Change = tuple[str, dict[str, Any]]  # (kind, canonical fields; "attributes" merged in)


def iso(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z, as Asana writes it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalize(record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]:
    """A task record gives its `created` event; a story gives at most one event (others: none)."""
    if record.external_id.startswith(f"{SOURCE}:task:"):
        yield _created(_parse(Task, record), record, config)
    elif record.external_id.startswith(f"{SOURCE}:story:"):
        yield from _story_events(_parse(Story, record), record, config)
    else:
        raise PayloadInvalid(f"{record.external_id!r} is not an Asana task or story record")


_Model = TypeVar("_Model", bound=_Lenient)


def _parse(model: type[_Model], record: RawRecord) -> _Model:
    try:
        return model.model_validate(record.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise PayloadInvalid(f"{record.external_id}: {where}: {first['msg']}") from exc


def _event(
    record: RawRecord,
    config: SourceConfig,
    task_gid: str,
    kind: str,
    at: datetime,
    actor: _Ref | None,
    fields: dict[str, Any],
) -> dict[str, Any]:
    attributes = {"task_gid": task_gid, "project_gid": record.scope, **fields.pop("attributes", {})}
    return {
        "event_id": hashlib.sha256(record.external_id.encode("utf-8")).hexdigest(),
        "source": SOURCE,
        "kind": kind,
        "process": config.scopes.get(record.scope or "") or config.default_process or record.scope,
        "case_id": f"{SOURCE}:task:{task_gid}",
        "occurred_at": iso(at),
        "actor": actor.name if actor else None,
        **fields,
        "attributes": attributes,
    }


def _created(task: Task, record: RawRecord, config: SourceConfig) -> dict[str, Any]:
    # The task holds today's section, assignee and due date, not those at creation; the stories
    # carry every change, so the created event claims none of them (the stage defaults to backlog).
    wanted = str(config.options.get("client_field", CLIENT_FIELD)).lower()
    client = next(
        (f.display_value for f in task.custom_fields if (f.name or "").lower() == wanted), None
    )
    fields = {"case_title": task.name, "client_id": client}
    return _event(record, config, task.gid, "created", task.created_at, task.created_by, fields)


def _story_events(
    story: Story, record: RawRecord, config: SourceConfig
) -> Iterator[dict[str, Any]]:
    task_gid = (story.target.gid if story.target else None) or _task_of(record.endpoint)
    subtype = story.resource_subtype or ""
    if story.new_approval_status is not None:
        change: Change | None = _approval(story, record)
    elif subtype in FIXED_MOVES:
        kind, stage = FIXED_MOVES[subtype]
        change = kind, {"stage": stage}
    else:
        reader = _READERS.get(subtype)
        change = reader(story, record, config) if reader else None  # likes, renames, ...: no event
    if change is None:
        return
    kind, fields = change
    fields["attributes"] = {
        "story_gid": story.gid,
        "resource_subtype": subtype,
        **fields.get("attributes", {}),
    }
    yield _event(record, config, task_gid, kind, story.created_at, story.created_by, fields)


def _task_of(endpoint: str) -> str:
    parts = endpoint.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "tasks" and parts[2] == "stories" and parts[1]:
        return parts[1]
    raise PayloadInvalid(f"story from {endpoint!r} names no task (no target.gid)")


def _move(before_name: str | None, after_name: str | None, record: RawRecord) -> Change:
    """A stage move between two user-named statuses, classified through the name table."""
    if not after_name:
        raise PayloadInvalid(f"{record.external_id}: a status change without the new status")
    before = stage_from_name(before_name) if before_name else None
    after = stage_from_name(after_name)
    fields = {
        "stage": after,
        "original_status": after_name,
        "attributes": {"status_from": before_name},
    }
    return _transition(before, after), fields


def _transition(before: str | None, after: str) -> str:
    """SOURCES.md rules: entering done completes, leaving done/cancelled reopens."""
    if after == "done" and before != "done":
        return "completed"
    if before in _CLOSED and after not in _CLOSED:
        return "reopened"
    return "stage_changed"


def _section(story: Story, record: RawRecord, config: SourceConfig) -> Change:
    old, new = story.old_section, story.new_section
    return _move(old.name if old else None, new.name if new else None, record)


def _status_enum(story: Story, record: RawRecord, config: SourceConfig) -> Change | None:
    wanted = str(config.options.get("status_field", STATUS_FIELD)).lower()
    if story.custom_field is None or (story.custom_field.name or "").lower() != wanted:
        return None  # another enum field: not a stage
    old, new = story.old_enum_value, story.new_enum_value
    return _move(old.name if old else None, new.name if new else None, record)


def _approval(story: Story, record: RawRecord) -> Change:
    status, previous = story.new_approval_status or "", story.old_approval_status
    if status not in APPROVAL_STAGES:
        raise PayloadInvalid(f"{record.external_id}: unknown approval status {status!r}")
    before = APPROVAL_STAGES.get(previous or "")
    after = APPROVAL_STAGES[status]
    fields = {"stage": after, "original_status": status, "attributes": {"status_from": previous}}
    return _transition(before, after), fields


def _assignment(story: Story, record: RawRecord, config: SourceConfig) -> Change:
    assignee = None if story.resource_subtype == "unassigned" else story.assignee
    return "assigned", {"assignee": assignee.name if assignee else None}


def _due(dates: _Dates | None, value: _DateValue | None) -> str | None:
    """A due date from `*_dates` (due_date_changed) or `*_date_value` (date custom fields)."""
    if dates and (dates.due_at or dates.due_on):
        return dates.due_at or dates.due_on
    return (value.date_time or value.date) if value else None


def _due_change(story: Story, record: RawRecord, config: SourceConfig) -> Change:
    due_from = _due(story.old_dates, story.old_date_value)
    return "due_changed", {
        "due_at": _due(story.new_dates, story.new_date_value),
        "attributes": {"due_from": due_from},
    }


def _comment(story: Story, record: RawRecord, config: SourceConfig) -> Change:
    return "commented", {"comment": story.text}


_READERS: dict[str, Callable[[Story, RawRecord, SourceConfig], Change | None]] = {
    "section_changed": _section,
    "enum_custom_field_changed": _status_enum,
    "assigned": _assignment,
    "reassigned": _assignment,
    "unassigned": _assignment,
    "due_date_changed": _due_change,
    "comment_added": _comment,
}
