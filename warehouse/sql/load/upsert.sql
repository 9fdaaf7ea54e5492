-- upsert
-- Purpose: idempotent upsert of the batch into events: a known event_id is updated, never doubled.
-- Grain:   one row per event_id.
-- Reads:   _batch; parameters $workspace, $landing_file, $now.
insert into events by name (
    select final_id as event_id, $workspace as workspace, kind, process, case_id, occurred_at,
           source, stage, original_status, actor, assignee, due_at, client_id, template,
           case_title, comment, public, scale, score, attributes,
           $landing_file as landing_file, line, $now::timestamptz as ingested_at
    from _batch
    where copy_no = 1
)
on conflict (event_id) do update set
    kind = excluded.kind, process = excluded.process, case_id = excluded.case_id,
    occurred_at = excluded.occurred_at, source = excluded.source, stage = excluded.stage,
    original_status = excluded.original_status, actor = excluded.actor,
    assignee = excluded.assignee, due_at = excluded.due_at, client_id = excluded.client_id,
    template = excluded.template, case_title = excluded.case_title, comment = excluded.comment,
    public = excluded.public, scale = excluded.scale, score = excluded.score,
    attributes = excluded.attributes;
