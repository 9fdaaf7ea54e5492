-- metric_feedback
-- Purpose: CSAT (Wilson interval), NPS (adjusted-Wald interval), CES mean and agree share,
--          responses by response time, and feedback coverage of completed client-facing items.
-- Grain:   one row per (process, window, metric); case-less responses under '(workspace)'.
-- Reads:   fct_feedback, fct_cases; parameters $as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days, $z
with w as (
    select * from metric_windows($as_of_local, $tz, $first_at, $current_days, $baseline_weeks, $maturity_days)
),
processes as (
    select distinct process from fct_cases
    union
    select distinct process from fct_feedback
),
pw as (
    select p.process, w.* from processes p cross join w
),
responses as (
    select pw.process, pw.window_name,
        count(f.event_id) as responses,
        count(f.event_id) filter (where f.instrument = 'csat') as n_csat,
        count(f.event_id) filter (where f.is_positive) as positive,
        count(f.event_id) filter (where f.instrument = 'nps') as n_nps,
        count(f.event_id) filter (where f.nps_group = 'promoter') as promoters,
        count(f.event_id) filter (where f.nps_group = 'detractor') as detractors,
        count(f.event_id) filter (where f.instrument = 'ces') as n_ces,
        avg(f.score) filter (where f.instrument = 'ces') as ces_mean,
        count(f.event_id) filter (where f.is_agree) as agree
    from pw
    left join fct_feedback f
        on f.process = pw.process and f.responded_at >= pw.start_at and f.responded_at < pw.end_at
    group by pw.process, pw.window_name
),
coverage as (
    select pw.process, pw.window_name,
        count(distinct c.case_id) as client_facing_done,
        count(distinct c.case_id) filter (where exists (
            select 1 from fct_feedback f
            where f.case_id = c.case_id and f.process = c.process and f.is_linked
        )) as covered
    from pw
    left join fct_cases c
        on c.process = pw.process and c.state = 'completed' and c.client_facing
        and c.completed_at >= pw.start_at and c.completed_at < pw.end_at
    group by pw.process, pw.window_name
),
final as (
    select r.process, r.window_name, metric, value, n, unit, low, high
    from responses r
    join coverage v using (process, window_name), lateral (values
        ('csat', case when n_csat > 0 then positive / n_csat end, n_csat, 'fraction',
            wilson_low(positive, n_csat, $z), wilson_high(positive, n_csat, $z)),
        ('nps', case when n_nps > 0 then 100.0 * (promoters - detractors) / n_nps end, n_nps, 'score',
            nps_low(promoters, detractors, n_nps, $z), nps_high(promoters, detractors, n_nps, $z)),
        ('ces_mean', ces_mean, n_ces, 'points', null, null),
        ('ces_agree_rate', case when n_ces > 0 then agree / n_ces end, n_ces, 'fraction',
            wilson_low(agree, n_ces, $z), wilson_high(agree, n_ces, $z)),
        ('feedback_responses', responses::double, responses, 'responses', null, null),
        ('feedback_coverage', case when client_facing_done > 0 then covered / client_facing_done end,
            client_facing_done, 'fraction', null, null)
    ) m(metric, value, n, unit, low, high)
)
select * from final
