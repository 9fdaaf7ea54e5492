-- metric_wip_daily
-- Purpose: daily WIP per process, sampled at 23:59:59 local time (METRICS.md §2.2): items started
--          by then whose stage class at that moment is neither done nor cancelled. Beside it,
--          first-pass WIP (O10): the same items less those already sent back (a backward move or
--          a reopen before the sample), whose count is a rework loop, O2's finding.
-- Grain:   one row per (process, local day) from the first event's day to the day before as_of.
-- Reads:   fct_stage_visits, fct_cases, stg_events; parameters $as_of_local, $tz, $first_at
with days as (
    select d::date as day, timezone($tz, d + interval 1 day - interval 1 second) as sampled_at
    from generate_series(timezone($tz, $first_at::timestamptz)::date::timestamp,
                         $as_of_local::timestamp - interval 1 day, interval 1 day) g(d)
),
sent_back as (
    -- When each case first went back: a backward move or a reopen from done.
    select process, case_id, min(occurred_at) as at from stg_events
    where is_backward or is_reopen_from_done group by all
),
open_visits as (
    -- The part of each open-class visit after the case's start.
    select v.process, v.case_id, greatest(v.entered_at, v.started_at) as from_at, v.exited_at as to_at,
           b.at as sent_back_at
    from fct_stage_visits v
    left join sent_back b using (process, case_id)
    where v.stage_class not in ('done', 'cancelled') and v.started_at is not null
      and (v.exited_at is null or v.exited_at > v.started_at)
),
final as (
    select p.process, d.day, d.sampled_at,
        count(o.case_id) as wip,
        count(o.case_id) filter (where o.sent_back_at is null or o.sent_back_at > d.sampled_at)
            as first_pass_wip
    from (select distinct process from fct_cases where is_staged) p
    cross join days d
    left join open_visits o
        on o.process = p.process and o.from_at <= d.sampled_at
        and (o.to_at is null or o.to_at > d.sampled_at)
    group by all
)
select * from final
