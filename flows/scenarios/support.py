"""Support processes: S3's launch-week degradation and S6's mature, healthy help desk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from random import Random

from flows import simulate_words as words
from flows.scenarios.healthy import AGENT, CASEY, OBM, RILEY, ROLES, VA
from flows.scenarios.workspace import Handover, Plan, Weights, constant, week_of
from flows.simulate_engine import Arrivals, Case, CaseRun, Clock, Process, Stage

__all__ = [
    "CSAT_LAUNCH",
    "CSAT_MATURE",
    "CSAT_SUPPORT",
    "FIRST_REPLY_MEDIANS",
    "LAUNCH_WEEK",
    "LEAVER",
    "RESOLVE_MEDIANS",
    "Desk",
    "degraded_support_plan",
    "mature_support_plan",
    "support_process",
    "ticket_route",
]

# S3: a course launch in week 40 triples the ticket volume for good and one of the three agents
# leaves that week. First replies slow down week by week (the backlog grows in weeks 40-42),
# from a median of 4h to 19h, and CSAT falls from 88% to 74%.
LAUNCH_WEEK = 40
TICKETS_PER_WEEK = 150
LAUNCH_VOLUME = 3.0
AGENTS = ((AGENT, 0.34), (CASEY, 0.33), (RILEY, 0.33))
LEAVER = RILEY
STAYERS = ((AGENT, 0.5), (CASEY, 0.5))
# Lognormal medians (days) for tickets created in a week, before working hours stretch them:
# index 0 before the launch, then launch week 40, weeks 41 and 42, and from week 43 on, when the
# team has adapted. First replies and resolutions both slow, so the open backlog grows 3 weeks.
FIRST_REPLY_MEDIANS = (0.09, 0.42, 0.45, 0.48, 0.46)
RESOLVE_MEDIANS = (0.4, 0.8, 1.5, 2.6, 1.5)
CSAT_SUPPORT: Weights = (0.03, 0.03, 0.06, 0.26, 0.62)  # P(1..5): 88% score 4 or 5
CSAT_LAUNCH: Weights = (0.07, 0.07, 0.12, 0.28, 0.46)  # 74%
SUPPORT_RESPONSE = 0.20

# S6: a mature help desk, 60 tickets a week: first replies in ~2h, CSAT 92%.
DESK_AGENTS = ((AGENT, 0.36), (CASEY, 0.34), (VA, 0.30))
CSAT_MATURE: Weights = (0.02, 0.02, 0.04, 0.22, 0.70)  # 92%
MATURE_RESPONSE = 0.30


def _support_title(rng: Random, number: int, company: str) -> str:
    return rng.choice(words.SUBJECTS)


def ticket_route(pending_share: float) -> Callable[[CaseRun, int], str]:
    """Ticket routing: the agent replies; some need the customer's answer first; then solved."""

    def route(run: CaseRun, now: int) -> str:
        name, rng = run.stage.name, run.rng
        if name == "New":
            return "Open"
        if name == "Open":
            pending = rng.random() < pending_share and run.visits["Pending"] < 2
            return "Pending" if pending else "Solved"
        return "Open" if rng.random() < 0.6 else "Solved"

    return route


@dataclass(frozen=True)
class Desk:
    """How a help desk runs: agents, hours, reply and resolution times, follow-up shares."""

    agents: tuple[tuple[str, float], ...]
    first_reply_days: float  # lognormal median of the wait before an agent opens a ticket
    resolve_days: float
    resolve_sigma: float
    pending_share: float
    reopen_share: float
    workdays: int


def support_process(name: str, prefix: str, arrivals: Arrivals, desk: Desk) -> Process:
    """A help desk: new, open (first public reply on entry), pending on the customer, solved."""
    return Process(
        name=name,
        prefix=prefix,
        kind="support",
        route=ticket_route(desk.pending_share),
        arrivals=arrivals,
        title=_support_title,
        audience="customer",
        template="support-form-v1",
        client_facing=True,
        due_days=2,
        assign_share=1.0,  # new tickets are assigned round robin
        workdays=desk.workdays,
        intake=desk.agents,
        creators=(),
        manager=OBM,
        roles=ROLES,
        reopen_to="Open",
        reopen_share=desk.reopen_share,
        reopen_says=words.TICKET_REOPEN,
        notes={},
        stages=(
            Stage("New", "backlog", desk.first_reply_days, 0.9),
            Stage(
                "Open",
                "active",
                desk.resolve_days,
                desk.resolve_sigma,
                pool=desk.agents,
                on_enter=words.TICKET_REPLY,
                enter_public=True,
            ),
            Stage(
                "Pending",
                "waiting_on_client",
                1.0,
                1.0,
                client_exit=True,
                on_enter=words.TICKET_QUESTION,
                enter_public=True,
                client_says=words.TICKET_ANSWER,
            ),
            Stage("Solved", "done"),
        ),
    )


SUPPORT = support_process(
    "Support tickets",
    "TCK",
    Arrivals(per_week=TICKETS_PER_WEEK, weekend_share=0.15, first_hour=8, last_hour=20),
    Desk(
        AGENTS,
        first_reply_days=FIRST_REPLY_MEDIANS[0],
        resolve_days=RESOLVE_MEDIANS[0],
        resolve_sigma=0.7,
        pending_share=0.12,
        reopen_share=0.04,
        workdays=6,  # the help desk also answers on Saturdays
    ),
)


@cache
def support_for_week(week: int) -> Process:
    """The help desk as it runs for tickets created in simulation week `week`."""
    step = min(max(week - LAUNCH_WEEK + 1, 0), len(FIRST_REPLY_MEDIANS) - 1)
    new = replace(SUPPORT.stages[0], median_days=FIRST_REPLY_MEDIANS[step])
    pool = STAYERS if week >= LAUNCH_WEEK else AGENTS
    opened = replace(SUPPORT.stages[1], pool=pool, median_days=RESOLVE_MEDIANS[step])
    return replace(SUPPORT, intake=pool, stages=(new, opened, *SUPPORT.stages[2:]))


def support_variant(clock: Clock, case: Case, stem: str) -> Process:
    """Tickets run on the help desk of the week they arrive in."""
    return support_for_week(week_of(clock, case.created_at))


def launch_volume(week: int) -> float:
    """Tickets per week: 150, tripled from the launch week on."""
    return TICKETS_PER_WEEK * (LAUNCH_VOLUME if week >= LAUNCH_WEEK else 1.0)


def support_csat(clock: Clock, created_at: int, responded_at: int) -> Weights:
    """Ratings of tickets that arrived before the launch (88%) or from it on (74%)."""
    return CSAT_LAUNCH if created_at >= clock.week_start(LAUNCH_WEEK) else CSAT_SUPPORT


def degraded_support_plan() -> Plan:
    """S3: a course creator's support, degrading from the launch in week 40."""
    return Plan(
        SUPPORT,
        launch_volume,
        variant=support_variant,
        csat=support_csat,
        csat_response=SUPPORT_RESPONSE,
        handover=Handover(LEAVER, LAUNCH_WEEK, to=(AGENT, CASEY), by=OBM),
    )


def mature_csat(clock: Clock, created_at: int, responded_at: int) -> Weights:
    """S6 ratings: 92% positive."""
    return CSAT_MATURE


# Seven-day coverage and a steady resolution time keep sigma_ln(CT) near 0.4.
MATURE = support_process(
    "Support desk",
    "DSK",
    Arrivals(per_week=60, weekend_share=0.1, first_hour=8, last_hour=19),
    Desk(
        DESK_AGENTS,
        first_reply_days=0.06,
        resolve_days=1.6,
        resolve_sigma=0.32,
        pending_share=0.05,
        reopen_share=0.01,
        workdays=7,
    ),
)


def mature_support_plan() -> Plan:
    """S6: a mature help desk, 60 tickets a week."""
    return Plan(
        MATURE,
        constant(MATURE.arrivals.per_week),
        csat=mature_csat,
        csat_response=MATURE_RESPONSE,
    )
