-- parse
-- Purpose: turn the staged input records (_in: line, doc, error, raw) into typed canonical columns,
--          with the structural reason a record cannot be read (not JSON, wrong types, bad
--          timestamps). Semantic checks (required fields, sets, ranges) run afterwards in
--          Great Expectations on the rows this leaves without a reason.
-- Grain:   one row per input record.
-- Reads:   _in, cfg_status_map; parameters $default_process, $tz, $known_keys (the canonical
--          fields, models.events.EVENT_FIELDS).
create or replace temp table _parsed as
with src as (
    select line, doc, error, raw,
           case when error is null and json_valid(doc) then doc::json end as j
    from _in
),
shaped as (
    select *,
        json_type(j) as t_root,
        json_type(j, '$.event_id') as t_event_id,
        json_type(j, '$.kind') as t_kind,
        json_type(j, '$.process') as t_process,
        json_type(j, '$.case_id') as t_case_id,
        json_type(j, '$.occurred_at') as t_occurred_at,
        json_type(j, '$.source') as t_source,
        json_type(j, '$.stage') as t_stage,
        json_type(j, '$.original_status') as t_original_status,
        json_type(j, '$.actor') as t_actor,
        json_type(j, '$.assignee') as t_assignee,
        json_type(j, '$.due_at') as t_due_at,
        json_type(j, '$.client_id') as t_client_id,
        json_type(j, '$.template') as t_template,
        json_type(j, '$.case_title') as t_case_title,
        json_type(j, '$.comment') as t_comment,
        json_type(j, '$.public') as t_public,
        json_type(j, '$.scale') as t_scale,
        json_type(j, '$.score') as t_score,
        json_type(j, '$.attributes') as t_attributes
    from src
),
type_errors as (
    select *,
        nullif(concat_ws('; ',
            case when t_event_id not in ('VARCHAR', 'BIGINT', 'UBIGINT', 'NULL') then 'event_id must be a string' end,
            case when t_kind not in ('VARCHAR', 'NULL') then 'kind must be a string' end,
            case when t_process not in ('VARCHAR', 'NULL') then 'process must be a string' end,
            case when t_case_id not in ('VARCHAR', 'BIGINT', 'UBIGINT', 'NULL') then 'case_id must be a string' end,
            case when t_occurred_at not in ('VARCHAR', 'NULL') then 'occurred_at must be an ISO 8601 string' end,
            case when t_source not in ('VARCHAR', 'NULL') then 'source must be a string' end,
            case when t_stage not in ('VARCHAR', 'NULL') then 'stage must be a string' end,
            case when t_original_status not in ('VARCHAR', 'NULL') then 'original_status must be a string' end,
            case when t_actor not in ('VARCHAR', 'NULL') then 'actor must be a string' end,
            case when t_assignee not in ('VARCHAR', 'NULL') then 'assignee must be a string' end,
            case when t_due_at not in ('VARCHAR', 'NULL') then 'due_at must be an ISO 8601 string' end,
            case when t_client_id not in ('VARCHAR', 'BIGINT', 'UBIGINT', 'NULL') then 'client_id must be a string' end,
            case when t_template not in ('VARCHAR', 'NULL') then 'template must be a string' end,
            case when t_case_title not in ('VARCHAR', 'NULL') then 'case_title must be a string' end,
            case when t_comment not in ('VARCHAR', 'NULL') then 'comment must be a string' end,
            case when t_public not in ('BOOLEAN', 'NULL') then 'public must be true or false' end,
            case when t_scale not in ('VARCHAR', 'NULL') then 'scale must be a string' end,
            case when t_score not in ('BIGINT', 'UBIGINT', 'NULL') then 'score must be a whole number' end,
            case when t_attributes not in ('OBJECT', 'NULL') then 'attributes must be a JSON object' end
        ), '') as type_error
    from shaped
),
fields as (
    select line, doc, error, raw, j, t_root, type_error,
        nullif(j ->> '$.event_id', '') as event_id,
        j ->> '$.kind' as kind,
        nullif(j ->> '$.process', '') as process_in,
        nullif(j ->> '$.case_id', '') as case_id,
        j ->> '$.occurred_at' as occurred_text,
        coalesce(nullif(j ->> '$.source', ''), 'import') as source,
        nullif(j ->> '$.stage', '') as stage_in,
        nullif(j ->> '$.original_status', '') as original_status,
        nullif(j ->> '$.actor', '') as actor,
        nullif(j ->> '$.assignee', '') as assignee,
        nullif(j ->> '$.due_at', '') as due_text,
        nullif(j ->> '$.client_id', '') as client_id,
        nullif(j ->> '$.template', '') as template,
        nullif(j ->> '$.case_title', '') as case_title,
        j ->> '$.comment' as comment,
        case when t_public = 'BOOLEAN' then (j -> '$.public')::boolean end as public,
        nullif(j ->> '$.scale', '') as scale,
        case when t_score in ('BIGINT', 'UBIGINT') then try_cast(j ->> '$.score' as integer) end as score,
        case when t_attributes = 'OBJECT' then j -> '$.attributes' end as attributes,
        list_filter(json_keys(j), lambda k: not list_contains($known_keys, k)) as unknown_keys
    from type_errors
),
timed as (
    select f.*,
        coalesce(f.process_in, case when f.kind is distinct from 'feedback' then $default_process end) as process,
        regexp_matches(f.occurred_text, '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$') as occurred_has_offset,
        try_cast(f.occurred_text as timestamptz) as occurred_at,
        regexp_matches(f.due_text, '^\d{4}-\d{2}-\d{2}$') as due_is_date,
        regexp_matches(f.due_text, '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$') as due_has_offset
    from fields f
),
final as (
    select t.line, t.raw, t.doc, t.event_id, t.kind, t.process, t.case_id, t.occurred_at,
        t.source,
        case when t.stage_in in ('backlog', 'active', 'review', 'waiting_on_client', 'done', 'cancelled')
             then t.stage_in else coalesce(m.stage, t.stage_in) end as stage,
        t.original_status, t.actor, t.assignee,
        case when t.due_is_date
             then timezone($tz, (try_cast(t.due_text as date) + interval 1 day - interval 1 millisecond)::timestamp)
             when t.due_has_offset then try_cast(t.due_text as timestamptz) end as due_at,
        t.client_id, t.template, t.case_title, t.comment, t.public, t.scale, t.score,
        t.attributes, t.unknown_keys,
        case
            when t.error is not null then t.error
            when t.j is null then 'line is not valid JSON'
            when t.t_root <> 'OBJECT' then 'line is JSON but not a JSON object'
            when t.type_error is not null then t.type_error
            when t.occurred_text is not null and not t.occurred_has_offset
                 and try_cast(t.occurred_text as timestamp) is not null
                then 'occurred_at ''' || left(t.occurred_text, 40) || ''' has no UTC offset; write it with ''Z'' or ''+hh:mm'''
            when t.occurred_text is not null and (not t.occurred_has_offset or t.occurred_at is null)
                then 'occurred_at ''' || left(t.occurred_text, 40) || ''' is not an ISO 8601 timestamp'
            when t.due_text is not null and not t.due_is_date and not t.due_has_offset
                 and try_cast(t.due_text as timestamp) is not null
                then 'due_at ''' || left(t.due_text, 40) || ''' has no UTC offset; write a date or a timestamp with ''Z'' or ''+hh:mm'''
            when t.due_text is not null and ((t.due_is_date and try_cast(t.due_text as date) is null)
                 or (not t.due_is_date and (not t.due_has_offset or try_cast(t.due_text as timestamptz) is null)))
                then 'due_at ''' || left(t.due_text, 40) || ''' is not an ISO 8601 date or timestamp'
        end as reason
    from timed t
    left join cfg_status_map m on m.process = t.process and m.original_status = t.stage_in
)
select * from final
