-- metric_wip
-- Purpose: WIP at each window's end, the mean of the window's daily samples, and the p85 work
--          item age (days from start) of the items in WIP at the window's end.
-- Grain:   one row per (process, window, metric).
-- Reads:   metric_wip_daily, fct_stage_visits, fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.*, w.end_at - interval 1 second as sampled_at
    from (select distinct process from fct_cases where is_staged) p cross join w
),
in_wip as (
    select pw.process, pw.window_name,
        (epoch(pw.sampled_at) - epoch(v.started_at)) / 86400.0 as age_days
    from pw
    join fct_stage_visits v
        on v.process = pw.process and v.stage_class not in ('done', 'cancelled')
        and v.started_at is not null and v.started_at <= pw.sampled_at
        and v.entered_at <= pw.sampled_at and (v.exited_at is null or v.exited_at > pw.sampled_at)
),
ages as (
    select pw.process, pw.window_name,
        count(i.age_days) as wip,
        quantile_cont(i.age_days, 0.85) as age_p85
    from pw left join in_wip i using (process, window_name)
    group by all
),
daily as (
    select pw.process, pw.window_name, avg(d.wip) as wip_mean, count(d.day) as n_days
    from pw
    left join metric_wip_daily d
        on d.process = pw.process and d.sampled_at >= pw.start_at and d.sampled_at < pw.end_at
    group by all
),
final as (
    select a.process, a.window_name, metric, value, n, unit, null::double as low, null::double as high
    from ages a join daily d using (process, window_name), lateral (values
        ('wip', a.wip::double, a.wip, 'items'),
        ('wip_mean', d.wip_mean, d.n_days, 'items'),
        ('work_item_age_p85_days', a.age_p85, a.wip, 'days')
    ) m(metric, value, n, unit)
)
select * from final
