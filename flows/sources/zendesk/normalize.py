"""Zendesk payloads to canonical events: one per ticket child event, one per answered rating."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.sources.names import stage_from_name
from flows.sources.zendesk.api import NAME
from models.errors import PayloadInvalid
from models.events import EVENT_FIELDS
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["CSAT_SCORES", "STATUS_STAGES", "normalize"]

STATUS_STAGES = {
    "new": "backlog",
    "open": "active",
    "pending": "waiting_on_client",
    "hold": "active",  # waiting on a third party, not on the client; the raw value is kept
    "solved": "done",
    "closed": "done",
    "deleted": "cancelled",
}
CSAT_SCORES = {"good": 1, "bad": 0}  # `offered`/`unoffered` are not answers
TRACKED_FIELDS = ("status", "assignee_id", "due_at", "group_id")
SYSTEM_USER = -1  # updater_id of changes made by Zendesk itself (automations)


class _TicketEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    ticket_id: int
    timestamp: int
    updater_id: int | None = None
    via: Any = None
    child_events: list[dict[str, Any]] = Field(default_factory=list)


class _Rating(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    ticket_id: int
    score: str
    comment: str | None = None
    reason: str | None = None
    reason_code: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    group_id: int | None = None
    created_at: datetime
    updated_at: datetime | None = None


def _iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _id(value: Any) -> str | None:
    return None if value is None or value == SYSTEM_USER else str(value)


def _event(key: str, record: RawRecord, config: SourceConfig, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = dict.fromkeys(EVENT_FIELDS)
    scope = record.scope or ""
    event.update(
        event_id=hashlib.sha256(key.encode()).hexdigest(),
        source=NAME,
        process=config.scopes.get(scope) or config.default_process or scope or None,
        **fields,
    )
    return event


def normalize(record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]:
    """Canonical events of one ticket event (per child event) or one satisfaction rating."""
    try:
        if record.external_id.startswith("zendesk:rating:"):
            yield from _rating_events(_Rating.model_validate(record.payload), record, config)
        else:
            yield from _ticket_events_of(
                _TicketEvent.model_validate(record.payload), record, config
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PayloadInvalid(f"zendesk {record.external_id}: {where} {first['msg']}") from exc


def _field(child: dict[str, Any]) -> tuple[str | None, Any]:
    """(field, new value) of a Create/Change child event, in either export shape."""
    field = child.get("field_name")
    if field is None:
        field = next((f for f in TRACKED_FIELDS if f in child), None)
    if field is None:
        return None, None
    return str(field), child.get(field, child.get("value"))


def _ticket_events_of(
    item: _TicketEvent, record: RawRecord, config: SourceConfig
) -> Iterator[dict[str, Any]]:
    at = _iso(datetime.fromtimestamp(item.timestamp, UTC))
    base = {"case_id": f"zendesk:ticket:{item.ticket_id}", "occurred_at": at,
            "actor": _id(item.updater_id)}  # fmt: skip
    attrs = {"ticket_event_id": item.id, "updater_id": item.updater_id, "via": item.via}
    creates = [c for c in item.child_events if _kind_of(c) == "Create"]
    if creates:
        yield _created(creates, record, config, base, attrs)
    for child in item.child_events:
        if _kind_of(child) == "Change":
            yield from _change(child, record, config, base, attrs)
        elif _kind_of(child) == "Comment":
            yield _comment(child, record, config, base, attrs)


def _comment(child: dict[str, Any], record: RawRecord, config: SourceConfig,
             base: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    author = _id(child.get("author_id"))
    public = child.get("public")
    return _event(
        f"zendesk:event:{child.get('id')}", record, config, kind="commented",
        **{**base, "actor": author or base["actor"]}, comment=child.get("body"),
        public=public if isinstance(public, bool) else None,
        attributes={**attrs, "child_event_id": child.get("id")},
    )  # fmt: skip


def _kind_of(child: dict[str, Any]) -> str | None:
    value = child.get("event_type") or child.get("type")
    return value if isinstance(value, str) else None


def _created(creates: list[dict[str, Any]], record: RawRecord, config: SourceConfig,
             base: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """One `created` event for a new ticket, whose fields arrive as one Create child each."""
    values = dict(_field(c) for c in creates)
    status = values.get("status")
    return _event(
        f"zendesk:event:{creates[0].get('id')}", record, config, kind="created", **base,
        stage=_stage(status) if status else None, original_status=status,
        assignee=_id(values.get("assignee_id")), due_at=_due(values.get("due_at")),
        attributes={**attrs, "child_event_id": creates[0].get("id")},
    )  # fmt: skip


def _stage(status: Any) -> str:
    text = str(status).lower()
    return STATUS_STAGES.get(text) or stage_from_name(text)


def _due(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return _iso(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError as exc:
        raise PayloadInvalid(f"zendesk due_at {value!r} is not an ISO 8601 timestamp") from exc


def _change(child: dict[str, Any], record: RawRecord, config: SourceConfig,
            base: dict[str, Any], attrs: dict[str, Any]) -> Iterator[dict[str, Any]]:  # fmt: skip
    field, value = _field(child)
    before = child.get("previous_value")
    key = f"zendesk:event:{child.get('id')}"
    extra = {**attrs, "child_event_id": child.get("id")}
    if field == "status" and value:
        stage, from_stage = _stage(value), _stage(before) if before else None
        yield _event(
            key, record, config, kind=_move(from_stage, stage), **base, stage=stage,
            original_status=value, attributes={**extra, "status_from": before},
        )  # fmt: skip
    elif field == "assignee_id":
        yield _event(
            key, record, config, kind="assigned", **base, assignee=_id(value),
            attributes={**extra, "assignee_from": before},
        )  # fmt: skip
    elif field == "due_at":
        yield _event(
            key, record, config, kind="due_changed", **base, due_at=_due(value),
            attributes={**extra, "due_from": before},
        )  # fmt: skip


def _move(before: str | None, after: str) -> str:
    """SOURCES.md's rule: entering done completes, leaving done/cancelled reopens."""
    closed = ("done", "cancelled")
    if after == "done" and before != "done":
        return "completed"
    if before in closed and after not in closed:
        return "reopened"
    return "stage_changed"


def _rating_events(
    rating: _Rating, record: RawRecord, config: SourceConfig
) -> Iterable[dict[str, Any]]:
    score = rating.score.lower()
    if score in ("offered", "unoffered"):
        return []  # landed for the record; a later pull upserts the answer under the same id
    if score not in CSAT_SCORES:
        raise PayloadInvalid(f"zendesk rating {rating.id} has an unknown score {rating.score!r}")
    attrs = {"rating_id": rating.id, "reason": rating.reason, "reason_code": rating.reason_code,
             "assignee_id": rating.assignee_id, "requester_id": rating.requester_id,
             "group_id": rating.group_id}  # fmt: skip
    return [
        _event(
            f"zendesk:rating:{rating.id}", record, config, kind="feedback",
            case_id=f"zendesk:ticket:{rating.ticket_id}",
            occurred_at=_iso(rating.updated_at or rating.created_at), comment=rating.comment or None,
            scale="csat2", score=CSAT_SCORES[score], attributes=attrs,
        )
    ]  # fmt: skip
