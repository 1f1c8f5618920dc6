//! A feed as the pipeline carries it between its stages, in the domain's own types: as the
//! gateway received it (the records still as sent, for validation to judge) and as the validator
//! accepted it (typed, ready to store). How they travel on Kafka is `rollcall-pipeline`'s
//! business; how they are stored is `rollcall-db`'s.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::identifiers::Urn;
use crate::validation::{Finding, Mark, Pupil, RawMark, RawPupil, Summary};

/// A feed as the gateway accepted it: the envelope checked, the records as they were sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedFeed {
    pub feed_id: Uuid,
    pub school: Urn,
    /// When the sender extracted the register: the version of every record in the feed.
    pub extracted_at: DateTime<Utc>,
    /// When the gateway recorded the feed.
    pub received_at: DateTime<Utc>,
    pub idempotency_key: String,
    pub code_set: String,
    pub roll: Vec<RawPupil>,
    pub marks: Vec<RawMark>,
}

/// A feed's accepted records, typed, with the validator's verdict for its receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedFeed {
    pub feed_id: Uuid,
    pub school: Urn,
    /// The version of every record in the feed (the sender's extract time).
    pub recorded_at: DateTime<Utc>,
    /// Accepted pupils, in roll order.
    pub pupils: Vec<Pupil>,
    /// Accepted marks, in feed order, one per pupil, date and session.
    pub marks: Vec<Mark>,
    pub outcome: Outcome,
    /// Set when operations ran the feed through validation again (a school replay, `rollcall
    /// replay`): that replay's id. The aggregator applies such a feed though it was processed
    /// before, and keeps its first outcome.
    pub replay: Option<i64>,
}

/// The validator's verdict on a feed, as its receipt shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub summary: Summary,
    /// The findings that fit the feed's messages, in the catalogue's order.
    pub findings: Vec<Finding>,
    /// Findings left out so that the messages fit the broker's limit.
    pub findings_omitted: u32,
}
