//! The v1 messages (`rollcall.pipeline.v1`), as the pipeline wrote them before v2: read for a
//! rolling upgrade, written for dead letters and for a writer that must keep v1 readers fed.

use rollcall_domain::feed::{Outcome, ReceivedFeed, ValidatedFeed};
use rollcall_domain::validation::{
    Finding as DomainFinding, FindingCode, Mark as DomainMark, Pupil as DomainPupil, RecordRef,
    SenProvision, Severity, Sex, Summary, YearGroup, field_name,
};
use rollcall_domain::{Session, Upn, Urn, codes};
use rollcall_proto::feed::v1::{FeedHeader, Finding, ValidationOutcome};
use rollcall_proto::pipeline::v1 as pb;
use rollcall_proto::pipeline::v1::{FeedEnvelope, Mark, Pupil};
use uuid::Uuid;

use crate::error::{DecodeError, invalid, missing};
use crate::records::{finding, mark_record, raw_mark, raw_pupil, roll_record};
use crate::wire::{day, read_date, read_timestamp, timestamp};

// ---------------------------------------------------------------------------------------------
// Feeds topic

pub(crate) fn envelope(feed: &ReceivedFeed) -> FeedEnvelope {
    FeedEnvelope {
        feed_id: feed.feed_id.to_string(),
        header: Some(FeedHeader {
            school_urn: format!("{:06}", feed.school.get()),
            extracted_at: Some(timestamp(feed.extracted_at)),
            idempotency_key: feed.idempotency_key.clone(),
            code_set: feed.code_set.clone(),
        }),
        received_at: Some(timestamp(feed.received_at)),
        roll: feed.roll.iter().map(roll_record).collect(),
        marks: feed.marks.iter().map(mark_record).collect(),
    }
}

pub(crate) fn feed_id(text: &str) -> Result<Uuid, DecodeError> {
    if text.is_empty() {
        return Err(missing("feed_id"));
    }
    text.parse().map_err(|_| invalid("feed_id"))
}

pub(crate) fn received(envelope: FeedEnvelope) -> Result<ReceivedFeed, DecodeError> {
    let header = envelope.header.ok_or_else(|| missing("header"))?;
    Ok(ReceivedFeed {
        feed_id: feed_id(&envelope.feed_id)?,
        // As the validator has always read it: surrounding whitespace allowed.
        school: Urn::parse(header.school_urn.trim()).map_err(|_| invalid("header.school_urn"))?,
        extracted_at: read_timestamp(header.extracted_at.as_ref(), "header.extracted_at")?,
        received_at: read_timestamp(envelope.received_at.as_ref(), "received_at")?,
        idempotency_key: header.idempotency_key,
        code_set: header.code_set,
        roll: envelope.roll.into_iter().map(raw_pupil).collect(),
        marks: envelope.marks.into_iter().map(raw_mark).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Findings

pub(crate) fn domain_finding(f: Finding) -> Result<DomainFinding, DecodeError> {
    let index = f.record_index as usize;
    Ok(DomainFinding {
        code: FindingCode::parse(&f.code).ok_or_else(|| invalid("finding.code"))?,
        severity: Severity::parse(&f.severity).ok_or_else(|| invalid("finding.severity"))?,
        record: match f.record_kind.as_str() {
            "feed" => RecordRef::Feed,
            "roll" => RecordRef::Roll(index),
            "mark" => RecordRef::Mark(index),
            _ => return Err(invalid("finding.record_kind")),
        },
        field: field_name(&f.field).ok_or_else(|| invalid("finding.field"))?,
        message: f.message,
    })
}

// ---------------------------------------------------------------------------------------------
// Validated topic

/// A validated feed as the validator wrote it in v1.
pub(crate) fn validated_v1(feed: &ValidatedFeed) -> pb::ValidatedFeed {
    let pupils = feed
        .pupils
        .iter()
        .map(|p| Pupil {
            upn: p.upn.as_str().to_owned(),
            forename: p.forename.clone(),
            surname: p.surname.clone(),
            date_of_birth: Some(day(p.date_of_birth) as i32),
            sex: p.sex.map(|s| s.as_str().to_owned()),
            year_group: p.year_group.map(|y| y.as_str().to_owned()),
            admission_date: Some(day(p.admission_date) as i32),
            leaving_date: p.leaving_date.map(|d| day(d) as i32),
            fsm: p.fsm,
            sen_provision: p.sen_provision.map(|s| s.as_str().to_owned()),
            ethnicity: p.ethnicity.clone(),
            looked_after: p.looked_after,
        })
        .collect();
    let marks = feed
        .marks
        .iter()
        .map(|m| Mark {
            upn: m.upn.as_str().to_owned(),
            date: day(m.date) as i32,
            session: u32::from(m.session == Session::Pm),
            code: m.code.code().to_owned(),
            minutes_late: m.minutes_late.map(u32::from),
        })
        .collect();
    let s = &feed.outcome.summary;
    pb::ValidatedFeed {
        feed_id: feed.feed_id.to_string(),
        school_urn: feed.school.get(),
        recorded_at: Some(timestamp(feed.recorded_at)),
        pupils,
        marks,
        outcome: Some(ValidationOutcome {
            roll_accepted: s.roll_accepted as u32,
            roll_rejected: s.roll_rejected as u32,
            marks_accepted: s.marks_accepted as u32,
            marks_rejected: s.marks_rejected as u32,
            records_warned: s.records_warned as u32,
            marks_written: 0,
            marks_superseded: 0,
            findings: feed.outcome.findings.iter().map(finding).collect(),
            findings_omitted: feed.outcome.findings_omitted,
            summary: Vec::new(),
        }),
    }
}

fn optional<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    field: &'static str,
) -> Result<Option<T>, DecodeError> {
    value
        .map(|v| parse(&v).ok_or_else(|| invalid(field)))
        .transpose()
}

/// A v1 validated feed. v1 carries no record indexes: each pupil's and mark's is its position.
pub(crate) fn validated(feed: pb::ValidatedFeed) -> Result<ValidatedFeed, DecodeError> {
    let date =
        |d: Option<i32>, field| read_date(i64::from(d.ok_or_else(|| missing(field))?), field);
    let pupils = feed
        .pupils
        .into_iter()
        .enumerate()
        .map(|(record, p)| {
            Ok(DomainPupil {
                record,
                upn: Upn::parse(&p.upn).map_err(|_| invalid("pupils.upn"))?,
                forename: p.forename,
                surname: p.surname,
                date_of_birth: date(p.date_of_birth, "pupils.date_of_birth")?,
                sex: optional(p.sex, Sex::parse, "pupils.sex")?,
                year_group: optional(p.year_group, YearGroup::parse, "pupils.year_group")?,
                admission_date: date(p.admission_date, "pupils.admission_date")?,
                leaving_date: p
                    .leaving_date
                    .map(|d| read_date(i64::from(d), "pupils.leaving_date"))
                    .transpose()?,
                fsm: p.fsm,
                sen_provision: optional(
                    p.sen_provision,
                    SenProvision::parse,
                    "pupils.sen_provision",
                )?,
                ethnicity: p.ethnicity,
                looked_after: p.looked_after,
                // v1 messages predate the household key.
                household_key: None,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    let marks = feed
        .marks
        .into_iter()
        .enumerate()
        .map(|(record, m)| {
            Ok(DomainMark {
                record,
                upn: Upn::parse(&m.upn).map_err(|_| invalid("marks.upn"))?,
                date: read_date(i64::from(m.date), "marks.date")?,
                session: match m.session {
                    0 => Session::Am,
                    1 => Session::Pm,
                    _ => return Err(invalid("marks.session")),
                },
                code: codes::get(&m.code).ok_or_else(|| invalid("marks.code"))?,
                minutes_late: m
                    .minutes_late
                    .map(|l| u16::try_from(l).map_err(|_| invalid("marks.minutes_late")))
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    let outcome = feed.outcome.unwrap_or_default();
    Ok(ValidatedFeed {
        feed_id: feed_id(&feed.feed_id)?,
        school: Urn::new(feed.school_urn).map_err(|_| invalid("school_urn"))?,
        recorded_at: read_timestamp(feed.recorded_at.as_ref(), "recorded_at")?,
        pupils,
        marks,
        outcome: Outcome {
            summary: Summary {
                roll_accepted: u64::from(outcome.roll_accepted),
                roll_rejected: u64::from(outcome.roll_rejected),
                marks_accepted: u64::from(outcome.marks_accepted),
                marks_rejected: u64::from(outcome.marks_rejected),
                records_warned: u64::from(outcome.records_warned),
            },
            findings: outcome
                .findings
                .into_iter()
                .map(domain_finding)
                .collect::<Result<_, _>>()?,
            findings_omitted: outcome.findings_omitted,
        },
        replay: None,
    })
}
