-- metric_dash_weekly
-- Purpose: the weekly figures behind the dashboard's trends and rework chart: completions, median
--          and p85 cycle time, rework rate, revision rounds and the week's CSAT responses
--          (METRICS.md §2.2 definitions; ISO weeks, Monday start, in the workspace time zone;
--          items by finish, responses by response time).
-- Grain:   one row per (process, week_start) with a completion or a CSAT response before as_of.
-- Reads:   fct_cases, fct_feedback; parameters $as_of_local, $tz
with done as (
    select process, date_trunc('week', timezone($tz, completed_at))::date as week_start,
           cycle_time_days::double as cycle_time_days, rework, revision_rounds, visited_review
    from fct_cases
    where state = 'completed' and completed_at < timezone($tz, $as_of_local::timestamp)
),
flow as (
    select process, week_start,
           count(*) as completed,
           count(cycle_time_days) as n_cycle_time,
           quantile_cont(cycle_time_days, 0.5) as cycle_time_p50_days,
           quantile_cont(cycle_time_days, 0.85) as cycle_time_p85_days,
           sum(rework) as reworked,
           avg(rework) as rework_rate,
           avg(revision_rounds) filter (where visited_review) as revision_rounds_mean
    from done
    group by all
),
csat as (
    select process, date_trunc('week', timezone($tz, responded_at))::date as week_start,
           count(*) as csat_responses,
           count(*) filter (where is_positive) as csat_positive
    from fct_feedback
    where instrument = 'csat' and responded_at < timezone($tz, $as_of_local::timestamp)
    group by all
),
final as (
    select process, week_start, strftime(week_start, '%G-W%V') as iso_week,
           coalesce(f.completed, 0) as completed,
           coalesce(f.n_cycle_time, 0) as n_cycle_time,
           f.cycle_time_p50_days, f.cycle_time_p85_days,
           coalesce(f.reworked, 0) as reworked, f.rework_rate, f.revision_rounds_mean,
           coalesce(c.csat_responses, 0) as csat_responses,
           coalesce(c.csat_positive, 0) as csat_positive
    from flow f
    full join csat c using (process, week_start)
)
select * from final
