"""Asana project CSV exports (project menu > Export/Print > CSV) as canonical events.

An export is a snapshot, not a history: each row holds a task's current section, assignee and due
date and three dates. So per row we emit `created` at Created At (stage from Section/Column via
the name table, assignee, due date) and `completed` at Completed At when it is set; every move in
between (section changes, reassignments, due-date changes, comments, reopenings) is lost, and a
pull of the project later adds them. Two conventions follow from that:

- Dates. Asana writes `YYYY-MM-DD`; an event on a date happens at midnight UTC of that day (a
  full ISO timestamp with an offset is taken as it is). Due Date stays a date, which the loader
  reads as the end of that day in the workspace's time zone, as for any imported due date.
- Where a task is now. A section that means done or cancelled is where the task ended, not where
  it began: its `created` event carries no stage (backlog by default). An open task in such a
  section is completed (or cancelled) at Last Modified, the latest date the export knows.

Case ids are `asana:task:<Task ID>`, the connector's, and the `created` event has the connector's
event id, so a later pull of the project replaces it with the exact time; other events get
SOURCES.md's synthetic keys. Process: `--process`, else the row's first Projects value. A row that
cannot be read (no Task ID, a garbled date, a completion before the creation) becomes an error
Record with the reason; the other rows still load.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flows.formats import RAW_LIMIT, Record, open_bytes
from flows.sources.names import stage_from_name

__all__ = ["REQUIRED_COLUMNS", "is_asana_export", "read"]

REQUIRED_COLUMNS = ("Task ID", "Created At", "Completed At")
SOURCE = "asana"
TERMINAL_KINDS = {"done": "completed", "cancelled": "cancelled"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TASK_ID = re.compile(r"^\d+$")  # Asana gids are digits


class RowError(ValueError):
    """A row that cannot become events; the message is the quarantine reason."""


def is_asana_export(path: Path) -> bool:
    """True for a CSV whose header names Asana's Task ID, Created At and Completed At columns."""
    try:
        with open_bytes(path) as fh:
            first = fh.readline(64 * 1024).decode("utf-8-sig", errors="replace")
    except (OSError, EOFError):
        return False
    header = next(csv.reader([first]), [])
    return set(REQUIRED_COLUMNS) <= {h.strip() for h in header}


def read(path: Path, process: str | None, max_line_bytes: int) -> Iterator[Record]:
    """One record per event of each row; an unreadable row is one error record."""
    with open_bytes(path) as raw_fh:
        text = io.TextIOWrapper(raw_fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        header = [h.strip() for h in next(reader, [])]
        if not header:
            return
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            reason = f"not an Asana CSV export: the header lacks {', '.join(missing)}"
            yield Record(1, None, reason, ",".join(header)[:RAW_LIMIT])
            return
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            yield from _row_records(line, header, cells, process, max_line_bytes)


def _row_records(
    line: int, header: list[str], cells: list[str], process: str | None, limit: int
) -> Iterator[Record]:
    joined = ",".join(cells)
    raw = joined[:RAW_LIMIT].encode("utf-8", "replace").decode("utf-8", "replace")
    try:
        if len(joined) > limit:
            raise RowError(f"row is longer than {limit} bytes")
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RowError("row is not valid UTF-8") from exc
        if not any(c.strip() for c in cells):
            return  # Asana ends some exports with a blank line
        if len(cells) != len(header):
            raise RowError(f"row has {len(cells)} fields but the header has {len(header)}")
        docs = _events(dict(zip(header, (c.strip() for c in cells), strict=True)), process)
    except RowError as exc:
        yield Record(line, None, str(exc), raw)
        return
    for doc in docs:
        yield Record(line, json.dumps(doc, ensure_ascii=False), None, None)


def _moment(value: str, column: str) -> datetime | None:
    """A date at midnight UTC, or an ISO timestamp with an offset; None when empty."""
    if not value:
        return None
    try:
        if _DATE.match(value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"{column} {value[:40]!r} is not a date (YYYY-MM-DD)") from exc
    if parsed.tzinfo is None:
        raise RowError(f"{column} {value[:40]!r} has no UTC offset; Asana writes YYYY-MM-DD")
    return parsed.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _due(value: str) -> str | None:
    moment = _moment(value, "Due Date")  # validates dates such as 2026-02-30 too
    if moment is None:
        return None
    return value if _DATE.match(value) else _iso(moment)


def _key_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _attributes(row: dict[str, str], task_id: str) -> dict[str, Any]:
    extras = {
        "asana_task_id": task_id, "section": row.get("Section/Column"),
        "projects": row.get("Projects"), "parent_task": row.get("Parent task"),
        "start_date": row.get("Start Date"), "last_modified": row.get("Last Modified"),
        "tags": [t.strip() for t in row.get("Tags", "").split(",") if t.strip()] or None,
    }  # fmt: skip
    return {"ingest_path": "import", "import_format": "asana-csv", "date_precision": "day",
            **{k: v for k, v in extras.items() if v}}  # fmt: skip


def _events(row: dict[str, str], process: str | None) -> list[dict[str, Any]]:
    task_id = row["Task ID"]
    if not task_id:
        raise RowError("Task ID is empty")
    if not _TASK_ID.match(task_id):
        raise RowError(f"Task ID {task_id[:40]!r} is not an Asana task id (digits)")
    created = _moment(row["Created At"], "Created At")
    if created is None:
        raise RowError("Created At is empty")
    completed = _moment(row["Completed At"], "Completed At")
    if completed is not None and completed < created:
        raise RowError("Completed At is before Created At")
    project = process or row.get("Projects", "").split(",")[0].strip()
    if not project:
        raise RowError("no process: the row has no Projects value; pass --process")
    section = row.get("Section/Column") or None
    stage = stage_from_name(section) if section else None
    case_id = f"{SOURCE}:task:{task_id}"
    base = {"process": project, "case_id": case_id, "source": SOURCE,
            "case_title": row.get("Name") or None, "attributes": _attributes(row, task_id)}  # fmt: skip
    opening = None if stage in TERMINAL_KINDS else stage
    docs = [{**base, "event_id": _key_id(case_id), "kind": "created", "occurred_at": _iso(created),
             "stage": opening, "original_status": section if opening else None,
             "assignee": row.get("Assignee") or None, "due_at": _due(row.get("Due Date", ""))}]  # fmt: skip
    if completed is not None:
        docs.append(_closing(base, task_id, "completed", "done", completed, section))
    elif stage in TERMINAL_KINDS:
        at = _moment(row.get("Last Modified", ""), "Last Modified") or created
        docs.append(
            _closing(base, task_id, TERMINAL_KINDS[stage], stage, max(at, created), section)
        )
    return docs


def _closing(
    base: dict[str, Any], task_id: str, kind: str, stage: str, at: datetime, section: str | None
) -> dict[str, Any]:
    """The event that ends the task, keyed like SOURCES.md's synthetic keys."""
    key = f"{SOURCE}:syn:{task_id}:{kind}:{stage}:{int(at.timestamp())}"
    return {**base, "event_id": _key_id(key), "kind": kind, "occurred_at": _iso(at),
            "stage": stage, "original_status": section}  # fmt: skip
