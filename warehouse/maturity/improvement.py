"""Level-5 criteria of METRICS.md §4 (I5.1-I5.4) and the Q4.2 control-chart verdict."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb

from models.settings import MaturityConfig
from warehouse import stats
from warehouse.batch import PerProcess
from warehouse.maturity.criteria import Criterion
from warehouse.metrics import epoch_us

__all__ = ["improvement_criteria", "stats_verdict"]

WEEK_US = 7 * 86_400 * 1_000_000


def stats_verdict(
    batch: PerProcess,
    process: str,
    as_of: date,
    tz: str,
    completions: int,
    cfg: MaturityConfig,
) -> stats.SpcVerdict:
    """Q4.2: the XmR chart of ln cycle time (completions by finish, then case id) over a year.

    When the last 20 completions span less than a week, E would judge a day or two of work and
    the weekly cycle (Monday's weekend backlog, batches closed in one sitting) reads as runs and
    outliers: such a process is charted in weekly subgroups, the mean ln CT of each complete
    local week, once there are 20 of them (README: where opspulse departs from METRICS.md).
    """
    end = datetime.combine(as_of, time(), ZoneInfo(tz))
    # Finish instants as epoch microseconds with their local day: a year of a busy help desk is
    # ~15k rows a night, and time-zone-aware datetimes cost most of the time.
    rows = batch.rows(
        "select process, cycle_time_days, epoch_us(completed_at), timezone($tz, completed_at)::date "
        "from fct_cases where state = 'completed' and cycle_time_days is not null "
        "and completed_at >= $s and completed_at < $e order by process, completed_at, case_id",
        {"tz": tz, "s": end - timedelta(days=cfg.lookback_days), "e": end},
        process,
    )
    allowed = 1 if completions >= 40 else cfg.q42_rule1_allowed
    points = 20  # spc.eval_points
    if len(rows) >= points and rows[-1][1] - rows[-points][1] < WEEK_US:
        monday = datetime.combine(as_of - timedelta(days=as_of.weekday()), time(), ZoneInfo(tz))
        monday_us = epoch_us(monday)
        weeks: dict[date, list[float]] = {}
        for ct, at, day in rows:
            if at < monday_us:
                weeks.setdefault(day - timedelta(days=day.weekday()), []).append(
                    stats.ln_cycle_time(ct)
                )
        means = [sum(v) / len(v) for _, v in sorted(weeks.items())]
        if len(means) >= points:  # otherwise too young for weekly points: judged per item
            return stats.spc_verdict(stats.xmr_chart(means), rule1_allowed=allowed, unit="weeks")
    chart = stats.xmr_chart([stats.ln_cycle_time(r[0]) for r in rows])
    return stats.spc_verdict(chart, rule1_allowed=allowed)


_WEEKLY = """
select process, date_trunc('week', timezone($tz, completed_at))::date as week,
       median(cycle_time_days) as ct_median, avg(rework) as rework_rate, count(*) as n
from fct_cases
where state = 'completed' and cycle_time_days is not null
  and completed_at >= $start and completed_at < $end
group by all having count(*) >= 3 order by process, week
"""


def _weekly_trends(
    batch: PerProcess, process: str, as_of: date, tz: str
) -> tuple[stats.Trend | None, stats.Trend | None, date | None]:
    """Mann-Kendall/Theil-Sen on weekly median CT and rework % over the last 26 complete weeks."""
    monday = as_of - timedelta(days=as_of.weekday())
    start = datetime.combine(monday - timedelta(weeks=26), time(), ZoneInfo(tz))
    end = datetime.combine(monday, time(), ZoneInfo(tz))
    rows = batch.rows(_WEEKLY, {"tz": tz, "start": start, "end": end}, process)
    index = {r[0]: (r[0] - rows[0][0]).days // 7 for r in rows} if rows else {}
    ct = stats.trend([(index[r[0]], float(r[1])) for r in rows])
    rework = stats.trend([(index[r[0]], 100.0 * float(r[2])) for r in rows])
    return ct, rework, rows[0][0] if rows else None


def _tradeoff(batch: PerProcess, process: str, cfg: MaturityConfig) -> Criterion:
    """I5.3: rework not credibly up and CSAT not credibly down (current vs baseline, z_flag).

    "Credibly" is Newcombe's interval for the difference of the two rates, as for O2, O3 and O9:
    the baseline rate is an estimate too (README: where opspulse departs from METRICS.md)."""
    rr_cur, n_rr = batch.metric(process, "current", "rework_rate")
    rr_base, n_rr_base = batch.metric(process, "baseline", "rework_rate")
    cs_cur, n_cs = batch.metric(process, "current", "csat")
    cs_base, n_cs_base = batch.metric(process, "baseline", "csat")
    worse = False
    if rr_cur is not None and rr_base is not None and n_rr and n_rr_base:
        rise = stats.newcombe(
            round(rr_cur * n_rr), n_rr, round(rr_base * n_rr_base), n_rr_base, cfg.z_flag
        )
        worse |= rise.low > cfg.i53_rework_pp / 100
    if cs_cur is not None and cs_base is not None and n_cs and n_cs_base:
        change = stats.newcombe(
            round(cs_cur * n_cs), n_cs, round(cs_base * n_cs_base), n_cs_base, cfg.z_flag
        )
        worse |= change.high < -cfg.i53_csat_pp / 100
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
    batch: PerProcess, process: str, as_of: date, tz: str, cfg: MaturityConfig,
    level4: list[Criterion], spc: stats.SpcVerdict | None,
) -> list[Criterion]:  # fmt: skip
    """Level 5: still in control on the current 90 days, a favourable trend, no trade-off."""
    by_id = {c.id: c for c in level4}
    in_control = by_id["Q4.2"].passed or bool(spc and spc.lower_rule4 and not spc.upper_rule4)
    i51_ok = (
        all(by_id[k].passed for k in ("Q4.1", "Q4.3", "Q4.4") if by_id[k].applicable) and in_control
    )
    ct, rework, first_week = _weekly_trends(batch, process, as_of, tz)
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
        _tradeoff(batch, process, cfg),
        _process_change(batch.con, process, first_week),
    ]  # fmt: skip
