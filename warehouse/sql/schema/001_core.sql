-- 001_core: canonical events, quarantine, landing bookkeeping, runs and data-quality warnings.

create table events (
    event_id        varchar primary key,
    workspace       varchar not null,
    kind            varchar not null,
    process         varchar,
    case_id         varchar,
    occurred_at     timestamptz not null,
    source          varchar not null,
    stage           varchar,
    original_status varchar,
    actor           varchar,
    assignee        varchar,
    due_at          timestamptz,
    client_id       varchar,
    template        varchar,
    case_title      varchar,
    comment         varchar,
    public          boolean,
    scale           varchar,
    score           integer,
    attributes      json,
    landing_file    varchar not null,
    line            bigint not null,
    ingested_at     timestamptz not null
);

create table quarantine (
    landing_file    varchar not null,
    line            bigint not null,
    reason          varchar not null,
    raw             varchar,
    quarantined_at  timestamptz not null,
    replayed_at     timestamptz,
    primary key (landing_file, line)
);

create table landing_files (
    landing_file    varchar primary key,
    format          varchar not null,
    process         varchar,
    sha256          varchar,
    bytes           bigint,
    n_records       bigint not null,
    n_loaded        bigint not null,
    n_new           bigint not null,
    n_quarantined   bigint not null,
    loaded_at       timestamptz not null
);

create table dq_warnings (
    landing_file    varchar not null,
    code            varchar not null,
    n               bigint not null,
    detail          varchar not null,
    noted_at        timestamptz not null
);

create table runs (
    run_id          varchar primary key,
    workspace       varchar not null,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    status          varchar not null,
    summary         json
);

create table cfg_status_map (
    process         varchar not null,
    original_status varchar not null,
    stage           varchar not null,
    primary key (process, original_status)
);

create table cfg_process (
    process         varchar primary key,
    type            varchar not null,
    client_facing   boolean not null,
    ct_finish       varchar not null
);

create table cfg_workspace (
    workspace       varchar not null,
    timezone        varchar not null
);
