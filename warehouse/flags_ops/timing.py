"""Operations flags on timing (METRICS.md §5.2): O1 cycle-time degradation, O4 bottleneck stage,
O5 unpredictable process, O10 WIP growth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from warehouse import stats
from warehouse.flags_ops.core import Ctx, Finding, SubState, Visit, days, judge, pct

_OUT_OF_FLOW = ("backlog", "done", "cancelled")

__all__ = [
    "o1_cycle_time",
    "o4_bottleneck",
    "o5_unpredictable",
    "o10_wip_growth",
    "visit_owners",
]

# The completions of the last 18 months (and a day) with their cycle times, in finishing order: O1, O4 and O5
# take their windows from it (about a dozen per process each night). The oldest window starts a
# year before a change of the last 26 weeks (O1's change arm).
CT_SQL = """
select process, epoch_us(completed_at), cycle_time_days from fct_cases
where state = 'completed' and cycle_time_days is not null
  and completed_at >= $start and completed_at < $end
order by process, completed_at, case_id
"""

# Visits to named stages in the flow with the assignee holding the case when the visit ended.
# O4 and O7 read no others (and a year of them is read every night).
VISITS_SQL = f"""
select process, case_id, stage, stage_class, epoch_us(entered_at), epoch_us(exited_at), dwell_days,
       holder
from flag_status_visits
where entered_at < $end and (exited_at is null or exited_at >= $since)
  and stage_class not in {_OUT_OF_FLOW}
"""


def _ct(ctx: Ctx, process: str, window: tuple[datetime, datetime]) -> list[float]:
    """Cycle times of the process's completions in [start, end), in finishing order."""
    first = ctx.ago(O1_CHANGE_DAYS + O1_BASE_DAYS + 1)  # a day to spare for a DST hour
    assert window[0] >= first, f"a cycle-time window before {first}"
    start, end = ctx.us(window[0]), ctx.us(window[1])
    done = ctx.per_process(CT_SQL, {"start": first, "end": ctx.end}, process)
    return [float(ct) for at, ct in done if start <= at < end]


# O1's windows and level (README: where opspulse departs from METRICS.md §5.2). Re-tested every
# night, the 28-day-vs-12-week test at p < .01 opened on 30% of healthy process-years (the
# per-night rate is the nominal 1%; ~270 overlapping nights a year multiply it). Six weeks against
# up to a year before them, at p < .0005, opened on 5 of 240 and still catches S1's 7 -> 12 day
# slowdown in every seed where that slowdown is visible at all (18 of 20).
O1_CURRENT_DAYS, O1_BASE_DAYS, O1_ALPHA = 42, 365, 0.0005


def _worst_stage(
    ctx: Ctx, process: str, cur: tuple[object, object], base: tuple[object, object]
) -> str:
    """The stage with the largest rise in median visit dwell, current vs baseline (by exit)."""
    rows = ctx.per_process(
        """
        select process, stage,
               coalesce(median(dwell_days) filter (where exited_at >= $c0), 0)
               - coalesce(median(dwell_days) filter (where exited_at < $c0), 0) as rise
        from flag_status_visits
        where exited_at >= $b0 and exited_at < $c1
          and stage_class not in ('backlog', 'done', 'cancelled')
        group by process, stage
        qualify row_number() over (partition by process order by rise desc, stage) = 1
        """,
        {"b0": base[0], "c0": cur[0], "c1": cur[1]},
        process,
    )
    return str(rows[0][0]) if rows else "no single stage"


# O1's second arm: after a change to the process (a stage it never had, once 8 items have been
# through it, or a `process_change` event) in the last 26 weeks, the items started since the change
# are compared with the completions of the year before it, at METRICS.md's own level (p < .01).
# A change is a known cause, so this is one before/after question rather than a nightly search for
# a shift; healthy processes, which do not change, never take this arm. A stage first seen in a
# log's first 12 weeks (a rare status the log had not reached yet) is not a change. On S1's
# held-out seeds 20-39 (3 completions a week) O1 is high by week 40 in 18 where the six-week arm
# alone managed 11.
O1_CHANGE_DAYS, O1_CHANGE_ALPHA, O1_CHANGE_MIN_VISITS = 182, 0.01, 8

# Each process's latest change (none: no row).
CHANGE_SQL = """
with first_event as (select process, min(occurred_at) as t0 from events group by 1)
select c.process, max(c.t) from (
    select process, min(entered_at) as t from flag_status_visits
    where entered_at < $end and stage_class not in ('backlog', 'done', 'cancelled')
    group by process, stage having count(*) >= $min_visits
    union all
    select process, occurred_at from events
    where occurred_at < $end and attributes ->> '$.process_change' is not null
) c join first_event f using (process)
where c.t >= $since
  -- a change needs a history without it: a full baseline (12 weeks) of events before
  and c.t >= f.t0 + to_days($history)
group by 1
"""

SINCE_SQL = """
select epoch(coalesce(completed_at, $end) - started_at) / 86400.0 as days,
       completed_at is null as still_open
from fct_cases
where process = $process and started_at >= $change and started_at < $end
  and state in ('completed', 'open')
order by started_at, case_id
"""


@dataclass(frozen=True)
class _Arm:
    """One O1 comparison: its windows, samples and verdict. `cur` holds (days, still open): an
    open item's cycle time is at least its age, a right-censored value."""

    cur_window: tuple[datetime, datetime]
    base_window: tuple[datetime, datetime]
    cur: list[tuple[float, bool]]
    base: list[float]
    alpha: float

    @property
    def censored(self) -> bool:
        return any(c for _, c in self.cur)

    @property
    def enough(self) -> bool:
        return sum(1 for _, c in self.cur if not c) >= 8 and len(self.base) >= 20

    @property
    def cur_median(self) -> float | None:
        if not self.cur:
            return None
        if self.censored:
            return stats.km_median(self.cur)
        return median(v for v, _ in self.cur)

    @property
    def ratio(self) -> float | None:
        cur = self.cur_median
        if cur is None or not self.base or median(self.base) <= 0:
            return None
        return cur / median(self.base)

    @property
    def opens(self) -> bool:
        ratio = self.ratio
        if not self.enough or ratio is None or ratio < 1.3:
            return False
        if self.censored:
            return stats.gehan_greater(self.cur, self.base).p < self.alpha
        return stats.mann_whitney_greater([v for v, _ in self.cur], self.base).p < self.alpha

    def judge(self) -> SubState:
        ratio = self.ratio
        return judge(self.opens, ratio is not None and ratio < 1.15, self.enough)


def _change_arm(ctx: Ctx, process: str) -> tuple[_Arm, datetime] | None:
    """The before/after comparison around the process's latest change, if it has one: the items
    started since the change, with those still open counted as at least their age (Gehan's test
    and the Kaplan-Meier median; without them, the quick items would be the first to finish and
    the comparison would lag the change by weeks), against the year of completions before it."""
    params = {"end": ctx.end, "since": ctx.ago(O1_CHANGE_DAYS),
              "min_visits": O1_CHANGE_MIN_VISITS, "history": 7 * ctx.baseline_weeks}  # fmt: skip
    rows = ctx.per_process(CHANGE_SQL, params, process)
    change = rows[0][0] if rows else None
    if change is None:
        return None
    since = ctx.rows(SINCE_SQL, {"process": process, "change": change, "end": ctx.end})
    base_window = (change - timedelta(days=O1_BASE_DAYS), change)
    arm = _Arm((change, ctx.end), base_window, [(float(r[0]), bool(r[1])) for r in since],
               _ct(ctx, process, base_window), O1_CHANGE_ALPHA)  # fmt: skip
    return (arm, change) if arm.enough else None


def o1_cycle_time(ctx: Ctx, process: str) -> Finding:
    cur_window = (ctx.ago(O1_CURRENT_DAYS), ctx.end)
    base_window = (ctx.ago(O1_CURRENT_DAYS + O1_BASE_DAYS), cur_window[0])
    # Mann-Whitney only: §5.2's alternative, an upper rule-4 run against the 20-point B,
    # raised healthy processes' yearly false alarms by a third (README: deviations).
    main = _Arm(cur_window, base_window, [(v, False) for v in _ct(ctx, process, cur_window)],
                _ct(ctx, process, base_window), O1_ALPHA)  # fmt: skip
    subs = {"": main.judge()}
    shown, since = main, ""
    changed = _change_arm(ctx, process)
    if changed is not None:
        arm, change = changed
        subs["change"] = arm.judge()
        if arm.opens and not main.opens:
            shown = arm
            still = sum(1 for _, c in arm.cur if c)
            since = (
                f" (items started since the process changed on "
                f"{change.astimezone(ZoneInfo(ctx.tz)):%Y-%m-%d}, {still} still open)"
            )
    ratio = shown.ratio
    info = ctx.processes[process]
    high = ratio is not None and (ratio >= 1.5 or info.client_facing)
    text = ""
    if ratio is not None:
        stage = _worst_stage(ctx, process, shown.cur_window, shown.base_window)
        text = (
            f"{process} now takes {days(shown.cur_median)} days{since} (usually "
            f"{days(median(shown.base))}); most of the increase is in '{stage}' (largest rise in "
            "median dwell). Ask your OBM to review that step this week."
        )
    return Finding(
        "O1", "Cycle-time degradation", process, subs,
        severity="high" if high else "medium",
        observed=shown.cur_median,
        baseline=median(shown.base) if shown.base else None,
        explanation=text,
    )  # fmt: skip


def o5_unpredictable(ctx: Ctx, process: str) -> Finding:
    ct = _ct(ctx, process, (ctx.ago(90), ctx.end))
    enough = len(ct) >= 15
    p50 = stats.quantile7(ct, 0.5) if ct else None
    p85 = stats.quantile7(ct, 0.85) if ct else None
    ratio = p85 / p50 if p50 and p85 is not None else None
    # CV of the lognormal fitted to CT, sqrt(exp(s^2) - 1) with s the SD of ln CT: §5.2 sets
    # CV > 1.5 as "about the same tail as ratio 3 for lognormal CT". The sample CV of 15-40
    # items jumps past 1.5 on one 60-day straggler (T3's business, not a process trait).
    logs = [stats.ln_cycle_time(x) for x in ct]
    mean = sum(logs) / len(logs) if logs else 0.0
    s2 = sum((x - mean) ** 2 for x in logs) / (len(logs) - 1) if len(logs) > 1 else None
    cv = math.sqrt(math.expm1(s2)) if s2 is not None else None
    subs = {
        "tail": judge(
            ratio is not None and ratio > 3.0, ratio is not None and ratio < 2.75, enough
        ),
        "cv": judge(cv is not None and cv > 1.5, cv is not None and cv < 1.35, enough),
    }
    text = (
        f"{process} timing is unpredictable: usually {days(p50)} days, but 15% take over "
        f"{days(p85)}. Split very different work types and limit work in progress."
    )
    return Finding(
        "O5", "Unpredictable process", process, subs, observed=ratio, baseline=cv, explanation=text
    )


def visit_owners(ctx: Ctx) -> dict[str, list[Visit]]:
    """Per process, the stage visits open or ended since O4's baseline began, with their holder."""
    by_process: dict[str, list[Visit]] = {}
    since = ctx.ago(O1_CURRENT_DAYS + O1_BASE_DAYS)
    for visit in map(Visit._make, ctx.rows(VISITS_SQL, {"end": ctx.end, "since": since})):
        by_process.setdefault(visit.process, []).append(visit)
    return by_process


def _queue_mean(ctx: Ctx, stage: str, visits: list[Visit]) -> float:
    """Mean of the last 7 daily queue samples (items in the stage at 23:59:59 local), from the
    process's visits (every visit open at a sample is among them: it ended after O4's start)."""
    zone = ZoneInfo(ctx.tz)
    samples = [
        ctx.us(datetime.combine(ctx.as_of - timedelta(days=k + 1), time(23, 59, 59), zone))
        for k in range(7)
    ]
    mine = [v for v in visits if v.stage == stage]
    return sum(
        sum(1 for v in mine if v.entered_us <= t and (v.exited_us is None or v.exited_us > t))
        for t in samples
    ) / len(samples)


def o4_bottleneck(ctx: Ctx, process: str, visits: list[Visit]) -> list[Finding]:
    """One finding per stage that could be a bottleneck (dim = the stage's own name)."""
    c0, c1 = ctx.us(ctx.cur[0]), ctx.us(ctx.cur[1])
    b0 = ctx.us(ctx.base[0])
    mine = visits
    done_cur = {
        r[0]
        for r in ctx.per_process(
            "select process, case_id from fct_cases where state = 'completed' "
            "and completed_at >= $s and completed_at < $e",
            {"s": ctx.cur[0], "e": ctx.cur[1]},
            process,
        )
    }
    flow = [v for v in mine if v.case_id in done_cur and v.stage_class not in _OUT_OF_FLOW]
    total = sum(v.dwell_days or 0.0 for v in flow)
    found = []
    by_stage: dict[str, list[Visit]] = {}
    for v in mine:
        if v.stage_class in ("active", "review"):
            by_stage.setdefault(v.stage, []).append(v)
    flow_by_stage: dict[str, float] = {}
    for v in flow:
        flow_by_stage[v.stage] = flow_by_stage.get(v.stage, 0.0) + (v.dwell_days or 0.0)
    # Visit dwell is compared on O1's windows and level (six weeks against up to a year before):
    # at 28 days vs 12 weeks and p < .01 it opened on small healthy processes' review stages.
    s0, s1 = ctx.ago(O1_CURRENT_DAYS), ctx.ago(O1_CURRENT_DAYS + O1_BASE_DAYS)
    # A stage is new only in a process with a history (O1's 20 completions before the six
    # weeks): in a process that has just begun (S5's launch prep) every stage is new.
    established = len(_ct(ctx, process, (s1, s0))) >= 20
    s0_us, s1_us = ctx.us(s0), ctx.us(s1)
    for stage, at in sorted(by_stage.items()):
        closed = [(v.exited_us, v.dwell_days or 0.0) for v in at if v.exited_us is not None]
        cur = [d for t, d in closed if c0 <= t < c1]
        slow_cur = [d for t, d in closed if s0_us <= t < c1]
        base = [d for t, d in closed if s1_us <= t < s0_us]
        share = flow_by_stage.get(stage, 0.0) / total if total else 0.0
        ratio = median(slow_cur) / median(base) if slow_cur and base and median(base) > 0 else None
        new_stage = established and len(base) < 8
        p_slower = stats.mann_whitney_greater(slow_cur, base).p if ratio and ratio >= 1.25 else 1.0
        slower = new_stage or p_slower < O1_ALPHA
        exits_week = len(cur) / (ctx.current_days / 7)
        queue = _queue_mean(ctx, stage, mine)
        enough = sum(1 for v in at if v.exited_us is None or v.exited_us >= c0) >= 8
        holders = [v.holder for v in at if v.exited_us is None or v.exited_us >= b0]
        owned = sum(1 for h in holders if h == ctx.owner) / len(holders) if holders else 0.0
        ratio_ok = ratio is None or new_stage or ratio < 1.125
        subs = {
            "dwell": judge(share >= 0.40 and slower, share < 0.35 and ratio_ok, enough),
            "queue": judge(
                queue >= 2 * exits_week and queue >= 8, queue < 1.5 * max(exits_week, 1e-9), enough
            ),
        }
        typical = median(cur) if cur else (median(base) if base else None)
        text = (
            f"Work piles up in '{stage}': {days(queue)} items, typically {days(typical)} days "
            "each. Add capacity, set a 48h review deadline, or let work move on by default."
        )
        found.append(
            Finding(
                "O4",
                "Bottleneck stage",
                process,
                subs,
                dim=stage,
                severity="high" if ctx.owner and owned >= 0.5 else "medium",
                observed=share,
                baseline=median(base) if base else None,
                explanation=f"{text} ({pct(share)}% of the time items spend in the flow.)",
                corroborated=slower,
            )
        )
    return found


# O10 counts the items in progress that have not been sent back (no backward move or reopen
# before the sample): WIP that grows because items go round a rework loop is O2's finding, and
# "stop starting" is the wrong advice for it. Suppressing O10 while O2 fires came too late: O2
# needs four weeks of evidence, and S2's rework spike had grown WIP 1.5x three weeks running
# before it (README: where opspulse departs from METRICS.md).


def o10_wip_growth(ctx: Ctx, process: str) -> Finding:
    """Weekly first-pass WIP (mean of daily samples) ≥ 1.5x the baseline mean for 3 weeks, with
    throughput flat."""
    rows = ctx.per_process(
        "select process, day, first_pass_wip from metric_wip_daily "
        "where day >= $d0 and day < $d1 order by process, day",
        {"d0": ctx.as_of - timedelta(days=112), "d1": ctx.as_of},
        process,
    )
    by_day = {r[0]: float(r[1]) for r in rows}
    cut = ctx.as_of - timedelta(days=28)
    base = [w for d, w in by_day.items() if d < cut]
    base_mean = sum(base) / len(base) if base else 0.0
    weeks = []
    for k in (3, 2, 1):
        start = ctx.as_of - timedelta(days=7 * k)
        week = [by_day[d] for d in by_day if start <= d < start + timedelta(days=7)]
        weeks.append(sum(week) / len(week) if week else 0.0)
    tp_base, _ = ctx.metric(process, "baseline", "throughput_per_week")
    done = ctx.per_process(
        "select process, count(*) from fct_cases where state = 'completed' "
        "and completed_at >= $s and completed_at < $e group by 1",
        {"s": ctx.ago(21), "e": ctx.end},
        process,
    ) or [(0,)]
    tp_recent = float(done[0][0]) / 3
    grown = base_mean > 0 and all(w >= 1.5 * base_mean for w in weeks)
    flat = tp_base is not None and tp_recent <= 1.1 * tp_base
    limit = round(base_mean)
    text = (
        f"{process} has {days(weeks[-1])} items in progress (usually {days(base_mean)}) but "
        f"finishes no more per week. Stop starting, start finishing: cap WIP at {limit}."
    )
    return Finding(
        "O10", "WIP growth", process,
        {"": judge(grown and flat, weeks[-1] < 1.25 * base_mean, base_mean >= 5)},
        observed=weeks[-1], baseline=base_mean, explanation=text,
        corroborated=base_mean > 0 and weeks[-1] >= 1.25 * base_mean,
    )  # fmt: skip
