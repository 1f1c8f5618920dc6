//! A catalogue of hostile inputs, one table-driven test against the real binaries (over TLS,
//! with mutual TLS and signed tokens): malformed CSV through the CLI, bad records in gRPC feeds,
//! malformed streams and headers, oversized streams and messages, and every way a credential can
//! be wrong. Each case names the exact answer it must get (a gRPC status with Rollcall's error
//! code, or the receipt's findings by code, record and field, or the CLI's one line); every feed
//! that gets through carries good neighbours that must land, and what each school stored is
//! queried back. At the end, no UPN, name or date of birth sent may appear in the services' logs.
//!
//! The catalogue is data (`records`, `csv`, `stream`, `auth`); `docs/validation.md` lists every
//! case, and `the_catalogue_is_listed_in_validation_md` keeps the two in step.

mod auth;
mod csv;
mod records;
mod stack;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rollcall_client::AuthChannel;
use rollcall_domain::validation::{FindingCode, Severity};
use rollcall_proto::feed::v1::{
    FeedReceipt, FeedStatus, GetFeedReceiptRequest, ListFeedsRequest,
    feed_service_client::FeedServiceClient,
};
use rollcall_proto::query::v1::{AtRiskPupilsRequest, Period, SchoolSummaryRequest};

use stack::Stack;

/// One line of the catalogue's table in docs/validation.md.
pub struct Row {
    pub name: String,
    pub input: String,
    pub expected: String,
}

impl Row {
    pub fn new(name: &str, input: &str, expected: impl Into<String>) -> Row {
        Row {
            name: name.to_owned(),
            input: input.to_owned(),
            expected: expected.into(),
        }
    }

    /// The row as the doc's table holds it.
    fn line(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        format!(
            "| `{}` | {} | {} |",
            self.name,
            cell(&self.input),
            cell(&self.expected)
        )
    }
}

/// A finding the receipt must carry: code, record kind, 0-based index in the feed, field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub code: FindingCode,
    pub kind: &'static str,
    pub index: u32,
    pub field: &'static str,
}

impl std::fmt::Display for Want {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            "feed" => write!(f, "`{}` (feed)", self.code),
            kind => write!(f, "`{}` ({kind} {} {})", self.code, self.index, self.field),
        }
    }
}

/// The findings column of a case that gets a receipt.
pub fn describe(findings: &[Want]) -> String {
    if findings.is_empty() {
        return "accepted, no finding".into();
    }
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a feed that got through must come to.
#[derive(Default)]
pub struct Landing {
    /// Every finding, in the receipt's order.
    pub findings: Vec<Want>,
    /// Records in the feed.
    pub roll: usize,
    pub marks: usize,
    /// Sessions the school must have stored, by code (the good neighbours' included).
    pub stored: BTreeMap<String, u64>,
    /// Names the school's at-risk list must return exactly as sent (when not empty, the list
    /// must be these names and no others).
    pub names: Vec<(String, String)>,
    /// Values sent that no finding's message may repeat.
    pub personal: Vec<String>,
    /// The school is not in the registry: there is no summary to read.
    pub unregistered: bool,
}

impl Landing {
    /// The receipt's counts by the catalogue's counting rule (docs/validation.md, "Counting"):
    /// (roll accepted, roll rejected, marks accepted, marks rejected, records warned, written).
    fn counts(&self) -> [u32; 6] {
        let feed_rejected = self
            .findings
            .iter()
            .any(|w| w.kind == "feed" && w.code.severity() == Severity::Error);
        let records = |severity: Severity, kind: &str| {
            let mut seen: Vec<u32> = self
                .findings
                .iter()
                .filter(|w| w.kind == kind && w.code.severity() == severity)
                .map(|w| w.index)
                .collect();
            seen.sort_unstable();
            seen.dedup();
            seen
        };
        let (roll_rejected, marks_rejected) = if feed_rejected {
            (self.roll as u32, self.marks as u32)
        } else {
            (
                records(Severity::Error, "roll").len() as u32,
                records(Severity::Error, "mark").len() as u32,
            )
        };
        let warned = if feed_rejected {
            0
        } else {
            ["roll", "mark"]
                .iter()
                .map(|kind| {
                    let rejected = records(Severity::Error, kind);
                    records(Severity::Warning, kind)
                        .iter()
                        .filter(|i| !rejected.contains(i))
                        .count() as u32
                })
                .sum()
        };
        [
            self.roll as u32 - roll_rejected,
            roll_rejected,
            self.marks as u32 - marks_rejected,
            marks_rejected,
            warned,
            self.stored.values().sum::<u64>() as u32,
        ]
    }
}

/// What the catalogue found wrong, and what it sent that must stay out of the logs.
#[derive(Default)]
pub struct Report {
    pub failures: Vec<String>,
    /// UPNs, names and dates of birth sent.
    pub personal: Vec<String>,
    pub cases: usize,
}

impl Report {
    pub fn fail(&mut self, case: &str, what: impl std::fmt::Display) {
        self.failures.push(format!("{case}: {what}"));
    }

    /// Checks a refusal: the gRPC status and, when the services give one, Rollcall's code and
    /// the start of the message.
    pub fn refused<T: std::fmt::Debug>(
        &mut self,
        case: &str,
        got: Result<T, tonic::Status>,
        want: &Refusal,
    ) {
        match got {
            Ok(answer) => self.fail(case, format!("answered {answer:?}, expected {want}")),
            Err(status) => {
                let stable = stable_code(&status);
                if status.code() != want.code
                    || stable != want.error_code
                    || !status.message().starts_with(want.message)
                {
                    self.fail(
                        case,
                        format!(
                            "got {:?} [{stable}] {:?}, expected {want}",
                            status.code(),
                            status.message()
                        ),
                    );
                }
            }
        }
    }
}

/// A refusal a case must get.
pub struct Refusal {
    pub code: tonic::Code,
    /// Rollcall's stable code in the `rollcall-error-code` metadata.
    pub error_code: &'static str,
    /// How the message starts ("" to not look).
    pub message: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` / `{}`", code_name(self.code), self.error_code)?;
        if !self.message.is_empty() {
            write!(f, " \"{}…\"", self.message)?;
        }
        Ok(())
    }
}

/// A gRPC status code as the spec names it, e.g. `RESOURCE_EXHAUSTED`.
pub fn code_name(code: tonic::Code) -> String {
    rollcall_client::status::code_words(code)
        .replace(' ', "_")
        .to_ascii_uppercase()
}

pub fn refusal(code: tonic::Code, error_code: &'static str, message: &'static str) -> Refusal {
    Refusal {
        code,
        error_code,
        message,
    }
}

/// The Rollcall error code a refusal carried.
pub fn stable_code(status: &tonic::Status) -> String {
    status
        .metadata()
        .get("rollcall-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The autumn term every landing session is in.
pub fn autumn() -> Option<Period> {
    Some(Period {
        from: "2025-09-01".into(),
        to: "2025-12-31".into(),
    })
}

/// Waits until the pipeline has processed every feed (listing the sender's feeds, not polling
/// each), then reads each receipt with its findings.
pub async fn wait_processed(
    feeds: &mut FeedServiceClient<AuthChannel>,
    ids: &[String],
) -> HashMap<String, FeedReceipt> {
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let listed = feeds
            .list_feeds(ListFeedsRequest {
                since: Some(prost_types::Timestamp {
                    seconds: since.timestamp(),
                    nanos: 0,
                }),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let status: HashMap<&str, FeedStatus> = listed
            .feeds
            .iter()
            .map(|f| (f.feed_id.as_str(), f.status()))
            .collect();
        let pending: Vec<&String> = ids
            .iter()
            .filter(|id| status.get(id.as_str()) != Some(&FeedStatus::Processed))
            .collect();
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} feeds not processed within 120s, e.g. {:?} ({:?})",
            pending.len(),
            ids.len(),
            pending[0],
            status.get(pending[0].as_str())
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut receipts = HashMap::new();
    for id in ids {
        let receipt = feeds
            .get_feed_receipt(GetFeedReceiptRequest {
                feed_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        receipts.insert(id.clone(), receipt);
    }
    receipts
}

/// Checks a processed feed against its landing: findings, counts, what the school stored and
/// the names it returns.
pub async fn check_landing(
    stack: &Stack,
    report: &mut Report,
    case: &str,
    urn: &str,
    receipt: &FeedReceipt,
    want: &Landing,
) {
    let Some(outcome) = &receipt.outcome else {
        return report.fail(case, "the processed receipt has no outcome");
    };
    let got: Vec<(String, String, u32, String)> = outcome
        .findings
        .iter()
        .map(|f| {
            (
                f.code.clone(),
                f.record_kind.clone(),
                f.record_index,
                f.field.clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String, u32, String)> = want
        .findings
        .iter()
        .map(|w| {
            (
                w.code.as_str().to_owned(),
                w.kind.to_owned(),
                w.index,
                w.field.to_owned(),
            )
        })
        .collect();
    if got != expected {
        report.fail(
            case,
            format!("findings\n    got      {got:?}\n    expected {expected:?}"),
        );
    }
    for f in &outcome.findings {
        let severity = FindingCode::parse(&f.code).map(|c| c.severity().as_str());
        if severity != Some(f.severity.as_str()) {
            report.fail(case, format!("{} has severity {}", f.code, f.severity));
        }
        if let Some(value) = want
            .personal
            .iter()
            .find(|v| v.len() >= 4 && f.message.contains(v.as_str()))
        {
            report.fail(case, format!("a finding's message repeats {value:?}"));
        }
    }
    let counts = [
        outcome.roll_accepted,
        outcome.roll_rejected,
        outcome.marks_accepted,
        outcome.marks_rejected,
        outcome.records_warned,
        outcome.marks_written,
    ];
    if counts != want.counts() {
        report.fail(
            case,
            format!(
                "counts (roll accepted, rejected, marks accepted, rejected, warned, written) {counts:?}, expected {:?}",
                want.counts()
            ),
        );
    }
    if want.unregistered {
        return;
    }
    let la = &stack.pipeline.la_token;
    let summary = stack
        .query_as(la)
        .await
        .school_summary(SchoolSummaryRequest {
            as_at: String::new(),
            school_urn: urn.into(),
            period: autumn(),
        })
        .await;
    match summary {
        Ok(summary) => {
            let stored: BTreeMap<String, u64> = summary
                .into_inner()
                .measures
                .map(|m| m.sessions_by_code.into_iter().collect())
                .unwrap_or_default();
            if stored != want.stored {
                report.fail(
                    case,
                    format!("stored {stored:?}, expected {:?}", want.stored),
                );
            }
        }
        Err(status) => report.fail(case, format!("school summary refused: {status:?}")),
    }
    if want.names.is_empty() {
        return;
    }
    let at_risk = stack
        .query_as(la)
        .await
        .at_risk_pupils(AtRiskPupilsRequest {
            school_urn: urn.into(),
            period: autumn(),
            purpose: "hostile input catalogue".into(),
            ..Default::default()
        })
        .await;
    match at_risk {
        Ok(answer) => {
            let mut names: Vec<(String, String)> = answer
                .into_inner()
                .pupils
                .into_iter()
                .map(|p| (p.forename, p.surname))
                .collect();
            names.sort();
            let mut expected = want.names.clone();
            expected.sort();
            if names != expected {
                report.fail(
                    case,
                    format!("names came back {names:?}, expected {expected:?}"),
                );
            }
        }
        Err(status) => report.fail(case, format!("at-risk list refused: {status:?}")),
    }
}

/// Every row of the catalogue, in the doc's order.
fn catalogue() -> Vec<(&'static str, Vec<Row>)> {
    vec![
        ("CSV files through the CLI", csv::rows()),
        ("Records in a feed", records::rows()),
        ("Streams, headers and sizes", stream::rows()),
        ("Credentials", auth::rows()),
    ]
}

#[test]
fn the_catalogue_is_listed_in_validation_md() {
    let doc = include_str!("../../docs/validation.md");
    let mut missing = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut total = 0;
    for (group, rows) in catalogue() {
        let heading = format!("### {group}");
        if !doc.contains(&heading) {
            missing.push(heading);
        }
        for row in rows {
            total += 1;
            assert!(names.insert(row.name.clone()), "{} twice", row.name);
            if !doc.contains(&row.line()) {
                missing.push(row.line());
            }
        }
    }
    assert!(total >= 100, "{total} cases");
    assert!(
        missing.is_empty(),
        "docs/validation.md lacks these lines of the hostile catalogue:\n{}",
        missing.join("\n")
    );
    // And no row the catalogue no longer has.
    let section = doc
        .split_once("\n## Hostile inputs")
        .map_or("", |(_, rest)| rest);
    let section = section.split_once("\n## ").map_or(section, |(s, _)| s);
    let listed = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(n, _)| n.to_owned()))
        .collect::<std::collections::BTreeSet<_>>();
    let stale: Vec<_> = listed.difference(&names).collect();
    assert!(stale.is_empty(), "cases in the doc only: {stale:?}");
}

#[tokio::test]
async fn hostile_inputs_get_their_exact_answers_and_neighbours_land() {
    let started = Instant::now();
    let stack = Stack::start().await;
    let mut report = Report::default();
    records::run(&stack, &mut report).await;
    csv::run(&stack, &mut report).await;
    stream::run(&stack, &mut report).await;
    auth::run(&stack, &mut report).await;
    let expected: usize = catalogue().iter().map(|(_, rows)| rows.len()).sum();
    assert_eq!(report.cases, expected, "every case ran");

    let logs = stack.stop().await;
    let mut leaked: Vec<&String> = report
        .personal
        .iter()
        .filter(|v| v.trim().len() >= 6 && logs.contains(v.as_str()))
        .collect();
    leaked.sort();
    leaked.dedup();
    assert!(
        report.failures.is_empty() && leaked.is_empty(),
        "{} of {} cases wrong:\n{}\npersonal data in the logs: {leaked:?}",
        report.failures.len(),
        report.cases,
        report.failures.join("\n")
    );
    eprintln!(
        "hostile catalogue: {} cases in {:.1}s",
        report.cases,
        started.elapsed().as_secs_f64()
    );
}
