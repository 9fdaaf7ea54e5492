"""RawRecord: the landing envelope shared by pulls and webhooks, kept unchanged for replays."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["RawRecord", "payload_hash"]


def payload_hash(payload: Any) -> str:
    """sha256 hex of the payload's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RawRecord(BaseModel):
    """One object as a source returned it (a story, an action, a ticket event, a response)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str  # the SOURCES key: asana, clickup, trello, typeform, zendesk, helpscout
    endpoint: str  # path it came from, e.g. /tasks/9001/stories
    params: dict[str, Any] = Field(default_factory=dict)  # request parameters, never auth
    scope: str | None = None  # the configured project/board/list/form/group it belongs to
    external_id: str  # the source's dedup key, e.g. asana:story:120111
    payload: Any  # the JSON object exactly as received
    payload_hash: str
    fetched_at: datetime
    ingest_path: Literal["pull", "webhook"] = "pull"

    @field_validator("fetched_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
        return value.astimezone(UTC)

    @classmethod
    def of(
        cls,
        source: str,
        endpoint: str,
        external_id: str,
        payload: Any,
        *,
        fetched_at: datetime,
        scope: str | None = None,
        params: dict[str, Any] | None = None,
        ingest_path: Literal["pull", "webhook"] = "pull",
    ) -> RawRecord:
        """Build a record, hashing its payload."""
        return cls(
            source=source,
            endpoint=endpoint,
            params=params or {},
            scope=scope,
            external_id=external_id,
            payload=payload,
            payload_hash=payload_hash(payload),
            fetched_at=fetched_at,
            ingest_path=ingest_path,
        )
