//! The aggregation worker. For each validated feed it writes the school's enrolments and marks to
//! PostgreSQL in one transaction (a mark is keyed by enrolment, date and session; the latest
//! recorded version wins), moves the year totals by what changed, and stores the feed's outcome
//! for its receipt; only then it commits the Kafka offset. Replaying a feed changes nothing.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use prost::Message as _;
use rollcall_db::{EnrolmentInput, FeedOutcome, MarkInput, Pool, ValidatedFeed};
use rollcall_kafka::Message;
use rollcall_server::{Settings, receipt};
use tokio_util::sync::CancellationToken;

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = rollcall_db::open(&settings.database.url, settings.database.max_connections)
        .await
        .context("cannot open the database")?;
    rollcall_db::sync_codes(&pool, &rollcall_db::domain_codes())
        .await
        .context("cannot sync attendance codes")?;
    let rebuilt = rollcall_db::rebuild_pending_totals(&pool)
        .await
        .context("cannot rebuild year totals")?;
    if rebuilt > 0 {
        tracing::info!(schools = rebuilt, "year totals rebuilt from registers");
    }
    let kafka = &settings.kafka;
    if kafka.create_topics {
        rollcall_kafka::ensure_topics(kafka, &[&kafka.topics.validated])
            .await
            .context("cannot create kafka topics")?;
    }
    let consumer = rollcall_kafka::consumer(kafka, &kafka.groups.aggregator)
        .context("cannot create kafka consumer")?;
    rollcall_kafka::consume(&consumer, &kafka.topics.validated, shutdown, |message| {
        handle(&pool, message)
    })
    .await?;
    Ok(())
}

async fn handle(pool: &Pool, message: Message) -> anyhow::Result<()> {
    let feed = rollcall_proto::pipeline::v1::ValidatedFeed::decode(message.payload.as_slice())
        .context("undecodable validated feed")?;
    let feed = to_db(feed)?;
    let stats = rollcall_db::apply_validated_feed(pool, &feed).await?;
    tracing::info!(
        school = feed.school_urn,
        feed_id = %feed.feed_id,
        marks_written = stats.marks_written,
        marks_superseded = stats.marks_superseded,
        "feed stored"
    );
    Ok(())
}

fn to_db(feed: rollcall_proto::pipeline::v1::ValidatedFeed) -> anyhow::Result<ValidatedFeed> {
    let recorded_at = feed
        .recorded_at
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .context("validated feed without recorded_at")?;
    let outcome = feed.outcome.unwrap_or_default();
    let date =
        |days: i32| DateTime::UNIX_EPOCH.date_naive() + chrono::Duration::days(i64::from(days));
    let opt_date = |days: Option<i32>| days.map(date);
    Ok(ValidatedFeed {
        feed_id: feed
            .feed_id
            .parse()
            .context("validated feed with a malformed feed id")?,
        school_urn: feed.school_urn as i32,
        recorded_at,
        pupils: feed
            .pupils
            .into_iter()
            .map(|p| EnrolmentInput {
                upn: p.upn,
                forename: p.forename,
                surname: p.surname,
                date_of_birth: opt_date(p.date_of_birth),
                sex: p.sex,
                year_group: p.year_group,
                admission_date: opt_date(p.admission_date),
                leaving_date: opt_date(p.leaving_date),
                fsm: p.fsm,
                sen_provision: p.sen_provision,
                ethnicity: p.ethnicity,
                looked_after: p.looked_after,
            })
            .collect(),
        marks: feed
            .marks
            .into_iter()
            .map(|m| MarkInput {
                upn: m.upn,
                date: date(m.date),
                session: m.session as i16,
                code: m.code,
                minutes_late: m.minutes_late.map(|v| v.min(i16::MAX as u32) as i16),
            })
            .collect(),
        outcome: FeedOutcome {
            roll_accepted: outcome.roll_accepted as i32,
            roll_rejected: outcome.roll_rejected as i32,
            marks_accepted: outcome.marks_accepted as i32,
            marks_rejected: outcome.marks_rejected as i32,
            records_warned: outcome.records_warned as i32,
            findings: receipt::findings_to_json(&outcome.findings),
        },
    })
}
