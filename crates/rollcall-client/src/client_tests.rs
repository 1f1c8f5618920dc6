//! The client pieces against an in-process fake gateway: what goes on the wire, polling for
//! receipts, and how failures read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_proto::feed::v1::feed_service_server::{FeedService, FeedServiceServer};
use rollcall_proto::feed::v1::submit_feed_request::Part;
use rollcall_proto::feed::v1::{
    FeedHeader, FeedReceipt, FeedStatus, Finding, GetFeedReceiptRequest, GetReconciliationRequest,
    ListFeedFindingsRequest, ListFeedFindingsResponse, ListFeedsRequest, ListFeedsResponse,
    MarkRecord, Reconciliation, RollRecord, SubmitFeedRequest, ValidationOutcome,
    WatchReceiptsRequest, WatchedReceipt,
};
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status, Streaming};

use super::*;

/// The findings of the fake's feed `many`: more than two pages.
const MANY_FINDINGS: u32 = 2345;

/// What the fake gateway saw of one submitted feed.
#[derive(Clone, Debug, Default)]
struct Seen {
    header: FeedHeader,
    /// Records per message after the header: ("roll" | "marks", count).
    chunks: Vec<(&'static str, usize)>,
    roll: Vec<RollRecord>,
    marks: Vec<MarkRecord>,
}

/// Feeds are answered `enqueued`; a feed whose key is `after-N` turns processed on its Nth
/// receipt request, `never` never does; an unknown id is not found.
#[derive(Clone, Default)]
struct Fake {
    feeds: Arc<Mutex<Vec<Seen>>>,
    polls: Arc<Mutex<HashMap<String, u32>>>,
}

fn with_code(mut status: Status, code: &'static str) -> Status {
    status.metadata_mut().insert(
        "rollcall-error-code",
        tonic::metadata::MetadataValue::from_static(code),
    );
    status
}

#[tonic::async_trait]
impl FeedService for Fake {
    /// Listing is tested against the real gateway (tests/e2e/cli.rs), not this fake.
    async fn list_feeds(
        &self,
        _request: Request<ListFeedsRequest>,
    ) -> Result<Response<ListFeedsResponse>, Status> {
        Err(Status::unimplemented("the fake gateway lists no feeds"))
    }

    /// Feed `many` has [`MANY_FINDINGS`] findings, given in pages of at most 1000 (the
    /// gateway's default), each naming its mark by position; any other feed has none.
    async fn list_feed_findings(
        &self,
        request: Request<ListFeedFindingsRequest>,
    ) -> Result<Response<ListFeedFindingsResponse>, Status> {
        let request = request.into_inner();
        let total = if request.feed_id == "many" {
            MANY_FINDINGS
        } else {
            0
        };
        let from: u32 = request.page_token.parse().unwrap_or(0);
        let size = if request.page_size == 0 {
            1000
        } else {
            request.page_size
        };
        let to = (from + size).min(total);
        Ok(Response::new(ListFeedFindingsResponse {
            findings: (from..to)
                .map(|i| Finding {
                    code: "UNKNOWN_CODE".into(),
                    severity: "error".into(),
                    record_kind: "mark".into(),
                    record_index: i,
                    field: "code".into(),
                    message: "not an attendance code".into(),
                })
                .collect(),
            next_page_token: if to < total {
                to.to_string()
            } else {
                String::new()
            },
        }))
    }

    type WatchReceiptsStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<WatchedReceipt, Status>> + Send>>;

    /// Reconciliation is tested against the real gateway (tests/e2e/reconcile.rs).
    async fn get_reconciliation(
        &self,
        _request: Request<GetReconciliationRequest>,
    ) -> Result<Response<Reconciliation>, Status> {
        Err(Status::unimplemented("the fake gateway reconciles nothing"))
    }

    /// Watching is tested against the real gateway (tests/e2e/watch.rs), not this fake.
    async fn watch_receipts(
        &self,
        _request: Request<WatchReceiptsRequest>,
    ) -> Result<Response<Self::WatchReceiptsStream>, Status> {
        Err(Status::unimplemented("the fake gateway pushes no receipts"))
    }

    /// The dry run is tested against the real gateway (tests/e2e/cli.rs), not this fake.
    async fn validate_feed(
        &self,
        _request: Request<Streaming<SubmitFeedRequest>>,
    ) -> Result<Response<ValidationOutcome>, Status> {
        Err(Status::unimplemented("the fake gateway does no dry runs"))
    }

    async fn submit_feed(
        &self,
        request: Request<Streaming<SubmitFeedRequest>>,
    ) -> Result<Response<FeedReceipt>, Status> {
        let mut stream = request.into_inner();
        let mut seen = Seen::default();
        let Some(Ok(SubmitFeedRequest {
            part: Some(Part::Header(header)),
        })) = stream.next().await
        else {
            return Err(with_code(
                Status::invalid_argument("the first message must be the header"),
                "INVALID_ARGUMENT",
            ));
        };
        seen.header = header;
        while let Some(message) = stream.next().await {
            match message?.part {
                Some(Part::Roll(chunk)) => {
                    seen.chunks.push(("roll", chunk.records.len()));
                    seen.roll.extend(chunk.records);
                }
                Some(Part::Marks(chunk)) => {
                    seen.chunks.push(("marks", chunk.records.len()));
                    seen.marks.extend(chunk.records);
                }
                _ => return Err(Status::invalid_argument("a second header")),
            }
        }
        let receipt = FeedReceipt {
            feed_id: seen.header.idempotency_key.clone(),
            school_urn: seen.header.school_urn.clone(),
            status: FeedStatus::Enqueued as i32,
            roll_records: seen.roll.len() as u32,
            mark_records: seen.marks.len() as u32,
            ..Default::default()
        };
        self.feeds.lock().unwrap().push(seen);
        Ok(Response::new(receipt))
    }

    async fn get_feed_receipt(
        &self,
        request: Request<GetFeedReceiptRequest>,
    ) -> Result<Response<FeedReceipt>, Status> {
        let id = request.into_inner().feed_id;
        let after = match id.strip_prefix("after-") {
            Some(n) => n.parse().unwrap(),
            None if id == "never" => u32::MAX,
            None => {
                return Err(with_code(Status::not_found("no such feed"), "NOT_FOUND"));
            }
        };
        let mut polls = self.polls.lock().unwrap();
        let n = polls.entry(id.clone()).or_default();
        *n += 1;
        let processed = *n >= after;
        Ok(Response::new(FeedReceipt {
            feed_id: id,
            status: if processed {
                FeedStatus::Processed
            } else {
                FeedStatus::Enqueued
            } as i32,
            outcome: processed.then(ValidationOutcome::default),
            ..Default::default()
        }))
    }
}

async fn serve(fake: Fake) -> FeedServiceClient<AuthChannel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FeedServiceServer::new(fake))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    FeedServiceClient::new(
        connect(&format!("http://{addr}"), &Credentials::token("rc_test"))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn a_synthetic_feed_arrives_whole_header_first() {
    let fake = Fake::default();
    let mut client = serve(fake.clone()).await;
    let la = rollcall_synth::SyntheticLa::generate(rollcall_synth::LaSpec::small());
    let feed = la.feeds.iter().max_by_key(|f| f.marks.len()).unwrap();
    let receipt = submit_feed(&mut client, feed, "2024").await.unwrap();
    assert_eq!(receipt.mark_records as usize, feed.marks.len());

    let seen = fake.feeds.lock().unwrap()[0].clone();
    assert_eq!(seen.header.school_urn, format!("{:06}", feed.urn));
    assert_eq!(seen.header.idempotency_key, feed.idempotency_key);
    assert_eq!(seen.header.code_set, "2024");
    assert_eq!(
        seen.header.extracted_at.unwrap().seconds,
        feed.extracted_at.timestamp()
    );
    assert_eq!(
        seen.roll,
        feed.roll.iter().map(roll_record).collect::<Vec<_>>()
    );
    assert_eq!(
        seen.marks,
        feed.marks.iter().map(mark_record).collect::<Vec<_>>()
    );
    assert!(
        seen.chunks
            .iter()
            .all(|(_, n)| (1..=CHUNK_RECORDS).contains(n))
    );
}

#[tokio::test]
async fn every_finding_of_a_feed_is_read_once_page_after_page() {
    let mut client = serve(Fake::default()).await;
    let findings = feed_findings(&mut client, "many", None).await.unwrap();
    let positions: Vec<u32> = findings.iter().map(|f| f.record_index).collect();
    assert_eq!(positions, (0..MANY_FINDINGS).collect::<Vec<_>>());
    assert!(
        feed_findings(&mut client, "none", None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn waiting_returns_receipts_in_order_once_all_are_processed() {
    let mut client = serve(Fake::default()).await;
    let ids = [
        "after-3".to_owned(),
        "after-1".to_owned(),
        "after-2".to_owned(),
    ];
    let receipts = wait_processed(&mut client, &ids, Duration::from_secs(30))
        .await
        .unwrap();
    let got: Vec<&str> = receipts.iter().map(|r| r.feed_id.as_str()).collect();
    assert_eq!(got, ["after-3", "after-1", "after-2"]);
    assert!(receipts.iter().all(|r| r.status() == FeedStatus::Processed));
}

#[tokio::test]
async fn waiting_too_long_says_how_many_and_which() {
    let mut client = serve(Fake::default()).await;
    let ids = ["after-2".to_owned(), "never".to_owned()];
    let err = wait_processed(&mut client, &ids, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 of 2 feeds not processed or parked within 0s (first waiting: never)"
    );
}

#[tokio::test]
async fn a_refusal_reads_as_one_line_with_its_stable_code() {
    let mut client = serve(Fake::default()).await;
    let err = wait_processed(&mut client, &["f-404".to_owned()], Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "not found: no such feed [NOT_FOUND]");
}
