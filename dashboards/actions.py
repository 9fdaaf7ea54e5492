"""Acknowledge and snooze requests: JSON files the next run applies (the dashboard writes no table)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

__all__ = ["SNOOZE_DEFAULT_DAYS", "SNOOZE_MAX_DAYS", "pending_requests", "write_request"]

SNOOZE_DEFAULT_DAYS = 7  # alerts.snooze_default_days (METRICS.md §6)
SNOOZE_MAX_DAYS = 90  # alerts.snooze_max_days

Action = Literal["acknowledge", "snooze"]


def write_request(
    folder: Path,
    *,
    workspace: str,
    fingerprint: str,
    action: Action,
    user: str,
    days: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write one request atomically (temp file, fsync, rename) and return its path."""
    if action == "snooze":
        if days is None or not 1 <= days <= SNOOZE_MAX_DAYS:
            raise ValueError(f"a snooze lasts 1 to {SNOOZE_MAX_DAYS} days")
        if not (reason and reason.strip()):
            raise ValueError("a snooze needs a reason")
    at = now or datetime.now(UTC)
    request_id = uuid.uuid4().hex
    payload = {
        "id": request_id, "workspace": workspace, "fingerprint": fingerprint, "action": action,
        "user": user, "requested_at": at.isoformat(), "days": days if action == "snooze" else None,
        "reason": reason.strip() if reason else None,
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{at:%Y%m%dT%H%M%S%f}-{request_id}.json"
    tmp = folder / f".{request_id}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def pending_requests(folder: Path) -> list[dict[str, object]]:
    """Requests waiting for the next run, oldest first; an unreadable file is listed as such."""
    found: list[dict[str, object]] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            found.append({"action": f"unreadable file {path.name} ({exc}); the run will reject it"})
    return found
