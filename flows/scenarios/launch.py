"""S5: an ad-hoc, internal "launch prep" process that exists only in the last six weeks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from random import Random

from flows.scenarios.healthy import DESIGNER, OWNER, VA, WRITER
from flows.scenarios.workspace import Event, Timed
from flows.simulate_engine import DUE_HOUR, SOURCE, Clock, lognormal_minutes

__all__ = [
    "COMPLETED_PATHS",
    "FIRST_WEEK",
    "LAUNCH_PEOPLE",
    "LAUNCH_PROCESS",
    "LAUNCH_STAGES",
    "OPEN_PATHS",
    "launch_prep_events",
]

LAUNCH_PROCESS = "Launch prep"
FIRST_WEEK = 47  # the process exists in weeks 47-52 only
WINDOW_DAYS = 28  # every completion falls in the last 28 days
LAUNCH_PEOPLE = (VA, WRITER, DESIGNER)
LAUNCH_STAGES = {
    "Ideas": "backlog",
    "Copy": "active",
    "Design": "active",
    "Tech setup": "active",
    "Email sequence": "active",
    "Check": "review",
    "Waiting on partner": "waiting_on_client",
    "Done": "done",
}
# Twelve completed cases on nine paths (the commonest has 3 of 12); nothing ever goes back.
COMPLETED_PATHS = (
    *[("Copy", "Design", "Check")] * 3,
    *[("Copy", "Tech setup", "Check")] * 2,
    ("Design", "Copy"),
    ("Tech setup", "Email sequence"),
    ("Copy", "Waiting on partner", "Tech setup"),
    ("Email sequence", "Check"),
    ("Design", "Tech setup", "Email sequence"),
    ("Copy", "Email sequence", "Design", "Check"),
    ("Waiting on partner", "Design"),
)
OPEN_PATHS = (
    (),
    (),
    ("Copy",),
    ("Design",),
    ("Tech setup",),
    ("Copy", "Design"),
    ("Email sequence",),
    ("Check",),
)
# 6 of the 12 completed and 4 of the 8 open cases have an assignee (50%), 4 + 2 a due date (30%).
# Each person finishes 4 of the 12: two as the assignee, two by marking an unassigned case done.
COMPLETED_DUE = (True, False, False) * 4  # by path, before the paths are shuffled
OPEN_ASSIGNED = (True, False) * 4
OPEN_DUE = (True, False, False, False) * 2
KIND_BY_STEP = {"Done": "completed"}
TASKS = ("Sales page", "Launch emails", "Checkout setup", "Webinar slides", "Ads creative")


@dataclass(frozen=True)
class LaunchCase:
    """One launch-prep case: its path, who works it, whether it is assigned and has a due date."""

    case_id: str
    path: tuple[str, ...]
    worker: str
    assigned: bool
    due: bool
    done: bool


def launch_prep_events(clock: Clock, rng: Random) -> list[Timed]:
    """The launch-prep cases' events: exact counts, seeded times, orders and titles."""
    if clock.weeks < FIRST_WEEK:
        return []
    timed: list[Timed] = []
    for case in plan_launch(rng):
        timed += case_events(case, clock, rng)
    return timed


def plan_launch(rng: Random) -> list[LaunchCase]:
    """The 20 cases: 12 completed and 8 open, with their paths, people and coverage flags."""
    order = list(range(len(COMPLETED_PATHS)))
    rng.shuffle(order)
    cases = [
        LaunchCase(
            f"LCH-{n + 1:04d}",
            COMPLETED_PATHS[k],
            worker=LAUNCH_PEOPLE[n % 3],
            assigned=n < 6,
            due=COMPLETED_DUE[k],
            done=True,
        )
        for n, k in enumerate(order)
    ]
    for n, path in enumerate(OPEN_PATHS):
        case_id, worker = f"LCH-{len(COMPLETED_PATHS) + n + 1:04d}", rng.choice(LAUNCH_PEOPLE)
        cases.append(LaunchCase(case_id, path, worker, OPEN_ASSIGNED[n], OPEN_DUE[n], done=False))
    return cases


def case_events(case: LaunchCase, clock: Clock, rng: Random) -> list[Timed]:
    """Created, one move per stage on the path and, for a finished case, the completion."""
    times = case_times(case, clock, rng)
    stages = ["Ideas", *case.path, *(["Done"] if case.done else [])]
    optional: Event = {"assignee": case.worker if case.assigned else None, "due_at": None}
    if case.due:
        day = clock.local(times[0]).date() + timedelta(days=rng.randint(5, 12))
        optional["due_at"] = clock.iso(clock.at(day, DUE_HOUR))
    timed: list[Timed] = []
    for t, stage in zip(times, stages, strict=True):
        kind = KIND_BY_STEP.get(stage, "stage_changed") if timed else "created"
        actor = OWNER if kind == "created" and rng.random() < 0.5 else case.worker
        event: Event = {"source": SOURCE, "kind": kind, "process": LAUNCH_PROCESS}
        event.update(case_id=case.case_id, occurred_at=clock.iso(t), stage=LAUNCH_STAGES[stage])
        event.update(original_status=stage, actor=actor)
        event.update({k: v for k, v in optional.items() if v is not None})
        if kind == "created":
            event["case_title"] = f"Launch: {rng.choice(TASKS)}"
            event["attributes"] = {"client_facing": False, "process_type": "standard"}
        elif kind == "completed":
            event["attributes"] = {"client_facing": False}
        timed.append((t, event))
    return timed


def case_times(case: LaunchCase, clock: Clock, rng: Random) -> list[int]:
    """When a case is created and enters each stage: working hours, weeks 47-52 only.

    A completed case finishes in the last 28 days (in the days before a short run's end);
    an open case is created in that stretch and has not finished by the end.
    """
    end = clock.end
    first = max(clock.week_start(FIRST_WEEK), end - WINDOW_DAYS * 1440)
    if case.done:
        last = working_time(clock, rng, first + 1440, end - 3 * 1440)
        gaps = [lognormal_minutes(rng, 1.0, 0.6)]
        gaps += [lognormal_minutes(rng, 1.5, 0.5) for _ in case.path]
        start = clock.week_start(FIRST_WEEK)
        scale = min(1.0, 0.9 * (last - start) / sum(gaps))
        created = last - math.floor(sum(gaps) * scale)
    else:
        created = working_time(clock, rng, first, end - 2 * 1440)
        gaps = [lognormal_minutes(rng, 1.0, 0.6) for _ in case.path]
        scale = min(1.0, 0.9 * (end - created) / max(sum(gaps), 1))
    times = [created]
    for gap in gaps:
        times.append(times[-1] + max(1, math.floor(gap * scale)))
    return snap_all(times, clock, rng)


def working_time(clock: Clock, rng: Random, lo: int, hi: int) -> int:
    """A random minute between `lo` and `hi`, moved into working hours if that stays below `hi`."""
    t = rng.randrange(lo, hi)
    snapped = clock.snap(t, rng)
    return snapped if snapped < hi else t


def snap_all(times: Sequence[int], clock: Clock, rng: Random) -> list[int]:
    """Move each time into working hours where that keeps the order, and keep them distinct."""
    out: list[int] = []
    for i, t in enumerate(times):
        limit = times[i + 1] if i + 1 < len(times) else clock.end
        snapped = clock.snap(t, rng)
        t = snapped if snapped < limit else t
        out.append(max(t, out[-1] + 1) if out else t)
    return out
