-- 006_requests: acknowledge and snooze (METRICS.md §6) on flag records, as read-only clients
-- (the dashboard) request them through files the next run applies (flows/requests.py).

-- Acknowledging stops repeats until the severity rises above the acknowledged one; it belongs to
-- the episode that started at first_seen_at (a flag that resolves and opens again starts anew).
alter table flag_state add column acknowledged_at timestamptz;
alter table flag_state add column acknowledged_by varchar;
alter table flag_state add column acknowledged_severity varchar;
-- A snooze holds notifications until snoozed_until; a rise to critical breaks it.
alter table flag_state add column snoozed_at timestamptz;
alter table flag_state add column snoozed_until timestamptz;
alter table flag_state add column snoozed_by varchar;
alter table flag_state add column snooze_reason varchar;
alter table flag_state add column snoozed_severity varchar;

-- Every request file a run has read: applied or rejected, and why.
create table flag_requests (
    request_id      varchar primary key,
    workspace       varchar not null,
    fingerprint     varchar,
    action          varchar,
    requested_by    varchar,
    requested_at    timestamptz,
    days            integer,
    reason          varchar,
    file            varchar not null,
    outcome         varchar not null,   -- applied, rejected
    detail          varchar,
    processed_at    timestamptz not null
);
