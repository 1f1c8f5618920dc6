-- The at-risk list in the order it is shown (overall absence rate, worst first, then school,
-- then enrolment), read straight from an index: a page is one index range, not a sort of every
-- at-risk enrolment of the LA.
--
-- absence_rate is the enrolment's overall absence (authorised + unauthorised) as a percentage of
-- its possible sessions, computed as the domain computes it (absent / possible * 100 in double
-- precision), so the index orders exactly as the query service ordered before. It is stored only
-- while the enrolment is at risk (risk > 0) and is null otherwise: most enrolments are not at
-- risk, and as long as their indexed columns do not change, rewriting their totals (every feed
-- does) stays a HOT update (fillfactor, migration 0004).
alter table enrolment_totals add column absence_rate float8;

update enrolment_totals t
set absence_rate = r.absent::float8 / r.possible * 100
from (
    select t.enrolment_id, t.academic_year,
           coalesce(sum(s.n) filter (where c.category in ('authorised', 'unauthorised')), 0)
               as absent,
           coalesce(sum(s.n) filter (where c.counts_as_possible), 0) as possible
    from enrolment_totals t
    cross join lateral unnest(t.sessions) with ordinality as s(n, id)
    join attendance_codes c on c.id = s.id
    where t.risk > 0
    group by t.enrolment_id, t.academic_year
) r
where t.enrolment_id = r.enrolment_id and t.academic_year = r.academic_year
  and r.possible > 0;

alter table enrolment_totals add constraint enrolment_totals_absence_rate_at_risk
    check ((risk > 0) = (absence_rate is not null));

-- An LA's (or every school's) at-risk page: one range of this index, filtered by school.
-- A school's list still uses enrolment_totals_at_risk (school_urn, academic_year).
create index enrolment_totals_at_risk_order
    on enrolment_totals (academic_year, absence_rate desc, school_urn, enrolment_id)
    where risk > 0;
