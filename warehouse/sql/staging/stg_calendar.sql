-- stg_calendar
-- Purpose: the workspace's local days from the day before the first event to 400 days after the
--          last, each with its bounds as instants, whether it is a business day (Mon-Fri, not a
--          holiday) and the business seconds before it, so business days between two instants
--          are two lookups (METRICS.md conventions: bdays). DST days are 23 or 25 hours long.
-- Grain:   one row per local day.
-- Reads:   events, cfg_workspace, cfg_holidays
with settings as (
    select any_value(timezone) as tz,
           coalesce((select list(holiday) from cfg_holidays), []::date[]) as holidays
    from cfg_workspace
),
bounds as (
    select min(occurred_at) as first_at, max(occurred_at) as last_at from events
),
days as (
    select d::date as day,
           timezone(s.tz, d) as day_start,
           timezone(s.tz, d + interval 1 day) as day_end,
           isodow(d) <= 5 and not list_contains(s.holidays, d::date) as is_business
    from settings s, bounds b,
         generate_series(timezone(s.tz, b.first_at)::date::timestamp - interval 1 day,
                         timezone(s.tz, b.last_at)::date::timestamp + interval 400 day,
                         interval 1 day) g(d)
),
final as (
    select *,
        coalesce(sum(case when is_business then epoch(day_end) - epoch(day_start) end)
                 over (order by day rows between unbounded preceding and 1 preceding), 0) as business_seconds_before
    from days
)
select * from final
