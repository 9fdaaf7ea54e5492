-- metric_handoffs
-- Purpose: handoff delay (business days from a reassignment to the new assignee's first event),
--          by handoff time, and how many handoffs were never picked up.
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_handoffs, fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases where is_staged) p cross join w
),
agg as (
    select pw.process, pw.window_name,
        count(h.handoff_bdays) as n_picked,
        quantile_cont(h.handoff_bdays, 0.5) as p50,
        count(h.handed_at) filter (where h.picked_at is null) as unmatched
    from pw
    left join fct_handoffs h
        on h.process = pw.process and h.handed_at >= pw.start_at and h.handed_at < pw.end_at
    group by all
),
final as (
    select process, window_name, metric, value, n, unit, null::double as low, null::double as high
    from agg, lateral (values
        ('handoff_delay_p50_bdays', p50, n_picked, 'business days'),
        ('handoff_unmatched', unmatched::double, unmatched, 'handoffs')
    ) m(metric, value, n, unit)
)
select * from final
