-- Receipts pushed to senders (`FeedService.WatchReceipts`). A feed is answered when the
-- pipeline gives it its outcome (processed, or parked): the transaction that did it
-- (`answered_xid`, PostgreSQL's 64-bit transaction id) and when. A watcher reads the answered
-- feeds in (answered_xid, feed_id) order, only below the oldest transaction still running
-- (`pg_snapshot_xmin`), so a transaction that commits late can never land behind a watcher's
-- position: none is missed, none is sent twice. Each answer also notifies `rollcall_receipts`,
-- so watchers wake at once rather than on their next poll.
alter table feeds add column answered_xid bigint, add column answered_at timestamptz;
create index feeds_answered on feeds (answered_xid, feed_id) where answered_xid is not null;
