//! The days a school is expected to take its register, from its term dates: what tells a school
//! that has gone quiet from one on holiday. A school's own term dates when it has any, else its
//! LA's; within a term, every weekday is a register day but the days either the school or its LA
//! marked closed (INSET days, bank holidays, a half-term inside a term given whole, a closure).
//! With no term dates at all, every weekday counts, and the calendar says so.

use chrono::{Days, NaiveDate};

use crate::calendar::is_weekend;

/// What a range of days in a calendar is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayKind {
    /// A term: its weekdays are register days.
    Term,
    /// Days inside a term without a register.
    Closed,
}

impl DayKind {
    pub fn parse(s: &str) -> Option<DayKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "term" => Some(DayKind::Term),
            "closed" => Some(DayKind::Closed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Term => "term",
            DayKind::Closed => "closed",
        }
    }
}

/// Days `first` to `last`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub kind: DayKind,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// Where a school's register days come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    School,
    La,
    /// No term dates imported for the school or its LA: every weekday.
    Weekdays,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::School => "school",
            Source::La => "la",
            Source::Weekdays => "weekdays",
        }
    }
}

/// One school's register days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolCalendar {
    terms: Vec<DayRange>,
    closed: Vec<DayRange>,
    pub source: Source,
}

impl SchoolCalendar {
    /// The calendar of a school with its LA's ranges `la` and its own `school`.
    pub fn of(la: &[DayRange], school: &[DayRange]) -> SchoolCalendar {
        let terms_of = |ranges: &[DayRange]| -> Vec<DayRange> {
            ranges
                .iter()
                .filter(|r| r.kind == DayKind::Term)
                .copied()
                .collect()
        };
        let (terms, source) = match (terms_of(school), terms_of(la)) {
            (own, _) if !own.is_empty() => (own, Source::School),
            (_, la_terms) if !la_terms.is_empty() => (la_terms, Source::La),
            _ => (Vec::new(), Source::Weekdays),
        };
        let closed = la
            .iter()
            .chain(school)
            .filter(|r| r.kind == DayKind::Closed)
            .copied()
            .collect();
        SchoolCalendar {
            terms,
            closed,
            source,
        }
    }

    /// Whether the school is expected to take its register on `date`.
    pub fn is_open(&self, date: NaiveDate) -> bool {
        let within = |r: &DayRange| r.first <= date && date <= r.last;
        !is_weekend(date)
            && (self.source == Source::Weekdays || self.terms.iter().any(within))
            && !self.closed.iter().any(within)
    }

    /// Register days after `after` up to `through`, `through` included (0 when `through` is not
    /// after `after`).
    pub fn open_days(&self, after: NaiveDate, through: NaiveDate) -> u32 {
        let mut days = 0;
        let mut date = after;
        while let Some(next) = date.checked_add_days(Days::new(1)) {
            if next > through {
                break;
            }
            if self.is_open(next) {
                days += 1;
            }
            date = next;
        }
        days
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn range(kind: DayKind, first: &str, last: &str) -> DayRange {
        DayRange {
            kind,
            first: d(first),
            last: d(last),
        }
    }

    #[test]
    fn term_weekdays_count_and_half_term_inset_and_weekends_do_not() {
        // Autumn term 2025 given whole, with half-term and an INSET day closed.
        let la = [
            range(DayKind::Term, "2025-09-03", "2025-12-19"),
            range(DayKind::Closed, "2025-10-27", "2025-10-31"),
        ];
        let school = [range(DayKind::Closed, "2025-10-24", "2025-10-24")];
        let calendar = SchoolCalendar::of(&la, &school);
        assert_eq!(calendar.source, Source::La);
        // Mon 20 to Thu 23 October: open; Fri 24: INSET; half-term week: closed.
        assert_eq!(calendar.open_days(d("2025-10-19"), d("2025-10-23")), 4);
        assert_eq!(calendar.open_days(d("2025-10-23"), d("2025-11-02")), 0);
        assert_eq!(calendar.open_days(d("2025-10-23"), d("2025-11-04")), 2);
        assert!(!calendar.is_open(d("2025-09-02")), "before term");
        assert_eq!(calendar.open_days(d("2025-10-23"), d("2025-10-23")), 0);
    }

    #[test]
    fn a_schools_own_terms_replace_its_las_and_none_at_all_is_weekdays() {
        let la = [range(DayKind::Term, "2025-09-03", "2025-12-19")];
        let own = [range(DayKind::Term, "2025-09-08", "2025-12-12")];
        let calendar = SchoolCalendar::of(&la, &own);
        assert_eq!(calendar.source, Source::School);
        assert!(!calendar.is_open(d("2025-09-04")));
        assert!(calendar.is_open(d("2025-09-08")));
        let none = SchoolCalendar::of(&[], &[]);
        assert_eq!(none.source, Source::Weekdays);
        assert_eq!(none.open_days(d("2025-08-01"), d("2025-08-08")), 5);
    }
}
