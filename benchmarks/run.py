"""Metric build benchmark: opspulse's SQL layers against a bare DuckDB query (issue #3, AC 5).

    .venv/bin/python benchmarks/run.py [--events 1000000 10000000] [--repeat 3]

For each size it generates simulated events straight into an in-memory warehouse (five processes,
cases of 4-12 events with review bounces, reopens from done, late duplicate created events,
cancellations and open work), then times:

- core: metric_flow and metric_quality with every derived table they read, directly or through
  others (taken from the SQL, so the set follows the code), built with the statements
  `opspulse run` uses;
- bare: one hand-written DuckDB query computing the same figures from the events with the same
  definitions (stage carried forward, waiting-on-client rank-neutral, a late created event moves
  nothing, finish = first done after the last reopen, start = first stage past backlog, else first
  assignment, else creation; per process and window every figure of metric_flow and
  metric_quality: completions, cancel rate, throughput per week, lead/cycle time p50/p85/p95 and
  mean, cycle-time CV and p85/p50, rework rate, first-pass yield, revision rounds). Before timing
  is reported the two are compared figure by figure; the benchmark stops if any differs;
- full: every derived table (all stg_, fct_, metric_ and flag_ files), as `opspulse run` builds
  them;
- night: the build of one replayed night (history replay): the warehouse built the night before,
  then the last day's events added and only their cases' per-case rows redone; its tables are
  checked against a full build of the same events, and it is reported against that full build
  (peak RSS is read before this check, which holds rows in Python).

Bare and core runs alternate, so a busy machine slows both alike; each is the best of --repeat.
It prints seconds, core / bare (which the issue wants <= 1.5) and full / bare.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.settings import MetricsConfig
from warehouse.build import build, create_statement, layer_files, upstream
from warehouse.db import open_memory
from warehouse.metrics import metric_params
from warehouse.migrate import migrate

AS_OF = date(2026, 1, 1)
CORE = upstream({"metric_flow", "metric_quality"})

GENERATE = """
insert into events
with cases as (
    select i as n,
           ['Onboarding', 'Content', 'Support', 'Invoicing', 'Reporting'][1 + i % 5] as process,
           timestamptz '2024-01-01 00:00:00+00' + to_seconds((hash(i) % 63072000)::bigint) as t0,
           (4 + hash(i * 7) % 9)::bigint as n_events,
           (hash(i * 13) % 100)::bigint as roll
    from range($cases) r(i)
),
steps as (
    select c.*, s.k
    from cases c, lateral (select unnest(range(c.n_events)) as k) s
),
shaped as (
    select *,
        t0 + to_seconds((k * (3600 + hash(n * 31 + k) % 172800))::bigint) as ts,
        case
            when k = 0 then 'backlog'
            when k = n_events - 1 and roll < 85 then 'done'
            when k = n_events - 1 and roll < 88 then 'cancelled'
            when k = n_events - 3 and roll between 90 and 94 then 'done'  -- done, then reopened
            when k % 3 = 1 then 'active'
            when k % 3 = 2 then 'review'
            when roll < 20 then 'active'
            else 'waiting_on_client'
        end as stage
    from steps
)
select 'e' || n || '-' || k, 'bench',
       -- 2% carry a second, late created event (a webhook racing the import): it must not move the case.
       case when k = 0 or (k = 1 and roll between 95 and 96) then 'created' when stage = 'done' then 'completed'
       when stage = 'cancelled' then 'cancelled' else 'stage_changed' end,
       process, 'C' || n, ts, 'import', stage, upper(stage[1]) || stage[2:], 'u' || (hash(n) % 7), 'u' || (hash(n) % 7),
       case when k = 0 then t0 + interval 10 day end, 'client-' || (n % 50), 'tpl', null, null, null,
       null, null, null, 'import/bench', n * 16 + k, current_timestamp
from shaped
"""

BARE = """
with w as (select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)),
given as (
    select process, case_id, kind, occurred_at, landing_file, line, event_id,
        case when kind in ('created', 'assigned') then assignee end as assigned_to,
        coalesce(stage, case kind when 'completed' then 'done' when 'cancelled' then 'cancelled'
                                  when 'reopened' then 'active' when 'created' then 'backlog' end) as s0
    from events where kind <> 'feedback'
),
moves as (
    -- A created event after the case's first event does not move the case.
    select process, case_id, kind, occurred_at, assigned_to,
        case when kind = 'created' and row_number() over w_upto > 1 then null else s0 end as s,
        coalesce(last_value(case when kind <> 'created' then s0 end ignore nulls) over w_before,
                 first_value(case when kind = 'created' then s0 end) over w_before) as prev,
        coalesce(last_value(case when kind <> 'created' and s0 <> 'waiting_on_client' then s0 end ignore nulls)
                     over w_before,
                 first_value(case when kind = 'created' and s0 <> 'waiting_on_client' then s0 end)
                     over w_before) as prev_ranked,
        row_number() over w_upto as k
    from given
    window w_upto as (partition by process, case_id order by occurred_at, landing_file, line, event_id),
           w_before as (partition by process, case_id order by occurred_at, landing_file, line, event_id
                        rows between unbounded preceding and 1 preceding)
),
per_case as (
    select process, case_id,
        coalesce(min(occurred_at) filter (where kind = 'created'), min(occurred_at)) as created_at,
        min(occurred_at) filter (where coalesce(s, prev) in ('active', 'review', 'waiting_on_client', 'done'))
            as started_at,
        min(occurred_at) filter (where assigned_to is not null) as assigned_at,
        arg_max(coalesce(s, prev), k) as last_stage,
        max(k) filter (where (s is not null and prev in ('done', 'cancelled') and s not in ('done', 'cancelled'))
                          or kind = 'reopened') as reopened_k,
        list(struct_pack(k := k, at := occurred_at)) filter (where s = 'done' and prev is distinct from 'done')
            as done_entries,
        max(occurred_at) filter (where s = 'cancelled' and prev is distinct from 'cancelled') as cancelled_at,
        bool_or(kind = 'created' and coalesce(s, prev) = 'done') as created_done,
        bool_or(coalesce(s, prev) = 'review') as visited_review,
        count(*) filter (where s in ('backlog', 'active') and s <> prev
                         and (case when prev = 'waiting_on_client' then prev_ranked else prev end) = 'review')
            as rounds,
        coalesce(bool_or((s is not null and prev = 'done' and s not in ('done', 'cancelled'))
            or (s in ('backlog', 'active', 'review', 'done') and s <> prev
                and (case when prev = 'waiting_on_client' then prev_ranked else prev end) in ('active', 'review')
                and (case s when 'backlog' then 1 when 'active' then 2 when 'review' then 3 else 4 end)
                  < (case when prev = 'waiting_on_client' then prev_ranked else prev end = 'review')::int + 2)),
            false) as rework
    from moves group by all
),
cases as (
    select process, case_id, last_stage, cancelled_at, visited_review, rounds, rework, created_done,
        created_at, finish_at,
        case when started_at <= finish_at then started_at when assigned_at <= finish_at then assigned_at
             when created_at <= finish_at then created_at end as case_start_at
    from (select *, list_min(list_filter(done_entries, lambda x: x.k >= coalesce(reopened_k, 0))).at as finish_at
          from per_case)
),
timed as (
    select *,
        case when not created_done and finish_at >= created_at
             then (epoch(finish_at) - epoch(created_at)) / 86400 end as lt,
        case when not created_done and finish_at >= case_start_at
             then (epoch(finish_at) - epoch(case_start_at)) / 86400 end as ct
    from cases
),
per_window as (
    select process, window_name, any_value(days) as days,
        count(*) filter (where fin) as completed,
        count(*) filter (where last_stage = 'cancelled' and cancelled_at >= start_at and cancelled_at < end_at)
            as cancelled,
        count(lt) filter (where fin) as lt_n,
        quantile_cont(lt, [0.5, 0.85, 0.95]) filter (where fin) as lt_q,
        avg(lt) filter (where fin) as lt_mean,
        count(ct) filter (where fin) as ct_n,
        quantile_cont(ct, [0.5, 0.85, 0.95]) filter (where fin) as ct_q,
        avg(ct) filter (where fin) as ct_mean,
        stddev_samp(ct) filter (where fin) as ct_sd,
        avg(rework::int) filter (where fin) as rework_rate,
        avg(rounds) filter (where fin and visited_review) as rounds_mean,
        avg(rounds) filter (where fin and rounds >= 1) as rounds_reworked_mean
    from (select c.*, w.window_name, w.days, w.start_at, w.end_at,
                 c.last_stage = 'done' and c.finish_at >= w.start_at and c.finish_at < w.end_at as fin
          from timed c join w
            on (c.finish_at >= w.start_at and c.finish_at < w.end_at)
            or (c.cancelled_at >= w.start_at and c.cancelled_at < w.end_at))
    group by all
)
select process, window_name, completed, cancelled / nullif(completed + cancelled, 0) as cancel_rate,
    completed / (days / 7) as throughput_per_week,
    lt_q[1] as lt_p50, lt_q[2] as lt_p85, lt_q[3] as lt_p95, lt_mean,
    ct_q[1] as ct_p50, ct_q[2] as ct_p85, ct_q[3] as ct_p95, ct_mean, ct_sd / nullif(ct_mean, 0) as ct_cv,
    ct_q[2] / nullif(ct_q[1], 0) as ct_p85_p50, rework_rate, 1 - rework_rate as first_pass_yield,
    rounds_mean, rounds_reworked_mean
from per_window
"""


# The bare query's columns and the metric names of metric_flow / metric_quality they match.
SAME = {
    "completed": "completed", "cancel_rate": "cancel_rate", "throughput_per_week": "throughput_per_week",
    "lt_p50": "lead_time_p50_days", "lt_p85": "lead_time_p85_days", "lt_p95": "lead_time_p95_days",
    "lt_mean": "lead_time_mean_days", "ct_p50": "cycle_time_p50_days", "ct_p85": "cycle_time_p85_days",
    "ct_p95": "cycle_time_p95_days", "ct_mean": "cycle_time_mean_days", "ct_cv": "cycle_time_cv",
    "ct_p85_p50": "cycle_time_p85_p50", "rework_rate": "rework_rate", "first_pass_yield": "first_pass_yield",
    "rounds_mean": "revision_rounds_mean", "rounds_reworked_mean": "revision_rounds_reworked_mean",
}  # fmt: skip


def disagreements(con, params) -> list[str]:  # type: ignore[no-untyped-def]
    """Where the bare query's figures differ from the built metric_flow and metric_quality."""
    cur = con.execute(BARE, {k: v for k, v in params.items() if f"${k}" in BARE})
    names = [d[0] for d in cur.description]
    bare = {
        (r[0], r[1], SAME[c]): v
        for r in cur.fetchall()
        for c, v in zip(names[2:], r[2:], strict=True)
    }
    core = {
        (p, w, m): v
        for p, w, m, v in con.execute(
            "select process, window_name, metric, value from metric_flow union all"
            " select process, window_name, metric, value from metric_quality"
        ).fetchall()
        if m in SAME.values()
    }
    wrong = []
    for key in sorted(bare.keys() | core.keys(), key=str):
        b, c = bare.get(key), core.get(key)
        if key not in bare and c in (None, 0):
            continue  # a window without completions or cancellations: the bare join has no row
        if (b is None) != (c is None) or (b is not None and abs(b - c) > 1e-9 * max(1.0, abs(c))):
            wrong.append(f"{key}: bare {b}, layers {c}")
    return wrong


def _prepare(events: int):  # type: ignore[no-untyped-def]
    con = open_memory()
    migrate(con)
    con.execute("insert into cfg_workspace values ('bench', 'UTC')")
    con.execute(GENERATE, {"cases": events // 8})
    n = con.execute("select count(*) from events").fetchall()[0][0]
    return con, n, metric_params(con, "UTC", MetricsConfig(), AS_OF)


def _timed(run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _core(con, params) -> None:  # type: ignore[no-untyped-def]
    con.execute("begin")
    for name, sql in layer_files():
        if name in CORE:
            statement = create_statement(name, sql)
            used = {k: v for k, v in params.items() if f"${k}" in statement}
            con.execute(statement, used or None)
    con.execute("commit")


NIGHT_TABLES = ("fct_cases", "flag_status_visits", "fct_handoffs", "metric_flow")


def _night(con, params) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(replayed night, full build) seconds for the last day's events (see the module's doc)."""
    cutoff = "timestamptz '2025-12-31 00:00:00+00'"
    con.execute(f"create temp table late as from events where occurred_at >= {cutoff}")
    con.execute(f"delete from events where occurred_at >= {cutoff}")
    build(con, {**params, **metric_params(con, "UTC", MetricsConfig(), date(2025, 12, 31))})
    con.execute("insert into events from late")
    con.execute("create temp table night_cases as select distinct process, case_id from late")
    night = _timed(lambda: build(con, params, cases="night_cases"))
    kept = {t: _rows(con, t) for t in NIGHT_TABLES}
    full = _timed(lambda: build(con, params))
    for t in NIGHT_TABLES:
        if _rows(con, t) != kept[t]:
            sys.exit(f"a replayed night's {t} differs from a full build's")
    return night, full


def _rows(con, table: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """A table's rows in a fixed order, floats to 12 digits (parallel sums differ in the last
    bits between two builds of the same rows)."""
    rows = con.execute(f"from {table}").fetchall()
    return sorted(
        (tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in r) for r in rows),
        key=repr,
    )


def _measure(size: int, repeat: int) -> None:
    con, n, params = _prepare(size)
    bare_params = {k: v for k, v in params.items() if f"${k}" in BARE}
    bares, cores = [], []
    for _ in range(repeat):
        bares.append(_timed(lambda: con.execute(BARE, bare_params).fetchall()))
        cores.append(_timed(lambda: _core(con, params)))
    bare, core = min(bares), min(cores)
    wrong = disagreements(con, params)
    if wrong:
        sys.exit(f"the bare query and the layers disagree on {len(wrong)} figures, e.g. {wrong[0]}")
    full = _timed(lambda: build(con, params))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the night's check
    night, full_night = _night(con, params)
    verdict = "ok" if core <= 1.5 * bare else "SLOWER than 1.5x"
    print(
        f"{n:>12,} {bare:>8.2f} {core:>8.2f} {core / bare:>9.2f}x {full:>8.2f} {full / bare:>9.2f}x"
        f" {night:>8.2f} {night / full_night:>10.2f}x {rss:>12.0f}  {verdict}"
    )
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"core: {', '.join(n for n, _ in layer_files() if n in CORE)}")
    print(
        f"{'events':>12} {'bare s':>8} {'core s':>8} {'core/bare':>10} {'full s':>8}"
        f" {'full/bare':>10} {'night s':>8} {'night/full':>11} {'peak RSS MB':>12}"
    )
    for size in args.events:
        _measure(size, args.repeat)


if __name__ == "__main__":
    main()
