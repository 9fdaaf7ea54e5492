"""Case engine of the business simulator: working-hours clock, stage dwell and canonical events."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

__all__ = [
    "AFTER_HOURS_SHARE",
    "CLIENT_REPLY_SHARE",
    "DUE_HOUR",
    "DUE_SHARE",
    "FINAL_CLASSES",
    "KIND_BY_CLASS",
    "MAX_NOTES",
    "NOTES_PER_DAY",
    "PICKUP_MEDIAN_DAYS",
    "REASSIGN_SHARE",
    "SOURCE",
    "TEMPLATE_SHARE",
    "WORK_END_HOUR",
    "WORK_START_HOUR",
    "Arrivals",
    "Case",
    "CaseRun",
    "Clock",
    "Process",
    "Stage",
    "lognormal_minutes",
    "pick",
    "poisson",
]

SOURCE = "simulator"
WORK_START_HOUR = 8
WORK_END_HOUR = 18
DUE_HOUR = 17
# A few people answer a message at 8 pm; everything else waits for the next working morning.
AFTER_HOURS_SHARE = 0.04
TEMPLATE_SHARE = 0.90
DUE_SHARE = 0.90
REASSIGN_SHARE = 0.08
MAX_NOTES = 4
PICKUP_MEDIAN_DAYS = 0.15
CLIENT_REPLY_SHARE = 0.8
NOTES_PER_DAY = {"backlog": 0.2, "active": 2.0, "review": 1.2, "waiting_on_client": 0.5}
KIND_BY_CLASS = {"done": "completed", "cancelled": "cancelled"}
FINAL_CLASSES = frozenset({"done", "cancelled"})

Pool = tuple[tuple[str, float], ...]
Event = dict[str, object]
Timed = tuple[int, Event]
NotesByClass = Mapping[str, tuple[tuple[str, bool], ...]]


class Clock:
    """Simulation calendar in epoch minutes, with the business's time zone and working hours."""

    def __init__(self, timezone: str, start_day: date, weeks: int) -> None:
        self.tz = ZoneInfo(timezone)
        self.start_day = start_day
        self.weeks = weeks
        self.start = self.at(start_day, 0)
        self.end = self.at(start_day + timedelta(days=7 * weeks), 0)

    def at(self, day: date, hour: int, minute: int = 0) -> int:
        """Epoch minute of a local wall-clock time."""
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
        return int(local.timestamp()) // 60

    def local(self, t: int) -> datetime:
        """Local time of an epoch minute."""
        return datetime.fromtimestamp(t * 60, self.tz)

    def iso(self, t: int) -> str:
        """ISO 8601 text with the local offset, e.g. 2025-01-06T09:15:00-05:00."""
        return self.local(t).isoformat()

    def week_start(self, week: int) -> int:
        """Local midnight of the Monday that starts simulation week `week` (1-based)."""
        return self.at(self.start_day + timedelta(days=7 * (week - 1)), 0)

    def snap(self, t: int, rng: Random, workdays: int = 5) -> int:
        """Move a time forward into working hours (08:00-18:00 on the first `workdays` days)."""
        local = self.local(t)
        last_workday = workdays - 1
        if local.weekday() <= last_workday and WORK_START_HOUR <= local.hour < WORK_END_HOUR:
            return t
        if 7 <= local.hour < 21 and rng.random() < AFTER_HOURS_SHARE:
            return t
        day = local.date()
        if local.hour >= WORK_START_HOUR or local.weekday() > last_workday:
            day += timedelta(days=1)
        while day.weekday() > last_workday:
            day += timedelta(days=1)
        return self.at(day, WORK_START_HOUR) + rng.randrange(150)


def lognormal_minutes(rng: Random, median_days: float, sigma: float) -> int:
    """A lognormal duration in whole minutes (at least one)."""
    return max(1, round(rng.lognormvariate(math.log(median_days), sigma) * 1440))


def poisson(rng: Random, mean: float) -> int:
    """A Poisson count (Knuth's method; fine for the small means used here)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def turn(pool: Pool, number: int) -> str:
    """The pool member whose turn the `number`-th item is: each gets its share of every run."""
    counts = dict.fromkeys((name for name, _ in pool), 0)
    total = sum(weight for _, weight in pool)
    chosen = pool[0][0]
    for k in range(number % 100 + 1):
        chosen = max(pool, key=lambda p: (k + 1) * p[1] / total - counts[p[0]])[0]
        counts[chosen] += 1
    return chosen


def pick(rng: Random, pool: Pool, exclude: str | None = None) -> str:
    """A weighted choice of a person from a pool, avoiding `exclude` when possible."""
    options = [(name, weight) for name, weight in pool if name != exclude] or list(pool)
    return rng.choices([n for n, _ in options], [w for _, w in options])[0]


@dataclass(frozen=True)
class Stage:
    """A tool status: its class, dwell distribution, who works it and what is said on entry."""

    name: str
    cls: str
    median_days: float = 1.0
    sigma: float = 0.8
    pool: Pool = ()
    fresh_eyes: bool = False
    keep: bool = True
    same_as: str | None = None
    client_exit: bool = False
    on_enter: tuple[str, ...] = ()
    enter_public: bool = False
    client_says: tuple[str, ...] = ()
    notes: tuple[tuple[str, bool], ...] = ()
    # The holder leaves the case untouched until the last day of the visit, then picks it up and
    # works it in one sitting (a busy owner's queue): no activity while it waits.
    late_work: bool = False


@dataclass(frozen=True)
class Arrivals:
    """How new cases arrive: weekly rate, weekend share, hours, optionally one fixed weekday."""

    per_week: float
    weekend_share: float = 0.0
    first_hour: int = 9
    last_hour: int = 17
    weekday: int | None = None


@dataclass(frozen=True)
class Process:
    """A business process: stages, routing, people and the case attributes it produces."""

    name: str
    prefix: str
    kind: str
    stages: tuple[Stage, ...]
    route: Callable[[CaseRun, int], str]
    arrivals: Arrivals
    title: Callable[[Random, int, str], str]
    audience: str
    template: str
    client_facing: bool
    due_days: int
    intake: Pool
    creators: Pool
    manager: str
    roles: Mapping[str, str]
    notes: NotesByClass
    assign_share: float = 0.95
    due_move_share: float = 0.30
    checklist_total: int = 0
    workdays: int = 5
    reopen_to: str | None = None
    reopen_share: float = 0.0
    reopen_says: tuple[str, ...] = ()
    csat_scale: str | None = None
    csat_response: float = 0.0

    def stage(self, name: str) -> Stage:
        """The stage called `name`."""
        return next(s for s in self.stages if s.name == name)


@dataclass(frozen=True)
class Case:
    """One work item to simulate: id, creation time, client and title."""

    case_id: str
    created_at: int
    client_id: str | None
    contact: str | None
    title: str
    attributes: Mapping[str, object] = field(default_factory=dict)


class CaseRun:
    """One case's life: walks the process's stages and records its canonical events."""

    def __init__(self, process: Process, case: Case, clock: Clock, rng: Random) -> None:
        self.process, self.case, self.clock, self.rng = process, case, clock, rng
        self.events: list[Timed] = []
        self.stage = process.stages[0]
        self.assignee: str | None = None
        self.due: int | None = None
        self.template = process.template if rng.random() < TEMPLATE_SHARE else None
        self.last = case.created_at - 1
        self.entered = case.created_at
        self.stopped = False
        self.handoff = False
        self.reopened = False
        self.step = 0
        self.due_step = rng.choice((0, 1, 1)) if rng.random() < process.due_move_share else -1
        self.reassign_pending = rng.random() < REASSIGN_SHARE
        self.visits: Counter[str] = Counter()
        self.history: list[str] = []
        self.worker: dict[str, str] = {}
        self.completions: list[int] = []
        self.said: set[str] = set()

    def run(self) -> CaseRun:
        """Simulate the case until it finishes or the simulation ends."""
        self._create()
        self._walk()
        if not self.stopped and self.stage.cls == "done":
            self._maybe_reopen()
        return self

    def last_visited(self, cls: str) -> str:
        """The most recently visited stage of a class."""
        return next(n for n in reversed(self.history) if self.process.stage(n).cls == cls)

    def _snap(self, t: int) -> int:
        return self.clock.snap(t, self.rng, self.process.workdays)

    def _emit(self, t: int, kind: str, actor: str | None, **fields: object) -> int | None:
        t = max(t, self.last + 1)
        if self.stopped or t >= self.clock.end:
            self.stopped = True
            return None
        event: Event = {"source": SOURCE, "kind": kind, "process": self.process.name}
        event.update(case_id=self.case.case_id, occurred_at=self.clock.iso(t))
        event.update({k: fields.pop(k) for k in ("stage", "original_status") if k in fields})
        due_at = None if self.due is None else self.clock.iso(self.due)
        optional = {"actor": actor, "assignee": self.assignee, "due_at": due_at}
        optional.update(client_id=self.case.client_id, template=self.template)
        event.update({k: v for k, v in optional.items() if v is not None})
        event.update(fields)
        self.events.append((t, event))
        self.last = t
        return t

    def _attributes(self, completed: bool) -> dict[str, object]:
        attributes: dict[str, object] = {"client_facing": self.process.client_facing}
        total = self.process.checklist_total if self.template else 0
        if total:
            checked = total if self.rng.random() < 0.7 else total - self.rng.randint(1, 2)
            attributes.update(checklist_total=total, checklist_checked=checked if completed else 0)
        if not completed:
            attributes.update(process_type=self.process.kind, **self.case.attributes)
        return attributes

    def _create(self) -> None:
        p, rng, t = self.process, self.rng, self.case.created_at
        creator = pick(rng, p.creators) if p.creators else self.case.contact
        if rng.random() < p.assign_share:
            self.assignee = pick(rng, p.intake)
        if rng.random() < DUE_SHARE:
            day = self.clock.local(t).date() + timedelta(days=p.due_days)
            day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
            self.due = self.clock.at(day, DUE_HOUR)
        self.history.append(self.stage.name)
        self.visits[self.stage.name] += 1
        self._emit(
            t,
            "created",
            creator,
            stage=self.stage.cls,
            original_status=self.stage.name,
            case_title=self.case.title,
            attributes=self._attributes(completed=False),
        )

    def _walk(self) -> None:
        while not self.stopped and self.stage.cls not in FINAL_CLASSES:
            dwell = lognormal_minutes(self.rng, self.stage.median_days, self.stage.sigma)
            exit_at = self.entered + dwell
            if not self.stage.client_exit:
                exit_at = self._snap(exit_at)
            target = self.process.route(self, exit_at)
            self._fill(exit_at, target)
            self._move(target, exit_at)

    def _fill(self, exit_at: int, target: str) -> None:
        """Record what happens while the case sits in its stage, in time order."""
        rng, entry = self.rng, self.entered
        span = max(1, exit_at - entry)
        plan: list[tuple[int, int, str]] = []
        self.said = set()
        busy = max(entry, exit_at - 1440) if self.stage.late_work else entry
        if self.handoff:
            pickup = busy + lognormal_minutes(rng, PICKUP_MEDIAN_DAYS, 0.8)
            plan.append((self._snap(pickup), 0, "pickup"))
        count = poisson(rng, NOTES_PER_DAY.get(self.stage.cls, 0.0) * span / 1440)
        work = max(1, exit_at - busy)
        notes = (self._snap(busy + rng.randrange(work)) for _ in range(min(MAX_NOTES, count)))
        plan.extend((t, 1, "note") for t in notes)
        if self.reassign_pending and self.stage.cls == "active" and len(self.stage.pool) > 1:
            self.reassign_pending = False
            plan.append((self._snap(entry + rng.randrange(span)), 2, "reassign"))
        if self.step == self.due_step and self.due is not None:
            moved_at = self._snap(entry + rng.randrange(span))
            plan.append((moved_at, 3, "due"))
            self.due_step += moved_at >= exit_at  # try again in the next stage
        replying = bool(self.stage.client_says) and self.process.stage(target).cls != "cancelled"
        if replying and rng.random() < CLIENT_REPLY_SHARE:
            gap = 1 if self.stage.client_exit else rng.randint(20, 240)
            plan.append((exit_at - gap, 4, "client"))
        for t, _, what in sorted(item for item in plan if entry < item[0] < exit_at):
            self._act(what, t)

    def _act(self, what: str, t: int) -> None:
        rng, p = self.rng, self.process
        if what == "due" and self.due is not None:
            before = self.clock.iso(self.due)
            self.due += rng.randint(2, 7) * 1440
            self._emit(
                t, "due_changed", self.assignee or p.manager, attributes={"due_from": before}
            )
        elif what == "reassign":
            new = pick(rng, self.stage.pool, exclude=self.assignee)
            self.assignee = self.worker[self.stage.name] = new
            self._emit(t, "assigned", p.manager)
        elif what == "client":
            self._comment(t, self.case.contact, rng.choice(self.stage.client_says), public=True)
        elif what == "pickup":
            self._comment(t, self.assignee, "Picked this up, on it.", public=False)
        else:
            notes = self.stage.notes or p.notes.get(self.stage.cls, ())
            fresh = [note for note in notes if note[0] not in self.said]
            if fresh:
                text, public = rng.choice(fresh)
                self.said.add(text)
                self._comment(t, self.assignee or p.manager, text, public)

    def _comment(self, t: int, actor: str | None, text: str, public: bool) -> None:
        role = self.process.roles.get(actor or "", "client")
        self._emit(
            t, "commented", actor, comment=text, public=public, attributes={"actor_role": role}
        )

    def _assignee_for(self, target: Stage) -> str | None:
        if not target.pool:
            return self.assignee
        if target.same_as in self.worker:
            return self.worker[target.same_as]
        if target.name in self.worker:
            return self.worker[target.name]
        members = {name for name, _ in target.pool}
        if self.assignee in members and target.keep and not target.fresh_eyes:
            return self.assignee
        return pick(self.rng, target.pool, exclude=self.assignee if target.fresh_eyes else None)

    def _mover(self, target: Stage, new_assignee: str | None) -> str | None:
        if self.stage.client_exit and target.cls != "cancelled":
            return self.case.contact
        if target.cls == "done" and target.pool:
            return new_assignee
        return self.assignee or new_assignee or self.process.manager

    def _move(self, name: str, t: int, kind: str | None = None, actor: str | None = None) -> None:
        """Move the case into stage `name`, with any handoff and the mover's entry comment."""
        target = self.process.stage(name)
        new_assignee = self._assignee_for(target)
        mover = actor or self._mover(target, new_assignee)
        if new_assignee != self.assignee and mover == new_assignee:
            self.assignee = new_assignee
            self._emit(t, "assigned", mover)
        kind = kind or KIND_BY_CLASS.get(target.cls, "stage_changed")
        fields: dict[str, object] = {"stage": target.cls, "original_status": name}
        if kind == "completed":
            fields["attributes"] = self._attributes(completed=True)
        moved = self._emit(t, kind, mover, **fields)
        if moved is None:
            return
        self.stage, self.step = target, self.step + 1
        self.history.append(name)
        self.visits[name] += 1
        if kind == "completed":
            self.completions.append(moved)
        self.handoff = new_assignee != self.assignee
        if self.handoff:
            self.assignee = new_assignee
            self._emit(moved, "assigned", mover)
        if new_assignee is not None and target.pool:
            self.worker[name] = new_assignee
        if target.on_enter:
            self._enter_comment(target, mover, moved)
        self.entered = self.last

    def _enter_comment(self, target: Stage, mover: str | None, moved: int) -> None:
        """The mover explains the move; after a client's move the assignee answers a bit later."""
        text = self.rng.choice(target.on_enter)
        if mover in self.process.roles:
            self._comment(moved, mover, text, target.enter_public)
        elif self.assignee in self.process.roles:
            answer_at = self._snap(moved + lognormal_minutes(self.rng, PICKUP_MEDIAN_DAYS / 2, 0.8))
            self._comment(answer_at, self.assignee, text, target.enter_public)

    def _maybe_reopen(self) -> None:
        p, rng = self.process, self.rng
        if p.reopen_to is None or rng.random() >= p.reopen_share:
            return
        self.reopened = True
        t = self.last + lognormal_minutes(rng, 1.5, 0.9)
        self._comment(t, self.case.contact, rng.choice(p.reopen_says), public=True)
        self._move(p.reopen_to, t, kind="reopened", actor=self.case.contact)
        self._walk()
