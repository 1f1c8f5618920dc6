//! A feed's records as sent: the field names findings use, the raw roll and mark records, what
//! the validator knows beyond the feed, and the strict parsers of a field's text.

use std::fmt;

use chrono::NaiveDate;

/// Longest plausible lateness in minutes: longer than any register session.
pub const MAX_MINUTES_LATE: u16 = 300;

/// The fields of a roll record, as they are named in findings (and in the CSV files' headers).
pub const ROLL_FIELDS: [&str; 13] = [
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
    "household_key",
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
    /// Pseudonymous, but it links a family: kept out of `Debug` and every message.
    pub household_key: String,
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

/// A household key: 8 to 32 ASCII letters, digits, `-` or `_`, as sent (keys compare exactly).
pub fn parse_household_key(s: &str) -> Option<String> {
    let s = s.trim();
    ((8..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| s.to_owned())
}

/// A four-letter census ethnicity code, returned upper case.
pub fn parse_ethnicity(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}
