-- The household key: a pseudonymous value the MIS derives for a pupil's household (the same for
-- siblings; never an address or a name), so the LA can see a family across its schools. Optional
-- on the roll record; kept with the other attributes, and in their history.
alter table enrolments add column household_key text;
alter table enrolment_history add column household_key text;

-- A pupil's household: the other enrolments with the same key.
create index enrolments_household on enrolments (household_key) where household_key is not null;
