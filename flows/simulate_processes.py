"""The simulated business's people and processes: stages, routing and who does what."""

from __future__ import annotations

from random import Random

from flows import simulate_words as words
from flows.simulate_engine import Arrivals, CaseRun, Process, Stage

__all__ = [
    "ACCESS_SETUP_WEEK",
    "AGENT",
    "AGENT_POOL",
    "COMPILER_POOL",
    "CONTENT",
    "CONTENT_REWORK",
    "CONTENT_REWORK_SPIKE",
    "EDITOR",
    "EDITOR_POOL",
    "INVOICING",
    "KICKOFF_POOL",
    "OBM",
    "ONBOARDING",
    "OWNER",
    "PROCESSES",
    "REPORTING",
    "REVIEW_REWORK",
    "REWORK_SPIKE_WEEK",
    "ROLES",
    "SUPPORT",
    "VA",
    "WRITER",
    "WRITER_POOL",
    "route_content",
    "route_invoicing",
    "route_onboarding",
    "route_reporting",
    "route_support",
]

OWNER = "Olivia Owner"
OBM = "Maya Chen"
VA = "Priya Patel"
WRITER = "Sam Rivera"
EDITOR = "Lena Novak"
AGENT = "Jordan Blake"
ROLES = {OWNER: "owner", OBM: "obm", VA: "va", WRITER: "writer", EDITOR: "editor", AGENT: "agent"}

# Injected problems (1-based simulation weeks), see METRICS.md section 7, scenarios S1 and S2.
ACCESS_SETUP_WEEK = 30
REWORK_SPIKE_WEEK = 40
REVIEW_REWORK = 0.12
CONTENT_REWORK = 0.13
CONTENT_REWORK_SPIKE = 0.35

KICKOFF_POOL = ((VA, 0.5), (AGENT, 0.3), (OBM, 0.2))
WRITER_POOL = ((WRITER, 0.45), (VA, 0.27), (AGENT, 0.2), (OWNER, 0.08))
EDITOR_POOL = ((EDITOR, 0.6), (OBM, 0.4))
AGENT_POOL = ((AGENT, 0.42), (VA, 0.3), (EDITOR, 0.2), (OWNER, 0.08))
COMPILER_POOL = ((VA, 0.45), (AGENT, 0.35), (WRITER, 0.2))


def _onboarding_title(rng: Random, number: int, company: str) -> str:
    return f"Onboard {company}"


def _content_title(rng: Random, number: int, company: str) -> str:
    return f"{rng.choice(words.FORMATS)}: {rng.choice(words.TOPICS)} ({company})"


def _support_title(rng: Random, number: int, company: str) -> str:
    return rng.choice(words.SUBJECTS)


def _invoice_title(rng: Random, number: int, company: str) -> str:
    return f"Invoice INV-{number:04d} for {company}"


def _report_title(rng: Random, number: int, company: str) -> str:
    week, department = divmod(number - 1, len(words.DEPARTMENTS))
    return f"Weekly KPI report: {words.DEPARTMENTS[department]}, week {week + 1}"


def route_onboarding(run: CaseRun, now: int) -> str:
    """Next onboarding stage; from ACCESS_SETUP_WEEK on, the owner's access setup comes next."""
    name, rng = run.stage.name, run.rng
    if name == "New client":
        return "Cancelled" if rng.random() < 0.02 else "Kickoff call"
    new_rule = now >= run.clock.week_start(ACCESS_SETUP_WEEK)
    if name == "Kickoff call" and new_rule and not run.visits["Access setup"]:
        return "Access setup"
    if name in ("Kickoff call", "Access setup"):
        return "OBM review" if run.visits["Waiting on client docs"] else "Waiting on client docs"
    if name == "Waiting on client docs":
        return "OBM review"
    if rng.random() < REVIEW_REWORK and run.visits["OBM review"] < 3:
        return run.last_visited("active")
    return "Onboarded"


def route_content(run: CaseRun, now: int) -> str:
    """Next content stage; rework from review rises from REWORK_SPIKE_WEEK on."""
    name, rng = run.stage.name, run.rng
    if name == "Ideas":
        return "Archived" if rng.random() < 0.04 else "Drafting"
    if name in ("Drafting", "Revisions"):
        return "Editor review"
    spike = now >= run.clock.week_start(REWORK_SPIKE_WEEK)
    rate = CONTENT_REWORK_SPIKE if spike else CONTENT_REWORK
    return "Revisions" if rng.random() < rate and run.visits["Editor review"] <= 3 else "Published"


def route_support(run: CaseRun, now: int) -> str:
    """Next ticket status: most are solved straight away, a fifth wait on the customer."""
    name, rng = run.stage.name, run.rng
    if name == "New":
        return "Open"
    if name == "Open":
        return "Pending" if rng.random() < 0.2 and run.visits["Pending"] < 2 else "Solved"
    return "Open" if rng.random() < 0.6 else "Solved"


def route_invoicing(run: CaseRun, now: int) -> str:
    """Next invoice status: sent, then paid; about 3% are voided."""
    if run.stage.name == "Draft":
        return "Void" if run.rng.random() < 0.01 else "Sent"
    return "Void" if run.rng.random() < 0.02 else "Paid"


def route_reporting(run: CaseRun, now: int) -> str:
    """Next reporting stage: compile, OBM check, file."""
    name = run.stage.name
    if name == "To do":
        return "Compiling"
    if name == "Compiling":
        return "OBM check"
    rework = run.rng.random() < REVIEW_REWORK and run.visits["OBM check"] < 2
    return "Compiling" if rework else "Filed"


ONBOARDING = Process(
    name="Client onboarding",
    prefix="ONB",
    kind="standard",
    route=route_onboarding,
    arrivals=Arrivals(per_week=3),
    title=_onboarding_title,
    audience="new_client",
    template="onboarding-v2",
    client_facing=True,
    due_days=17,
    checklist_total=8,
    intake=KICKOFF_POOL,
    creators=((OBM, 0.6), (OWNER, 0.4)),
    manager=OBM,
    roles=ROLES,
    csat_scale="csat5",
    csat_response=0.30,
    notes=words.ONBOARDING_NOTES,
    stages=(
        Stage("New client", "backlog", 1.0, 0.8),
        Stage("Kickoff call", "active", 1.0, 0.8, pool=KICKOFF_POOL, notes=words.KICKOFF_NOTES),
        Stage("Access setup", "active", 6.0, 0.8, pool=((OWNER, 1.0),), notes=words.ACCESS_NOTES),
        Stage(
            "Waiting on client docs",
            "waiting_on_client",
            2.2,
            1.1,
            pool=KICKOFF_POOL,
            same_as="Kickoff call",
            on_enter=words.DOCS_REQUEST,
            enter_public=True,
            client_says=words.DOCS_SENT,
        ),
        Stage("OBM review", "review", 0.7, 0.8, pool=((OBM, 0.75), (VA, 0.25)), fresh_eyes=True),
        Stage("Onboarded", "done", pool=((VA, 0.55), (OBM, 0.45)), keep=False),
        Stage("Cancelled", "cancelled"),
    ),
)

CONTENT = Process(
    name="Content production",
    prefix="CNT",
    kind="standard",
    route=route_content,
    arrivals=Arrivals(per_week=10),
    title=_content_title,
    audience="client",
    template="content-brief-v3",
    client_facing=True,
    due_days=12,
    checklist_total=6,
    intake=WRITER_POOL,
    creators=((EDITOR, 0.4), (OBM, 0.3), (OWNER, 0.3)),
    manager=OBM,
    roles=ROLES,
    csat_scale="csat5",
    csat_response=0.30,
    notes=words.CONTENT_NOTES,
    stages=(
        Stage("Ideas", "backlog", 2.0, 0.9),
        Stage("Drafting", "active", 1.5, 0.8, pool=WRITER_POOL),
        Stage("Editor review", "review", 0.8, 0.8, pool=EDITOR_POOL, fresh_eyes=True),
        Stage(
            "Revisions",
            "active",
            0.7,
            0.8,
            pool=((WRITER, 1.0),),
            same_as="Drafting",
            notes=words.REVISION_NOTES,
            on_enter=words.REVISION_REQUEST,
        ),
        Stage("Published", "done", pool=((WRITER, 1.0),), same_as="Drafting"),
        Stage("Archived", "cancelled"),
    ),
)

SUPPORT = Process(
    name="Support tickets",
    prefix="TCK",
    kind="support",
    route=route_support,
    arrivals=Arrivals(per_week=40, weekend_share=0.15, first_hour=8, last_hour=20),
    title=_support_title,
    audience="customer",
    template="support-form-v1",
    client_facing=True,
    due_days=3,
    assign_share=0.0,
    workdays=6,  # the help desk also answers on Saturdays
    intake=(),
    creators=(),
    manager=OBM,
    roles=ROLES,
    reopen_to="Open",
    reopen_share=0.03,
    reopen_says=words.TICKET_REOPEN,
    csat_scale="csat2",
    csat_response=0.20,
    notes=words.SUPPORT_NOTES,
    stages=(
        Stage("New", "backlog", 0.1, 0.9),
        Stage(
            "Open",
            "active",
            0.4,
            0.7,
            pool=AGENT_POOL,
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
        Stage("Solved", "done", on_enter=words.TICKET_SOLVED, enter_public=True),
    ),
)

INVOICING = Process(
    name="Invoicing",
    prefix="INV",
    kind="invoicing",
    route=route_invoicing,
    arrivals=Arrivals(per_week=5),
    title=_invoice_title,
    audience="client",
    template="invoice-standard-v1",
    client_facing=False,
    due_days=16,
    due_move_share=0.1,
    intake=((VA, 0.45), (OBM, 0.35), (AGENT, 0.2)),
    creators=((VA, 0.7), (OBM, 0.3)),
    manager=OBM,
    roles=ROLES,
    notes=words.INVOICE_NOTES,
    stages=(
        Stage("Draft", "backlog", 0.8, 0.8),
        Stage(
            "Sent",
            "waiting_on_client",
            7.0,
            0.6,
            client_exit=True,
            on_enter=words.INVOICE_SENT,
            enter_public=True,
        ),
        Stage("Paid", "done"),
        Stage("Void", "cancelled"),
    ),
)

REPORTING = Process(
    name="Weekly reporting",
    prefix="RPT",
    kind="standard",
    route=route_reporting,
    arrivals=Arrivals(per_week=4, first_hour=14, last_hour=17, weekday=4),
    title=_report_title,
    audience="internal",
    template="weekly-kpi-v1",
    client_facing=False,
    due_days=6,
    checklist_total=5,
    intake=COMPILER_POOL,
    creators=((OBM, 1.0),),
    manager=OBM,
    roles=ROLES,
    notes=words.REPORT_NOTES,
    stages=(
        Stage("To do", "backlog", 0.2, 0.7),
        Stage("Compiling", "active", 0.6, 0.7, pool=COMPILER_POOL),
        Stage("OBM check", "review", 0.5, 0.8, pool=((OBM, 0.6), (EDITOR, 0.4)), fresh_eyes=True),
        Stage("Filed", "done", pool=((VA, 1.0),), same_as="Compiling"),
    ),
)

PROCESSES = (ONBOARDING, CONTENT, SUPPORT, INVOICING, REPORTING)
