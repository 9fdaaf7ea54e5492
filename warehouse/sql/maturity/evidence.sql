-- evidence
-- Purpose: the figures the maturity rubric (METRICS.md §4) judges, per process, for the items
--          completed in [$start_at, $end_at) and the items open at $end_at.
-- Grain:   one row per process.
-- Reads:   fct_cases, fct_stage_visits, fct_feedback; parameters $start_at, $end_at, $stale_days,
--          $stage_share
with done as (
    select * from fct_cases
    where state = 'completed' and completed_at >= $start_at and completed_at < $end_at
),
visits as (
    -- Which stage classes each completed case visited.
    select v.process, v.case_id, v.stage_class
    from fct_stage_visits v join done d using (process, case_id)
    group by all
),
canonical as (
    -- A non-terminal stage class (not done or cancelled) is canonical when >= $stage_share of
    -- the cases visit it.
    select v.process, v.stage_class
    from visits v
    join (select process, count(*) as n from done group by all) t using (process)
    where v.stage_class not in ('done', 'cancelled')
    group by v.process, v.stage_class, t.n
    having count(*) >= $stage_share * t.n
),
covering as (
    select d.process,
        count(*) filter (where not exists (
            select 1 from canonical c
            where c.process = d.process and not exists (
                select 1 from visits v where v.process = d.process and v.case_id = d.case_id and v.stage_class = c.stage_class
            )
        )) as cases_covering,
        (select count(*) from canonical c where c.process = d.process) as n_canonical
    from done d group by d.process
),
variants as (
    select process, max(n) as happy from (select process, variant, count(*) as n from done group by all) group by all
),
open_items as (
    select process,
        count(*) as n_open,
        count(*) filter (where created_at < $end_at - to_days($stale_days::integer)
                          and last_event_at < $end_at - to_days($stale_days::integer)) as n_stale
    from fct_cases where state = 'open' and created_at < $end_at group by all
),
linked as (
    select distinct process, case_id from fct_feedback where is_linked
),
csat as (
    select process, count(*) as n_csat, count(*) filter (where is_positive) as positive
    from fct_feedback
    where instrument = 'csat' and responded_at >= $start_at and responded_at < $end_at
    group by all
),
final as (
    select d.process,
        any_value(d.is_staged) as is_staged,
        any_value(d.process_type) as process_type,
        bool_or(d.client_facing) as client_facing,
        count(*) as completed,
        count(d.assignee) as with_assignee,
        count(d.due_at) as with_due,
        count(*) filter (where d.n_moves >= 2) as multi_step,
        count(d.template) as templated,
        any_value(v.happy) as happy_path_cases,
        any_value(cv.cases_covering) as cases_covering,
        any_value(cv.n_canonical) as n_canonical,
        count(d.checklist_completion) as with_checklist,
        avg(d.checklist_completion) as checklist_mean,
        quantile_cont(d.cycle_time_days::double, 0.5) as ct_p50,
        quantile_cont(d.cycle_time_days::double, 0.85) as ct_p85,
        count(*) filter (where d.client_facing) as client_facing_done,
        count(*) filter (where d.client_facing and l.case_id is not null) as covered,
        count(*) filter (where d.visited_review) as visited_review,
        any_value(o.n_open) as n_open,
        any_value(o.n_stale) as n_stale,
        coalesce(any_value(cs.n_csat), 0) as n_csat,
        coalesce(any_value(cs.positive), 0) as csat_positive
    from done d
    left join variants v using (process)
    left join covering cv using (process)
    left join open_items o using (process)
    left join csat cs using (process)
    left join linked l on l.process = d.process and l.case_id = d.case_id
    group by d.process
)
select * from final
