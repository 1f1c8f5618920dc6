-- Every feed re-sends its school's roll, and every applied feed moves the year totals of the
-- pupils it carries: the same rows are rewritten all year. With room left on each page the
-- rewrite is a HOT update (no index entry, the old version pruned when the page is next read)
-- instead of a dead row and a new index entry per rewrite. Applies to pages written from now on.
alter table enrolments set (fillfactor = 80);
alter table enrolment_totals set (fillfactor = 80);
alter table school_totals set (fillfactor = 50);
