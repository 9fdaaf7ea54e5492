-- fct_stage_visits
-- Purpose: every visit of a staged case to a stage: enter, exit (null while it is still there),
--          dwell, and the part of it inside the case's [start, finish] for flow efficiency.
-- Grain:   one row per (process, case_id, entered_at): each entry into a stage.
-- Reads:   stg_events, fct_cases
-- Rebuilt: per case
with entries as (
    select process, case_id, seq,
           stage_set as stage_class,
           coalesce(original_status, stage_set) as stage,
           occurred_at as entered_at,
           lead(occurred_at) over (partition by process, case_id order by seq) as exited_at
    from stg_events
    where is_staged and is_enter
),
final as (
    select e.*,
        (epoch(e.exited_at) - epoch(e.entered_at)) / 86400.0 as dwell_days,
        c.state, c.started_at, c.completed_at,
        -- Dwell inside [start, finish] of a completed case (flow efficiency, wait share).
        case when c.completed_at is not null and c.started_at is not null then
            greatest(0, epoch(least(coalesce(e.exited_at, c.completed_at), c.completed_at))
                        - epoch(greatest(e.entered_at, c.started_at))) / 86400.0
        end as dwell_in_cycle_days
    from entries e
    join fct_cases c using (process, case_id)
)
select * from final
