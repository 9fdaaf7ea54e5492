-- metric_flow
-- Purpose: completions, cancel rate, lead and cycle time percentiles (type 7), mean, CV, p85/p50
--          and throughput per week, per window (METRICS.md §2.2; completed items by finish).
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_case_flow; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_case_flow) p cross join w
),
agg as (
    select pw.process, pw.window_name, any_value(pw.days) as days,
        count(c.case_id) filter (where c.state = 'completed' and c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as completed,
        count(c.case_id) filter (where c.state = 'cancelled' and c.cancelled_at >= pw.start_at and c.cancelled_at < pw.end_at) as cancelled,
        count(c.lead_time_days) filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as lt_n,
        quantile_cont(c.lead_time_days::double, [0.5, 0.85, 0.95])
            filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as lt_q,
        avg(c.lead_time_days::double) filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as lt_mean,
        count(c.cycle_time_days) filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as ct_n,
        quantile_cont(c.cycle_time_days::double, [0.5, 0.85, 0.95])
            filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as ct_q,
        avg(c.cycle_time_days::double) filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as ct_mean,
        stddev_samp(c.cycle_time_days::double) filter (where c.completed_at >= pw.start_at and c.completed_at < pw.end_at) as ct_sd
    from pw
    -- Only the cases finished or cancelled in the window feed an aggregate.
    left join fct_case_flow c
        on c.process = pw.process
        and ((c.completed_at >= pw.start_at and c.completed_at < pw.end_at)
             or (c.cancelled_at >= pw.start_at and c.cancelled_at < pw.end_at))
    group by pw.process, pw.window_name
),
final as (
    select process, window_name, metric, value, n, unit, null::double as low, null::double as high
    from agg, lateral (values
        ('completed', completed::double, completed, 'items'),
        ('cancel_rate', case when completed + cancelled > 0 then cancelled / (completed + cancelled) end, completed + cancelled, 'fraction'),
        ('throughput_per_week', case when days > 0 then completed / (days / 7.0) end, completed, 'items/week'),
        ('lead_time_p50_days', lt_q[1], lt_n, 'days'),
        ('lead_time_p85_days', lt_q[2], lt_n, 'days'),
        ('lead_time_p95_days', lt_q[3], lt_n, 'days'),
        ('lead_time_mean_days', lt_mean, lt_n, 'days'),
        ('cycle_time_p50_days', ct_q[1], ct_n, 'days'),
        ('cycle_time_p85_days', ct_q[2], ct_n, 'days'),
        ('cycle_time_p95_days', ct_q[3], ct_n, 'days'),
        ('cycle_time_mean_days', ct_mean, ct_n, 'days'),
        ('cycle_time_cv', case when ct_mean > 0 then ct_sd / ct_mean end, ct_n, 'ratio'),
        ('cycle_time_p85_p50', case when ct_q[1] > 0 then ct_q[2] / ct_q[1] end, ct_n, 'ratio')
    ) m(metric, value, n, unit)
)
select * from final
