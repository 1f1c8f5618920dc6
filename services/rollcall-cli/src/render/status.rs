//! Per-school and per-sender pipeline status, and what is not yet queryable, as tables and JSON.

use rollcall_proto::query::v1::{SchoolStatusResponse, SenderStatusResponse};
use serde_json::{Value, json};

use super::table;

pub fn school_status_json(r: &SchoolStatusResponse) -> Value {
    json!({
        "on": r.on, "quiet_after_days": r.quiet_after_days, "quiet_schools": r.quiet_schools,
        "pending_feeds": r.pending_feeds, "pending_marks": r.pending_marks,
        "schools": r.schools.iter().map(|s| json!({
            "urn": s.urn, "name": s.name, "independent": s.independent,
            "last_sender": s.last_sender, "last_received_at": s.last_received_at,
            "latest_register_date": s.latest_register_date,
            "school_days_overdue": s.school_days_overdue,
            "school_days_without_feed": s.school_days_without_feed,
            "quiet": s.quiet, "pending_feeds": s.pending_feeds, "pending_marks": s.pending_marks,
            "calendar": s.calendar,
        })).collect::<Vec<_>>(),
    })
}

pub fn school_status_text(r: &SchoolStatusResponse) -> String {
    let mut text = format!(
        "on {}: {} quiet school(s) (no feed for {} or more register days)\n",
        r.on, r.quiet_schools, r.quiet_after_days
    );
    if r.schools.is_empty() {
        return text;
    }
    let rows: Vec<Vec<String>> = r
        .schools
        .iter()
        .map(|s| {
            vec![
                s.urn.clone(),
                s.name.clone(),
                if s.quiet { "quiet" } else { "" }.to_owned(),
                s.school_days_without_feed.to_string(),
                s.last_received_at.clone(),
                s.last_sender.clone(),
                s.latest_register_date.clone(),
                s.school_days_overdue.to_string(),
                s.pending_feeds.to_string(),
                s.calendar.clone(),
            ]
        })
        .collect();
    text.push_str(&table::render(
        &[
            "urn",
            "school",
            "quiet",
            "days without feed",
            "last feed",
            "sender",
            "registers to",
            "days overdue",
            "pending feeds",
            "calendar",
        ],
        &rows,
    ));
    text
}

pub fn sender_status_json(r: &SenderStatusResponse) -> Value {
    json!({
        "since": r.since,
        "senders": r.senders.iter().map(|s| json!({
            "sender": s.sender, "feeds": s.feeds, "records": s.records,
            "records_rejected": s.records_rejected, "rejected_share": s.rejected_share,
            "rejections": s.rejections.iter().map(|c| json!({"code": c.code, "findings": c.findings})).collect::<Vec<_>>(),
            "latest_error": s.latest_error, "latest_error_at": s.latest_error_at,
        })).collect::<Vec<_>>(),
    })
}

pub fn sender_status_text(r: &SenderStatusResponse) -> String {
    if r.senders.is_empty() {
        return format!("no feeds processed since {}\n", r.since);
    }
    let rows: Vec<Vec<String>> = r
        .senders
        .iter()
        .map(|s| {
            let codes = s
                .rejections
                .iter()
                .take(3)
                .map(|c| format!("{} {}", c.code, c.findings))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                s.sender.clone(),
                s.feeds.to_string(),
                s.records.to_string(),
                format!("{:.1}%", s.rejected_share * 100.0),
                codes,
                s.latest_error_at.clone(),
            ]
        })
        .collect();
    table::render(
        &[
            "sender",
            "feeds",
            "records",
            "rejected",
            "top finding codes",
            "latest error",
        ],
        &rows,
    )
}

pub fn lag_json(r: &SchoolStatusResponse) -> Value {
    json!({
        "pending_feeds": r.pending_feeds, "pending_marks": r.pending_marks,
        "schools": r.schools.iter().filter(|s| s.pending_feeds > 0).map(|s| json!({
            "urn": s.urn, "pending_feeds": s.pending_feeds, "pending_marks": s.pending_marks,
        })).collect::<Vec<_>>(),
    })
}

pub fn lag_text(r: &SchoolStatusResponse) -> String {
    let mut text = format!(
        "not yet queryable: {} feed(s), {} mark(s)\n",
        r.pending_feeds, r.pending_marks
    );
    let rows: Vec<Vec<String>> = r
        .schools
        .iter()
        .filter(|s| s.pending_feeds > 0)
        .map(|s| {
            vec![
                s.urn.clone(),
                s.pending_feeds.to_string(),
                s.pending_marks.to_string(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        text.push_str(&table::render(&["urn", "feeds", "marks"], &rows));
    }
    text
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::{CodeCount, SchoolStatus, SenderStatus};

    use super::*;

    #[test]
    fn quiet_schools_come_first_and_senders_show_their_codes() {
        let schools = SchoolStatusResponse {
            on: "2025-10-10".into(),
            quiet_after_days: 1,
            quiet_schools: 1,
            pending_feeds: 1,
            pending_marks: 420,
            schools: vec![
                SchoolStatus {
                    urn: "100001".into(),
                    name: "Example Primary".into(),
                    last_sender: "acme-mis".into(),
                    last_received_at: "2025-10-06T16:02:00Z".into(),
                    latest_register_date: "2025-10-06".into(),
                    school_days_overdue: 3,
                    school_days_without_feed: 3,
                    quiet: true,
                    calendar: "la".into(),
                    ..Default::default()
                },
                SchoolStatus {
                    urn: "100002".into(),
                    name: "Example Academy".into(),
                    last_sender: "acme-mis".into(),
                    last_received_at: "2025-10-09T16:01:00Z".into(),
                    latest_register_date: "2025-10-09".into(),
                    pending_feeds: 1,
                    pending_marks: 420,
                    calendar: "school".into(),
                    ..Default::default()
                },
            ],
        };
        insta::assert_snapshot!(school_status_text(&schools));
        insta::assert_snapshot!(lag_text(&schools));
        let senders = SenderStatusResponse {
            since: "2025-10-03T00:00:00Z".into(),
            senders: vec![SenderStatus {
                sender: "acme-mis".into(),
                feeds: 40,
                records: 12_000,
                records_rejected: 30,
                rejected_share: 0.0025,
                rejections: vec![CodeCount {
                    code: "UNKNOWN_CODE".into(),
                    findings: 30,
                }],
                latest_error: "UNKNOWN_CODE".into(),
                latest_error_at: "2025-10-09T16:01:00Z".into(),
            }],
        };
        insta::assert_snapshot!(sender_status_text(&senders));
    }
}
