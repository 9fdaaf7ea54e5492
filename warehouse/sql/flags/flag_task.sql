-- flag_task
-- Purpose: every task-level flag instance (METRICS.md §5.1, T1-T9) whose condition holds at as_of
--          (local midnight $as_of_local in $tz), with its severity, observed value, baseline and
--          the next-action text with every placeholder filled. Zero rows = healthy. Business days
--          come from stg_calendar (business seconds before an instant, differenced).
-- Grain:   one row per (flag_id, process, dim); dim = case_id, or the response's event_id for T7.
-- Reads:   fct_cases, fct_stage_visits, fct_feedback, metric_flow, stg_calendar, events,
--          cfg_frt_target;
--          parameters $as_of_local, $tz
with params as (
    select timezone($tz, $as_of_local) as as_of_at, $as_of_local::date as as_of_day
),
as_of_point as (
    -- Business seconds before as_of (local midnight, so nothing of the day itself counts).
    select p.as_of_at, p.as_of_day, c.business_seconds_before as as_of_bsec
    from params p
    left join stg_calendar c on c.day = p.as_of_day
),
current_visit as (
    -- The visit an open case is in now (its last entry, not yet exited).
    select process, case_id, stage_class, stage, entered_at
    from fct_stage_visits
    where exited_at is null
),
open_cases as (
    select c.process, c.case_id, c.process_type, c.client_facing, c.created_at, c.started_at,
        c.due_at, c.assignee, c.client_id, c.first_reply_at, c.last_event_at,
        coalesce(c.case_title, c.case_id) as task,
        coalesce(c.client_id, 'the client') as client,
        coalesce(c.assignee, 'the owner') as owner_name,
        v.stage_class, v.entered_at,
        a.as_of_at, a.as_of_day,
        (epoch(a.as_of_at) - epoch(c.created_at)) / 86400.0 as age_days,
        (epoch(a.as_of_at) - epoch(c.last_event_at)) / 86400.0 as idle_days,
        (epoch(a.as_of_at) - epoch(c.started_at)) / 86400.0 as started_days,
        (a.as_of_bsec - due_cal.at_bsec) / 86400.0 as due_bdays_past,
        (a.as_of_bsec - visit_cal.at_bsec) / 86400.0 as visit_bdays
    from fct_cases c
    cross join as_of_point a
    left join current_visit v using (process, case_id)
    left join lateral (
        select k.business_seconds_before
               + case when k.is_business then epoch(c.due_at) - epoch(k.day_start) else 0 end as at_bsec
        from stg_calendar k where k.day = timezone($tz, c.due_at)::date
    ) due_cal on true
    left join lateral (
        select k.business_seconds_before
               + case when k.is_business then epoch(v.entered_at) - epoch(k.day_start) else 0 end as at_bsec
        from stg_calendar k where k.day = timezone($tz, v.entered_at)::date
    ) visit_cal on true
    where c.state = 'open' and c.created_at < a.as_of_at
),
ct_p85 as (
    -- p85 cycle time of the maturity window, used only with at least 8 completions.
    select process, value as p85_days
    from metric_flow
    where window_name = 'maturity' and metric = 'cycle_time_p85_days' and n >= 8
),
t1 as (
    select 'T1' as flag_id, 'Overdue task' as name, process, case_id, case_id as dim,
        case when due_bdays_past > 3 or client_facing then 'medium' else 'low' end as severity,
        due_bdays_past as observed, null::double as baseline,
        '''' || task || ''' for ' || client || ' is ' || fmt_n(due_bdays_past)
            || ' days overdue. Ask ' || owner_name
            || ' to finish it or agree a new date with the client.' as explanation
    from open_cases
    where due_at is not null and due_at < as_of_at and due_bdays_past > 0
),
t2_rows as (
    select * from open_cases
    where assignee is null and (age_days > 1 or stage_class in ('active', 'review'))
),
t2 as (
    select 'T2', 'Unassigned', process, case_id, case_id, 'low', age_days, null::double,
        count(*) over (partition by process) || ' ' || process
            || ' tasks have no owner. Assign them at today''s check-in.'
    from t2_rows
),
t3_rows as (
    select o.*, p.p85_days,
        idle_days >= 7 as is_idle,
        p.p85_days is not null and started_days > p.p85_days as is_aging
    from open_cases o
    left join ct_p85 p using (process)
    where o.started_at is not null and coalesce(o.stage_class, '') <> 'waiting_on_client'
),
t3 as (
    select 'T3', 'Stale / aging', process, case_id, case_id, 'medium',
        case when is_idle then idle_days else started_days end, p85_days,
        '''' || task || ''' has had no activity for '
            || fmt_n(case when is_idle then idle_days else started_days end)
            || ' days, longer than 85% of similar tasks take. Check whether it is blocked.'
    from t3_rows
    where is_idle or is_aging
),
t4 as (
    select 'T4', 'Due soon, not started', process, case_id, case_id, 'low',
        -due_bdays_past, null::double,
        '''' || task || ''' is due '
            || case timezone($tz, due_at)::date
                   when as_of_day then 'today'
                   when as_of_day + 1 then 'tomorrow'
                   else 'on ' || strftime(timezone($tz, due_at), '%a %Y-%m-%d') end
            || ' but hasn''t started.'
    from open_cases
    where stage_class = 'backlog' and due_at >= as_of_at and -due_bdays_past <= 2
),
t5_rows as (
    -- The process's first-reply target (12 hours unless configured).
    select o.*, (epoch(as_of_at) - epoch(created_at)) / 3600.0 as waited_hours,
        coalesce(t.hours, 12.0) as target_hours
    from open_cases o
    left join cfg_frt_target t using (process)
    where process_type = 'support' and first_reply_at is null
),
t5 as (
    select 'T5', 'Unanswered ticket', process, case_id, case_id,
        case when waited_hours > 2 * target_hours then 'high' else 'medium' end, waited_hours,
        target_hours,
        count(*) over (partition by process)
            || ' customer messages have waited longer than ' || fmt_n(target_hours)
            || 'h. Clear them today.'
    from t5_rows
    where waited_hours > target_hours
),
t6_rows as (
    select * from open_cases
    where process_type <> 'support' and age_days > 1 and due_at is null
),
t6 as (
    select 'T6', 'Missing due date', process, case_id, case_id, 'info', age_days, null::double,
        'Add due dates to ' || count(*) over (partition by process)
            || ' new tasks so delays can be spotted.'
    from t6_rows
),
t7 as (
    select 'T7', 'Detractor response', f.process, f.case_id, f.event_id, 'medium',
        f.score::double, null::double,
        coalesce(f.client_id, 'The client') || ' rated ' || f.process || ' '
            || case f.scale when 'csat5' then f.score || '/5' when 'csat3' then f.score || '/3'
                            when 'csat2' then 'bad' else f.score || '/10' end
            || coalesce(': ''' || e.comment || '''', '') || '. Reply personally within 24h.'
    from fct_feedback f
    cross join as_of_point a
    left join events e using (event_id)
    where f.responded_at >= timezone($tz, $as_of_local - interval 7 day)
      and f.responded_at < a.as_of_at
      and ((f.scale in ('csat5', 'csat3') and f.score <= 2)
           or (f.scale = 'csat2' and f.score = 0)
           or (f.scale = 'nps10' and f.score <= 6))
),
t8 as (
    select 'T8', 'Waiting on client too long', process, case_id, case_id, 'low', visit_bdays,
        null::double,
        coalesce(client_id, 'The client') || ' hasn''t sent the input for ''' || task || ''' for '
            || fmt_n(visit_bdays)
            || ' days. Send a friendly nudge.'
    from open_cases
    where stage_class = 'waiting_on_client' and visit_bdays > 5
      and process_type <> 'invoicing'  -- an unpaid invoice is T9's, not a missing input
),
t9_rows as (
    select *, (epoch(as_of_at) - epoch(due_at)) / 86400.0 as days_late
    from open_cases
    where process_type = 'invoicing' and due_at is not null
),
t9 as (
    select 'T9', 'Invoice overdue', process, case_id, case_id, 'medium', days_late, null::double,
        'Invoice ' || case_id || ' for ' || client || ' is ' || fmt_n(days_late)
            || ' days late. Send reminder #' || floor(days_late / 7)::integer || '.'
    from t9_rows
    where days_late > 7
),
flags as (
    select * from t1
    union all select * from t2
    union all select * from t3
    union all select * from t4
    union all select * from t5
    union all select * from t6
    union all select * from t7
    union all select * from t8
    union all select * from t9
),
final as (
    select flag_id, name, 'task' as level, process, case_id, dim, severity,
        observed::double as observed, baseline::double as baseline, explanation,
        explanation as action,
        case when flag_id = 'T7' then 'owner+va' else 'va' end as route
    from flags
)
select * from final order by flag_id, process, dim
