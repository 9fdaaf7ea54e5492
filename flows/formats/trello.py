"""Trello board JSON exports (board menu > Print, export and share > Export as JSON) as canonical events.

The export is one JSON document `{id, name, lists[], cards[], actions[], members[], ...}`. Its
`actions` go through the connector's own mapping (flows/sources/trello/actions.py), so an import
and a later pull of the same board give the same event ids and case ids (`trello:card:<id>`);
the export's `lists` name lists that an action refers to by id only. Process: `--process`, else
the board's name. One Record per action, its line being the action's 1-based index in `actions`.

Skipped, because they carry no event: the action types in `IGNORED_TYPES` (board, list, label,
checklist, attachment, custom-field and membership changes: none moves, assigns, dates or
comments a card), `updateCard`s of other fields (name, description, position, cover), and
archiving a card that sits in a done or cancelled list. Any other action type, or an action
that cannot be read, becomes an error Record with the reason (quarantined, never dropped).
Trello puts at most the newest 1,000 actions in an export; older history is not in the file.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows.formats import RAW_LIMIT, Record, open_bytes
from flows.sources.trello.actions import action_events
from models.errors import PayloadInvalid

__all__ = ["is_board_export", "read"]

_REQUIRED = ("actions", "lists", "cards")


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _is_export(doc: Any) -> bool:
    return isinstance(doc, dict) and all(isinstance(doc.get(key), list) for key in _REQUIRED)


def is_board_export(path: Path) -> bool:
    """True for a JSON object with top-level `actions`, `lists` and `cards` lists."""
    try:
        with open_bytes(path) as fh:
            first = fh.readline()
            doc = _loads(first)
            if doc is None:  # pretty-printed: the document spans lines
                doc = _loads(first + fh.read())
    except (OSError, EOFError, zlib.error):
        return False
    return _is_export(doc)


def _list_names(doc: dict[str, Any]) -> dict[str, str]:
    return {
        item["id"]: item["name"]
        for item in doc["lists"]
        if isinstance(item, dict) and isinstance(item.get("id"), str)
        and isinstance(item.get("name"), str)
    }  # fmt: skip


def read(path: Path, process: str | None, max_line_bytes: int) -> Iterator[Record]:
    """One record per card action of the export; the file is parsed whole (it is one document)."""
    with open_bytes(path) as fh:
        data = fh.read()
    doc = _loads(data)
    if not _is_export(doc):
        reason = (
            "file is not valid JSON"
            if doc is None
            else "file is not a Trello board export: it needs top-level 'actions', 'lists' and "
            "'cards' lists"
        )
        yield Record(1, None, reason, data[:RAW_LIMIT].decode("utf-8", "replace"))
        return
    board = doc.get("name") if isinstance(doc.get("name"), str) else None
    lists = _list_names(doc)
    for line, action in enumerate(doc["actions"], start=1):
        yield from _action_record(line, action, process or board, lists, max_line_bytes)


def _action_record(
    line: int, action: Any, process: str | None, lists: dict[str, str], limit: int
) -> Iterator[Record]:
    text = json.dumps(action, ensure_ascii=False).encode("utf-8", "replace")
    raw = text[:RAW_LIMIT].decode("utf-8", "replace")
    if len(text) > limit:
        yield Record(line, None, f"action is longer than {limit} bytes", raw)
        return
    try:
        events = list(action_events(action, process=process, lists=lists, ingest_path="import"))
    except PayloadInvalid as exc:
        yield Record(line, None, exc.reason, raw)
        return
    for event in events:  # ASCII-escaped: a lone surrogate in the export cannot break the load
        yield Record(line, json.dumps(event), None, None)
