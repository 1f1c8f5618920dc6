//! Integration tests of the domain crate's public API, one module per area.

mod codes;
mod dfe;
mod docs;
mod identifiers;
mod measures;
mod text_rules;
mod validation;

use chrono::NaiveDate;

/// A date from `YYYY-MM-DD` (test input only).
pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap_or_else(|_| panic!("bad test date {s}"))
}
