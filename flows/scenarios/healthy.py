"""The scenarios' people and the healthy-defaults processes of METRICS.md section 7."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from random import Random

from flows import simulate_words as words
from flows.scenarios.workspace import Plan, Weights, constant
from flows.simulate_engine import Arrivals, CaseRun, Clock, Process, Stage

__all__ = [
    "ACTIVE_MEDIAN",
    "ACTIVE_SIGMA",
    "AGENT",
    "CANCEL_SHARE",
    "CASEY",
    "CSAT_HEALTHY",
    "CSAT_RESPONSE",
    "DESIGNER",
    "DOERS",
    "EDITOR",
    "NEW_WRITER",
    "OBM",
    "OWNER",
    "REVIEWERS",
    "REVIEW_REWORK",
    "RILEY",
    "ROLES",
    "VA",
    "WAIT_MEDIAN",
    "WAIT_SIGMA",
    "WRITER",
    "healthy_csat",
    "healthy_plan",
    "invoicing_process",
    "linear_route",
    "standard_process",
]

OWNER = "Olivia Owner"
OBM = "Maya Chen"
VA = "Priya Patel"
WRITER = "Sam Rivera"
EDITOR = "Lena Novak"
AGENT = "Jordan Blake"
CASEY = "Casey Morgan"
RILEY = "Riley Brooks"
NEW_WRITER = "Alex Kim"
DESIGNER = "Noah Fischer"
ROLES = {
    OWNER: "owner",
    OBM: "obm",
    VA: "va",
    WRITER: "writer",
    EDITOR: "editor",
    AGENT: "agent",
    CASEY: "agent",
    RILEY: "agent",
    NEW_WRITER: "writer",
    DESIGNER: "designer",
}

# Healthy defaults, METRICS.md section 7: three performers and more, top one at most 45%; the
# owner is on under 15% of items and owns no stage. Reviewers close items, so they are the
# performers credited with completions.
DOERS = ((VA, 0.36), (WRITER, 0.31), (AGENT, 0.27), (OWNER, 0.06))
REVIEWERS = ((OBM, 0.36), (EDITOR, 0.34), (DESIGNER, 0.30))
# Lognormal dwell parameters; working hours and weekends stretch what the events show (active
# visits last a median ~1.2 d, reviews ~2 d), still inside the healthy ranges; two active
# steps before review keep sigma_ln(CT) near 0.5.
ACTIVE_MEDIAN, ACTIVE_SIGMA = 1.0, 0.75  # active stages: median 0.5-2 d, sigma_ln 0.7-0.9
WAIT_MEDIAN, WAIT_SIGMA = 1.5, 1.1  # review and waiting stages: median 1.5-3 d, sigma_ln 1.0-1.2
FINAL_CHECKS_MEDIAN = 0.6
REVIEW_REWORK = 0.12  # per review stage
CANCEL_SHARE = 0.02
CSAT_HEALTHY: Weights = (0.03, 0.04, 0.08, 0.25, 0.60)  # P(1..5): 85% score 4 or 5
CSAT_RESPONSE = 0.30  # of completed client-facing items
# Invoices wait on the client's payment, which follows the terms rather than the wait-stage
# default: a median of 6 days (sigma_ln 0.6) against net-14 terms leaves ~10% paid late.
PAY_MEDIAN, PAY_SIGMA, PAY_TERMS_DAYS = 6.0, 0.6, 14

HEALTHY_NOTES = {
    "backlog": (("Queued for this week.", False),),
    "active": (
        ("Started on this, first pass today.", False),
        ("Quick progress update: about halfway there.", True),
        ("Pulled the details from the client folder.", False),
        ("Question for the client about the details.", True),
    ),
    "review": (
        ("Reviewing against the checklist.", False),
        ("Small fixes, otherwise good.", False),
    ),
}
FINAL_CHECK_NOTES = (("Went through the checklist.", False), ("Sent the client a preview.", True))
REQUESTS = ("Landing page update", "Email sequence", "Workshop slides", "Social media batch")
READY = ("Ready for your review.", "Done on my side, over to review.")


def healthy_csat(clock: Clock, created_at: int, responded_at: int) -> Weights:
    """Healthy-defaults CSAT: P(5..1) = (.60, .25, .08, .04, .03)."""
    return CSAT_HEALTHY


def healthy_plan(process: Process) -> Plan:
    """A process that runs on the healthy defaults all year at its arrival rate."""
    rated = process.client_facing
    return Plan(
        process=process,
        per_week=constant(process.arrivals.per_week),
        csat=healthy_csat if rated else None,
        csat_response=CSAT_RESPONSE if rated else 0.0,
    )


def linear_route(
    path: tuple[str, ...], back_to: Mapping[str, str], cancel: str | None = None
) -> Callable[[CaseRun, int], str]:
    """Routing along `path`; a review stage in `back_to` sends REVIEW_REWORK of visits back."""

    def route(run: CaseRun, now: int) -> str:
        name, rng = run.stage.name, run.rng
        if cancel and name == path[0] and rng.random() < CANCEL_SHARE:
            return cancel
        if name in back_to and rng.random() < REVIEW_REWORK and run.visits[name] < 3:
            return back_to[name]
        return path[path.index(name) + 1]

    return route


def _request_title(rng: Random, number: int, company: str) -> str:
    return f"{rng.choice(REQUESTS)} for {company}"


def _internal_title(rng: Random, number: int, company: str) -> str:
    return f"{rng.choice(words.DEPARTMENTS)} task #{number}"


def standard_process(
    name: str,
    prefix: str,
    per_week: float,
    *,
    client_facing: bool,
    due_days: int,
    template: str,
) -> Process:
    """A healthy standard process: to do, in progress, final checks, review, done.

    The doer works in two steps and a reviewer approves (12% go back) and closes the item, so
    completions are credited to the reviewers. opspulse ranks stages by class, so nothing
    active follows review: that would count as rework.
    """
    path = ("To do", "In progress", "Final checks", "Review", "Done")
    return Process(
        name=name,
        prefix=prefix,
        kind="standard",
        route=linear_route(path, {"Review": "In progress"}, cancel="Cancelled"),
        arrivals=Arrivals(per_week=per_week),
        title=_request_title if client_facing else _internal_title,
        audience="client" if client_facing else "internal",
        template=template,
        client_facing=client_facing,
        due_days=due_days,
        checklist_total=6,
        intake=DOERS,
        creators=((OBM, 0.7), (OWNER, 0.3)),
        manager=OBM,
        roles=ROLES,
        notes=HEALTHY_NOTES,
        stages=(
            Stage("To do", "backlog", 1.0, 0.8),
            Stage("In progress", "active", ACTIVE_MEDIAN, ACTIVE_SIGMA, pool=DOERS),
            Stage(
                "Final checks",
                "active",
                FINAL_CHECKS_MEDIAN,
                ACTIVE_SIGMA,
                pool=DOERS,
                same_as="In progress",
                notes=FINAL_CHECK_NOTES,
            ),
            Stage(
                "Review",
                "review",
                WAIT_MEDIAN,
                WAIT_SIGMA,
                pool=REVIEWERS,
                fresh_eyes=True,
                on_enter=READY,
            ),
            Stage("Done", "done"),
            Stage("Cancelled", "cancelled"),
        ),
    )


def _invoice_title(rng: Random, number: int, company: str) -> str:
    return f"Invoice INV-{number:04d} for {company}"


def _route_invoice(run: CaseRun, now: int) -> str:
    if run.rng.random() < CANCEL_SHARE / 2:
        return "Void"
    return "Sent" if run.stage.name == "Draft" else "Paid"


def invoicing_process(per_week: float) -> Process:
    """Healthy invoicing: draft, sent (waiting on the client's payment), paid; ~10% paid late."""
    return Process(
        name="Invoicing",
        prefix="INV",
        kind="invoicing",
        route=_route_invoice,
        arrivals=Arrivals(per_week=per_week),
        title=_invoice_title,
        audience="client",
        template="invoice-standard-v1",
        client_facing=False,
        due_days=PAY_TERMS_DAYS,
        intake=((VA, 0.40), (OBM, 0.35), (AGENT, 0.25)),
        creators=((VA, 0.7), (OBM, 0.3)),
        manager=OBM,
        roles=ROLES,
        notes=words.INVOICE_NOTES,
        stages=(
            Stage("Draft", "backlog", 0.8, 0.8),
            Stage(
                "Sent",
                "waiting_on_client",
                PAY_MEDIAN,
                PAY_SIGMA,
                client_exit=True,
                on_enter=words.INVOICE_SENT,
                enter_public=True,
            ),
            Stage("Paid", "done"),
            Stage("Void", "cancelled"),
        ),
    )
