"""Pure frame-to-row logic of the dashboard: portfolio rows, trends, counts, freshness, silences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from warehouse import stats

__all__ = [
    "OPEN_STATUSES",
    "SEVERITY_RANK",
    "STALE_AFTER_HOURS",
    "TaskCounts",
    "Trend",
    "age_text",
    "level_text",
    "metric_value",
    "portfolio_rows",
    "silence_text",
    "sort_portfolio",
    "task_count_line",
    "weekly_trend",
]

OPEN_STATUSES = ("pending", "firing", "recovering", "insufficient_data")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SEVERITY_NAMES = {v: k for k, v in SEVERITY_RANK.items()}
STALE_AFTER_HOURS = 36.0  # sources.stale_after_hours (METRICS.md §6): older data is called stale
TREND_WEEKS = 26  # trend.max_weeks
TREND_MIN_WEEK_N = 3  # trend.min_week_n
TREND_ALPHA = 0.05  # maturity.I5.2.alpha


@dataclass(frozen=True)
class Trend:
    """A weekly trend of one process: slope per week (relative for cycle time) and its p-value."""

    slope: float
    p: float
    weeks: int
    worse: bool
    better: bool

    def text(self, unit: str) -> str:
        """`↑ 3.1%/wk worse (p=0.010)`, `flat (p=0.40)`."""
        if not (self.worse or self.better):
            return f"flat (p={self.p:.2f})"
        arrow = "↑" if self.slope > 0 else "↓"
        verdict = "worse" if self.worse else "better"
        return f"{arrow} {abs(self.slope):.1f}{unit}/wk {verdict} (p={self.p:.3f})"


def weekly_trend(
    weekly: pd.DataFrame, column: str, as_of: date, *, relative: bool, bad_when_up: bool
) -> Trend | None:
    """Mann-Kendall and Theil-Sen over the last 26 complete ISO weeks with >= 3 items (§3.4).

    `relative` gives the slope as % of the median per week (cycle time), else in points of 100
    per week (rates); None below 12 weeks.
    """
    monday = as_of - timedelta(days=as_of.weekday())
    start = monday - timedelta(weeks=TREND_WEEKS)
    if weekly.empty:
        return None
    week = pd.to_datetime(weekly["week_start"]).dt.date
    rows = weekly[(week >= start) & (week < monday) & (weekly["n_cycle_time"] >= TREND_MIN_WEEK_N)]
    rows = rows[rows[column].notna()]
    if rows.empty:
        return None
    first = pd.Timestamp(rows["week_start"].min())
    series = [
        ((pd.Timestamp(w) - first).days // 7, float(v) * (1 if relative else 100))
        for w, v in zip(rows["week_start"], rows[column], strict=True)
    ]
    result = stats.trend(series)
    if result is None:
        return None
    slope = 100 * (result.relative_slope or 0.0) if relative else result.slope
    significant = result.p < TREND_ALPHA and slope != 0
    worse = significant and (slope > 0) == bad_when_up
    return Trend(slope, result.p, result.n, worse, significant and not worse)


def metric_value(metrics: pd.DataFrame, process: str, window: str, metric: str) -> float | None:
    """One metric value from (process, window_name, metric) rows, or None."""
    if metrics.empty:
        return None
    hit = metrics[
        (metrics["process"] == process)
        & (metrics["window_name"] == window)
        & (metrics["metric"] == metric)
    ]
    if hit.empty or pd.isna(hit["value"].iloc[0]):
        return None
    return float(hit["value"].iloc[0])


def level_text(level: Any, subscore: Any) -> str:
    """`L2 (67% of the way to L3)`, `L5`, or `not enough data` (METRICS.md §4)."""
    if level is None or (isinstance(level, float) and math.isnan(level)):
        return "not enough data"
    lvl = int(level)
    return f"L{lvl}" if lvl >= 5 else f"L{lvl} ({int(subscore)}% of the way to L{lvl + 1})"


@dataclass(frozen=True)
class TaskCounts:
    """Open task flags of one process by flag name."""

    by_name: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_name.values())


def task_count_line(counts: TaskCounts) -> str:
    """One line for the OBM: `3 Overdue task · 1 Unassigned`, or `none`."""
    if not counts.total:
        return "none"
    return " · ".join(f"{n} {name}" for name, n in counts.by_name.items())


def age_text(then: datetime, now: datetime) -> str:
    """`3 h ago`, `2 d ago`; `(stale)` is added past STALE_AFTER_HOURS."""
    hours = max((now - then).total_seconds() / 3600, 0.0)
    text = f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} d ago"
    return f"{text} (stale)" if hours > STALE_AFTER_HOURS else text


def _ops_text(ops: pd.DataFrame, process: str) -> tuple[int, str]:
    hit = ops[ops["process"] == process] if not ops.empty else ops
    if hit.empty:
        return 0, "none"
    n = int(hit["n"].iloc[0])
    return n, f"{n} (worst {SEVERITY_NAMES.get(int(hit['worst'].iloc[0]), '?')})"


def _task_counts(tasks: pd.DataFrame, process: str) -> TaskCounts:
    if tasks.empty:
        return TaskCounts({})
    hit = tasks[tasks["process"] == process]
    return TaskCounts({str(r.name): int(r.n) for r in hit.itertuples(index=False)})


def portfolio_rows(
    workspace: str, frames: dict[str, pd.DataFrame], published: datetime, now: datetime
) -> list[dict[str, Any]]:
    """One row per process of a workspace, with the sort key `trend_score` (worst first)."""
    maturity, metrics, weekly = frames["maturity"], frames["metrics"], frames["weekly"]
    if maturity.empty or frames["build"].empty:
        return []
    as_of = pd.Timestamp(frames["build"]["as_of"].iloc[0]).date()
    rows = []
    for m in maturity.to_dict("records"):
        process = str(m["process"])
        mine = weekly[weekly["process"] == process] if not weekly.empty else weekly
        ct = weekly_trend(mine, "cycle_time_p50_days", as_of, relative=True, bad_when_up=True)
        rw = weekly_trend(mine, "rework_rate", as_of, relative=False, bad_when_up=True)
        n_ops, ops = _ops_text(frames["ops"], process)
        tasks = _task_counts(frames["tasks"], process)
        worst = max((t.slope for t in (ct,) if t and t.worse), default=0.0) + max(
            (t.slope for t in (rw,) if t and t.worse), default=0.0
        )
        rows.append({
            "workspace": workspace, "process": process,
            "level": level_text(m["level"], m["subscore"]), "confidence": m["confidence"],
            "operations_flags": ops, "task_flags": task_count_line(tasks),
            "cycle_time_p50_days": metric_value(metrics, process, "current", "cycle_time_p50_days"),
            "baseline_p50_days": metric_value(metrics, process, "baseline", "cycle_time_p50_days"),
            "cycle_time_trend": ct.text("%") if ct else "fewer than 12 weeks",
            "rework_trend": rw.text(" pp") if rw else "fewer than 12 weeks",
            "csat": metric_value(metrics, process, "current", "csat"),
            "as_of": as_of, "published": age_text(published, now),
            "n_operations_flags": n_ops, "n_task_flags": tasks.total,
            "trend_score": worst, "link": "process?" + urlencode({"ws": workspace, "process": process}),
        })  # fmt: skip
    return rows


def sort_portfolio(frame: pd.DataFrame) -> pd.DataFrame:
    """Worst trends first (largest significant worsening), then most open flags."""
    if frame.empty:
        return frame
    return frame.sort_values(
        ["trend_score", "n_operations_flags", "n_task_flags", "workspace", "process"],
        ascending=[False, False, False, True, True],
    )


def silence_text(flag: dict[str, Any], now: datetime) -> str:
    """Whether a flag is acknowledged or snoozed for its current episode (METRICS.md §6)."""
    first_seen = _when(flag.get("first_seen_at"))
    parts = []
    acked = _when(flag.get("acknowledged_at"))
    if acked is not None and (first_seen is None or acked >= first_seen):
        rose = SEVERITY_RANK.get(str(flag["severity"]), 9) < SEVERITY_RANK.get(
            str(flag.get("acknowledged_severity")), 9
        )
        if not rose:
            parts.append(f"acknowledged by {flag['acknowledged_by']} on {acked:%Y-%m-%d}")
    until = _when(flag.get("snoozed_until"))
    if until is not None and until > now:
        broken = flag["severity"] == "critical" and flag.get("snoozed_severity") != "critical"
        if not broken:
            parts.append(
                f"snoozed until {until:%Y-%m-%d} by {flag['snoozed_by']}: {flag['snooze_reason']}"
            )
    return "; ".join(parts)


def _when(value: Any) -> datetime | None:
    """A timestamp cell as a datetime, or None when it is empty (None, NaT)."""
    if value is None or not bool(pd.notna(value)):
        return None
    when: datetime = pd.Timestamp(value).to_pydatetime()
    return when
