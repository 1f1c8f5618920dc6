//! DfE attendance measures: session counters per code and category, rates, persistent and severe absence.
//!
//! Counters hold whole sessions per national code, so sums and differences never drift. Rates are
//! kept as numerator and denominator; thresholds compare integers (an enrolment with exactly 10%
//! overall absence is persistently absent, 9.99% is not). Floating point appears only in
//! [`Rate::percent`], for display and export.

use std::fmt;

use crate::codes::{self, AttendanceCode, Category, MAX_CODES};

/// Persistent absence: overall absence of at least this percent of possible sessions.
pub const PERSISTENT_ABSENCE_PERCENT: u64 = 10;
/// Severe absence: overall absence of at least this percent of possible sessions.
pub const SEVERE_ABSENCE_PERCENT: u64 = 50;

/// Sessions per national code for one enrolment (or any sum of enrolments) over a period.
///
/// Counters add (two periods, two schools) and subtract (a corrected mark moves one session from
/// one code to another). Removing more sessions of a code than were added is a bug in the caller
/// (a correction only removes what an earlier mark added), so [`Counters::remove`] and `Sub` panic
/// rather than saturate and hide it; [`Counters::checked_sub`] is the non-panicking form.
///
/// The operator traits are implemented by path, not imported here: a module that imports
/// `std::ops::Add` makes `counters.add(code, n)` resolve to `Add::add` on an owned value, so
/// such a module should write `counters += &other` or `Counters::add(&mut counters, code, n)`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Counters {
    sessions: [u64; MAX_CODES],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            sessions: [0; MAX_CODES],
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(c, n)| (c.code(), n)))
            .finish()
    }
}

impl Counters {
    pub fn new() -> Counters {
        Counters::default()
    }

    /// Adds `sessions` sessions of `code`.
    pub fn add(&mut self, code: &AttendanceCode, sessions: u64) {
        let slot = &mut self.sessions[code.index()];
        *slot = slot
            .checked_add(sessions)
            .expect("session counter overflow");
    }

    /// Removes `sessions` sessions of `code`.
    ///
    /// # Panics
    /// If fewer than `sessions` sessions of `code` were counted.
    pub fn remove(&mut self, code: &AttendanceCode, sessions: u64) {
        let slot = &mut self.sessions[code.index()];
        *slot = slot
            .checked_sub(sessions)
            .unwrap_or_else(|| panic!("removing more {} sessions than were counted", code.code()));
    }

    /// `self - other`, or `None` if `other` has more sessions of some code than `self`.
    pub fn checked_sub(&self, other: &Counters) -> Option<Counters> {
        let mut out = Counters::default();
        for i in 0..MAX_CODES {
            out.sessions[i] = self.sessions[i].checked_sub(other.sessions[i])?;
        }
        Some(out)
    }

    /// Sessions recorded with `code`.
    pub fn count(&self, code: &AttendanceCode) -> u64 {
        self.sessions[code.index()]
    }

    /// Codes with at least one session, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static AttendanceCode, u64)> + '_ {
        codes::all()
            .iter()
            .map(|c| (c, self.sessions[c.index()]))
            .filter(|&(_, n)| n > 0)
    }

    /// Whether no session is counted.
    pub fn is_empty(&self) -> bool {
        self.sessions.iter().all(|&n| n == 0)
    }

    /// Sessions in a category.
    pub fn category(&self, c: Category) -> u64 {
        codes::all()
            .iter()
            .filter(|code| code.category() == c)
            .map(|code| self.sessions[code.index()])
            .sum()
    }

    pub fn present(&self) -> u64 {
        self.category(Category::Present)
    }

    /// Approved educational activity.
    pub fn aea(&self) -> u64 {
        self.category(Category::Aea)
    }

    pub fn authorised(&self) -> u64 {
        self.category(Category::Authorised)
    }

    pub fn unauthorised(&self) -> u64 {
        self.category(Category::Unauthorised)
    }

    pub fn not_possible(&self) -> u64 {
        self.category(Category::NotPossible)
    }

    /// Every session counted, possible or not.
    pub fn total(&self) -> u64 {
        self.sessions.iter().sum()
    }

    /// present + aea + authorised + unauthorised.
    pub fn possible(&self) -> u64 {
        codes::all()
            .iter()
            .filter(|c| c.counts_as_possible())
            .map(|c| self.sessions[c.index()])
            .sum()
    }

    /// present + aea: the DfE's "overall attendance".
    pub fn attendance(&self) -> u64 {
        self.present() + self.aea()
    }

    /// authorised + unauthorised.
    pub fn overall_absence(&self) -> u64 {
        self.authorised() + self.unauthorised()
    }

    /// Late sessions as the DfE counts them: L (present) + U (unauthorised).
    pub fn late(&self) -> u64 {
        ["L", "U"]
            .iter()
            .map(|c| self.count(codes::get(c).expect("L and U are national codes")))
            .sum()
    }

    fn rate(&self, numerator: u64) -> Option<Rate> {
        let denominator = self.possible();
        (denominator > 0).then_some(Rate {
            numerator,
            denominator,
        })
    }

    /// (present + aea) / possible; `None` with no possible sessions.
    pub fn attendance_rate(&self) -> Option<Rate> {
        self.rate(self.attendance())
    }

    pub fn overall_absence_rate(&self) -> Option<Rate> {
        self.rate(self.overall_absence())
    }

    pub fn authorised_rate(&self) -> Option<Rate> {
        self.rate(self.authorised())
    }

    pub fn unauthorised_rate(&self) -> Option<Rate> {
        self.rate(self.unauthorised())
    }

    /// Sessions of one code over possible sessions (the DfE's per-reason rates).
    pub fn code_rate(&self, code: &AttendanceCode) -> Option<Rate> {
        self.rate(self.count(code))
    }

    /// Overall absence of 10% or more of possible sessions; false with no possible sessions.
    pub fn is_persistent(&self) -> bool {
        self.overall_absence_rate()
            .is_some_and(|r| r.at_least_percent(PERSISTENT_ABSENCE_PERCENT))
    }

    /// Overall absence of 50% or more of possible sessions; false with no possible sessions.
    pub fn is_severe(&self) -> bool {
        self.overall_absence_rate()
            .is_some_and(|r| r.at_least_percent(SEVERE_ABSENCE_PERCENT))
    }

    /// How many further absent sessions (each also a possible session) would make this
    /// enrolment persistently absent: 0 when it already is. The fewest `k` with
    /// `(absent + k) / (possible + k) >= 10%`, that is `k >= (10 possible - 100 absent) / 90`.
    pub fn sessions_to_persistent(&self) -> u64 {
        let (absent, possible) = (self.overall_absence(), self.possible());
        if possible == 0 {
            return 1;
        }
        let p = PERSISTENT_ABSENCE_PERCENT;
        let short = (p * possible).saturating_sub(100 * absent);
        short.div_ceil(100 - p)
    }
}

impl std::ops::AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, rhs: &Counters) {
        for (a, b) in self.sessions.iter_mut().zip(rhs.sessions.iter()) {
            *a = a.checked_add(*b).expect("session counter overflow");
        }
    }
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, rhs: Counters) {
        *self += &rhs;
    }
}

impl std::ops::Add for Counters {
    type Output = Counters;
    fn add(mut self, rhs: Counters) -> Counters {
        self += &rhs;
        self
    }
}

impl std::ops::Add<&Counters> for Counters {
    type Output = Counters;
    fn add(mut self, rhs: &Counters) -> Counters {
        self += rhs;
        self
    }
}

/// Panics if `rhs` has more sessions of some code than `self` (see [`Counters::checked_sub`]).
impl std::ops::SubAssign<&Counters> for Counters {
    fn sub_assign(&mut self, rhs: &Counters) {
        *self = self
            .checked_sub(rhs)
            .expect("subtracting more sessions than were counted");
    }
}

impl std::ops::SubAssign for Counters {
    fn sub_assign(&mut self, rhs: Counters) {
        *self -= &rhs;
    }
}

impl std::ops::Sub for Counters {
    type Output = Counters;
    fn sub(mut self, rhs: Counters) -> Counters {
        self -= &rhs;
        self
    }
}

impl std::ops::Sub<&Counters> for Counters {
    type Output = Counters;
    fn sub(mut self, rhs: &Counters) -> Counters {
        self -= rhs;
        self
    }
}

impl std::iter::Sum for Counters {
    fn sum<I: Iterator<Item = Counters>>(iter: I) -> Counters {
        iter.fold(Counters::default(), |acc, c| acc + c)
    }
}

impl<'a> std::iter::Sum<&'a Counters> for Counters {
    fn sum<I: Iterator<Item = &'a Counters>>(iter: I) -> Counters {
        iter.fold(Counters::default(), |acc, c| acc + c)
    }
}

/// An exact rate: numerator sessions over denominator sessions (denominator > 0 when built here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
}

impl Rate {
    /// The rate as a percentage, computed as the DfE does: numerator / denominator * 100.
    pub fn percent(self) -> f64 {
        self.numerator as f64 / self.denominator as f64 * 100.0
    }

    /// Whether the rate is at least `pct` percent, exactly (integer arithmetic).
    pub fn at_least_percent(self, pct: u64) -> bool {
        u128::from(self.numerator) * 100 >= u128::from(pct) * u128::from(self.denominator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> &'static AttendanceCode {
        codes::get(c).unwrap()
    }

    fn counters(marks: &[(&str, u64)]) -> Counters {
        let mut c = Counters::default();
        for &(m, n) in marks {
            c.add(code(m), n);
        }
        c
    }

    #[test]
    fn sessions_to_persistent_is_the_fewest_further_absences_that_reach_ten_percent() {
        for possible in 0..120u64 {
            for absent in 0..=possible {
                let c = counters(&[("/", possible - absent), ("N", absent)]);
                let k = c.sessions_to_persistent();
                let mut after = c.clone();
                after.add(code("O"), k);
                assert!(after.is_persistent(), "{absent}/{possible} + {k}");
                if k > 0 {
                    let mut short = c.clone();
                    short.add(code("O"), k - 1);
                    assert!(!short.is_persistent(), "{absent}/{possible} + {k} - 1");
                }
                assert_eq!(k == 0, c.is_persistent());
            }
        }
        // 9 absent in 100: 10 in 101 is 9.9%, 11 in 102 is 10.8%.
        assert_eq!(counters(&[("/", 91), ("I", 9)]).sessions_to_persistent(), 2);
    }

    #[test]
    fn categories_possible_and_late() {
        let c = counters(&[
            ("/", 50),
            ("\\", 40),
            ("L", 3),
            ("V", 2),
            ("I", 4),
            ("H", 1),
            ("N", 5),
            ("U", 2),
            ("X", 7),
            ("#", 2),
        ]);
        assert_eq!(c.present(), 93);
        assert_eq!(c.aea(), 2);
        assert_eq!(c.authorised(), 5);
        assert_eq!(c.unauthorised(), 7);
        assert_eq!(c.not_possible(), 9);
        assert_eq!(c.possible(), 107);
        assert_eq!(c.total(), 116);
        assert_eq!(c.attendance(), 95);
        assert_eq!(c.overall_absence(), 12);
        assert_eq!(c.late(), 5);
        assert_eq!(
            c.attendance_rate(),
            Some(Rate {
                numerator: 95,
                denominator: 107
            })
        );
        assert_eq!(c.authorised_rate().unwrap().numerator, 5);
        assert_eq!(c.unauthorised_rate().unwrap().numerator, 7);
        assert_eq!(c.code_rate(code("I")).unwrap().numerator, 4);
        assert_eq!(
            format!("{c:?}"),
            r##"{"/": 50, "\\": 40, "L": 3, "V": 2, "I": 4, "N": 5, "U": 2, "X": 7, "#": 2, "H": 1}"##
        );
    }

    #[test]
    fn thresholds_are_exact() {
        // 10 absent of 100: exactly 10%, persistent.
        let c = counters(&[("/", 90), ("N", 10)]);
        assert!(c.is_persistent());
        assert!(!c.is_severe());
        // 999 absent of 10000: 9.99%, not persistent.
        let c = counters(&[("/", 9001), ("I", 999)]);
        assert!(!c.is_persistent());
        // 1 of 3 would be 33.3...%; 1 of 10 exactly 10%.
        let c = counters(&[("/", 9), ("G", 1)]);
        assert!(c.is_persistent());
        // exactly 50%: severe; one session fewer: not.
        let c = counters(&[("/", 50), ("O", 50)]);
        assert!(c.is_severe() && c.is_persistent());
        let c = counters(&[("/", 51), ("O", 49)]);
        assert!(!c.is_severe());
        // Not-possible sessions do not count either way.
        let c = counters(&[("X", 100)]);
        assert_eq!(c.possible(), 0);
        assert_eq!(c.attendance_rate(), None);
        assert!(!c.is_persistent() && !c.is_severe());
        assert!(!Counters::default().is_persistent());
        // 1 in 3 absent.
        assert!(
            Rate {
                numerator: 1,
                denominator: 3
            }
            .at_least_percent(33)
        );
        assert!(
            !Rate {
                numerator: 1,
                denominator: 3
            }
            .at_least_percent(34)
        );
        assert!(
            Rate {
                numerator: u64::MAX,
                denominator: u64::MAX
            }
            .at_least_percent(100)
        );
    }

    #[test]
    fn correction_moves_a_session() {
        let mut c = counters(&[("/", 10), ("N", 1)]);
        let before = c.possible();
        c.remove(code("N"), 1);
        c.add(code("I"), 1);
        assert_eq!(c.possible(), before);
        assert_eq!(c.unauthorised(), 0);
        assert_eq!(c.authorised(), 1);
        let a = counters(&[("/", 3), ("M", 1)]);
        let b = counters(&[("/", 2), ("I", 1)]);
        let sum = a.clone() + &b;
        assert_eq!(sum.present(), 5);
        assert_eq!(sum.clone() - &b, a);
        assert_eq!([a.clone(), b.clone()].iter().sum::<Counters>(), sum);
        assert_eq!(a.checked_sub(&b), None);
        let mut d = sum.clone();
        d -= a.clone();
        d -= b;
        assert!(d.is_empty());
        assert_eq!(d, Counters::default());
    }

    #[test]
    #[should_panic(expected = "removing more N sessions than were counted")]
    fn removing_more_than_added_panics() {
        let mut c = counters(&[("N", 1)]);
        c.remove(code("N"), 2);
    }

    #[test]
    fn percent() {
        assert_eq!(
            Rate {
                numerator: 1,
                denominator: 4
            }
            .percent(),
            25.0
        );
        assert_eq!(
            Rate {
                numerator: 0,
                denominator: 4
            }
            .percent(),
            0.0
        );
    }
}
