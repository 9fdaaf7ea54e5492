-- 007_frt_targets: each support process's first-reply target in hours (config
-- `process.<name>.frt_target_hours`), which T5 reads; a process without one uses 12 hours.
create table cfg_frt_target (
    process         varchar primary key,
    hours           double not null
);
