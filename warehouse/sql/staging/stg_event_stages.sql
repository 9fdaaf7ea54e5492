-- stg_event_stages
-- Purpose: the order of every task event in its case, its effective stage class carried forward
--          and the move it makes (from_eff, backward, reopen), per METRICS.md §1. A view, so each
--          reader's one sort carries only the columns it uses: fct_case_flow reads the stage
--          columns, stg_events adds the event's own columns back by event_id.
-- Grain:   one row per task event (feedback excluded).
-- Reads:   events, stg_process_mode, cfg_status_map
-- Built as: view
-- Rebuilt: per case
with task_events as (
    select e.event_id, e.process, e.case_id, e.kind, e.occurred_at, e.source, e.stage,
           e.original_status, e.assignee, e.due_at, e.landing_file, e.line
    from events e
    where e.kind <> 'feedback' and e.process is not null and e.case_id is not null
),
stage_given as (
    select t.event_id, t.process, t.case_id, t.kind, t.occurred_at, t.original_status,
        t.assignee, t.due_at, t.landing_file, t.line, p.is_staged, p.has_chain,
        -- Worked out before the sort, so readers that need only these do not carry the assignee
        -- or the kind through it.
        t.assignee is not null and t.kind in ('created', 'assigned') as sets_assignee,
        t.kind = 'created' as is_created_event,
        t.kind = 'reopened' as is_reopened_event,
        -- The stage the event sets if it moves the case; `carried` drops it for a created event
        -- that is not the case's first.
        case when not p.is_staged then null
             else coalesce(
                 -- An import's explicit stage is the user's word; for connectors the workspace's
                 -- status map wins over the name table's guess (DESIGN.md §3 precedence).
                 case when t.source in ('import', 'simulator') then t.stage else m.stage end,
                 t.stage,
                 m.stage,
                 case t.kind
                     when 'completed' then 'done'
                     when 'cancelled' then 'cancelled'
                     when 'reopened' then 'active'
                     when 'created' then case when t.original_status is null then 'backlog' else 'active' end
                     when 'stage_changed' then case when t.original_status is not null then 'active' end
                 end)
        end as stage_given
    from task_events t
    join stg_process_mode p using (process)
    left join cfg_status_map m on m.process = t.process and m.original_status = t.original_status
),
carried as (
    -- One sort: every window below shares the case's event order.
    select event_id, process, case_id, kind, occurred_at, original_status, is_staged, has_chain,
        sets_assignee,
        is_created_event, is_reopened_event,
        row_number() over w_upto as seq,
        -- A created event that is not the case's first (clock skew, a late webhook) does not move
        -- the case: only the first event's created stage counts, so the stage before an event is
        -- the last stage set by a non-created event, else the first event's created stage.
        case when is_created_event and row_number() over w_upto > 1 then null else stage_given end
            as stage_set,
        coalesce(
            last_value(case when not is_created_event then stage_given end ignore nulls) over w_before,
            first_value(case when is_created_event then stage_given end) over w_before) as stage_before,
        coalesce(
            last_value(case when not is_created_event and stage_given <> 'waiting_on_client'
                            then stage_given end ignore nulls) over w_before,
            first_value(case when is_created_event and stage_given <> 'waiting_on_client'
                             then stage_given end) over w_before) as last_non_neutral,
        -- Due date and assignee in force before this event (a clear is a value too).
        last_value(case when kind in ('created', 'due_changed') then struct_pack(v := due_at) end ignore nulls)
            over w_before as due_before,
        last_value(case when kind in ('created', 'assigned') then struct_pack(v := assignee) end ignore nulls)
            over w_before as assignee_before
    from stage_given
    window
        w_upto as (partition by process, case_id order by occurred_at, landing_file, line, event_id
                   rows between unbounded preceding and current row),
        w_before as (partition by process, case_id order by occurred_at, landing_file, line, event_id
                     rows between unbounded preceding and 1 preceding)
),
ranked as (
    select *,
        -- The stage in force after this event: its own, else the one before.
        coalesce(stage_set, stage_before) as stage_after,
        case when stage_before = 'waiting_on_client' then last_non_neutral else stage_before end as from_eff,
        stage_set is not null and stage_before is not null and stage_set <> stage_before as is_move,
        stage_set is not null and stage_set is distinct from stage_before as is_enter
    from carried
),
final as (
    select *,
        is_move and stage_before in ('done', 'cancelled')
            and stage_set not in ('done', 'cancelled') as is_reopen,
        is_move and stage_before = 'done' and stage_set not in ('done', 'cancelled') as is_reopen_from_done,
        is_enter and stage_set = 'done' as is_done_entry,
        is_move
            and stage_set not in ('cancelled', 'waiting_on_client')
            and from_eff not in ('backlog', 'done', 'cancelled')
            and (case stage_set when 'backlog' then 1 when 'active' then 2 when 'review' then 3 when 'done' then 4 end)
              < (case from_eff when 'active' then 2 when 'review' then 3 end) as is_backward,
        is_move and from_eff = 'review' and stage_set in ('backlog', 'active') as is_revision,
        -- The step this event adds to the case's variant: the tool's stage name, done as one step.
        case when stage_set = 'done' then 'done' else coalesce(original_status, stage_set) end as step
    from ranked
)
select * from final
