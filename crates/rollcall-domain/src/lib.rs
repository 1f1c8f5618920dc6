//! Attendance rules shared by every Rollcall service: pure, no I/O.
//!
//! - [`codes`]: national attendance codes and the code set in force on a date.
//! - [`identifiers`]: UPN, URN, LA code and LAESTAB as validated newtypes.
//! - [`measures`]: session counters and the DfE measures (rates, persistent and severe absence).
//! - [`calendar`]: sessions, academic years, compulsory school age.
//! - [`validation`]: the validation catalogue applied to a whole feed.
//! - [`feed`]: a feed as received and as validated, between the pipeline's stages.
//! - [`failure`]: the kind of a dependency's failure (transient, refused, not found, internal).
//! - [`table`]: the strict reader for the embedded reference tables.
//! - [`text`]: the characters, lengths and dates a field may hold.

pub mod calendar;
pub mod census;
pub mod codes;
pub mod ees;
pub mod failure;
pub mod feed;
pub mod identifiers;
pub mod measures;
pub mod reconcile;
pub mod school_days;
pub mod table;
pub mod text;
pub mod validation;

pub use calendar::{AcademicYear, Session};
pub use codes::{AttendanceCode, Category};
pub use identifiers::{LaCode, Laestab, Upn, Urn};
pub use measures::{Counters, Rate};
