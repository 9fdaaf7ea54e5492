"""The maturity rubric of METRICS.md §4: criteria per level, gating, sub-score, confidence, explanations.

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
from warehouse.sqlfiles import read_sql

__all__ = ["Criterion", "Maturity", "assess", "maturity_rows"]

LEVEL_NAMES = {
    1: "Initial",
    2: "Managed",
    3: "Defined",
    4: "Quantitatively managed",
    5: "Optimizing",
}


@dataclass
class Criterion:
    """One rubric line: whether it applies, passes, the observed value and the threshold."""

    id: str
    level: int
    name: str
    applicable: bool
    passed: bool | None
    value: float | None
    threshold: str
    soft: bool = False
    unit: str = "share"  # share (shown as %), count, ratio

    def line(self) -> str:
        mark = "-" if not self.applicable else ("✓" if self.passed else "✗")
        shown = "n/a" if self.value is None else _fmt(self.value, self.unit)
        return f"{mark} {self.id} {self.name}: {shown} (needs {self.threshold})"


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


def _fmt(value: float, unit: str = "share") -> str:
    if unit == "share":
        return f"{value:.0%}"
    return f"{value:.0f}" if unit == "count" else f"{value:.2f}"


def _share(k: int | None, n: int | None) -> float | None:
    return None if not n else (k or 0) / n


def _crit(cid: str, level: int, name: str, value: float | None, op: str, threshold: float,
          *, applicable: bool = True, soft: bool = False, unit: str = "share") -> Criterion:  # fmt: skip
    shown = f"{op}{_fmt(threshold, unit)}"
    if not applicable or value is None:
        return Criterion(cid, level, name, False, None, value, shown, soft, unit)
    passed = value >= threshold if op == "≥" else value <= threshold
    return Criterion(cid, level, name, True, passed, value, shown, soft, unit)


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


def _level2(e: dict[str, Any], cfg: MaturityConfig, support_target: bool) -> list[Criterion]:
    support = e["process_type"] == "support"
    due = (1.0 if support_target else 0.0) if support else _share(e["with_due"], e["completed"])
    owned = _share(e["with_assignee"], e["completed"])
    return [
        _crit("M2.1", 2, "completed items with an owner at finish", owned, "≥", cfg.m21_min),
        _crit("M2.2", 2, "SLA target configured" if support else "completed items with a due date", due, "≥",
              1.0 if support else cfg.m22_min),
        _crit("M2.3", 2, "open items stale for 14+ days", _share(e["n_stale"], e["n_open"]), "≤", cfg.m23_max,
              applicable=bool(e["n_open"])),
        _crit("M2.4", 2, "completed items with 2+ stage events", _share(e["multi_step"], e["completed"]), "≥",
              cfg.m24_min),
    ]  # fmt: skip


def _level3(e: dict[str, Any], cfg: MaturityConfig) -> list[Criterion]:
    template = _share(e["templated"], e["completed"]) or 0.0
    hps = _share(e["happy_path_cases"], e["completed"]) or 0.0
    # D3.1 passes on either arm; report the arm that is closer to passing.
    d31 = _crit(
        "D3.1",
        3,
        "template share or happy-path share",
        max(template, hps),
        "≥",
        min(cfg.template_min, cfg.hps_min),
    )
    d31.passed = template >= cfg.template_min or hps >= cfg.hps_min
    d31.threshold = f"template ≥{cfg.template_min:.0%} or HPS ≥{cfg.hps_min:.0%}"
    coverage = _share(e["cases_covering"], e["completed"]) if (e["n_canonical"] or 0) >= 2 else 0.0
    checklist_items = _share(e["with_checklist"], e["completed"]) or 0.0
    return [
        d31,
        _crit("D3.2", 3, "cases visiting every canonical stage", coverage, "≥", cfg.d32_min),
        _crit("D3.3", 3, "mean checklist completion", e["checklist_mean"], "≥", cfg.d33_min,
              applicable=checklist_items >= 0.2),
        # Stages carry no owner_role yet, so D3.4 cannot be judged.
        _crit("D3.4", 3, "owner-role handoffs picked up within 1 business day", None, "≥", 0.7,
              applicable=False, soft=True),
    ]  # fmt: skip


def _level4(
    e: dict[str, Any], cfg: MaturityConfig, spc: stats.SpcVerdict | None, has_target: bool
) -> list[Criterion]:
    ratio = e["ct_p85"] / e["ct_p50"] if e["ct_p50"] else None
    if e["client_facing"]:
        q44 = _crit(
            "Q4.4",
            4,
            "feedback coverage",
            _share(e["covered"], e["client_facing_done"]),
            "≥",
            cfg.fc_min,
        )
    else:
        q44 = _crit(
            "Q4.4",
            4,
            "cases with a review stage",
            _share(e["visited_review"], e["completed"]),
            "≥",
            0.5,
        )
    q42 = Criterion(
        "Q4.2",
        4,
        "no unusual slow points on the cycle-time chart",
        False,
        None,
        None,
        "no upper rule-1/4 signal",
    )
    if spc is not None and spc.evaluated:
        q42 = Criterion(
            "Q4.2",
            4,
            q42.name,
            True,
            spc.passed,
            float(spc.upper_rule1),
            q42.threshold,
            unit="count",
        )
    return [
        _crit(
            "Q4.1",
            4,
            "completions in the window",
            float(e["completed"]),
            "≥",
            cfg.q41_min,
            unit="count",
        ),
        q42,
        _crit("Q4.3", 4, "cycle-time p85/p50", ratio, "≤", cfg.q43_max, unit="ratio"),
        q44,
        Criterion(
            "Q4.5",
            4,
            "an owner target or SLA is configured",
            True,
            has_target,
            float(has_target),
            "yes",
            soft=True,
            unit="count",
        ),
    ]


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
    extended = _evidence(con, *_window(as_of, timezone, cfg.extended_days), cfg)
    processes = [
        r[0] for r in con.execute("select distinct process from fct_cases order by 1").fetchall()
    ]
    results = []
    for process in processes:
        use_ext = (base.get(process) or {}).get("completed", 0) < cfg.min_completions_90d
        evidence = (extended if use_ext else base).get(process)
        days = cfg.extended_days if use_ext else cfg.window_days
        results.append(
            _assess_one(
                con, workspace, process, evidence, days, use_ext, as_of, timezone, cfg, targets
            )
        )
    return results


def _assess_one(
    con: duckdb.DuckDBPyConnection, workspace: str, process: str, e: dict[str, Any] | None, days: int,
    extended: bool, as_of: date, tz: str, cfg: MaturityConfig, targets: dict[str, bool],
) -> Maturity:  # fmt: skip
    completions = int(e["completed"]) if e else 0
    confidence = _confidence(completions, extended, cfg)
    if e is None or confidence == "not_enough_data":
        text = (f"Only {completions} {process} items completed in the last {days} days, too few to judge "
                "maturity. Showing activity only.")  # fmt: skip
        return Maturity(workspace, process, None, 0, "not_enough_data", days, completions, text,
                        "Keep recording work; the level appears after 8 completions.")  # fmt: skip
    spc = stats_verdict(con, process, as_of, tz, completions, cfg)
    by_level = {
        2: _level2(e, cfg, targets.get(process, False)),
        3: _level3(e, cfg),
        4: _level4(e, cfg, spc, targets.get(process, False)),
    }
    by_level[5] = improvement_criteria(con, process, as_of, tz, cfg, by_level[4], spc)
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
        return (f"{process} runs ad hoc: only {_pct(_share(e['with_assignee'], n))}% of items had an owner and "
                f"{_pct(_share(e['with_due'], n))}% a due date.",
                "Next step: give every item an owner and a due date (Level 2).")  # fmt: skip
    if level == 2:
        return (f"{process} is managed but not standardised: {_pct(_share(e['happy_path_cases'], n))}% follow the "
                f"same steps, {_pct(_share(e['templated'], n))}% start from a template.",
                "Next step: turn the most common path into a template with a checklist (Level 3).")  # fmt: skip
    p50, p85 = e["ct_p50"] or 0.0, e["ct_p85"] or 0.0
    if level == 3:
        ratio = p85 / p50 if p50 else math.nan
        signals = spc.upper_rule1 if spc else 0
        return (f"{process} is defined but timing is unpredictable: 85% finish within {p85:.1f} days against a "
                f"typical {p50:.1f} (ratio {ratio:.1f}, target ≤ 2.5); {signals} items were unusually slow.",
                "Next step: review those outliers together and remove the common cause (Level 4).")  # fmt: skip
    if level == 4:
        return (f"{process} is predictable: median {p50:.1f} days, 85% within {p85:.1f}, no unusual variation in "
                f"the last {spc.evaluated_points if spc else n} items.",
                "Next step: set one improvement goal and change one thing at a time (Level 5).")  # fmt: skip
    trend = next((c for c in by_level[5] if c.id == "I5.2"), None)
    slope = f"{abs(trend.value):.1%}" if trend and trend.value is not None else "n/a"
    return (f"{process} is improving: the median falls {slope} per week; rework and CSAT held steady.",
            "Next step: lock in the new baseline and pick the next constraint.")  # fmt: skip


def maturity_rows(results: list[Maturity], as_of: date) -> list[dict[str, Any]]:
    """Rows for the `maturity` table and `opspulse maturity` (METRICS.md §8 fields)."""
    return [{**m.row(), "as_of": as_of} for m in results]


def stats_verdict(
    con: duckdb.DuckDBPyConnection,
    process: str,
    as_of: date,
    tz: str,
    completions: int,
    cfg: MaturityConfig,
) -> stats.SpcVerdict:
    """Q4.2: the XmR chart of ln cycle time (completions by finish, then case id) over a year."""
    end = datetime.combine(as_of, time(), ZoneInfo(tz))
    rows = con.execute(
        "select cycle_time_days from fct_cases where process = ? and state = 'completed' "
        "and cycle_time_days is not null and completed_at >= ? and completed_at < ? "
        "order by completed_at, case_id",
        [process, end - timedelta(days=cfg.lookback_days), end],
    ).fetchall()
    chart = stats.xmr_chart([stats.ln_cycle_time(r[0]) for r in rows])
    allowed = 1 if completions >= 40 else cfg.q42_rule1_allowed
    return stats.spc_verdict(chart, rule1_allowed=allowed)


_WEEKLY = """
select date_trunc('week', timezone($tz, completed_at))::date as week,
       median(cycle_time_days) as ct_median, avg(rework) as rework_rate, count(*) as n
from fct_cases
where process = $process and state = 'completed' and cycle_time_days is not null
  and completed_at >= $start and completed_at < $end
group by all having count(*) >= 3 order by week
"""


def _weekly_trends(
    con: duckdb.DuckDBPyConnection, process: str, as_of: date, tz: str
) -> tuple[stats.Trend | None, stats.Trend | None, date | None]:
    """Mann-Kendall/Theil-Sen on weekly median CT and rework % over the last 26 complete weeks."""
    monday = as_of - timedelta(days=as_of.weekday())
    start = datetime.combine(monday - timedelta(weeks=26), time(), ZoneInfo(tz))
    end = datetime.combine(monday, time(), ZoneInfo(tz))
    rows = con.execute(
        _WEEKLY, {"tz": tz, "process": process, "start": start, "end": end}
    ).fetchall()
    index = {r[0]: (r[0] - rows[0][0]).days // 7 for r in rows} if rows else {}
    ct = stats.trend([(index[r[0]], float(r[1])) for r in rows])
    rework = stats.trend([(index[r[0]], 100.0 * float(r[2])) for r in rows])
    return ct, rework, rows[0][0] if rows else None


def _metric(
    con: duckdb.DuckDBPyConnection, process: str, window: str, table: str, metric: str
) -> tuple[float | None, int]:
    row = con.execute(
        f"select value, n from {table} where process = ? and window_name = ? and metric = ?",
        [process, window, metric],
    ).fetchone()
    return (None, 0) if row is None else (row[0], int(row[1] or 0))


def _tradeoff(con: duckdb.DuckDBPyConnection, process: str, cfg: MaturityConfig) -> Criterion:
    """I5.3: rework not credibly up and CSAT not credibly down (current vs baseline, z_flag)."""
    rr_cur, n_rr = _metric(con, process, "current", "metric_quality", "rework_rate")
    rr_base, _ = _metric(con, process, "baseline", "metric_quality", "rework_rate")
    cs_cur, n_cs = _metric(con, process, "current", "metric_feedback", "csat")
    cs_base, _ = _metric(con, process, "baseline", "metric_feedback", "csat")
    worse = False
    if rr_cur is not None and rr_base is not None and n_rr:
        low = stats.wilson(round(rr_cur * n_rr), n_rr, cfg.z_flag).low
        worse |= low > rr_base + cfg.i53_rework_pp / 100
    if cs_cur is not None and cs_base is not None and n_cs:
        high = stats.wilson(round(cs_cur * n_cs), n_cs, cfg.z_flag).high
        worse |= high < cs_base - cfg.i53_csat_pp / 100
    return Criterion(
        "I5.3", 5, "no trade-off in rework or CSAT", True, not worse, None, "no credible worsening"
    )


def _process_change(
    con: duckdb.DuckDBPyConnection, process: str, first_week: date | None
) -> Criterion:
    """I5.4 (soft): a process change from 8 weeks before to 4 weeks after the trend's first week."""
    if first_week is None:
        return Criterion(
            "I5.4", 5, "a process change before the trend", False, None, None, "a change", soft=True
        )
    row = con.execute(
        "select count(*) from events where process = ? and attributes ->> '$.process_change' is not null "
        "and occurred_at::date between ? and ?",
        [process, first_week - timedelta(weeks=8), first_week + timedelta(weeks=4)],
    ).fetchone()
    found = bool(row and row[0])
    return Criterion(
        "I5.4",
        5,
        "a process change before the trend",
        True,
        found,
        float(found),
        "a change",
        soft=True,
        unit="count",
    )


def improvement_criteria(
    con: duckdb.DuckDBPyConnection, process: str, as_of: date, tz: str, cfg: MaturityConfig,
    level4: list[Criterion], spc: stats.SpcVerdict | None,
) -> list[Criterion]:  # fmt: skip
    """Level 5: still in control on the current 90 days, a favourable trend, no trade-off."""
    by_id = {c.id: c for c in level4}
    in_control = by_id["Q4.2"].passed or bool(spc and spc.lower_rule4 and not spc.upper_rule4)
    i51_ok = (
        all(by_id[k].passed for k in ("Q4.1", "Q4.3", "Q4.4") if by_id[k].applicable) and in_control
    )
    ct, rework, first_week = _weekly_trends(con, process, as_of, tz)
    rel = ct.relative_slope if ct else None
    ct_ok = bool(
        ct
        and rel is not None
        and ct.p < cfg.i52_alpha
        and ct.slope < 0
        and abs(rel) >= cfg.i52_min_rel_slope
    )
    rw_ok = bool(rework and rework.p < cfg.i52_alpha and rework.slope <= -cfg.i52_min_rate_slope_pp)
    return [
        Criterion("I5.1", 5, "level-4 criteria hold on the last 90 days", True, i51_ok, None, "Q4.1-Q4.4"),
        # Too few weekly points means no evidence of improvement: a fail, not "not applicable".
        Criterion("I5.2", 5, "a favourable trend (Mann-Kendall)", True, ct_ok or rw_ok, rel,
                  f"p<{cfg.i52_alpha}, ≥{cfg.i52_min_rel_slope:.0%}/week"),
        _tradeoff(con, process, cfg),
        _process_change(con, process, first_week),
    ]  # fmt: skip
