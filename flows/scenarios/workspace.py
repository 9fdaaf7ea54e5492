"""Runs one scenario workspace on the simulator engine: arrivals, cases, feedback and event ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import NamedTuple

from flows.simulate_engine import SOURCE, Case, CaseRun, Clock, Process, poisson
from flows.simulate_words import BAD_FEEDBACK, GOOD_FEEDBACK, company_name, person_name

__all__ = [
    "CLIENTS",
    "COMMENT_SHARE",
    "CUSTOMERS",
    "ChangePlan",
    "CsatModel",
    "Event",
    "Handover",
    "Plan",
    "ProcessChange",
    "Scenario",
    "Timed",
    "Weights",
    "arrival_times",
    "constant",
    "hand_over",
    "plan_cases",
    "rate_case",
    "side_event",
    "simulate_plan",
    "simulate_workspace",
    "week_of",
]

Event = dict[str, object]
Timed = tuple[int, Event]
Weights = tuple[float, float, float, float, float]  # P(score = 1..5) on the csat5 scale
CsatModel = Callable[[Clock, int, int], Weights]  # (clock, case created at, response at)

CLIENTS = 30
CUSTOMERS = 4000
NEW_CLIENT_BASE = 100
COMMENT_SHARE = 0.35
DAY = 1440


def constant(per_week: float) -> Callable[[int], float]:
    """A weekly volume that never changes."""
    return lambda week: per_week


@dataclass(frozen=True)
class Handover:
    """A person who leaves for good at the start of `week`; their open cases pass to `to`."""

    person: str
    week: int
    to: tuple[str, ...]
    by: str


@dataclass(frozen=True)
class Plan:
    """One process of a workspace: its definition, volume per week, case variants and ratings."""

    process: Process
    per_week: Callable[[int], float]
    variant: Callable[[Clock, Case, str], Process] | None = None  # (clock, case, seed stem)
    csat: CsatModel | None = None
    csat_response: float = 0.0
    handover: Handover | None = None
    settle: Callable[[list[list[Timed]], Clock], None] | None = None  # edits all cases at once


class ProcessChange(NamedTuple):
    """A `process_change` (METRICS.md section 1.2): process, local time and kind of change."""

    process: str
    ts: datetime
    kind: str


@dataclass(frozen=True)
class ChangePlan:
    """A process change to make at 09:00 on the Monday of `week`, announced by `actor`."""

    process: str
    week: int
    kind: str
    comment: str
    actor: str


@dataclass(frozen=True)
class Scenario:
    """A METRICS.md section 7 scenario: one workspace's processes, with the injection it carries."""

    key: str
    title: str
    process: str
    injection: str
    plans: tuple[Plan, ...]
    extra: Callable[[Clock, Random], list[Timed]] | None = None
    changes: tuple[ChangePlan, ...] = ()

    def process_changes(self, clock: Clock) -> list[ProcessChange]:
        """The scenario's process changes that fall inside the simulated period."""
        return [
            ProcessChange(c.process, clock.local(change_minute(clock, c.week)), c.kind)
            for c in self.changes
            if c.week <= clock.weeks
        ]


def change_minute(clock: Clock, week: int) -> int:
    """When a process change is made: 09:00 on the Monday of its week."""
    return clock.week_start(week) + 9 * 60


def week_of(clock: Clock, t: int) -> int:
    """The 1-based simulation week that contains epoch minute `t`."""
    return (clock.local(t).date() - clock.start_day).days // 7 + 1


def simulate_workspace(scenario: Scenario, seed: int, clock: Clock) -> list[Event]:
    """All events of a scenario's workspace, ordered by time, with deterministic event ids."""
    stem = f"{seed}:{scenario.key}"
    timed: list[Timed] = []
    for plan in scenario.plans:
        cases = simulate_plan(plan, clock, stem)
        for change in scenario.changes:
            if change.process == plan.process.name and change.week <= clock.weeks:
                attach_change(cases, change, clock)
        timed += [item for case_events in cases for item in case_events]
    if scenario.extra is not None:
        timed += scenario.extra(clock, Random(f"{stem}:extra"))
    timed.sort(key=lambda item: item[0])
    prefix = f"sim-{scenario.key.lower()}-{seed}"
    return [{"event_id": f"{prefix}-{n:06d}", **event} for n, (_, event) in enumerate(timed, 1)]


def simulate_plan(plan: Plan, clock: Clock, stem: str) -> list[list[Timed]]:
    """The events of every case of one process, one time-ordered list per case."""
    prefix = plan.process.prefix
    times = arrival_times(plan, clock, Random(f"{stem}:{prefix}:arrivals"))
    cases = []
    for case in plan_cases(plan.process, times, Random(f"{stem}:{prefix}:cases")):
        variant = plan.variant
        process = variant(clock, case, f"{stem}:{prefix}") if variant else plan.process
        run = CaseRun(process, case, clock, Random(f"{stem}:{case.case_id}")).run()
        case_events = run.events + rate_case(plan, run)
        if plan.handover is not None:
            case_events = hand_over(case_events, plan.handover, clock, run.rng)
        cases.append(case_events)
    if plan.settle is not None:
        plan.settle(cases, clock)
    return cases


def arrival_times(plan: Plan, clock: Clock, rng: Random) -> list[int]:
    """Creation times of a process's cases, week by week, at its weekly volume."""
    spec, times = plan.process.arrivals, []
    hours = spec.last_hour - spec.first_hour
    for week in range(1, clock.weeks + 1):
        monday = clock.start_day + timedelta(days=7 * (week - 1))
        mean = plan.per_week(week)
        count = round(mean) if spec.weekday is not None else poisson(rng, mean)
        for _ in range(count):
            if spec.weekday is not None:
                weekday = spec.weekday
            elif rng.random() < spec.weekend_share:
                weekday = rng.choice((5, 6))
            else:
                weekday = rng.randrange(5)
            minute = rng.randrange(hours * 60)
            day = monday + timedelta(days=weekday)
            times.append(clock.at(day, spec.first_hour + minute // 60, minute % 60))
    return sorted(times)


def plan_cases(process: Process, times: list[int], rng: Random) -> list[Case]:
    """The cases of one process: ids, clients and their contacts, titles and attributes."""
    cases = []
    for number, created_at in enumerate(times, 1):
        client_id, contact, company = pick_client(process.audience, number, rng)
        attributes: dict[str, object] = {}
        if process.kind == "support":
            channel = rng.choice(("email", "email", "chat", "contact form"))
            priority = rng.choices(("normal", "high", "urgent"), (0.8, 0.15, 0.05))[0]
            attributes = {"channel": channel, "priority": priority}
        cases.append(
            Case(
                case_id=f"{process.prefix}-{number:04d}",
                created_at=created_at,
                client_id=client_id,
                contact=contact,
                title=process.title(rng, number, company),
                attributes=attributes,
            )
        )
    return cases


def pick_client(audience: str, number: int, rng: Random) -> tuple[str | None, str | None, str]:
    """Client id, contact person and company name for a new case, by whom the process serves."""
    if audience == "internal":
        return None, None, "the team"
    if audience == "customer":
        index = rng.randint(1, CUSTOMERS)
        return f"cust-{index:04d}", person_name(index), "a customer"
    index = NEW_CLIENT_BASE + number if audience == "new_client" else rng.randint(1, CLIENTS)
    return f"client-{index:03d}", person_name(index), company_name(index)


def rate_case(plan: Plan, run: CaseRun) -> list[Timed]:
    """A csat5 response to a completed case, if its client answers (1 to 10 days later)."""
    rng, clock = run.rng, run.clock
    if plan.csat is None or run.stage.cls != "done" or not run.completions:
        return []
    if rng.random() >= plan.csat_response:
        return []
    t = run.completions[-1] + rng.randint(DAY, 10 * DAY)
    if t >= clock.end:
        return []
    score = rng.choices(range(1, 6), plan.csat(clock, run.case.created_at, t))[0]
    event: Event = {
        "source": SOURCE,
        "kind": "feedback",
        "process": run.process.name,
        "case_id": run.case.case_id,
        "occurred_at": clock.iso(t),
        "actor": run.case.contact,
        "client_id": run.case.client_id,
        "scale": "csat5",
        "score": score,
    }
    if rng.random() < COMMENT_SHARE:
        event["comment"] = rng.choice(GOOD_FEEDBACK if score >= 4 else BAD_FEEDBACK)
    return [(t, event)]


def hand_over(
    case_events: list[Timed], handover: Handover, clock: Clock, rng: Random
) -> list[Timed]:
    """Rewrite a case so the leaver never appears after leaving: the manager reassigns the case."""
    leaves_at = clock.week_start(handover.week)
    if case_events[-1][0] < leaves_at or case_events[0][0] >= leaves_at:
        return case_events  # over before the leaver left, or begun after (without them)
    person, successor = handover.person, rng.choice(handover.to)
    result: list[Timed] = []
    for t, event in case_events:
        if t >= leaves_at and person in (event.get("actor"), event.get("assignee")):
            if result and result[-1][1].get("assignee") == person:
                fields: Event = {"actor": handover.by, "assignee": successor}
                result.append(
                    (t, side_event(result[-1][1], "assigned", event["occurred_at"], fields))
                )
            event = {k: (successor if v == person else v) for k, v in event.items()}
        result.append((t, event))
    return result


def side_event(last: Event, kind: str, occurred_at: object, fields: Event) -> Event:
    """An event added beside a case's own: it keeps the case's current due date, client, template."""
    event: Event = {"source": SOURCE, "kind": kind, "process": last["process"]}
    event.update(case_id=last["case_id"], occurred_at=occurred_at, actor=fields.pop("actor"))
    kept: Event = {k: last[k] for k in ("assignee", "due_at", "client_id", "template") if k in last}
    event.update(kept)
    event.update(fields)
    return event


def attach_change(cases: list[list[Timed]], change: ChangePlan, clock: Clock) -> None:
    """Record a process change as an internal comment on the newest case still open then."""
    t = change_minute(clock, change.week)
    for case_events in sorted(cases, key=lambda c: c[0][0], reverse=True):
        before = [event for s, event in case_events if s < t]
        stages = [event["stage"] for event in before if "stage" in event]
        if not stages or stages[-1] in ("done", "cancelled"):
            continue
        fields: Event = {"actor": change.actor, "comment": change.comment, "public": False}
        fields["attributes"] = {"process_change": change.kind}
        case_events.insert(
            len(before), (t, side_event(before[-1], "commented", clock.iso(t), fields))
        )
        return
