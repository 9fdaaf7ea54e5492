"""Help Scout payloads to canonical events: a conversation's creation, its threads, its ratings."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from flows.sources.helpscout.api import NAME
from models.errors import PayloadInvalid
from models.events import EVENT_FIELDS
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["COMMENT_TYPES", "RATING_SCORES", "STATUS_STAGES", "normalize", "rating_id"]

STATUS_STAGES = {
    "active": "active",
    "pending": "waiting_on_client",
    "closed": "done",
    "spam": "cancelled",
}  # a thread's `nochange` (or a missing status) changes nothing
COMMENT_TYPES = {"customer": True, "message": True, "chat": True, "phone": True, "note": False}
RATING_SCORES = {"great": 3, "okay": 2, "not_good": 1}  # csat3
RATING_ALIASES = {"bad": "not_good", "not good": "not_good"}  # webhooks send Great/Okay/Bad
NO_ANSWER = "unknown"


class _Person(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | str | None = None
    type: str | None = None
    first: str | None = None
    last: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None

    def label(self) -> str | None:
        """The person's name, else email, else id."""
        parts = [p for p in (self.first or self.firstName, self.last or self.lastName) if p]
        text = " ".join(parts) or self.email or (None if self.id is None else str(self.id))
        return text or None


class _Conversation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    number: int | None = None
    subject: str | None = None
    mailboxId: int | None = None
    createdAt: datetime
    createdBy: _Person | None = None
    primaryCustomer: _Person | None = None


class _Thread(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    type: str | None = None
    status: str | None = None
    body: str | None = None
    createdAt: datetime
    createdBy: _Person | None = None
    assignedTo: _Person | None = None
    rating: dict[str, Any] | None = None


class _Rating(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    rating: str
    comments: str | None = None
    threadId: int | None = None
    conversationId: int
    createdAt: datetime
    modifiedAt: datetime | None = None
    customer: _Person | None = None
    user: _Person | None = None


def rating_id(thread: dict[str, Any]) -> str | None:
    """The id of the rating a thread carries: `rating.id`, `ratingId` or a `_links.rating` href.

    SOURCES.md names GET /v2/ratings/{id} but not where a thread points to it; these are the
    places we read. A thread whose embedded rating has no id is normalized from the thread.
    """
    rating = thread.get("rating")
    candidates = [
        rating.get("id") if isinstance(rating, dict) else None,
        thread.get("ratingId"),
        _href_id(_link(thread, "rating")),
    ]
    found = next((c for c in candidates if c not in (None, "")), None)
    return None if found is None else str(found)


def _link(thread: dict[str, Any], rel: str) -> Any:
    links = thread.get("_links")
    link = links.get(rel) if isinstance(links, dict) else None
    return link.get("href") if isinstance(link, dict) else None


def _href_id(href: Any) -> str | None:
    match = re.search(r"/ratings/(\d+)", href) if isinstance(href, str) else None
    return match.group(1) if match else None


def _iso(value: datetime) -> str:
    # Help Scout times are UTC even where the text has no offset (the ratings example).
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


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
    """Canonical events of one conversation, thread or rating record."""
    kind = record.external_id.split(":")[1] if record.external_id.count(":") >= 2 else ""
    try:
        if kind == "conversation":
            yield _created(_Conversation.model_validate(record.payload), record, config)
        elif kind == "thread":
            yield from _thread_events(_Thread.model_validate(record.payload), record, config)
        elif kind == "rating":
            yield from _rating_events(_Rating.model_validate(record.payload), record, config)
        else:
            raise PayloadInvalid(f"helpscout record {record.external_id!r} is of no known kind")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PayloadInvalid(f"helpscout {record.external_id}: {where} {first['msg']}") from exc


def _created(convo: _Conversation, record: RawRecord, config: SourceConfig) -> dict[str, Any]:
    customer = convo.primaryCustomer.id if convo.primaryCustomer else None
    return _event(
        f"helpscout:conversation:{convo.id}", record, config, kind="created",
        case_id=f"helpscout:conversation:{convo.id}", occurred_at=_iso(convo.createdAt),
        actor=convo.createdBy.label() if convo.createdBy else None, case_title=convo.subject,
        client_id=None if customer is None else str(customer),
        attributes={"number": convo.number, "mailbox_id": convo.mailboxId},
    )  # fmt: skip


def _move(before: str | None, after: str) -> str:
    """SOURCES.md's rule: entering done completes, leaving done/cancelled reopens."""
    closed = ("done", "cancelled")
    if after == "done" and before != "done":
        return "completed"
    if before in closed and after not in closed:
        return "reopened"
    return "stage_changed"


def _thread_events(
    thread: _Thread, record: RawRecord, config: SourceConfig
) -> Iterator[dict[str, Any]]:
    conversation = record.params.get("conversation_id")
    if not conversation:
        raise PayloadInvalid(f"helpscout thread {thread.id} was landed without its conversation")
    base = {"case_id": f"helpscout:conversation:{conversation}",
            "occurred_at": _iso(thread.createdAt),
            "actor": thread.createdBy.label() if thread.createdBy else None}  # fmt: skip
    attrs = {"thread_id": thread.id, "thread_type": thread.type}
    key = f"helpscout:thread:{thread.id}"
    if thread.type in COMMENT_TYPES:
        yield _event(key, record, config, kind="commented", **base, comment=thread.body,
                     public=COMMENT_TYPES[thread.type], attributes=attrs)  # fmt: skip
    before = record.params.get("status_before")
    if thread.status in STATUS_STAGES and thread.status != before:
        stage = STATUS_STAGES[thread.status]
        yield _event(
            f"{key}:status", record, config, kind=_move(STATUS_STAGES.get(before or ""), stage),
            **base, stage=stage, original_status=thread.status,
            attributes={**attrs, "status_from": before},
        )  # fmt: skip
    if "assignedTo" in thread.model_fields_set:
        assignee = thread.assignedTo.id if thread.assignedTo else None
        if (None if assignee is None else str(assignee)) != record.params.get("assignee_before"):
            yield _event(
                f"{key}:assigned", record, config, kind="assigned", **base,
                assignee=thread.assignedTo.label() if thread.assignedTo else None,
                attributes={**attrs, "assignee_id": assignee},
            )  # fmt: skip
    if thread.rating is not None and rating_id(record.payload) is None:
        yield from _embedded_rating(thread, base, key, record, config)


def _score(value: str, where: str) -> int | None:
    text = value.strip().lower()
    text = RATING_ALIASES.get(text, text)
    if text == NO_ANSWER:
        return None
    if text not in RATING_SCORES:
        raise PayloadInvalid(f"helpscout {where} has an unknown rating {value!r}")
    return RATING_SCORES[text]


def _embedded_rating(
    thread: _Thread, base: dict[str, Any], key: str, record: RawRecord, config: SourceConfig
) -> Iterator[dict[str, Any]]:
    """A rating shown inside the rated reply without an id: dated by that reply."""
    rating = thread.rating or {}
    score = _score(str(rating.get("rating", "")), f"thread {thread.id}")
    if score is not None:
        yield _event(
            f"{key}:rating", record, config, kind="feedback", **{**base, "actor": None},
            client_id=None if rating.get("customerId") is None else str(rating["customerId"]),
            comment=rating.get("comments") or None, scale="csat3", score=score,
            attributes={"thread_id": thread.id, "rated_at": "reply time (the rating has no id)"},
        )  # fmt: skip


def _rating_events(
    rating: _Rating, record: RawRecord, config: SourceConfig
) -> Iterator[dict[str, Any]]:
    score = _score(rating.rating, f"rating {rating.id}")
    if score is None:
        return  # `unknown`: offered, not answered; landed, and upserted once it is
    yield _event(
        f"helpscout:rating:{rating.id}", record, config, kind="feedback",
        case_id=f"helpscout:conversation:{rating.conversationId}",
        occurred_at=_iso(rating.modifiedAt or rating.createdAt),
        client_id=None if not rating.customer or rating.customer.id is None else str(rating.customer.id),
        comment=rating.comments or None, scale="csat3", score=score,
        attributes={"rating_id": rating.id, "thread_id": rating.threadId,
                    "rated_user": rating.user.label() if rating.user else None},
    )  # fmt: skip
