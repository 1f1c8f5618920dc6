//! A feed's receipt: its status, counts, any parking, its findings by code and the first of
//! them; and a feed's findings listed whole (`rollcall feeds findings`).

use rollcall_proto::feed::v1::{
    FeedReceipt, FeedStatus, Finding, ValidationOutcome, WatchedReceipt,
};
use serde_json::{Value, json};

use super::table;

pub fn receipt_json(r: &FeedReceipt) -> Value {
    let outcome = r.outcome.as_ref().map(outcome_json);
    let parking = r
        .parking
        .as_ref()
        .map(|p| json!({"sqlstate": p.sqlstate, "reason": p.reason, "field": p.field}));
    json!({
        "feed_id": r.feed_id, "school_urn": r.school_urn, "status": status_name(r), "duplicate": r.duplicate,
        "roll_records": r.roll_records, "mark_records": r.mark_records, "outcome": outcome,
        "parking": parking,
    })
}

/// A list of feeds (`rollcall feeds list`), newest first.
pub fn feeds_json(feeds: &[FeedReceipt]) -> Value {
    let time = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    Value::Array(
        feeds
            .iter()
            .map(|f| {
                let o = f.outcome.as_ref();
                json!({
                    "feed_id": f.feed_id, "school_urn": f.school_urn,
                    "idempotency_key": f.idempotency_key, "status": status_name(f),
                    "roll_records": f.roll_records, "mark_records": f.mark_records,
                    "marks_accepted": o.map(|o| o.marks_accepted), "marks_rejected": o.map(|o| o.marks_rejected),
                    "extracted_at": time(&f.extracted_at), "received_at": time(&f.received_at),
                    "processed_at": time(&f.processed_at),
                })
            })
            .collect(),
    )
}

/// A list of feeds as a table.
pub fn feeds_text(feeds: &[FeedReceipt]) -> String {
    if feeds.is_empty() {
        return "no feeds in this time range\n".to_owned();
    }
    let rows: Vec<Vec<String>> = feeds_json(feeds)
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let cell = |key: &str| match &f[key] {
                Value::String(s) => s.clone(),
                Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            vec![
                cell("received_at"),
                cell("school_urn"),
                cell("status"),
                cell("mark_records"),
                cell("marks_accepted"),
                cell("marks_rejected"),
                cell("idempotency_key"),
                cell("feed_id"),
            ]
        })
        .collect();
    table::render(
        &[
            "received",
            "school",
            "status",
            "marks",
            "accepted",
            "rejected",
            "idempotency key",
            "feed id",
        ],
        &rows,
    )
}

/// A dry run's answer: what the feed's records would give, nothing stored.
pub fn dry_run_json(o: &ValidationOutcome) -> Value {
    json!({"dry_run": true, "outcome": outcome_json(o)})
}

fn outcome_json(o: &ValidationOutcome) -> Value {
    json!({
        "roll_accepted": o.roll_accepted, "roll_rejected": o.roll_rejected, "marks_accepted": o.marks_accepted,
        "marks_rejected": o.marks_rejected, "records_warned": o.records_warned, "marks_written": o.marks_written,
        "marks_superseded": o.marks_superseded, "findings_omitted": o.findings_omitted,
        "summary": o.summary.iter().map(|s| json!({
            "code": s.code, "severity": s.severity, "count": s.count,
            "first": s.first.iter().map(|p| json!({"record_kind": p.record_kind, "record_index": p.record_index})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "findings": o.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "code": f.code, "severity": f.severity, "record_kind": f.record_kind, "record_index": f.record_index,
        "field": f.field, "message": f.message,
    })
}

/// A pushed receipt as one JSON object on one line (`rollcall feeds watch --json`).
pub fn watched_json(w: &WatchedReceipt) -> String {
    let receipt = w.receipt.as_ref().map(receipt_json).unwrap_or(Value::Null);
    json!({"position": w.position, "receipt": receipt}).to_string()
}

/// A pushed receipt as one line: its position first, for `--resume-from`.
pub fn watched_text(w: &WatchedReceipt) -> String {
    let Some(r) = &w.receipt else {
        return format!("{}\n", w.position);
    };
    let counts = match &r.outcome {
        Some(o) => format!(
            "roll {} accepted, {} rejected; marks {} accepted, {} rejected",
            o.roll_accepted, o.roll_rejected, o.marks_accepted, o.marks_rejected
        ),
        None => r
            .parking
            .as_ref()
            .map(|p| format!("refused by the database: {}", p.reason))
            .unwrap_or_default(),
    };
    format!(
        "{}  {}  school {}  {}  {}\n",
        w.position,
        r.feed_id,
        r.school_urn,
        status_name(r),
        counts
    )
}

/// Every finding of a feed (`rollcall feeds findings`).
pub fn findings_json(feed_id: &str, findings: &[Finding]) -> Value {
    json!({"feed_id": feed_id, "findings": findings.iter().map(finding_json).collect::<Vec<_>>()})
}

pub fn findings_list_text(feed_id: &str, findings: &[Finding]) -> String {
    if findings.is_empty() {
        return format!("feed {feed_id}: no findings\n");
    }
    let mut out = format!("feed {feed_id}: {} findings\n", findings.len());
    out.push_str(&findings_table(findings));
    out
}

fn status_name(r: &FeedReceipt) -> &'static str {
    match r.status() {
        FeedStatus::Enqueued => "enqueued",
        FeedStatus::Processed => "processed",
        FeedStatus::Parked => "parked",
        FeedStatus::Unspecified => "unknown",
    }
}

pub fn receipt_text(r: &FeedReceipt) -> String {
    let mut out = format!(
        "feed {} for school {}: {}{}\n{} roll records, {} marks\n",
        r.feed_id,
        r.school_urn,
        status_name(r),
        if r.duplicate {
            " (already received under this idempotency key)"
        } else {
            ""
        },
        r.roll_records,
        r.mark_records
    );
    if let Some(p) = &r.parking {
        out.push_str(&format!(
            "parked: the database refused the feed ({}{}{}); nothing of it was stored and later feeds went on. Ask the LA's operations team to replay it once fixed, or send a corrected feed under a new idempotency key\n",
            if p.sqlstate.is_empty() { String::new() } else { format!("sqlstate {}: ", p.sqlstate) },
            p.reason,
            if p.field.is_empty() { String::new() } else { format!("; at {}", p.field) },
        ));
    }
    if let Some(o) = &r.outcome {
        out.push_str(&format!(
            "roll: {} accepted, {} rejected; marks: {} accepted, {} rejected ({} stored, {} older than what is held); {} records with warnings\n",
            o.roll_accepted, o.roll_rejected, o.marks_accepted, o.marks_rejected, o.marks_written, o.marks_superseded, o.records_warned
        ));
        findings_text(o, Some(&r.feed_id), &mut out);
    }
    out
}

/// A dry run's answer as text.
pub fn dry_run_text(o: &ValidationOutcome) -> String {
    let mut out = format!(
        "dry run: nothing was stored or enqueued\nroll: {} accepted, {} rejected; marks: {} accepted, {} rejected; {} records with warnings\n",
        o.roll_accepted, o.roll_rejected, o.marks_accepted, o.marks_rejected, o.records_warned
    );
    findings_text(o, None, &mut out);
    out
}

/// Findings a receipt lists on a terminal; the rest are counted, and listed by
/// `rollcall feeds findings`.
const LISTED: usize = 20;

/// The findings by code, the first of them as a table, and how many more there are.
fn findings_text(o: &ValidationOutcome, feed_id: Option<&str>, out: &mut String) {
    if !o.summary.is_empty() {
        let rows: Vec<Vec<String>> = o
            .summary
            .iter()
            .map(|s| {
                let first: Vec<String> = s
                    .first
                    .iter()
                    .map(|p| format!("{} {}", p.record_kind, p.record_index))
                    .collect();
                vec![
                    s.severity.clone(),
                    s.code.clone(),
                    s.count.to_string(),
                    first.join(", "),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table::render(
            &["severity", "code", "findings", "first records"],
            &rows,
        ));
    }
    let listed = &o.findings[..o.findings.len().min(LISTED)];
    if !listed.is_empty() {
        out.push('\n');
        out.push_str(&findings_table(listed));
    }
    let more = (o.findings.len() - listed.len()) as u64 + u64::from(o.findings_omitted);
    if more > 0 {
        out.push_str(&match feed_id {
            Some(id) => {
                format!("{more} more findings: `rollcall feeds findings {id}` lists them all\n")
            }
            None => format!(
                "{more} more findings not listed (`--json` has those that fit one answer)\n"
            ),
        });
    }
}

fn findings_table(findings: &[Finding]) -> String {
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            vec![
                f.severity.clone(),
                f.code.clone(),
                f.record_kind.clone(),
                f.record_index.to_string(),
                f.field.clone(),
                f.message.clone(),
            ]
        })
        .collect();
    table::render(
        &["severity", "code", "record", "index", "field", "message"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use rollcall_proto::feed::v1::Parking;

    use super::super::fixtures::{keys, outcome, receipt};
    use super::*;
    use crate::render::pretty;

    #[test]
    fn a_receipt_in_json_has_its_counts_and_every_finding() {
        let value = receipt_json(&receipt(Some(outcome())));
        assert_eq!(
            keys(&value),
            [
                "duplicate",
                "feed_id",
                "mark_records",
                "outcome",
                "parking",
                "roll_records",
                "school_urn",
                "status"
            ]
        );
        assert_eq!(value["status"], "processed");
        assert!(value["parking"].is_null());
        let outcome = &value["outcome"];
        assert_eq!(
            keys(outcome),
            [
                "findings",
                "findings_omitted",
                "marks_accepted",
                "marks_rejected",
                "marks_superseded",
                "marks_written",
                "records_warned",
                "roll_accepted",
                "roll_rejected",
                "summary"
            ]
        );
        assert_eq!(
            outcome["findings"][0],
            json!({"code": "UNKNOWN_CODE", "severity": "error", "record_kind": "mark", "record_index": 3, "field": "code", "message": "not a national attendance code"})
        );
        let enqueued = receipt_json(&receipt(None));
        assert_eq!(
            (&enqueued["status"], &enqueued["outcome"]),
            (&json!("enqueued"), &Value::Null)
        );
        insta::assert_snapshot!("receipt_processed", pretty(&value));
        insta::assert_snapshot!("receipt_enqueued", pretty(&enqueued));
    }

    #[test]
    fn a_list_of_feeds_has_a_row_each_newest_first() {
        let mut processed = receipt(Some(outcome()));
        processed.idempotency_key = "mis-2025-10-06".into();
        processed.received_at = Some(prost_types::Timestamp {
            seconds: 1_759_737_600,
            nanos: 0,
        });
        let enqueued = FeedReceipt {
            feed_id: "f-2".into(),
            ..receipt(None)
        };
        let feeds = [enqueued, processed];
        let value = feeds_json(&feeds);
        assert_eq!(value[1]["received_at"], "2025-10-06T08:00:00Z");
        assert_eq!(value[0]["marks_accepted"], Value::Null);
        insta::assert_snapshot!("feeds_text", feeds_text(&feeds));
        insta::assert_snapshot!("feeds", pretty(&value));
        assert_eq!(feeds_text(&[]), "no feeds in this time range\n");
    }

    #[test]
    fn a_dry_run_says_nothing_was_stored_and_lists_every_finding() {
        let text = dry_run_text(&outcome());
        assert!(
            text.starts_with("dry run: nothing was stored or enqueued\n"),
            "{text}"
        );
        assert!(text.contains("UNKNOWN_CODE"), "{text}");
        let value = dry_run_json(&outcome());
        assert_eq!(value["dry_run"], true);
        assert_eq!(
            value["outcome"],
            receipt_json(&receipt(Some(outcome())))["outcome"]
        );
        insta::assert_snapshot!("dry_run_text", text);
        insta::assert_snapshot!("dry_run", pretty(&value));
    }

    #[test]
    fn a_receipt_as_text_has_its_findings_by_code_then_the_first_of_them() {
        let text = receipt_text(&receipt(Some(outcome())));
        assert!(
            text.starts_with("feed f-1 for school 140001: processed\n2 roll records, 4 marks\n"),
            "{text}"
        );
        assert!(text.contains("marks: 3 accepted, 1 rejected"), "{text}");
        let headers: Vec<Vec<&str>> = text
            .lines()
            .filter(|l| l.starts_with("severity"))
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            headers,
            [
                vec!["severity", "code", "findings", "first", "records"],
                vec!["severity", "code", "record", "index", "field", "message"]
            ]
        );
        assert!(text.contains("mark 3"), "{text}");
        assert!(
            text.contains(
                "error     UNKNOWN_CODE  mark        3  code   not a national attendance code"
            ),
            "{text}"
        );
        insta::assert_snapshot!("receipt_processed_text", text);
    }

    #[test]
    fn a_pushed_receipt_is_one_line_starting_with_its_position() {
        let watched = WatchedReceipt {
            receipt: Some(receipt(Some(outcome()))),
            position: "7421.f-1".into(),
        };
        assert_eq!(
            watched_text(&watched),
            "7421.f-1  f-1  school 140001  processed  roll 2 accepted, 0 rejected; marks 3 accepted, 1 rejected\n"
        );
        let line = watched_json(&watched);
        assert!(!line.contains('\n'), "one line");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["position"], "7421.f-1");
        assert_eq!(value["receipt"]["status"], "processed");
    }

    #[test]
    fn a_parked_duplicate_says_why_and_what_to_do() {
        let mut parked = receipt(Some(outcome()));
        parked.status = FeedStatus::Parked as i32;
        parked.duplicate = true;
        parked.parking = Some(Parking {
            sqlstate: "22001".into(),
            reason: "a value is too long for its column".into(),
            field: "enrolments.forename".into(),
            ..Default::default()
        });
        if let Some(o) = parked.outcome.as_mut() {
            o.findings_omitted = 7;
        }
        let text = receipt_text(&parked);
        assert!(
            text.starts_with(
                "feed f-1 for school 140001: parked (already received under this idempotency key)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "(sqlstate 22001: a value is too long for its column; at enrolments.forename)"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("7 more findings: `rollcall feeds findings f-1` lists them all\n"),
            "{text}"
        );
        insta::assert_snapshot!("receipt_parked_text", text);
        insta::assert_snapshot!("receipt_parked", pretty(&receipt_json(&parked)));
    }
}
