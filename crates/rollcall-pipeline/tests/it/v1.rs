//! v1 messages, built as the gateway and the validator build them today, decode to the domain
//! values they stand for: what is in a topic at an upgrade is still processed.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message as _;
use rollcall_domain::feed::ReceivedFeed;
use rollcall_domain::validation::{RawMark, RawPupil, RecordRef, Severity, Validated};
use rollcall_domain::{Session, Urn};
use rollcall_pipeline::{
    DeadLetter, DecodeError, Rejected, decode_dead_letter, decode_received, decode_validated,
    encode_received_v1, encode_validated_v1,
};
use rollcall_proto::feed::v1::{FeedHeader, Finding, MarkRecord, RollRecord, ValidationOutcome};
use rollcall_proto::pipeline::v1::{
    FeedEnvelope, Mark, Pupil, RejectedRecord, ValidatedFeed, rejected_record,
};
use rollcall_synth::{LaSpec, SyntheticLa};
use uuid::Uuid;

use crate::common::{synthetic_received, validated_of};

fn at(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn roll_record(p: &RawPupil) -> RollRecord {
    RollRecord {
        upn: p.upn.clone(),
        forename: p.forename.clone(),
        surname: p.surname.clone(),
        date_of_birth: p.date_of_birth.clone(),
        sex: p.sex.clone(),
        year_group: p.year_group.clone(),
        admission_date: p.admission_date.clone(),
        leaving_date: p.leaving_date.clone(),
        fsm: p.fsm.clone(),
        sen_provision: p.sen_provision.clone(),
        ethnicity: p.ethnicity.clone(),
        looked_after: p.looked_after.clone(),
        household_key: p.household_key.clone(),
    }
}

fn mark_record(m: &RawMark) -> MarkRecord {
    MarkRecord {
        upn: m.upn.clone(),
        date: m.date.clone(),
        session: m.session.clone(),
        code: m.code.clone(),
        minutes_late: m.minutes_late.clone(),
    }
}

/// As the gateway's `submit_feed` builds it.
fn envelope(feed: &ReceivedFeed) -> FeedEnvelope {
    FeedEnvelope {
        feed_id: feed.feed_id.to_string(),
        header: Some(FeedHeader {
            school_urn: format!("{:06}", feed.school.get()),
            extracted_at: Some(at(feed.extracted_at)),
            idempotency_key: feed.idempotency_key.clone(),
            code_set: feed.code_set.clone(),
        }),
        received_at: Some(at(feed.received_at)),
        roll: feed.roll.iter().map(roll_record).collect(),
        marks: feed.marks.iter().map(mark_record).collect(),
    }
}

fn finding(f: &rollcall_domain::validation::Finding) -> Finding {
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

fn epoch_days(date: NaiveDate) -> i32 {
    (date - DateTime::UNIX_EPOCH.date_naive()).num_days() as i32
}

/// As the validator's `convert::validated_feed` builds it.
fn validated_v1(envelope: &FeedEnvelope, urn: u32, validated: &Validated) -> ValidatedFeed {
    let summary = validated.summary();
    ValidatedFeed {
        feed_id: envelope.feed_id.clone(),
        school_urn: urn,
        recorded_at: envelope.header.as_ref().and_then(|h| h.extracted_at),
        pupils: validated
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
            .collect(),
        marks: validated
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
            .collect(),
        outcome: Some(ValidationOutcome {
            roll_accepted: summary.roll_accepted as u32,
            roll_rejected: summary.roll_rejected as u32,
            marks_accepted: summary.marks_accepted as u32,
            marks_rejected: summary.marks_rejected as u32,
            records_warned: summary.records_warned as u32,
            marks_written: 0,
            marks_superseded: 0,
            findings: validated.findings.iter().map(finding).collect(),
            findings_omitted: 3,
            summary: Vec::new(),
        }),
    }
}

/// A synthetic feed with a few bad records, so there are findings and dead letters.
fn feed_with_findings() -> ReceivedFeed {
    let la = SyntheticLa::generate(LaSpec::small());
    let mut feed = synthetic_received(&la.feeds[5]);
    feed.roll[1].date_of_birth = "2015-13-01".into();
    feed.roll[2].sex = "?".into();
    feed.marks[3].code = "!".into();
    feed.marks[4].minutes_late = "lots".into();
    feed
}

#[test]
fn a_v1_feed_envelope_decodes_to_the_feed() {
    let feed = feed_with_findings();
    let v1 = envelope(&feed).encode_to_vec();
    assert_eq!(decode_received(&v1).unwrap(), feed);
    assert_eq!(
        encode_received_v1(&feed),
        v1,
        "v1 written as the gateway writes it"
    );
    // The validator has always allowed spaces around the URN.
    let mut spaced = envelope(&feed);
    spaced.header.as_mut().unwrap().school_urn = format!(" {} ", feed.school);
    assert_eq!(decode_received(&spaced.encode_to_vec()).unwrap(), feed);
}

#[test]
fn a_v1_validated_feed_decodes_with_positions_for_record_indexes() {
    let feed = feed_with_findings();
    let today = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let (validated, mut expected) = validated_of(&feed, today);
    assert!(!validated.findings.is_empty());
    let v1 = validated_v1(&envelope(&feed), feed.school.get(), &validated).encode_to_vec();
    for (i, p) in expected.pupils.iter_mut().enumerate() {
        p.record = i;
        // v1 messages predate the household key: it decodes as not sent.
        p.household_key = None;
    }
    for (i, m) in expected.marks.iter_mut().enumerate() {
        m.record = i;
    }
    expected.outcome.findings_omitted = 3;
    assert_eq!(decode_validated(&v1).unwrap(), expected);
    assert_eq!(
        decode_validated(&encode_validated_v1(&expected)).unwrap(),
        expected
    );
}

#[test]
fn unreadable_v1_values_name_their_field() {
    let feed = feed_with_findings();
    let (validated, _) = validated_of(&feed, NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
    let good = validated_v1(&envelope(&feed), feed.school.get(), &validated);
    type Spoil = fn(&mut ValidatedFeed);
    let cases: Vec<(Spoil, &str)> = vec![
        (|v| v.marks[0].code = "!".into(), "marks.code"),
        (|v| v.marks[0].session = 2, "marks.session"),
        (|v| v.marks[0].upn = "X123".into(), "marks.upn"),
        (|v| v.pupils[0].date_of_birth = None, "pupils.date_of_birth"),
        (|v| v.pupils[0].sex = Some("?".into()), "pupils.sex"),
        (|v| v.feed_id = "not a uuid".into(), "feed_id"),
        (|v| v.school_urn = 12, "school_urn"),
        (|v| v.recorded_at = None, "recorded_at"),
        (
            |v| v.outcome.as_mut().unwrap().findings[0].code = "NO_SUCH".into(),
            "finding.code",
        ),
    ];
    for (spoil, field) in cases {
        let mut v1 = good.clone();
        spoil(&mut v1);
        let err = decode_validated(&v1.encode_to_vec()).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
        // The error names the field, never the pupil.
        let upn = &good.pupils[0].upn;
        assert!(!err.to_string().contains(upn.as_str()));
    }
    let mut bad = envelope(&feed);
    bad.header.as_mut().unwrap().school_urn = "12".into();
    let err = decode_received(&bad.encode_to_vec()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Invalid {
            field: "header.school_urn"
        }
    );
}

/// As the validator's `dead_letters` and `refuse` build them: no record index but the findings'.
#[test]
fn v1_dead_letters_decode_with_the_index_from_their_findings() {
    let feed = feed_with_findings();
    let (validated, _) = validated_of(&feed, NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
    let rejected_at = feed.received_at;
    let envelope = envelope(&feed);
    let mut checked = 0;
    for (index, record) in envelope.marks.iter().enumerate() {
        if !validated.is_rejected(RecordRef::Mark(index)) {
            continue;
        }
        let findings: Vec<_> = validated
            .findings
            .iter()
            .filter(|f| f.record == RecordRef::Mark(index))
            .cloned()
            .collect();
        let v1 = RejectedRecord {
            feed_id: envelope.feed_id.clone(),
            school_urn: feed.school.get(),
            record: Some(rejected_record::Record::Mark(record.clone())),
            findings: findings.iter().map(finding).collect(),
            rejected_at: Some(at(rejected_at)),
            undecodable: Vec::new(),
            refusal: String::new(),
            findings_omitted: 0,
        };
        let letter = decode_dead_letter(&v1.encode_to_vec()).unwrap();
        assert_eq!(
            letter,
            DeadLetter {
                feed_id: Some(feed.feed_id),
                school: Some(feed.school),
                record: Rejected::Mark {
                    index,
                    mark: feed.marks[index].clone()
                },
                findings,
                findings_omitted: 0,
                refusal: String::new(),
                rejected_at,
            }
        );
        assert!(
            letter
                .findings
                .iter()
                .all(|f| f.severity == Severity::Error || f.severity == Severity::Warning)
        );
        checked += 1;
    }
    assert!(checked >= 1);

    // A message the validator could not decode at all.
    let undecodable = RejectedRecord {
        record: None,
        undecodable: b"\x08garbage".to_vec(),
        refusal: "undecodable feed message".into(),
        rejected_at: Some(at(rejected_at)),
        ..Default::default()
    };
    assert_eq!(
        decode_dead_letter(&undecodable.encode_to_vec()).unwrap(),
        DeadLetter {
            feed_id: None,
            school: None,
            record: Rejected::Undecodable(b"\x08garbage".to_vec()),
            findings: Vec::new(),
            findings_omitted: 0,
            refusal: "undecodable feed message".into(),
            rejected_at,
        }
    );
    // A feed refused whole.
    let whole = RejectedRecord {
        feed_id: envelope.feed_id.clone(),
        school_urn: feed.school.get(),
        record: Some(rejected_record::Record::Feed(envelope.clone())),
        rejected_at: Some(at(rejected_at)),
        refusal: "the school registry could not be read for this feed".into(),
        ..Default::default()
    };
    let letter = decode_dead_letter(&whole.encode_to_vec()).unwrap();
    assert_eq!(letter.record, Rejected::Feed(Box::new(feed.clone())));
    assert_eq!(letter.school, Some(Urn::new(feed.school.get()).unwrap()));
}

#[test]
fn new_dead_letters_are_still_v1_rejected_records() {
    let feed = feed_with_findings();
    let letter = DeadLetter {
        feed_id: Some(Uuid::from_u128(7)),
        school: Some(feed.school),
        record: Rejected::Pupil {
            index: 1,
            pupil: feed.roll[1].clone(),
        },
        findings: Vec::new(),
        findings_omitted: 0,
        refusal: String::new(),
        rejected_at: feed.received_at,
    };
    let bytes = rollcall_pipeline::encode_dead_letter(&letter);
    let v1 = RejectedRecord::decode(bytes.as_slice()).expect("a v1 reader reads it");
    assert_eq!(v1.feed_id, Uuid::from_u128(7).to_string());
    assert_eq!(
        v1.record,
        Some(rejected_record::Record::Roll(roll_record(&feed.roll[1])))
    );
    assert_eq!(decode_dead_letter(&bytes).unwrap(), letter);
}
