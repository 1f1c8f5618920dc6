//! The rejected topic's dead letters: one rejected record as it arrived, with why. Written as v1
//! `RejectedRecord` (the LA's tools read that contract), plus the record's position in v2's
//! `RejectedRecordExtension` fields, which v1 readers skip.

use std::fmt;

use chrono::{DateTime, Utc};
use prost::Message as _;
use rollcall_domain::Urn;
use rollcall_domain::feed::ReceivedFeed;
use rollcall_domain::validation::{Finding, RawMark, RawPupil, RecordRef};
use rollcall_proto::pipeline::v1::{RejectedRecord, rejected_record};
use rollcall_proto::pipeline::v2::RejectedRecordExtension;
use uuid::Uuid;

use crate::error::{DecodeError, invalid, missing};
use crate::records::{finding, mark_record, raw_mark, raw_pupil, roll_record};
use crate::v1::{domain_finding, envelope, feed_id, received};
use crate::wire::{read_timestamp, timestamp};

/// A record the pipeline could not accept, kept as it arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The feed it came in; `None` when the message could not be read at all.
    pub feed_id: Option<Uuid>,
    pub school: Option<Urn>,
    pub record: Rejected,
    /// Every finding about the record (for a whole feed, the ones that fit the message).
    pub findings: Vec<Finding>,
    /// Findings left out so the dead letter fits the broker's limit.
    pub findings_omitted: u32,
    /// Why the message could not be handled at all, when it could not (then `record` is the
    /// whole feed or the undecodable bytes): never a value of the message. Empty otherwise.
    pub refusal: String,
    pub rejected_at: DateTime<Utc>,
}

/// What was rejected.
#[derive(Clone, PartialEq, Eq)]
pub enum Rejected {
    /// A roll record, with its position among the feed's roll records.
    Pupil { index: usize, pupil: RawPupil },
    /// A mark record, with its position among the feed's mark records.
    Mark { index: usize, mark: RawMark },
    /// The whole feed, when the feed as a whole was refused.
    Feed(Box<ReceivedFeed>),
    /// A message that could not be decoded, byte for byte.
    Undecodable(Vec<u8>),
}

/// Debug leaves out the personal data: the raw records' own Debug hides UPNs, names and dates of
/// birth, and undecodable bytes are shown by their length.
impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Pupil { index, pupil } => f
                .debug_struct("Pupil")
                .field("index", index)
                .field("pupil", pupil)
                .finish(),
            Rejected::Mark { index, mark } => f
                .debug_struct("Mark")
                .field("index", index)
                .field("mark", mark)
                .finish(),
            Rejected::Feed(feed) => f
                .debug_struct("Feed")
                .field("feed_id", &feed.feed_id)
                .field("school", &feed.school)
                .field("roll", &feed.roll.len())
                .field("marks", &feed.marks.len())
                .finish_non_exhaustive(),
            Rejected::Undecodable(bytes) => f
                .debug_struct("Undecodable")
                .field("bytes", &bytes.len())
                .finish(),
        }
    }
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("feed_id", &self.feed_id)
            .field("school", &self.school)
            .field("record", &self.record)
            .field("findings", &self.findings)
            .field("findings_omitted", &self.findings_omitted)
            .field("refusal", &self.refusal)
            .field("rejected_at", &self.rejected_at)
            .finish()
    }
}

pub fn encode(letter: &DeadLetter) -> Vec<u8> {
    let (record, undecodable, index) = match &letter.record {
        Rejected::Pupil { index, pupil } => (
            Some(rejected_record::Record::Roll(roll_record(pupil))),
            Vec::new(),
            Some(*index as u64),
        ),
        Rejected::Mark { index, mark } => (
            Some(rejected_record::Record::Mark(mark_record(mark))),
            Vec::new(),
            Some(*index as u64),
        ),
        Rejected::Feed(feed) => (
            Some(rejected_record::Record::Feed(envelope(feed))),
            Vec::new(),
            None,
        ),
        Rejected::Undecodable(bytes) => (None, bytes.clone(), None),
    };
    let v1 = RejectedRecord {
        feed_id: letter.feed_id.map(|id| id.to_string()).unwrap_or_default(),
        school_urn: letter.school.map_or(0, Urn::get),
        record,
        findings: letter.findings.iter().map(finding).collect(),
        rejected_at: Some(timestamp(letter.rejected_at)),
        undecodable,
        refusal: letter.refusal.clone(),
        findings_omitted: letter.findings_omitted,
    };
    let mut out = v1.encode_to_vec();
    // Concatenated protobuf is one message: v1 readers see v1's fields and skip these.
    RejectedRecordExtension {
        record_index: index,
    }
    .encode(&mut out)
    .expect("a vec grows");
    out
}

pub fn decode(payload: &[u8]) -> Result<DeadLetter, DecodeError> {
    let v1 = RejectedRecord::decode(payload)
        .map_err(|e| DecodeError::protobuf("v1 rejected record", &e))?;
    let extension = RejectedRecordExtension::decode(payload)
        .map_err(|e| DecodeError::protobuf("v1 rejected record", &e))?;
    let findings = v1
        .findings
        .into_iter()
        .map(domain_finding)
        .collect::<Result<Vec<_>, _>>()?;
    // Dead letters written before the extension name their record in its findings.
    let index = |roll: bool| -> Result<usize, DecodeError> {
        match extension.record_index {
            Some(i) => usize::try_from(i).map_err(|_| invalid("record_index")),
            None => findings
                .iter()
                .find_map(|f| match f.record {
                    RecordRef::Roll(i) if roll => Some(i),
                    RecordRef::Mark(i) if !roll => Some(i),
                    _ => None,
                })
                .ok_or_else(|| missing("record_index")),
        }
    };
    let record = match v1.record {
        Some(rejected_record::Record::Roll(r)) => Rejected::Pupil {
            index: index(true)?,
            pupil: raw_pupil(r),
        },
        Some(rejected_record::Record::Mark(m)) => Rejected::Mark {
            index: index(false)?,
            mark: raw_mark(m),
        },
        Some(rejected_record::Record::Feed(feed)) => Rejected::Feed(Box::new(received(feed)?)),
        None => Rejected::Undecodable(v1.undecodable),
    };
    Ok(DeadLetter {
        feed_id: (!v1.feed_id.is_empty())
            .then(|| feed_id(&v1.feed_id))
            .transpose()?,
        school: (v1.school_urn != 0)
            .then(|| Urn::new(v1.school_urn).map_err(|_| invalid("school_urn")))
            .transpose()?,
        record,
        findings,
        findings_omitted: v1.findings_omitted,
        refusal: v1.refusal,
        rejected_at: read_timestamp(v1.rejected_at.as_ref(), "rejected_at")?,
    })
}
