//! Bytes that are no message, or a message cut short, are errors, never panics.

use proptest::prelude::*;
use rollcall_pipeline::{
    DecodeError, V2_MAGIC, decode_dead_letter, decode_received, decode_validated, encode_received,
    encode_validated,
};
use rollcall_synth::{LaSpec, SyntheticLa};

use crate::common::{received_feed, synthetic_received, validated_feed, validated_of};

fn decode_all(bytes: &[u8]) {
    let _ = decode_received(bytes);
    let _ = decode_validated(bytes);
    let _ = decode_dead_letter(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_do_not_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        decode_all(&bytes);
        let mut v2 = V2_MAGIC.to_vec();
        v2.extend_from_slice(&bytes);
        decode_all(&v2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A v2 message with bytes flipped decodes to an error or to some feed, never a panic.
    #[test]
    fn corrupted_v2_does_not_panic(feed in received_feed(), typed in validated_feed(), at in any::<prop::sample::Index>(), xor in 1u8..) {
        for mut bytes in [encode_received(&feed), encode_validated(&typed).unwrap()] {
            let i = 4 + at.index(bytes.len() - 4);
            bytes[i] ^= xor;
            decode_all(&bytes);
        }
    }

    #[test]
    fn truncated_v2_is_an_error(feed in received_feed(), typed in validated_feed()) {
        let received = encode_received(&feed);
        let validated = encode_validated(&typed).unwrap();
        for len in 0..received.len() {
            prop_assert!(decode_received(&received[..len]).is_err(), "cut at {len}");
        }
        for len in 0..validated.len() {
            prop_assert!(decode_validated(&validated[..len]).is_err(), "cut at {len}");
        }
    }
}

#[test]
fn a_realistic_feed_cut_anywhere_is_an_error() {
    let la = SyntheticLa::generate(LaSpec::small());
    let feed = synthetic_received(&la.feeds[9]);
    let (_, typed) = validated_of(&feed, *la.spec.school_days().last().unwrap());
    let received = encode_received(&feed);
    let validated = encode_validated(&typed).unwrap();
    for len in (0..received.len()).step_by(7) {
        assert!(decode_received(&received[..len]).is_err());
    }
    for len in (0..validated.len()).step_by(7) {
        assert!(decode_validated(&validated[..len]).is_err());
    }
    let err = decode_received(&received[..received.len() - 2]).unwrap_err();
    assert_eq!(err, DecodeError::Truncated);
}
