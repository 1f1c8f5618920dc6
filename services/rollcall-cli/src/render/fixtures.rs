//! Fixed answers the render tests are fed: a receipt with a finding, measures, an LA of two
//! schools (one independent).

use rollcall_proto::feed::v1::{
    FeedReceipt, FeedStatus, Finding, FindingSummary, RecordPosition, ValidationOutcome,
};
use rollcall_proto::query::v1::{LaSummaryResponse, Measures, School, SchoolRow};
use serde_json::Value;

/// An object's keys, sorted.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

pub fn receipt(outcome: Option<ValidationOutcome>) -> FeedReceipt {
    FeedReceipt {
        feed_id: "f-1".into(),
        school_urn: "140001".into(),
        status: if outcome.is_some() {
            FeedStatus::Processed
        } else {
            FeedStatus::Enqueued
        } as i32,
        roll_records: 2,
        mark_records: 4,
        outcome,
        ..Default::default()
    }
}

pub fn outcome() -> ValidationOutcome {
    ValidationOutcome {
        roll_accepted: 2,
        marks_accepted: 3,
        marks_rejected: 1,
        marks_written: 3,
        findings: vec![Finding {
            code: "UNKNOWN_CODE".into(),
            severity: "error".into(),
            record_kind: "mark".into(),
            record_index: 3,
            field: "code".into(),
            message: "not a national attendance code".into(),
        }],
        summary: vec![FindingSummary {
            code: "UNKNOWN_CODE".into(),
            severity: "error".into(),
            count: 1,
            first: vec![RecordPosition {
                record_kind: "mark".into(),
                record_index: 3,
            }],
        }],
        ..Default::default()
    }
}

pub fn measures(possible: u64, absence: u64) -> Measures {
    Measures {
        enrolments: 2,
        possible_sessions: possible,
        overall_absence: absence,
        attendance_perc: 100.0 * (possible - absence) as f64 / possible as f64,
        overall_absence_perc: 100.0 * absence as f64 / possible as f64,
        persistent_absentees: 1,
        persistent_absence_perc: 50.0,
        sessions_by_code: [
            ("/".to_owned(), possible - absence),
            ("N".to_owned(), absence),
        ]
        .into(),
        ..Default::default()
    }
}

pub fn school(urn: &str, name: &str, independent: bool) -> School {
    School {
        urn: urn.into(),
        la_code: "937".into(),
        name: name.into(),
        phase: "primary".into(),
        school_type: if independent {
            "independent"
        } else {
            "academy"
        }
        .into(),
        independent,
    }
}

pub fn la() -> LaSummaryResponse {
    LaSummaryResponse {
        la_code: "937".into(),
        la_name: "Warwickshire".into(),
        from: "2025-09-08".into(),
        to: "2025-10-03".into(),
        schools: vec![
            SchoolRow {
                school: Some(school("140001", "Kenilworth Primary School", false)),
                measures: Some(measures(40, 4)),
            },
            SchoolRow {
                school: Some(school("140002", "Rugby House School", true)),
                measures: Some(measures(8, 1)),
            },
        ],
        total: Some(measures(48, 5)),
    }
}
