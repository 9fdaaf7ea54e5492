-- metric_throughput_weekly
-- Purpose: throughput TP(w): completions per ISO week (Monday start, workspace time zone), each
--          item once in the week of its current finish, zero weeks included (METRICS.md §2.2).
-- Grain:   one row per (process, ISO week) from the first event's week to as_of's week.
-- Reads:   fct_cases; parameters $as_of_local, $tz, $first_at
with weeks as (
    select w::date as week_start, strftime(w, '%G-W%V') as iso_week
    from generate_series(
        date_trunc('week', timezone($tz, $first_at::timestamptz))::timestamp,
        date_trunc('week', $as_of_local::timestamp - interval 1 second)::timestamp,
        interval 7 day
    ) g(w)
),
finishes as (
    select process, date_trunc('week', timezone($tz, completed_at))::date as week_start, count(*) as completions
    from fct_cases
    where state = 'completed' and completed_at < timezone($tz, $as_of_local::timestamp)
    group by all
),
final as (
    select p.process, w.iso_week, w.week_start, coalesce(f.completions, 0) as completions
    from (select distinct process from fct_cases) p
    cross join weeks w
    left join finishes f on f.process = p.process and f.week_start = w.week_start
)
select * from final
