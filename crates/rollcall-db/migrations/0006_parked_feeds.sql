-- Validated feeds the database refused for a reason a retry cannot fix (a value PostgreSQL
-- cannot store, a constraint, a message that cannot be decoded), set aside so that the feeds
-- behind them on their partition go on.
--
-- The message is kept byte for byte (payload) with where it was read from, so it can be replayed
-- once the cause is fixed; the refusal keeps only what PostgreSQL names of the schema (the
-- SQLSTATE, table, column, constraint) and Rollcall's own description, never PostgreSQL's message,
-- which may quote the value refused. The feed's own row says `parked` for its receipt.
-- Findings a receipt leaves out because all of them would not fit one message.
alter table feeds add column findings_omitted int;

alter table feeds drop constraint feeds_status_check;
alter table feeds add constraint feeds_status_check
    check (status in ('received', 'enqueued', 'processed', 'parked'));

create table parked_feeds (
    id              bigint generated always as identity primary key,
    -- Null when the message could not be decoded far enough to name its feed or school.
    feed_id         uuid,
    school_urn      int,
    topic           text not null,
    partition       int not null,
    "offset"        bigint not null,
    parked_at       timestamptz not null default now(),
    -- How many times the feed was tried before it was parked.
    attempts        int not null,
    sqlstate        text,
    reason          text not null,
    table_name      text,
    column_name     text,
    constraint_name text,
    -- Where in the feed, when Rollcall could tell: e.g. "pupil 3 forename" (never a value).
    field           text,
    payload         bytea not null,
    -- Set when the feed was replayed and stored.
    replayed_at     timestamptz,
    unique (topic, partition, "offset")
);

create index parked_feeds_feed on parked_feeds (feed_id);
