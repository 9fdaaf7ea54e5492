-- metric_variants
-- Purpose: variant count and happy-path share (the most frequent variant's share) of the items
--          completed in each window.
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases) p cross join w
),
counted as (
    select pw.process, pw.window_name, c.variant, count(*) as cases
    from pw
    join fct_cases c
        on c.process = pw.process and c.state = 'completed' and c.variant is not null
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    group by all
),
agg as (
    select pw.process, pw.window_name,
        count(v.variant) as variants,
        coalesce(sum(v.cases), 0) as n,
        max(v.cases) as happy_cases
    from pw left join counted v using (process, window_name)
    group by all
),
final as (
    select process, window_name, metric, value, n, unit, null::double as low, null::double as high
    from agg, lateral (values
        ('variant_count', variants::double, 'variants'),
        ('happy_path_share', case when n > 0 then happy_cases / n end, 'fraction')
    ) m(metric, value, unit)
)
select * from final
