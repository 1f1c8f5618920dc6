//! What a sender reads of a feed once it is processed: the receipt from the feed's row (counts,
//! the first findings that fit one answer, the summary of every finding by code), and every
//! finding in pages (`ListFeedFindings`), so that no answer outgrows gRPC's limit whatever the
//! feed. Positions, fields and rules only: no finding carries a value sent.

use rollcall_db::{FeedRow, Pool};
use rollcall_domain::validation::CodeSummary;
use rollcall_proto::feed::v1::{
    FeedReceipt, FeedStatus, Finding, FindingSummary, ListFeedFindingsRequest,
    ListFeedFindingsResponse, Parking, RecordPosition, ValidationOutcome,
};
use rollcall_server::ApiError;
use tonic::Status;
use uuid::Uuid;

use crate::grpc::timestamp;

/// Findings in a page of `ListFeedFindings` unless the caller asks otherwise, and the most it
/// may ask: a finding takes at most a few hundred bytes, so a page stays far under 4 MiB.
const DEFAULT_PAGE: u32 = 1000;
const MAX_PAGE: u32 = 5000;

pub(crate) fn from_row(row: &FeedRow) -> FeedReceipt {
    let status = match row.status.as_str() {
        FeedRow::PROCESSED => FeedStatus::Processed,
        FeedRow::ENQUEUED => FeedStatus::Enqueued,
        FeedRow::PARKED => FeedStatus::Parked,
        _ => FeedStatus::Unspecified,
    };
    let n = |v: Option<i32>| v.unwrap_or_default().max(0) as u32;
    let outcome = row.is_processed().then(|| ValidationOutcome {
        roll_accepted: n(row.roll_accepted),
        roll_rejected: n(row.roll_rejected),
        marks_accepted: n(row.marks_accepted),
        marks_rejected: n(row.marks_rejected),
        records_warned: n(row.records_warned),
        marks_written: n(row.marks_written),
        marks_superseded: n(row.marks_superseded),
        findings: row
            .findings
            .as_ref()
            .map(findings_from_json)
            .unwrap_or_default(),
        findings_omitted: n(row.findings_omitted),
        summary: row
            .finding_summary
            .as_ref()
            .map(summary_from_json)
            .unwrap_or_default(),
    });
    FeedReceipt {
        feed_id: row.feed_id.to_string(),
        school_urn: format!("{:06}", row.school_urn),
        status: status as i32,
        roll_records: n(row.roll_records),
        mark_records: n(row.mark_records),
        received_at: Some(timestamp(row.received_at)),
        outcome,
        duplicate: false,
        parking: None,
        idempotency_key: row.idempotency_key.clone(),
        extracted_at: Some(timestamp(row.extracted_at)),
        processed_at: row.processed_at.map(timestamp),
    }
}

/// The receipt for a feed's row, with why it was parked when it was.
pub(crate) async fn with_parking(pool: &Pool, row: &FeedRow) -> Result<FeedReceipt, Status> {
    let mut receipt = from_row(row);
    if row.status == FeedRow::PARKED {
        let parked = rollcall_db::feed_parking(pool, row.feed_id)
            .await
            .map_err(|err| ApiError::database("cannot read why the feed was parked", &err))?;
        receipt.parking = parked.map(|p| Parking {
            parked_at: Some(timestamp(p.parked_at)),
            sqlstate: p.sqlstate.unwrap_or_default(),
            reason: p.reason,
            field: p.field.or(p.column_name).unwrap_or_default(),
        });
    }
    Ok(receipt)
}

/// A summary by code as the answers carry it.
pub(crate) fn summary(summary: &[CodeSummary]) -> Vec<FindingSummary> {
    summary
        .iter()
        .map(|s| FindingSummary {
            code: s.code.as_str().to_owned(),
            severity: s.severity.as_str().to_owned(),
            count: s.count,
            first: s
                .first
                .iter()
                .map(|r| {
                    let (kind, index) = r.kind_and_index();
                    RecordPosition {
                        record_kind: kind.to_owned(),
                        record_index: u32::try_from(index).unwrap_or(u32::MAX),
                    }
                })
                .collect(),
        })
        .collect()
}

/// A page of feed `feed_id`'s findings, as `request` asks (the caller may see the feed).
pub(crate) async fn findings_page(
    pool: &Pool,
    feed_id: Uuid,
    request: &ListFeedFindingsRequest,
) -> Result<ListFeedFindingsResponse, Status> {
    let after = match request.page_token.trim() {
        "" => None,
        token => Some(token.parse::<i32>().map_err(|_| {
            Status::from(ApiError::invalid("page_token: not one this service gave"))
        })?),
    };
    let size = match request.page_size {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    let code = Some(request.code.trim()).filter(|c| !c.is_empty());
    // One more than the page, to know whether another follows.
    let mut rows = rollcall_db::feed_findings_page(pool, feed_id, after, code, i64::from(size) + 1)
        .await
        .map_err(|err| ApiError::database("cannot read the feed's findings", &err))?;
    let more = rows.len() > size as usize;
    rows.truncate(size as usize);
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => last.ordinal.to_string(),
        _ => String::new(),
    };
    Ok(ListFeedFindingsResponse {
        findings: rows
            .into_iter()
            .map(|r| Finding {
                code: r.code,
                severity: r.severity,
                record_kind: r.record_kind,
                record_index: r.record_index.max(0) as u32,
                field: r.field,
                message: r.message,
            })
            .collect(),
        next_page_token,
    })
}

/// The findings stored with a feed (`rollcall_db::findings_json`) as the receipt carries them;
/// entries of another shape are skipped.
fn findings_from_json(value: &serde_json::Value) -> Vec<Finding> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| Finding {
            code: text(entry, "code"),
            severity: text(entry, "severity"),
            record_kind: text(entry, "record_kind"),
            record_index: entry["record_index"].as_u64().unwrap_or_default() as u32,
            field: text(entry, "field"),
            message: text(entry, "message"),
        })
        .collect()
}

/// The summary stored with a feed (`rollcall_db::summary_json`) as the receipt carries it.
fn summary_from_json(value: &serde_json::Value) -> Vec<FindingSummary> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| FindingSummary {
            code: text(entry, "code"),
            severity: text(entry, "severity"),
            count: entry["count"].as_u64().unwrap_or_default(),
            first: entry["first"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| RecordPosition {
                    record_kind: text(p, "record_kind"),
                    record_index: p["record_index"].as_u64().unwrap_or_default() as u32,
                })
                .collect(),
        })
        .collect()
}

/// An entry's text field, empty when missing.
fn text(entry: &serde_json::Value, key: &str) -> String {
    entry[key].as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use rollcall_domain::validation::{self, Finding as DomainFinding, FindingCode, RecordRef};

    use super::*;

    fn upn_finding(index: usize) -> DomainFinding {
        DomainFinding {
            code: FindingCode::UpnCheckLetter,
            severity: FindingCode::UpnCheckLetter.severity(),
            record: RecordRef::Roll(index),
            field: "upn",
            message: "check letter does not match".into(),
        }
    }

    #[test]
    fn stored_findings_and_their_summary_come_back_as_the_receipt_carries_them() {
        let stored = rollcall_db::findings_json(&[upn_finding(7)]);
        assert_eq!(
            findings_from_json(&stored),
            [Finding {
                code: "UPN_CHECK_LETTER".into(),
                severity: "error".into(),
                record_kind: "roll".into(),
                record_index: 7,
                field: "upn".into(),
                message: "check letter does not match".into(),
            }]
        );
        let findings: Vec<DomainFinding> = (0..8).map(upn_finding).collect();
        let by_code = validation::summarise(&findings);
        let stored = rollcall_db::summary_json(&by_code);
        let back = summary_from_json(&stored);
        assert_eq!(back, summary(&by_code));
        assert_eq!(back[0].count, 8);
        assert_eq!(
            back[0]
                .first
                .iter()
                .map(|p| p.record_index)
                .collect::<Vec<_>>(),
            [0, 1, 2, 3, 4],
            "the first five records"
        );
    }
}
