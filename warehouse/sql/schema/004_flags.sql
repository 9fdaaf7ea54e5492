-- 004_flags: the flag life cycle (METRICS.md §6) and a number format the flag texts use.

-- A number for a sentence: one decimal, without a trailing ".0" (3 -> "3", 2.25 -> "2.3").
create or replace macro fmt_n(x) as regexp_replace(printf('%.1f', x::double), '\.0$', '');

-- One record per fingerprint sha256(workspace|process|flag_id|dim): its state and latest values.
create table flag_state (
    fingerprint     varchar primary key,
    flag_id         varchar not null,
    name            varchar not null,
    level           varchar not null,
    workspace       varchar not null,
    process         varchar,
    case_id         varchar,
    dim             varchar,
    severity        varchar not null,
    status          varchar not null,   -- pending, firing, recovering, resolved
    as_of           date not null,      -- the evaluation that last touched the record
    observed        double,
    baseline        double,
    explanation     varchar,
    action          varchar,
    trigger         varchar not null,   -- rule (escalation comes later)
    first_seen_at   timestamptz not null,
    last_seen_at    timestamptz not null,
    open_runs       integer not null,
    clean_runs      integer not null,
    resolved_at     timestamptz
);

-- The as_of of the last evaluation per workspace: the same as_of again must not advance states.
create table flag_evaluations (
    workspace       varchar primary key,
    as_of           date not null,
    evaluated_at    timestamptz not null
);
