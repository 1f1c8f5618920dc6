//! The validation catalogue: checks a whole feed (the roll and the marks) and returns every finding.
//!
//! [`validate`] never stops at the first problem. Each finding has a stable [`FindingCode`], a
//! [`Severity`] (an error rejects the record it concerns, a warning accepts it), the record and
//! field it concerns, and a message that names no pupil: it says which rule broke, never the value
//! (no UPN, name or date of birth). One bad record never rejects its neighbours, except where the
//! rule is about the neighbours themselves (a UPN twice in the roll, a session marked twice with
//! different codes). The catalogue is written down, code by code, in `docs/validation.md`.
//!
//! Input conventions: every field is trimmed of surrounding whitespace first; an empty field means
//! "not given"; dates are `YYYY-MM-DD`. Attendance codes are matched as [`codes::lookup`] describes
//! (trimmed, ASCII letters upper-cased). UPNs are not case-folded.

mod catalogue;
mod checks;
mod input;
mod pupil;

pub use catalogue::{
    ANSWER_FINDINGS_BYTES, CodeSummary, Finding, FindingCode, RecordRef, SUMMARY_POSITIONS,
    Severity, Summary, Validated, fit_findings, fitting, summarise,
};
pub use checks::validate;
pub use input::{
    Context, MARK_FIELDS, MAX_MINUTES_LATE, ROLL_FIELDS, RawMark, RawPupil, field_name, parse_date,
    parse_ethnicity, parse_flag, parse_household_key,
};
pub use pupil::{Mark, Pupil, SenProvision, Sex, YearGroup};
