-- batch
-- Purpose: give every good record its event_id (its own, else the hash of DESIGN.md §2 rule 3),
--          and mark in-batch repeats of one event_id (the first line wins; upsert.sql writes).
-- Grain:   one row per good record.
-- Reads:   _good.
create or replace temp table _batch as
with keyed as (
    select g.*,
        row_number() over (
            partition by coalesce(source, ''), coalesce(case_id, ''), kind,
                         coalesce(original_status, ''), occurred_at, coalesce(actor, '')
            order by line
        ) as n
    from _good g
),
identified as (
    select *,
        coalesce(event_id, sha256(concat_ws('|',
            coalesce(source, ''), coalesce(case_id, ''), kind, coalesce(original_status, ''),
            strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%gZ'), coalesce(actor, ''), n::varchar
        ))) as final_id,
        event_id is null and n > 1 as is_exact_repeat
    from keyed
),
final as (
    select *,
        row_number() over (partition by final_id order by line) as copy_no
    from identified
)
select * from final;
