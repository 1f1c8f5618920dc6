//! The catalogue of findings: each stable code with its severity, which record and field a
//! finding concerns, and what a validated feed returns.

use std::fmt;

use super::{Mark, Pupil};
use crate::identifiers::UpnError;
use crate::text::TextError;

/// Which record a finding concerns. Orders as feed, then roll records, then marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordRef {
    Feed,
    Roll(usize),
    Mark(usize),
}

impl RecordRef {
    /// The record's kind as findings name it (`feed`, `roll` or `mark`) and its position among
    /// the feed's records of that kind (0 for the feed).
    pub fn kind_and_index(self) -> (&'static str, usize) {
        match self {
            RecordRef::Feed => ("feed", 0),
            RecordRef::Roll(i) => ("roll", i),
            RecordRef::Mark(i) => ("mark", i),
        }
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordRef::Feed => f.write_str("feed"),
            RecordRef::Roll(i) => write!(f, "roll record {i}"),
            RecordRef::Mark(i) => write!(f, "mark record {i}"),
        }
    }
}

/// Error: the record is rejected. Warning: the record is accepted and the sender told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Error, Severity::Warning]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! finding_codes {
    ($($variant:ident = $name:literal, $severity:ident;)*) => {
        /// Stable code of a finding; the catalogue is `docs/validation.md`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingCode {
            $($variant,)*
        }

        impl FindingCode {
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant,)*];

            /// The stable code, e.g. `UPN_CHECK_LETTER`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingCode::$variant => $name,)*
                }
            }

            pub fn severity(self) -> Severity {
                match self {
                    $(FindingCode::$variant => Severity::$severity,)*
                }
            }
        }
    };
}

finding_codes! {
    // feed
    SchoolNotInRegistry = "SCHOOL_NOT_IN_REGISTRY", Error;
    // any record
    TextControlCharacter = "TEXT_CONTROL_CHARACTER", Error;
    TextTooLong = "TEXT_TOO_LONG", Error;
    RequiredFieldMissing = "REQUIRED_FIELD_MISSING", Error;
    DateInvalid = "DATE_INVALID", Error;
    DateOutOfRange = "DATE_OUT_OF_RANGE", Error;
    UpnLength = "UPN_LENGTH", Error;
    UpnFirstCharacter = "UPN_FIRST_CHARACTER", Error;
    UpnDigits = "UPN_DIGITS", Error;
    UpnLastCharacter = "UPN_LAST_CHARACTER", Error;
    UpnLaCode = "UPN_LA_CODE", Error;
    UpnCheckLetter = "UPN_CHECK_LETTER", Error;
    // roll
    UpnTemporary = "UPN_TEMPORARY", Warning;
    DuplicateUpn = "DUPLICATE_UPN", Error;
    DuplicatePupil = "DUPLICATE_PUPIL", Warning;
    DateOfBirthInFuture = "DATE_OF_BIRTH_IN_FUTURE", Error;
    AdmissionBeforeBirth = "ADMISSION_BEFORE_BIRTH", Error;
    LeavingBeforeAdmission = "LEAVING_BEFORE_ADMISSION", Error;
    SexInvalid = "SEX_INVALID", Warning;
    YearGroupInvalid = "YEAR_GROUP_INVALID", Warning;
    FsmInvalid = "FSM_INVALID", Warning;
    SenProvisionInvalid = "SEN_PROVISION_INVALID", Warning;
    EthnicityInvalid = "ETHNICITY_INVALID", Warning;
    LookedAfterInvalid = "LOOKED_AFTER_INVALID", Warning;
    HouseholdKeyInvalid = "HOUSEHOLD_KEY_INVALID", Warning;
    // marks
    PupilNotOnRoll = "PUPIL_NOT_ON_ROLL", Error;
    PupilRollRejected = "PUPIL_ROLL_REJECTED", Error;
    DateInFuture = "DATE_IN_FUTURE", Error;
    WeekendSession = "WEEKEND_SESSION", Warning;
    SessionInvalid = "SESSION_INVALID", Error;
    UnknownCode = "UNKNOWN_CODE", Error;
    CodeNotYetValid = "CODE_NOT_YET_VALID", Error;
    RetiredCode = "RETIRED_CODE", Warning;
    MarkBeforeAdmission = "MARK_BEFORE_ADMISSION", Error;
    MarkAfterLeaving = "MARK_AFTER_LEAVING", Error;
    ConflictingMarks = "CONFLICTING_MARKS", Error;
    DuplicateMark = "DUPLICATE_MARK", Warning;
    MinutesLateInvalid = "MINUTES_LATE_INVALID", Warning;
    MinutesLateUnexpected = "MINUTES_LATE_UNEXPECTED", Warning;
}

impl FindingCode {
    pub fn parse(s: &str) -> Option<FindingCode> {
        FindingCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<TextError> for FindingCode {
    fn from(e: TextError) -> FindingCode {
        match e {
            TextError::TooLong { .. } => FindingCode::TextTooLong,
            TextError::ControlCharacter(_) => FindingCode::TextControlCharacter,
        }
    }
}

impl From<&UpnError> for FindingCode {
    fn from(e: &UpnError) -> FindingCode {
        match e {
            UpnError::Length { .. } => FindingCode::UpnLength,
            UpnError::FirstCharacter => FindingCode::UpnFirstCharacter,
            UpnError::Digits => FindingCode::UpnDigits,
            UpnError::LastCharacter => FindingCode::UpnLastCharacter,
            UpnError::LaCode => FindingCode::UpnLaCode,
            UpnError::CheckLetter => FindingCode::UpnCheckLetter,
        }
    }
}

/// One problem found in a feed. The message names the rule, never the pupil.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    pub record: RecordRef,
    /// The input field concerned (`upn`, `date`, `code`...), or empty for a whole-feed finding.
    pub field: &'static str,
    pub message: String,
}

impl Finding {
    pub(super) fn new(
        code: FindingCode,
        record: RecordRef,
        field: &'static str,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            record,
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.severity, self.code, self.record)?;
        if !self.field.is_empty() {
            write!(f, " {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of validating a feed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Validated {
    /// Accepted pupils, in roll order.
    pub pupils: Vec<Pupil>,
    /// Accepted marks, in feed order, one per pupil, date and session (exact duplicates dropped).
    pub marks: Vec<Mark>,
    /// Every finding, ordered by record (feed, roll, marks) and within a record by rule.
    pub findings: Vec<Finding>,
    /// Number of roll records in the feed.
    pub roll_records: usize,
    /// Number of mark records in the feed.
    pub mark_records: usize,
}

/// Counts of records accepted and rejected.
///
/// `*_accepted + *_rejected` is the number of records sent. An exact duplicate mark or pupil is
/// accepted (with a warning) but appears once in [`Validated::marks`] / [`Validated::pupils`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Summary {
    pub roll_accepted: u64,
    pub roll_rejected: u64,
    pub marks_accepted: u64,
    pub marks_rejected: u64,
    /// Accepted records with at least one warning.
    pub records_warned: u64,
}

impl Validated {
    /// Whether a record was rejected (it has an error finding, or the whole feed was rejected).
    /// Whether `record` was rejected: it has an error finding, or the feed as a whole has one.
    /// Looks only at the findings of the two (they are ordered by record), so asking it of
    /// every record of a feed is not quadratic in its findings.
    pub fn is_rejected(&self, record: RecordRef) -> bool {
        let has_error = |r: RecordRef| {
            let start = self.findings.partition_point(|f| f.record < r);
            self.findings[start..]
                .iter()
                .take_while(|f| f.record == r)
                .any(|f| f.severity == Severity::Error)
        };
        has_error(RecordRef::Feed) || (record != RecordRef::Feed && has_error(record))
    }

    pub fn summary(&self) -> Summary {
        let feed_rejected = self
            .findings
            .iter()
            .any(|f| f.record == RecordRef::Feed && f.severity == Severity::Error);
        let mut rejected: Vec<RecordRef> = Vec::new();
        let mut warned: Vec<RecordRef> = Vec::new();
        // Findings are ordered by record, so consecutive findings of one record are adjacent.
        for f in &self.findings {
            if f.record == RecordRef::Feed {
                continue;
            }
            let list = if f.severity == Severity::Error {
                &mut rejected
            } else {
                &mut warned
            };
            if list.last() != Some(&f.record) {
                list.push(f.record);
            }
        }
        let count = |v: &[RecordRef], roll: bool| -> u64 {
            v.iter()
                .filter(|r| matches!(r, RecordRef::Roll(_)) == roll)
                .count() as u64
        };
        let (roll_rejected, marks_rejected) = if feed_rejected {
            (self.roll_records as u64, self.mark_records as u64)
        } else {
            (count(&rejected, true), count(&rejected, false))
        };
        let records_warned = if feed_rejected {
            0
        } else {
            warned
                .iter()
                .filter(|r| rejected.binary_search(r).is_err())
                .count() as u64
        };
        Summary {
            roll_accepted: self.roll_records as u64 - roll_rejected,
            roll_rejected,
            marks_accepted: self.mark_records as u64 - marks_rejected,
            marks_rejected,
            records_warned,
        }
    }
}

/// The most bytes a feed's findings may take in one answer to the sender: under gRPC's default
/// limit of 4 MiB on a message, so a receipt or a dry run always reaches it.
pub const ANSWER_FINDINGS_BYTES: usize = 3 * 1024 * 1024;

/// What a finding costs an answer at most: its texts and the framing of its six fields.
fn answer_bytes(finding: &Finding) -> usize {
    finding.code.as_str().len() + finding.field.len() + finding.message.len() + 32
}

/// Keeps the first findings that fit `limit` bytes of an answer (those of the feed's first
/// records: findings are in record order) and returns how many were left out. Only a very
/// large number of findings can outgrow it; then the answer carries the first of them and the
/// count of the rest.
pub fn fit_findings(findings: &mut Vec<Finding>, limit: usize) -> u32 {
    let keep = fitting(findings, limit);
    let omitted = findings.len() - keep;
    findings.truncate(keep);
    omitted as u32
}

/// How many of `findings`, from the first, fit `limit` bytes of an answer.
pub fn fitting(findings: &[Finding], limit: usize) -> usize {
    let mut room = limit;
    findings
        .iter()
        .take_while(|f| {
            let size = answer_bytes(f);
            let fits = size <= room;
            room = room.saturating_sub(size);
            fits
        })
        .count()
}

/// The record positions a summary keeps of each code's findings.
pub const SUMMARY_POSITIONS: usize = 5;

/// A feed's findings of one code, for a sender to act on: how many, and the first records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeSummary {
    pub code: FindingCode,
    pub severity: Severity,
    pub count: u64,
    /// The first [`SUMMARY_POSITIONS`] records with it, in feed order.
    pub first: Vec<RecordRef>,
}

/// Every finding counted by code, most first (then in code order): however many findings a feed
/// has, its summary is one line per code.
pub fn summarise(findings: &[Finding]) -> Vec<CodeSummary> {
    let mut by_code: Vec<CodeSummary> = Vec::new();
    for finding in findings {
        let summary = match by_code.iter_mut().find(|s| s.code == finding.code) {
            Some(summary) => summary,
            None => {
                by_code.push(CodeSummary {
                    code: finding.code,
                    severity: finding.severity,
                    count: 0,
                    first: Vec::new(),
                });
                by_code.last_mut().expect("just pushed")
            }
        };
        summary.count += 1;
        if summary.first.len() < SUMMARY_POSITIONS {
            summary.first.push(finding.record);
        }
    }
    by_code.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.code.as_str().cmp(b.code.as_str()))
    });
    by_code
}
