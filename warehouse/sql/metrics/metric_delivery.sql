-- metric_delivery
-- Purpose: on-time rate (with its Wilson interval), due-date coverage and due-date churn of the
--          items completed in each window (METRICS.md §2.2).
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days, $z
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases) p cross join w
),
agg as (
    select pw.process, pw.window_name,
        count(c.case_id) as completed,
        count(c.due_at) as with_due,
        count(c.case_id) filter (where c.on_time) as on_time,
        avg(c.due_changes) as churn_mean,
        count(c.case_id) filter (where c.due_changes >= 2) as churn_2plus,
        count(c.due_changes) as n_churn
    from pw
    left join fct_cases c
        on c.process = pw.process and c.state = 'completed' and c.is_staged
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    group by pw.process, pw.window_name
),
final as (
    select process, window_name, metric, value, n, unit, low, high
    from agg, lateral (values
        ('on_time_rate', case when with_due > 0 then on_time / with_due end, with_due, 'fraction',
            wilson_low(on_time, with_due, $z), wilson_high(on_time, with_due, $z)),
        ('due_date_coverage', case when completed > 0 then with_due / completed end, completed, 'fraction', null, null),
        ('due_churn_mean', churn_mean, n_churn, 'changes', null, null),
        ('due_churn_2plus_share', case when n_churn > 0 then churn_2plus / n_churn end, n_churn, 'fraction', null, null)
    ) m(metric, value, n, unit, low, high)
)
select * from final
