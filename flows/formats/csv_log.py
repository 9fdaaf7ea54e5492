"""Flat CSV event logs: the process-mining layout (`case:concept:name`, ...) or canonical columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows.formats import RAW_LIMIT, Record, open_bytes
from models.events import EVENT_FIELDS

__all__ = ["PM_COLUMNS", "read"]

# Process-mining column -> canonical field (DESIGN.md §3).
PM_COLUMNS = {
    "case:concept:name": "case_id",
    "concept:name": "original_status",
    "time:timestamp": "occurred_at",
    "org:resource": "actor",
}
_CANONICAL = set(EVENT_FIELDS)


def _pm_record(row: dict[str, str], process: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "stage_changed", "process": process}
    attributes: dict[str, Any] = {}
    for column, value in row.items():
        if column in PM_COLUMNS:
            doc[PM_COLUMNS[column]] = value if value != "" else None
        elif column.startswith("opspulse:") and column[9:] in _CANONICAL:
            if value != "":
                doc[column[9:]] = _typed(column[9:], value)
        elif value != "":
            attributes[column] = value
    if attributes:
        given = doc.get("attributes")
        doc["attributes"] = {**attributes, **(given if isinstance(given, dict) else {})}
    return doc


def _typed(field: str, value: str) -> Any:
    """Canonical CSV cells are text; give the few non-text fields their JSON type back."""
    if field == "public":
        return {"true": True, "false": False}.get(value.lower(), value)
    if field == "score":
        try:
            return int(value)
        except ValueError:
            return value
    if field == "attributes":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _canonical_record(row: dict[str, str], process: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for column, value in row.items():
        if value == "":
            continue
        if column in _CANONICAL:
            doc[column] = _typed(column, value)
        else:
            extra[column] = value
    if extra:
        attrs = doc.get("attributes")
        doc["attributes"] = {**(attrs if isinstance(attrs, dict) else {}), **extra}
    if process and not doc.get("process") and doc.get("kind") != "feedback":
        doc["process"] = process
    return doc


def read(path: Path, process: str | None, max_line_bytes: int) -> Iterator[Record]:
    """One record per CSV row; rows with the wrong field count or bad bytes become errors."""
    with open_bytes(path) as raw_fh:
        text = io.TextIOWrapper(raw_fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            return
        pm = "case:concept:name" in header
        if not pm and not {"kind", "occurred_at"} <= set(header):
            yield Record(
                1,
                None,
                "CSV header has neither the process-mining columns (case:concept:name, "
                "concept:name, time:timestamp) nor the canonical ones (kind, occurred_at, ...)",
                ",".join(header)[:RAW_LIMIT],
            )
            return
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            yield _row_record(line, header, cells, pm, process, max_line_bytes)


def _row_record(
    line: int, header: list[str], cells: list[str], pm: bool, process: str | None, limit: int
) -> Record:
    joined = ",".join(cells)
    raw = joined[:RAW_LIMIT].encode("utf-8", "replace").decode("utf-8", "replace")
    if len(joined) > limit:
        return Record(line, None, f"row is longer than {limit} bytes", raw)
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return Record(line, None, "row is not valid UTF-8", raw)
    if not any(cells):
        return Record(line, None, "row is empty", raw)
    if len(cells) != len(header):
        return Record(
            line, None, f"row has {len(cells)} fields but the header has {len(header)}", raw
        )
    row = dict(zip(header, cells, strict=True))
    doc = _pm_record(row, process) if pm else _canonical_record(row, process)
    return Record(line, json.dumps(doc, ensure_ascii=False), None, None)
