-- metric_quality
-- Purpose: rework rate, first-pass yield and revision rounds of the items completed in each
--          window (METRICS.md §2.2; cancelled items are excluded by construction).
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_case_flow; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_case_flow) p cross join w
),
agg as (
    select pw.process, pw.window_name,
        count(c.case_id) as completed,
        sum(c.rework) as reworked,
        avg(c.revision_rounds) filter (where c.visited_review) as rv_mean,
        count(c.case_id) filter (where c.visited_review) as n_review,
        avg(c.revision_rounds) filter (where c.revision_rounds >= 1) as rv_reworked_mean,
        count(c.case_id) filter (where c.revision_rounds >= 1) as n_revised
    from pw
    left join fct_case_flow c
        on c.process = pw.process and c.state = 'completed'
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    group by pw.process, pw.window_name
),
final as (
    select process, window_name, metric, value, n, unit,
        null::double as low, null::double as high
    from agg, lateral (values
        ('rework_rate', case when completed > 0 then reworked / completed end, completed, 'fraction'),
        ('first_pass_yield', case when completed > 0 then 1 - reworked / completed end, completed, 'fraction'),
        ('revision_rounds_mean', rv_mean, n_review, 'rounds'),
        ('revision_rounds_reworked_mean', rv_reworked_mean, n_revised, 'rounds')
    ) m(metric, value, n, unit)
)
select * from final
