-- stg_process_mode
-- Purpose: how each process's task events are read (METRICS.md §1, DESIGN.md §3): staged when
--          its events carry stages or it has a status map, else a generic event log; and whether
--          its cases collect start-point candidates (it has a ct_start chain). A table of its
--          own, because it is a property of the whole process: the per-case tables read it, and
--          a build that redoes only some cases (history replay) still sees every case's events.
-- Grain:   one row per process with task events.
-- Reads:   events, cfg_status_map, cfg_ct_start
with task_events as (
    select process, stage
    from events
    where kind <> 'feedback' and process is not null and case_id is not null
),
final as (
    select process,
           bool_or(stage is not null)
           or exists (select 1 from cfg_status_map c where c.process = t.process) as is_staged,
           exists (select 1 from cfg_ct_start c where c.process = t.process) as has_chain
    from task_events t
    group by process
)
select * from final
