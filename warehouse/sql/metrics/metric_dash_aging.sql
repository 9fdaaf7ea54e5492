-- metric_dash_aging
-- Purpose: the open items at as_of with their current stage, work item age (days(start, as_of),
--          METRICS.md §2.2; null when not started) and days since their last event, for the
--          dashboard's aging-WIP chart and drill-down.
-- Grain:   one row per open item (created before as_of, neither completed nor cancelled).
-- Reads:   fct_cases, fct_stage_visits; parameters $as_of_local, $tz
with as_of as (
    select timezone($tz, $as_of_local::timestamp) as at
),
open_items as (
    select c.process, c.case_id, c.case_title, c.assignee, c.client_id, c.created_at,
           c.started_at, c.last_event_at, c.due_at
    from fct_cases c, as_of a
    where c.state = 'open' and c.created_at < a.at
),
current_stage as (
    select process, case_id, stage, stage_class
    from fct_stage_visits
    where exited_at is null
    qualify row_number() over (partition by process, case_id order by entered_at desc, seq desc) = 1
),
final as (
    select o.process, o.case_id, o.case_title, o.assignee, o.client_id, s.stage, s.stage_class,
           o.created_at, o.started_at, o.due_at,
           (epoch(a.at) - epoch(o.started_at)) / 86400.0 as age_days,
           (epoch(a.at) - epoch(o.last_event_at)) / 86400.0 as idle_days
    from open_items o
    cross join as_of a
    left join current_stage s using (process, case_id)
)
select * from final
