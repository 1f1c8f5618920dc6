//! Conversions between the wire records and the domain's, the validator's only protobuf edge.

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::Session;
use rollcall_domain::validation::{
    Finding as DomainFinding, RawMark, RawPupil, RecordRef, Validated,
};
use rollcall_proto::feed::v1::{Finding, MarkRecord, RollRecord, ValidationOutcome};
use rollcall_proto::pipeline::v1::{FeedEnvelope, Mark, Pupil, ValidatedFeed};

pub fn raw_pupil(r: &RollRecord) -> RawPupil {
    RawPupil {
        upn: r.upn.clone(),
        forename: r.forename.clone(),
        surname: r.surname.clone(),
        date_of_birth: r.date_of_birth.clone(),
        sex: r.sex.clone(),
        year_group: r.year_group.clone(),
        admission_date: r.admission_date.clone(),
        leaving_date: r.leaving_date.clone(),
        fsm: r.fsm.clone(),
        sen_provision: r.sen_provision.clone(),
        ethnicity: r.ethnicity.clone(),
        looked_after: r.looked_after.clone(),
    }
}

pub fn raw_mark(m: &MarkRecord) -> RawMark {
    RawMark {
        upn: m.upn.clone(),
        date: m.date.clone(),
        session: m.session.clone(),
        code: m.code.clone(),
        minutes_late: m.minutes_late.clone(),
    }
}

pub fn finding(f: &DomainFinding) -> Finding {
    let (record_kind, record_index) = match f.record {
        RecordRef::Feed => ("feed", 0),
        RecordRef::Roll(i) => ("roll", i as u32),
        RecordRef::Mark(i) => ("mark", i as u32),
    };
    Finding {
        code: f.code.as_str().to_owned(),
        severity: f.severity.as_str().to_owned(),
        record_kind: record_kind.to_owned(),
        record_index,
        field: f.field.to_owned(),
        message: f.message.clone(),
    }
}

/// Days since 1970-01-01, the wire form of a date on the pipeline topics.
pub fn epoch_days(date: NaiveDate) -> i32 {
    (date - DateTime::UNIX_EPOCH.date_naive()).num_days() as i32
}

pub fn now() -> prost_types::Timestamp {
    let now = Utc::now();
    prost_types::Timestamp {
        seconds: now.timestamp(),
        nanos: now.timestamp_subsec_nanos() as i32,
    }
}

pub fn validated_feed(envelope: &FeedEnvelope, urn: u32, validated: &Validated) -> ValidatedFeed {
    let summary = validated.summary();
    let pupils = validated
        .pupils
        .iter()
        .map(|p| Pupil {
            upn: p.upn.as_str().to_owned(),
            forename: p.forename.clone(),
            surname: p.surname.clone(),
            date_of_birth: Some(epoch_days(p.date_of_birth)),
            sex: p.sex.map(|s| s.as_str().to_owned()),
            year_group: p.year_group.map(|y| y.as_str().to_owned()),
            admission_date: Some(epoch_days(p.admission_date)),
            leaving_date: p.leaving_date.map(epoch_days),
            fsm: p.fsm,
            sen_provision: p.sen_provision.map(|s| s.as_str().to_owned()),
            ethnicity: p.ethnicity.clone(),
            looked_after: p.looked_after,
        })
        .collect();
    let marks = validated
        .marks
        .iter()
        .map(|m| Mark {
            upn: m.upn.as_str().to_owned(),
            date: epoch_days(m.date),
            session: match m.session {
                Session::Am => 0,
                Session::Pm => 1,
            },
            code: m.code.code().to_owned(),
            minutes_late: m.minutes_late.map(u32::from),
        })
        .collect();
    ValidatedFeed {
        feed_id: envelope.feed_id.clone(),
        school_urn: urn,
        recorded_at: envelope.header.as_ref().and_then(|h| h.extracted_at),
        pupils,
        marks,
        outcome: Some(ValidationOutcome {
            roll_accepted: summary.roll_accepted as u32,
            roll_rejected: summary.roll_rejected as u32,
            marks_accepted: summary.marks_accepted as u32,
            marks_rejected: summary.marks_rejected as u32,
            records_warned: summary.records_warned as u32,
            marks_written: 0,
            marks_superseded: 0,
            findings: validated.findings.iter().map(finding).collect(),
            findings_omitted: 0,
        }),
    }
}
