"""Canonical task and feedback events (DESIGN.md §3): strict, frozen, timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "EVENT_FIELDS",
    "KINDS",
    "SCALES",
    "STAGES",
    "STAGE_RANKS",
    "TASK_KINDS",
    "Event",
    "FeedbackEvent",
    "TaskEvent",
    "scale_range",
]

TASK_KINDS: tuple[str, ...] = (
    "created",
    "stage_changed",
    "assigned",
    "due_changed",
    "completed",
    "reopened",
    "commented",
    "cancelled",
)
KINDS: tuple[str, ...] = (*TASK_KINDS, "feedback")
STAGES: tuple[str, ...] = ("backlog", "active", "review", "waiting_on_client", "done", "cancelled")
# Position of each stage class on the canonical path (METRICS.md §1.1); waiting_on_client is
# rank-neutral and cancelled has no rank.
STAGE_RANKS: dict[str, int | None] = {
    "backlog": 1,
    "active": 2,
    "review": 3,
    "waiting_on_client": None,
    "done": 4,
    "cancelled": None,
}
# Scale -> (lowest, highest) score, inclusive.
SCALES: dict[str, tuple[int, int]] = {
    "csat5": (1, 5),
    "csat3": (1, 3),
    "csat2": (0, 1),
    "nps10": (0, 10),
    "ces7": (1, 7),
}
# Columns of the canonical record, in the order the warehouse stores them.
EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "kind",
    "process",
    "case_id",
    "occurred_at",
    "source",
    "stage",
    "original_status",
    "actor",
    "assignee",
    "due_at",
    "client_id",
    "template",
    "case_title",
    "comment",
    "public",
    "scale",
    "score",
    "attributes",
)

Stage = Literal["backlog", "active", "review", "waiting_on_client", "done", "cancelled"]
Scale = Literal["csat5", "csat3", "csat2", "nps10", "ces7"]


def scale_range(scale: str) -> tuple[int, int]:
    """The inclusive score range of a feedback scale."""
    return SCALES[scale]


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp has no UTC offset; write it with 'Z' or '+hh:mm'")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware_utc)]


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: str | None = None
    occurred_at: AwareDatetime
    source: str = "import"
    actor: str | None = None
    client_id: str | None = None
    comment: str | None = None
    public: bool | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class TaskEvent(_EventBase):
    """A change to a work item: created, moved, assigned, completed, reopened, ..."""

    kind: Literal[
        "created",
        "stage_changed",
        "assigned",
        "due_changed",
        "completed",
        "reopened",
        "commented",
        "cancelled",
    ]
    process: str = Field(min_length=1)
    case_id: str = Field(min_length=1)
    stage: Stage | None = None
    original_status: str | None = None
    assignee: str | None = None
    due_at: AwareDatetime | None = None
    template: str | None = None
    case_title: str | None = None


class FeedbackEvent(_EventBase):
    """A survey response, optionally tied to the case that was rated."""

    kind: Literal["feedback"]
    process: str | None = None
    case_id: str | None = None
    scale: Scale
    score: int

    @model_validator(mode="after")
    def _score_in_scale(self) -> FeedbackEvent:
        low, high = SCALES[self.scale]
        if not low <= self.score <= high:
            raise ValueError(f"score {self.score} is outside the {self.scale} scale {low}-{high}")
        return self


Event = Annotated[TaskEvent | FeedbackEvent, Field(discriminator="kind")]
