"""Operations flags on quality and satisfaction (METRICS.md §5.2): O2 rising rework, O3 falling
satisfaction, O13 feedback blind spot."""

from __future__ import annotations

from datetime import datetime

from warehouse import stats
from warehouse.flags_ops.core import Ctx, Finding, judge, pct

__all__ = ["o2_rework", "o3_satisfaction", "o13_feedback_coverage"]

Z = stats.Z_FLAG
RESPONSE_HEALTHY = 0.30  # METRICS.md §7: 30% of completed client-facing items answer

# The figures of one process per window (`w`: the windows `_windows` passes, by number k).
_DONE = """
select process, w.k, count(*) as n, coalesce(sum(rework), 0) as k,
       avg(revision_rounds) filter (where revision_rounds >= 1) as rv_reworked,
       count(*) filter (where revision_rounds >= 1) as n_reworked
from fct_cases join ({windows}) w(k, s, e) on completed_at >= w.s and completed_at < w.e
where state = 'completed'
group by process, w.k
"""

# A detractor: CSAT of 2 or less (csat5/csat3), Zendesk "bad" (csat2 = 0), or NPS 0-6 (as T7).
_DETRACTOR = (
    "((scale in ('csat5', 'csat3') and score <= 2) or (scale = 'csat2' and score = 0) "
    "or (scale = 'nps10' and score <= 6))"
)

_RESPONSES = f"""
select process, w.k, count(*) filter (where instrument = 'csat') as n_csat,
       count(*) filter (where is_positive) as positive,
       count(*) filter (where instrument = 'nps') as n_nps,
       count(*) filter (where nps_group = 'promoter') as promoters,
       count(*) filter (where nps_group = 'detractor') as detractors,
       count(*) as n_all,
       count(*) filter (where {_DETRACTOR}) as n_bad,
       count(distinct client_id) filter (where {_DETRACTOR}) as bad_clients
from fct_feedback join ({{windows}}) w(k, s, e) on responded_at >= w.s and responded_at < w.e
where process is not null
group by process, w.k
"""


def _windows(
    ctx: Ctx, sql: str, process: str, windows: list[tuple[datetime, datetime]]
) -> list[dict[str, float]]:
    """`sql`'s figures for one process in each window [start, end), in one query for every
    process (Ctx.per_process); a window with no rows has every figure 0."""
    values = ", ".join(f"({k}, $s{k}, $e{k})" for k in range(len(windows)))
    params: dict[str, object] = {}
    for k, (start, end) in enumerate(windows):
        params |= {f"s{k}": start, f"e{k}": end}
    query = sql.format(windows=f"values {values}")
    rows = ctx.per_process(query, params, process)
    names = ctx.batch.columns(query)[1:]
    found = {
        int(row[0]): {
            k: (float(v) if v is not None else 0.0) for k, v in zip(names, row[1:], strict=True)
        }
        for row in rows
    }
    return [found.get(k, dict.fromkeys(names, 0.0)) for k in range(len(windows))]


def o2_rework(ctx: Ctx, process: str) -> Finding:
    cur, base = _windows(ctx, _DONE, process, [ctx.cur, ctx.base])
    enough = cur["n"] >= 10 and base["n"] >= 20
    rr_cur = cur["k"] / cur["n"] if cur["n"] else None
    rr_base = base["k"] / base["n"] if base["n"] else None
    delta = rr_cur - rr_base if rr_cur is not None and rr_base is not None else None
    a_opens = bool(
        enough
        and delta is not None
        and rr_cur is not None
        and rr_base is not None
        and delta >= 0.10
        and rr_cur >= 0.20
        # Separation only: the weekly p-chart (§3.2 `spc.rules.rates`) has a handful of items a
        # week in a small business; its rules raised healthy years firing from 5% to 28% (README).
        and stats.separated_high(int(cur["k"]), int(cur["n"]), int(base["k"]), int(base["n"]), Z)
    )
    rounds = cur["rv_reworked"] if cur["n_reworked"] else None
    b_opens = rounds is not None and rounds > 2.0 and cur["n_reworked"] >= 5
    subs = {
        "a": judge(a_opens, delta is not None and delta < 0.05, enough),
        "b": judge(b_opens, rounds is None or rounds <= 1.8, enough),
    }
    text = (
        f"{pct(rr_cur)}% of {process} items went back for changes (was {pct(rr_base)}%). "
        "Tighten the brief template and add a pre-review checklist."
    )
    return Finding(
        "O2", "Rising rework", process, subs, severity="high",
        observed=rr_cur, baseline=rr_base, explanation=text,
    )  # fmt: skip


def _csat(r: dict[str, float]) -> float | None:
    return r["positive"] / r["n_csat"] if r["n_csat"] else None


def _nps(r: dict[str, float]) -> float | None:
    return 100 * (r["promoters"] - r["detractors"]) / r["n_nps"] if r["n_nps"] else None


def o3_satisfaction(ctx: Ctx, process: str) -> Finding:
    cur, base, n_cur, n_base, last14, last7 = _windows(
        ctx,
        _RESPONSES,
        process,
        [
            ctx.cur,
            ctx.base,
            (ctx.ago(90), ctx.end),  # (c) NPS: 90 days against the 90 before
            (ctx.ago(180), ctx.ago(90)),
            (ctx.ago(14), ctx.end),  # (d) a burst of detractors
            (ctx.ago(7), ctx.end),
        ],
    )
    cs_cur, cs_base = _csat(cur), _csat(base)
    # (a) separated below the baseline, (b) credibly below the 0.80 floor.
    both = cur["n_csat"] >= 10 and base["n_csat"] >= 10
    a_opens = bool(
        both
        and cs_base is not None
        and stats.separated_low(
            int(cur["positive"]), int(cur["n_csat"]), int(base["positive"]), int(base["n_csat"]), Z
        )
    )
    b_opens = cur["n_csat"] >= 10 and stats.credibly_below(
        int(cur["positive"]), int(cur["n_csat"]), 0.80, Z
    )
    # (c) 90-day NPS against the 90 days before it.
    nps_cur, nps_base = _nps(n_cur), _nps(n_base)
    drop = nps_base - nps_cur if nps_cur is not None and nps_base is not None else None
    c_opens = bool(
        n_cur["n_nps"] >= 10
        and n_base["n_nps"] >= 10
        and drop is not None
        and nps_base is not None
        and drop >= 15
        and stats.nps(
            int(n_cur["promoters"]), int(n_cur["detractors"]), int(n_cur["n_nps"]), Z
        ).high
        < nps_base
    )
    # (d) a burst of detractors from distinct clients, only in low-volume windows.
    # The base share is floored at the default 10%: from a few dozen responses it is often 3-6%
    # by chance, and then 3 detractors among ~5 answers of two weeks pass as a burst (README).
    base_share = max(base["n_bad"] / base["n_all"] if base["n_all"] >= 20 else 0.0, 0.10)
    burst = bool(
        last14["bad_clients"] >= 3
        and cur["n_all"] < 30
        and stats.wilson(int(last14["n_bad"]), int(last14["n_all"]), Z).low > 2 * base_share
    )
    critical = burst and last7["bad_clients"] >= 3
    subs = {
        "a": judge(a_opens, cs_cur is not None and cs_base is not None and cs_cur >= cs_base - 0.05,
                   both),
        "b": judge(b_opens, cs_cur is not None and cs_cur >= 0.85, cur["n_csat"] >= 10),
        "c": judge(c_opens, drop is not None and drop < 7.5,
                   n_cur["n_nps"] >= 10 and n_base["n_nps"] >= 10),
        "d": judge(burst, last14["n_bad"] <= 1),
    }  # fmt: skip
    if cs_cur is None and nps_cur is not None:  # an NPS-only process: say it in NPS points
        now_text, was = f"an NPS of {nps_cur:.0f}", "" if nps_base is None else f"{nps_base:.0f}"
    else:
        now_text, was = f"{pct(cs_cur)}%", "" if cs_base is None else f"{pct(cs_base)}%"
    text = (
        f"Satisfaction with {process} fell to {now_text}"
        + (f" (from {was})" if was else "")
        + ". Review the last 5 low scores with your OBM; fix the cause, not just the clients."
    )
    return Finding(
        "O3", "Falling satisfaction", process, subs,
        severity="critical" if critical else "high",
        observed=cs_cur, baseline=cs_base, explanation=text,
    )  # fmt: skip


def o13_feedback_coverage(ctx: Ctx, process: str) -> Finding | None:
    if not ctx.processes[process].client_facing:
        return None
    fc, n = ctx.metric(process, "maturity", "feedback_coverage")
    # Under 10%, and credibly (Wilson, z_flag) under the healthy defaults' 30% response: a
    # process that asks 1 client in 4 dips under 10% of 30 items by chance (README: deviations).
    blind = (
        fc is not None and fc < 0.10 and stats.credibly_below(round(fc * n), n, RESPONSE_HEALTHY, Z)
    )
    text = (
        f"Only {pct(fc)}% of {process} clients gave feedback. Add a one-question survey at handoff."
    )
    return Finding(
        "O13", "Feedback blind spot", process,
        {"": judge(blind, fc is not None and fc >= 0.15, n >= 10)},
        severity="low", observed=fc, baseline=0.10, explanation=text,
    )  # fmt: skip
