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

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;

use crate::calendar::{Session, is_weekend};
use crate::codes::{self, AttendanceCode, CodeError};
use crate::identifiers::{Upn, UpnError};
use crate::text::{self, MAX_NAME_CHARS, MAX_SHORT_CHARS, TextError};

/// Longest plausible lateness in minutes: longer than any register session.
pub const MAX_MINUTES_LATE: u16 = 300;

// ---------------------------------------------------------------------------------------------
// Input

/// The fields of a roll record, as they are named in findings (and in the CSV files' headers).
pub const ROLL_FIELDS: [&str; 12] = [
    "upn",
    "forename",
    "surname",
    "date_of_birth",
    "sex",
    "year_group",
    "admission_date",
    "leaving_date",
    "fsm",
    "sen_provision",
    "ethnicity",
    "looked_after",
];

/// The fields of a mark record, as they are named in findings.
pub const MARK_FIELDS: [&str; 5] = ["upn", "date", "session", "code", "minutes_late"];

/// The `&'static` name of a roll or mark field (or `""`, a whole-feed finding's field), for
/// findings read back from a message.
pub fn field_name(name: &str) -> Option<&'static str> {
    ROLL_FIELDS
        .iter()
        .chain(&MARK_FIELDS)
        .chain(&[""])
        .find(|f| **f == name)
        .copied()
}

/// One pupil on roll as sent. Empty string = not given; dates `YYYY-MM-DD`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawPupil {
    pub upn: String,
    pub forename: String,
    pub surname: String,
    pub date_of_birth: String,
    pub sex: String,
    pub year_group: String,
    pub admission_date: String,
    pub leaving_date: String,
    pub fsm: String,
    pub sen_provision: String,
    pub ethnicity: String,
    pub looked_after: String,
}

/// Debug leaves out the personal data (UPN, names, date of birth).
impl fmt::Debug for RawPupil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPupil")
            .field("sex", &self.sex)
            .field("year_group", &self.year_group)
            .field("admission_date", &self.admission_date)
            .field("leaving_date", &self.leaving_date)
            .finish_non_exhaustive()
    }
}

/// One session mark as sent. Empty string = not given; date `YYYY-MM-DD`; session `AM` or `PM`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawMark {
    pub upn: String,
    pub date: String,
    pub session: String,
    pub code: String,
    pub minutes_late: String,
}

/// Debug leaves out the UPN.
impl fmt::Debug for RawMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawMark")
            .field("date", &self.date)
            .field("session", &self.session)
            .field("code", &self.code)
            .field("minutes_late", &self.minutes_late)
            .finish_non_exhaustive()
    }
}

/// What the validator needs to know beyond the feed itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// Marks dated after this day are rejected.
    pub today: NaiveDate,
    /// Whether the sending school is in the LA's registry; if not, the whole feed is rejected.
    pub school_registered: bool,
}

// ---------------------------------------------------------------------------------------------
// Pupil attributes

/// Sex as recorded in the school census.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub const ALL: [Sex; 2] = [Sex::Male, Sex::Female];

    /// Census code: `M` or `F`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }

    /// Accepts `M`, `F`, `Male`, `Female` in any case.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_ascii_uppercase().as_str() {
            "M" | "MALE" => Some(Sex::Male),
            "F" | "FEMALE" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// SEN provision as recorded in the school census.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SenProvision {
    /// `N`: no special educational need.
    NoProvision,
    /// `K`: SEN support.
    SenSupport,
    /// `E`: education, health and care plan.
    EhcPlan,
}

impl SenProvision {
    pub const ALL: [SenProvision; 3] = [
        SenProvision::NoProvision,
        SenProvision::SenSupport,
        SenProvision::EhcPlan,
    ];

    /// Census code: `N`, `K` or `E`.
    pub fn as_str(self) -> &'static str {
        match self {
            SenProvision::NoProvision => "N",
            SenProvision::SenSupport => "K",
            SenProvision::EhcPlan => "E",
        }
    }

    /// Accepts the census codes `N`, `K`, `E` in any case.
    pub fn parse(s: &str) -> Option<SenProvision> {
        let s = s.trim();
        SenProvision::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// National curriculum year group as recorded in the school census.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum YearGroup {
    N1,
    N2,
    R,
    Y1,
    Y2,
    Y3,
    Y4,
    Y5,
    Y6,
    Y7,
    Y8,
    Y9,
    Y10,
    Y11,
    Y12,
    Y13,
    Y14,
    /// Not following the national curriculum.
    X,
}

impl YearGroup {
    pub const ALL: [YearGroup; 18] = [
        YearGroup::N1,
        YearGroup::N2,
        YearGroup::R,
        YearGroup::Y1,
        YearGroup::Y2,
        YearGroup::Y3,
        YearGroup::Y4,
        YearGroup::Y5,
        YearGroup::Y6,
        YearGroup::Y7,
        YearGroup::Y8,
        YearGroup::Y9,
        YearGroup::Y10,
        YearGroup::Y11,
        YearGroup::Y12,
        YearGroup::Y13,
        YearGroup::Y14,
        YearGroup::X,
    ];

    /// Census value: `N1`, `N2`, `R`, `1` to `14`, `X`.
    pub fn as_str(self) -> &'static str {
        const NAMES: [&str; 18] = [
            "N1", "N2", "R", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
            "14", "X",
        ];
        NAMES[self as usize]
    }

    /// Accepts the census values in any case, and `Y7` or `Year 7` for the numbered years.
    pub fn parse(s: &str) -> Option<YearGroup> {
        let upper = s.trim().to_ascii_uppercase();
        let number = upper
            .strip_prefix("YEAR")
            .or_else(|| upper.strip_prefix('Y'))
            .map(str::trim_start);
        let wanted = match number {
            Some(n) if n.starts_with(|c: char| c.is_ascii_digit()) => n,
            Some(_) => return None,
            None => upper.as_str(),
        };
        YearGroup::ALL.into_iter().find(|y| y.as_str() == wanted)
    }

    /// The numbered year (1 to 14), if this is one.
    pub fn number(self) -> Option<u8> {
        let i = self as u8;
        (3..=16).contains(&i).then(|| i - 2)
    }
}

impl fmt::Display for YearGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// A pupil accepted from the roll.
#[derive(Clone, PartialEq, Eq)]
pub struct Pupil {
    /// Index into the roll passed to [`validate`].
    pub record: usize,
    pub upn: Upn,
    pub forename: String,
    pub surname: String,
    pub date_of_birth: NaiveDate,
    pub sex: Option<Sex>,
    pub year_group: Option<YearGroup>,
    pub admission_date: NaiveDate,
    pub leaving_date: Option<NaiveDate>,
    pub fsm: Option<bool>,
    pub sen_provision: Option<SenProvision>,
    /// Four-letter census code, upper case.
    pub ethnicity: Option<String>,
    pub looked_after: Option<bool>,
}

impl Pupil {
    /// Whether the pupil is on roll on `date` (admission date to leaving date, both included).
    pub fn is_on_roll(&self, date: NaiveDate) -> bool {
        self.admission_date <= date && self.leaving_date.is_none_or(|l| date <= l)
    }
}

/// Debug leaves out the personal data (UPN, names, date of birth).
impl fmt::Debug for Pupil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pupil")
            .field("record", &self.record)
            .field("sex", &self.sex)
            .field("year_group", &self.year_group)
            .field("admission_date", &self.admission_date)
            .field("leaving_date", &self.leaving_date)
            .field("fsm", &self.fsm)
            .field("sen_provision", &self.sen_provision)
            .field("ethnicity", &self.ethnicity)
            .field("looked_after", &self.looked_after)
            .finish_non_exhaustive()
    }
}

/// A mark accepted from the feed (one per pupil, date and session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Index into the marks passed to [`validate`].
    pub record: usize,
    pub upn: Upn,
    pub date: NaiveDate,
    pub session: Session,
    pub code: &'static AttendanceCode,
    /// Given only with a late code (`L` or `U`).
    pub minutes_late: Option<u16>,
}

/// Which record a finding concerns. Orders as feed, then roll records, then marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordRef {
    Feed,
    Roll(usize),
    Mark(usize),
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
    fn new(
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
    pub fn is_rejected(&self, record: RecordRef) -> bool {
        self.findings.iter().any(|f| {
            f.severity == Severity::Error && (f.record == record || f.record == RecordRef::Feed)
        })
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

// ---------------------------------------------------------------------------------------------
// Field parsers

/// A strict `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::from_ymd_opt(
        s[..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..].parse().ok()?,
    )
}

/// `Y`/`N`, `Yes`/`No`, `true`/`false`, `1`/`0`, in any case.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" => Some(true),
        "n" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// A four-letter census ethnicity code, returned upper case.
pub fn parse_ethnicity(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}

// ---------------------------------------------------------------------------------------------
// Validation

/// Collects the findings of one record.
struct Check<'a> {
    record: RecordRef,
    findings: &'a mut Vec<Finding>,
    failed: bool,
}

impl Check<'_> {
    fn report(&mut self, code: FindingCode, field: &'static str, message: impl Into<String>) {
        self.failed |= code.severity() == Severity::Error;
        self.findings
            .push(Finding::new(code, self.record, field, message));
    }

    /// The field's value, trimmed, when it passes the text rules (refused characters, the
    /// field's length); `None`, with the finding, when it does not. Every field passes here
    /// before its own rule, so a refused value is never read further.
    fn text<'s>(
        &mut self,
        field: &'static str,
        value: &'s str,
        max_chars: usize,
    ) -> Option<&'s str> {
        let value = value.trim();
        match text::check(value, max_chars) {
            Ok(()) => Some(value),
            Err(e) => {
                self.report(FindingCode::from(e), field, format!("{field} {e}"));
                None
            }
        }
    }

    /// A field other than a name: [`Check::text`] with the short limit.
    fn short<'s>(&mut self, field: &'static str, value: &'s str) -> Option<&'s str> {
        self.text(field, value, MAX_SHORT_CHARS)
    }

    fn required<'s>(&mut self, field: &'static str, value: &'s str) -> Option<&'s str> {
        let value = value.trim();
        if value.is_empty() {
            self.report(
                FindingCode::RequiredFieldMissing,
                field,
                format!("{field} is required"),
            );
            return None;
        }
        Some(value)
    }

    fn date(&mut self, field: &'static str, value: &str) -> Option<NaiveDate> {
        let Some(date) = parse_date(value) else {
            self.report(
                FindingCode::DateInvalid,
                field,
                format!("{field} must be a date written YYYY-MM-DD"),
            );
            return None;
        };
        if !text::date_in_range(date) {
            self.report(
                FindingCode::DateOutOfRange,
                field,
                format!(
                    "{field} must be from {} to {}",
                    text::EARLIEST_DATE,
                    text::LATEST_DATE
                ),
            );
            return None;
        }
        Some(date)
    }

    fn required_date(&mut self, field: &'static str, value: &str) -> Option<NaiveDate> {
        let value = self.required(field, value)?;
        self.date(field, value)
    }

    fn upn(&mut self, value: &str) -> Option<Upn> {
        let value = self.required("upn", value)?;
        match Upn::parse(value) {
            Ok(upn) => Some(upn),
            Err(e) => {
                self.report(FindingCode::from(&e), "upn", e.to_string());
                None
            }
        }
    }

    /// An optional attribute: unparseable values are dropped with a warning.
    fn optional<T>(
        &mut self,
        field: &'static str,
        value: &str,
        code: FindingCode,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let parsed = parse(value);
        if parsed.is_none() {
            self.report(
                code,
                field,
                format!("{field} must be {expected}; the value was ignored"),
            );
        }
        parsed
    }
}

/// Result of checking one roll record on its own.
struct RollCheck {
    upn: Option<Upn>,
    pupil: Option<Pupil>,
}

fn check_pupil(
    record: usize,
    raw: &RawPupil,
    ctx: &Context,
    findings: &mut Vec<Finding>,
) -> RollCheck {
    use FindingCode as F;
    let mut c = Check {
        record: RecordRef::Roll(record),
        findings,
        failed: false,
    };
    // Every field through the text rules first, in the order the findings are reported.
    let upn = c.short("upn", &raw.upn).and_then(|v| c.upn(v));
    if upn.as_ref().is_some_and(Upn::is_temporary) {
        c.report(
            F::UpnTemporary,
            "upn",
            "upn is temporary; send the permanent upn when it is known",
        );
    }
    let forename = c
        .text("forename", &raw.forename, MAX_NAME_CHARS)
        .and_then(|v| c.required("forename", v))
        .map(str::to_owned);
    let surname = c
        .text("surname", &raw.surname, MAX_NAME_CHARS)
        .and_then(|v| c.required("surname", v))
        .map(str::to_owned);
    let date_of_birth = c
        .short("date_of_birth", &raw.date_of_birth)
        .and_then(|v| c.required_date("date_of_birth", v));
    if date_of_birth.is_some_and(|d| d > ctx.today) {
        c.report(
            F::DateOfBirthInFuture,
            "date_of_birth",
            "date_of_birth is after today",
        );
    }
    let sex = c
        .short("sex", &raw.sex)
        .and_then(|v| c.optional("sex", v, F::SexInvalid, "M or F", Sex::parse));
    let year_group = c.short("year_group", &raw.year_group).and_then(|v| {
        c.optional(
            "year_group",
            v,
            F::YearGroupInvalid,
            "N1, N2, R, 1 to 14 or X",
            YearGroup::parse,
        )
    });
    let admission_date = c
        .short("admission_date", &raw.admission_date)
        .and_then(|v| c.required_date("admission_date", v));
    if let (Some(birth), Some(admission)) = (date_of_birth, admission_date)
        && admission < birth
    {
        c.report(
            F::AdmissionBeforeBirth,
            "admission_date",
            "admission_date is before date_of_birth",
        );
    }
    let leaving_date = c
        .short("leaving_date", &raw.leaving_date)
        .filter(|v| !v.is_empty())
        .and_then(|v| c.date("leaving_date", v));
    if let (Some(admission), Some(leaving)) = (admission_date, leaving_date)
        && leaving < admission
    {
        c.report(
            F::LeavingBeforeAdmission,
            "leaving_date",
            "leaving_date is before admission_date",
        );
    }
    let fsm = c
        .short("fsm", &raw.fsm)
        .and_then(|v| c.optional("fsm", v, F::FsmInvalid, "Y or N", parse_flag));
    let sen_provision = c.short("sen_provision", &raw.sen_provision).and_then(|v| {
        c.optional(
            "sen_provision",
            v,
            F::SenProvisionInvalid,
            "N, K or E",
            SenProvision::parse,
        )
    });
    let ethnicity = c.short("ethnicity", &raw.ethnicity).and_then(|v| {
        c.optional(
            "ethnicity",
            v,
            F::EthnicityInvalid,
            "a four-letter census code",
            parse_ethnicity,
        )
    });
    let looked_after = c.short("looked_after", &raw.looked_after).and_then(|v| {
        c.optional(
            "looked_after",
            v,
            F::LookedAfterInvalid,
            "Y or N",
            parse_flag,
        )
    });

    let pupil = match (
        c.failed,
        &upn,
        forename,
        surname,
        date_of_birth,
        admission_date,
    ) {
        (
            false,
            Some(upn),
            Some(forename),
            Some(surname),
            Some(date_of_birth),
            Some(admission_date),
        ) => Some(Pupil {
            record,
            upn: upn.clone(),
            forename,
            surname,
            date_of_birth,
            sex,
            year_group,
            admission_date,
            leaving_date,
            fsm,
            sen_provision,
            ethnicity,
            looked_after,
        }),
        _ => None,
    };
    RollCheck { upn, pupil }
}

/// Whether two roll records say the same thing (ignoring surrounding whitespace).
fn same_pupil(a: &RawPupil, b: &RawPupil) -> bool {
    let fields = |p: &RawPupil| {
        [
            p.upn.trim().to_owned(),
            p.forename.trim().to_owned(),
            p.surname.trim().to_owned(),
            p.date_of_birth.trim().to_owned(),
            p.sex.trim().to_owned(),
            p.year_group.trim().to_owned(),
            p.admission_date.trim().to_owned(),
            p.leaving_date.trim().to_owned(),
            p.fsm.trim().to_owned(),
            p.sen_provision.trim().to_owned(),
            p.ethnicity.trim().to_owned(),
            p.looked_after.trim().to_owned(),
        ]
    };
    fields(a) == fields(b)
}

/// What the roll says about a UPN, for checking marks.
#[derive(Clone, Copy)]
enum OnRoll {
    /// Index into the accepted pupils.
    Accepted(usize),
    Rejected,
}

fn check_mark(
    record: usize,
    raw: &RawMark,
    ctx: &Context,
    roll: &HashMap<Upn, OnRoll>,
    pupils: &[Pupil],
    findings: &mut Vec<Finding>,
) -> Option<Mark> {
    use FindingCode as F;
    let mut c = Check {
        record: RecordRef::Mark(record),
        findings,
        failed: false,
    };
    let upn = c.short("upn", &raw.upn).and_then(|v| c.upn(v));
    let pupil = match upn.as_ref().map(|u| roll.get(u)) {
        Some(None) => {
            c.report(F::PupilNotOnRoll, "upn", "pupil is not on this feed's roll");
            None
        }
        Some(Some(OnRoll::Rejected)) => {
            c.report(
                F::PupilRollRejected,
                "upn",
                "the pupil's roll record was rejected",
            );
            None
        }
        Some(Some(OnRoll::Accepted(i))) => Some(&pupils[*i]),
        None => None,
    };
    let date = c
        .short("date", &raw.date)
        .and_then(|v| c.required_date("date", v));
    if let Some(date) = date {
        if date > ctx.today {
            c.report(F::DateInFuture, "date", "date is after today");
        }
        if is_weekend(date) {
            c.report(F::WeekendSession, "date", "date is a saturday or sunday");
        }
    }
    let session = c
        .short("session", &raw.session)
        .and_then(|v| c.required("session", v))
        .and_then(|s| {
            let session = Session::parse(s);
            if session.is_none() {
                c.report(F::SessionInvalid, "session", "session must be AM or PM");
            }
            session
        });
    let code = c
        .short("code", &raw.code)
        .and_then(|v| c.required("code", v))
        .and_then(|raw_code| {
            let found = match date {
                Some(date) => codes::lookup(raw_code, date),
                None => codes::find(raw_code).map(|code| codes::CodeLookup {
                    code,
                    retired: false,
                }),
            };
            match found {
                Ok(found) => {
                    if found.retired {
                        c.report(
                            F::RetiredCode,
                            "code",
                            format!(
                                "attendance code {} was retired after {}; counted as {}",
                                found.code.code(),
                                found
                                    .code
                                    .valid_to()
                                    .expect("retired codes have an end date"),
                                found.code.category()
                            ),
                        );
                    }
                    Some(found.code)
                }
                Err(e @ CodeError::NotYetValid { .. }) => {
                    c.report(F::CodeNotYetValid, "code", e.to_string());
                    None
                }
                Err(e) => {
                    c.report(F::UnknownCode, "code", e.to_string());
                    None
                }
            }
        });
    if let (Some(pupil), Some(date)) = (pupil, date) {
        // Z marks a prospective pupil not yet on the admission register: it comes before admission.
        let prospective = code.is_some_and(|c| c.code() == "Z");
        if date < pupil.admission_date && !prospective {
            c.report(
                F::MarkBeforeAdmission,
                "date",
                "date is before the pupil's admission_date",
            );
        }
        if pupil.leaving_date.is_some_and(|l| date > l) {
            c.report(
                F::MarkAfterLeaving,
                "date",
                "date is after the pupil's leaving_date",
            );
        }
    }
    let minutes = c
        .short("minutes_late", &raw.minutes_late)
        .unwrap_or_default();
    let mut minutes_late = None;
    if !minutes.is_empty() {
        let parsed = (minutes.len() <= 3 && minutes.bytes().all(|b| b.is_ascii_digit()))
            .then(|| minutes.parse::<u16>().ok())
            .flatten()
            .filter(|&m| m <= MAX_MINUTES_LATE);
        match parsed {
            None => c.report(
                F::MinutesLateInvalid,
                "minutes_late",
                format!("minutes_late must be a whole number from 0 to {MAX_MINUTES_LATE}; the value was ignored"),
            ),
            Some(m) if m > 0 && code.is_some_and(|c| !matches!(c.code(), "L" | "U")) => c.report(
                F::MinutesLateUnexpected,
                "minutes_late",
                "minutes_late is only kept with code L or U; the value was ignored",
            ),
            Some(m) => minutes_late = Some(m),
        }
    }
    match (c.failed, upn, date, session, code) {
        (false, Some(upn), Some(date), Some(session), Some(code)) => Some(Mark {
            record,
            upn,
            date,
            session,
            code,
            minutes_late,
        }),
        _ => None,
    }
}

/// Validates a whole feed: the roll and the marks. Returns every finding, not the first.
pub fn validate(roll: &[RawPupil], marks: &[RawMark], ctx: &Context) -> Validated {
    let mut findings = Vec::new();

    // Roll: each record on its own, then UPNs sent more than once.
    let checked: Vec<RollCheck> = roll
        .iter()
        .enumerate()
        .map(|(i, p)| check_pupil(i, p, ctx, &mut findings))
        .collect();
    let mut by_upn: HashMap<&Upn, Vec<usize>> = HashMap::new();
    for (i, c) in checked.iter().enumerate() {
        if let Some(upn) = &c.upn {
            by_upn.entry(upn).or_default().push(i);
        }
    }
    let mut dropped = vec![false; roll.len()];
    // Each record is in one group and findings are sorted by record at the end, so the map's
    // iteration order cannot change the result.
    for group in by_upn.values().filter(|v| v.len() > 1) {
        let first = group[0];
        if group.iter().all(|&i| same_pupil(&roll[i], &roll[first])) {
            for &i in &group[1..] {
                dropped[i] = true;
                findings.push(Finding::new(
                    FindingCode::DuplicatePupil,
                    RecordRef::Roll(i),
                    "upn",
                    format!("same pupil sent again, identical to roll record {first}; the copy was ignored"),
                ));
            }
        } else {
            for &i in group {
                dropped[i] = true;
                findings.push(Finding::new(
                    FindingCode::DuplicateUpn,
                    RecordRef::Roll(i),
                    "upn",
                    format!(
                        "upn also used by another roll record ({} in all) with different details",
                        group.len()
                    ),
                ));
            }
        }
    }
    let mut on_roll: HashMap<Upn, OnRoll> = HashMap::new();
    let mut pupils = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        let Some(upn) = c.upn else { continue };
        match (c.pupil, dropped[i]) {
            (Some(pupil), false) => {
                on_roll.insert(upn, OnRoll::Accepted(pupils.len()));
                pupils.push(pupil);
            }
            // A dropped identical copy leaves the first record's outcome in place.
            (_, true) if on_roll.contains_key(&upn) => {}
            _ => {
                on_roll.entry(upn).or_insert(OnRoll::Rejected);
            }
        }
    }

    // Marks: each record on its own, then sessions marked more than once.
    let mut accepted: Vec<Mark> = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        if let Some(mark) = check_mark(i, m, ctx, &on_roll, &pupils, &mut findings) {
            accepted.push(mark);
        }
    }
    let mut sessions: HashMap<(&Upn, NaiveDate, Session), Vec<usize>> = HashMap::new();
    for (i, m) in accepted.iter().enumerate() {
        sessions
            .entry((&m.upn, m.date, m.session))
            .or_default()
            .push(i);
    }
    let mut keep = vec![true; accepted.len()];
    for group in sessions.values().filter(|v| v.len() > 1) {
        let first = &accepted[group[0]];
        let same =
            |m: &Mark| m.code.index() == first.code.index() && m.minutes_late == first.minutes_late;
        if group.iter().all(|&i| same(&accepted[i])) {
            for &i in &group[1..] {
                keep[i] = false;
                findings.push(Finding::new(
                    FindingCode::DuplicateMark,
                    RecordRef::Mark(accepted[i].record),
                    "session",
                    format!(
                        "same mark sent again, identical to mark record {}; the copy was ignored",
                        first.record
                    ),
                ));
            }
        } else {
            for &i in group {
                keep[i] = false;
                findings.push(Finding::new(
                    FindingCode::ConflictingMarks,
                    RecordRef::Mark(accepted[i].record),
                    "code",
                    format!(
                        "session marked {} times with different codes or minutes late in this feed",
                        group.len()
                    ),
                ));
            }
        }
    }
    let mut marks_out: Vec<Mark> = accepted
        .into_iter()
        .zip(keep)
        .filter_map(|(m, k)| k.then_some(m))
        .collect();

    if !ctx.school_registered {
        findings.push(Finding::new(
            FindingCode::SchoolNotInRegistry,
            RecordRef::Feed,
            "",
            "the sending school is not in the la's registry; every record was rejected",
        ));
        pupils.clear();
        marks_out.clear();
    }

    // Stable: within a record, findings keep the order the rules ran in.
    findings.sort_by_key(|f| f.record);
    Validated {
        pupils,
        marks: marks_out,
        findings,
        roll_records: roll.len(),
        mark_records: marks.len(),
    }
}
