-- 002_sources: pulled raw envelopes, committed pull cursors and the outcome of every pull.

-- Append-only copy of every raw record a pull landed (DESIGN.md §2 rule 1): replays need no API.
create table raw_events (
    source          varchar not null,   -- the connector (RawRecord.source)
    external_id     varchar not null,   -- the source's dedup key, e.g. asana:story:120111
    payload_hash    varchar not null,   -- a changed object is a new row; the same one is not
    endpoint        varchar not null,
    params          json,
    scope           varchar,
    payload         json not null,
    fetched_at      timestamptz not null,
    ingest_path     varchar not null,
    landing_file    varchar not null,
    loaded_at       timestamptz not null,
    primary key (source, external_id, payload_hash)
);

-- Where the next pull of a configured source starts, per scope; written in the transaction
-- that loads the landing file it came with, so a crash before the load re-fetches.
create table source_cursors (
    source          varchar not null,   -- the configured source name ([sources.<name>])
    scope           varchar not null,   -- a configured scope id (project, board, form...)
    cursor_at       timestamptz not null,  -- the start of the pull whose data is committed
    landing_file    varchar not null,
    committed_at    timestamptz not null,
    primary key (source, scope)
);

-- One row per configured source per run: did the pull work, and if not, why.
create table source_runs (
    run_id          varchar not null,
    source          varchar not null,
    type            varchar not null,
    started_at      timestamptz not null,
    finished_at     timestamptz not null,
    status          varchar not null,   -- ok, failed
    records         bigint not null,
    auth_error      boolean not null,
    error           varchar,            -- one sentence, never a secret
    landing_file    varchar,
    primary key (run_id, source)
);
