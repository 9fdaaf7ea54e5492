-- metric_dash_stage_dwell
-- Purpose: where work waits, for the dashboard's bottleneck chart: per stage, closed visits that
--          exited in the window (METRICS.md §2.1 membership by exit), their median and p85 dwell,
--          total dwell and its share of all non-backlog dwell, plus today's queue (open items in
--          the stage at as_of, 'current' rows only).
-- Grain:   one row per (process, window_name, stage, stage_class) for current, baseline and
--          maturity; staged processes only; done and cancelled are not stages work waits in.
-- Reads:   fct_stage_visits, fct_cases; parameters $as_of_local, $tz, $first_at, $current_days,
--          $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
    where window_name in ('current', 'baseline', 'maturity')
),
staged as (
    select distinct process from fct_cases where is_staged
),
visits as (
    select v.* from fct_stage_visits v semi join staged s using (process)
    where v.stage_class not in ('done', 'cancelled')
),
closed as (
    select v.process, w.window_name, v.stage, v.stage_class,
           count(*) as visits,
           quantile_cont(v.dwell_days::double, 0.5) as dwell_p50_days,
           quantile_cont(v.dwell_days::double, 0.85) as dwell_p85_days,
           sum(v.dwell_days) as dwell_total_days
    from visits v
    join w on v.exited_at >= w.start_at and v.exited_at < w.end_at
    where v.dwell_days is not null
    group by all
),
queue as (
    select process, 'current' as window_name, stage, stage_class, count(*) as queue
    from visits
    where entered_at < timezone($tz, $as_of_local::timestamp)
      and (exited_at is null or exited_at >= timezone($tz, $as_of_local::timestamp))
    group by all
),
final as (
    select process, window_name, stage, stage_class,
           coalesce(c.visits, 0) as visits,
           c.dwell_p50_days, c.dwell_p85_days, coalesce(c.dwell_total_days, 0) as dwell_total_days,
           case when stage_class <> 'backlog' then coalesce(c.dwell_total_days, 0) / nullif(
               sum(c.dwell_total_days) filter (where stage_class <> 'backlog')
                   over (partition by process, window_name), 0) end as dwell_share,
           case when window_name = 'current' then coalesce(q.queue, 0) end as queue
    from closed c
    full join queue q using (process, window_name, stage, stage_class)
)
select * from final
