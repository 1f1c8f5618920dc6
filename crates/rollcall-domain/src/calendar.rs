//! School calendar facts: sessions, academic years and compulsory school age.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};

/// A register session: morning or afternoon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Session {
    Am,
    Pm,
}

impl Session {
    pub const ALL: [Session; 2] = [Session::Am, Session::Pm];

    /// Accepts `AM` or `PM` in any case, with surrounding whitespace.
    pub fn parse(s: &str) -> Option<Session> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("AM") {
            Some(Session::Am)
        } else if s.eq_ignore_ascii_case("PM") {
            Some(Session::Pm)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Session::Am => "AM",
            Session::Pm => "PM",
        }
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An academic year, 1 September to 31 August, named by the calendar year it starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AcademicYear(i32);

impl AcademicYear {
    /// The academic year starting on 1 September of `start_year`.
    pub fn new(start_year: i32) -> AcademicYear {
        AcademicYear(start_year)
    }

    /// The academic year `date` falls in.
    pub fn of(date: NaiveDate) -> AcademicYear {
        if date.month() >= 9 {
            AcademicYear(date.year())
        } else {
            AcademicYear(date.year() - 1)
        }
    }

    pub fn start_year(self) -> i32 {
        self.0
    }

    /// 1 September of the start year.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 9, 1).expect("1 September exists")
    }

    /// 31 August of the following year.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0 + 1, 8, 31).expect("31 August exists")
    }

    /// Whether `date` falls in this academic year.
    pub fn contains(self, date: NaiveDate) -> bool {
        AcademicYear::of(date) == self
    }

    pub fn next(self) -> AcademicYear {
        AcademicYear(self.0 + 1)
    }

    pub fn previous(self) -> AcademicYear {
        AcademicYear(self.0 - 1)
    }

    /// `2025/26`.
    pub fn label(self) -> String {
        format!("{}/{:02}", self.0, (self.0 + 1).rem_euclid(100))
    }

    /// `202526`, as in the DfE statistics files' `time_period` column.
    pub fn time_period(self) -> String {
        format!("{}{:02}", self.0, (self.0 + 1).rem_euclid(100))
    }

    /// Parses a label (`2025/26`) or a time period (`202526`); the second year must follow the first.
    pub fn parse(s: &str) -> Option<AcademicYear> {
        let (start, end) = match s.len() {
            7 if s.as_bytes()[4] == b'/' => (&s[..4], &s[5..]),
            6 => (&s[..4], &s[4..]),
            _ => return None,
        };
        if !start.bytes().chain(end.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let start: i32 = start.parse().ok()?;
        let end: i32 = end.parse().ok()?;
        ((start + 1).rem_euclid(100) == end).then_some(AcademicYear(start))
    }
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Age in whole years on `on`, or `None` if `on` is before birth.
pub fn age_on(date_of_birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    let years = on.years_since(date_of_birth)?;
    Some(years)
}

/// Whether a pupil is of compulsory school age for `year`: aged 5 to 15 on 31 August before it.
pub fn is_compulsory_school_age(date_of_birth: NaiveDate, year: AcademicYear) -> bool {
    let census = year.first_day().pred_opt().expect("31 August exists");
    age_on(date_of_birth, census).is_some_and(|age| (5..=15).contains(&age))
}

/// The dates of birth, first and last inclusive, of pupils of compulsory school age for `year`
/// (see [`is_compulsory_school_age`]): born 1 September 16 years before the year starts to
/// 31 August 5 years before, so a database can filter on the date itself.
pub fn compulsory_school_age_births(year: AcademicYear) -> (NaiveDate, NaiveDate) {
    let start = year.start_year();
    (
        NaiveDate::from_ymd_opt(start - 16, 9, 1).expect("1 September exists"),
        NaiveDate::from_ymd_opt(start - 5, 8, 31).expect("31 August exists"),
    )
}

/// The date in England at `at`: registers are kept on London's calendar, an hour ahead of UTC
/// in summer (British Summer Time) and level with it in winter.
pub fn london_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::London).date_naive()
}

/// Whether `date` is a Saturday or Sunday.
pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_date_in_london_follows_british_summer_time() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // Winter: London is on UTC, so 23:30 UTC is still that day.
        assert_eq!(london_date(at("2026-01-15T23:30:00Z")), d("2026-01-15"));
        // Summer: London is an hour ahead, so 23:30 UTC is already the next day.
        assert_eq!(london_date(at("2026-07-15T23:30:00Z")), d("2026-07-16"));
        assert_eq!(london_date(at("2026-07-15T22:59:59Z")), d("2026-07-15"));
        // The clocks change at 01:00 UTC on the last Sunday of March and of October.
        assert_eq!(london_date(at("2026-03-28T23:30:00Z")), d("2026-03-28"));
        assert_eq!(london_date(at("2026-03-29T23:30:00Z")), d("2026-03-30"));
        assert_eq!(london_date(at("2026-10-25T23:30:00Z")), d("2026-10-25"));
    }

    #[test]
    fn academic_year_boundaries() {
        for (date, start) in [
            ("2025-08-31", 2024),
            ("2025-09-01", 2025),
            ("2026-01-15", 2025),
            ("2026-08-31", 2025),
            ("1999-12-31", 1999),
            ("2000-02-29", 1999),
        ] {
            let y = AcademicYear::of(d(date));
            assert_eq!(y.start_year(), start, "{date}");
            assert!(y.contains(d(date)));
            assert!(y.first_day() <= d(date) && d(date) <= y.last_day());
        }
        let y = AcademicYear::new(2025);
        assert_eq!(y.first_day(), d("2025-09-01"));
        assert_eq!(y.last_day(), d("2026-08-31"));
        assert_eq!(y.label(), "2025/26");
        assert_eq!(y.time_period(), "202526");
        assert_eq!(AcademicYear::new(1999).label(), "1999/00");
        assert_eq!(y.next().previous(), y);
        assert_eq!(y.to_string(), "2025/26");
        assert_eq!(AcademicYear::parse("2025/26"), Some(y));
        assert_eq!(AcademicYear::parse("202526"), Some(y));
        assert_eq!(
            AcademicYear::parse("1999/00"),
            Some(AcademicYear::new(1999))
        );
        for bad in ["2025/27", "2025-26", "20252", "2025/2x", ""] {
            assert_eq!(AcademicYear::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn compulsory_school_age_births_match_the_age_rule() {
        let year = AcademicYear::new(2025);
        let (first, last) = compulsory_school_age_births(year);
        let mut day = first - chrono::Days::new(3);
        while day <= last + chrono::Days::new(3) {
            let within = first <= day && day <= last;
            assert_eq!(is_compulsory_school_age(day, year), within, "{day}");
            day = if day == first + chrono::Days::new(3) {
                last - chrono::Days::new(3)
            } else {
                day.succ_opt().unwrap()
            };
        }
    }

    #[test]
    fn compulsory_school_age_is_5_to_15_on_31_august_before_the_year() {
        let y = AcademicYear::new(2025);
        // Census day is 2025-08-31.
        for (dob, expected) in [
            ("2020-08-31", true),  // 5 exactly on census day
            ("2020-09-01", false), // 4 on census day: a reception child born in September
            ("2010-09-01", true),  // 14
            ("2009-09-01", true),  // 15 (turns 16 during the year)
            ("2009-08-31", false), // 16 on census day
            ("2030-01-01", false), // not born
            ("2016-02-29", true),
        ] {
            assert_eq!(is_compulsory_school_age(d(dob), y), expected, "{dob}");
        }
        assert_eq!(age_on(d("2016-02-29"), d("2017-02-28")), Some(0));
        assert_eq!(age_on(d("2016-02-29"), d("2017-03-01")), Some(1));
        assert_eq!(age_on(d("2016-02-29"), d("2016-02-28")), None);
    }

    #[test]
    fn sessions_and_weekends() {
        assert_eq!(Session::parse("AM"), Some(Session::Am));
        assert_eq!(Session::parse(" pm "), Some(Session::Pm));
        assert_eq!(Session::parse("Am"), Some(Session::Am));
        for bad in ["", "A", "AMPM", "morning", "1"] {
            assert_eq!(Session::parse(bad), None, "{bad}");
        }
        for s in Session::ALL {
            assert_eq!(Session::parse(s.as_str()), Some(s));
        }
        assert!(Session::Am < Session::Pm);
        assert!(is_weekend(d("2025-11-22")));
        assert!(is_weekend(d("2025-11-23")));
        assert!(!is_weekend(d("2025-11-24")));
        assert!(!is_weekend(d("2025-11-21")));
    }
}
