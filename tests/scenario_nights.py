"""Runs a METRICS.md §7 scenario through the real load and nightly evaluations (history replay).

`night_states` imports the scenario's events with the product's own loader, then evaluates each
requested night as `opspulse run` would have on that night (only the events before its local
midnight), and records every flag record's status after each night.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flows.cli import main as cli_main
from flows.scenarios import simulate_scenario
from flows.simulate import write_jsonl
from models.settings import MaturityConfig, MetricsConfig
from warehouse.db import open_writer
from warehouse.detect import DetectOptions
from warehouse.replay import FLAG_TABLES, replay

TZ = "America/New_York"
START = date(2025, 1, 6)
Key = tuple[str, str | None, str | None]  # (flag_id, process, dim)
SEED = 20250106
OWNER = "Olivia Owner"
WINDOWS = {"S1": (32, 40), "S2": (23, 30), "S3": (41, 46), "S4": (36, 36), "S5": (47, 52),
           "S6": (52, 52), "S7": (14, 14)}  # fmt: skip
O_FLAGS = tuple(f"O{i}" for i in range(1, 15))
# The workspace's processes per scenario: the injected one first, then its healthy companions.
PROCESSES = {
    "S1": ("Client onboarding", "Coaching sessions", "Invoicing"),
    "S2": ("Content production", "Client requests", "Invoicing"),
    "S3": ("Support tickets", "Course updates"),
    "S4": ("Studio delivery", "Invoicing"),
    "S5": ("Launch prep", "Client delivery", "Invoicing"),
    "S6": ("Support desk", "Knowledge base"),
    "S7": ("Client requests", "Bookkeeping", "Invoicing"),
}
FRT_TARGETS = {"S3": {"Support tickets": 12.0}, "S6": {"Support desk": 8.0}}
# Escalation counts the items flagged at any evaluation of the last 14 days, so the scenarios whose
# must-raise rows are escalations are evaluated every night of their window, as `opspulse run`
# would be.
NIGHTLY_WINDOW = ("S1", "S3")


def week_night(week: int, weekday: int = 1) -> date:
    """The night (local midnight) starting weekday `weekday` (0 = Monday) of scenario week n."""
    return START + timedelta(weeks=week - 1, days=weekday)


def evaluation_nights(name: str, sparse: range, nightly_weeks: int) -> list[date]:
    """Tuesday and Wednesday of every week in `sparse` and in the scenario's must-raise window,
    plus every night of the window's first `nightly_weeks` weeks for NIGHTLY_WINDOW scenarios."""
    first, last = WINDOWS[name]
    weeks = {*sparse, *range(first, last + 1)}
    found = {week_night(w, d) for w in weeks for d in (1, 2)}
    if name in NIGHTLY_WINDOW:
        nightly = range(first, min(last, first + nightly_weeks - 1) + 1)
        found |= {week_night(w, d) for w in nightly for d in range(7)}
    return sorted(found)


@dataclass
class NightLog:
    """Per night: each flag record's status, severity and trigger; maturity at the last night."""

    states: dict[date, dict[Key, tuple[str, str, str, str]]] = field(default_factory=dict)
    maturity: dict[date, dict[str, dict[str, Any]]] = field(default_factory=dict)
    flag_texts: set[str] = field(default_factory=set)  # every flag explanation seen
    level_texts: set[str] = field(default_factory=set)  # every maturity explanation + next step


def _collect(log: NightLog) -> Any:
    def after(con: duckdb.DuckDBPyConnection, night: date) -> None:
        rows = con.execute(
            "select flag_id, process, dim, status, severity, trigger, coalesce(subrules, '') "
            "from flag_state where status <> 'resolved'"
        ).fetchall()
        log.states[night] = {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6]) for r in rows}
        log.flag_texts.update(
            str(r[0]) for r in con.execute("select explanation from flag_state").fetchall()
        )
        cursor = con.execute(
            "select process, level, confidence, explanation, next_step, criteria from maturity"
        )
        log.maturity[night] = {
            r[0]: {
                "level": r[1],
                "confidence": r[2],
                "text": r[3],
                "next_step": r[4],
                "criteria": r[5],
            }
            for r in cursor.fetchall()
        }
        log.level_texts.update(
            f"{m['text']} {m['next_step']}" for m in log.maturity[night].values()
        )

    return after


def night_states(
    name: str,
    seed: int,
    nights: list[date],
    folder: Path,
    frt_targets: dict[str, float] | None = None,
) -> NightLog:
    """Import scenario `name` (seed) into a fresh home under `folder` and evaluate `nights`."""
    home = folder / f"{name}-{seed}"
    events = simulate_scenario(name, seed=seed)
    path = folder / f"{name}-{seed}.jsonl"
    write_jsonl(events, path)
    env = {
        "OPSPULSE_HOME": str(home),
        "OPSPULSE_TIMEZONE": TZ,
        "OPSPULSE_ALERTS__REPLAY_NIGHTS": "0",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    argv = sys.argv
    sys.argv = ["opspulse", "import", str(path)]
    try:
        cli_main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert code == 0, f"import of scenario {name} failed"
    log = NightLog()
    with open_writer(home / "default" / "warehouse.duckdb") as con:
        for table in FLAG_TABLES:
            con.execute(f"delete from {table}")
        for process, hours in (frt_targets or {}).items():  # as `process.<p>.frt_target_hours`
            con.execute("insert into cfg_frt_target values (?, ?)", [process, hours])
        replay(
            con, workspace="default", nights=nights, timezone=TZ, metrics=MetricsConfig(),
            maturity=MaturityConfig(), options=DetectOptions(),
            after_night=_collect(log),
        )  # fmt: skip
    return log


def week(night: date) -> int:
    return (night - week_night(1, 0)).days // 7 + 1


def fired(
    log: NightLog, flag_id: str, process: str, *, dim: str | None = None, sub: str | None = None,
    severity: str | None = None, trigger: str | None = None, active: bool = False,
) -> list[int]:  # fmt: skip
    """Weeks in which a matching record was firing (any active status with `active`)."""
    statuses = ("pending", "firing", "recovering") if active else ("firing", "recovering")
    return sorted({
        week(night)
        for night, flags in log.states.items()
        for (f, p, d), (status, sev, trig, subs) in flags.items()
        if f == flag_id and p == process and status in statuses
        and (dim is None or d == dim) and (sub is None or sub in subs.split(","))
        and (severity is None or sev == severity) and (trigger is None or trig == trigger)
    })  # fmt: skip


def within(weeks: list[int], first: int, last: int) -> bool:
    return any(first <= w <= last for w in weeks)
