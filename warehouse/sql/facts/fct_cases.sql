-- fct_cases
-- Purpose: one row per case with its state, start and finish points (METRICS.md §1.3), lead and
--          cycle time, rework, on-time and ownership; generic logs follow DESIGN.md §3.
-- Grain:   one row per (process, case_id).
-- Reads:   stg_events, cfg_workspace
with reopen as (
    select process, case_id,
           max(case when is_reopen or kind = 'reopened' then seq end) as last_reopen_seq,
           count(*) filter (where is_reopen or (kind = 'reopened' and not is_enter)) as reopen_count,
           count(*) filter (where is_reopen_from_done) as reopens_from_done
    from stg_events
    group by all
),
per_case as (
    select s.process, s.case_id, any_value(s.is_staged) as is_staged,
        min(s.occurred_at) as first_at,
        max(s.occurred_at) as last_at,
        min(s.occurred_at) filter (where s.kind = 'created') as created_event_at,
        arg_max(s.stage_after, s.seq) as current_stage,
        min(s.occurred_at) filter (where s.is_done_entry and s.seq >= coalesce(r.last_reopen_seq, 0)) as finish_after_reopen,
        min(s.occurred_at) filter (where s.stage_after in ('active', 'review', 'waiting_on_client', 'done')) as first_started_at,
        min(s.occurred_at) filter (where s.assignee is not null and s.kind in ('created', 'assigned')) as first_assigned_at,
        bool_or(s.kind = 'created' and s.stage_after = 'done') as created_done,
        count(*) filter (where s.is_backward) as backward_moves,
        count(*) filter (where s.is_revision) as revision_rounds,
        any_value(r.reopen_count) as reopen_count,
        any_value(r.reopens_from_done) as reopens_from_done,
        count(*) as n_events,
        max(s.n_same_status) as max_status_repeats,
        arg_max(s.client_id, s.seq) filter (where s.client_id is not null) as client_id,
        arg_max(s.actor, s.seq) as last_actor,
        arg_max(s.case_title, s.seq) filter (where s.case_title is not null) as case_title
    from (
        select *, count(*) over (partition by process, case_id, original_status) as n_same_status
        from stg_events
    ) s
    left join reopen r using (process, case_id)
    group by s.process, s.case_id
),
shaped as (
    select p.*,
        case when not is_staged then 'completed'
             when current_stage = 'done' then 'completed'
             when current_stage = 'cancelled' then 'cancelled'
             else 'open' end as state,
        case when is_staged then coalesce(created_event_at, first_at) else first_at end as created_at
    from per_case p
),
finished as (
    select *,
        case when not is_staged then last_at
             when state = 'completed' then finish_after_reopen end as completed_at
    from shaped
),
started as (
    select f.*,
        case
            when not is_staged then 'first_event'
            when first_started_at is not null and (completed_at is null or first_started_at <= completed_at) then 'first_enter:started'
            when first_assigned_at is not null and (completed_at is null or first_assigned_at <= completed_at) then 'first_assigned'
            when state <> 'open' then 'created'
        end as start_basis
    from finished f
),
timed as (
    select s.*,
        case start_basis
            when 'first_event' then first_at
            when 'first_enter:started' then first_started_at
            when 'first_assigned' then first_assigned_at
            when 'created' then created_at
        end as started_at
    from started s
),
owners as (
    -- Assignee and due date in force at the finish (or now, for open cases).
    select t.process, t.case_id,
        arg_max(e.assignee, e.seq) filter (where e.kind in ('created', 'assigned')) as assignee,
        arg_max(e.due_at, e.seq) filter (where e.kind = 'due_changed' or e.due_at is not null) as due_at
    from timed t
    join stg_events e on e.process = t.process and e.case_id = t.case_id
        and (t.completed_at is null or e.occurred_at <= t.completed_at)
    group by all
),
final as (
    select
        (select any_value(workspace) from events) as workspace,
        t.process, t.case_id, t.state, t.is_staged, t.case_title,
        t.created_at, t.started_at, t.start_basis, t.completed_at,
        case when t.completed_at is not null and not coalesce(t.created_done, false)
                  and t.completed_at >= t.created_at
             then (epoch(t.completed_at) - epoch(t.created_at)) / 86400.0 end as lead_time_days,
        case when t.completed_at is not null and not coalesce(t.created_done, false)
                  and t.completed_at >= t.started_at
             then (epoch(t.completed_at) - epoch(t.started_at)) / 86400.0 end as cycle_time_days,
        case when not t.is_staged then (t.max_status_repeats >= 2)::integer
             else (t.reopens_from_done > 0 or t.backward_moves > 0)::integer end as rework,
        case when t.is_staged then t.reopen_count end as reopen_count,
        case when t.is_staged then t.backward_moves end as backward_moves,
        case when t.is_staged then t.revision_rounds end as revision_rounds,
        t.n_events,
        case when t.is_staged then o.due_at end as due_at,
        case when t.is_staged and t.state = 'completed' and o.due_at is not null
             then t.completed_at <= o.due_at end as on_time,
        case when t.is_staged then o.assignee else t.last_actor end as assignee,
        t.client_id,
        coalesce(t.created_done, false) as created_done,
        t.completed_at < t.created_at or t.completed_at < t.started_at as negative_duration
    from timed t
    left join owners o using (process, case_id)
)
select * from final
