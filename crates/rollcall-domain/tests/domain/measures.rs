//! Counters: property tests for adding and subtracting without drift.

use proptest::prelude::*;
use rollcall_domain::codes::{self, Category};
use rollcall_domain::measures::{Counters, Rate};

/// A list of (code index, sessions) pairs.
fn marks() -> impl Strategy<Value = Vec<(usize, u64)>> {
    prop::collection::vec((0..codes::all().len(), 0u64..1_000_000), 0..60)
}

fn build(marks: &[(usize, u64)]) -> Counters {
    let mut c = Counters::default();
    for &(i, n) in marks {
        c.add(&codes::all()[i], n);
    }
    c
}

proptest! {
    #[test]
    fn added_then_subtracted_is_zero(marks in marks()) {
        let mut c = build(&marks);
        for &(i, n) in marks.iter().rev() {
            c.remove(&codes::all()[i], n);
        }
        prop_assert!(c.is_empty());
        prop_assert_eq!(c, Counters::default());
    }

    #[test]
    fn sums_and_differences_do_not_drift(a in marks(), b in marks()) {
        let (ca, cb) = (build(&a), build(&b));
        let sum = ca.clone() + &cb;
        prop_assert_eq!(sum.clone(), cb.clone() + &ca);
        prop_assert_eq!(sum.clone() - &cb, ca.clone());
        prop_assert_eq!(sum.checked_sub(&ca), Some(cb.clone()));
        let mut acc = Counters::default();
        acc += &ca;
        acc += cb.clone();
        acc -= &ca;
        acc -= cb;
        prop_assert!(acc.is_empty());
    }

    #[test]
    fn identities_hold(marks in marks()) {
        let c = build(&marks);
        let by_category: u64 = Category::ALL.iter().map(|&k| c.category(k)).sum();
        prop_assert_eq!(by_category, c.total());
        prop_assert_eq!(c.possible(), c.present() + c.aea() + c.authorised() + c.unauthorised());
        prop_assert_eq!(c.total(), c.possible() + c.not_possible());
        prop_assert_eq!(c.overall_absence(), c.authorised() + c.unauthorised());
        prop_assert_eq!(c.late(), c.count(codes::get("L").unwrap()) + c.count(codes::get("U").unwrap()));
        match c.attendance_rate() {
            None => prop_assert_eq!(c.possible(), 0),
            Some(r) => {
                let absence = c.overall_absence_rate().unwrap();
                prop_assert_eq!(r.numerator + absence.numerator, r.denominator);
                // Integer thresholds agree with exact rational comparison.
                prop_assert_eq!(c.is_persistent(), absence.numerator * 10 >= absence.denominator);
                prop_assert_eq!(c.is_severe(), absence.numerator * 2 >= absence.denominator);
            }
        }
    }

    #[test]
    fn a_correction_moves_one_session(marks in marks(), from in 0..38usize, to in 0..38usize) {
        let mut c = build(&marks);
        let (from, to) = (&codes::all()[from], &codes::all()[to]);
        c.add(from, 1);
        let total = c.total();
        c.remove(from, 1);
        c.add(to, 1);
        prop_assert_eq!(c.total(), total);
    }
}

#[test]
fn rate_percent_and_thresholds() {
    let r = Rate {
        numerator: 1,
        denominator: 10,
    };
    assert!(r.at_least_percent(10));
    assert!(!r.at_least_percent(11));
    assert_eq!(r.percent(), 10.0);
    // 9.99% is not 10%.
    assert!(
        !Rate {
            numerator: 999,
            denominator: 10_000
        }
        .at_least_percent(10)
    );
}
