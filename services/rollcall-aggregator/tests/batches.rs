//! The aggregator against librdkafka's mock cluster and a real PostgreSQL database: batches of
//! several schools' feeds land as they would one by one, offsets are committed only once their
//! feeds are stored, and a feed the database refuses for good is parked after a few attempts so
//! that its partition moves on.

use std::time::{Duration, Instant};

use prost::Message as _;
use rollcall_aggregator::Settings;
use rollcall_db::{Access, Pool, Principal, PrincipalKind, School, Scope};
use rollcall_kafka::mock::MockBroker;
use rollcall_proto::pipeline::v1::{Mark, Pupil, ValidatedFeed};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const GROUP: &str = "rollcall-aggregator";
const SCHOOLS: [i32; 3] = [100_001, 100_002, 100_003];
const PARK_AFTER_ATTEMPTS: u32 = 3;

/// A fresh database, the mock broker and settings that point the aggregator at both.
struct Fixture {
    url: String,
    pool: Pool,
    broker: MockBroker,
    settings: Settings,
}

impl Fixture {
    async fn new(batch_max_feeds: usize) -> Fixture {
        let base = std::env::var("ROLLCALL_TEST_DATABASE_URL").unwrap_or(ADMIN_URL.to_owned());
        let root = base
            .rsplit_once('/')
            .map_or(base.as_str(), |(root, _)| root);
        let url = format!("{root}/rollcall_aggtest_{}", Uuid::new_v4().simple());
        rollcall_db::ensure_database(&url).await.unwrap();
        let pool = rollcall_db::open(&url, 4).await.unwrap();
        let broker = MockBroker::new().unwrap();
        let mut settings = Settings::defaults();
        settings.database.url = url.clone();
        settings.kafka.brokers = broker.bootstrap_servers();
        settings.kafka.create_topics = false;
        settings.aggregator.batch_max_feeds = batch_max_feeds;
        settings.aggregator.batch_linger_ms = 200;
        settings.aggregator.park_after_attempts = PARK_AFTER_ATTEMPTS;
        settings.aggregator.lanes = 1;
        // Tests run at once: each worker's operations listener on a port of its own.
        settings.aggregator.ops_listen = "127.0.0.1:0".parse().unwrap();
        broker
            .create_topic(&settings.kafka.topics.validated, 1)
            .unwrap();
        Fixture {
            url,
            pool,
            broker,
            settings,
        }
    }

    async fn register(&self, urns: &[i32]) {
        let schools: Vec<School> = urns
            .iter()
            .map(|&urn| School {
                urn,
                la_code: 937,
                name: format!("School {urn}"),
                phase: "primary".into(),
                school_type: "Academy converter".into(),
                independent: false,
            })
            .collect();
        rollcall_db::upsert_schools(&self.pool, &schools)
            .await
            .unwrap();
    }

    async fn send(&self, feeds: &[ValidatedFeed]) {
        let producer = rollcall_kafka::producer(&self.settings.kafka).unwrap();
        for feed in feeds {
            producer
                .send(
                    &self.settings.kafka.topics.validated,
                    feed.school_urn.to_string().as_bytes(),
                    &feed.encode_to_vec(),
                )
                .await
                .unwrap();
        }
    }

    fn start(&self) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let stop = CancellationToken::new();
        let task = tokio::spawn(rollcall_aggregator_run(self.settings.clone(), stop.clone()));
        (stop, task)
    }

    /// The next offset the aggregator's group will read (0 before any commit).
    async fn committed(&self) -> i64 {
        rollcall_kafka::committed_offsets(
            &self.settings.kafka,
            GROUP,
            &self.settings.kafka.topics.validated,
        )
        .await
        .unwrap()
        .get(&0)
        .copied()
        .unwrap_or(0)
    }

    async fn processed(&self, feed: &ValidatedFeed) -> bool {
        rollcall_db::get_feed(&self.pool, feed.feed_id.parse().unwrap())
            .await
            .unwrap()
            .is_some_and(|f| f.status == "processed")
    }

    async fn close(self) {
        self.pool.close().await;
        drop(self.broker);
        rollcall_db::drop_database(&self.url).await.unwrap();
    }
}

/// A validated feed as the aggregator reads it off the topic.
fn to_domain(feed: ValidatedFeed) -> anyhow::Result<rollcall_domain::feed::ValidatedFeed> {
    Ok(rollcall_pipeline::decode_validated(&feed.encode_to_vec())?)
}

async fn rollcall_aggregator_run(settings: Settings, stop: CancellationToken) {
    rollcall_aggregator::run(settings, stop).await.unwrap();
}

/// Days since 1970-01-01, as the pipeline's messages carry dates.
fn day(s: &str) -> i32 {
    let date: chrono::NaiveDate = s.parse().unwrap();
    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

/// Feed `n` of `school`: its three pupils' marks for one day, the day's codes varying with `n`.
fn feed(school: i32, n: u32, date: &str) -> ValidatedFeed {
    let la = rollcall_domain::LaCode::new(937).unwrap();
    let upns: Vec<String> = (0..3)
        .map(|p| {
            rollcall_domain::Upn::from_parts(la, (school % 10_000) as u16, 14, p)
                .as_str()
                .to_owned()
        })
        .collect();
    let codes = ["/", "N", "I", "L", "O"];
    ValidatedFeed {
        feed_id: Uuid::new_v4().to_string(),
        school_urn: school as u32,
        recorded_at: Some(prost_types::Timestamp {
            seconds: 1_757_000_000 + i64::from(n) * 3600,
            nanos: 0,
        }),
        pupils: upns
            .iter()
            .map(|upn| Pupil {
                upn: upn.clone(),
                forename: "Test".into(),
                surname: "Pupil".into(),
                date_of_birth: Some(day("2015-03-01")),
                admission_date: Some(day("2020-09-01")),
                ..Default::default()
            })
            .collect(),
        marks: upns
            .iter()
            .enumerate()
            .flat_map(|(p, upn)| {
                [0, 1].map(|session| Mark {
                    upn: upn.clone(),
                    date: day(date),
                    session,
                    code: codes[(p + n as usize + session as usize) % codes.len()].into(),
                    minutes_late: None,
                })
            })
            .collect(),
        outcome: None,
    }
}

/// Twelve feeds of three schools, interleaved; some re-send an earlier day with other codes.
fn feeds() -> Vec<ValidatedFeed> {
    let days = ["2025-09-08", "2025-09-09", "2025-09-08", "2025-09-10"];
    let mut feeds = Vec::new();
    for (n, date) in days.iter().enumerate() {
        for school in SCHOOLS {
            feeds.push(feed(school, n as u32, date));
        }
    }
    feeds
}

fn everyone() -> Access {
    Access::of(&Principal::authenticated("test", PrincipalKind::Exporter))
}

/// Sessions per school, enrolment position and code, over September 2025, with each feed's
/// receipt: what the LA would see, whatever the enrolment ids.
async fn outcome(pool: &Pool, feeds: &[ValidatedFeed]) -> Vec<String> {
    let mut out = Vec::new();
    for school in SCHOOLS {
        let counts = rollcall_db::enrolment_code_counts(
            pool,
            &everyone(),
            Scope::School(school),
            "2025-09-01".parse().unwrap(),
            "2025-09-30".parse().unwrap(),
        )
        .await
        .unwrap();
        let totals =
            rollcall_db::school_year_totals(pool, &everyone(), Scope::School(school), 2025)
                .await
                .unwrap();
        out.push(format!(
            "{school}: {} counts, totals {totals:?}",
            counts.len()
        ));
        out.extend(
            counts
                .iter()
                .map(|c| format!("{school} {} {}", c.code, c.sessions)),
        );
    }
    for f in feeds {
        let row = rollcall_db::get_feed(pool, f.feed_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        out.push(format!(
            "{} {} {:?} {:?}",
            f.feed_id, row.status, row.marks_written, row.marks_superseded
        ));
    }
    out
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn batches_land_as_one_by_one_and_commit_offsets_only_after_they_are_stored() {
    let feeds = feeds();
    // The same feeds, one transaction each, straight through the write path.
    let one_by_one = Fixture::new(1).await;
    one_by_one.register(&SCHOOLS).await;
    rollcall_db::sync_codes(&one_by_one.pool, &rollcall_db::domain_codes())
        .await
        .unwrap();
    for f in &feeds {
        let feed = to_domain(f.clone()).unwrap();
        rollcall_db::apply_validated_feed(&one_by_one.pool, &feed)
            .await
            .unwrap();
    }

    let batched = Fixture::new(5).await;
    batched.register(&SCHOOLS).await;
    batched.send(&feeds).await;
    let (stop, task) = batched.start();
    // Whenever the group has committed an offset, every feed before it is stored: the offset
    // is read first, then the receipts.
    let mut seen = Vec::new();
    loop {
        let committed = batched.committed().await;
        for f in &feeds[..committed as usize] {
            assert!(
                batched.processed(f).await,
                "offset {committed} committed before its feeds were stored"
            );
        }
        seen.push(committed);
        if committed == feeds.len() as i64 {
            break;
        }
        assert!(
            seen.len() < 1200,
            "the aggregator stopped at offset {committed}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.cancel();
    task.await.unwrap();
    seen.dedup();
    assert!(
        seen.iter().all(|&c| c == 0 || c % 5 == 0 || c == 12),
        "offsets committed once per batch of 5: {seen:?}"
    );

    // Batches of five feeds: the first five share one transaction (one processing time).
    let mut times = Vec::new();
    for f in &feeds[..5] {
        let row = rollcall_db::get_feed(&batched.pool, f.feed_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        times.push(row.processed_at);
    }
    times.dedup();
    assert_eq!(times.len(), 1, "one transaction for the first batch");
    assert_eq!(
        outcome(&batched.pool, &feeds).await,
        outcome(&one_by_one.pool, &feeds).await
    );
    one_by_one.close().await;
    batched.close().await;
}

#[tokio::test]
async fn a_batch_spread_over_lanes_lands_as_one_by_one() {
    let feeds = feeds();
    let one_by_one = Fixture::new(1).await;
    one_by_one.register(&SCHOOLS).await;
    rollcall_db::sync_codes(&one_by_one.pool, &rollcall_db::domain_codes())
        .await
        .unwrap();
    for f in &feeds {
        rollcall_db::apply_validated_feed(&one_by_one.pool, &to_domain(f.clone()).unwrap())
            .await
            .unwrap();
    }
    let mut laned = Fixture::new(12).await;
    laned.settings.aggregator.lanes = 3;
    laned.register(&SCHOOLS).await;
    laned.send(&feeds).await;
    let (stop, task) = laned.start();
    wait_until("every offset is committed", async || {
        laned.committed().await == feeds.len() as i64
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    // Three schools over three lanes: three transactions, each school's feeds in one.
    let mut times = Vec::new();
    for f in &feeds {
        let row = rollcall_db::get_feed(&laned.pool, f.feed_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        times.push(row.processed_at);
    }
    times.sort();
    times.dedup();
    assert!(times.len() <= 3, "{} transactions", times.len());
    assert_eq!(
        outcome(&laned.pool, &feeds).await,
        outcome(&one_by_one.pool, &feeds).await
    );
    one_by_one.close().await;
    laned.close().await;
}

#[tokio::test]
async fn a_feed_refused_for_good_is_retried_then_parked_and_its_partition_moves_on() {
    let fixture = Fixture::new(16).await;
    // The third school is not in the registry: its feeds can never be stored as they are.
    fixture.register(&SCHOOLS[..2]).await;
    let (a1, poisoned, b1, a2, c2) = (
        feed(SCHOOLS[0], 0, "2025-09-08"),
        feed(SCHOOLS[2], 0, "2025-09-08"),
        feed(SCHOOLS[1], 0, "2025-09-08"),
        feed(SCHOOLS[0], 1, "2025-09-09"),
        feed(SCHOOLS[2], 1, "2025-09-09"),
    );
    let all = [a1, poisoned, b1, a2, c2];
    fixture.send(&all).await;
    let (stop, task) = fixture.start();

    // Every offset is committed: the other schools' feeds are stored, the refused school's two
    // feeds parked after their attempts, each with its refusal.
    wait_until("every offset is committed", async || {
        fixture.committed().await == all.len() as i64
    })
    .await;
    for f in [&all[0], &all[2], &all[3]] {
        assert!(fixture.processed(f).await);
    }
    for (f, offset) in [(&all[1], 1), (&all[4], 4)] {
        assert!(!fixture.processed(f).await);
        let parked = rollcall_db::feed_parking(&fixture.pool, f.feed_id.parse().unwrap())
            .await
            .unwrap()
            .expect("parked");
        assert_eq!(parked.attempts, PARK_AFTER_ATTEMPTS as i32);
        assert_eq!(parked.offset, offset);
        assert_eq!(parked.sqlstate, None);
        assert_eq!(parked.reason, "school 100003 is not in the registry");
    }
    let counts = rollcall_db::pipeline_counts(&fixture.pool).await.unwrap();
    assert_eq!((counts.feeds_processed, counts.feeds_parked), (3, 2));
    stop.cancel();
    task.await.unwrap();
    fixture.close().await;
}

#[tokio::test]
async fn a_nul_the_database_cannot_store_parks_the_feed_and_later_feeds_apply_as_in_order() {
    let fixture = Fixture::new(16).await;
    fixture.register(&SCHOOLS).await;
    // A validator without the text check would send this: a NUL in a forename.
    let mut poisoned = feed(SCHOOLS[0], 0, "2025-09-08");
    poisoned.pupils[1].forename = "Te\0st".into();
    let (a2, b1) = (
        feed(SCHOOLS[0], 1, "2025-09-08"),
        feed(SCHOOLS[1], 0, "2025-09-08"),
    );
    // The gateway recorded it, so its receipt can say parked.
    rollcall_db::register_feed(
        &fixture.pool,
        &rollcall_db::NewFeed {
            feed_id: poisoned.feed_id.parse().unwrap(),
            school_urn: SCHOOLS[0],
            idempotency_key: "nul".into(),
            payload_sha256: vec![0; 32],
            extracted_at: chrono::DateTime::from_timestamp(1_757_000_000, 0).unwrap(),
            code_set: "2024".into(),
            roll_records: 3,
            mark_records: 6,
            sender: "test-mis".into(),
        },
    )
    .await
    .unwrap();
    let sent = [poisoned.clone(), a2.clone(), b1.clone()];
    fixture.send(&sent).await;
    let started = Instant::now();
    let (stop, task) = fixture.start();
    wait_until("every offset is committed", async || {
        fixture.committed().await == sent.len() as i64
    })
    .await;
    let took = started.elapsed();
    stop.cancel();
    task.await.unwrap();
    assert!(fixture.processed(&a2).await && fixture.processed(&b1).await);
    let id = poisoned.feed_id.parse().unwrap();
    let row = rollcall_db::get_feed(&fixture.pool, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "parked");
    let parked = rollcall_db::feed_parking(&fixture.pool, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(parked.sqlstate.as_deref(), Some("22021"));
    assert_eq!(parked.field.as_deref(), Some("pupil 1 forename"));
    assert!(!parked.reason.contains("Te"), "{}", parked.reason);
    // Five attempts with backoff from 100 ms: seconds, not a stuck partition.
    assert!(took < Duration::from_secs(20), "took {took:?}");

    // Replayed once fixed, after its school's later feed: the tables are those of the three
    // feeds applied in the order they were sent, because the newest version of each session
    // wins whatever the order.
    let mut fixed = poisoned.clone();
    fixed.pupils[1].forename = "Test".into();
    rollcall_db::apply_validated_feed(&fixture.pool, &to_domain(fixed.clone()).unwrap())
        .await
        .unwrap();
    let in_order = Fixture::new(1).await;
    in_order.register(&SCHOOLS).await;
    rollcall_db::sync_codes(&in_order.pool, &rollcall_db::domain_codes())
        .await
        .unwrap();
    for f in [&fixed, &a2, &b1] {
        rollcall_db::apply_validated_feed(&in_order.pool, &to_domain(f.clone()).unwrap())
            .await
            .unwrap();
    }
    let feeds = [fixed, a2, b1];
    let tables = |o: Vec<String>| -> Vec<String> {
        // Receipts' written/superseded counts depend on the order; the stored tables do not.
        o.into_iter().filter(|l| !l.contains("processed")).collect()
    };
    assert_eq!(
        tables(outcome(&fixture.pool, &feeds).await),
        tables(outcome(&in_order.pool, &feeds).await)
    );
    in_order.close().await;
    fixture.close().await;
}
