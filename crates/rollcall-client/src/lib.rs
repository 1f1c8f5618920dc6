//! Rollcall's client library, shared by the `rollcall` command, the benchmark, the end-to-end
//! tests and the workers' tests: connecting with credentials (and TLS), streaming a feed to the
//! gateway, waiting for receipts, the queries that page, writing an export stream to a file with
//! its manifest, reading the CSV files a school submits, and sending the synthetic LA as a real
//! one would be.
//!
//! It speaks protobuf (`rollcall-proto`) by nature, and never touches PostgreSQL or Kafka.

mod channel;
pub mod conformance;
pub mod csvfile;
mod error;
pub mod export;
pub mod progress;
mod queries;
mod receipts;
pub mod reconcile;
pub mod retry;
pub mod status;
mod submit;
mod synthetic;

#[cfg(test)]
mod client_tests;

pub use channel::{AuthChannel, Bearer, Credentials, connect, endpoint, with_token};
pub use error::{Error, Result};
pub use queries::{all_approaching_pupils, all_at_risk_pupils};
pub use receipts::{feed_findings, list_feeds, receipt, wait_processed, wait_processed_with};
pub use retry::{Backoff, submit_retrying};
pub use status::{code_words, describe};
pub use submit::{CHUNK_RECORDS, Submission, mark_record, requests, roll_record, submit, validate};
pub use synthetic::{
    SyntheticKeys, import_synthetic_schools, registry_school, submission, submit_feed,
    synthetic_keys,
};
