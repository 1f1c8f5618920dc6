-- What the LA knew, and when: every change of a session's code, of a pupil's attributes and of a
-- school's year totals is kept, written in the transaction that makes the change.

-- Per register row (layout in crates/rollcall-db/src/register.rs): which feed first recorded
-- each slot's current code, null while that is the feed that wrote it last; and the codes the
-- slots held before, 6 bytes an entry, null while nothing was corrected.
alter table register add column since_feeds bytea, add column history bytea;

-- An enrolment's attributes before each change: the row as it was, with the version that had
-- written it, inserted when a newer feed changes any attribute (a re-sent roll adds nothing).
create table enrolment_history (
    enrolment_id   bigint not null,
    recorded_at    timestamptz not null,
    feed_id        uuid not null,
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
    replaced_at    timestamptz not null,
    primary key (enrolment_id, recorded_at, feed_id)
);

-- A school's year totals after each feed that moved them, at the feed's version: the LA
-- summary as at a moment is a row per school from here.
create table school_totals_history (
    school_urn    int not null,
    academic_year smallint not null,
    recorded_at   timestamptz not null,
    feed_seq      int not null,
    sessions      int8[] not null,
    marks         bigint not null,
    enrolments    int not null,
    persistent    int not null,
    severe        int not null,
    last_date     date,
    primary key (school_urn, academic_year, recorded_at, feed_seq)
);

-- Finding a pupil: by UPN anywhere in the LA, by surname and date of birth, by names.
create index enrolments_upn on enrolments (upn);
create index enrolments_surname_dob on enrolments (lower(surname), date_of_birth);
create index enrolments_names on enrolments (lower(surname), lower(forename));
