"""Regression scenarios S1-S7 of METRICS.md section 7, simulated as canonical events."""

from flows.scenarios.catalog import (
    DEFAULT_SEED,
    DEFAULT_START,
    SCENARIOS,
    scenario,
    scenario_process_changes,
    simulate_scenario,
)
from flows.scenarios.workspace import ProcessChange, Scenario

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_START",
    "SCENARIOS",
    "ProcessChange",
    "Scenario",
    "scenario",
    "scenario_process_changes",
    "simulate_scenario",
]
