-- A school's feeds newest first, for listing them (`rollcall_db::list_feeds`): a sender that lost
-- a feed id finds it by school and time.
create index feeds_by_school_received on feeds (school_urn, received_at desc, feed_id desc);
