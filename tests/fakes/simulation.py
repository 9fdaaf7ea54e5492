"""The simulator's business served as Asana would hold it: a project per process, a task per case,
a story per change (SOURCES.md §2.1), so a pull can be compared with importing the canonical JSONL.

Mapping: `created` -> the task (gid = the simulator's case id), plus an `assigned` and a
`due_date_changed` story at the same instant when the case starts with an assignee or a due date;
every stage move -> `section_changed` (old and new section = the simulator's status names);
`assigned` -> `assigned`/`reassigned`/`unassigned`; `due_changed` -> `due_date_changed`;
`commented` -> `comment_added`. Feedback has no Asana form and is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.asana import FakeAsana, iso

__all__ = ["AsanaBusiness", "serve_as_asana"]

Event = Mapping[str, Any]


@dataclass
class AsanaBusiness:
    """What the fake now holds, and the config a pull needs to read it like the simulator."""

    api: FakeAsana
    scopes: dict[str, str] = field(default_factory=dict)  # project gid -> process
    status_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # process -> name -> stage
    status: dict[str, str] = field(default_factory=dict)  # case -> current section name
    assignee: dict[str, str | None] = field(default_factory=dict)
    due: dict[str, str | None] = field(default_factory=dict)

    def project(self, process: str) -> str:
        for gid, name in self.scopes.items():
            if name == process:
                return gid
        gid = str(1200 + 100 * len(self.scopes))
        self.api.add_project(gid, process)
        self.scopes[gid] = process
        return gid

    def created(self, e: Event) -> None:
        case, at = e["case_id"], e["occurred_at"]
        self.api.add_task(self.project(e["process"]), at, gid=case, name=e.get("case_title") or case,
                          creator=e.get("actor"))  # fmt: skip
        self.status[case], self.assignee[case], self.due[case] = (
            e.get("original_status"),
            None,
            None,
        )
        if e.get("assignee"):
            self.assigned(e)
        if e.get("due_at"):
            self.due_changed(e)

    def moved(self, e: Event) -> None:
        case = e["case_id"]
        self.api.add_story(case, "section_changed", e["occurred_at"], actor=e.get("actor"),
                           old_section={"name": self.status[case]},
                           new_section={"name": e["original_status"]})  # fmt: skip
        self.status[case] = e["original_status"]

    def assigned(self, e: Event) -> None:
        case, who = e["case_id"], e.get("assignee")
        subtype = (
            "unassigned" if who is None else "reassigned" if self.assignee[case] else "assigned"
        )
        self.api.add_story(case, subtype, e["occurred_at"], actor=e.get("actor"),
                           assignee={"name": who} if who else None)  # fmt: skip
        self.assignee[case] = who

    def due_changed(self, e: Event) -> None:
        case, due = e["case_id"], e.get("due_at")
        new = {"due_at": iso(due), "due_on": None} if due else None
        old = {"due_at": iso(self.due[case]), "due_on": None} if self.due[case] else None
        self.api.add_story(case, "due_date_changed", e["occurred_at"], actor=e.get("actor"),
                           new_dates=new, old_dates=old)  # fmt: skip
        self.due[case] = due

    def commented(self, e: Event) -> None:
        self.api.add_story(e["case_id"], "comment_added", e["occurred_at"], actor=e.get("actor"),
                           text=e.get("comment") or "")  # fmt: skip


def serve_as_asana(events: list[Event], api: FakeAsana) -> AsanaBusiness:
    """Load the simulator's events (in time order) into the fake; return scopes and status maps."""
    business = AsanaBusiness(api)
    handlers: dict[str, Callable[[Event], None]] = {
        "created": business.created,
        "stage_changed": business.moved,
        "completed": business.moved,
        "reopened": business.moved,
        "cancelled": business.moved,
        "assigned": business.assigned,
        "due_changed": business.due_changed,
        "commented": business.commented,
    }
    for event in events:
        if event["kind"] in handlers:
            handlers[event["kind"]](event)
        if event.get("stage") and event.get("original_status"):
            stages = business.status_maps.setdefault(event["process"], {})
            stages[event["original_status"]] = event["stage"]
    return business
