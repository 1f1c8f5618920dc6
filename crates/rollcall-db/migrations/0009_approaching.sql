-- The approaching-persistent list (pupils not yet at 10% overall absence who would be after a
-- few more absent sessions), read from an index as the at-risk list is (migration 0005).
--
-- to_persistent is how many further absent sessions would make the enrolment persistently
-- absent: the fewest k with (absent + k) / (possible + k) >= 10%, as
-- `Counters::sessions_to_persistent` computes it. It is stored only for enrolments not at risk,
-- with at least one absence, and within the list's longest horizon (20 sessions, two school
-- weeks); null otherwise, so most rows stay out of the index and their updates stay HOT.
alter table enrolment_totals add column to_persistent smallint;

update enrolment_totals t
set to_persistent = (10 * r.possible - 100 * r.absent + 89) / 90
from (
    select t.enrolment_id, t.academic_year,
           coalesce(sum(s.n) filter (where c.category in ('authorised', 'unauthorised')), 0)
               as absent,
           coalesce(sum(s.n) filter (where c.counts_as_possible), 0) as possible
    from enrolment_totals t
    cross join lateral unnest(t.sessions) with ordinality as s(n, id)
    join attendance_codes c on c.id = s.id
    where t.risk = 0
    group by t.enrolment_id, t.academic_year
) r
where t.enrolment_id = r.enrolment_id and t.academic_year = r.academic_year
  and r.absent > 0 and 10 * r.possible - 100 * r.absent > 0
  and (10 * r.possible - 100 * r.absent + 89) / 90 <= 20;

alter table enrolment_totals add constraint enrolment_totals_to_persistent_horizon
    check (to_persistent is null or (risk = 0 and to_persistent between 1 and 20));

-- An LA's (or a school's) approaching list: one range of this index, nearest first.
create index enrolment_totals_approaching_order
    on enrolment_totals (academic_year, to_persistent, school_urn, enrolment_id)
    where to_persistent is not null;
