//! The registry, API keys, the audit trail and the pipeline's counts.

use rollcall_proto::admin::v1::ApiKey;
use rollcall_proto::query::v1::{ListAuditEventsResponse, PipelineCountsResponse, School};
use serde_json::{Value, json};

use super::measures::school_json;
use super::{table, yes_no};

pub fn schools_json(schools: &[School]) -> Value {
    Value::Array(schools.iter().map(school_json).collect())
}

pub fn schools_text(schools: &[School]) -> String {
    let rows: Vec<Vec<String>> = schools
        .iter()
        .map(|s| {
            vec![
                s.urn.clone(),
                s.la_code.clone(),
                s.name.clone(),
                s.phase.clone(),
                s.school_type.clone(),
                yes_no(s.independent),
            ]
        })
        .collect();
    table::render(
        &["urn", "la", "name", "phase", "type", "independent"],
        &rows,
    )
}

/// A key as listed (never its secret).
pub fn key_json(k: &ApiKey) -> Value {
    json!({
        "key_id": k.key_id,
        "kind": k.kind,
        "organisation": k.organisation,
        "description": k.description,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "revoked_at": (!k.revoked_at.is_empty()).then_some(&k.revoked_at),
        "vendor_schools": k.vendor_schools,
    })
}

pub fn keys_text(keys: &[ApiKey]) -> String {
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.key_id.clone(),
                k.kind.clone(),
                k.organisation.clone(),
                k.created_at.clone(),
                k.expires_at.clone(),
                k.revoked_at.clone(),
                k.description.clone(),
            ]
        })
        .collect();
    table::render(
        &[
            "key_id",
            "kind",
            "organisation",
            "created",
            "expires",
            "revoked",
            "description",
        ],
        &rows,
    )
}

pub fn audit_json(r: &ListAuditEventsResponse) -> Value {
    Value::Array(
        r.events
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "at": e.at,
                    "key_id": e.key_id,
                    "principal_kind": e.principal_kind,
                    "organisation": e.organisation,
                    "rpc": e.rpc,
                    "purpose": e.purpose,
                    "request_scope": e.request_scope,
                    "enrolment_ids": e.enrolment_ids,
                })
            })
            .collect(),
    )
}

pub fn audit_text(r: &ListAuditEventsResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .events
        .iter()
        .map(|e| {
            vec![
                e.at.clone(),
                e.key_id.clone(),
                format!("{} {}", e.principal_kind, e.organisation)
                    .trim()
                    .to_owned(),
                e.rpc.rsplit('/').next().unwrap_or_default().to_owned(),
                e.request_scope.clone(),
                e.enrolment_ids.len().to_string(),
                e.purpose.clone(),
            ]
        })
        .collect();
    table::render(
        &[
            "at",
            "key_id",
            "who",
            "call",
            "asked for",
            "your pupils",
            "purpose",
        ],
        &rows,
    )
}

/// How far feeds have got through the pipeline.
pub fn counts_json(r: &PipelineCountsResponse) -> Value {
    json!({
        "feeds_received": r.feeds_received,
        "feeds_enqueued": r.feeds_enqueued,
        "feeds_processed": r.feeds_processed,
        "marks_stored": r.marks_stored,
        "feeds_parked": r.feeds_parked,
    })
}

pub fn counts_text(r: &PipelineCountsResponse) -> String {
    format!(
        "feeds: {} received, {} enqueued, {} processed, {} parked; {} marks stored\n",
        r.feeds_received, r.feeds_enqueued, r.feeds_processed, r.feeds_parked, r.marks_stored
    )
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::AuditEvent;

    use super::super::fixtures::{keys, school};
    use super::*;
    use crate::render::pretty;

    fn api_keys() -> Vec<ApiKey> {
        vec![
            ApiKey {
                key_id: "k-2".into(),
                kind: "vendor".into(),
                organisation: "demo-mis".into(),
                description: "synthetic la vendor".into(),
                created_at: "2025-10-06T08:00:00Z".into(),
                expires_at: "2026-01-04T08:00:00Z".into(),
                revoked_at: String::new(),
                vendor_schools: vec!["140001".into(), "140002".into()],
            },
            ApiKey {
                key_id: "k-1".into(),
                kind: "admin".into(),
                organisation: String::new(),
                description: "bootstrap admin key".into(),
                created_at: "2025-10-01T08:00:00Z".into(),
                expires_at: "2025-10-31T08:00:00Z".into(),
                revoked_at: "2025-10-06T09:30:00Z".into(),
                vendor_schools: Vec::new(),
            },
        ]
    }

    #[test]
    fn keys_list_without_secrets_and_an_unrevoked_key_has_no_revocation() {
        let keys_list = api_keys();
        let value = Value::Array(keys_list.iter().map(key_json).collect());
        assert_eq!(
            keys(&value[0]),
            [
                "created_at",
                "description",
                "expires_at",
                "key_id",
                "kind",
                "organisation",
                "revoked_at",
                "vendor_schools"
            ]
        );
        assert!(value[0]["revoked_at"].is_null());
        assert_eq!(value[1]["revoked_at"], "2025-10-06T09:30:00Z");
        let text = keys_text(&keys_list);
        assert_eq!(
            text.lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            [
                "key_id",
                "kind",
                "organisation",
                "created",
                "expires",
                "revoked",
                "description"
            ]
        );
        insta::assert_snapshot!("keys", pretty(&value));
        insta::assert_snapshot!("keys_text", text);
    }

    #[test]
    fn the_audit_trail_names_the_call_and_counts_your_pupils() {
        let r = ListAuditEventsResponse {
            events: vec![AuditEvent {
                id: 7,
                at: "2025-10-06T10:15:00Z".into(),
                key_id: "k-3".into(),
                principal_kind: "la".into(),
                organisation: "937".into(),
                rpc: "rollcall.query.v1.QueryService/AtRiskPupils".into(),
                purpose: "weekly review".into(),
                request_scope: "la 937".into(),
                enrolment_ids: vec![11, 12, 13],
            }],
        };
        let text = audit_text(&r);
        let row = text.lines().nth(2).expect("a row");
        assert!(row.contains("la 937  AtRiskPupils  la 937"), "{text}");
        assert!(row.ends_with("3  weekly review"), "{text}");
        let value = audit_json(&r);
        assert_eq!(value[0]["enrolment_ids"], json!([11, 12, 13]));
        insta::assert_snapshot!("audit_text", text);
        insta::assert_snapshot!("audit", pretty(&value));
    }

    #[test]
    fn schools_and_counts() {
        let schools = [
            school("140001", "Kenilworth Primary School", false),
            school("140002", "Rugby House School", true),
        ];
        let text = schools_text(&schools);
        assert!(
            text.lines()
                .nth(3)
                .unwrap()
                .starts_with("140002  937  Rugby House School         primary  independent  Y"),
            "{text}"
        );
        insta::assert_snapshot!("schools_text", text);
        insta::assert_snapshot!("schools", pretty(&schools_json(&schools)));
        let counts = PipelineCountsResponse {
            feeds_received: 640,
            feeds_enqueued: 640,
            feeds_processed: 638,
            marks_stored: 1_833_340,
            feeds_parked: 2,
        };
        assert_eq!(
            counts_text(&counts),
            "feeds: 640 received, 640 enqueued, 638 processed, 2 parked; 1833340 marks stored\n"
        );
        insta::assert_snapshot!("counts", pretty(&counts_json(&counts)));
    }
}
