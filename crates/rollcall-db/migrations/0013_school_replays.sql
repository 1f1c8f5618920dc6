-- A school's feeds run through validation again (`rollcall replay`), once what rejected their
-- records is fixed (the registry, a code set, a date that was in the future).
--
-- Where the gateway wrote each feed on the feeds topic: the partition and offset of its first
-- record, so a replay reads exactly its records back while the broker still holds them. Null
-- for feeds enqueued before this migration.
alter table feeds add column topic_partition int, add column topic_offset bigint;

-- One replay asked for by operations: the school, the first day of the feeds it takes (their
-- London date of receipt; null for every feed the broker holds), and whether it only shows what
-- would change. The validator takes it (`started_at`), validates the school's feeds again, and
-- records what would change in the tables (`changes`: counts, never a value) or why it failed.
create table school_replays (
    id           bigint generated always as identity primary key,
    school_urn   int not null,
    from_date    date,
    dry_run      bool not null,
    requested_at timestamptz not null default now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    status       text not null default 'requested'
                 check (status in ('requested', 'running', 'done', 'failed')),
    -- The school's processed feeds in the window, those read back and validated again, and
    -- those the broker no longer holds (past its retention, or enqueued before positions were
    -- recorded).
    feeds_found  int not null default 0,
    feeds_read   int not null default 0,
    feeds_gone   int not null default 0,
    changes      jsonb,
    error        text
);
create index school_replays_waiting on school_replays (id) where status = 'requested';

-- The feeds of a replay (not a dry run) the aggregator has applied again: one row each, so a
-- redelivered message counts once.
create table school_replay_feeds (
    replay_id  bigint not null references school_replays,
    feed_id    uuid not null,
    applied_at timestamptz not null default now(),
    primary key (replay_id, feed_id)
);
