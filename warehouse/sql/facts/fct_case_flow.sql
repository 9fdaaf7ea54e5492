-- fct_case_flow
-- Purpose: the flow fields of every case, which the core metrics read: state, start and finish
--          points (METRICS.md §1.3, with the process's ct_start chain), lead and cycle time,
--          rework, reopens and revision rounds; generic event logs follow DESIGN.md §3. One
--          aggregate over the stage columns of stg_event_stages; fct_cases adds the practice,
--          ownership and business-day fields.
-- Grain:   one row per (process, case_id).
-- Reads:   stg_event_stages, events, cfg_process, cfg_ct_start
-- Rebuilt: per case
with aggregated as (
    select process, case_id, any_value(is_staged) as is_staged, any_value(has_chain) as has_chain,
        min(occurred_at) as first_at,
        max(occurred_at) as last_at,
        min(occurred_at) filter (where is_created_event) as created_event_at,
        arg_max(stage_after, seq) as current_stage,
        max(case when is_reopen or is_reopened_event then seq end) as last_reopen_seq,
        list(struct_pack(seq := seq, at := occurred_at)) filter (where is_done_entry) as done_entries,
        min(occurred_at) filter (where stage_after in ('active', 'review', 'waiting_on_client', 'done')) as first_started_at,
        min(occurred_at) filter (where sets_assignee) as first_assigned_at,
        max(occurred_at) filter (where is_enter and stage_set = 'cancelled') as cancelled_at,
        bool_or(is_created_event and stage_after = 'done') as created_done,
        count(*) filter (where is_backward) as backward_moves,
        count(*) filter (where is_revision) as revision_rounds,
        bool_or(stage_after = 'review') as visited_review,
        count(*) filter (where is_reopen_from_done) as reopens_from_done,
        -- Start-point candidates, only for processes with a ct_start chain.
        min(occurred_at) filter (where has_chain and is_move and stage_before = 'backlog') as exited_backlog_at,
        list(struct_pack(at := occurred_at, stage_class := stage_set, event_id := event_id))
            filter (where has_chain and is_enter) as chain_entries
    from stg_event_stages
    group by process, case_id
),
generic_repeats as (
    -- Generic logs: the most times one activity occurs in a case, straight from the log (the
    -- sort above carries no activity names).
    select process, case_id, max(n) as max_status_repeats
    from (select process, case_id, original_status, count(*) as n
          from events
          where kind <> 'feedback'
            and process in (select process from aggregated where not is_staged)
          group by all)
    group by all
),
entry_points as (
    -- Entries of the cases whose process has a ct_start chain, as first_enter:<class> and
    -- first_enter:<the tool's status> tokens.
    select x.process, x.case_id,
        list(struct_pack(token := 'first_enter:' || x.entry.stage_class, point_at := x.entry.at))
        || coalesce(list(struct_pack(token := 'first_enter:' || e.original_status, point_at := x.entry.at))
                        filter (where e.original_status is not null), []) as entered
    from (select process, case_id, unnest(chain_entries) as entry
          from aggregated where chain_entries is not null) x
    join events e on e.event_id = x.entry.event_id
    group by all
),
shaped as (
    select a.*,
        case when not is_staged then 'completed'
             when current_stage = 'done' then 'completed'
             when current_stage = 'cancelled' then 'cancelled'
             else 'open' end as state,
        case when is_staged then coalesce(created_event_at, first_at) else first_at end as created_at,
        coalesce(p.ct_finish, 'first_done_after_last_reopen') as ct_finish,
        -- Done entries in seq order are in time order: the first, and the first at or after
        -- the last reopen.
        list_min(done_entries).at as first_done_at,
        list_min(list_filter(done_entries, lambda x: x.seq >= coalesce(last_reopen_seq, 0))).at as finish_after_reopen,
        g.max_status_repeats, ep.entered
    from aggregated a
    left join cfg_process p using (process)
    left join generic_repeats g using (process, case_id)
    left join entry_points ep using (process, case_id)
),
finished as (
    select *,
        case when not is_staged then last_at
             when state = 'completed' and ct_finish = 'first_done' then first_done_at
             when state = 'completed' then finish_after_reopen end as completed_at,
        -- Every candidate start point (METRICS.md §1.3 tokens) of a staged case whose process
        -- has a ct_start chain; fct_case_points lists them.
        case when has_chain and is_staged then list_filter(list_concat(
            [struct_pack(token := 'created', point_at := coalesce(created_event_at, first_at)),
             struct_pack(token := 'first_enter:started', point_at := first_started_at),
             struct_pack(token := 'first_assigned', point_at := first_assigned_at),
             struct_pack(token := 'first_exit:backlog', point_at := exited_backlog_at)],
            coalesce(entered, [])
        ), lambda x: x.point_at is not null) end as start_points
    from shaped
),
chain_start as (
    -- The first token of the process's chain whose point exists and is <= finish; open items
    -- are not started by creation.
    select c.process, c.case_id,
           arg_min(t.token, t.position) as start_basis, arg_min(c.point_at, t.position) as started_at
    from (
        select process, case_id, state, completed_at, pt.token, min(pt.point_at) as point_at
        from (select process, case_id, state, completed_at, unnest(start_points) as pt
              from finished where start_points is not null)
        group by all
    ) c
    join cfg_ct_start t on t.process = c.process and t.token = c.token
    where (c.completed_at is null or c.point_at <= c.completed_at)
      and not (c.state = 'open' and t.token = 'created')
    group by all
),
based as (
    select f.*,
        case
            when not f.is_staged then 'first_event'
            when f.has_chain then c.start_basis
            -- The default chain: first_enter:started, first_assigned, created (not for open items).
            when f.first_started_at is not null and (f.completed_at is null or f.first_started_at <= f.completed_at) then 'first_enter:started'
            when f.first_assigned_at is not null and (f.completed_at is null or f.first_assigned_at <= f.completed_at) then 'first_assigned'
            when f.state <> 'open' and (f.completed_at is null or f.created_at <= f.completed_at) then 'created'
        end as start_basis,
        c.started_at as chain_started_at
    from finished f
    left join chain_start c using (process, case_id)
),
timed as (
    select *,
        case when not is_staged then first_at
             when has_chain then chain_started_at
             else case start_basis when 'first_enter:started' then first_started_at
                                   when 'first_assigned' then first_assigned_at
                                   when 'created' then created_at end
        end as started_at
    from based
),
final as (
    select process, case_id, state, is_staged, created_at, started_at, start_basis, completed_at,
        cancelled_at,
        case when completed_at is not null and not coalesce(created_done, false)
                  and completed_at >= created_at
             then (epoch(completed_at) - epoch(created_at)) / 86400.0 end as lead_time_days,
        case when completed_at is not null and not coalesce(created_done, false)
                  and completed_at >= started_at
             then (epoch(completed_at) - epoch(started_at)) / 86400.0 end as cycle_time_days,
        case when not is_staged then (max_status_repeats >= 2)::integer
             else (reopens_from_done > 0 or backward_moves > 0)::integer end as rework,
        case when is_staged then backward_moves end as backward_moves,
        case when is_staged then revision_rounds end as revision_rounds,
        case when is_staged then coalesce(visited_review, false) end as visited_review,
        coalesce(created_done, false) as created_done,
        coalesce(completed_at < created_at or completed_at < started_at, false) as negative_duration,
        start_points
    from timed
)
select * from final
