"""Metric build benchmark: opspulse's SQL layers against a bare DuckDB query (issue #3, AC 5).

    .venv/bin/python benchmarks/run.py [--events 1000000 10000000] [--repeat 3]

For each size it generates simulated events straight into an in-memory warehouse (five processes,
cases of 4-12 events with review bounces, reopens, cancellations and open work), then times:

- core: metric_flow and metric_quality with every derived table they read, directly or through
  others (taken from the SQL, so the set follows the code), built with the statements
  `opspulse run` uses;
- bare: one hand-written DuckDB query computing the same core metrics with the same definitions
  (stage carried forward, waiting-on-client rank-neutral, finish = first done after the last
  reopen, start = first stage past backlog, else first assignment, else creation; per process and
  window: completions, lead/cycle time p50/p85/p95 and mean, throughput per week, rework rate);
- full: every derived table (all stg_, fct_, metric_ and flag_ files), as `opspulse run` builds
  them.

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
            when k % 3 = 1 then 'active'
            when k % 3 = 2 then 'review'
            when roll < 20 then 'active'
            else 'waiting_on_client'
        end as stage
    from steps
)
select 'e' || n || '-' || k, 'bench', case when k = 0 then 'created' when stage = 'done' then 'completed'
       when stage = 'cancelled' then 'cancelled' else 'stage_changed' end,
       process, 'C' || n, ts, 'import', stage, upper(stage[1]) || stage[2:], 'u' || (hash(n) % 7), 'u' || (hash(n) % 7),
       case when k = 0 then t0 + interval 10 day end, 'client-' || (n % 50), 'tpl', null, null, null,
       null, null, null, 'import/bench', n * 16 + k, current_timestamp
from shaped
"""

BARE = """
with w as (select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)),
given as (
    select process, case_id, kind, occurred_at, landing_file, line, event_id, assignee,
        coalesce(stage, case kind when 'completed' then 'done' when 'cancelled' then 'cancelled'
                                  when 'reopened' then 'active' when 'created' then 'backlog' end) as s
    from events where kind <> 'feedback'
),
moves as (
    select *,
        last_value(s ignore nulls) over w_before as prev,
        last_value(case when s <> 'waiting_on_client' then s end ignore nulls) over w_before as prev_ranked
    from given
    window w_before as (partition by process, case_id order by occurred_at, landing_file, line, event_id
                        rows between unbounded preceding and 1 preceding)
),
per_case as (
    select process, case_id,
        min(occurred_at) filter (where kind = 'created') as created_at,
        min(occurred_at) filter (where s in ('active', 'review', 'waiting_on_client', 'done')) as started_at,
        min(occurred_at) filter (where assignee is not null) as assigned_at,
        arg_max(s, (occurred_at, line)) filter (where s is not null) as last_stage,
        max(occurred_at) filter (
            where prev = 'done' and s in ('backlog', 'active', 'review', 'waiting_on_client')
        ) as reopened_at,
        list(occurred_at) filter (where s = 'done' and prev is distinct from 'done') as done_entries,
        bool_or((prev = 'done' and s in ('backlog', 'active', 'review', 'waiting_on_client'))
            or (s in ('backlog', 'active', 'review') and prev_ranked in ('active', 'review')
                and (case s when 'backlog' then 1 when 'active' then 2 else 3 end)
                  < (case prev_ranked when 'active' then 2 else 3 end))) as rework
    from moves group by all
),
done as (
    select *, (epoch(finish_at) - epoch(created_at)) / 86400 as lt,
        (epoch(finish_at) - epoch(coalesce(started_at, assigned_at, created_at))) / 86400 as ct
    from (select *, list_min(list_filter(done_entries, lambda x: reopened_at is null or x >= reopened_at)) as finish_at
          from per_case where last_stage = 'done')
)
select d.process, w.window_name, count(*) as completed,
    quantile_cont(lt, [0.5, 0.85, 0.95]) as lt_q, avg(lt) as lt_mean,
    quantile_cont(ct, [0.5, 0.85, 0.95]) as ct_q, avg(ct) as ct_mean,
    count(*) / (any_value(w.days) / 7) as throughput, avg(rework::int) as rework_rate
from done d join w on d.finish_at >= w.start_at and d.finish_at < w.end_at
group by all
"""


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


def _measure(size: int, repeat: int) -> None:
    con, n, params = _prepare(size)
    bare_params = {k: v for k, v in params.items() if f"${k}" in BARE}
    bares, cores = [], []
    for _ in range(repeat):
        bares.append(_timed(lambda: con.execute(BARE, bare_params).fetchall()))
        cores.append(_timed(lambda: _core(con, params)))
    bare, core = min(bares), min(cores)
    full = _timed(lambda: build(con, params))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "ok" if core <= 1.5 * bare else "SLOWER than 1.5x"
    print(
        f"{n:>12,} {bare:>8.2f} {core:>8.2f} {core / bare:>9.2f}x {full:>8.2f} {full / bare:>9.2f}x"
        f" {rss:>12.0f}  {verdict}"
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
        f" {'full/bare':>10} {'peak RSS MB':>12}"
    )
    for size in args.events:
        _measure(size, args.repeat)


if __name__ == "__main__":
    main()
