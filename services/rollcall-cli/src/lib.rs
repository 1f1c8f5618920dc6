//! The `rollcall` command-line client, and the client pieces the demo, the benchmarks and the
//! end-to-end tests share: streaming a feed to the gateway, waiting for receipts, importing the
//! school registry.

pub mod csvfile;
pub mod table;

use std::time::{Duration, Instant};

use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_proto::feed::v1::{
    FeedHeader, FeedReceipt, FeedStatus, GetFeedReceiptRequest, MarkChunk, MarkRecord, RollChunk,
    RollRecord, SubmitFeedRequest, feed_service_client::FeedServiceClient,
    submit_feed_request::Part,
};
use rollcall_proto::query::v1::{
    ImportSchoolsRequest, School, registry_service_client::RegistryServiceClient,
};
use tonic::transport::Channel;

/// Records per stream message: well under gRPC's default 4 MiB message limit.
pub const CHUNK_RECORDS: usize = 5_000;

/// A feed ready to send: header fields and the records as text.
pub struct Submission<'a> {
    pub school_urn: String,
    pub extracted_at: chrono::DateTime<chrono::Utc>,
    pub idempotency_key: String,
    pub code_set: &'a str,
    pub roll: &'a [RawPupil],
    pub marks: &'a [RawMark],
}

/// Streams one feed to the gateway (header, then roll and mark chunks) and returns its receipt.
pub async fn submit(
    client: &mut FeedServiceClient<Channel>,
    feed: &Submission<'_>,
) -> Result<FeedReceipt, tonic::Status> {
    let header = FeedHeader {
        school_urn: feed.school_urn.clone(),
        extracted_at: Some(prost_types::Timestamp {
            seconds: feed.extracted_at.timestamp(),
            nanos: feed.extracted_at.timestamp_subsec_nanos() as i32,
        }),
        idempotency_key: feed.idempotency_key.clone(),
        code_set: feed.code_set.to_owned(),
    };
    let mut requests = vec![SubmitFeedRequest {
        part: Some(Part::Header(header)),
    }];
    for chunk in feed.roll.chunks(CHUNK_RECORDS) {
        let records = chunk.iter().map(roll_record).collect();
        requests.push(SubmitFeedRequest {
            part: Some(Part::Roll(RollChunk { records })),
        });
    }
    for chunk in feed.marks.chunks(CHUNK_RECORDS) {
        let records = chunk.iter().map(mark_record).collect();
        requests.push(SubmitFeedRequest {
            part: Some(Part::Marks(MarkChunk { records })),
        });
    }
    client
        .submit_feed(tokio_stream::iter(requests))
        .await
        .map(tonic::Response::into_inner)
}

/// Streams a synthetic school's feed, as its vendor would.
pub async fn submit_feed(
    client: &mut FeedServiceClient<Channel>,
    feed: &rollcall_synth::Feed,
    code_set: &str,
) -> Result<FeedReceipt, tonic::Status> {
    submit(
        client,
        &Submission {
            school_urn: format!("{:06}", feed.urn),
            extracted_at: feed.extracted_at,
            idempotency_key: feed.idempotency_key.clone(),
            code_set,
            roll: &feed.roll,
            marks: &feed.marks,
        },
    )
    .await
}

fn roll_record(p: &RawPupil) -> RollRecord {
    RollRecord {
        upn: p.upn.clone(),
        forename: p.forename.clone(),
        surname: p.surname.clone(),
        date_of_birth: p.date_of_birth.clone(),
        sex: p.sex.clone(),
        year_group: p.year_group.clone(),
        admission_date: p.admission_date.clone(),
        leaving_date: p.leaving_date.clone(),
        fsm: p.fsm.clone(),
        sen_provision: p.sen_provision.clone(),
        ethnicity: p.ethnicity.clone(),
        looked_after: p.looked_after.clone(),
    }
}

fn mark_record(m: &RawMark) -> MarkRecord {
    MarkRecord {
        upn: m.upn.clone(),
        date: m.date.clone(),
        session: m.session.clone(),
        code: m.code.clone(),
        minutes_late: m.minutes_late.clone(),
    }
}

/// Polls until every feed is processed; returns their receipts in the same order.
pub async fn wait_processed(
    client: &mut FeedServiceClient<Channel>,
    feed_ids: &[String],
    timeout: Duration,
) -> anyhow::Result<Vec<FeedReceipt>> {
    let deadline = Instant::now() + timeout;
    let mut receipts: Vec<Option<FeedReceipt>> = vec![None; feed_ids.len()];
    let mut pending: Vec<usize> = (0..feed_ids.len()).collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for index in pending {
            let receipt = client
                .get_feed_receipt(GetFeedReceiptRequest {
                    feed_id: feed_ids[index].clone(),
                })
                .await?
                .into_inner();
            if receipt.status() == FeedStatus::Processed {
                receipts[index] = Some(receipt);
            } else {
                still.push(index);
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} feeds not processed within {}s",
            pending.len(),
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(receipts
        .into_iter()
        .map(|r| r.expect("every receipt collected"))
        .collect())
}

/// Imports the synthetic LA's schools into the registry.
pub async fn import_synthetic_schools(
    client: &mut RegistryServiceClient<Channel>,
    schools: &[rollcall_synth::School],
) -> Result<u64, tonic::Status> {
    let schools = schools
        .iter()
        .map(|s| School {
            urn: format!("{:06}", s.urn),
            la_code: format!("{:03}", s.la_code),
            name: s.name.clone(),
            phase: s.phase.clone(),
            school_type: s.school_type.clone(),
            independent: s.independent,
        })
        .collect();
    Ok(client
        .import_schools(ImportSchoolsRequest { schools })
        .await?
        .into_inner()
        .imported)
}

/// A gRPC error as one line: code, message and Rollcall's stable error code when present.
pub fn describe(status: &tonic::Status) -> String {
    let code = status
        .metadata()
        .get("rollcall-error-code")
        .and_then(|v| v.to_str().ok());
    match code {
        Some(code) => {
            format!("{:?}: {} [{code}]", status.code(), status.message()).to_lowercase_first()
        }
        None => format!("{:?}: {}", status.code(), status.message()).to_lowercase_first(),
    }
}

trait LowercaseFirst {
    fn to_lowercase_first(self) -> String;
}

impl LowercaseFirst for String {
    fn to_lowercase_first(self) -> String {
        let mut chars = self.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => self,
        }
    }
}
