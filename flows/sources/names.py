"""SOURCES.md's name table: default stage classes for user-named statuses (connectors only)."""

from __future__ import annotations

__all__ = ["NAME_TABLE", "stage_from_name"]

# Checked in order, case-insensitive substring match; first hit wins; no hit -> active.
NAME_TABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cancelled", ("cancel", "won't", "wont", "dropped", "duplicate")),
    ("done", ("done", "complete", "closed", "delivered", "published")),
    ("waiting_on_client", ("client", "customer", "waiting", "awaiting")),
    ("review", ("review", "approval", "qa", "proof")),
    ("backlog", ("backlog", "to do", "todo", "inbox", "new", "triage")),
)


def stage_from_name(name: str | None) -> str:
    """The stage class a status/list/section name suggests ("Client review" -> waiting_on_client)."""
    lowered = (name or "").lower()
    for stage, words in NAME_TABLE:
        if any(word in lowered for word in words):
            return stage
    return "active"
