-- 005_flag_lifecycle: operations flags (METRICS.md §5.2-§5.3, §6) on the flag_state records.

-- Sub-rules that fired while the flag was open: its Close is checked only for these.
alter table flag_state add column subrules varchar;
-- The status to resume when a frozen flag (insufficient_data, or its source unhealthy) thaws.
alter table flag_state add column held_status varchar;
-- The as_of of the evaluation that first saw the condition, and the last one that saw it hold.
alter table flag_state add column first_as_of date;
alter table flag_state add column present_as_of date;
-- Where an open item sits (task flags): T3 escalates into O4 on its modal stage.
alter table flag_state add column stage varchar;

-- One row per evaluation and active or present flag: escalation counts instances over 14 days,
-- the dashboard and the scenario tests read how a flag moved night by night.
create table flag_history (
    workspace   varchar not null,
    as_of       date not null,
    fingerprint varchar not null,
    flag_id     varchar not null,
    level       varchar not null,
    process     varchar,
    case_id     varchar,
    dim         varchar,
    stage       varchar,
    present     boolean not null,   -- the open condition held at this evaluation
    status      varchar not null,
    severity    varchar not null,
    trigger     varchar not null,
    primary key (workspace, as_of, fingerprint)
);
