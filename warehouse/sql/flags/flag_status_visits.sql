-- flag_status_visits
-- Purpose: visits of staged cases to each named stage (the tool's status, else the stage class)
--          with the assignee holding the case when the visit ended, for O4 (bottleneck, dim =
--          the stage's name), O7 (owner stages) and T3 escalation. Unlike fct_stage_visits, a
--          move between two statuses of one class (Kickoff call -> Access setup) starts a visit.
-- Grain:   one row per (process, case_id, visit_no): each entry into a named stage.
-- Reads:   stg_events
-- Rebuilt: per case
with marks as (
    select process, case_id, seq, occurred_at, stage_set,
        coalesce(original_status, stage_set) as stage,
        (last_value(case when kind in ('created', 'assigned') then struct_pack(v := assignee) end ignore nulls)
            over w_upto).v as holder,
        last_value(case when stage_set is not null then coalesce(original_status, stage_set) end ignore nulls)
            over w_before as stage_before
    from stg_events
    where is_staged
    window
        w_upto as (partition by process, case_id order by seq rows between unbounded preceding and current row),
        w_before as (partition by process, case_id order by seq rows between unbounded preceding and 1 preceding)
),
numbered as (
    select *,
        sum((stage_set is not null and stage is distinct from stage_before)::integer)
            over (partition by process, case_id order by seq rows between unbounded preceding and current row) as visit_no,
        stage_set is not null and stage is distinct from stage_before as is_entry
    from marks
),
visits as (
    select process, case_id, visit_no,
        any_value(stage_set) filter (where is_entry) as stage_class,
        any_value(stage) filter (where is_entry) as stage,
        min(occurred_at) filter (where is_entry) as entered_at,
        arg_max(holder, seq) as holder
    from numbered
    where visit_no > 0
    group by all
),
final as (
    select process, case_id, visit_no, stage_class, stage, entered_at,
        lead(entered_at) over (partition by process, case_id order by visit_no) as exited_at,
        (epoch(lead(entered_at) over (partition by process, case_id order by visit_no)) - epoch(entered_at))
            / 86400.0 as dwell_days,
        holder
    from visits
)
select * from final order by process, case_id, visit_no
