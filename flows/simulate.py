"""Seeded, deterministic simulator of a small online business that emits canonical events."""

from __future__ import annotations

import json
import os
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from random import Random

from flows.simulate_engine import SOURCE, Case, CaseRun, Clock, Event, Process, Timed, poisson
from flows.simulate_processes import PROCESSES
from flows.simulate_words import BAD_FEEDBACK, GOOD_FEEDBACK, company_name, person_name

__all__ = ["simulate_business", "write_jsonl"]

DEFAULT_START = date(2025, 1, 6)
EXISTING_CLIENTS = 20
CUSTOMERS = 1200
NPS_EVERY_WEEKS = 13
NPS_RESPONSE = 0.35
CSAT5_WEIGHTS = (0.03, 0.04, 0.08, 0.25, 0.60)  # P(1..5), METRICS.md section 7
CSAT5_UNHAPPY = (0.08, 0.12, 0.20, 0.30, 0.30)  # items that went through 2+ revision rounds
CSAT2_GOOD = 0.88
NPS_WEIGHTS = (0.01, 0.01, 0.01, 0.02, 0.03, 0.05, 0.07, 0.10, 0.15, 0.25, 0.30)  # P(0..10)
FEEDBACK_COMMENT_SHARE = 0.35


def simulate_business(
    seed: int = 20250106,
    start: date = DEFAULT_START,
    weeks: int = 52,
    timezone: str = "America/New_York",
) -> list[dict[str, object]]:
    """Events of a simulated business, ordered by occurred_at."""
    clock = Clock(timezone, start, weeks)
    times = {
        p.prefix: arrival_times(p, clock, Random(f"{seed}:{p.prefix}:arrivals")) for p in PROCESSES
    }
    # Every onboarding case signs a new client, who can then order content and get invoices.
    roster = [(clock.start, client_label(i)) for i in range(1, EXISTING_CLIENTS + 1)]
    roster += [(t, client_label(EXISTING_CLIENTS + i)) for i, t in enumerate(times["ONB"], 1)]
    timed: list[Timed] = []
    for process in PROCESSES:
        rng = Random(f"{seed}:{process.prefix}:cases")
        for case in plan_cases(process, times[process.prefix], roster, rng):
            run = CaseRun(process, case, clock, Random(f"{seed}:{case.case_id}")).run()
            timed += run.events
            timed += case_feedback(run)
    timed += nps_feedback(clock, roster, Random(f"{seed}:nps"))
    timed.sort(key=lambda item: item[0])
    return [{"event_id": f"sim-{seed}-{n:06d}", **event} for n, (_, event) in enumerate(timed, 1)]


def write_jsonl(events: Iterable[Mapping[str, object]], path: Path) -> int:
    """Write events as canonical JSONL (UTF-8, one object per line), return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            for event in events:
                handle.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def arrival_times(process: Process, clock: Clock, rng: Random) -> list[int]:
    """Creation times of a process's cases over the whole simulation, in order."""
    spec, times = process.arrivals, []
    for week in range(clock.weeks):
        monday = clock.start_day + timedelta(days=7 * week)
        fixed = spec.weekday is not None
        for _ in range(round(spec.per_week) if fixed else poisson(rng, spec.per_week)):
            day = monday + timedelta(days=arrival_weekday(process, rng))
            minute = rng.randrange((spec.last_hour - spec.first_hour) * 60)
            times.append(clock.at(day, spec.first_hour + minute // 60, minute % 60))
    return sorted(times)


def arrival_weekday(process: Process, rng: Random) -> int:
    """Weekday (0 = Monday) on which a new case arrives."""
    spec = process.arrivals
    if spec.weekday is not None:
        return spec.weekday
    return rng.choice((5, 6)) if rng.random() < spec.weekend_share else rng.randrange(5)


def plan_cases(
    process: Process, times: list[int], roster: list[tuple[int, str]], rng: Random
) -> list[Case]:
    """The cases of one process, with their clients, contacts, titles and attributes."""
    cases, signed_times = [], [t for t, _ in roster]
    for number, created_at in enumerate(times, 1):
        client_id, contact = pick_client(
            process.audience, number, created_at, roster, signed_times, rng
        )
        company = company_name(client_number(client_id)) if client_id else "the team"
        cases.append(
            Case(
                case_id=f"{process.prefix}-{number:04d}",
                created_at=created_at,
                client_id=client_id,
                contact=contact,
                title=process.title(rng, number, company),
                attributes=case_attributes(process, rng),
            )
        )
    return cases


def pick_client(
    audience: str,
    number: int,
    t: int,
    roster: list[tuple[int, str]],
    signed: list[int],
    rng: Random,
) -> tuple[str | None, str | None]:
    """Client id and contact person for a new case, by who the process serves."""
    if audience == "internal":
        return None, None
    if audience == "customer":
        index = rng.randint(1, CUSTOMERS)
        return f"cust-{index:04d}", person_name(index)
    if audience == "new_client":
        client_id = client_label(EXISTING_CLIENTS + number)
    else:
        client_id = roster[rng.randrange(bisect_right(signed, t))][1]
    return client_id, person_name(client_number(client_id))


def case_attributes(process: Process, rng: Random) -> dict[str, object]:
    """Extra item attributes a tool would carry for this kind of case."""
    if process.kind == "support":
        channel = rng.choice(("email", "email", "chat", "contact form"))
        priority = rng.choices(("normal", "high", "urgent"), (0.8, 0.15, 0.05))[0]
        return {"channel": channel, "priority": priority}
    if process.kind == "invoicing":
        return {"amount_usd": rng.choice((450, 900, 1200, 1500, 2400, 3200)), "terms": "net 14"}
    return {}


def case_feedback(run: CaseRun) -> list[Timed]:
    """A satisfaction response to a completed client-facing case, if the client answers."""
    process, rng = run.process, run.rng
    if process.csat_scale is None or run.stage.cls != "done":
        return []
    if rng.random() >= process.csat_response:
        return []
    t = run.completions[-1] + rng.randint(1440, 10 * 1440)
    if t >= run.clock.end:
        return []
    score, good = draw_csat(run)
    event: Event = {
        "source": SOURCE,
        "kind": "feedback",
        "process": process.name,
        "case_id": run.case.case_id,
        "occurred_at": run.clock.iso(t),
        "actor": run.case.contact,
        "client_id": run.case.client_id,
        "scale": process.csat_scale,
        "score": score,
    }
    if rng.random() < FEEDBACK_COMMENT_SHARE:
        event["comment"] = rng.choice(GOOD_FEEDBACK if good else BAD_FEEDBACK)
    return [(t, event)]


def draw_csat(run: CaseRun) -> tuple[int, bool]:
    """A CSAT score for a finished case and whether it is a good one."""
    if run.process.csat_scale == "csat2":
        score = int(run.rng.random() < CSAT2_GOOD)
        return score, score == 1
    reviews = [n for s, n in run.visits.items() if run.process.stage(s).cls == "review"]
    weights = CSAT5_UNHAPPY if max(reviews, default=1) >= 3 else CSAT5_WEIGHTS
    score = run.rng.choices(range(1, 6), weights)[0]
    return score, score >= 4


def nps_feedback(clock: Clock, roster: list[tuple[int, str]], rng: Random) -> list[Timed]:
    """Quarterly NPS answers from the clients signed by then; not tied to any case."""
    timed: list[Timed] = []
    for week in range(1, clock.weeks + 1, NPS_EVERY_WEEKS):
        sent = clock.week_start(week) + 10 * 60
        for signed_at, client_id in roster:
            if signed_at > sent or rng.random() >= NPS_RESPONSE:
                continue
            t = sent + rng.randrange(14 * 1440)
            score = rng.choices(range(11), NPS_WEIGHTS)[0]
            if t >= clock.end:
                continue
            event: Event = {
                "source": SOURCE,
                "kind": "feedback",
                "occurred_at": clock.iso(t),
                "actor": person_name(client_number(client_id)),
                "client_id": client_id,
                "scale": "nps10",
                "score": score,
            }
            if rng.random() < FEEDBACK_COMMENT_SHARE:
                event["comment"] = rng.choice(GOOD_FEEDBACK if score >= 7 else BAD_FEEDBACK)
            timed.append((t, event))
    return timed


def client_label(number: int) -> str:
    """Client id for a client number, e.g. client-007."""
    return f"client-{number:03d}"


def client_number(client_id: str) -> int:
    """The number inside a client or customer id."""
    return int(client_id.rsplit("-", 1)[1])
