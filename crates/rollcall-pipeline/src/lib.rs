//! The pipeline's Kafka messages: encode and decode, from and to the domain's types, so that the
//! workers never see protobuf.
//!
//! - Feeds topic: a [`ReceivedFeed`], [`encode_received`] / [`decode_received`].
//! - Validated topic: a [`ValidatedFeed`], [`encode_validated`] / [`decode_validated`].
//! - Rejected topic: a [`DeadLetter`], [`encode_dead_letter`] / [`decode_dead_letter`].
//!
//! The feeds and validated topics carry v2 (`proto/rollcall/pipeline/v2/messages.proto`): the
//! four bytes [`V2_MAGIC`], then the records as columns (a UPN once per feed, a mark's day and
//! session in run-length coded steps, one code per mark through a per-message dictionary,
//! minutes late only where sent, texts in whichever of plain, dictionary, date or UPN coding is
//! smallest). The decoders read v1 too, so v1 messages still in a topic after an upgrade are
//! processed; [`encode_received_v1`] and [`encode_validated_v1`] write v1 for as long as readers
//! of the old version remain. `decode_received(&encode_received(feed)) == feed` for any texts:
//! a value not in its canonical form travels as an exception, as it was sent.
//!
//! Errors name the field that could not be read, never its value. [`records`] converts the feed
//! API's records and findings to and from the domain's, for every crate that handles them.

mod column;
mod dead_letter;
mod error;
mod received;
pub mod records;
mod v1;
mod validated;
mod wire;

use prost::Message as _;
use rollcall_proto::pipeline::v1 as pb1;

pub use dead_letter::{DeadLetter, Rejected};
pub use error::{DecodeError, EncodeError};
pub use rollcall_domain::feed::{ReceivedFeed, ValidatedFeed};

/// What a v2 payload starts with. No protobuf message starts with a zero byte (field 0 does not
/// exist), so a v1 payload never does.
pub const V2_MAGIC: [u8; 4] = *b"\0RP2";

/// Whether a payload is a v2 message.
pub fn is_v2(payload: &[u8]) -> bool {
    payload.starts_with(&V2_MAGIC)
}

fn with_magic(message: &impl prost::Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(V2_MAGIC.len() + message.encoded_len());
    out.extend_from_slice(&V2_MAGIC);
    message.encode(&mut out).expect("a vec grows");
    out
}

/// A received feed as the v2 message on the feeds topic.
pub fn encode_received(feed: &ReceivedFeed) -> Vec<u8> {
    with_magic(&received::to_v2(feed))
}

/// A feeds-topic message, v2 or v1 (`FeedEnvelope`).
pub fn decode_received(payload: &[u8]) -> Result<ReceivedFeed, DecodeError> {
    match payload.strip_prefix(&V2_MAGIC) {
        Some(body) => received::decode(body),
        None => v1::received(
            pb1::FeedEnvelope::decode(payload)
                .map_err(|e| DecodeError::protobuf("v1 feed envelope", &e))?,
        ),
    }
}

/// A validated feed as the v2 message on the validated topic. Every mark must be of one of the
/// feed's pupils (as [`rollcall_domain::validation::validate`] makes them).
pub fn encode_validated(feed: &ValidatedFeed) -> Result<Vec<u8>, EncodeError> {
    Ok(with_magic(&validated::to_v2(feed)?))
}

/// A validated-topic message, v2 or v1. A v1 message carries no record indexes: each pupil's and
/// mark's `record` is then its position in the message.
pub fn decode_validated(payload: &[u8]) -> Result<ValidatedFeed, DecodeError> {
    match payload.strip_prefix(&V2_MAGIC) {
        Some(body) => validated::decode(body),
        None => v1::validated(
            pb1::ValidatedFeed::decode(payload)
                .map_err(|e| DecodeError::protobuf("v1 validated feed", &e))?,
        ),
    }
}

/// A dead letter as the rejected topic's v1 `RejectedRecord`, with the record's index.
pub fn encode_dead_letter(letter: &DeadLetter) -> Vec<u8> {
    dead_letter::encode(letter)
}

/// A rejected-topic message. One written before the record's index was carried gets it from its
/// findings (each names its record).
pub fn decode_dead_letter(payload: &[u8]) -> Result<DeadLetter, DecodeError> {
    dead_letter::decode(payload)
}

/// A received feed as v1 `FeedEnvelope`, for a gateway that must feed v1 validators during an
/// upgrade (and for comparisons).
pub fn encode_received_v1(feed: &ReceivedFeed) -> Vec<u8> {
    v1::envelope(feed).encode_to_vec()
}

/// A validated feed as v1 `ValidatedFeed` (pupils' and marks' record indexes are not carried),
/// for a validator that must feed v1 aggregators during an upgrade (and for comparisons).
pub fn encode_validated_v1(feed: &ValidatedFeed) -> Vec<u8> {
    v1::validated_v1(feed).encode_to_vec()
}
