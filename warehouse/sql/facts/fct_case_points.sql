-- fct_case_points
-- Purpose: every candidate start point of the staged cases of processes with their own
--          `ct_start` chain (METRICS.md §1.3 tokens), so the chain can pick the first that exists;
--          other processes use the default chain straight from fct_cases.
-- Grain:   one row per (process, case_id, token).
-- Reads:   stg_events, cfg_ct_start
with staged as (
    select * from stg_events
    where is_staged and process in (select process from cfg_ct_start)
),
points as (
    select process, case_id, 'created' as token,
           coalesce(min(occurred_at) filter (where kind = 'created'), min(occurred_at)) as point_at
    from staged group by process, case_id
    union all
    select process, case_id, 'first_enter:started',
           min(occurred_at) filter (where stage_after in ('active', 'review', 'waiting_on_client', 'done'))
    from staged group by process, case_id
    union all
    select process, case_id, 'first_assigned',
           min(occurred_at) filter (where assignee is not null and kind in ('created', 'assigned'))
    from staged group by process, case_id
    union all
    select process, case_id, 'first_exit:backlog', min(occurred_at)
    from staged where is_move and stage_before = 'backlog' group by process, case_id
    union all
    select process, case_id, 'first_enter:' || stage_set, min(occurred_at)
    from staged where is_enter group by process, case_id, stage_set
    union all
    select process, case_id, 'first_enter:' || original_status, min(occurred_at)
    from staged where is_enter and original_status is not null
    group by process, case_id, original_status
),
final as (
    select process, case_id, token, min(point_at) as point_at
    from points where point_at is not null
    group by all
)
select * from final
