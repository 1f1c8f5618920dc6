//! The feed stream as the gateway reads it (`SubmitFeed` and `ValidateFeed`), from arbitrary
//! bytes: two bytes choose the feed's limits, the rest is a run of stream messages, each a
//! two-byte little-endian length and that many bytes of an encoded `SubmitFeedRequest`. Each
//! message is decoded as tonic would, then put through the gateway's stream and envelope rules
//! (`FeedParts`: the header first and once, checked; record chunks within the limits), stopping
//! at the first refusal as the gateway does.
//!
//! Checked: nothing panics; a decoded message encodes to its `encoded_len` and decodes back to
//! itself; a refusal is `INVALID_ARGUMENT` or `RESOURCE_EXHAUSTED` with a Rollcall error code
//! and a lowercase, printable ASCII message (no value quoted); an accepted header keeps the
//! envelope rules (a six-digit URN as sent, a 1 to 128 character printable key, a known code
//! set, an extract time from 2000 to an hour from now in whole microseconds); an accepted feed
//! is within its limits and holds every record sent, in order; its records converted to the
//! domain's and back are unchanged, and the feed the gateway would enqueue decodes from the
//! feeds topic's message as it was.

#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use rollcall_domain::Urn;
use rollcall_domain::feed::ReceivedFeed;
use rollcall_gateway::envelope::{CheckedHeader, FeedLimits, FeedParts};
use rollcall_pipeline::records::{mark_record, raw_mark, raw_pupil, roll_record};
use rollcall_proto::feed::v1::{SubmitFeedRequest, submit_feed_request::Part};
use tonic::{Code, Status};

fuzz_target!(|data: &[u8]| {
    let [feed_bytes, records, stream @ ..] = data else {
        return;
    };
    // Small limits, so that the fuzzer meets them.
    let limits = FeedLimits {
        max_feed_bytes: 1 + usize::from(*feed_bytes) * 64,
        max_records: 1 + usize::from(*records % 64),
    };
    let messages = frames(stream)
        .map(|frame| SubmitFeedRequest::decode(frame).inspect(assert_round_trip))
        // A message that does not decode ends the stream with tonic's own error, before the rules.
        .map_while(Result::ok)
        .collect::<Vec<_>>();
    let Some((first, rest)) = messages.split_first() else {
        return;
    };
    let (mut parts, checked) = match FeedParts::start(first.clone(), limits) {
        Ok(started) => started,
        Err(status) => return assert_refusal(&status),
    };
    assert_header_rules(&parts, &checked);
    for message in rest {
        if let Err(status) = parts.add(message.clone()) {
            return assert_refusal(&status);
        }
    }
    assert_feed(&parts, first, rest, limits);
    assert_enqueued_as_received(parts, checked);
});

/// The stream's messages: a two-byte little-endian length, then the message.
fn frames(mut stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = stream.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (frame, rest) = rest.split_at(len);
        stream = rest;
        Some(frame)
    })
}

fn assert_round_trip(message: &SubmitFeedRequest) {
    let bytes = message.encode_to_vec();
    assert_eq!(bytes.len(), message.encoded_len());
    assert_eq!(
        &SubmitFeedRequest::decode(bytes.as_slice()).unwrap(),
        message
    );
}

fn assert_refusal(status: &Status) {
    assert!(
        matches!(
            status.code(),
            Code::InvalidArgument | Code::ResourceExhausted
        ),
        "{status:?}"
    );
    let code = status
        .metadata()
        .get(rollcall_server::error::ERROR_CODE_METADATA)
        .expect("a refusal carries its rollcall error code");
    assert!(!code.is_empty());
    let message = status.message();
    assert!(!message.is_empty());
    assert!(
        message.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
        "a refusal's message is printable ascii, quoting nothing sent: {message:?}"
    );
    assert!(
        !message.starts_with(|c: char| c.is_ascii_uppercase()),
        "{message:?}"
    );
}

fn assert_header_rules(parts: &FeedParts, checked: &CheckedHeader) {
    let header = &parts.header;
    assert_eq!(checked.urn.to_string(), header.school_urn.trim());
    assert_eq!(Urn::parse(&checked.urn.to_string()), Ok(checked.urn));
    let key = &checked.idempotency_key;
    assert_eq!(key, header.idempotency_key.trim());
    assert!((1..=128).contains(&key.len()));
    assert!(key.bytes().all(|b| b.is_ascii_graphic()));
    assert_eq!(checked.code_set, "2024");
    let earliest = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap();
    let latest = Utc::now() + chrono::Duration::hours(1);
    assert!((earliest..=latest).contains(&checked.extracted_at));
    assert_eq!(checked.extracted_at.timestamp_subsec_nanos() % 1000, 0);
    let sent = header.extracted_at.as_ref().expect("an extract time");
    assert_eq!(checked.extracted_at.timestamp(), sent.seconds);
    assert_eq!(
        checked.extracted_at.timestamp_subsec_micros(),
        sent.nanos as u32 / 1000
    );
}

fn assert_feed(
    parts: &FeedParts,
    first: &SubmitFeedRequest,
    rest: &[SubmitFeedRequest],
    limits: FeedLimits,
) {
    let (mut roll, mut marks) = (Vec::new(), Vec::new());
    for message in rest {
        match &message.part {
            Some(Part::Roll(chunk)) => roll.extend(chunk.records.iter().cloned()),
            Some(Part::Marks(chunk)) => marks.extend(chunk.records.iter().cloned()),
            other => panic!("a feed was accepted with a message of {other:?}"),
        }
    }
    assert_eq!(parts.roll, roll);
    assert_eq!(parts.marks, marks);
    assert!(roll.len() + marks.len() <= limits.max_records);
    // The limit in bytes is checked as each chunk arrives (a header alone is small).
    let bytes: usize = std::iter::once(first)
        .chain(rest)
        .map(SubmitFeedRequest::encoded_len)
        .sum();
    assert!(
        rest.is_empty() || bytes <= limits.max_feed_bytes,
        "a feed of {bytes} bytes was accepted"
    );
}

/// What the gateway enqueues: the records as the domain's, in a `ReceivedFeed` on the feeds
/// topic.
fn assert_enqueued_as_received(parts: FeedParts, checked: CheckedHeader) {
    let FeedParts { roll, marks, .. } = parts;
    let pupils: Vec<_> = roll.iter().cloned().map(raw_pupil).collect();
    let raw_marks: Vec<_> = marks.iter().cloned().map(raw_mark).collect();
    assert_eq!(pupils.iter().map(roll_record).collect::<Vec<_>>(), roll);
    assert_eq!(raw_marks.iter().map(mark_record).collect::<Vec<_>>(), marks);
    let feed = ReceivedFeed {
        feed_id: uuid::Uuid::nil(),
        school: checked.urn,
        extracted_at: checked.extracted_at,
        received_at: checked.extracted_at,
        idempotency_key: checked.idempotency_key,
        code_set: checked.code_set,
        roll: pupils,
        marks: raw_marks,
    };
    let payload = rollcall_pipeline::encode_received(&feed);
    assert_eq!(rollcall_pipeline::decode_received(&payload).unwrap(), feed);
    let payload = rollcall_pipeline::encode_received_v1(&feed);
    assert_eq!(rollcall_pipeline::decode_received(&payload).unwrap(), feed);
}
