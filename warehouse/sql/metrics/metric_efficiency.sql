-- metric_efficiency
-- Purpose: flow efficiency (active dwell / cycle time) and wait share ((review + waiting on
--          client) dwell / cycle time) over the items completed in each window; display only.
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_stage_visits, fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases where is_staged) p cross join w
),
per_case as (
    select v.process, v.case_id,
        sum(v.dwell_in_cycle_days) filter (where v.stage_class = 'active') as active_days,
        sum(v.dwell_in_cycle_days) filter (where v.stage_class in ('review', 'waiting_on_client')) as wait_days
    from fct_stage_visits v
    group by all
),
agg as (
    select pw.process, pw.window_name,
        count(c.case_id) as n,
        sum(c.cycle_time_days) as ct_days,
        sum(coalesce(p.active_days, 0)) as active_days,
        sum(coalesce(p.wait_days, 0)) as wait_days
    from pw
    left join fct_cases c
        on c.process = pw.process and c.state = 'completed' and c.cycle_time_days is not null
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    left join per_case p on p.process = c.process and p.case_id = c.case_id
    group by all
),
final as (
    select process, window_name, metric, value, n, 'fraction' as unit, null::double as low, null::double as high
    from agg, lateral (values
        ('flow_efficiency', case when ct_days > 0 then active_days / ct_days end),
        ('wait_share', case when ct_days > 0 then wait_days / ct_days end)
    ) m(metric, value)
)
select * from final
