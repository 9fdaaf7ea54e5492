"""Keeps a process's overdue items sparse: the VA reschedules work before lateness piles up."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.scenarios.workspace import Event, Timed, side_event
from flows.simulate_engine import DUE_HOUR, Clock

__all__ = ["WINDOW_DAYS", "CaseDue", "guard_overdue", "overdue_nights", "past_due"]

WINDOW_DAYS = 14  # METRICS.md section 5.3, escalation.window_days
RESCHEDULE_LEAD_MINUTES = 120  # the new date is agreed two hours before the old one passes
FINAL_KINDS = ("completed", "cancelled")


@dataclass(frozen=True)
class CaseDue:
    """When a case was open and the nightly runs at which T1 (overdue) would flag it."""

    created: int
    finished: int
    nights: frozenset[int]


def due_segments(case_events: list[Timed], clock: Clock) -> list[tuple[int, int, int]]:
    """(from, until, due) spans of the case's due date while it is open, in epoch minutes."""
    finished = next((t for t, e in case_events if e["kind"] in FINAL_KINDS), clock.end)
    spans: list[tuple[int, int, int]] = []
    current: object = None
    for t, event in case_events:
        if t >= finished:
            break
        due = event.get("due_at")
        if due != current:
            if spans:
                spans[-1] = (spans[-1][0], t, spans[-1][2])
            if isinstance(due, str):
                spans.append((t, finished, int(datetime.fromisoformat(due).timestamp()) // 60))
            current = due
    return spans


def overdue_nights(case_events: list[Timed], nights: list[int], clock: Clock) -> CaseDue:
    """The case's open span and the nightly runs at which it is open and past its due date."""
    created = case_events[0][0]
    finished = next((t for t, e in case_events if e["kind"] in FINAL_KINDS), clock.end)
    flagged = set()
    for start, until, due in due_segments(case_events, clock):
        for n in range(bisect_right(nights, max(start, due)), bisect_left(nights, until)):
            if past_due(due, nights[n], clock):
                flagged.add(n)
    return CaseDue(created, finished, frozenset(flagged))


def past_due(due: int, night: int, clock: Clock) -> bool:
    """More than zero business days lie between the due time and a nightly run."""
    day, last = clock.local(due).date(), clock.local(night).date()
    while day < last:
        if day.weekday() < 5:
            return True
        day += timedelta(days=1)
    return False


def guard_overdue(cases: list[list[Timed]], clock: Clock, max_share: float, manager: str) -> None:
    """Reschedule the newest late case of any 14-day window whose overdue share tops `max_share`.

    Independent 10% lateness clusters now and then; a VA who watches the overdue list agrees
    new dates before a fifth of the work is late, which is what a noise-only client looks like.
    """
    nights = [clock.at(clock.start_day + timedelta(days=d), 0) for d in range(1, clock.weeks * 7)]
    states = [overdue_nights(c, nights, clock) for c in cases]
    while (index := first_offender(states, nights, max_share)) is not None:
        reschedule(cases[index], clock, manager)
        states[index] = overdue_nights(cases[index], nights, clock)


def first_offender(states: list[CaseDue], nights: list[int], max_share: float) -> int | None:
    """The newest overdue case of the first window whose overdue share tops `max_share`."""
    windows = len(nights) - WINDOW_DAYS + 1
    span = WINDOW_DAYS * 1440
    eligible, late = [0] * (windows + 1), [0] * (windows + 1)
    for state in states:  # difference arrays over the windows each case counts in
        first = bisect_right(nights, state.created - span)
        last = min(bisect_left(nights, state.finished) - 1, windows - 1)
        if first <= last:
            eligible[first] += 1
            eligible[last + 1] -= 1
        hit = {
            w for n in state.nights for w in range(n - WINDOW_DAYS + 1, n + 1) if 0 <= w < windows
        }
        for w in hit:
            late[w] += 1
            late[w + 1] -= 1
    open_count = late_count = 0
    for w in range(windows):
        open_count += eligible[w]
        late_count += late[w]
        if open_count and late_count > max_share * open_count:
            hits = [
                i for i, s in enumerate(states) if any(w <= n < w + WINDOW_DAYS for n in s.nights)
            ]
            return max(hits, key=lambda i: states[i].created)
    return None


def reschedule(case_events: list[Timed], clock: Clock, manager: str) -> None:
    """Agree a due date after the case's finish, shortly before its first overdue moment."""
    start, _, due = next(s for s in due_segments(case_events, clock) if s[2] < s[1])
    finished = next((t for t, e in case_events if e["kind"] in FINAL_KINDS), clock.end)
    new_due = clock.iso(clock.at(clock.local(finished).date() + timedelta(days=2), DUE_HOUR))
    at = max(due - RESCHEDULE_LEAD_MINUTES, start + 1)
    position = sum(1 for t, _ in case_events if t <= at)
    last = case_events[position - 1][1]
    fields: Event = {"actor": last.get("assignee") or manager}
    moved = side_event(last, "due_changed", clock.iso(at), fields)
    moved.update(due_at=new_due, attributes={"due_from": last.get("due_at")})
    rest = [
        (t, {**e, "due_at": new_due} if "due_at" in e else e)
        for t, e in case_events[position:]
        if e["kind"] != "due_changed"
    ]
    case_events[position:] = [(at, moved), *rest]
