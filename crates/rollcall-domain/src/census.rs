//! The school census's termly attendance: its term dates and the per-enrolment absence figures
//! it collects (sessions possible, authorised absence by reason, unauthorised absence by reason).
//!
//! The census does not use a school's own term dates: its autumn term runs from 1 August to
//! 31 December, spring from 1 January to Easter Sunday, and summer from Easter Monday to
//! 31 July. So one enrolment's three terms cover its whole academic year without a gap.

use std::fmt;

use chrono::{Days, NaiveDate};

use crate::AcademicYear;
use crate::codes::{self, AttendanceCode, Category};

/// A census term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CensusTerm {
    Autumn,
    Spring,
    Summer,
}

impl CensusTerm {
    pub fn parse(s: &str) -> Option<CensusTerm> {
        match s.trim().to_ascii_lowercase().as_str() {
            "autumn" => Some(CensusTerm::Autumn),
            "spring" => Some(CensusTerm::Spring),
            "summer" => Some(CensusTerm::Summer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CensusTerm::Autumn => "autumn",
            CensusTerm::Spring => "spring",
            CensusTerm::Summer => "summer",
        }
    }

    /// First and last day, inclusive, of this term of `year`.
    pub fn dates(self, year: AcademicYear) -> (NaiveDate, NaiveDate) {
        let start = year.start_year();
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a calendar date");
        let easter = easter_sunday(start + 1);
        match self {
            CensusTerm::Autumn => (ymd(start, 8, 1), ymd(start, 12, 31)),
            CensusTerm::Spring => (ymd(start + 1, 1, 1), easter),
            CensusTerm::Summer => (easter + Days::new(1), ymd(start + 1, 7, 31)),
        }
    }
}

impl fmt::Display for CensusTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("easter is a calendar date")
}

/// The absence codes the census counts one by one, in the code table's order: authorised
/// reasons, then unauthorised. Retired codes are included, so a term with a late-arriving H or
/// J adds up.
pub fn absence_codes() -> impl Iterator<Item = &'static AttendanceCode> {
    codes::in_category(Category::Authorised).chain(codes::in_category(Category::Unauthorised))
}

/// The column of an absence code's sessions: `authorised_i`, `unauthorised_g`.
pub fn absence_column(code: &AttendanceCode) -> String {
    let prefix = match code.category() {
        Category::Authorised => "authorised",
        Category::Unauthorised => "unauthorised",
        _ => unreachable!("absence_codes yields only absence codes"),
    };
    format!("{prefix}_{}", code.code().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_falls_where_the_almanac_puts_it() {
        assert_eq!(easter_sunday(2024), ymd(2024, 3, 31));
        assert_eq!(easter_sunday(2025), ymd(2025, 4, 20));
        assert_eq!(easter_sunday(2026), ymd(2026, 4, 5));
        assert_eq!(easter_sunday(2027), ymd(2027, 3, 28));
        assert_eq!(easter_sunday(2038), ymd(2038, 4, 25));
    }

    #[test]
    fn the_three_terms_cover_the_year_without_a_gap() {
        let year = AcademicYear::new(2025);
        let (a0, a1) = CensusTerm::Autumn.dates(year);
        let (s0, s1) = CensusTerm::Spring.dates(year);
        let (u0, u1) = CensusTerm::Summer.dates(year);
        assert_eq!((a0, a1), (ymd(2025, 8, 1), ymd(2025, 12, 31)));
        assert_eq!((s0, s1), (ymd(2026, 1, 1), ymd(2026, 4, 5)));
        assert_eq!((u0, u1), (ymd(2026, 4, 6), ymd(2026, 7, 31)));
        assert_eq!(a1.succ_opt(), Some(s0));
        assert_eq!(s1.succ_opt(), Some(u0));
    }

    #[test]
    fn every_absence_code_has_its_own_column() {
        let columns: Vec<String> = absence_codes().map(absence_column).collect();
        assert!(columns.contains(&"authorised_i".to_owned()));
        assert!(columns.contains(&"authorised_h".to_owned()));
        assert!(columns.contains(&"unauthorised_n".to_owned()));
        let mut unique = columns.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), columns.len());
    }
}
