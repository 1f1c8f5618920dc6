//! Feed receipts: idempotent registration, status moves, parking, pipeline progress.

use rollcall_db::{Error, FeedRow, NewFeed, NewParkedFeed, PipelineCounts, Refusal, Registered};

use crate::common::*;

fn new_feed(feed_id: u128, key: &str) -> NewFeed {
    NewFeed {
        feed_id: id(feed_id),
        school_urn: PRIMARY,
        idempotency_key: key.to_owned(),
        payload_sha256: vec![0xab; 32],
        extracted_at: at("2025-09-08T16:00:00Z"),
        code_set: "2024".to_owned(),
        roll_records: 2,
        mark_records: 4,
        sender: "test-mis".into(),
    }
}

#[tokio::test]
async fn registering_a_feed_twice_returns_the_first() {
    let db = TestDb::new().await;
    let first = new_feed(1, "mis-2025-09-08");

    let Registered::New(row) = rollcall_db::register_feed(&db.pool, &first).await.unwrap() else {
        panic!("first registration should be new");
    };
    assert_eq!(row.feed_id, id(1));
    assert_eq!(row.status, FeedRow::RECEIVED);
    assert_eq!((row.roll_records, row.mark_records), (Some(2), Some(4)));
    assert_eq!(row.payload_sha256, vec![0xab; 32]);
    assert_eq!(row.processed_at, None);

    // The same key again, even under a new feed id, returns the first row unchanged.
    let again = rollcall_db::register_feed(&db.pool, &first).await.unwrap();
    assert_eq!(again, Registered::Existing(row.clone()));
    let retry = NewFeed {
        feed_id: id(2),
        ..first.clone()
    };
    assert_eq!(
        rollcall_db::register_feed(&db.pool, &retry).await.unwrap(),
        Registered::Existing(row.clone())
    );
    assert_eq!(rollcall_db::get_feed(&db.pool, id(2)).await.unwrap(), None);

    // Another key, or the same key from another school, is a new feed.
    let next = new_feed(3, "mis-2025-09-09");
    assert!(matches!(
        rollcall_db::register_feed(&db.pool, &next).await.unwrap(),
        Registered::New(_)
    ));
    let other_school = NewFeed {
        feed_id: id(4),
        school_urn: INDEPENDENT,
        ..first.clone()
    };
    let registered = rollcall_db::register_feed(&db.pool, &other_school)
        .await
        .unwrap();
    assert!(matches!(registered, Registered::New(ref r) if r.feed_id == id(4)));

    assert_eq!(
        rollcall_db::get_feed(&db.pool, id(1)).await.unwrap(),
        Some(row)
    );
    db.close().await;
}

#[tokio::test]
async fn concurrent_registrations_of_one_key_make_one_feed() {
    let db = TestDb::new().await;
    let attempts = (10..18u128).map(|n| {
        let pool = db.pool.clone();
        let feed = new_feed(n, "same-key");
        tokio::spawn(async move { rollcall_db::register_feed(&pool, &feed).await.unwrap() })
    });
    let mut rows = Vec::new();
    for attempt in attempts {
        rows.push(attempt.await.unwrap());
    }
    let new: Vec<_> = rows
        .iter()
        .filter(|r| matches!(r, Registered::New(_)))
        .collect();
    assert_eq!(new.len(), 1);
    let winner = new[0].row().feed_id;
    assert!(rows.iter().all(|r| r.row().feed_id == winner));
    db.close().await;
}

#[tokio::test]
async fn enqueued_moves_forward_only() {
    let db = TestDb::with_schools().await;
    let upn = "A000000000001";
    rollcall_db::register_feed(&db.pool, &new_feed(1, "k1"))
        .await
        .unwrap();

    rollcall_db::mark_feed_enqueued(&db.pool, id(1), None)
        .await
        .unwrap();
    let row = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, FeedRow::ENQUEUED);
    rollcall_db::mark_feed_enqueued(&db.pool, id(1), None)
        .await
        .unwrap();

    let applied = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![pupil(upn)],
        vec![],
    );
    rollcall_db::apply_validated_feed(&db.pool, &applied)
        .await
        .unwrap();
    rollcall_db::mark_feed_enqueued(&db.pool, id(1), None)
        .await
        .unwrap();
    let row = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, FeedRow::PROCESSED);
    assert!(row.is_processed());

    let missing = rollcall_db::mark_feed_enqueued(&db.pool, id(99), None).await;
    assert!(matches!(missing, Err(Error::FeedNotFound { feed_id }) if feed_id == id(99)));
    db.close().await;
}

#[tokio::test]
async fn pipeline_counts_follow_feeds_through() {
    let db = TestDb::with_schools().await;
    let counts = |received, enqueued, processed, marks| PipelineCounts {
        feeds_received: received,
        feeds_enqueued: enqueued,
        feeds_processed: processed,
        feeds_parked: 0,
        marks_stored: marks,
    };
    assert_eq!(
        rollcall_db::pipeline_counts(&db.pool).await.unwrap(),
        counts(0, 0, 0, 0)
    );

    for (n, key) in [(1, "k1"), (2, "k2"), (3, "k3")] {
        rollcall_db::register_feed(&db.pool, &new_feed(n, key))
            .await
            .unwrap();
    }
    rollcall_db::mark_feed_enqueued(&db.pool, id(1), None)
        .await
        .unwrap();
    rollcall_db::mark_feed_enqueued(&db.pool, id(2), None)
        .await
        .unwrap();
    assert_eq!(
        rollcall_db::pipeline_counts(&db.pool).await.unwrap(),
        counts(3, 2, 0, 0)
    );

    let upn = "A000000000001";
    let marks = vec![
        mark(upn, "2025-09-08", 0, "/"),
        mark(upn, "2025-09-08", 1, "L"),
    ];
    let applied = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![pupil(upn)],
        marks,
    );
    rollcall_db::apply_validated_feed(&db.pool, &applied)
        .await
        .unwrap();
    assert_eq!(
        rollcall_db::pipeline_counts(&db.pool).await.unwrap(),
        counts(3, 2, 1, 2)
    );

    // Feed 2 refused for good and parked: still enqueued, counted as parked; parking the same
    // message again (a redelivery) changes nothing.
    let parked = NewParkedFeed {
        feed_id: Some(id(2)),
        school_urn: Some(PRIMARY),
        topic: "rollcall.validated.v1".into(),
        partition: 0,
        offset: 7,
        attempts: 5,
        refusal: Refusal {
            sqlstate: Some("22021".into()),
            reason: rollcall_db::describe_sqlstate("22021").into(),
            ..Refusal::default()
        },
        field: Some("pupil 0 forename".into()),
        payload: vec![1, 2, 3],
    };
    for _ in 0..2 {
        rollcall_db::park_feed(&db.pool, &parked).await.unwrap();
    }
    assert_eq!(
        rollcall_db::pipeline_counts(&db.pool).await.unwrap(),
        PipelineCounts {
            feeds_parked: 1,
            ..counts(3, 2, 1, 2)
        }
    );
    let row = rollcall_db::get_feed(&db.pool, id(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, FeedRow::PARKED);
    let why = rollcall_db::feed_parking(&db.pool, id(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            why.sqlstate.as_deref(),
            why.field.as_deref(),
            why.attempts,
            why.offset
        ),
        (Some("22021"), Some("pupil 0 forename"), 5, 7)
    );
    assert_eq!(
        rollcall_db::feed_parking(&db.pool, id(1)).await.unwrap(),
        None
    );

    // A processed feed parked later (a redelivery of an old message) stays processed.
    rollcall_db::park_feed(
        &db.pool,
        &NewParkedFeed {
            feed_id: Some(id(1)),
            offset: 8,
            ..parked.clone()
        },
    )
    .await
    .unwrap();
    let row = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, FeedRow::PROCESSED);
    db.close().await;
}

#[tokio::test]
async fn ensure_database_is_idempotent() {
    let db = TestDb::new().await;
    rollcall_db::ensure_database(&db.url).await.unwrap();
    rollcall_db::ensure_database(&db.url).await.unwrap();
    rollcall_db::migrate(&db.pool).await.unwrap();
    let missing = rollcall_db::ensure_database("postgres://postgres@127.0.0.1:5432/").await;
    assert!(matches!(missing, Err(Error::NoDatabaseName)));
    db.close().await;
}

#[tokio::test]
async fn feeds_are_listed_newest_first_in_pages_within_the_callers_schools() {
    let db = TestDb::with_schools().await;
    let schools = [PRIMARY, PRIMARY, INDEPENDENT, BIRMINGHAM, PRIMARY];
    for (i, urn) in schools.into_iter().enumerate() {
        let feed = NewFeed {
            school_urn: urn,
            ..new_feed(i as u128 + 1, &format!("key-{i}"))
        };
        rollcall_db::register_feed(&db.pool, &feed).await.unwrap();
    }
    let access = |kind| rollcall_db::Access::of(&rollcall_db::Principal::authenticated("t", kind));
    let la = access(rollcall_db::PrincipalKind::La(937));
    let (since, until) = (at("2000-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"));
    let ids = |rows: &[FeedRow]| rows.iter().map(|r| r.feed_id).collect::<Vec<_>>();

    let all = rollcall_db::list_feeds(&db.pool, &la, None, since, until, None, 10)
        .await
        .unwrap();
    // Birmingham's feed is another LA's; newest first.
    assert_eq!(ids(&all), [id(5), id(3), id(2), id(1)]);
    assert!(all.iter().all(|r| r.findings.is_none()));
    let first = rollcall_db::list_feeds(&db.pool, &la, None, since, until, None, 2)
        .await
        .unwrap();
    let last = first.last().unwrap();
    let cursor = rollcall_db::FeedCursor {
        received_at: last.received_at,
        feed_id: last.feed_id,
    };
    let second = rollcall_db::list_feeds(&db.pool, &la, None, since, until, Some(cursor), 2)
        .await
        .unwrap();
    assert_eq!([ids(&first), ids(&second)].concat(), ids(&all));

    let one_school = rollcall_db::list_feeds(&db.pool, &la, Some(PRIMARY), since, until, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&one_school), [id(5), id(2), id(1)]);
    let elsewhere =
        rollcall_db::list_feeds(&db.pool, &la, Some(BIRMINGHAM), since, until, None, 10)
            .await
            .unwrap();
    assert!(elsewhere.is_empty());
    let vendor = access(rollcall_db::PrincipalKind::Vendor {
        vendor: "mis".into(),
        schools: vec![INDEPENDENT],
    });
    let vendors = rollcall_db::list_feeds(&db.pool, &vendor, None, since, until, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&vendors), [id(3)]);
    let before = rollcall_db::list_feeds(
        &db.pool,
        &la,
        None,
        since,
        at("2001-01-01T00:00:00Z"),
        None,
        10,
    )
    .await
    .unwrap();
    assert!(before.is_empty());
    db.close().await;
}

/// A feed with more findings than one answer holds: the receipt lists the first that fit and
/// counts the rest, its summary counts them all, and `feed_findings` keeps every one, read in
/// pages in order.
#[tokio::test]
async fn every_finding_is_kept_and_the_receipt_lists_those_that_fit() {
    use rollcall_domain::validation::{
        ANSWER_FINDINGS_BYTES, Finding, FindingCode, RecordRef, fitting,
    };
    let db = TestDb::with_schools().await;
    let mut feed = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        Vec::new(),
        Vec::new(),
    );
    let findings: Vec<Finding> = (0..40_000)
        .map(|i| Finding {
            code: FindingCode::UnknownCode,
            severity: FindingCode::UnknownCode.severity(),
            record: RecordRef::Mark(i),
            field: "code",
            message: "not a national attendance code in the 2024 code set, nor a retired one"
                .into(),
        })
        .collect();
    let fit = fitting(&findings, ANSWER_FINDINGS_BYTES);
    assert!(fit < findings.len(), "more than one answer holds");
    feed.outcome.summary.marks_rejected = 40_000;
    feed.outcome.findings = findings;
    rollcall_db::apply_validated_feed(&db.pool, &feed)
        .await
        .unwrap();

    let row = rollcall_db::get_feed(&db.pool, id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.findings.unwrap().as_array().unwrap().len(), fit);
    assert_eq!(row.findings_omitted, Some((40_000 - fit) as i32));
    let summary = row.finding_summary.unwrap();
    assert_eq!(summary[0]["code"], "UNKNOWN_CODE");
    assert_eq!(summary[0]["count"], 40_000);
    assert_eq!(summary[0]["first"].as_array().unwrap().len(), 5);

    let mut read = Vec::new();
    let mut after = None;
    loop {
        let page = rollcall_db::feed_findings_page(&db.pool, id(1), after, None, 7_000)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.ordinal);
        read.extend(page);
    }
    assert_eq!(
        read.iter().map(|f| f.record_index).collect::<Vec<_>>(),
        (0..40_000).collect::<Vec<_>>(),
        "every finding once, in order"
    );
    let none = rollcall_db::feed_findings_page(&db.pool, id(1), None, Some("UPN_LENGTH"), 10)
        .await
        .unwrap();
    assert!(none.is_empty());
    db.close().await;
}

/// A watcher never passes a feed whose answering transaction is still running: the feed
/// answered later by a transaction that began first is held back until it commits, so a
/// position, once passed, has nothing behind it.
#[tokio::test]
async fn answered_feeds_wait_for_a_transaction_still_running() {
    let db = TestDb::with_schools().await;
    for n in [1, 2] {
        rollcall_db::register_feed(&db.pool, &new_feed(n, &format!("key-{n}")))
            .await
            .unwrap();
    }
    let everyone = rollcall_db::Access::of(&rollcall_db::Principal::authenticated(
        "t",
        rollcall_db::PrincipalKind::Operations,
    ));
    let answer = "update feeds set status = 'processed', processed_at = now(), answered_at = now(),
                         answered_xid = pg_current_xact_id()::text::bigint
                  where feed_id = $1";
    // Feed 1's answer begins first and is still running when feed 2's commits.
    let mut slow = db.pool.begin().await.unwrap();
    sqlx::query(answer)
        .bind(id(1))
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query(answer)
        .bind(id(2))
        .execute(db.pool.pg())
        .await
        .unwrap();
    let read = |after| {
        let (pool, access) = (&db.pool, &everyone);
        async move {
            rollcall_db::answered_feeds(pool, access, after, None, 10)
                .await
                .unwrap()
        }
    };
    assert!(
        read(None).await.is_empty(),
        "feed 2 waits behind feed 1's transaction"
    );
    slow.commit().await.unwrap();
    // Transaction ids are the server's, not the database's: another test's transaction
    // running beside this one holds the answers back too, until it ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let both = loop {
        let both = read(None).await;
        if both.len() == 2 || std::time::Instant::now() > deadline {
            break both;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        both.iter().map(|(f, _)| f.feed_id).collect::<Vec<_>>(),
        [id(1), id(2)],
        "in the order the answers began"
    );
    assert_eq!(
        read(Some(both[0].1))
            .await
            .iter()
            .map(|(f, _)| f.feed_id)
            .collect::<Vec<_>>(),
        [id(2)],
        "after a position: what follows it"
    );
    assert!(read(Some(both[1].1)).await.is_empty());
    db.close().await;
}
