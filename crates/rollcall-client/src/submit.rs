//! Sending a feed to the gateway: one `SubmitFeed` client stream of the header, then the roll and
//! the marks in chunks, answered by the feed's receipt.

use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_proto::feed::v1::{
    FeedHeader, FeedReceipt, MarkChunk, RollChunk, SubmitFeedRequest, ValidationOutcome,
    feed_service_client::FeedServiceClient, submit_feed_request::Part,
};

pub use rollcall_pipeline::records::{mark_record, roll_record};

use crate::AuthChannel;

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
    client: &mut FeedServiceClient<AuthChannel>,
    feed: &Submission<'_>,
) -> Result<FeedReceipt, tonic::Status> {
    client
        .submit_feed(tokio_stream::iter(requests(feed)))
        .await
        .map(tonic::Response::into_inner)
}

/// A dry run: streams the feed as [`submit`] does and returns what validation finds, with
/// nothing stored or enqueued (the idempotency key is not used up).
pub async fn validate(
    client: &mut FeedServiceClient<AuthChannel>,
    feed: &Submission<'_>,
) -> Result<ValidationOutcome, tonic::Status> {
    client
        .validate_feed(tokio_stream::iter(requests(feed)))
        .await
        .map(tonic::Response::into_inner)
}

/// The stream's messages: the header, then roll chunks, then mark chunks, each of at most
/// [`CHUNK_RECORDS`] records.
pub fn requests(feed: &Submission<'_>) -> Vec<SubmitFeedRequest> {
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
    requests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_streams_as_a_header_then_chunks_of_at_most_5000() {
        let roll = vec![RawPupil::default(); 5_001];
        let marks = vec![RawMark::default(); 10_000];
        let extracted_at = chrono::DateTime::from_timestamp(1_760_000_000, 5).unwrap();
        let parts: Vec<_> = requests(&Submission {
            school_urn: "140001".into(),
            extracted_at,
            idempotency_key: "k".into(),
            code_set: "2024",
            roll: &roll,
            marks: &marks,
        })
        .into_iter()
        .map(|r| r.part.unwrap())
        .collect();
        let sizes: Vec<(&str, usize)> = parts
            .iter()
            .map(|p| match p {
                Part::Header(_) => ("header", 0),
                Part::Roll(c) => ("roll", c.records.len()),
                Part::Marks(c) => ("marks", c.records.len()),
            })
            .collect();
        assert_eq!(
            sizes,
            [
                ("header", 0),
                ("roll", 5_000),
                ("roll", 1),
                ("marks", 5_000),
                ("marks", 5_000)
            ]
        );
        let Part::Header(header) = &parts[0] else {
            unreachable!()
        };
        let ts = header.extracted_at.unwrap();
        assert_eq!((ts.seconds, ts.nanos), (1_760_000_000, 5));
        assert_eq!(
            (header.school_urn.as_str(), header.code_set.as_str()),
            ("140001", "2024")
        );
    }

    #[test]
    fn synthetic_records_map_field_by_field() {
        let la = rollcall_synth::SyntheticLa::generate(rollcall_synth::LaSpec::small());
        let feed = &la.feeds[0];
        let p = &feed.roll[0];
        let r = roll_record(p);
        assert_eq!(
            (
                r.upn.as_str(),
                r.date_of_birth.as_str(),
                r.year_group.as_str(),
                r.fsm.as_str()
            ),
            (
                p.upn.as_str(),
                p.date_of_birth.as_str(),
                p.year_group.as_str(),
                p.fsm.as_str()
            )
        );
        let m = &feed.marks[0];
        let r = mark_record(m);
        assert_eq!(
            (r.upn, r.date, r.session, r.code, r.minutes_late),
            (
                m.upn.clone(),
                m.date.clone(),
                m.session.clone(),
                m.code.clone(),
                m.minutes_late.clone()
            )
        );
    }
}
