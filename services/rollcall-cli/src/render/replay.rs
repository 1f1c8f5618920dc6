//! A school replay (`rollcall replay`) as a table and JSON: each feed's first validation beside
//! its new one, and what changes in the tables. Counts only.

use rollcall_proto::query::v1::{ReplayCounts, SchoolReplay};
use serde_json::{Value, json};

use super::table;

pub fn school_replay_json(r: &SchoolReplay) -> Value {
    let counts = |c: Option<ReplayCounts>| {
        let c = c.unwrap_or_default();
        json!({
            "roll_accepted": c.roll_accepted, "roll_rejected": c.roll_rejected,
            "marks_accepted": c.marks_accepted, "marks_rejected": c.marks_rejected,
        })
    };
    json!({
        "id": r.id, "school_urn": r.school_urn, "from": r.from, "dry_run": r.dry_run,
        "status": r.status, "requested_at": r.requested_at, "finished_at": r.finished_at,
        "feeds_found": r.feeds_found, "feeds_read": r.feeds_read, "feeds_gone": r.feeds_gone,
        "feeds_applied": r.feeds_applied,
        "marks_written": r.marks_written, "enrolments_added": r.enrolments_added,
        "enrolments_changed": r.enrolments_changed,
        "sessions_by_code": r.sessions_by_code.iter()
            .map(|d| (d.code.clone(), json!(d.sessions)))
            .collect::<serde_json::Map<_, _>>(),
        "feeds": r.feeds.iter().map(|f| json!({
            "feed_id": f.feed_id, "received_at": f.received_at,
            "before": counts(f.before), "after": counts(f.after),
            "marks_written": f.marks_written, "refused": f.refused,
        })).collect::<Vec<_>>(),
        "error": r.error,
    })
}

pub fn school_replay_text(r: &SchoolReplay) -> String {
    let kind = if r.dry_run { "dry run" } else { "replay" };
    let mut out = format!(
        "school replay {} of school {} ({kind}): {}\n",
        r.id, r.school_urn, r.status
    );
    match r.status.as_str() {
        "failed" => {
            out.push_str(&format!("error: {}\n", r.error));
            return out;
        }
        "requested" | "running" => {
            out.push_str(&format!(
                "not finished yet: `rollcall replay --show {}` shows it later\n",
                r.id
            ));
            return out;
        }
        _ => {}
    }
    let window = if r.from.is_empty() {
        "every feed the broker holds".to_owned()
    } else {
        format!("feeds received from {}", r.from)
    };
    out.push_str(&format!(
        "{window}: {} found, {} read back, {} no longer held by the broker\n",
        r.feeds_found, r.feeds_read, r.feeds_gone
    ));
    let verb = if r.dry_run { "would change" } else { "changes" };
    out.push_str(&format!(
        "{verb}: {} sessions written, {} enrolments added, {} enrolments changed\n",
        r.marks_written, r.enrolments_added, r.enrolments_changed
    ));
    if !r.sessions_by_code.is_empty() {
        let deltas: Vec<String> = r
            .sessions_by_code
            .iter()
            .map(|d| format!("{} {:+}", d.code, d.sessions))
            .collect();
        out.push_str(&format!("sessions by code: {}\n", deltas.join(", ")));
    }
    if !r.dry_run {
        out.push_str(&format!(
            "applied by the aggregator: {} of {} feeds\n",
            r.feeds_applied, r.feeds_read
        ));
    }
    if r.feeds.is_empty() {
        return out;
    }
    let arrow = |before: u64, after: u64| {
        if before == after {
            before.to_string()
        } else {
            format!("{before} -> {after}")
        }
    };
    let rows: Vec<Vec<String>> = r
        .feeds
        .iter()
        .map(|f| {
            let (b, a) = (f.before.unwrap_or_default(), f.after.unwrap_or_default());
            vec![
                f.feed_id.clone(),
                f.received_at.clone(),
                arrow(b.roll_accepted, a.roll_accepted),
                arrow(b.marks_accepted, a.marks_accepted),
                arrow(b.marks_rejected, a.marks_rejected),
                f.marks_written.to_string(),
                f.refused.clone(),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &[
            "feed",
            "received",
            "roll accepted",
            "marks accepted",
            "marks rejected",
            "sessions written",
            "refused",
        ],
        &rows,
    ));
    out
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::{CodeDelta, ReplayedFeed};

    use super::*;

    fn replay(dry_run: bool) -> SchoolReplay {
        SchoolReplay {
            id: 7,
            school_urn: "100001".into(),
            from: "2025-10-06".into(),
            dry_run,
            status: "done".into(),
            requested_at: "2025-10-08T09:00:00Z".into(),
            finished_at: "2025-10-08T09:00:02Z".into(),
            feeds_found: 2,
            feeds_read: 2,
            feeds_gone: 0,
            feeds_applied: if dry_run { 0 } else { 2 },
            feeds: vec![
                ReplayedFeed {
                    feed_id: "5f2b9c1e-8a47-4d3b-9e61-0c7ad2f41b88".into(),
                    received_at: "2025-10-06T16:00:00Z".into(),
                    before: Some(ReplayCounts {
                        roll_rejected: 3,
                        marks_rejected: 30,
                        ..Default::default()
                    }),
                    after: Some(ReplayCounts {
                        roll_accepted: 3,
                        marks_accepted: 30,
                        ..Default::default()
                    }),
                    marks_written: 30,
                    refused: String::new(),
                },
                ReplayedFeed {
                    feed_id: "0c7ad2f4-1b88-4d3b-9e61-5f2b9c1e8a47".into(),
                    received_at: "2025-10-07T16:00:00Z".into(),
                    before: Some(ReplayCounts {
                        roll_accepted: 3,
                        marks_accepted: 6,
                        ..Default::default()
                    }),
                    after: Some(ReplayCounts {
                        roll_accepted: 3,
                        marks_accepted: 6,
                        ..Default::default()
                    }),
                    marks_written: 0,
                    refused: String::new(),
                },
            ],
            marks_written: 30,
            enrolments_added: 3,
            enrolments_changed: 0,
            sessions_by_code: vec![
                CodeDelta {
                    code: "/".into(),
                    sessions: 26,
                },
                CodeDelta {
                    code: "I".into(),
                    sessions: 4,
                },
            ],
            error: String::new(),
        }
    }

    #[test]
    fn a_dry_run_and_a_replay_print_what_changes() {
        insta::assert_snapshot!(school_replay_text(&replay(true)));
        insta::assert_snapshot!(school_replay_text(&replay(false)));
        let failed = SchoolReplay {
            status: "failed".into(),
            error: "cannot read the feed back from the broker: reading back from topic rollcall.feeds.v1 timed out".into(),
            ..replay(true)
        };
        insta::assert_snapshot!(school_replay_text(&failed));
    }
}
