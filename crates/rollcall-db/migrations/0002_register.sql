-- Marks packed one row per enrolment and calendar month (the layout is described in
-- crates/rollcall-db/src/register.rs), and year totals the aggregator keeps in the same
-- transaction as the marks, so LA views read a row per school instead of every mark.

-- Each code gets a one-byte id, given once and never reused: register rows store the id.
alter table attendance_codes add column id smallint;
update attendance_codes c set id = n.id
from (select code, row_number() over (order by code) as id from attendance_codes) n
where c.code = n.code;
alter table attendance_codes
    alter column id set not null,
    add constraint attendance_codes_id_key unique (id),
    add constraint attendance_codes_id_range check (id between 1 and 255);

-- Each feed gets a 4-byte number that register rows store per mark, and the version its marks
-- were applied at.
alter table feeds add column seq int generated always as identity;
alter table feeds add constraint feeds_seq_key unique (seq);
alter table feeds add column recorded_at timestamptz;
update feeds set recorded_at = extracted_at where status = 'processed';

-- fillfactor leaves room on each page so that rewriting a row (a re-sent week) is a HOT update
-- that does not touch the index.
create table register (
    enrolment_id bigint not null,
    month        date not null check (extract(day from month) = 1),
    codes        bytea not null,
    slot_feeds   bytea not null,
    feeds        bytea not null,
    minutes      bytea,
    primary key (enrolment_id, month)
) with (fillfactor = 90);

-- Per enrolment and academic year (the calendar year it starts in): sessions per code id
-- (sessions[id]) and 0 none, 1 persistent, 2 severe absence.
create table enrolment_totals (
    enrolment_id  bigint not null,
    academic_year smallint not null,
    school_urn    int not null,
    sessions      int4[] not null,
    risk          smallint not null check (risk in (0, 1, 2)),
    primary key (enrolment_id, academic_year)
);
-- The at-risk list reads only the enrolments at risk.
create index enrolment_totals_at_risk on enrolment_totals (school_urn, academic_year)
    where risk > 0;

-- Per school and academic year: the sums of its enrolment totals, and how many enrolments are
-- counted (a possible session), persistent and severe absentees.
create table school_totals (
    school_urn    int not null,
    academic_year smallint not null,
    sessions      int8[] not null,
    marks         bigint not null,
    enrolments    int not null,
    persistent    int not null,
    severe        int not null,
    last_date     date,
    primary key (school_urn, academic_year)
);

-- Schools whose totals must be recomputed from their registers (the aggregator does it at
-- start): here, every school with marks stored in the old layout.
create table pending_rebuilds (
    school_urn int primary key
);

-- Marks move into register rows. Per row: a slot's code id as two hex digits, its feed as an
-- index into the row's distinct feeds, and minutes late (-1 for none) as four hex digits.
with m as (
    select m.enrolment_id,
           date_trunc('month', m.date)::date as month,
           (extract(day from m.date)::int - 1) * 2 + m.session as slot,
           c.id as code_id,
           f.seq,
           m.minutes_late
    from marks m
    join attendance_codes c on c.code = m.code
    join feeds f on f.feed_id = m.feed_id
),
ranked as (
    select m.*, dense_rank() over (partition by enrolment_id, month order by seq) - 1 as feed_index
    from m
),
keys as (
    select enrolment_id, month, max(slot) as last_slot,
           bool_or(minutes_late is not null) as any_minutes
    from m
    group by enrolment_id, month
),
feed_lists as (
    select enrolment_id, month,
           decode(string_agg(lpad(to_hex(seq), 8, '0'), '' order by feed_index), 'hex') as feeds
    from (select distinct enrolment_id, month, seq, feed_index from ranked) d
    group by enrolment_id, month
),
slots as (
    select k.enrolment_id, k.month, k.any_minutes, s.slot, r.code_id, r.feed_index, r.minutes_late
    from keys k
    cross join lateral generate_series(0, k.last_slot) as s(slot)
    left join ranked r on r.enrolment_id = k.enrolment_id and r.month = k.month and r.slot = s.slot
)
insert into register (enrolment_id, month, codes, slot_feeds, feeds, minutes)
select s.enrolment_id, s.month,
       decode(string_agg(lpad(to_hex(coalesce(s.code_id, 0)), 2, '0'), '' order by s.slot), 'hex'),
       decode(string_agg(lpad(to_hex(coalesce(s.feed_index, 0)), 2, '0'), '' order by s.slot), 'hex'),
       f.feeds,
       case when s.any_minutes then
           decode(string_agg(
               lpad(to_hex(coalesce(s.minutes_late, -1)::int & 65535), 4, '0'), '' order by s.slot),
               'hex')
       end
from slots s
join feed_lists f on f.enrolment_id = s.enrolment_id and f.month = s.month
group by s.enrolment_id, s.month, s.any_minutes, f.feeds;

insert into pending_rebuilds (school_urn)
select distinct e.school_urn
from register r join enrolments e on e.id = r.enrolment_id;

drop table marks;
