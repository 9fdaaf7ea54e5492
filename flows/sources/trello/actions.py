"""Trello actions -> canonical events (SOURCES.md §2.3), shared by the connector and the board import.

One action is one source change, so it gives at most one event. Stages come from list names through
SOURCES.md's name table. Mapped types: `createCard` (and the other ways a card appears on a board:
`copyCard`, `convertToCardFromCheckItem`, `emailCard`, `moveCardToBoard`) -> created; `updateCard`
-> a list move (stage_changed/completed/reopened), archive/unarchive (cancelled/reopened),
`dueComplete` (completed/reopened), `due` (due_changed); `deleteCard` and `moveCardFromBoard` ->
cancelled; `addMemberToCard`/`removeMemberFromCard` -> assigned; `commentCard` -> commented.

Deliberately no event: an `updateCard` of another field (name, description, position, labels,
cover, start date), archiving or unarchiving a card that sits in a done or cancelled list (the
card stays finished; METRICS.md §1.1 cancels only archived *open* items), and the action types in
IGNORED_TYPES, which change the board, its lists, labels, checklists, attachments, custom fields,
membership, comment edits or votes, but no card's stage, assignee or due date, and add no comment.
Any other type raises PayloadInvalid, so an action that should map is quarantined, never dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from flows.sources.names import stage_from_name
from models.errors import PayloadInvalid
from models.events import EVENT_FIELDS

__all__ = [
    "CREATED_TYPES",
    "IGNORED_TYPES",
    "MAPPED_TYPES",
    "SOURCE",
    "Action",
    "action_events",
    "action_key",
    "transition_kind",
]

SOURCE = "trello"
CREATED_TYPES = frozenset(
    {"createCard", "copyCard", "convertToCardFromCheckItem", "emailCard", "moveCardToBoard"}
)
IGNORED_TYPES = frozenset(
    {
        "addAttachmentToCard", "deleteAttachmentFromCard", "addChecklistToCard",
        "removeChecklistFromCard", "updateChecklist", "updateCheckItemStateOnCard",
        "createCheckItem", "updateCheckItem", "deleteCheckItem", "addLabelToCard",
        "removeLabelFromCard", "createLabel", "updateLabel", "deleteLabel", "createList",
        "updateList", "moveListToBoard", "moveListFromBoard", "createBoard", "copyBoard",
        "updateBoard", "addMemberToBoard", "removeMemberFromBoard", "makeAdminOfBoard",
        "makeNormalMemberOfBoard", "makeObserverOfBoard", "addToOrganizationBoard",
        "removeFromOrganizationBoard", "enablePlugin", "disablePlugin", "enablePowerUp",
        "disablePowerUp", "createCustomField", "updateCustomField", "deleteCustomField",
        "updateCustomFieldItem", "updateComment", "deleteComment", "voteOnCard",
    }
)  # fmt: skip
_OPEN = frozenset({"backlog", "active", "review", "waiting_on_client"})
_FINISHED = frozenset({"done", "cancelled"})


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Ref(_Payload):
    id: str | None = None
    name: str | None = None


class _Card(_Ref):
    closed: bool | None = None
    idList: str | None = None
    due: AwareDatetime | None = None
    dueComplete: bool | None = None


class _Member(_Payload):
    id: str | None = None
    fullName: str | None = None
    username: str | None = None


class _Data(_Payload):
    card: _Card | None = None
    in_list: _Ref | None = Field(default=None, alias="list")
    listBefore: _Ref | None = None
    listAfter: _Ref | None = None
    board: _Ref | None = None
    boardSource: _Ref | None = None
    boardTarget: _Ref | None = None
    cardSource: _Ref | None = None
    member: _Ref | None = None
    idMember: str | None = None
    text: str | None = None
    old: dict[str, Any] = Field(default_factory=dict)


class Action(_Payload):
    """The fields of a Trello action that the mapping reads."""

    id: str = Field(min_length=1)
    type: str
    date: AwareDatetime
    data: _Data = Field(default_factory=_Data)
    idMemberCreator: str | None = None
    memberCreator: _Member | None = None


@dataclass(frozen=True)
class _Context:
    action: Action
    card: _Card
    lists: Mapping[str, str]

    def list_name(self, ref: _Ref | None, *fallback_ids: str | None) -> str | None:
        """A list's name from the action, else from the board's lists by id."""
        if ref is not None and ref.name:
            return ref.name
        for list_id in (ref.id if ref else None, *fallback_ids):
            if list_id and list_id in self.lists:
                return self.lists[list_id]
        return None


@dataclass(frozen=True)
class _Change:
    """What one action changes; the rest of the event comes from the action itself."""

    kind: str
    stage: str | None = None
    original_status: str | None = None
    assignee: str | None = None
    due_at: str | None = None
    comment: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def action_key(action_id: str) -> str:
    """SOURCES.md's dedup key of a Trello action."""
    return f"{SOURCE}:action:{action_id}"


def transition_kind(before: str | None, after: str) -> str:
    """completed on entering done, reopened on leaving done/cancelled for an open stage."""
    if after == "done" and before != "done":
        return "completed"
    if before in _FINISHED and after in _OPEN:
        return "reopened"
    return "stage_changed"


def _stage(name: str | None) -> str | None:
    return stage_from_name(name) if name else None


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _created(ctx: _Context) -> _Change:
    data = ctx.action.data
    name = ctx.list_name(data.in_list, ctx.card.idList)
    attributes = {
        "list": name,
        "copied_from_card": data.cardSource.id if data.cardSource else None,
        "moved_from_board": data.boardSource.id if data.boardSource else None,
    }
    return _Change("created", _stage(name), name, attributes=attributes)


def _moved(ctx: _Context) -> _Change:
    data = ctx.action.data
    before = ctx.list_name(data.listBefore, data.old.get("idList"))
    after = ctx.list_name(data.listAfter, ctx.card.idList)
    if after is None:
        raise PayloadInvalid(
            f"Trello action {ctx.action.id} moves card {ctx.card.id} to a list whose name it does "
            "not carry; the list is unknown"
        )
    stage = stage_from_name(after)
    kind = transition_kind(_stage(before), stage)
    return _Change(kind, stage, after, attributes={"status_from": before})


def _archived(ctx: _Context) -> _Change | None:
    closed = ctx.card.closed
    if closed is None:
        closed = not ctx.action.data.old["closed"]
    name = ctx.list_name(ctx.action.data.in_list, ctx.card.idList)
    stage = _stage(name)
    if stage in _FINISHED:
        return None  # a finished card archived or brought back stays finished
    if closed:
        return _Change("cancelled", "cancelled", attributes={"archived": True, "list": name})
    return _Change("reopened", stage, name, attributes={"archived": False})


def _due_complete(ctx: _Context) -> _Change:
    done = ctx.card.dueComplete
    if done is None:
        done = not ctx.action.data.old["dueComplete"]
    name = ctx.list_name(ctx.action.data.in_list, ctx.card.idList)
    if done:
        return _Change("completed", "done", attributes={"due_complete": True, "list": name})
    stage = _stage(name)
    stage = stage if stage in _OPEN else "active"
    return _Change("reopened", stage, attributes={"due_complete": False, "list": name})


def _due(ctx: _Context) -> _Change:
    previous = ctx.action.data.old["due"]
    return _Change("due_changed", due_at=_iso(ctx.card.due), attributes={"due_from": previous})


def _updated(ctx: _Context) -> _Change | None:
    old = ctx.action.data.old
    if "idList" in old or ctx.action.data.listAfter is not None:
        return _moved(ctx)
    if "closed" in old:
        return _archived(ctx)
    if "dueComplete" in old:
        return _due_complete(ctx)
    if "due" in old:
        return _due(ctx)
    return None  # name, description, position, labels, cover...: not a process event


def _removed(ctx: _Context) -> _Change:
    data = ctx.action.data
    attributes = {
        "list": ctx.list_name(data.in_list, ctx.card.idList),
        "deleted": True if ctx.action.type == "deleteCard" else None,
        "moved_to_board": data.boardTarget.id if data.boardTarget else None,
    }
    return _Change("cancelled", "cancelled", attributes=attributes)


def _member(ctx: _Context) -> _Change:
    data = ctx.action.data
    member = data.member.name if data.member else None
    attributes = {
        "member_id": data.idMember or (data.member.id if data.member else None),
        "member": member,
    }
    if ctx.action.type == "addMemberToCard":
        return _Change("assigned", assignee=member, attributes={**attributes, "change": "added"})
    return _Change("assigned", assignee=None, attributes={**attributes, "change": "removed"})


def _commented(ctx: _Context) -> _Change:
    name = ctx.list_name(ctx.action.data.in_list, ctx.card.idList)
    return _Change("commented", comment=ctx.action.data.text or "", attributes={"list": name})


_HANDLERS: dict[str, Callable[[_Context], _Change | None]] = {
    **dict.fromkeys(CREATED_TYPES, _created),
    "updateCard": _updated,
    "deleteCard": _removed,
    "moveCardFromBoard": _removed,
    "addMemberToCard": _member,
    "removeMemberFromCard": _member,
    "commentCard": _commented,
}
MAPPED_TYPES = frozenset(_HANDLERS)


def _parse(payload: Any) -> Action:
    if not isinstance(payload, dict):
        raise PayloadInvalid("a Trello action must be a JSON object")
    try:
        return Action.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "action"
        raise PayloadInvalid(f"Trello action field '{where}' is invalid ({first['msg']})") from exc


def action_events(
    payload: Any,
    *,
    process: str | None,
    lists: Mapping[str, str] | None = None,
    ingest_path: str = "pull",
) -> Iterator[dict[str, Any]]:
    """The canonical event of one Trello action (none for changes the process does not track).

    `process` falls back to the board's name; `lists` (list id -> name) names lists the action
    refers to by id only.
    """
    action = _parse(payload)
    if action.type in IGNORED_TYPES:
        return
    handler = _HANDLERS.get(action.type)
    if handler is None:
        raise PayloadInvalid(
            f"Trello action type {action.type!r} is not mapped to an event; add it to the "
            "mapping or to IGNORED_TYPES"
        )
    card = action.data.card
    if card is None or not card.id:
        raise PayloadInvalid(
            f"Trello {action.type} action {action.id} names no card (data.card.id)"
        )
    change = handler(_Context(action, card, lists or {}))
    if change is not None:
        yield _event(action, card, change, process, ingest_path)


def _event(
    action: Action, card: _Card, change: _Change, process: str | None, ingest_path: str
) -> dict[str, Any]:
    board = action.data.board
    creator = action.memberCreator
    event: dict[str, Any] = dict.fromkeys(EVENT_FIELDS)
    event.update(
        event_id=hashlib.sha256(action_key(action.id).encode()).hexdigest(),
        source=SOURCE,
        kind=change.kind,
        process=process or (board.name or board.id if board else None) or SOURCE,
        case_id=f"{SOURCE}:card:{card.id}",
        occurred_at=_iso(action.date),
        stage=change.stage,
        original_status=change.original_status,
        actor=creator.fullName if creator else None,
        assignee=change.assignee,
        due_at=change.due_at,
        case_title=card.name,
        comment=change.comment,
    )
    attributes = {
        "source_event_id": action.id,
        "action_type": action.type,
        "case_type": "task",
        "ingest_path": ingest_path,
        "actor_id": action.idMemberCreator or (creator.id if creator else None),
        "board_id": board.id if board else None,
        **change.attributes,
    }
    event["attributes"] = {k: v for k, v in attributes.items() if v is not None}
    return event
