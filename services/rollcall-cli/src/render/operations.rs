//! Dead-letter groups, a group's records and parked feeds, as tables and JSON.

use rollcall_proto::query::v1::{
    ListDeadLetterGroupsResponse, ListDeadLettersResponse, ListParkedFeedsResponse,
};
use serde_json::{Value, json};

use super::table;

pub fn dead_letter_groups_json(r: &ListDeadLetterGroupsResponse) -> Value {
    json!({
        "since": r.since,
        "groups": r.groups.iter().map(|g| json!({
            "group": format!("{}/{}/{}", g.code, g.sender, g.school_urn),
            "code": g.code, "sender": g.sender, "school_urn": g.school_urn,
            "records": g.records, "feeds": g.feeds,
            "first_seen": g.first_seen, "last_seen": g.last_seen,
        })).collect::<Vec<_>>(),
    })
}

pub fn dead_letter_groups_text(r: &ListDeadLetterGroupsResponse) -> String {
    if r.groups.is_empty() {
        return format!("no rejected records in feeds received since {}\n", r.since);
    }
    let rows: Vec<Vec<String>> = r
        .groups
        .iter()
        .map(|g| {
            vec![
                format!("{}/{}/{}", g.code, g.sender, g.school_urn),
                g.records.to_string(),
                g.feeds.to_string(),
                g.first_seen.clone(),
                g.last_seen.clone(),
            ]
        })
        .collect();
    table::render(
        &[
            "group (code/sender/school)",
            "records",
            "feeds",
            "first seen",
            "last seen",
        ],
        &rows,
    )
}

pub fn dead_letters_json(r: &ListDeadLettersResponse) -> Value {
    json!({
        "records": r.records.iter().map(|d| json!({
            "feed_id": d.feed_id, "received_at": d.received_at,
            "record_kind": d.record_kind, "record_index": d.record_index,
            "field": d.field, "message": d.message,
        })).collect::<Vec<_>>(),
        "more": !r.next_page_token.is_empty(),
    })
}

pub fn dead_letters_text(r: &ListDeadLettersResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .records
        .iter()
        .map(|d| {
            vec![
                d.feed_id.clone(),
                d.received_at.clone(),
                format!("{} {}", d.record_kind, d.record_index),
                d.field.clone(),
                d.message.clone(),
            ]
        })
        .collect();
    let mut text = table::render(&["feed", "received", "record", "field", "rule"], &rows);
    if !r.next_page_token.is_empty() {
        text.push_str("(more: raise --limit)\n");
    }
    text
}

pub fn parked_json(r: &ListParkedFeedsResponse) -> Value {
    Value::Array(
        r.feeds
            .iter()
            .map(|p| {
                json!({
                    "id": p.id, "feed_id": p.feed_id, "school_urn": p.school_urn,
                    "parked_at": p.parked_at, "attempts": p.attempts,
                    "sqlstate": p.sqlstate, "reason": p.reason, "field": p.field,
                    "table": p.table_name, "column": p.column_name, "constraint": p.constraint_name,
                    "replay_requested_at": p.replay_requested_at, "replayed_at": p.replayed_at,
                })
            })
            .collect(),
    )
}

pub fn parked_text(r: &ListParkedFeedsResponse) -> String {
    if r.feeds.is_empty() {
        return "no parked feeds\n".to_owned();
    }
    let rows: Vec<Vec<String>> = r
        .feeds
        .iter()
        .map(|p| {
            let state = if !p.replayed_at.is_empty() {
                format!("replayed {}", p.replayed_at)
            } else if !p.replay_requested_at.is_empty() {
                "replay asked for".to_owned()
            } else {
                "parked".to_owned()
            };
            vec![
                p.id.to_string(),
                p.feed_id.clone(),
                p.school_urn.clone(),
                p.parked_at.clone(),
                p.sqlstate.clone(),
                p.reason.clone(),
                p.field.clone(),
                state,
            ]
        })
        .collect();
    table::render(
        &[
            "id", "feed", "school", "parked", "sqlstate", "reason", "field", "state",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::{DeadLetter, DeadLetterGroup, ParkedFeed};

    use super::*;

    #[test]
    fn groups_records_and_parked_feeds_print_as_tables() {
        let groups = ListDeadLetterGroupsResponse {
            groups: vec![DeadLetterGroup {
                code: "UNKNOWN_CODE".into(),
                sender: "acme-mis".into(),
                school_urn: "100001".into(),
                records: 12,
                feeds: 2,
                first_seen: "2025-10-06T16:00:00Z".into(),
                last_seen: "2025-10-07T16:00:00Z".into(),
            }],
            since: "2025-09-30T00:00:00Z".into(),
        };
        insta::assert_snapshot!(dead_letter_groups_text(&groups));
        let records = ListDeadLettersResponse {
            records: vec![DeadLetter {
                feed_id: "5f2b9c1e-8a47-4d3b-9e61-0c7ad2f41b88".into(),
                received_at: "2025-10-07T16:00:00Z".into(),
                record_kind: "mark".into(),
                record_index: 3,
                field: "code".into(),
                message: "not an attendance code in the 2024 set".into(),
            }],
            next_page_token: "7.3".into(),
        };
        insta::assert_snapshot!(dead_letters_text(&records));
        let parked = ListParkedFeedsResponse {
            feeds: vec![ParkedFeed {
                id: 4,
                feed_id: "5f2b9c1e-8a47-4d3b-9e61-0c7ad2f41b88".into(),
                school_urn: "100001".into(),
                parked_at: "2025-10-07T16:01:00Z".into(),
                attempts: 5,
                sqlstate: "23514".into(),
                reason: "check_violation".into(),
                replay_requested_at: "2025-10-07T17:00:00Z".into(),
                ..Default::default()
            }],
        };
        insta::assert_snapshot!(parked_text(&parked));
    }
}
