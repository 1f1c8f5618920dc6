-- The days schools are expected to take their registers (rollcall-domain's `school_days`): an
-- LA's term dates for every school of the LA without its own, a school's own, and days inside a
-- term without a register (INSET days, bank holidays, closures). What tells a quiet school from
-- one on holiday.
create table school_calendar (
    id          bigint generated always as identity primary key,
    la_code     smallint,
    school_urn  int,
    kind        text not null check (kind in ('term', 'closed')),
    first_day   date not null,
    last_day    date not null,
    check ((la_code is null) <> (school_urn is null)),
    check (first_day <= last_day)
);
create index school_calendar_la on school_calendar (la_code);
create index school_calendar_school on school_calendar (school_urn);

-- The latest register date a processed feed carried marks for: the latest date a school's
-- registers are held to.
alter table feeds add column latest_date date;
