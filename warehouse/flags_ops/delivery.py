"""Operations flags on how work is organised and delivered (METRICS.md §5.2): O6 no defined process,
O7 owner overload, O8 handoff delay, O9 missed deadlines, O11 support responsiveness, O12 planning
instability, O14 late payments."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from warehouse import stats
from warehouse.flags_ops.core import Ctx, Finding, Visit, days, judge, pct

__all__ = ["o6_no_process", "o7_owner", "o8_handoffs", "o9_deadlines", "o11_support",
           "o12_planning", "o14_payments"]  # fmt: skip

Z = stats.Z_FLAG

# Business seconds before an instant (from the workspace calendar), as flag_task.sql computes it.
_BSEC = """
(select k.business_seconds_before
        + case when k.is_business then epoch({t}) - epoch(k.day_start) else 0 end
 from stg_calendar k where k.day = timezone($tz, {t})::date)
"""


def _one(ctx: Ctx, sql: str, params: dict[str, object]) -> tuple[object, ...]:
    rows = ctx.rows(sql, params)
    return rows[0] if rows else ()


def _first(ctx: Ctx, sql: str, params: dict[str, object], process: str,
           default: tuple[object, ...]) -> tuple[object, ...]:  # fmt: skip
    """`process`'s row of a query grouped by process (every process's in one query; see
    Ctx.per_process), or `default` when it has none (a count over no rows is 0)."""
    rows = ctx.per_process(sql, params, process)
    return rows[0] if rows else default


def o6_no_process(ctx: Ctx, process: str) -> Finding:
    template, _ = ctx.metric(process, "current", "template_share")
    hps, _ = ctx.metric(process, "current", "happy_path_share")
    variants, n = ctx.metric(process, "current", "variant_count")
    s0, s1 = ctx.cur
    (items,) = _first(ctx, "select process, count(*) from fct_cases where (created_at >= $s "
                      "and created_at < $e) or (completed_at >= $s and completed_at < $e) "
                      "group by 1", {"s": s0, "e": s1}, process, (0,))  # fmt: skip
    (path,) = _first(ctx, "select process, mode(variant) from fct_cases where state = "
                     "'completed' and completed_at >= $s and completed_at < $e group by 1",
                     {"s": s0, "e": s1}, process, (None,))  # fmt: skip
    level = ctx.levels.get(process)
    t, h = template or 0.0, hps or 0.0
    opens = level == 1 or (t < 0.50 and h < 0.40)
    closes = level is not None and level >= 2 and (t >= 0.6 or h >= 0.5)
    path_text = path if path is not None else "none yet"
    if t < 0.50 and h < 0.40:
        text = (
            f"{process} is done differently every time ({days(variants)} paths in {n} cases). "
            f"Write the SOP/template from your most common path: {path_text}."
        )
    else:  # open on the level alone: the steps repeat, the basics (owners, dates) are missing
        text = (
            f"{process} runs ad hoc (level 1) although {pct(h)}% of cases follow the same steps: "
            "fix the basics its maturity lists as failing (owners, due dates or an SLA), and write "
            f"the SOP from that path: {path_text}."
        )
    return Finding(
        "O6", "No defined process", process,
        {"": judge(opens, closes, int(str(items)) >= 10)},
        observed=hps, baseline=template, explanation=text,
    )  # fmt: skip


# O7's shares are counts of a few dozen items (a) or a handful of open ones (b): a plain threshold
# is crossed by chance in healthy processes every few weeks of nightly runs. Like the other gates,
# a share must also be credibly (Wilson at z_flag) above the healthy defaults' ceiling (§7:
# top-1 <= 45%, the owner on <= 15% of items).
TOP1_HEALTHY, OWNER_HEALTHY = 0.45, 0.15


def _credibly_above(k: int, n: int, ceiling: float) -> bool:
    return n > 0 and stats.wilson(k, n, Z).low > ceiling


def o7_owner(ctx: Ctx, process: str, visits: list[Visit]) -> list[Finding]:
    """(a) one person finishes most of the work; (b) and (c) work waits on the business owner."""
    found: list[Finding] = []
    top = ctx.per_process(
        "select process, finisher, count(*) as k, sum(count(*)) over (partition by process) as n "
        "from fct_cases where state = 'completed' and finisher is not null "
        "and completed_at >= $s and completed_at < $e group by 1, 2 "
        "qualify row_number() over (partition by process order by count(*) desc, finisher) = 1",
        {"s": ctx.ago(60), "e": ctx.end},
        process,
    )
    owner = ctx.owner
    if top:
        person, k, n = str(top[0][0]), int(top[0][1]), int(top[0][2])
        share = k / n
        found.append(Finding(
            "O7", "Owner overload / single point of failure", process,
            {"a": judge(share >= 0.60 and _credibly_above(k, n, TOP1_HEALTHY), share < 0.5,
                        n >= 10)}, dim=person,
            severity="high" if person == owner else "medium", observed=share,
            explanation=(f"{person} handles {pct(share)}% of {process}. If they are away, it stops. "
                         "Cross-train a second person."),
        ))  # fmt: skip
    if not owner:
        return found
    open_rows = _first(ctx, "select process, count(*), count(*) filter (where assignee = $o) "
                       "from fct_cases where state = 'open' group by 1", {"o": owner}, process,
                       (0, 0))  # fmt: skip
    n_open, n_owner = int(str(open_rows[0])), int(str(open_rows[1]))
    open_share = n_owner / n_open if n_open else 0.0
    held: dict[str, list[bool]] = {}
    since = ctx.us(ctx.base[0])  # the visits of the last 16 weeks (O4 reads a longer history)
    for v in visits:
        if v.stage_class in ("active", "review") and (v.exited_us is None or v.exited_us >= since):
            held.setdefault(v.stage, []).append(v.holder == owner)
    stages = {stage for stage, marks in held.items() if sum(marks) >= 0.5 * len(marks)}
    waits = _owner_stage_bdays(ctx, process, sorted(stages))
    wait = median(waits) if waits else None
    subs = {
        "b": judge(
            open_share >= 0.30 and _credibly_above(n_owner, n_open, OWNER_HEALTHY),
            open_share < 0.2,
            n_open >= 5,
        ),
        "c": judge(wait is not None and wait > 2, wait is None or wait < 1.5, len(waits) >= 8),
    }
    merged = next((f for f in found if f.dim == owner), None)
    if subs["b"] == "open" or not waits:
        ages = _owner_open_ages(ctx, process, owner)
        n_wait, d_wait = n_owner, (sum(ages) / len(ages) if ages else None)
    else:
        n_wait, d_wait = len(waits), wait
    text = (
        f"{n_wait} items wait on *your* approval for {days(d_wait)} days on average. "
        "Delegate routine approvals to your OBM."
    )
    if merged is not None:
        merged.subs.update(subs)
        merged.severity = "high"
        if "open" in subs.values():
            merged.explanation = text
        return found
    found.append(Finding(
        "O7", "Owner overload / single point of failure", process, subs, dim=owner,
        severity="high", observed=wait, baseline=open_share, explanation=text,
    ))  # fmt: skip
    return found


def _owner_open_ages(ctx: Ctx, process: str, owner: str) -> list[float]:
    """Days the owner's open items have sat in their current stage."""
    rows = ctx.per_process(
        "select c.process, (epoch($end) - epoch(v.entered_at)) / 86400.0 from fct_cases c "
        "join flag_status_visits v on v.process = c.process and v.case_id = c.case_id "
        "and v.exited_at is null where c.state = 'open' and c.assignee = $o "
        "order by c.process, v.entered_at, c.case_id",
        {"o": owner, "end": ctx.end},
        process,
    )
    return [float(r[0]) for r in rows]


def _owner_stage_bdays(ctx: Ctx, process: str, stages: list[str]) -> list[float]:
    """Business-day dwell of closed visits to the owner's stages, exiting in the current window."""
    if not stages:
        return []
    sql = f"""
        select ({_BSEC.format(t="v.exited_at")} - {_BSEC.format(t="v.entered_at")}) / 86400.0
        from flag_status_visits v
        where v.process = $p and list_contains($stages, v.stage)
          and v.exited_at >= $s and v.exited_at < $e
    """
    s0, s1 = ctx.cur
    rows = ctx.rows(sql, {"p": process, "stages": stages, "s": s0, "e": s1, "tz": ctx.tz})
    return [float(r[0]) for r in rows if r[0] is not None]


def o8_handoffs(ctx: Ctx, process: str) -> Finding:
    delay, n = ctx.metric(process, "current", "handoff_delay_p50_bdays")
    ws, _ = ctx.metric(process, "current", "wait_share")
    opens = delay is not None and delay > 1 and ws is not None and ws >= 0.5
    text = (
        f"Work waits ~{days(delay)} business days at each handoff. "
        "Agree pick-up within 1 business day."
    )
    return Finding(
        "O8", "Handoff delay", process,
        {"": judge(opens, delay is not None and delay < 0.75, n >= 10)},
        dim="internal", observed=delay, baseline=ws, explanation=text,
    )  # fmt: skip


_OT = """
select process, count(*) filter (where on_time is not null), count(*) filter (where on_time)
from fct_cases where state = 'completed' and completed_at >= $s and completed_at < $e
group by 1
"""


def _on_time(ctx: Ctx, process: str, window: tuple[datetime, datetime]) -> tuple[int, int]:
    """(completed items with a due date, of them on time) finishing in the window."""
    row = _first(ctx, _OT, {"s": window[0], "e": window[1]}, process, (0, 0))
    return int(str(row[0])), int(str(row[1]))


def o9_deadlines(ctx: Ctx, process: str) -> Finding:
    n_cur, k_cur = _on_time(ctx, process, ctx.cur)
    n_base, k_base = _on_time(ctx, process, ctx.base)
    ot = k_cur / n_cur if n_cur else None
    ot_base = k_base / n_base if n_base else None
    drop = ot_base - ot if ot is not None and ot_base is not None else None
    opens = bool(n_cur) and (
        stats.credibly_below(k_cur, n_cur, 0.70, Z)
        or (drop is not None and ot_base is not None and drop >= 0.15
            and stats.separated_low(k_cur, n_cur, k_base, n_base, Z))
    )  # fmt: skip
    closes = ot is not None and ot >= 0.75 and (drop is None or drop < 0.075)
    usually = "" if ot_base is None else f" (usually {pct(ot_base)}%)"
    text = (
        f"Only {pct(ot)}% of {process} met its due date{usually}. That is planning or capacity, "
        "not individual lateness: review workload and estimates with your OBM."
    )
    return Finding(
        "O9", "Systemic missed deadlines", process, {"": judge(opens, closes, n_cur >= 10)},
        severity="high" if ctx.processes[process].client_facing else "medium",
        observed=ot, baseline=ot_base, explanation=text,
    )  # fmt: skip


def _backlogs(ctx: Ctx, process: str, weeks: int) -> list[float]:
    """Open tickets at each of the last `weeks` week ends (Monday 00:00 local), oldest first."""
    monday = ctx.as_of - timedelta(days=ctx.as_of.weekday())
    ends = [ctx.local(monday - timedelta(weeks=k)) for k in range(weeks - 1, -1, -1)]
    rows = ctx.rows(
        "select t, count(c.case_id) from unnest($ends) u(t) left join fct_cases c "
        "on c.process = $p and c.created_at < u.t "
        "and coalesce(c.completed_at, c.cancelled_at, u.t) >= u.t group by t order by t",
        {"p": process, "ends": ends},
    )
    return [float(r[1]) for r in rows]


def o11_support(ctx: Ctx, process: str) -> Finding | None:
    info = ctx.processes[process]
    if info.process_type != "support":
        return None
    target = info.frt_target_hours
    frt, _ = ctx.metric(process, "current", "first_reply_hours_p50")
    frt_base, _ = ctx.metric(process, "baseline", "first_reply_hours_p50")
    s0, s1 = ctx.cur
    tickets = int(str(_first(ctx, "select process, count(*) from fct_cases where "
                             "created_at >= $s and created_at < $e group by 1",
                             {"s": s0, "e": s1}, process, (0,))[0]))  # fmt: skip
    series = _backlogs(ctx, process, 4 + ctx.baseline_weeks)
    base_mean = sum(series[:-4]) / len(series[:-4]) if series[:-4] else 0.0
    last = series[-4:]
    rising = len(last) == 4 and all(b > a for a, b in pairwise(last))
    backlog = rising and last[-1] >= 1.5 * base_mean and last[-1] >= base_mean + 10
    slow = frt is not None and (frt > target or (frt_base is not None and frt > 1.5 * frt_base))
    calm = frt is None or (frt <= target and (frt_base is None or frt < 1.25 * frt_base))
    very_slow = frt is not None and (
        frt > 3 * target or (frt_base is not None and frt > target and frt > 3 * frt_base)
    )
    subs = {
        "frt": judge(slow, calm, tickets >= 20),
        "backlog": judge(backlog, not rising, tickets >= 20),
    }
    weeks_up = sum(1 for a, b in pairwise(last) if b > a)
    waiting = "an unknown time" if frt is None else f"{days(frt)}h"
    text = (
        f"Customers wait {waiting} for a first reply (target {days(target)}h); the queue grew "
        f"{weeks_up} weeks running. Add coverage hours, saved replies or triage rules."
    )
    return Finding(
        "O11", "Support responsiveness", process, subs,
        severity="critical" if very_slow and backlog else "high",
        observed=frt, baseline=frt_base, explanation=text,
    )  # fmt: skip


def o12_planning(ctx: Ctx, process: str) -> Finding:
    s0, s1 = ctx.cur
    row = _first(ctx, "select process, count(*) filter (where due_at is not null), "
                 "count(*) filter (where due_changes >= 2) from fct_cases where "
                 "(state = 'completed' and completed_at >= $s and completed_at < $e) "
                 "or state = 'open' group by 1", {"s": s0, "e": s1}, process, (0, 0))  # fmt: skip
    with_due, churned = int(str(row[0])), int(str(row[1]))
    share = churned / with_due if with_due else None
    text = (
        f"Due dates in {process} move often ({pct(share)}% moved twice or more). Reset estimates."
    )
    return Finding(
        "O12", "Planning instability", process,
        {"": judge(share is not None and share >= 0.30, share is not None and share < 0.2,
                   with_due >= 10)},
        severity="low", observed=share, explanation=text,
    )  # fmt: skip


_PAID = """
with sent as (
    select case_id, min(entered_at) as sent_at from fct_stage_visits
    where process = $p and stage_class = 'waiting_on_client' group by 1
)
select count(*) filter (where c.on_time is not null),
       count(*) filter (where c.on_time = false),
       avg((epoch(c.completed_at) - epoch(s.sent_at)) / 86400.0)
from fct_cases c left join sent s using (case_id)
where c.process = $p and c.state = 'completed' and c.completed_at >= $s and c.completed_at < $e
"""


def o14_payments(ctx: Ctx, process: str) -> Finding | None:
    if ctx.processes[process].process_type != "invoicing":
        return None
    cur = _one(ctx, _PAID, {"p": process, "s": ctx.ago(60), "e": ctx.end})
    base = _one(ctx, _PAID, {"p": process, "s": ctx.base[0], "e": ctx.base[1]})
    n, late = int(str(cur[0])), int(str(cur[1]))
    share = late / n if n else None
    dtp, dtp_base = cur[2], base[2]
    rise = (
        float(str(dtp)) - float(str(dtp_base)) if dtp is not None and dtp_base is not None else None
    )
    subs = {
        "late": judge(
            share is not None and share >= 0.30, share is not None and share < 0.2, n >= 8
        ),
        "dtp": judge(rise is not None and rise >= 10, rise is None or rise < 5, n >= 8),
    }
    text = (
        f"{pct(share)}% of invoices were paid late. Consider deposits, autopay or reminders "
        "before the due date."
    )
    return Finding(
        "O14", "Late-payment pattern", process, subs, observed=share, baseline=rise,
        explanation=text,
    )  # fmt: skip
