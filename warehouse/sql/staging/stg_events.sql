-- stg_events
-- Purpose: task events of every case with their order, effective stage class and the move
--          each one makes (from_eff, backward, reopen), per METRICS.md §1: stg_event_stages
--          widened with the event's own columns; the attributes the later layers read are pulled
--          out as typed columns.
-- Grain:   one row per task event (feedback excluded).
-- Reads:   events, stg_event_stages, cfg_status_map
-- Rebuilt: per case
with final as (
    select e.event_id, e.process, e.case_id, e.kind, e.occurred_at, e.source, e.stage,
           e.original_status, e.actor, e.assignee, e.due_at, e.client_id, e.template,
           e.case_title, e.public, e.landing_file, e.line,
           e.attributes ->> '$.client_facing' as attr_client_facing,
           e.attributes ->> '$.process_type' as attr_process_type,
           try_cast(e.attributes ->> '$.checklist_total' as double) as attr_checklist_total,
           try_cast(coalesce(e.attributes ->> '$.checklist_checked_at_completion',
                             e.attributes ->> '$.checklist_checked') as double) as attr_checklist_checked,
           e.attributes ->> '$.actor_role' as attr_actor_role,
           m.stage as mapped_stage,
           s.is_staged, s.stage_set, s.seq, s.stage_after, s.stage_before, s.last_non_neutral,
           s.due_before, s.assignee_before, s.from_eff, s.is_move, s.is_enter, s.is_reopen,
           s.is_reopen_from_done, s.is_done_entry, s.is_backward, s.is_revision, s.step
    from stg_event_stages s
    join events e using (event_id)
    left join cfg_status_map m on m.process = e.process and m.original_status = e.original_status
)
select * from final
