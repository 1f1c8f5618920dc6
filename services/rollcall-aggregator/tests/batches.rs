//! The aggregator against librdkafka's mock cluster and a real PostgreSQL database: batches of
//! several schools' feeds land as they would one by one, offsets are committed only once their
//! feeds are stored, and a poisoned feed holds back only itself and its school.

use std::time::{Duration, Instant};

use prost::Message as _;
use rollcall_db::{Access, Pool, Principal, PrincipalKind, School, Scope};
use rollcall_kafka::mock::MockBroker;
use rollcall_proto::pipeline::v1::{Mark, Pupil, ValidatedFeed};
use rollcall_server::Settings;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const GROUP: &str = "rollcall-aggregator";
const SCHOOLS: [i32; 3] = [100_001, 100_002, 100_003];

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
    let upns: Vec<String> = (0..3)
        .map(|p| format!("A{:06}{:06}", school % 1_000_000, p))
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
        let feed = rollcall_aggregator::to_db(f.clone()).unwrap();
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
async fn a_poisoned_feed_holds_back_only_itself_and_is_retried() {
    let fixture = Fixture::new(16).await;
    // The third school is not in the registry yet: its feed cannot be stored.
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

    // The other schools' feeds, before and after it, are stored; the poisoned school's are not,
    // and the offset stops at the poisoned feed.
    wait_until("the other schools' feeds are stored", async || {
        fixture.processed(&all[0]).await
            && fixture.processed(&all[2]).await
            && fixture.processed(&all[3]).await
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!fixture.processed(&all[1]).await);
    assert!(!fixture.processed(&all[4]).await);
    assert_eq!(fixture.committed().await, 1);

    // Retried as before, it goes through once its school is registered, and so does the rest.
    fixture.register(&SCHOOLS).await;
    wait_until("every offset is committed", async || {
        fixture.committed().await == all.len() as i64
    })
    .await;
    for f in &all {
        assert!(fixture.processed(f).await);
    }
    stop.cancel();
    task.await.unwrap();
    fixture.close().await;
}
