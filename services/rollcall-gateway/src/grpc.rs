//! The `FeedService` handlers, and the only place in the gateway that sees protobuf types.

use chrono::{DateTime, Utc};
use prost::Message as _;
use rollcall_db::{Access, FeedRow, NewFeed, Pool, Principal, Registered};
use rollcall_domain::Urn;
use rollcall_domain::feed::ReceivedFeed;
use rollcall_domain::validation::{self, RawMark, RawPupil};
use rollcall_kafka::Producer;
use rollcall_pipeline::records::{finding, raw_mark, raw_pupil};
use rollcall_proto::feed::v1::{
    FeedHeader, FeedReceipt, GetFeedReceiptRequest, GetReconciliationRequest,
    ListFeedFindingsRequest, ListFeedFindingsResponse, ListFeedsRequest, ListFeedsResponse,
    MarkRecord, Reconciliation, RollRecord, SubmitFeedRequest, ValidationOutcome,
    WatchReceiptsRequest, feed_service_server::FeedService, feed_service_server::FeedServiceServer,
    submit_feed_request::Part,
};
use rollcall_proto::pipeline::v1::FeedEnvelope;
use rollcall_server::{ApiError, ErrorCode};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::Settings;
use crate::admission::{Admission, Shed, Ticket};
use crate::metrics::{FeedMetrics, Outcome};
use crate::{grpc_receipts, grpc_reconcile, grpc_watch};

/// Feed ids are UUIDv5 of `urn/idempotency_key` in this namespace: a resend gets the same id.
const FEED_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5f2b_9c1e_8a47_4d3b_9e61_0c7a_d2f4_1b88);
/// Code sets a sender may declare. Marks are still checked against the set in force on their date.
const CODE_SETS: &[&str] = &["2024"];
const MAX_IDEMPOTENCY_KEY: usize = 128;
/// The largest stream message the gateway reads: gRPC's default, set here so that the refusal
/// can name it.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

pub struct Gateway {
    pool: Pool,
    producer: Producer,
    topic: String,
    limits: FeedLimits,
    admission: Admission,
    metrics: FeedMetrics,
    /// Bumped whenever the pipeline answers a feed: wakes the receipt watchers.
    answers: tokio::sync::watch::Receiver<u64>,
}

impl Gateway {
    pub fn new(
        pool: Pool,
        producer: Producer,
        settings: &Settings,
        metrics: FeedMetrics,
        answers: tokio::sync::watch::Receiver<u64>,
    ) -> Gateway {
        Gateway {
            answers,
            pool,
            producer,
            metrics,
            topic: settings.kafka.topics.feeds.clone(),
            limits: FeedLimits {
                max_feed_bytes: settings.gateway.max_feed_bytes,
                max_records: settings.gateway.max_records,
            },
            admission: Admission::new(settings.gateway.admission()),
        }
    }

    pub fn into_server(self) -> FeedServiceServer<Gateway> {
        FeedServiceServer::new(self).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// Reads the whole stream, enforcing the limits as it goes so an oversized feed is refused
    /// without being buffered in full. The sender must be allowed to send for the header's
    /// school before a single record is read: a feed for a school it is not registered for is
    /// refused here, so nothing of it reaches the database or Kafka. The feed's place and the
    /// bytes it holds (`admission.rs`) come back with it, to be kept until it is answered; a
    /// stream that cannot have them is shed before its next message is read.
    async fn read_feed(
        &self,
        sender: &Principal,
        mut stream: Streaming<SubmitFeedRequest>,
    ) -> Result<(FeedHeader, Vec<RollRecord>, Vec<MarkRecord>, Ticket), Status> {
        let mut ticket = self.admission.admit().await.map_err(shed)?;
        let first = stream
            .message()
            .await
            .map_err(stream_error)?
            .ok_or_else(|| {
                ApiError::invalid("empty stream: the first message must be the feed header")
            })?;
        let (mut parts, checked) = FeedParts::start(first, self.limits)?;
        ticket.hold(parts.bytes()).await.map_err(shed)?;
        let urn = checked.urn;
        if !sender.may_submit_for(urn.get() as i32) {
            tracing::info!(
                school = urn.get(),
                key_id = sender.key_id(),
                "feed refused: sender not registered for the school"
            );
            return Err(ApiError::new(
                ErrorCode::OutsideOrganisation,
                "you are not registered to send feeds for this school",
            )
            .into());
        }
        while let Some(message) = stream.message().await.map_err(stream_error)? {
            // The bytes the parts counted for their own limit are the ones the budget holds.
            let before = parts.bytes();
            parts.add(message)?;
            ticket.hold(parts.bytes() - before).await.map_err(shed)?;
        }
        Ok((parts.header, parts.roll, parts.marks, ticket))
    }

    /// Writes the feed to the feeds topic (as many records as it takes, in order on its
    /// school's partition) and, once every one was acknowledged, marks it enqueued.
    async fn enqueue(&self, feed: &ReceivedFeed) -> Result<(), Status> {
        let key = feed.school.get().to_string();
        let feed_id = feed.feed_id;
        // The validator's span for this feed continues this one (W3C trace context in the
        // records' headers).
        let produce = tracing::info_span!(
            "kafka.produce",
            topic = %self.topic,
            school = feed.school.get(),
            %feed_id
        );
        let trace = rollcall_telemetry::context::headers_of(&produce);
        let sent = self
            .producer
            .send_payload(
                &self.topic,
                key.as_bytes(),
                feed_id.to_string().as_bytes(),
                &rollcall_pipeline::encode_received(feed),
                &trace,
            )
            .instrument(produce)
            .await
            .map_err(|err| {
                ApiError::broker(
                    "cannot enqueue the feed; retry with the same idempotency key",
                    err.kind(),
                    &err,
                )
            })?;
        let position = (sent.first.partition, sent.first.offset);
        rollcall_db::mark_feed_enqueued(&self.pool, feed_id, Some(position))
            .await
            .map_err(|err| {
                ApiError::database(
                    "feed enqueued but its receipt was not saved (send it again with the same idempotency key)",
                    &err,
                )
            })?;
        Ok(())
    }

    /// `SubmitFeed` itself: the receipt, and the roll and mark records when this call enqueued
    /// the feed (`None` for a duplicate whose first receipt is returned).
    async fn submit(
        &self,
        sender: &Principal,
        stream: Streaming<SubmitFeedRequest>,
    ) -> Result<(FeedReceipt, Option<(usize, usize)>), Status> {
        // The ticket is held until the answer: the feed's memory is in use until then.
        let (header, roll, marks, _ticket) = self.read_feed(sender, stream).await?;
        let checked = check_header(&header)?;

        let envelope = FeedEnvelope {
            feed_id: String::new(),
            header: Some(FeedHeader {
                extracted_at: None,
                ..header
            }),
            received_at: None,
            roll,
            marks,
        };
        // The content an idempotency key stands for: the records and the header without its
        // extract time, so re-sending the same files later is a duplicate, not a conflict.
        // Taken over the records as received, the same whatever the pipeline's format.
        let payload_sha256 = Sha256::digest(envelope.encode_to_vec()).to_vec();
        let feed_id = Uuid::new_v5(
            &FEED_ID_NAMESPACE,
            format!("{}/{}", checked.urn.get(), checked.idempotency_key).as_bytes(),
        );
        let new_feed = NewFeed {
            feed_id,
            school_urn: checked.urn.get() as i32,
            idempotency_key: checked.idempotency_key.clone(),
            payload_sha256: payload_sha256.clone(),
            extracted_at: checked.extracted_at,
            code_set: checked.code_set.clone(),
            roll_records: envelope.roll.len() as i32,
            mark_records: envelope.marks.len() as i32,
            sender: sender.sender().to_owned(),
        };
        let registered = rollcall_db::register_feed(&self.pool, &new_feed)
            .await
            .map_err(|err| ApiError::database("cannot record the feed", &err))?;
        let (row, duplicate) = match registered {
            Registered::New(row) => (row, false),
            Registered::Existing(row) => {
                if row.payload_sha256 != payload_sha256 {
                    return Err(ApiError::new(
                        ErrorCode::IdempotencyConflict,
                        "idempotency key already used for a different feed from this school",
                    )
                    .into());
                }
                (row, true)
            }
        };
        // A feed registered but not acknowledged by the broker (an earlier attempt failed) is
        // enqueued now; one already enqueued is never enqueued twice.
        let mut enqueued = None;
        let row = if row.status == FeedRow::RECEIVED {
            let feed = ReceivedFeed {
                feed_id,
                school: checked.urn,
                extracted_at: checked.extracted_at,
                received_at: row.received_at,
                idempotency_key: checked.idempotency_key,
                code_set: checked.code_set,
                roll: envelope.roll.into_iter().map(raw_pupil).collect(),
                marks: envelope.marks.into_iter().map(raw_mark).collect(),
            };
            self.enqueue(&feed).await?;
            enqueued = Some((feed.roll.len(), feed.marks.len()));
            tracing::info!(
                school = checked.urn.get(),
                %feed_id,
                roll = feed.roll.len(),
                marks = feed.marks.len(),
                "feed enqueued"
            );
            FeedRow {
                status: FeedRow::ENQUEUED.to_owned(),
                ..row
            }
        } else {
            tracing::info!(school = checked.urn.get(), %feed_id, "duplicate feed; first receipt returned");
            row
        };
        let receipt = FeedReceipt {
            duplicate,
            ..self.receipt(&row).await?
        };
        Ok((receipt, enqueued))
    }
}

#[tonic::async_trait]
impl FeedService for Gateway {
    async fn submit_feed(
        &self,
        request: Request<Streaming<SubmitFeedRequest>>,
    ) -> Result<Response<FeedReceipt>, Status> {
        let sender = rollcall_server::auth::principal(&request)?;
        let _in_progress = self.metrics.in_progress();
        let answer = self.submit(&sender, request.into_inner()).await;
        let outcome = match &answer {
            Ok((_, Some(counts))) => Outcome::Enqueued {
                roll: counts.0,
                marks: counts.1,
            },
            Ok((_, None)) => Outcome::Duplicate,
            Err(status) => Outcome::Failed(status),
        };
        self.metrics.answered(sender.sender(), outcome);
        answer.map(|(receipt, _)| Response::new(receipt))
    }

    async fn validate_feed(
        &self,
        request: Request<Streaming<SubmitFeedRequest>>,
    ) -> Result<Response<ValidationOutcome>, Status> {
        let sender = rollcall_server::auth::principal(&request)?;
        // The ticket is held until the answer: the feed's memory is in use until then.
        let (header, roll, marks, _ticket) = self.read_feed(&sender, request.into_inner()).await?;
        let checked = check_header(&header)?;
        let school_registered = rollcall_db::get_school(&self.pool, checked.urn.get() as i32)
            .await
            .map_err(|err| ApiError::database("cannot read the school registry", &err))?
            .is_some();
        let roll: Vec<RawPupil> = roll.into_iter().map(raw_pupil).collect();
        let marks: Vec<RawMark> = marks.into_iter().map(raw_mark).collect();
        let context = validation::Context {
            today: rollcall_domain::calendar::london_date(Utc::now()),
            school_registered,
        };
        let mut validated = validation::validate(&roll, &marks, &context);
        let summary = validated.summary();
        let summary_by_code = validation::summarise(&validated.findings);
        let findings_omitted =
            validation::fit_findings(&mut validated.findings, validation::ANSWER_FINDINGS_BYTES);
        tracing::info!(
            school = checked.urn.get(),
            roll = roll.len(),
            marks = marks.len(),
            findings = validated.findings.len(),
            findings_omitted,
            "feed checked in a dry run; nothing stored"
        );
        Ok(Response::new(ValidationOutcome {
            roll_accepted: summary.roll_accepted as u32,
            roll_rejected: summary.roll_rejected as u32,
            marks_accepted: summary.marks_accepted as u32,
            marks_rejected: summary.marks_rejected as u32,
            records_warned: summary.records_warned as u32,
            marks_written: 0,
            marks_superseded: 0,
            summary: grpc_receipts::summary(&summary_by_code),
            findings: validated.findings.iter().map(finding).collect(),
            findings_omitted,
        }))
    }

    async fn list_feeds(
        &self,
        request: Request<ListFeedsRequest>,
    ) -> Result<Response<ListFeedsResponse>, Status> {
        let caller = rollcall_server::auth::principal(&request)?;
        let request = request.into_inner();
        let school = match request.school_urn.trim() {
            "" => None,
            urn => Some(
                Urn::parse(urn)
                    .map_err(|err| ApiError::invalid(format!("school_urn: {err}")))?
                    .get() as i32,
            ),
        };
        let now = Utc::now();
        let since = time_or(request.since, "since", now - chrono::Duration::days(7))?;
        let until = time_or(request.until, "until", now)?;
        let size = match request.page_size {
            0 => DEFAULT_FEED_PAGE,
            n => n.min(MAX_FEED_PAGE),
        };
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(parse_page_token(token)?),
        };
        if let Some(urn) = school {
            self.check_may_see(&caller, urn).await?;
        }
        let access = Access::of(&caller);
        // One more than the page, to know whether another page follows.
        let mut rows = rollcall_db::list_feeds(
            &self.pool,
            &access,
            school,
            since,
            until,
            after,
            i64::from(size) + 1,
        )
        .await
        .map_err(|err| ApiError::database("cannot list the feeds", &err))?;
        let next_page_token = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last().map(page_token).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListFeedsResponse {
            feeds: rows.iter().map(grpc_receipts::from_row).collect(),
            next_page_token,
        }))
    }

    async fn get_feed_receipt(
        &self,
        request: Request<GetFeedReceiptRequest>,
    ) -> Result<Response<FeedReceipt>, Status> {
        let caller = rollcall_server::auth::principal(&request)?;
        let feed_id = parse_feed_id(&request.get_ref().feed_id)?;
        let row = rollcall_db::get_feed(&self.pool, feed_id)
            .await
            .map_err(|err| ApiError::database("cannot read the feed", &err))?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no feed with this id"))?;
        self.check_may_see(&caller, row.school_urn).await?;
        Ok(Response::new(self.receipt(&row).await?))
    }

    async fn get_reconciliation(
        &self,
        request: Request<GetReconciliationRequest>,
    ) -> Result<Response<Reconciliation>, Status> {
        let caller = rollcall_server::auth::principal(&request)?;
        let request = request.into_inner();
        let urn = Urn::parse(request.school_urn.trim())
            .map_err(|err| ApiError::invalid(format!("school_urn: {err}")))?
            .get() as i32;
        self.check_may_see(&caller, urn).await?;
        Ok(Response::new(
            grpc_reconcile::reconciliation(&self.pool, urn, &request).await?,
        ))
    }

    type WatchReceiptsStream = grpc_watch::ReceiptStream;

    async fn watch_receipts(
        &self,
        request: Request<WatchReceiptsRequest>,
    ) -> Result<Response<Self::WatchReceiptsStream>, Status> {
        let caller = rollcall_server::auth::principal(&request)?;
        grpc_watch::watch(&self.pool, &self.answers, &caller, request.into_inner())
    }

    async fn list_feed_findings(
        &self,
        request: Request<ListFeedFindingsRequest>,
    ) -> Result<Response<ListFeedFindingsResponse>, Status> {
        let caller = rollcall_server::auth::principal(&request)?;
        let request = request.into_inner();
        let feed_id = parse_feed_id(&request.feed_id)?;
        let row = rollcall_db::get_feed(&self.pool, feed_id)
            .await
            .map_err(|err| ApiError::database("cannot read the feed", &err))?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no feed with this id"))?;
        self.check_may_see(&caller, row.school_urn).await?;
        Ok(Response::new(
            grpc_receipts::findings_page(&self.pool, feed_id, &request).await?,
        ))
    }
}

impl Gateway {
    /// A school's feeds are for its senders, the school itself, its LA, and operations.
    async fn check_may_see(&self, caller: &Principal, urn: i32) -> Result<(), Status> {
        let la_code = rollcall_db::get_school(&self.pool, urn)
            .await
            .map_err(|err| ApiError::database("cannot read the school registry", &err))?
            .map(|school| school.la_code);
        let visible = caller.may_submit_for(urn)
            || la_code.is_some_and(|la| Access::of(caller).covers(urn, la))
            || matches!(caller.kind(), rollcall_db::PrincipalKind::Operations);
        if !visible {
            return Err(ApiError::outside_organisation().into());
        }
        Ok(())
    }

    /// The receipt for a feed's row, with why it was parked when it was.
    async fn receipt(&self, row: &FeedRow) -> Result<FeedReceipt, Status> {
        grpc_receipts::with_parking(&self.pool, row).await
    }
}

/// A header that passed the envelope rules.
#[derive(Debug)]
pub struct CheckedHeader {
    pub urn: Urn,
    pub idempotency_key: String,
    pub extracted_at: DateTime<Utc>,
    pub code_set: String,
}

/// The feed's limits, from the gateway's settings.
#[derive(Clone, Copy, Debug)]
pub struct FeedLimits {
    pub max_feed_bytes: usize,
    pub max_records: usize,
}

/// A feed's stream messages as they arrive, by the stream's rules: the header first and only
/// once, then chunks of records, within the limits as it goes so an oversized feed is refused
/// without being buffered in full. No I/O, so the rules can be tested (and fuzzed) without a
/// stream.
#[derive(Debug)]
pub struct FeedParts {
    pub header: FeedHeader,
    pub roll: Vec<RollRecord>,
    pub marks: Vec<MarkRecord>,
    bytes: usize,
    limits: FeedLimits,
}

impl FeedParts {
    /// The first message, which must be the header, checked by the envelope rules.
    pub fn start(
        first: SubmitFeedRequest,
        limits: FeedLimits,
    ) -> Result<(FeedParts, CheckedHeader), Status> {
        let bytes = first.encoded_len();
        let Some(Part::Header(header)) = first.part else {
            return Err(ApiError::invalid("the first message must be the feed header").into());
        };
        let checked = check_header(&header)?;
        let parts = FeedParts {
            header,
            roll: Vec::new(),
            marks: Vec::new(),
            bytes,
            limits,
        };
        Ok((parts, checked))
    }

    /// Bytes of the messages taken so far, as sent.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A message after the first: a chunk of roll or mark records.
    pub fn add(&mut self, message: SubmitFeedRequest) -> Result<(), Status> {
        self.bytes += message.encoded_len();
        match message.part {
            Some(Part::Roll(chunk)) => self.roll.extend(chunk.records),
            Some(Part::Marks(chunk)) => self.marks.extend(chunk.records),
            Some(Part::Header(_)) => {
                return Err(ApiError::invalid("a feed has exactly one header").into());
            }
            None => return Err(ApiError::invalid("a stream message carries no part").into()),
        }
        if self.bytes > self.limits.max_feed_bytes {
            return Err(too_large(format!(
                "feed exceeds {} bytes",
                self.limits.max_feed_bytes
            )));
        }
        if self.roll.len() + self.marks.len() > self.limits.max_records {
            return Err(too_large(format!(
                "feed exceeds {} records",
                self.limits.max_records
            )));
        }
        Ok(())
    }
}

/// The envelope rules. Record content is the validator's job, not the gateway's.
pub fn check_header(header: &FeedHeader) -> Result<CheckedHeader, Status> {
    let urn = Urn::parse(header.school_urn.trim())
        .map_err(|err| ApiError::invalid(format!("header.school_urn: {err}")))?;
    let key = header.idempotency_key.trim();
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(ApiError::invalid(format!(
            "header.idempotency_key: must be 1 to {MAX_IDEMPOTENCY_KEY} printable ascii characters"
        ))
        .into());
    }
    let extracted_at = extracted_at(header.extracted_at.as_ref())?;
    if !CODE_SETS.contains(&header.code_set.trim()) {
        return Err(ApiError::invalid(format!(
            "header.code_set: must be one of {}",
            CODE_SETS.join(", ")
        ))
        .into());
    }
    Ok(CheckedHeader {
        urn,
        idempotency_key: key.to_owned(),
        extracted_at,
        code_set: header.code_set.trim().to_owned(),
    })
}

/// The earliest extract time a feed may carry: before it, the time is not a register's.
const EARLIEST_EXTRACT: DateTime<Utc> = DateTime::from_timestamp(946_684_800, 0).unwrap();

/// The header's extract time, checked before anything is recorded: a real time (nanoseconds
/// 0 to 999,999,999), from 2000-01-01 to an hour after this gateway's clock (senders' clocks
/// drift), truncated to the microseconds PostgreSQL keeps so the version stored and sent agree.
fn extracted_at(at: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, Status> {
    let at = at.ok_or_else(|| ApiError::invalid("header.extracted_at: required"))?;
    let time = u32::try_from(at.nanos)
        .ok()
        .filter(|&nanos| nanos < 1_000_000_000)
        .and_then(|nanos| DateTime::<Utc>::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| {
            ApiError::invalid(
                "header.extracted_at: not a valid time (nanos must be 0 to 999999999)",
            )
        })?;
    let latest = Utc::now() + chrono::Duration::hours(1);
    if !(EARLIEST_EXTRACT..=latest).contains(&time) {
        return Err(ApiError::invalid(
            "header.extracted_at: must be from 2000-01-01T00:00:00Z and not in the future",
        )
        .into());
    }
    Ok(DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time))
}

/// Feeds in a page of `ListFeeds` unless the caller asks otherwise, and the most it may ask.
const DEFAULT_FEED_PAGE: u32 = 100;
const MAX_FEED_PAGE: u32 = 1000;

/// Where a page ended, for the caller to hand back: the last feed's receipt time (microseconds
/// since the epoch) and id. Names no school and no pupil.
fn page_token(row: &FeedRow) -> String {
    format!("{}.{}", row.received_at.timestamp_micros(), row.feed_id)
}

fn parse_page_token(token: &str) -> Result<rollcall_db::FeedCursor, Status> {
    let invalid = || Status::from(ApiError::invalid("page_token: not one this service gave"));
    let (micros, id) = token.split_once('.').ok_or_else(invalid)?;
    let received_at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    let feed_id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(rollcall_db::FeedCursor {
        received_at,
        feed_id,
    })
}

pub(crate) fn parse_feed_id(id: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(id).map_err(|_| ApiError::invalid("feed_id: not a feed id").into())
}

/// A request's time field, or `default` when it is absent; a time no clock can show is invalid.
pub(crate) fn time_or(
    t: Option<prost_types::Timestamp>,
    field: &str,
    default: DateTime<Utc>,
) -> Result<DateTime<Utc>, Status> {
    match t {
        None => Ok(default),
        Some(t) => DateTime::from_timestamp(t.seconds, t.nanos.try_into().unwrap_or(u32::MAX))
            .ok_or_else(|| ApiError::invalid(format!("{field}: not a valid time")).into()),
    }
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

fn too_large(message: String) -> Status {
    ApiError::new(ErrorCode::FeedTooLarge, message).into()
}

/// A stream shed under load: `RESOURCE_EXHAUSTED` / `OVERLOADED`, with the pause to wait before
/// sending the same feed again.
fn shed(shed: Shed) -> Status {
    tracing::info!(
        limit = shed.what,
        retry_after_ms = shed.retry_after.as_millis() as u64,
        "feed shed: the gateway is at its limit"
    );
    ApiError::overloaded(
        format!(
            "the gateway is at its limit of {}; send the same feed again after the pause given",
            shed.what
        ),
        shed.retry_after,
    )
    .into()
}

/// A failure reading the stream, as the sender should hear it. tonic answers a message over the
/// size limit with `OUT_OF_RANGE` and no Rollcall code, which reads as a bad value; it is a size
/// limit like the feed's own, so it is answered as one: `RESOURCE_EXHAUSTED` / `FEED_TOO_LARGE`,
/// saying what to do.
fn stream_error(status: Status) -> Status {
    if status.code() == tonic::Code::OutOfRange {
        return too_large(format!(
            "a stream message exceeds {MAX_MESSAGE_BYTES} bytes; send the records in smaller chunks (about 5,000 a message)"
        ));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_over_the_size_limit_is_feed_too_large_and_other_stream_errors_pass() {
        let status = stream_error(Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        ));
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status
                .metadata()
                .get(rollcall_server::error::ERROR_CODE_METADATA)
                .unwrap(),
            "FEED_TOO_LARGE"
        );
        assert!(
            status
                .message()
                .starts_with("a stream message exceeds 4194304 bytes")
        );
        let status = stream_error(Status::cancelled("client went away"));
        assert_eq!(status.code(), tonic::Code::Cancelled);
    }

    fn header_message(urn: &str) -> SubmitFeedRequest {
        SubmitFeedRequest {
            part: Some(Part::Header(FeedHeader {
                school_urn: urn.into(),
                extracted_at: Some(timestamp(Utc::now())),
                idempotency_key: "feed-1".into(),
                code_set: "2024".into(),
            })),
        }
    }

    fn marks_message(n: usize) -> SubmitFeedRequest {
        SubmitFeedRequest {
            part: Some(Part::Marks(rollcall_proto::feed::v1::MarkChunk {
                records: vec![MarkRecord::default(); n],
            })),
        }
    }

    fn message<T: std::fmt::Debug>(result: Result<T, Status>) -> String {
        result.unwrap_err().message().to_owned()
    }

    #[test]
    fn the_stream_takes_one_header_first_then_chunks_within_the_limits() {
        let limits = FeedLimits {
            max_feed_bytes: 1 << 20,
            max_records: 3,
        };
        assert_eq!(
            message(FeedParts::start(marks_message(1), limits)),
            "the first message must be the feed header"
        );
        assert!(
            message(FeedParts::start(header_message("12345"), limits))
                .starts_with("header.school_urn: ")
        );
        let (mut parts, checked) = FeedParts::start(header_message(" 100001 "), limits).unwrap();
        assert_eq!(checked.urn.get(), 100001);
        parts.add(marks_message(2)).unwrap();
        assert_eq!(
            message(parts.add(header_message("100001"))),
            "a feed has exactly one header"
        );
        assert_eq!(
            message(parts.add(SubmitFeedRequest { part: None })),
            "a stream message carries no part"
        );
        let status = parts.add(marks_message(2)).unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(status.message(), "feed exceeds 3 records");
    }
}
