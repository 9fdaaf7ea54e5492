-- metric_dash_cfd
-- Purpose: the cumulative flow diagram: how many items sit in each stage class at the end of each
--          ISO week (or at as_of for the current week). A done visit stays open, so `done` grows
--          with every completion and the bands show throughput and WIP over time together.
-- Grain:   one row per (process, week_start, stage_class) from the first event's week to as_of's
--          week, for staged processes; sampled at the week's end (Monday 00:00 local) or as_of.
-- Reads:   fct_stage_visits, fct_cases; parameters $as_of_local, $tz, $first_at
with weeks as (
    select w::date as week_start,
           timezone($tz, least(w + interval 7 day, $as_of_local::timestamp)) as sampled_at
    from generate_series(
        date_trunc('week', timezone($tz, $first_at::timestamptz))::timestamp,
        date_trunc('week', $as_of_local::timestamp - interval 1 second)::timestamp,
        interval 7 day
    ) g(w)
),
staged as (
    select distinct process from fct_cases where is_staged
),
moves as (
    -- +1 when an item enters a stage class, -1 when it leaves it.
    select v.process, v.stage_class, v.entered_at as moved_at, 1 as delta
    from fct_stage_visits v semi join staged s using (process)
    union all
    select v.process, v.stage_class, v.exited_at as moved_at, -1 as delta
    from fct_stage_visits v semi join staged s using (process)
    where v.exited_at is not null
),
by_week as (
    select process, stage_class, date_trunc('week', timezone($tz, moved_at))::date as week_start,
           sum(delta) as delta
    from moves
    where moved_at < timezone($tz, $as_of_local::timestamp)
    group by all
),
grid as (
    select p.process, p.stage_class, w.week_start, w.sampled_at
    from (select distinct process, stage_class from moves) p
    cross join weeks w
),
final as (
    select g.process, g.week_start, g.sampled_at, g.stage_class,
           (sum(coalesce(b.delta, 0)) over (
               partition by g.process, g.stage_class order by g.week_start
           ))::bigint as items
    from grid g
    left join by_week b using (process, stage_class, week_start)
)
select * from final
