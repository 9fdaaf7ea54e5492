"""XES event logs (plain or gzip), streamed with expat so the whole tree is never in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

from flows.formats import Record, open_bytes
from models.events import EVENT_FIELDS

__all__ = ["read"]

CHUNK = 1 << 16
_TYPED = {"string", "date", "int", "float", "boolean", "id"}
_NESTING = {"list", "container", "values"}
_CANONICAL = set(EVENT_FIELDS)
# XES standard attribute -> canonical field (DESIGN.md §3).
_STANDARD = {
    "concept:name": "original_status",
    "time:timestamp": "occurred_at",
    "org:resource": "actor",
}


def _value(tag: str, raw: str) -> Any:
    try:
        if tag == "int":
            return int(raw)
        if tag == "float":
            return float(raw)
    except ValueError:
        return raw
    if tag == "boolean":
        return raw.strip().lower() == "true"
    return raw


class _Handler:
    """expat callbacks that collect finished events as records."""

    def __init__(self, parser: expat.XMLParserType, process: str | None) -> None:
        self.parser = parser
        self.process = process
        self.done: list[Record] = []
        self.trace: dict[str, Any] | None = None
        self.event: dict[str, Any] | None = None
        self.event_line = 0
        self.nest: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag.rsplit(":", 1)[-1] if tag.startswith("http") else tag
        if local == "trace":
            self.trace = {}
        elif local == "event":
            self.event = {}
            self.event_line = self.parser.CurrentLineNumber
        elif local in _NESTING:
            self.nest.append(attrs.get("key", local))
        elif local in _TYPED and "key" in attrs and not self.nest:
            target = self.event if self.event is not None else self.trace
            if target is not None:
                target[attrs["key"]] = _value(local, attrs.get("value", ""))
        elif local in _TYPED and "key" in attrs and self.nest:
            self.nest.append(attrs["key"])

    def end(self, tag: str) -> None:
        local = tag.rsplit(":", 1)[-1] if tag.startswith("http") else tag
        if local == "event" and self.event is not None:
            self.done.append(self._record(self.event))
            self.event = None
        elif local == "trace":
            self.trace = None
        elif (local in _NESTING or local in _TYPED) and self.nest:
            self.nest.pop()

    def _record(self, event: dict[str, Any]) -> Record:
        trace = self.trace or {}
        doc: dict[str, Any] = {
            "kind": "stage_changed",
            "process": trace.get("opspulse:process", self.process),
        }
        case_id = trace.get("concept:name")
        doc["case_id"] = None if case_id is None else str(case_id)
        attributes: dict[str, Any] = {
            f"case:{k}": v
            for k, v in trace.items()
            if k not in {"concept:name", "opspulse:process"}
        }
        for key, value in event.items():
            if key in _STANDARD:
                doc[_STANDARD[key]] = value if isinstance(value, str) else str(value)
            elif key.startswith("opspulse:") and key[9:] in _CANONICAL:
                doc[key[9:]] = value
            else:
                attributes[key] = value
        if attributes:
            doc["attributes"] = {**attributes, **doc.get("attributes", {})}
        return Record(self.event_line, json.dumps(doc, ensure_ascii=False), None, None)


def read(path: Path, process: str | None, max_line_bytes: int) -> Iterator[Record]:
    """One record per `<event>`; the line number is that of its opening tag."""
    parser = expat.ParserCreate()
    handler = _Handler(parser, process)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    with open_bytes(path) as fh:
        while True:
            chunk = fh.read(CHUNK)
            try:
                parser.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                yield from handler.done
                yield Record(
                    exc.lineno,
                    None,
                    f"XES is not well-formed XML here ({expat.errors.messages.get(exc.code, exc)});"
                    " events after this point were not read",
                    chunk[:200].decode("utf-8", "replace"),
                )
                return
            yield from handler.done
            handler.done.clear()
            if not chunk:
                return
