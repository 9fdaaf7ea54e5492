-- fct_cases
-- Purpose: one row per case with its state, start and finish points (METRICS.md §1.3), lead and
--          cycle time, rework, on-time, ownership, practice and feedback fields; generic event
--          logs follow DESIGN.md §3. The flow fields come from fct_case_flow; this adds the rest.
-- Grain:   one row per (process, case_id).
-- Reads:   fct_case_flow, stg_events, stg_calendar, cfg_process, cfg_workspace, events
-- Rebuilt: per case
with settings as (
    select any_value(timezone) as tz from cfg_workspace
),
per_case as (
    select process, case_id,
        max(occurred_at) filter (where kind <> 'feedback') as last_event_at,
        count(*) filter (where is_reopen or (kind = 'reopened' and not is_enter)) as reopen_count,
        count(*) filter (where kind = 'due_changed' and due_before.v is not null) as due_changes,
        count(*) filter (where kind in ('stage_changed', 'completed', 'reopened') or (is_enter and seq > 1)) as n_moves,
        count(*) as n_events,
        arg_max(client_id, seq) filter (where client_id is not null) as client_id,
        arg_max(template, seq) filter (where template is not null) as template,
        arg_max(actor, seq) as last_actor,
        arg_max(case_title, seq) filter (where case_title is not null) as case_title,
        arg_max(attr_client_facing, seq) filter (where attr_client_facing is not null) as client_facing_attr,
        arg_max(attr_process_type, seq) filter (where attr_process_type is not null) as type_attr,
        arg_max(attr_checklist_total, seq) filter (where attr_checklist_total is not null) as checklist_total,
        arg_max(attr_checklist_checked, seq) filter (where attr_checklist_checked is not null) as checklist_checked,
        min(occurred_at) filter (
            where kind = 'commented' and public
              and coalesce(attr_actor_role, '') not in ('client', 'customer', 'requester')
        ) as first_reply_at,
        string_agg(original_status, ' > ' order by seq) filter (where not is_staged) as generic_steps,
        -- Staged variant: stages in order of first visit, repeats dropped (METRICS.md §2.2 HPS).
        list(struct_pack(seq := seq, step := step)) filter (where is_enter and is_staged) as entries,
        -- Histories (small per case, unordered, keyed by seq) to read the assignee, due date and
        -- finisher at the finish.
        list(struct_pack(seq := seq, at := occurred_at, v := assignee))
            filter (where kind in ('created', 'assigned')) as assignee_history,
        list(struct_pack(seq := seq, at := occurred_at, v := due_at))
            filter (where kind = 'due_changed' or due_at is not null) as due_history,
        list(struct_pack(seq := seq, at := occurred_at, v := actor))
            filter (where kind = 'completed' or is_done_entry) as finisher_history
    from stg_events
    group by process, case_id
),
stepped as (
    select *, list_transform(list_sort(entries), lambda x: x.step) as visit_steps from per_case
),
owned as (
    select f.*, p.* exclude (process, case_id, entries, visit_steps, assignee_history, due_history, finisher_history),
        array_to_string(list_filter(p.visit_steps, lambda x, i: list_position(p.visit_steps, x) = i), ' > ') as staged_steps,
        -- The latest entry (by seq) at or before the finish (or now, for open cases).
        list_max(list_filter(p.assignee_history, lambda x: f.completed_at is null or x.at <= f.completed_at)).v as owner,
        list_max(list_filter(p.due_history, lambda x: f.completed_at is null or x.at <= f.completed_at)).v as due_in_force,
        list_max(list_filter(p.finisher_history, lambda x: f.completed_at is null or x.at <= f.completed_at)).v as completed_by,
        coalesce(c.type, p.type_attr, 'standard') as process_type,
        coalesce(try_cast(p.client_facing_attr as boolean), c.client_facing, false) as client_facing
    from fct_case_flow f
    join stepped p using (process, case_id)
    left join cfg_process c using (process)
),
clocked as (
    -- Business seconds elapsed up to each instant, from the calendar (bdays = a difference).
    select t.*,
        cc.business_seconds_before + case when cc.is_business then epoch(t.created_at) - epoch(cc.day_start) else 0 end as created_bsec,
        cs.business_seconds_before + case when cs.is_business then epoch(t.started_at) - epoch(cs.day_start) else 0 end as started_bsec,
        cd.business_seconds_before + case when cd.is_business then epoch(t.completed_at) - epoch(cd.day_start) else 0 end as completed_bsec
    from owned t
    cross join settings st
    left join stg_calendar cc on cc.day = timezone(st.tz, t.created_at)::date
    left join stg_calendar cs on cs.day = timezone(st.tz, t.started_at)::date
    left join stg_calendar cd on cd.day = timezone(st.tz, t.completed_at)::date
),
final as (
    select
        (select any_value(workspace) from events) as workspace,
        t.process, t.case_id, t.state, t.is_staged, t.process_type, t.client_facing, t.case_title,
        t.created_at, t.started_at, t.start_basis, t.completed_at, t.cancelled_at,
        t.lead_time_days, t.cycle_time_days,
        case when t.lead_time_days is not null then (t.completed_bsec - t.created_bsec) / 86400.0 end as lead_time_bdays,
        case when t.cycle_time_days is not null then (t.completed_bsec - t.started_bsec) / 86400.0 end as cycle_time_bdays,
        t.rework, case when t.is_staged then t.reopen_count end as reopen_count, t.backward_moves, t.revision_rounds, t.visited_review,
        t.n_events,
        case when t.is_staged then t.n_moves end as n_moves,
        case when t.is_staged then t.due_in_force end as due_at,
        case when t.is_staged and t.state = 'completed' and t.due_in_force is not null
             then t.completed_at <= t.due_in_force end as on_time,
        case when t.is_staged then t.due_changes end as due_changes,
        case when t.is_staged then t.owner else t.last_actor end as assignee,
        coalesce(case when t.is_staged then t.owner else t.last_actor end, t.completed_by) as finisher,
        t.client_id, t.template, t.checklist_total, t.checklist_checked,
        case when t.checklist_total > 0 then least(1.0, t.checklist_checked / t.checklist_total) end as checklist_completion,
        t.first_reply_at, t.last_event_at,
        case when t.first_reply_at >= t.created_at
             then (epoch(t.first_reply_at) - epoch(t.created_at)) / 3600.0 end as first_reply_hours,
        case when t.is_staged then t.staged_steps else t.generic_steps end as variant,
        t.created_done, t.negative_duration
    from clocked t
)
select * from final
