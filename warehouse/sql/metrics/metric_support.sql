-- metric_support
-- Purpose: first reply time of support processes: hours from ticket creation to the first public
--          reply by someone other than the customer, for tickets first answered in the window.
-- Grain:   one row per (support process, window, metric).
-- Reads:   fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases where process_type = 'support') p cross join w
),
agg as (
    select pw.process, pw.window_name,
        count(c.first_reply_hours) as n,
        quantile_cont(c.first_reply_hours::double, 0.5) as p50,
        quantile_cont(c.first_reply_hours::double, 0.85) as p85
    from pw
    left join fct_cases c
        on c.process = pw.process and c.first_reply_at >= pw.start_at and c.first_reply_at < pw.end_at
    group by all
),
final as (
    select process, window_name, metric, value, n, 'hours' as unit, null::double as low, null::double as high
    from agg, lateral (values
        ('first_reply_hours_p50', p50),
        ('first_reply_hours_p85', p85)
    ) m(metric, value)
)
select * from final
