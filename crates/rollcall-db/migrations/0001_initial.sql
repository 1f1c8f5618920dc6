-- Rollcall's first schema: the school registry, the national attendance codes, feed receipts,
-- enrolments (a pupil at a school) and their session marks.

create table schools (
    urn         int primary key,
    la_code     smallint not null,
    name        text not null,
    phase       text not null check (phase in (
                    'primary', 'secondary', 'special', 'all-through', 'nursery', 'alternative-provision')),
    school_type text not null,
    independent bool not null,
    updated_at  timestamptz not null default now()
);
-- LA views list an LA's schools.
create index schools_la_code on schools (la_code);

-- Filled at service start from the domain crate (the source of truth), so SQL can group by category.
create table attendance_codes (
    code               text primary key,
    category           text not null,
    counts_as_possible bool not null
);

-- One row per feed: the gateway's idempotency record and receipt, completed by the aggregator.
create table feeds (
    feed_id          uuid primary key,
    school_urn       int not null,
    idempotency_key  text not null,
    payload_sha256   bytea not null,
    extracted_at     timestamptz not null,
    code_set         text not null,
    received_at      timestamptz not null,
    status           text not null check (status in ('received', 'enqueued', 'processed')),
    roll_records     int,
    mark_records     int,
    processed_at     timestamptz,
    roll_accepted    int,
    roll_rejected    int,
    marks_accepted   int,
    marks_rejected   int,
    records_warned   int,
    marks_written    int,
    marks_superseded int,
    findings         jsonb,
    unique (school_urn, idempotency_key)
);

-- A pupil on a school's roll. Attributes follow the latest version: (recorded_at, feed_id).
create table enrolments (
    id             bigint generated always as identity primary key,
    school_urn     int not null references schools,
    upn            text not null,
    forename       text,
    surname        text,
    date_of_birth  date,
    sex            text,
    year_group     text,
    admission_date date,
    leaving_date   date,
    fsm            bool,
    sen_provision  text,
    ethnicity      text,
    looked_after   bool,
    recorded_at    timestamptz not null,
    feed_id        uuid not null,
    unique (school_urn, upn)
);

-- One mark per enrolment, date and session (0 = AM, 1 = PM); the latest version
-- (recorded_at, feed_id) wins. Columns ordered widest first so the row packs without padding.
-- No foreign key to enrolments: its per-row trigger was a third of the time to apply a feed.
-- Marks are written only by a statement that takes enrolment_id from a join with enrolments,
-- and enrolments are never deleted.
create table marks (
    enrolment_id bigint not null,
    recorded_at  timestamptz not null,
    feed_id      uuid not null,
    date         date not null,
    session      smallint not null check (session in (0, 1)),
    minutes_late smallint,
    code         text not null,
    primary key (enrolment_id, date, session)
);
