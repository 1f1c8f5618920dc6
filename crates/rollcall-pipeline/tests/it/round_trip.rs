//! Every message kind decodes to exactly what was encoded.

use chrono::NaiveDate;
use proptest::prelude::*;
use rollcall_domain::feed::{Outcome, ReceivedFeed, ValidatedFeed};
use rollcall_domain::validation::{Mark, RawMark, RawPupil, RecordRef};
use rollcall_domain::{Session, codes};
use rollcall_pipeline::{
    DeadLetter, EncodeError, Rejected, decode_dead_letter, decode_received, decode_validated,
    encode_dead_letter, encode_received, encode_validated, is_v2,
};
use rollcall_synth::{LaSpec, SyntheticLa};

use crate::common::*;

fn check_received(feed: &ReceivedFeed) {
    let bytes = encode_received(feed);
    assert!(is_v2(&bytes));
    assert_eq!(&decode_received(&bytes).expect("decodes"), feed);
}

fn check_validated(feed: &ValidatedFeed) {
    let bytes = encode_validated(feed).expect("encodes");
    assert!(is_v2(&bytes));
    assert_eq!(&decode_validated(&bytes).expect("decodes"), feed);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn received_feeds_round_trip(feed in received_feed()) {
        check_received(&feed);
    }

    #[test]
    fn validated_feeds_round_trip(feed in validated_feed()) {
        check_validated(&feed);
    }

    /// Realistic typed feeds: the validator's own output over generated records.
    #[test]
    fn validated_output_round_trips(feed in received_feed()) {
        let (_, typed) = validated_of(&feed, NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
        check_validated(&typed);
    }

    #[test]
    fn dead_letters_round_trip(
        (feed, which, index) in (received_feed(), 0..4u8, any::<usize>()),
        letter in (prop::option::of(feed_id()), prop::option::of(urn()), prop::collection::vec(finding(), 0..5), any::<u32>(), any::<String>(), time()),
    ) {
        let (feed_id, school, mut findings, findings_omitted, refusal, rejected_at) = letter;
        // v1's findings name records by a u32 (no feed holds more records).
        for f in &mut findings {
            f.record = match f.record {
                RecordRef::Roll(i) => RecordRef::Roll(i % (1 << 32)),
                RecordRef::Mark(i) => RecordRef::Mark(i % (1 << 32)),
                RecordRef::Feed => RecordRef::Feed,
            };
        }
        let record = match which {
            0 => Rejected::Pupil { index, pupil: feed.roll.first().cloned().unwrap_or_default() },
            1 => Rejected::Mark { index, mark: feed.marks.first().cloned().unwrap_or_default() },
            2 => Rejected::Feed(Box::new(feed.clone())),
            _ => Rejected::Undecodable(feed.idempotency_key.clone().into_bytes()),
        };
        let letter = DeadLetter { feed_id, school, record, findings, findings_omitted, refusal, rejected_at };
        prop_assert_eq!(decode_dead_letter(&encode_dead_letter(&letter)).unwrap(), letter);
    }
}

#[test]
fn empty_feeds_round_trip() {
    let feed = ReceivedFeed {
        feed_id: uuid::Uuid::nil(),
        school: rollcall_domain::Urn::new(100_000).unwrap(),
        extracted_at: chrono::DateTime::UNIX_EPOCH,
        received_at: chrono::DateTime::UNIX_EPOCH,
        idempotency_key: String::new(),
        code_set: String::new(),
        roll: Vec::new(),
        marks: Vec::new(),
    };
    check_received(&feed);
    check_validated(&ValidatedFeed {
        feed_id: feed.feed_id,
        school: feed.school,
        recorded_at: feed.extracted_at,
        pupils: Vec::new(),
        marks: Vec::new(),
        replay: None,
        outcome: Outcome::default(),
    });
    // A school replay's feed keeps the replay's id.
    check_validated(&ValidatedFeed {
        feed_id: feed.feed_id,
        school: feed.school,
        recorded_at: feed.extracted_at,
        pupils: Vec::new(),
        marks: Vec::new(),
        replay: Some(7),
        outcome: Outcome::default(),
    });
    // A roll of records with every field empty, and marks that are all empty.
    check_received(&ReceivedFeed {
        roll: vec![RawPupil::default(); 3],
        marks: vec![RawMark::default(); 5],
        ..feed
    });
}

/// The synthetic LA's feeds, as received and as validated: pupils with and without marks and
/// optional attributes, minutes late, corrections.
#[test]
fn synthetic_feeds_round_trip() {
    let la = SyntheticLa::generate(LaSpec::small());
    let today = *la.spec.school_days().last().unwrap();
    for feed in &la.feeds {
        let received = synthetic_received(feed);
        check_received(&received);
        let (_, mut typed) = validated_of(&received, today);
        assert!(typed.marks.iter().any(|m| m.minutes_late.is_some()));
        check_validated(&typed);
        // A pupil with no marks.
        let first = typed.pupils[0].upn.clone();
        typed.marks.retain(|m| m.upn != first);
        check_validated(&typed);
    }
}

#[test]
fn more_than_255_distinct_codes_round_trip() {
    let mut feed = synthetic_received(&SyntheticLa::generate(LaSpec::small()).feeds[0]);
    while feed.marks.len() <= 600 {
        feed.marks.extend_from_within(..);
    }
    for (i, m) in feed.marks.iter_mut().enumerate() {
        m.code = format!("code {}", i % 300);
    }
    assert!(feed.marks.len() > 600);
    check_received(&feed);
}

#[test]
fn marks_of_upns_not_on_the_roll_round_trip() {
    let mut feed = synthetic_received(&SyntheticLa::generate(LaSpec::small()).feeds[0]);
    feed.roll.truncate(3);
    check_received(&feed);
    feed.roll.clear();
    check_received(&feed);
}

#[test]
fn every_national_code_round_trips() {
    let la = SyntheticLa::generate(LaSpec::small());
    let received = synthetic_received(&la.feeds[0]);
    let (_, mut typed) = validated_of(&received, NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
    let pupil = typed.pupils[0].upn.clone();
    let day = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap();
    typed.marks = codes::all()
        .iter()
        .enumerate()
        .map(|(i, code)| Mark {
            record: i,
            upn: pupil.clone(),
            date: day + chrono::Duration::days(i as i64 / 2),
            session: if i % 2 == 0 { Session::Am } else { Session::Pm },
            code,
            minutes_late: (i % 3 == 0).then_some(i as u16),
        })
        .collect();
    check_validated(&typed);
    // And as raw texts, every code as sent.
    let mut raw = received.clone();
    for (m, code) in raw.marks.iter_mut().zip(codes::all().iter().cycle()) {
        m.code = code.code().to_owned();
    }
    check_received(&raw);
}

#[test]
fn a_mark_of_no_pupil_is_an_encode_error() {
    let la = SyntheticLa::generate(LaSpec::small());
    let received = synthetic_received(&la.feeds[0]);
    let (_, mut typed) = validated_of(&received, NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
    let upn = typed.marks[7].upn.clone();
    typed.pupils.retain(|p| p.upn != upn);
    let first = typed.marks.iter().position(|m| m.upn == upn).unwrap();
    assert_eq!(
        encode_validated(&typed),
        Err(EncodeError::MarkWithoutPupil { mark: first })
    );
}

#[test]
fn debug_of_a_dead_letter_shows_no_personal_data() {
    let la = SyntheticLa::generate(LaSpec::small());
    let feed = synthetic_received(&la.feeds[0]);
    let pupil = feed.roll[0].clone();
    let letters = [
        Rejected::Pupil {
            index: 0,
            pupil: pupil.clone(),
        },
        Rejected::Mark {
            index: 0,
            mark: feed.marks[0].clone(),
        },
        Rejected::Feed(Box::new(feed.clone())),
        Rejected::Undecodable(encode_received(&feed)),
    ];
    for record in letters {
        let letter = DeadLetter {
            feed_id: Some(feed.feed_id),
            school: Some(feed.school),
            record,
            findings: Vec::new(),
            findings_omitted: 0,
            refusal: String::new(),
            rejected_at: feed.received_at,
        };
        let debug = format!("{letter:?}");
        for secret in [
            &pupil.upn,
            &pupil.forename,
            &pupil.surname,
            &pupil.date_of_birth,
        ] {
            assert!(!debug.contains(secret.as_str()), "{debug}");
        }
    }
}
