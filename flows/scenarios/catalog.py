"""The seven scenario workspaces of METRICS.md section 7 and the functions that simulate them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from flows.scenarios.clock import FastClock
from flows.scenarios.healthy import OBM, healthy_plan, invoicing_process, standard_process
from flows.scenarios.injected import content_plan, delivery_plan, onboarding_plan
from flows.scenarios.launch import LAUNCH_PROCESS, launch_prep_events
from flows.scenarios.overdue import guard_overdue
from flows.scenarios.support import degraded_support_plan, mature_support_plan
from flows.scenarios.workspace import (
    ChangePlan,
    Plan,
    ProcessChange,
    Scenario,
    Timed,
    simulate_workspace,
)
from flows.simulate_engine import Clock, Process

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_START",
    "SCENARIOS",
    "scenario",
    "scenario_process_changes",
    "simulate_scenario",
]

DEFAULT_SEED = 20250106
DEFAULT_START = date(2025, 1, 6)
# Healthy companions: due dates at created + p90(LT) of each process (measured, in days).
STANDARD_DUE_DAYS = 15
# S7: overdue items stay at or below a fifth of the open ones in every 14 days.
S7_MAX_OVERDUE_SHARE = 0.20


def _companion(name: str, prefix: str, per_week: float, client_facing: bool) -> Process:
    template = f"{prefix.lower()}-sop-v1"
    return standard_process(
        name,
        prefix,
        per_week,
        client_facing=client_facing,
        due_days=STANDARD_DUE_DAYS,
        template=template,
    )


def _keep_overdue_sparse(cases: list[list[Timed]], clock: Clock) -> None:
    guard_overdue(cases, clock, S7_MAX_OVERDUE_SHARE, OBM)


def _noise_only(plan: Plan) -> Plan:
    return replace(plan, settle=_keep_overdue_sparse)


SCENARIOS: dict[str, Scenario] = {
    "S1": Scenario(
        key="S1",
        title="Onboarding bottleneck (coach, 3/week)",
        process="Client onboarding",
        injection=(
            "From week 30 a new active stage 'Access setup' is done by the business owner "
            "alone (median 6 days); median CT rises from 7 to 12 days. Completions are "
            "credited to the VA and the OBM, 55/45."
        ),
        plans=(
            onboarding_plan(),
            healthy_plan(_companion("Coaching sessions", "CCH", 6, client_facing=True)),
            healthy_plan(invoicing_process(4)),
        ),
    ),
    "S2": Scenario(
        key="S2",
        title="Content rework spike (studio, 10/week, 40% response)",
        process="Content production",
        injection=(
            "A writer change at week 20 takes rework from 15% to 38% and rv_reworked_mean from "
            "1.3 to 2.6. From week 22, CSAT falls from ~85% to ~40%."
        ),
        plans=(
            content_plan(),
            healthy_plan(_companion("Client requests", "REQ", 5, client_facing=True)),
            healthy_plan(invoicing_process(6)),
        ),
    ),
    "S3": Scenario(
        key="S3",
        title="Support degradation (course creator, ~150 tickets/week, target 12h)",
        process="Support tickets",
        injection=(
            "The launch in week 40 triples the volume and one of three agents leaves for good. "
            "Median first reply goes from 4h to 19h, the backlog grows in weeks 40-42 and CSAT "
            "falls from 88% to 74% (20% response)."
        ),
        plans=(
            degraded_support_plan(),
            healthy_plan(_companion("Course updates", "CRS", 4, client_facing=False)),
        ),
    ),
    "S4": Scenario(
        key="S4",
        title="Improving process (studio delivery, 8/week)",
        process="Studio delivery",
        injection=(
            "A checklist is added at week 10 (a process_change); median CT then falls steadily "
            "from 10 to 6 days over 26 weeks, with rework at 12% +/- 2pp."
        ),
        plans=(delivery_plan(), healthy_plan(invoicing_process(6))),
        changes=(
            ChangePlan(
                "Studio delivery",
                week=10,
                kind="checklist_added",
                comment="Added a delivery checklist to the template; please use it from today.",
                actor=OBM,
            ),
        ),
    ),
    "S5": Scenario(
        key="S5",
        title="Ad-hoc launch prep (internal)",
        process=LAUNCH_PROCESS,
        injection=(
            "Active only in weeks 47-52: 12 cases completed in the last 28 days, 9 variants, "
            "no template, 50% assigned, 30% with due dates, 3 people sharing evenly."
        ),
        plans=(
            healthy_plan(_companion("Client delivery", "CDL", 8, client_facing=True)),
            healthy_plan(invoicing_process(5)),
        ),
        extra=launch_prep_events,
    ),
    "S6": Scenario(
        key="S6",
        title="Healthy L4 (mature support, 60 tickets/week, target 8h)",
        process="Support desk",
        injection="None: median first reply 2h, CT sigma_ln ~0.4, CSAT 92%, happy path >= 70%.",
        plans=(
            mature_support_plan(),
            healthy_plan(_companion("Knowledge base", "KB", 4, client_facing=False)),
        ),
    ),
    "S7": Scenario(
        key="S7",
        title="Noise-only client (10 items/week per process)",
        process="Client requests",
        injection=(
            "Random overdue tasks only: on-time ~90%, and the overdue share of eligible items "
            "stays at or below 20% in every 14 days."
        ),
        plans=(
            _noise_only(healthy_plan(_companion("Client requests", "REQ", 10, True))),
            _noise_only(healthy_plan(_companion("Bookkeeping", "BKP", 10, False))),
            _noise_only(healthy_plan(invoicing_process(10))),
        ),
    ),
}


def simulate_scenario(
    name: str,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    weeks: int = 52,
    timezone: str = "America/New_York",
) -> list[dict[str, object]]:
    """Canonical events of one scenario's workspace (S1-S7), ordered by occurred_at."""
    return simulate_workspace(scenario(name), seed, FastClock(timezone, start, weeks))


def scenario_process_changes(
    name: str,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    weeks: int = 52,
    timezone: str = "America/New_York",
) -> list[ProcessChange]:
    """The scenario's process changes as (process, ts, kind); the same for every seed."""
    return scenario(name).process_changes(FastClock(timezone, start, weeks))


def scenario(name: str) -> Scenario:
    """The scenario called `name` ("S1".."S7", any case)."""
    key = name.strip().upper()
    if key not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIOS)}")
    return SCENARIOS[key]
