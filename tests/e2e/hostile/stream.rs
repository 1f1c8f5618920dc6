//! Malformed streams and headers, schools the sender may not send for, idempotency keys reused,
//! oversized streams and messages, and hostile values in the other calls' text fields. Every
//! refusal is answered before anything is recorded (the gateway's feed count does not move);
//! a good feed sent first lands, and so does one sent after all the refusals.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use rollcall_proto::feed::v1::{
    FeedHeader, GetFeedReceiptRequest, ListFeedsRequest, MarkChunk, MarkRecord, RollChunk,
    SubmitFeedRequest, submit_feed_request::Part,
};
use rollcall_proto::query::v1::{
    AtRiskPupilsRequest, ImportSchoolsRequest, Period, SchoolSummaryRequest,
};
use tonic::Code;

use super::records::{MARKUP, SQL, mark, person};
use super::stack::Stack;
use super::{Landing, Refusal, Report, Row, check_landing, refusal, wait_processed};
use crate::harness::{FeedSpec, school};

const ESTAB: u16 = 3103;
/// The school the stream cases send for, registered to the test vendor.
const URN: &str = "130001";
/// In the registry, registered to no vendor of this test.
const NOT_MINE: &str = "130002";
/// Neither in the registry nor registered to anyone.
const UNKNOWN: &str = "130003";
/// Where the feed sent after every refusal lands.
const AFTER: &str = "130004";
const MONDAY: &str = "2025-10-06";
/// The limits the gateway runs with by default (docs/integration.md).
const MAX_RECORDS: usize = 250_000;
const MAX_FEED_BYTES: usize = 32 * 1024 * 1024;
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// What a case sends.
enum Send {
    /// A `SubmitFeed` stream of these messages, as the test vendor.
    Submit(Vec<SubmitFeedRequest>),
    /// The same stream as a dry run (`ValidateFeed`).
    Validate(Vec<SubmitFeedRequest>),
    Receipt(String),
    ListFeeds(ListFeedsRequest),
    /// As the LA user.
    SchoolSummary(SchoolSummaryRequest),
    AtRisk(AtRiskPupilsRequest),
}

enum Answer {
    Refused(Refusal),
    /// The first receipt again, for the same feed.
    Duplicate,
    /// Enqueued; the feed must land with no finding.
    Lands(&'static str),
}

struct StreamCase {
    name: &'static str,
    input: &'static str,
    send: Send,
    answer: Answer,
}

/// A good feed: one pupil present all Monday.
fn good(urn: &str, key: &str, serial: u16) -> FeedSpec {
    let pupil = person(ESTAB, serial);
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
        marks: vec![
            mark(&pupil.upn, MONDAY, "AM", "/"),
            mark(&pupil.upn, MONDAY, "PM", "\\"),
        ],
        roll: vec![pupil],
    }
}

/// The control feed's stream with its header changed by `change`.
fn with_header(change: impl FnOnce(&mut FeedHeader)) -> Vec<SubmitFeedRequest> {
    let mut requests = good(URN, "header-case", 2).requests();
    let Some(Part::Header(header)) = &mut requests[0].part else {
        unreachable!("the first message is the header")
    };
    change(header);
    requests
}

fn header() -> SubmitFeedRequest {
    with_header(|_| {}).remove(0)
}

fn marks_message(records: Vec<MarkRecord>) -> SubmitFeedRequest {
    SubmitFeedRequest {
        part: Some(Part::Marks(MarkChunk { records })),
    }
}

/// A header and then `messages` chunks of `per_message` marks whose codes are `code_bytes`
/// long: the size of each message and of the stream, for the limits.
fn sized(messages: usize, per_message: usize, code_bytes: usize) -> Vec<SubmitFeedRequest> {
    let pupil = person(ESTAB, 3).upn;
    let code = "N".repeat(code_bytes);
    let mut requests = vec![header()];
    for _ in 0..messages {
        requests.push(marks_message(
            (0..per_message)
                .map(|_| mark(&pupil, MONDAY, "AM", &code))
                .collect(),
        ));
    }
    requests
}

fn invalid(message: &'static str) -> Answer {
    Answer::Refused(refusal(Code::InvalidArgument, "INVALID_ARGUMENT", message))
}

fn too_large(message: &'static str) -> Answer {
    Answer::Refused(refusal(Code::ResourceExhausted, "FEED_TOO_LARGE", message))
}

fn outside() -> Answer {
    Answer::Refused(refusal(
        Code::PermissionDenied,
        "OUTSIDE_ORGANISATION",
        "you are not registered to send feeds for this school",
    ))
}

fn autumn_from(from: &str) -> Option<Period> {
    Some(Period {
        from: from.into(),
        to: "2025-12-31".into(),
    })
}

#[rustfmt::skip]
fn catalogue() -> Vec<StreamCase> {
    use Send::*;
    let case = |name, input, send, answer| StreamCase { name, input, send, answer };
    let time = |seconds: i64, nanos: i32| Some(prost_types::Timestamp { seconds, nanos });
    let in_two_hours = Utc::now().timestamp() + 7200;
    let roll_message = SubmitFeedRequest { part: Some(Part::Roll(RollChunk { records: vec![person(ESTAB, 4)] })) };
    let control = good(URN, "stream-control", 1);
    let mut changed = control.clone();
    changed.marks[1].code = "N".into();
    let over_4_mib = || sized(1, MAX_MESSAGE_BYTES / 900, 1_000);
    vec![
        case("stream-empty", "a stream that ends before any message", Submit(vec![]), invalid("empty stream")),
        case("stream-records-before-header", "a roll chunk before the header", Submit(vec![roll_message.clone(), header()]), invalid("the first message must be the feed header")),
        case("stream-two-headers", "a second header after a roll chunk", Submit(vec![header(), roll_message, header()]), invalid("a feed has exactly one header")),
        case("stream-message-without-part", "a stream message carrying nothing", Submit(vec![header(), SubmitFeedRequest { part: None }]), invalid("a stream message carries no part")),
        case("header-urn-five-digits", "`school_urn` of `12345`", Submit(with_header(|h| h.school_urn = "12345".into())), invalid("header.school_urn")),
        case("header-urn-letters", "`school_urn` of `10000A`", Submit(with_header(|h| h.school_urn = "10000A".into())), invalid("header.school_urn")),
        case("header-urn-zeros", "`school_urn` of `000000`", Submit(with_header(|h| h.school_urn = "000000".into())), invalid("header.school_urn")),
        case("header-urn-sql", "SQL text as the `school_urn`", Submit(with_header(|h| h.school_urn = SQL.into())), invalid("header.school_urn")),
        case("header-urn-markup", "markup as the `school_urn`", Submit(with_header(|h| h.school_urn = MARKUP.into())), invalid("header.school_urn")),
        case("header-key-empty", "an empty `idempotency_key`", Submit(with_header(|h| h.idempotency_key.clear())), invalid("header.idempotency_key")),
        case("header-key-129-characters", "an `idempotency_key` of 129 characters", Submit(with_header(|h| h.idempotency_key = "k".repeat(129))), invalid("header.idempotency_key")),
        case("header-key-not-ascii", "an `idempotency_key` with `é`", Submit(with_header(|h| h.idempotency_key = "clé-1".into())), invalid("header.idempotency_key")),
        case("header-key-line-break", "an `idempotency_key` with a line break", Submit(with_header(|h| h.idempotency_key = "a\nb".into())), invalid("header.idempotency_key")),
        case("header-key-sql", "SQL text (with spaces) as the `idempotency_key`", Submit(with_header(|h| h.idempotency_key = SQL.into())), invalid("header.idempotency_key")),
        case("header-code-set-2013", "`code_set` of `2013`", Submit(with_header(|h| h.code_set = "2013".into())), invalid("header.code_set")),
        case("header-code-set-sql", "SQL text as the `code_set`", Submit(with_header(|h| h.code_set = SQL.into())), invalid("header.code_set")),
        case("header-extracted-at-missing", "no `extracted_at`", Submit(with_header(|h| h.extracted_at = None)), invalid("header.extracted_at: required")),
        case("header-extracted-at-negative-nanos", "`extracted_at` with nanos of -1", Submit(with_header(|h| h.extracted_at = time(1_759_766_400, -1))), invalid("header.extracted_at: not a valid time")),
        case("header-extracted-at-two-hours-ahead", "`extracted_at` two hours ahead of the gateway", Submit(with_header(|h| h.extracted_at = time(in_two_hours, 0))), invalid("header.extracted_at: must be from")),
        case("header-extracted-at-1999", "`extracted_at` in 1999", Submit(with_header(|h| h.extracted_at = time(915_148_800, 0))), invalid("header.extracted_at: must be from")),
        case("key-replayed-same-content", "the first feed again under its key", Submit(control.requests()), Answer::Duplicate),
        case("key-reused-for-other-content", "the first feed's key with one mark changed", Submit(changed.requests()), Answer::Refused(refusal(Code::AlreadyExists, "IDEMPOTENCY_CONFLICT", "idempotency key already used"))),
        case("school-not-registered-to-sender", "a feed for a school in the registry but not the sender's", Submit(good(NOT_MINE, "not-mine", 5).requests()), outside()),
        case("school-unknown-and-not-the-senders", "a feed for a school no one registered", Submit(good(UNKNOWN, "unknown", 6).requests()), outside()),
        case("dry-run-for-another-school", "a dry run for a school not the sender's", Validate(good(NOT_MINE, "not-mine-dry", 7).requests()), outside()),
        case("feed-over-the-record-limit", "255,000 marks in messages of 5,000", Submit(sized(MAX_RECORDS / 5_000 + 1, 5_000, 1)), too_large("feed exceeds 250000 records")),
        case("feed-over-32-mib", "about 36 MB of marks in messages under 4 MiB", Submit(sized(MAX_FEED_BYTES / 3_500_000 + 1, 3_500, 1_000)), too_large("feed exceeds 33554432 bytes")),
        case("message-over-4-mib", "one marks message of about 4.8 MB", Submit(over_4_mib()), too_large("a stream message exceeds 4194304 bytes")),
        case("dry-run-message-over-4-mib", "the same message in a dry run", Validate(over_4_mib()), too_large("a stream message exceeds 4194304 bytes")),
        case("receipt-id-sql", "SQL text as a `feed_id`", Receipt(SQL.into()), invalid("feed_id: not a feed id")),
        case("receipt-id-unknown", "a `feed_id` no feed has", Receipt(uuid::Uuid::new_v4().to_string()), Answer::Refused(refusal(Code::NotFound, "NOT_FOUND", "no feed with this id"))),
        case("list-feeds-forged-page-token", "a `page_token` the service never gave", ListFeeds(ListFeedsRequest { page_token: SQL.into(), ..Default::default() }), invalid("page_token: not one this service gave")),
        case("list-feeds-school-markup", "markup as `ListFeeds`' `school_urn`", ListFeeds(ListFeedsRequest { school_urn: MARKUP.into(), ..Default::default() }), invalid("school_urn:")),
        case("summary-school-urn-sql", "SQL text after a summary's `school_urn`", SchoolSummary(SchoolSummaryRequest { as_at: String::new(), school_urn: format!("{URN}{SQL}"), period: None }), invalid("school_urn:")),
        case("summary-period-impossible-date", "a summary from 2025-02-30", SchoolSummary(SchoolSummaryRequest { as_at: String::new(), school_urn: URN.into(), period: autumn_from("2025-02-30") }), invalid("period.from:")),
        case("at-risk-without-purpose", "the at-risk list with no purpose", AtRisk(AtRiskPupilsRequest { school_urn: URN.into(), period: autumn_from("2025-09-01"), ..Default::default() }), invalid("purpose:")),
        case("header-key-markup", "markup as the `idempotency_key` (printable ASCII: a valid key)", Submit(good(AFTER, MARKUP, 8).requests()), Answer::Lands(AFTER)),
    ]
}

impl Answer {
    fn describe(&self) -> String {
        match self {
            Answer::Refused(refusal) => refusal.to_string(),
            Answer::Duplicate => "`OK`, `duplicate`: the first receipt".into(),
            Answer::Lands(_) => "`OK`; the feed lands".into(),
        }
    }
}

pub fn rows() -> Vec<Row> {
    catalogue()
        .iter()
        .map(|c| Row::new(c.name, c.input, c.answer.describe()))
        .collect()
}

/// What the good feed of `serial` stores: one present session each way.
fn landing(serial: u16) -> Landing {
    let pupil = person(ESTAB, serial);
    Landing {
        roll: 1,
        marks: 2,
        stored: BTreeMap::from([("/".into(), 1), ("\\".into(), 1)]),
        personal: vec![
            pupil.upn,
            pupil.forename,
            pupil.surname,
            pupil.date_of_birth,
        ],
        ..Landing::default()
    }
}

pub async fn run(stack: &Stack, report: &mut Report) {
    let pipeline = &stack.pipeline;
    pipeline
        .import_schools(vec![school(URN, "937", false), school(AFTER, "937", false)])
        .await;
    // Into the registry only: `import_schools` would register it to the test vendor too.
    pipeline
        .registry()
        .await
        .import_schools(ImportSchoolsRequest {
            schools: vec![school(NOT_MINE, "937", false)],
        })
        .await
        .unwrap();
    let vendor = &pipeline.vendor_token;
    let mut feeds = stack.feeds_as(vendor).await;
    let control = feeds
        .submit_feed(tokio_stream::iter(
            good(URN, "stream-control", 1).requests(),
        ))
        .await
        .expect("the control feed is enqueued")
        .into_inner();
    for serial in 1..=8 {
        let pupil = person(ESTAB, serial);
        report.personal.extend([
            pupil.upn,
            pupil.forename,
            pupil.surname,
            pupil.date_of_birth,
        ]);
    }
    let before = stack.feeds_received().await;
    let mut landed = Vec::new();
    for case in catalogue() {
        report.cases += 1;
        let got: Result<String, tonic::Status> =
            match case.send {
                Send::Submit(requests) => feeds
                    .submit_feed(tokio_stream::iter(requests))
                    .await
                    .map(|r| {
                        let r = r.into_inner();
                        format!(
                            "{} duplicate={} key={}",
                            r.feed_id, r.duplicate, r.idempotency_key
                        )
                    }),
                Send::Validate(requests) => feeds
                    .validate_feed(tokio_stream::iter(requests))
                    .await
                    .map(|r| format!("{:?}", r.into_inner())),
                Send::Receipt(feed_id) => feeds
                    .get_feed_receipt(GetFeedReceiptRequest { feed_id })
                    .await
                    .map(|r| r.into_inner().feed_id),
                Send::ListFeeds(request) => feeds
                    .list_feeds(request)
                    .await
                    .map(|r| format!("{} feeds", r.into_inner().feeds.len())),
                Send::SchoolSummary(request) => stack
                    .query_as(&pipeline.la_token)
                    .await
                    .school_summary(request)
                    .await
                    .map(|r| format!("{:?}", r.into_inner().school)),
                Send::AtRisk(request) => stack
                    .query_as(&pipeline.la_token)
                    .await
                    .at_risk_pupils(request)
                    .await
                    .map(|r| format!("{} pupils", r.into_inner().pupils.len())),
            };
        match (&case.answer, got) {
            (Answer::Refused(want), got) => report.refused(case.name, got, want),
            (Answer::Duplicate, Ok(answer)) => {
                let want = format!("{} duplicate=true key=stream-control", control.feed_id);
                if answer != want {
                    report.fail(case.name, format!("answered {answer}, expected {want}"));
                }
            }
            (Answer::Lands(urn), Ok(answer)) => {
                let feed_id = answer.split(' ').next().unwrap_or_default().to_owned();
                if !answer.ends_with(&format!("duplicate=false key={MARKUP}")) {
                    report.fail(case.name, format!("answered {answer}"));
                }
                landed.push((case.name, *urn, feed_id));
            }
            (_, Err(status)) => report.fail(case.name, format!("refused: {status:?}")),
        }
    }
    let recorded = stack.feeds_received().await - before;
    if recorded != landed.len() as i64 {
        report.fail(
            "stream group",
            format!(
                "{recorded} feeds recorded by the refusals and the feed after them, expected {}",
                landed.len()
            ),
        );
    }
    let mut ids = vec![control.feed_id.clone()];
    ids.extend(landed.iter().map(|(_, _, id)| id.clone()));
    let receipts = wait_processed(&mut feeds, &ids).await;
    check_landing(
        stack,
        report,
        "stream control feed",
        URN,
        &receipts[&control.feed_id],
        &landing(1),
    )
    .await;
    for (name, urn, id) in landed {
        check_landing(stack, report, name, urn, &receipts[&id], &landing(8)).await;
    }
}
