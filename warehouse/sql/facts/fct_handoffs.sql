-- fct_handoffs
-- Purpose: reassignments A -> B (both set) and how long B took to act on the item, in business
--          days (METRICS.md §2.2 handoff delay); picked_at is null when B never acted.
-- Grain:   one row per assigned event that changes a non-null assignee to another.
-- Reads:   stg_events, cfg_workspace, cfg_holidays
-- Rebuilt: per case
with settings as (
    select any_value(timezone) as tz,
           coalesce((select list(holiday) from cfg_holidays), []::date[]) as holidays
    from cfg_workspace
),
handed as (
    select process, case_id, seq, occurred_at as handed_at,
           assignee_before.v as from_assignee, assignee as to_assignee
    from stg_events
    where kind = 'assigned' and assignee_before.v is not null and assignee is not null
      and assignee_before.v <> assignee
),
picked as (
    select h.process, h.case_id, h.seq, h.handed_at, h.from_assignee, h.to_assignee,
           min(e.occurred_at) as picked_at
    from handed h
    left join stg_events e
        on e.process = h.process and e.case_id = h.case_id and e.seq > h.seq and e.actor = h.to_assignee
    group by all
),
final as (
    select p.*, bdays(p.handed_at, p.picked_at, s.tz, s.holidays) as handoff_bdays
    from picked p cross join settings s
)
select * from final
