-- metric_people
-- Purpose: performer concentration of the completions in each window: the top person's share
--          and the bus factor (fewest people with a combined share >= $bus_factor_share).
-- Grain:   one row per (process, window, metric).
-- Reads:   fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days, $bus_factor_share
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
pw as (
    select p.process, w.* from (select distinct process from fct_cases) p cross join w
),
credited as (
    select pw.process, pw.window_name, c.finisher, count(*) as done
    from pw
    join fct_cases c
        on c.process = pw.process and c.state = 'completed' and c.finisher is not null
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    group by all
),
ranked as (
    select *,
        sum(done) over (partition by process, window_name) as total,
        sum(done) over (partition by process, window_name order by done desc, finisher
                        rows between unbounded preceding and current row) as running,
        row_number() over (partition by process, window_name order by done desc, finisher) as rank_no
    from credited
),
agg as (
    select pw.process, pw.window_name,
        coalesce(max(r.total), 0) as n,
        max(r.done) filter (where r.rank_no = 1) / max(r.total) as top1,
        min(r.rank_no) filter (where r.running >= $bus_factor_share * r.total) as bus_factor
    from pw left join ranked r using (process, window_name)
    group by all
),
final as (
    select process, window_name, metric, value, n, unit, null::double as low, null::double as high
    from agg, lateral (values
        ('top1_share', top1, 'fraction'),
        ('bus_factor', bus_factor::double, 'people')
    ) m(metric, value, unit)
)
select * from final
