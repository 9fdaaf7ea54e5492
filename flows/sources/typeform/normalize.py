"""Typeform responses to canonical `feedback` events, scored on the form's scale."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.sources.typeform.api import NAME
from models.errors import PayloadInvalid
from models.events import EVENT_FIELDS
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["SCALE_BY_FIELD_TYPE", "normalize"]

SCALE_BY_FIELD_TYPE = {"nps": "nps10", "rating": "csat5", "opinion_scale": "ces7"}
TEXT_FIELD_TYPES = ("long_text", "short_text")


class _Field(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    type: str | None = None
    ref: str | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    field: _Field = Field(default_factory=_Field)
    number: int | float | None = None
    text: str | None = None


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1)
    response_id: str | None = None
    landed_at: datetime | None = None
    submitted_at: datetime | None = None
    hidden: dict[str, Any] = Field(default_factory=dict)
    answers: list[_Answer] | None = None


def _iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _option(config: SourceConfig, form_id: str, key: str) -> str | None:
    value = config.options.get(f"{form_id}.{key}")
    return None if value is None else str(value)


def _score_answer(response: _Response, config: SourceConfig, form_id: str) -> _Answer:
    wanted = _option(config, form_id, "field")
    for answer in response.answers or []:
        if wanted is not None:
            if wanted in (answer.field.ref, answer.field.id):
                return answer
        elif answer.field.type in SCALE_BY_FIELD_TYPE:
            return answer
    which = f"field {wanted!r}" if wanted else "an nps, rating or opinion_scale field"
    raise PayloadInvalid(f"typeform response {response.token} has no answer to {which}")


def _scale(answer: _Answer, config: SourceConfig, form_id: str) -> str:
    scale = _option(config, form_id, "scale") or SCALE_BY_FIELD_TYPE.get(answer.field.type or "")
    if scale is None:
        raise PayloadInvalid(
            f"typeform field {answer.field.ref or answer.field.id!r} of type "
            f"{answer.field.type!r} has no known scale; set options '{form_id}.scale'"
        )
    return scale


def _nps_bucket(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _attributes(response: _Response, form_id: str, scale: str, score: int) -> dict[str, Any]:
    numbers = {
        a.field.ref or a.field.id: a.number
        for a in response.answers or []
        if a.number is not None and (a.field.ref or a.field.id)
    }
    attributes: dict[str, Any] = {
        "form_id": form_id,
        "response_token": response.token,
        "answers": numbers,
        "hidden": response.hidden,
    }
    if response.landed_at is not None:
        attributes["landed_at"] = _iso(response.landed_at)
    if scale == "nps10":
        attributes["nps_bucket"] = _nps_bucket(score)
    return attributes


def normalize(record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]:
    """One `feedback` event for a completed response, scored on the form's scale."""
    try:
        response = _Response.model_validate(record.payload)
    except ValidationError as exc:
        raise PayloadInvalid(
            f"typeform response is not readable: {exc.errors()[0]['msg']}"
        ) from exc
    if response.submitted_at is None:
        raise PayloadInvalid(f"typeform response {response.token} was never submitted")
    form_id = record.scope or ""
    answer = _score_answer(response, config, form_id)
    if answer.number is None or answer.number != int(answer.number):
        raise PayloadInvalid(f"typeform response {response.token} has a non-integer score")
    score, scale = int(answer.number), _scale(answer, config, form_id)
    own_case = f"typeform:response:{response.token}"
    attributes = _attributes(response, form_id, scale, score)
    case_field = _option(config, form_id, "case_field")
    related = response.hidden.get(case_field) if case_field else None
    if related not in (None, ""):
        attributes["related_case_id"] = str(related)
    client_id = response.hidden.get("client_id")
    event = dict.fromkeys(EVENT_FIELDS)
    event.update(
        event_id=hashlib.sha256(own_case.encode()).hexdigest(),
        kind="feedback",
        process=config.scopes.get(form_id) or config.default_process or form_id or None,
        case_id=attributes.get("related_case_id", own_case),
        occurred_at=_iso(response.submitted_at),
        source=NAME,
        client_id=None if client_id in (None, "") else str(client_id),
        comment=_comment(response),
        scale=scale,
        score=score,
        attributes=attributes,
    )
    yield event


def _comment(response: _Response) -> str | None:
    for answer in response.answers or []:
        if answer.field.type in TEXT_FIELD_TYPES and answer.text:
            return answer.text
    return None
