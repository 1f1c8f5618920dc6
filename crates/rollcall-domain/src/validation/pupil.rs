//! The pupil model: what a validated roll record and mark hold, with typed attributes (sex, SEN
//! provision, year group) in place of the text that was sent.

use std::fmt;

use chrono::NaiveDate;

use crate::calendar::Session;
use crate::codes::AttendanceCode;
use crate::identifiers::Upn;

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
    /// The household's pseudonymous key ([`super::parse_household_key`]); never in `Debug`.
    pub household_key: Option<String>,
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
