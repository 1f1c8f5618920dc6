-- A feed's findings counted by code, for its receipt: each code's severity, count and first
-- record positions (`rollcall_domain::validation::summarise`), over every finding however many.
-- Every finding itself is in `feed_findings`, which `ListFeedFindings` pages through. Null for
-- feeds processed before this migration.
alter table feeds add column finding_summary jsonb;
