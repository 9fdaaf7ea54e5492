-- fct_cases
-- Purpose: one row per case with its state, start and finish points (METRICS.md §1.3), lead and
--          cycle time, rework, on-time, ownership, practice and feedback fields; generic event
--          logs follow DESIGN.md §3.
-- Grain:   one row per (process, case_id).
-- Reads:   stg_events, stg_calendar, fct_case_points, cfg_process, cfg_ct_start, cfg_workspace
with settings as (
    select any_value(timezone) as tz from cfg_workspace
),
status_repeats as (
    -- Generic logs: the most times one activity occurs in the case.
    select process, case_id, max(n) as max_status_repeats
    from (select process, case_id, original_status, count(*) as n from stg_events group by all)
    group by all
),
reopen as (
    select process, case_id,
           max(case when is_reopen or kind = 'reopened' then seq end) as last_reopen_seq,
           count(*) filter (where is_reopen or (kind = 'reopened' and not is_enter)) as reopen_count,
           count(*) filter (where is_reopen_from_done) as reopens_from_done
    from stg_events
    group by all
),
first_visits as (
    -- Staged variant: stages in order of first visit, repeats dropped (METRICS.md §2.2 HPS).
    select process, case_id, string_agg(step, ' > ' order by first_seq) as staged_steps
    from (
        select process, case_id, step, min(seq) as first_seq
        from stg_events where is_enter and is_staged group by all
    )
    group by all
),
per_case as (
    select s.process, s.case_id, any_value(s.is_staged) as is_staged,
        min(s.occurred_at) as first_at,
        max(s.occurred_at) as last_at,
        max(s.occurred_at) filter (where s.kind <> 'feedback') as last_event_at,
        min(s.occurred_at) filter (where s.kind = 'created') as created_event_at,
        arg_max(s.stage_after, s.seq) as current_stage,
        min(s.occurred_at) filter (where s.is_done_entry and s.seq >= coalesce(r.last_reopen_seq, 0)) as finish_after_reopen,
        min(s.occurred_at) filter (where s.is_done_entry) as first_done_at,
        min(s.occurred_at) filter (where s.stage_after in ('active', 'review', 'waiting_on_client', 'done')) as first_started_at,
        min(s.occurred_at) filter (where s.assignee is not null and s.kind in ('created', 'assigned')) as first_assigned_at,
        max(s.occurred_at) filter (where s.is_enter and s.stage_set = 'cancelled') as cancelled_at,
        bool_or(s.kind = 'created' and s.stage_after = 'done') as created_done,
        count(*) filter (where s.is_backward) as backward_moves,
        count(*) filter (where s.is_revision) as revision_rounds,
        bool_or(s.stage_after = 'review') as visited_review,
        count(*) filter (where s.kind = 'due_changed' and s.due_before.v is not null) as due_changes,
        count(*) filter (where s.kind in ('stage_changed', 'completed', 'reopened') or (s.is_enter and s.seq > 1)) as n_moves,
        any_value(r.reopen_count) as reopen_count,
        any_value(r.reopens_from_done) as reopens_from_done,
        count(*) as n_events,
        any_value(sr.max_status_repeats) as max_status_repeats,
        arg_max(s.client_id, s.seq) filter (where s.client_id is not null) as client_id,
        arg_max(s.template, s.seq) filter (where s.template is not null) as template,
        arg_max(s.actor, s.seq) as last_actor,
        arg_max(s.case_title, s.seq) filter (where s.case_title is not null) as case_title,
        arg_max(s.attr_client_facing, s.seq) filter (where s.attr_client_facing is not null) as client_facing_attr,
        arg_max(s.attr_process_type, s.seq) filter (where s.attr_process_type is not null) as type_attr,
        arg_max(s.attr_checklist_total, s.seq) filter (where s.attr_checklist_total is not null) as checklist_total,
        arg_max(s.attr_checklist_checked, s.seq) filter (where s.attr_checklist_checked is not null) as checklist_checked,
        min(s.occurred_at) filter (
            where s.kind = 'commented' and s.public
              and coalesce(s.attr_actor_role, '') not in ('client', 'customer', 'requester')
        ) as first_reply_at,
        string_agg(s.original_status, ' > ' order by s.seq) as generic_steps,
        -- Histories (small per case) to read the assignee, due date and finisher at the finish.
        list(struct_pack(at := s.occurred_at, v := s.assignee) order by s.seq)
            filter (where s.kind in ('created', 'assigned')) as assignee_history,
        list(struct_pack(at := s.occurred_at, v := s.due_at) order by s.seq)
            filter (where s.kind = 'due_changed' or s.due_at is not null) as due_history,
        list(struct_pack(at := s.occurred_at, v := s.actor) order by s.seq)
            filter (where s.kind = 'completed' or s.is_done_entry) as finisher_history
    from stg_events s
    left join reopen r using (process, case_id)
    left join status_repeats sr using (process, case_id)
    group by s.process, s.case_id
),
with_steps as (
    select p.*, v.staged_steps from per_case p left join first_visits v using (process, case_id)
),
shaped as (
    select p.*,
        case when not is_staged then 'completed'
             when current_stage = 'done' then 'completed'
             when current_stage = 'cancelled' then 'cancelled'
             else 'open' end as state,
        case when is_staged then coalesce(created_event_at, first_at) else first_at end as created_at,
        coalesce(c.ct_finish, 'first_done_after_last_reopen') as ct_finish,
        coalesce(c.type, p.type_attr, 'standard') as process_type,
        coalesce(try_cast(p.client_facing_attr as boolean), c.client_facing, false) as client_facing
    from with_steps p
    left join cfg_process c using (process)
),
finished as (
    select *,
        case when not is_staged then last_at
             when state = 'completed' and ct_finish = 'first_done' then first_done_at
             when state = 'completed' then finish_after_reopen end as completed_at
    from shaped
),
configured_start as (
    -- Processes with their own ct_start chain (METRICS.md §1.3) pick from fct_case_points.
    select f.process, f.case_id,
           arg_min(t.token, t.position) as start_basis, arg_min(pt.point_at, t.position) as started_at
    from finished f
    join cfg_ct_start t using (process)
    join fct_case_points pt on pt.process = f.process and pt.case_id = f.case_id and pt.token = t.token
    where f.is_staged
      and (f.completed_at is null or pt.point_at <= f.completed_at)
      and not (f.state = 'open' and t.token = 'created')  -- open items are not started by creation
    group by all
),
default_start as (
    -- The default chain: first_enter:started, first_assigned, created (not for open items).
    select process, case_id,
        case
            when first_started_at is not null and (completed_at is null or first_started_at <= completed_at) then 'first_enter:started'
            when first_assigned_at is not null and (completed_at is null or first_assigned_at <= completed_at) then 'first_assigned'
            when state <> 'open' and (completed_at is null or created_at <= completed_at) then 'created'
        end as start_basis
    from finished
    where is_staged and process not in (select process from cfg_ct_start)
),
chosen as (
    select process, case_id, start_basis, started_at from configured_start
    union all
    select d.process, d.case_id, d.start_basis,
        case d.start_basis when 'first_enter:started' then f.first_started_at
                           when 'first_assigned' then f.first_assigned_at
                           when 'created' then f.created_at end
    from default_start d join finished f using (process, case_id)
),
timed as (
    select f.*,
        case when not f.is_staged then 'first_event' else c.start_basis end as start_basis,
        case when not f.is_staged then f.first_at else c.started_at end as started_at
    from finished f
    left join chosen c using (process, case_id)
),
owners as (
    -- Assignee and due date in force at the finish (or now, for open cases).
    select process, case_id,
        list_last(list_filter(assignee_history, lambda x: completed_at is null or x.at <= completed_at)).v as assignee,
        list_last(list_filter(due_history, lambda x: completed_at is null or x.at <= completed_at)).v as due_at,
        list_last(list_filter(finisher_history, lambda x: completed_at is null or x.at <= completed_at)).v as completed_by
    from timed
),
final as (
    select
        (select any_value(workspace) from events) as workspace,
        t.process, t.case_id, t.state, t.is_staged, t.process_type, t.client_facing, t.case_title,
        t.created_at, t.started_at, t.start_basis, t.completed_at, t.cancelled_at,
        case when t.completed_at is not null and not coalesce(t.created_done, false)
                  and t.completed_at >= t.created_at
             then (epoch(t.completed_at) - epoch(t.created_at)) / 86400.0 end as lead_time_days,
        case when t.completed_at is not null and not coalesce(t.created_done, false)
                  and t.completed_at >= t.started_at
             then (epoch(t.completed_at) - epoch(t.started_at)) / 86400.0 end as cycle_time_days,
        case when t.completed_at is not null and not coalesce(t.created_done, false)
                  and t.completed_at >= t.created_at
             then (bd_done.at_seconds - bd_created.at_seconds) / 86400.0 end as lead_time_bdays,
        case when t.completed_at is not null and not coalesce(t.created_done, false)
                  and t.completed_at >= t.started_at
             then (bd_done.at_seconds - bd_started.at_seconds) / 86400.0 end as cycle_time_bdays,
        case when not t.is_staged then (t.max_status_repeats >= 2)::integer
             else (t.reopens_from_done > 0 or t.backward_moves > 0)::integer end as rework,
        case when t.is_staged then t.reopen_count end as reopen_count,
        case when t.is_staged then t.backward_moves end as backward_moves,
        case when t.is_staged then t.revision_rounds end as revision_rounds,
        case when t.is_staged then coalesce(t.visited_review, false) end as visited_review,
        t.n_events,
        case when t.is_staged then t.n_moves end as n_moves,
        case when t.is_staged then o.due_at end as due_at,
        case when t.is_staged and t.state = 'completed' and o.due_at is not null
             then t.completed_at <= o.due_at end as on_time,
        case when t.is_staged then t.due_changes end as due_changes,
        case when t.is_staged then o.assignee else t.last_actor end as assignee,
        coalesce(case when t.is_staged then o.assignee else t.last_actor end, o.completed_by) as finisher,
        t.client_id, t.template, t.checklist_total, t.checklist_checked,
        case when t.checklist_total > 0 then least(1.0, t.checklist_checked / t.checklist_total) end as checklist_completion,
        t.first_reply_at, t.last_event_at,
        case when t.first_reply_at >= t.created_at
             then (epoch(t.first_reply_at) - epoch(t.created_at)) / 3600.0 end as first_reply_hours,
        case when t.is_staged then t.staged_steps else t.generic_steps end as variant,
        coalesce(t.created_done, false) as created_done,
        coalesce(t.completed_at < t.created_at or t.completed_at < t.started_at, false) as negative_duration
    from timed t
    left join owners o using (process, case_id)
    cross join settings st
    -- Business seconds elapsed up to each instant, from the calendar (bdays = a difference).
    left join lateral (
        select c.business_seconds_before + case when c.is_business then epoch(t.created_at) - epoch(c.day_start) else 0 end as at_seconds
        from stg_calendar c where c.day = timezone(st.tz, t.created_at)::date
    ) bd_created on true
    left join lateral (
        select c.business_seconds_before + case when c.is_business then epoch(t.started_at) - epoch(c.day_start) else 0 end as at_seconds
        from stg_calendar c where c.day = timezone(st.tz, t.started_at)::date
    ) bd_started on true
    left join lateral (
        select c.business_seconds_before + case when c.is_business then epoch(t.completed_at) - epoch(c.day_start) else 0 end as at_seconds
        from stg_calendar c where c.day = timezone(st.tz, t.completed_at)::date
    ) bd_done on true
)
select * from final
