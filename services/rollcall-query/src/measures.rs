//! Folding stored counts into DfE measures: per-enrolment counters from the database, summed per
//! school and LA, with persistent and severe absence judged on each enrolment's own sessions.

use std::cmp::Ordering;

use rollcall_db::EnrolmentCounts;
use rollcall_domain::Counters;

/// The first enrolments of a pupil list seen so far, in the list's order (for the at-risk list,
/// overall absence rate worst first, ties by school, then enrolment: the order `at_risk_year`
/// reads from the index). It holds at most twice the `keep` it was made for, so an LA's period is paged while
/// its enrolments stream past: memory grows with the page asked for, not with the LA.
pub struct WorstFirst {
    keep: usize,
    held: Vec<EnrolmentCounts>,
    order: fn(&EnrolmentCounts, &EnrolmentCounts) -> Ordering,
}

impl WorstFirst {
    pub fn new(keep: usize) -> WorstFirst {
        WorstFirst {
            keep,
            held: Vec::new(),
            order: |a, b| {
                absence_perc(&b.counters)
                    .total_cmp(&absence_perc(&a.counters))
                    .then_with(|| by_school(a, b))
            },
        }
    }

    /// In the approaching-persistent list's order instead: fewest further absent sessions to
    /// persistent absence first, ties by school, then enrolment (as `approaching_year` reads).
    pub fn nearest_persistent(keep: usize) -> WorstFirst {
        WorstFirst {
            order: |a, b| {
                a.counters
                    .sessions_to_persistent()
                    .cmp(&b.counters.sessions_to_persistent())
                    .then_with(|| by_school(a, b))
            },
            ..WorstFirst::new(keep)
        }
    }

    pub fn push(&mut self, enrolment: EnrolmentCounts) {
        self.held.push(enrolment);
        if self.held.len() >= self.keep.saturating_mul(2).max(1024) {
            self.trim();
        }
    }

    /// The `keep` worst enrolments seen, worst first.
    pub fn into_sorted(mut self) -> Vec<EnrolmentCounts> {
        self.trim();
        self.held
    }

    fn trim(&mut self) {
        self.held.sort_by(self.order);
        self.held.truncate(self.keep);
    }
}

fn by_school(a: &EnrolmentCounts, b: &EnrolmentCounts) -> Ordering {
    a.school_urn
        .cmp(&b.school_urn)
        .then_with(|| a.enrolment_id.cmp(&b.enrolment_id))
}

/// The overall absence rate in percent, 0 without a possible session.
pub fn absence_perc(c: &Counters) -> f64 {
    c.overall_absence_rate()
        .map(|r| r.percent())
        .unwrap_or_default()
}

/// Session totals and how many enrolments are counted, persistent and severe: what the measures
/// are computed from, whether summed here from each enrolment or stored as year totals.
#[derive(Clone, Debug, Default)]
pub struct Standing {
    pub total: Counters,
    /// Enrolments with at least one possible session.
    pub enrolments: u64,
    pub persistent: u64,
    pub severe: u64,
}

impl Standing {
    /// Adds one enrolment's counters; persistence is judged on the enrolment's own sessions.
    /// An enrolment with no possible session in the period does not count towards the
    /// enrolment total or the persistent and severe absence rates.
    pub fn add_enrolment(&mut self, counters: &Counters) {
        self.total += counters;
        if counters.possible() > 0 {
            self.enrolments += 1;
            self.persistent += u64::from(counters.is_persistent());
            self.severe += u64::from(counters.is_severe());
        }
    }

    /// A school's stored year totals.
    pub fn of_year(totals: &rollcall_db::SchoolYearTotals) -> Standing {
        Standing {
            total: totals.counters.clone(),
            enrolments: totals.enrolments.max(0) as u64,
            persistent: totals.persistent.max(0) as u64,
            severe: totals.severe.max(0) as u64,
        }
    }

    pub fn add(&mut self, other: &Standing) {
        self.total += &other.total;
        self.enrolments += other.enrolments;
        self.persistent += other.persistent;
        self.severe += other.severe;
    }
}

#[cfg(test)]
mod tests {
    use rollcall_domain::codes;

    use super::*;

    fn counters(codes_and_sessions: &[(&str, u64)]) -> Counters {
        let mut c = Counters::default();
        for (code, n) in codes_and_sessions {
            c.add(codes::get(code).unwrap(), *n);
        }
        c
    }

    #[test]
    fn persistence_is_judged_per_enrolment_not_on_the_total() {
        // 10% absent: persistent; 9 of 100: not; 50%: severe. Not possible sessions are ignored.
        let a = counters(&[("/", 90), ("N", 10)]);
        let b = counters(&[("/", 91), ("I", 9), ("X", 40)]);
        let c = counters(&[("/", 5), ("O", 5)]);
        let empty = counters(&[("X", 10)]);
        let mut standing = Standing::default();
        for enrolment in [&a, &b, &c, &empty] {
            standing.add_enrolment(enrolment);
        }
        assert_eq!(standing.enrolments, 3);
        assert_eq!(standing.persistent, 2);
        assert_eq!(standing.severe, 1);
        let total = &standing.total;
        assert_eq!(total.possible(), 210);
        assert_eq!(total.overall_absence(), 24);
        assert_eq!(total.not_possible(), 50);
        assert_eq!(total.count(codes::get("X").unwrap()), 50);
        let rate = total.overall_absence_rate().unwrap().percent();
        assert!((rate - 24.0 / 210.0 * 100.0).abs() < 1e-9);
    }

    #[test]
    fn worst_first_keeps_the_page_in_the_lists_order() {
        let enrolment = |id, urn, absent| EnrolmentCounts {
            enrolment_id: id,
            school_urn: urn,
            counters: counters(&[("/", 100 - absent), ("N", absent)]),
        };
        let mut list = WorstFirst::new(3);
        // More than the trim threshold, so some are dropped on the way.
        for id in 0..3000 {
            list.push(enrolment(id, 100_002, (id % 40) as u64));
        }
        list.push(enrolment(5000, 100_001, 39));
        let worst = list.into_sorted();
        let ids: Vec<i64> = worst.iter().map(|e| e.enrolment_id).collect();
        // 39% absent: the lower school first, then by enrolment.
        assert_eq!(ids, vec![5000, 39, 79]);
    }
}
