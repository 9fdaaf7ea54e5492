"""OCEL 2.0 JSON logs, flattened: one canonical event per (event, related object)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows.formats import RAW_LIMIT, Record, open_bytes

__all__ = ["read"]


def _attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {
        str(item["name"]): item.get("value")
        for item in items
        if isinstance(item, dict) and "name" in item
    }


def _object_types(doc: dict[str, Any]) -> dict[str, str]:
    objects = doc.get("objects") or []
    return {
        str(o["id"]): str(o.get("type", "object"))
        for o in objects
        if isinstance(o, dict) and "id" in o
    }


def read(path: Path, process: str | None, max_line_bytes: int) -> Iterator[Record]:
    """Each OCEL event becomes one record per related object, that object being the case."""
    with open_bytes(path) as fh:
        data = fh.read()
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        yield Record(
            1,
            None,
            f"file is not valid OCEL 2.0 JSON ({exc})",
            data[:RAW_LIMIT].decode("utf-8", "replace"),
        )
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        yield Record(1, None, "file is not OCEL 2.0 JSON: no 'events' list", None)
        return
    types = _object_types(doc)
    for index, event in enumerate(doc["events"], start=1):
        yield from _event_records(index, event, types, process)


def _event_records(
    index: int, event: Any, types: dict[str, str], process: str | None
) -> Iterator[Record]:
    raw = json.dumps(event, ensure_ascii=False)[:RAW_LIMIT]
    if not isinstance(event, dict):
        yield Record(index, None, "OCEL event is not a JSON object", raw)
        return
    relations = [
        r for r in event.get("relationships") or [] if isinstance(r, dict) and "objectId" in r
    ]
    if not relations:
        yield Record(index, None, "OCEL event relates to no object, so it belongs to no case", raw)
        return
    for rel in relations:
        object_id = str(rel["objectId"])
        attributes = {
            **_attributes(event.get("attributes")),
            "ocel:event_id": event.get("id"),
            "ocel:object_type": types.get(object_id),
            "ocel:qualifier": rel.get("qualifier"),
        }
        record = {
            "event_id": None if event.get("id") is None else f"{event['id']}#{object_id}",
            "kind": "stage_changed",
            "process": process or types.get(object_id, "object"),
            "case_id": object_id,
            "original_status": event.get("type"),
            "occurred_at": event.get("time"),
            "attributes": attributes,
        }
        yield Record(index, json.dumps(record, ensure_ascii=False), None, None)
