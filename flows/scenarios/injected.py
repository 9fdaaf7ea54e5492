"""The injected processes of scenarios S1 (access setup), S2 (rework spike) and S4 (improvement)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from random import Random

from flows import simulate_words as words
from flows.scenarios.healthy import (
    ACTIVE_MEDIAN,
    ACTIVE_SIGMA,
    AGENT,
    CANCEL_SHARE,
    CSAT_HEALTHY,
    CSAT_RESPONSE,
    DESIGNER,
    EDITOR,
    NEW_WRITER,
    OBM,
    OWNER,
    REVIEW_REWORK,
    REVIEWERS,
    ROLES,
    VA,
    WAIT_MEDIAN,
    WAIT_SIGMA,
    WRITER,
    healthy_csat,
    linear_route,
)
from flows.scenarios.workspace import Event, Plan, Timed, Weights, constant, side_event, week_of
from flows.simulate_engine import Arrivals, Case, CaseRun, Clock, Process, Stage, turn
from flows.simulate_processes import ACCESS_SETUP_WEEK

__all__ = [
    "ACCESS_SETUP_WEEK",
    "CHECKLIST_WEEK",
    "CSAT_DROP_WEEK",
    "CSAT_LOW",
    "IMPROVED_SCALE",
    "IMPROVEMENT_WEEKS",
    "REWORK_AFTER",
    "REWORK_BEFORE",
    "WRITER_CHANGE_WEEK",
    "content_plan",
    "delivery_plan",
    "onboarding_plan",
]

# S1: from ACCESS_SETUP_WEEK (30) the owner alone does a new "Access setup" stage (median 6 d).
KICKOFF = ((VA, 0.45), (AGENT, 0.35), (OBM, 0.20))
CHECKERS = ((OBM, 0.75), (VA, 0.25))
FINISHERS = ((VA, 0.55), (OBM, 0.45))  # completions credited to the VA and the OBM, 55/45
# Exits wait for the owner's working hours and weekdays, so a 5.4-day lognormal median gives
# visits of about 6 days; the owner's chore varies less than ordinary work. The owner gets to each
# setup on its last day: until then the item sits untouched in the owner's queue.
ACCESS_SETUP_MEDIAN, ACCESS_SETUP_SIGMA = 5.4, 0.45
# The client gathers their documents while the owner sets up access; a few are still missing.
DOCS_MISSING_AFTER_SETUP = 0.1

# S2: a writer change at week 20 takes rework from 15% to 38% and the mean revision rounds of
# reworked items from 1.3 to 2.6 (each further review sends work back again with 0.23, then
# 0.64, for at most 6 rounds); CSAT falls from ~85% to ~40% for responses from week 22.
WRITER_CHANGE_WEEK = 20
CSAT_DROP_WEEK = 22
REWORK_BEFORE = (0.15, 0.23)  # (share the first review sends back, P(a later one does again))
REWORK_AFTER = (0.38, 0.64)
MAX_ROUNDS = 6
CSAT_LOW: Weights = (0.15, 0.20, 0.25, 0.25, 0.15)  # P(1..5): 40% score 4 or 5
CONTENT_RESPONSE = 0.40
WRITERS_BEFORE = ((WRITER, 0.40), (VA, 0.32), (AGENT, 0.28))
WRITERS_AFTER = ((NEW_WRITER, 0.40), (VA, 0.32), (AGENT, 0.28))

# S4: a checklist arrives at week 10; every working stage then speeds up steadily for 26 weeks,
# taking median CT from 10 to 6 days.
CHECKLIST_WEEK = 10
IMPROVEMENT_WEEKS = 26
DELIVERY_ACTIVE_MEDIAN = 1.5
# A studio that delivers to a checklist varies less than the defaults, so the weekly medians
# show the trend (Mann-Kendall, METRICS.md section 3.4) rather than noise.
DELIVERY_SIGMA, DELIVERY_WAIT_SIGMA = 0.6, 0.8
IMPROVED_SCALE = 0.42  # stage medians at the end of the improvement, relative to the start
DESIGNERS = ((DESIGNER, 0.40), (VA, 0.32), (WRITER, 0.20), (OWNER, 0.08))
DELIVERY_CHECKLIST = 7
# First reviews send back an exact share of each block of STRATUM cases (see `stratified`).
STRATUM = 50
FEEDBACK_ASK = ("First concepts are ready: please send your feedback.",)
FEEDBACK_SENT = ("Love it, a couple of small notes attached.", "Approved, go ahead!")


def _onboarding_title(rng: Random, number: int, company: str) -> str:
    return f"Onboard {company}"


def route_onboarding(run: CaseRun, now: int) -> str:
    """Next onboarding stage; from ACCESS_SETUP_WEEK the owner's access setup follows kickoff."""
    name, rng, visits = run.stage.name, run.rng, run.visits
    if name == "New client":
        return "Cancelled" if rng.random() < CANCEL_SHARE else "Kickoff call"
    setup = now >= run.clock.week_start(ACCESS_SETUP_WEEK)
    if name == "Kickoff call" and setup and not visits["Access setup"]:
        return "Access setup"
    if name == "Access setup":
        docs_missing = rng.random() < DOCS_MISSING_AFTER_SETUP
        return "Waiting on client docs" if docs_missing else "OBM review"
    if name == "Kickoff call":
        docs_asked = visits["Waiting on client docs"] or visits["Access setup"]
        return "OBM review" if docs_asked else "Waiting on client docs"
    if name == "Waiting on client docs":
        return "OBM review"
    if rng.random() < REVIEW_REWORK and visits["OBM review"] < 3:
        return "Kickoff call"
    return "Onboarded"


def onboarding_plan() -> Plan:
    """S1: coaching clients onboarded at 3 a week; the owner's access setup from week 30."""
    process = Process(
        name="Client onboarding",
        prefix="ONB",
        kind="standard",
        route=route_onboarding,
        arrivals=Arrivals(per_week=3),
        title=_onboarding_title,
        audience="new_client",
        template="onboarding-v2",
        client_facing=True,
        due_days=18,  # p90(LT) before the injection
        checklist_total=8,
        intake=KICKOFF,
        creators=((OBM, 0.6), (OWNER, 0.4)),
        manager=OBM,
        roles=ROLES,
        notes=words.ONBOARDING_NOTES,
        stages=(
            Stage("New client", "backlog", 1.0, 0.8),
            Stage("Kickoff call", "active", 1.0, 0.8, pool=KICKOFF, notes=words.KICKOFF_NOTES),
            Stage(
                "Access setup",
                "active",
                ACCESS_SETUP_MEDIAN,
                ACCESS_SETUP_SIGMA,
                pool=((OWNER, 1.0),),
                notes=words.ACCESS_NOTES,
                late_work=True,
            ),
            Stage(
                "Waiting on client docs",
                "waiting_on_client",
                WAIT_MEDIAN,
                1.1,
                pool=KICKOFF,
                same_as="Kickoff call",
                on_enter=words.DOCS_REQUEST,
                enter_public=True,
                client_says=words.DOCS_SENT,
            ),
            Stage("OBM review", "review", WAIT_MEDIAN, WAIT_SIGMA, pool=CHECKERS, fresh_eyes=True),
            Stage("Onboarded", "done", pool=FINISHERS, keep=False),
            Stage("Cancelled", "cancelled"),
        ),
    )
    return Plan(
        process, constant(3), csat=healthy_csat, csat_response=CSAT_RESPONSE,
        settle=credit_in_turns,
    )  # fmt: skip


def credit_in_turns(cases: list[list[Timed]], clock: Clock) -> None:
    """S1's completions go to the VA and the OBM in turns, 55/45 in every run of completions
    (a random draw would hand one of them 60% of some two-month stretch: O7(a) must not fire)."""
    done = sorted(
        (t, i, j)
        for i, case in enumerate(cases)
        for j, (t, event) in enumerate(case)
        if event["kind"] == "completed"
    )
    inserts = []
    for n, (t, i, j) in enumerate(done):
        person = turn(FINISHERS, n)
        event = cases[i][j][1]
        if event.get("assignee") != person:
            event.update(actor=person, assignee=person)
            handover: Event = {"actor": person, "assignee": person}
            inserts.append(
                (i, j, (t, side_event(event, "assigned", event["occurred_at"], handover)))
            )
    for i, j, item in sorted(inserts, key=lambda x: (x[0], -x[1])):
        cases[i].insert(j, item)


def _content_title(rng: Random, number: int, company: str) -> str:
    return f"{rng.choice(words.FORMATS)}: {rng.choice(words.TOPICS)} ({company})"


def content_route(send_back: bool, again: float) -> Callable[[CaseRun, int], str]:
    """Content routing: the first review sends the draft back when `send_back`, later ones with
    probability `again`, for at most MAX_ROUNDS rounds."""

    def route(run: CaseRun, now: int) -> str:
        name, rng = run.stage.name, run.rng
        if name == "Ideas":
            return "Archived" if rng.random() < CANCEL_SHARE else "Drafting"
        if name in ("Drafting", "Revisions"):
            return "Editor review"
        reviews = run.visits["Editor review"]
        back = send_back if reviews == 1 else rng.random() < again and reviews <= MAX_ROUNDS
        return "Revisions" if back else "Published"

    return route


def content_csat(clock: Clock, created_at: int, responded_at: int) -> Weights:
    """S2 ratings: healthy until CSAT_DROP_WEEK, then only 40% positive."""
    return CSAT_LOW if responded_at >= clock.week_start(CSAT_DROP_WEEK) else CSAT_HEALTHY


@cache
def content_process(after: bool, send_back: bool) -> Process:
    """Content production before or after the writer change, for an item sent back or not."""
    writers = WRITERS_AFTER if after else WRITERS_BEFORE
    again = (REWORK_AFTER if after else REWORK_BEFORE)[1]
    return Process(
        name="Content production",
        prefix="CNT",
        kind="standard",
        route=content_route(send_back, again),
        arrivals=Arrivals(per_week=10),
        title=_content_title,
        audience="client",
        template="content-brief-v3",
        client_facing=True,
        due_days=15,  # p90(LT) before the injection
        checklist_total=6,
        intake=writers,
        creators=((EDITOR, 0.4), (OBM, 0.3), (OWNER, 0.3)),
        manager=OBM,
        roles=ROLES,
        notes=words.CONTENT_NOTES,
        stages=(
            Stage("Ideas", "backlog", 1.0, 0.8),
            Stage("Drafting", "active", ACTIVE_MEDIAN, ACTIVE_SIGMA, pool=writers),
            Stage(
                "Editor review",
                "review",
                WAIT_MEDIAN,
                WAIT_SIGMA,
                pool=((EDITOR, 0.6), (OBM, 0.4)),
                fresh_eyes=True,
            ),
            Stage(
                "Revisions",
                "active",
                0.8,
                ACTIVE_SIGMA,
                pool=writers,
                same_as="Drafting",
                notes=words.REVISION_NOTES,
                on_enter=words.REVISION_REQUEST,
            ),
            Stage("Published", "done", pool=writers, same_as="Drafting"),
            Stage("Archived", "cancelled"),
        ),
    )


def content_variant(clock: Clock, case: Case, stem: str) -> Process:
    """Items created from the writer change on are the new writer's; 15% / 38% go back."""
    after = case.created_at >= clock.week_start(WRITER_CHANGE_WEEK)
    share = (REWORK_AFTER if after else REWORK_BEFORE)[0]
    return content_process(after, stratified(case, f"{stem}:{after}", share))


def content_plan() -> Plan:
    """S2: a studio's content, 10 a week, rated by 40% of clients."""
    return Plan(
        content_process(after=False, send_back=False),
        constant(10),
        variant=content_variant,
        csat=content_csat,
        csat_response=CONTENT_RESPONSE,
    )


def _delivery_title(rng: Random, number: int, company: str) -> str:
    return f"{rng.choice(('Brand kit', 'Website refresh', 'Launch graphics'))} for {company}"


def route_delivery(send_back: bool) -> Callable[[CaseRun, int], str]:
    """Delivery routing; the first QA review sends the item back exactly when `send_back`."""
    forward = linear_route(DELIVERY_PATH, {}, cancel="Cancelled")

    def route(run: CaseRun, now: int) -> str:
        if run.stage.name != "QA review":
            return forward(run, now)
        reviews = run.visits["QA review"]
        again = run.rng.random() < REVIEW_REWORK and reviews < 3
        return "Production" if (send_back if reviews == 1 else again) else "Delivered"

    return route


@cache
def delivery_for_week(week: int, send_back: bool) -> Process:
    """The delivery process for items created in simulation week `week`."""
    progress = min(max(week - CHECKLIST_WEEK, 0), IMPROVEMENT_WEEKS) / IMPROVEMENT_WEEKS
    scale = 1 - (1 - IMPROVED_SCALE) * progress
    stages = tuple(
        s
        if s.cls in ("backlog", "done", "cancelled")
        else replace(s, median_days=s.median_days * scale)
        for s in DELIVERY.stages
    )
    checklist = DELIVERY_CHECKLIST if week >= CHECKLIST_WEEK else 0
    route = route_delivery(send_back)
    return replace(DELIVERY, stages=stages, checklist_total=checklist, route=route)


def delivery_variant(clock: Clock, case: Case, stem: str) -> Process:
    """The delivery process of the week the item was created; QA sends back 12% of items."""
    send_back = stratified(case, stem, REVIEW_REWORK)
    return delivery_for_week(week_of(clock, case.created_at), send_back)


def stratified(case: Case, stem: str, share: float) -> bool:
    """Whether a case is among `share` of the cases picked at random in its block of 50.

    Picking an exact count per block (alternating 7 and 8 for 15%) keeps a rate on target in
    every quarter, where independent draws would wander by several points a year.
    """
    index, slot = divmod(int(case.case_id.rsplit("-", 1)[1]) - 1, STRATUM)
    exact = share * STRATUM
    count = math.floor(exact) + (index % 2 == 0 and exact % 1 > 0)
    return slot in Random(f"{stem}:stratum:{index}").sample(range(STRATUM), count)


DELIVERY_PATH = ("Brief", "Design", "Client feedback", "Production", "QA review", "Delivered")
DELIVERY = Process(
    name="Studio delivery",
    prefix="DLV",
    kind="standard",
    route=route_delivery(send_back=False),  # each item gets its own: see delivery_variant
    arrivals=Arrivals(per_week=8),
    title=_delivery_title,
    audience="client",
    template="delivery-sop-v1",
    client_facing=True,
    due_days=20,  # p90(LT) before the improvement
    intake=DESIGNERS,
    creators=((OBM, 0.7), (OWNER, 0.3)),
    manager=OBM,
    roles=ROLES,
    notes={"active": words.CONTENT_NOTES["active"], "review": words.CONTENT_NOTES["review"]},
    stages=(
        Stage("Brief", "backlog", 1.0, 0.8),
        Stage("Design", "active", DELIVERY_ACTIVE_MEDIAN, DELIVERY_SIGMA, pool=DESIGNERS),
        Stage(
            "Client feedback",
            "waiting_on_client",
            WAIT_MEDIAN,
            DELIVERY_WAIT_SIGMA,
            pool=DESIGNERS,
            same_as="Design",
            on_enter=FEEDBACK_ASK,
            enter_public=True,
            client_says=FEEDBACK_SENT,
        ),
        Stage(
            "Production",
            "active",
            DELIVERY_ACTIVE_MEDIAN,
            DELIVERY_SIGMA,
            pool=DESIGNERS,
            same_as="Design",
        ),
        Stage(
            "QA review", "review", WAIT_MEDIAN, DELIVERY_WAIT_SIGMA, pool=REVIEWERS, fresh_eyes=True
        ),
        Stage("Delivered", "done", pool=DESIGNERS, same_as="Design"),
        Stage("Cancelled", "cancelled"),
    ),
)


def delivery_plan() -> Plan:
    """S4: studio delivery, 8 a week, improving steadily after the week-10 checklist."""
    return Plan(
        DELIVERY,
        constant(8),
        variant=delivery_variant,
        csat=healthy_csat,
        csat_response=CSAT_RESPONSE,
    )
