"""The maturity rubric of METRICS.md §4: gating, sub-score, confidence and explanations per process.

Evidence comes from `sql/maturity/evidence.sql` over the maturity window (90 days, extended to 180
when it holds fewer than 20 completions); control-chart and trend criteria use `warehouse.stats`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from models.settings import MaturityConfig
from warehouse import stats
from warehouse.batch import PerProcess
from warehouse.maturity.criteria import Criterion, level2, level3, level4, share
from warehouse.maturity.improvement import improvement_criteria, stats_verdict
from warehouse.sqlfiles import read_sql

__all__ = ["Maturity", "assess", "maturity_rows"]

LEVEL_NAMES = {
    1: "Initial",
    2: "Managed",
    3: "Defined",
    4: "Quantitatively managed",
    5: "Optimizing",
}


@dataclass
class Maturity:
    """A process's level (None when there is not enough data), with its reasons."""

    workspace: str
    process: str
    level: int | None
    subscore: int
    confidence: str
    window_days: int
    completions: int
    explanation: str
    next_step: str
    criteria: list[Criterion] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data["criteria"] = [
            {k: c[k] for k in ("id", "applicable", "passed", "value", "threshold", "name")}
            for c in data["criteria"]
        ]
        return data


def _evidence(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, cfg: MaturityConfig
) -> dict[str, dict[str, Any]]:
    cursor = con.cursor()
    cursor.execute(
        read_sql("maturity", "evidence.sql"),
        {
            "start_at": start,
            "end_at": end,
            "stale_days": cfg.stale_days,
            "stage_share": cfg.stage_share,
        },
    )
    names = [d[0] for d in cursor.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _gate(by_level: dict[int, list[Criterion]]) -> int:
    level = 1
    for lvl in (2, 3, 4, 5):
        required = [c for c in by_level.get(lvl, []) if c.applicable and not c.soft]
        if any(not c.passed for c in required):
            break
        level = lvl
    return level


def _subscore(level: int, by_level: dict[int, list[Criterion]]) -> int:
    if level >= 5:
        return 100
    nxt = [c for c in by_level.get(level + 1, []) if c.applicable]
    return round(100 * sum(1 for c in nxt if c.passed) / len(nxt)) if nxt else 0


def _confidence(completions: int, extended: bool, cfg: MaturityConfig) -> str:
    if completions < cfg.min_completions:
        return "not_enough_data"
    if extended or completions < 20:
        return "low"
    return "high" if completions >= 40 else "medium"


def _window(as_of: date, tz: str, days: int) -> tuple[datetime, datetime]:
    end = datetime.combine(as_of, time(), ZoneInfo(tz))
    return datetime.combine(as_of - timedelta(days=days), time(), ZoneInfo(tz)), end


def assess(
    con: duckdb.DuckDBPyConnection, *, workspace: str, as_of: date, timezone: str, cfg: MaturityConfig,
    targets: dict[str, bool],
) -> list[Maturity]:  # fmt: skip
    """Maturity of every process with events, at as_of."""
    base = _evidence(con, *_window(as_of, timezone, cfg.window_days), cfg)
    extended: dict[str, dict[str, Any]] | None = None  # read when a process needs it
    processes = [
        r[0] for r in con.execute("select distinct process from fct_cases order by 1").fetchall()
    ]
    batch = PerProcess(con)  # the per-process queries, asked once for every process
    results = []
    for process in processes:
        use_ext = (base.get(process) or {}).get("completed", 0) < cfg.min_completions_90d
        if use_ext and extended is None:
            extended = _evidence(con, *_window(as_of, timezone, cfg.extended_days), cfg)
        evidence = (extended if use_ext and extended is not None else base).get(process)
        days = cfg.extended_days if use_ext else cfg.window_days
        results.append(
            _assess_one(
                batch, workspace, process, evidence, days, use_ext, as_of, timezone, cfg, targets
            )
        )
    return results


def _assess_one(
    batch: PerProcess, workspace: str, process: str, e: dict[str, Any] | None, days: int,
    extended: bool, as_of: date, tz: str, cfg: MaturityConfig, targets: dict[str, bool],
) -> Maturity:  # fmt: skip
    completions = int(e["completed"]) if e else 0
    confidence = _confidence(completions, extended, cfg)
    if e is None or confidence == "not_enough_data":
        text = (f"Only {completions} {process} items completed in the last {days} days, too few to judge "
                "maturity. Showing activity only.")  # fmt: skip
        return Maturity(workspace, process, None, 0, "not_enough_data", days, completions, text,
                        "Keep recording work; the level appears after 8 completions.")  # fmt: skip
    spc = stats_verdict(batch, process, as_of, tz, completions, cfg)
    by_level = {
        2: level2(e, cfg, targets.get(process, False)),
        3: level3(e, cfg),
        4: level4(e, cfg, spc, targets.get(process, False)),
    }
    by_level[5] = improvement_criteria(batch, process, as_of, tz, cfg, by_level[4], spc)
    level = _gate(by_level)
    if confidence == "low":
        level = min(level, cfg.low_confidence_max_level)
    headline, step = _explain(process, level, e, spc, by_level)
    criteria = [c for lvl in (2, 3, 4, 5) for c in by_level[lvl]]
    lines = "\n".join(c.line() for c in criteria)
    return Maturity(workspace, process, level, _subscore(level, by_level), confidence, days, completions,
                    f"{headline}\n{lines}", step, criteria)  # fmt: skip


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}"


def _explain(process: str, level: int, e: dict[str, Any], spc: stats.SpcVerdict | None,
             by_level: dict[int, list[Criterion]]) -> tuple[str, str]:  # fmt: skip
    """Headline and next step from the METRICS.md §4 templates, every placeholder filled."""
    n = e["completed"]
    if level == 1:
        return (f"{process} runs ad hoc: only {_pct(share(e['with_assignee'], n))}% of items had an owner and "
                f"{_pct(share(e['with_due'], n))}% a due date.",
                "Next step: give every item an owner and a due date (Level 2).")  # fmt: skip
    if level == 2:
        return (f"{process} is managed but not standardised: {_pct(share(e['happy_path_cases'], n))}% follow the "
                f"same steps, {_pct(share(e['templated'], n))}% start from a template.",
                "Next step: turn the most common path into a template with a checklist (Level 3).")  # fmt: skip
    p50, p85 = e["ct_p50"] or 0.0, e["ct_p85"] or 0.0
    if level == 3:
        ratio = p85 / p50 if p50 else math.nan
        signals = spc.upper_rule1 if spc else 0
        unit = spc.unit if spc else "items"
        return (f"{process} is defined but timing is unpredictable: 85% finish within {p85:.1f} days against a "
                f"typical {p50:.1f} (ratio {ratio:.1f}, target ≤ 2.5); {signals} {unit} were unusually slow.",
                "Next step: review those outliers together and remove the common cause (Level 4).")  # fmt: skip
    if level == 4:
        return (f"{process} is predictable: median {p50:.1f} days, 85% within {p85:.1f}, no unusual variation in "
                f"the last {spc.evaluated_points if spc else n} {spc.unit if spc else 'items'}.",
                "Next step: set one improvement goal and change one thing at a time (Level 5).")  # fmt: skip
    trend = next((c for c in by_level[5] if c.id == "I5.2"), None)
    slope = f"{abs(trend.value):.1%}" if trend and trend.value is not None else "n/a"
    return (f"{process} is improving: the median falls {slope} per week; rework and CSAT held steady.",
            "Next step: lock in the new baseline and pick the next constraint.")  # fmt: skip


def maturity_rows(results: list[Maturity], as_of: date) -> list[dict[str, Any]]:
    """Rows for the `maturity` table and `opspulse maturity` (METRICS.md §8 fields)."""
    return [{**m.row(), "as_of": as_of} for m in results]
