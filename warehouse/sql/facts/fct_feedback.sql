-- fct_feedback
-- Purpose: survey responses with their instrument, positive/agree/NPS group, and the case they
--          rate when it finished within feedback.link_days before the response.
-- Grain:   one row per feedback event.
-- Reads:   events, fct_cases; parameter $link_days
with responses as (
    select f.event_id, f.process as process_in, f.case_id, f.client_id, f.occurred_at as responded_at,
           f.scale, f.score
    from events f
    where f.kind = 'feedback'
),
final as (
    select r.event_id,
        coalesce(r.process_in, c.process, '(workspace)') as process,
        r.case_id, r.client_id, r.responded_at, r.scale, r.score,
        case when r.scale in ('csat5', 'csat3', 'csat2') then 'csat'
             when r.scale = 'nps10' then 'nps' when r.scale = 'ces7' then 'ces' end as instrument,
        case r.scale when 'csat5' then r.score >= 4 when 'csat3' then r.score >= 3
                     when 'csat2' then r.score >= 1 end as is_positive,
        case when r.scale = 'nps10' then
            case when r.score >= 9 then 'promoter' when r.score <= 6 then 'detractor' else 'passive' end
        end as nps_group,
        case when r.scale = 'ces7' then r.score >= 5 end as is_agree,
        c.case_id is not null and c.completed_at is not null
            and r.responded_at >= c.completed_at
            and r.responded_at <= c.completed_at + to_days($link_days::integer) as is_linked
    from responses r
    left join fct_cases c
        on c.case_id = r.case_id and (r.process_in is null or c.process = r.process_in)
    qualify row_number() over (partition by r.event_id order by c.process nulls last) = 1
)
select * from final
