//! The pipeline's Kafka messages (`rollcall-pipeline`): decoding v1 and v2 from arbitrary
//! bytes, and encoding from fuzzed values.
//!
//! The first byte picks what the rest is: a feeds-topic message (`decode_received`), a
//! validated-topic message (`decode_validated`) or a dead letter (`decode_dead_letter`), each
//! with or without the v2 magic put in front, so that both versions' decoders are reached; or
//! a fuzzed feed (see `feed_input.rs`), encoded as received and, once validated, as validated.
//!
//! Checked: no decoder panics; whatever decodes, encoded again as v2 (and as v1 where v1 keeps
//! everything) decodes to the same value; a feed of any texts and its validation's result
//! travel as v2 unchanged, and as v1 with positions for record indexes; a validated feed whose
//! marks all have their pupil encodes.

#![no_main]

mod feed_input;

use arbitrary::{Arbitrary, Unstructured};
use chrono::{DateTime, Utc};
use feed_input::FeedInput;
use libfuzzer_sys::fuzz_target;
use rollcall_domain::Urn;
use rollcall_domain::feed::{Outcome, ReceivedFeed, ValidatedFeed};
use rollcall_pipeline::{
    DeadLetter, EncodeError, V2_MAGIC, decode_dead_letter, decode_received, decode_validated,
    encode_dead_letter, encode_received, encode_received_v1, encode_validated, encode_validated_v1,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let payload = if which & 0x80 != 0 {
        [&V2_MAGIC[..], rest].concat()
    } else {
        rest.to_vec()
    };
    match which % 4 {
        0 => {
            if let Ok(feed) = decode_received(&payload) {
                assert_received_round_trip(&feed);
            }
        }
        1 => {
            if let Ok(feed) = decode_validated(&payload) {
                assert_validated_round_trip(&feed);
            }
        }
        2 => {
            if let Ok(letter) = decode_dead_letter(&payload) {
                assert_dead_letter_round_trip(&letter);
            }
        }
        _ => {
            let mut u = Unstructured::new(rest);
            if let Ok(fuzzed) = Fuzzed::arbitrary(&mut u) {
                fuzzed.check();
            }
        }
    }
});

fn assert_received_round_trip(feed: &ReceivedFeed) {
    assert_eq!(&decode_received(&encode_received(feed)).unwrap(), feed);
    assert_eq!(&decode_received(&encode_received_v1(feed)).unwrap(), feed);
}

fn assert_validated_round_trip(feed: &ValidatedFeed) {
    match encode_validated(feed) {
        Ok(payload) => assert_eq!(&decode_validated(&payload).unwrap(), feed),
        Err(EncodeError::MarkWithoutPupil { mark }) => {
            let upn = &feed.marks[mark].upn;
            assert!(
                feed.pupils.iter().all(|p| &p.upn != upn),
                "mark {mark} refused though its pupil is in the feed"
            );
        }
    }
    assert_eq!(
        decode_validated(&encode_validated_v1(feed)).unwrap(),
        positions(feed.clone())
    );
}

fn assert_dead_letter_round_trip(letter: &DeadLetter) {
    assert!(
        &decode_dead_letter(&encode_dead_letter(letter)).unwrap() == letter,
        "a dead letter reads back as written: {letter:?}"
    );
}

/// A validated feed as v1 carries it: record indexes are positions, and no household key (v1
/// predates it).
fn positions(mut feed: ValidatedFeed) -> ValidatedFeed {
    for (i, p) in feed.pupils.iter_mut().enumerate() {
        p.record = i;
        p.household_key = None;
    }
    for (i, m) in feed.marks.iter_mut().enumerate() {
        m.record = i;
    }
    feed
}

/// A feed from fuzz input, with the envelope's values.
#[derive(Arbitrary, Debug)]
struct Fuzzed {
    feed_id: u128,
    school: u32,
    /// Seconds and nanoseconds of the extract and receipt times.
    extracted_at: (u32, u32),
    received_at: (u32, u32),
    idempotency_key: String,
    code_set: String,
    records: FeedInput,
}

impl Fuzzed {
    fn check(&self) {
        let time = |(secs, nanos): (u32, u32)| {
            DateTime::<Utc>::from_timestamp(i64::from(secs), nanos % 1_000_000_000).unwrap()
        };
        let feed = ReceivedFeed {
            feed_id: uuid::Uuid::from_u128(self.feed_id),
            school: Urn::new(100_000 + self.school % 900_000).unwrap(),
            extracted_at: time(self.extracted_at),
            received_at: time(self.received_at),
            idempotency_key: self.idempotency_key.clone(),
            code_set: self.code_set.clone(),
            roll: self.records.roll(),
            marks: self.records.marks(),
        };
        assert_received_round_trip(&feed);

        let mut validated =
            rollcall_domain::validation::validate(&feed.roll, &feed.marks, &self.records.context());
        let summary = validated.summary();
        let findings_omitted = rollcall_domain::validation::fit_findings(
            &mut validated.findings,
            rollcall_domain::validation::ANSWER_FINDINGS_BYTES,
        );
        let typed = ValidatedFeed {
            feed_id: feed.feed_id,
            school: feed.school,
            recorded_at: feed.received_at,
            pupils: validated.pupils,
            marks: validated.marks,
            replay: None,
            outcome: Outcome {
                summary,
                findings: validated.findings,
                findings_omitted,
            },
        };
        let payload = encode_validated(&typed).expect("a validated feed's marks have pupils");
        assert_eq!(decode_validated(&payload).unwrap(), typed);
        assert_validated_round_trip(&typed);
    }
}
