"""Raw pull files: each NDJSON line is a RawRecord, normalized by its source into canonical events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from flows.formats import RAW_LIMIT, Record, open_bytes
from flows.sources import connector
from models.errors import PayloadInvalid
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["read"]


def _raw(data: bytes) -> str:
    return data[:RAW_LIMIT].rstrip(b"\r\n").decode("utf-8", errors="replace")


def read(path: Path, config: SourceConfig, max_line_bytes: int) -> Iterator[Record]:
    """One record per canonical event, numbered by the line of the raw record it came from.

    A line that is not a RawRecord, or that its source's normalize rejects, becomes one error
    record with a readable reason (the loader quarantines it); the other lines still load.
    """
    with open_bytes(path) as fh:
        for number, data in enumerate(fh, start=1):
            if not data.strip():
                continue
            if len(data) > max_line_bytes:
                yield Record(
                    number, None, f"line is longer than {max_line_bytes} bytes", _raw(data)
                )
                continue
            yield from _events(number, data, config)


def _events(number: int, data: bytes, config: SourceConfig) -> Iterator[Record]:
    try:
        record = RawRecord.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "line"
        reason = f"line is not a raw record ({where}: {first['msg']})"
        yield Record(number, None, reason, _raw(data))
        return
    source = connector(record.source)
    if source is None:
        reason = f"no connector is installed for source {record.source!r}"
        yield Record(number, None, reason, _raw(data))
        return
    try:
        docs = [json.dumps(event, ensure_ascii=False) for event in source.normalize(record, config)]
    except (PayloadInvalid, ValidationError) as exc:
        reason = exc.reason if isinstance(exc, PayloadInvalid) else str(exc).splitlines()[0]
        reason = f"{record.source} could not read {record.external_id}: {reason}"
        yield Record(number, None, reason, _raw(data))
        return
    for doc in docs:
        yield Record(number, doc, None, None)
