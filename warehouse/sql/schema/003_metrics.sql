-- 003_metrics: statistics macros and the configuration tables the metric layers read.

-- Wilson score interval for k successes of n (METRICS.md §3.3); null when n = 0.
create or replace macro wilson_low(k, n, z) as
    case when n > 0 then
        ((k::double / n + z * z / (2 * n))
         - z * sqrt((k::double / n) * (1 - k::double / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)
    end;

create or replace macro wilson_high(k, n, z) as
    case when n > 0 then
        ((k::double / n + z * z / (2 * n))
         + z * sqrt((k::double / n) * (1 - k::double / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)
    end;

-- NPS adjusted-Wald interval (METRICS.md §3.3): P promoters, D detractors of n responses.
create or replace macro nps_half(p, d, n, z) as
    z * sqrt((((p + 0.75) / (n + 3)) + ((d + 0.75) / (n + 3))
              - power(((p + 0.75) / (n + 3)) - ((d + 0.75) / (n + 3)), 2)) / (n + 3));

create or replace macro nps_low(p, d, n, z) as
    case when n > 0 then 100 * ((((p + 0.75) / (n + 3)) - ((d + 0.75) / (n + 3))) - nps_half(p, d, n, z)) end;

create or replace macro nps_high(p, d, n, z) as
    case when n > 0 then 100 * ((((p + 0.75) / (n + 3)) - ((d + 0.75) / (n + 3))) + nps_half(p, d, n, z)) end;

-- Business days between a and b (METRICS.md conventions): the seconds of [a, b) that fall on
-- Monday-Friday, outside the holidays, in time zone tz, divided by 86400. DST-safe because each
-- local day's bounds are converted back to instants.
create or replace macro bdays(a, b, tz, holidays) as
    case
        when a is null or b is null or b < a then null
        else coalesce(list_sum(list_transform(
            generate_series(timezone(tz, a)::date::timestamp, timezone(tz, b)::date::timestamp, interval 1 day),
            lambda d: case
                when isodow(d) <= 5 and not list_contains(holidays, d::date)
                then greatest(0, epoch(least(b, timezone(tz, d + interval 1 day)))
                                 - epoch(greatest(a, timezone(tz, d))))
                else 0
            end)), 0) / 86400.0
    end;

-- Cycle-time start candidates per process, in order (METRICS.md §1.3); none = the default chain.
create table cfg_ct_start (
    process  varchar not null,
    position integer not null,
    token    varchar not null,
    primary key (process, position)
);

create table cfg_holidays (
    holiday  date primary key
);

-- The metric windows (METRICS.md §2.1) for an as_of given as local midnight in time zone tz:
-- current [as_of-28d, as_of), baseline the 12 weeks before it, maturity the last 90 days, and
-- all [first event, as_of). `days` is the nominal length in local days.
create or replace macro metric_windows(as_of_local, tz, first_at, current_days, baseline_weeks, maturity_days) as table
    select window_name,
           timezone(tz, start_local) as start_at,
           timezone(tz, end_local) as end_at,
           (epoch(end_local) - epoch(start_local)) / 86400.0 as days
    from (values
        ('current', as_of_local - to_days(current_days), as_of_local),
        ('baseline', as_of_local - to_days(current_days + 7 * baseline_weeks), as_of_local - to_days(current_days)),
        ('maturity', as_of_local - to_days(maturity_days), as_of_local),
        ('all', least(timezone(tz, first_at), as_of_local), as_of_local)
    ) w(window_name, start_local, end_local);
