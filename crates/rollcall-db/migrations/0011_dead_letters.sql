-- Dead letters for operations, and parked feeds replayed on request.
--
-- Who sent each feed: a vendor's registered name, or 'school' for a school sending its own
-- files. What operations group failures by; never a key or a person. Null for feeds recorded
-- before this migration.
alter table feeds add column sender text;

-- Every finding of every processed feed, in the catalogue's order (`ordinal`), however many: a
-- receipt carries those that fit one answer (`feeds.findings`), operations group them all here
-- (`rollcall dead-letters`). A finding names its record by position and its field, and its
-- message states the rule: never a value sent.
create table feed_findings (
    feed_seq     int not null references feeds (seq),
    ordinal      int not null,
    code         text not null,
    severity     text not null check (severity in ('error', 'warning')),
    record_kind  text not null check (record_kind in ('feed', 'roll', 'mark')),
    record_index int not null,
    field        text not null,
    message      text not null,
    primary key (feed_seq, ordinal)
);
create index feed_findings_code on feed_findings (code, feed_seq);

-- Set by operations (`rollcall parked replay`) once the cause of a parking is fixed; the
-- aggregator applies the parked message again, then sets `replayed_at`, or clears this and
-- records the new refusal.
alter table parked_feeds add column replay_requested_at timestamptz;
