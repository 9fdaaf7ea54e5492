-- metric_practice
-- Purpose: template share of the items completed in each window, and mean checklist completion
--          at completion over the ones that have a checklist.
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases) p cross join w
),
agg as (
    select pw.process, pw.window_name,
        count(c.case_id) as completed,
        count(c.template) as templated,
        bool_or(c.is_staged) as staged,
        avg(c.checklist_completion) as checklist,
        count(c.checklist_completion) as with_checklist
    from pw
    left join fct_cases c
        on c.process = pw.process and c.state = 'completed'
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    group by all
),
final as (
    select process, window_name, metric, value, n, 'fraction' as unit, null::double as low, null::double as high
    from agg, lateral (values
        -- Generic event logs carry no templates: unknown, not zero.
        ('template_share', case when completed > 0 and staged then templated / completed end, completed),
        ('checklist_completion', checklist, with_checklist)
    ) m(metric, value, n)
)
select * from final
