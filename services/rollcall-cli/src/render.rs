//! What the commands print, from plain data and without calling anything: each answer as text
//! (a table, or lines) for a person and as JSON for `--json`.

mod admin;
mod at_risk;
mod conformance;
mod files;
mod measures;
mod operations;
mod pupil;
mod receipt;
mod reconcile;
mod replay;
mod status;
mod table;

#[cfg(test)]
mod fixtures;

pub use admin::{
    audit_json, audit_text, counts_json, counts_text, key_json, keys_text, schools_json,
    schools_text,
};
pub use at_risk::{approaching_json, approaching_text, at_risk_json, at_risk_text};
pub use conformance::{CaseResult, Conformance, conformance_json, conformance_text};
pub use files::{
    DemoSummary, SynthFiles, demo_json, demo_text, synth_json, synth_text, written_json,
    written_text,
};
pub use measures::{la_json, la_text, school_summary_json, school_summary_text};
pub use operations::{
    dead_letter_groups_json, dead_letter_groups_text, dead_letters_json, dead_letters_text,
    parked_json, parked_text,
};
pub use pupil::{found_json, found_text, timeline_json, timeline_text};
pub use receipt::{
    dry_run_json, dry_run_text, feeds_json, feeds_text, findings_json, findings_list_text,
    receipt_json, receipt_text, watched_json, watched_text,
};
pub use reconcile::{reconciliation_json, reconciliation_text};
pub use replay::{school_replay_json, school_replay_text};
pub use status::{
    lag_json, lag_text, school_status_json, school_status_text, sender_status_json,
    sender_status_text,
};

/// JSON as `--json` prints it.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("json values serialise")
}

/// A flag as the registry's CSV and the tables write it.
pub fn yes_no(b: bool) -> String {
    if b { "Y" } else { "N" }.to_owned()
}
