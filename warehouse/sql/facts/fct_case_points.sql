-- fct_case_points
-- Purpose: every candidate start point of the staged cases of processes with their own
--          `ct_start` chain (METRICS.md §1.3 tokens), the earliest per token; fct_case_flow picks
--          the first of the chain that exists, other processes use the default chain.
-- Grain:   one row per (process, case_id, token).
-- Reads:   fct_case_flow
-- Rebuilt: per case
with points as (
    select process, case_id, unnest(start_points) as pt
    from fct_case_flow
    where start_points is not null
),
final as (
    select process, case_id, pt.token as token, min(pt.point_at) as point_at
    from points
    group by all
)
select * from final
