"""Applies the acknowledge and snooze requests that read-only clients left for the next run.

The dashboard never writes the warehouse: it drops one JSON file per request into the workspace's
`requests/` folder (temp file + rename). The pipeline's writer calls `apply_requests` once per
run: each valid request updates its flag record (METRICS.md §6), every file is logged in
`flag_requests` and then moved to `requests/done/` (applied) or `requests/rejected/`, with the
reason in the log. Applying the same request again changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.settings import Settings

__all__ = ["SNOOZE_MAX_DAYS", "FlagRequest", "RequestOutcome", "apply_requests"]

SNOOZE_MAX_DAYS = 90  # alerts.snooze_max_days (METRICS.md §6)
_MAX_BYTES = 64 * 1024


class FlagRequest(BaseModel):
    """One acknowledge or snooze request, as the dashboard writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    workspace: str
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    action: Literal["acknowledge", "snooze"]
    user: str = Field(min_length=1, max_length=200)
    requested_at: AwareDatetime
    days: int | None = None
    reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _snooze_has_days_and_reason(self) -> FlagRequest:
        if self.action == "snooze":
            if self.days is None or not 1 <= self.days <= SNOOZE_MAX_DAYS:
                raise ValueError(f"a snooze lasts 1 to {SNOOZE_MAX_DAYS} days")
            if not (self.reason and self.reason.strip()):
                raise ValueError("a snooze needs a reason")
        return self


@dataclass(frozen=True)
class RequestOutcome:
    """What a run did with one request file."""

    file: str
    request_id: str | None
    outcome: Literal["applied", "rejected"]
    detail: str


def _read(path: Path) -> FlagRequest | str:
    """The request in a file, or the reason it cannot be applied."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return f"file is larger than {_MAX_BYTES} bytes"
        return FlagRequest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        return f"{where}: {first['msg']}"
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"


def _apply(
    con: duckdb.DuckDBPyConnection, request: FlagRequest, workspace: str
) -> tuple[Literal["applied", "rejected"], str]:
    if request.workspace != workspace:
        return "rejected", f"the request is for workspace {request.workspace!r}"
    row = con.execute(
        "select severity from flag_state where fingerprint = ? and workspace = ?",
        [request.fingerprint, workspace],
    ).fetchall()
    if not row:
        return "rejected", "no flag with this fingerprint in the workspace (it may have cleared)"
    severity = row[0][0]
    at = request.requested_at.astimezone(UTC)
    if request.action == "acknowledge":
        con.execute(
            "update flag_state set acknowledged_at = ?, acknowledged_by = ?, "
            "acknowledged_severity = ? where fingerprint = ?",
            [at, request.user, severity, request.fingerprint],
        )
        return "applied", f"acknowledged at severity {severity}"
    until = at + timedelta(days=request.days or 0)
    con.execute(
        "update flag_state set snoozed_at = ?, snoozed_until = ?, snoozed_by = ?, "
        "snooze_reason = ?, snoozed_severity = ? where fingerprint = ?",
        [at, until, request.user, (request.reason or "").strip(), severity, request.fingerprint],
    )
    return "applied", f"snoozed until {until:%Y-%m-%d %H:%M} UTC"


def _log(
    con: duckdb.DuckDBPyConnection, workspace: str, path: Path, request: FlagRequest | None,
    outcome: str, detail: str, now: datetime,
) -> None:  # fmt: skip
    r = request
    con.execute(
        "insert or ignore into flag_requests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r.id if r else f"file:{path.name}", workspace, r.fingerprint if r else None,
         r.action if r else None, r.user if r else None, r.requested_at if r else None,
         r.days if r else None, r.reason if r else None, path.name, outcome, detail, now],
    )  # fmt: skip


def _seen(con: duckdb.DuckDBPyConnection, request_id: str) -> bool:
    rows = con.execute(
        "select 1 from flag_requests where request_id = ? and outcome = 'applied'", [request_id]
    ).fetchall()
    return bool(rows)


def apply_requests(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    workspace: str,
    now: datetime | None = None,
) -> list[RequestOutcome]:
    """Apply every request file of the workspace to `flag_state`, in one transaction, then file them.

    Call it on the writer's connection after the flags were evaluated and before publishing, so
    the snapshot shows the result. Files move only after the commit; if the run dies in
    between, the next run finds them again and re-applying changes nothing.
    """
    folder = settings.paths(workspace).requests
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return []
    now = now or datetime.now(UTC)
    outcomes: list[RequestOutcome] = []
    con.execute("begin")
    try:
        for path in files:
            parsed = _read(path)
            request = parsed if isinstance(parsed, FlagRequest) else None
            outcome: Literal["applied", "rejected"]
            if request is not None and _seen(con, request.id):
                outcome, detail = "applied", "already applied by an earlier run"
            elif request is not None:
                outcome, detail = _apply(con, request, workspace)
            else:
                outcome, detail = "rejected", str(parsed)
            _log(con, workspace, path, request, outcome, detail, now)
            request_id = request.id if request else None
            outcomes.append(RequestOutcome(path.name, request_id, outcome, detail))
        con.execute("commit")
    except duckdb.Error:
        con.execute("rollback")
        raise
    for path, result in zip(files, outcomes, strict=True):
        target = folder / ("done" if result.outcome == "applied" else "rejected")
        target.mkdir(exist_ok=True)
        os.replace(path, target / path.name)
    return outcomes
