//! Folding stored counts into DfE measures: per-enrolment counters from the database, summed per
//! school and LA, with persistent and severe absence judged on each enrolment's own sessions.

use std::collections::BTreeMap;

use rollcall_db::EnrolmentCodeCount;
use rollcall_domain::{Counters, Rate, codes};
use rollcall_proto::query::v1::Measures;

/// One enrolment's counters over the period.
pub struct EnrolmentCounters {
    pub enrolment_id: i64,
    pub school_urn: i32,
    pub counters: Counters,
}

/// Groups `(enrolment, code, sessions)` rows (sorted by enrolment) into counters per enrolment.
/// A code the domain does not know cannot have been stored by the pipeline; it is an error.
pub fn per_enrolment(rows: Vec<EnrolmentCodeCount>) -> Result<Vec<EnrolmentCounters>, String> {
    let mut out: Vec<EnrolmentCounters> = Vec::new();
    for row in rows {
        let code = codes::get(&row.code)
            .ok_or_else(|| format!("stored code {:?} is not a national code", row.code))?;
        if out
            .last()
            .is_none_or(|last| last.enrolment_id != row.enrolment_id)
        {
            out.push(EnrolmentCounters {
                enrolment_id: row.enrolment_id,
                school_urn: row.school_urn,
                counters: Counters::default(),
            });
        }
        let last = out.last_mut().expect("pushed above");
        last.counters.add(code, row.sessions.max(0) as u64);
    }
    Ok(out)
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
    /// Sums each enrolment's counters; persistence is judged on each enrolment's own sessions.
    /// Enrolments with no possible session in the period do not count towards the enrolment
    /// total or the persistent and severe absence rates.
    pub fn of_enrolments<'a>(enrolments: impl IntoIterator<Item = &'a Counters>) -> Standing {
        let mut standing = Standing::default();
        for counters in enrolments {
            standing.total += counters;
            if counters.possible() > 0 {
                standing.enrolments += 1;
                standing.persistent += u64::from(counters.is_persistent());
                standing.severe += u64::from(counters.is_severe());
            }
        }
        standing
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

    pub fn measures(&self) -> Measures {
        let total = &self.total;
        let perc = |rate: Option<Rate>| rate.map(Rate::percent).unwrap_or_default();
        let share = |n: u64| {
            if self.enrolments == 0 {
                0.0
            } else {
                n as f64 / self.enrolments as f64 * 100.0
            }
        };
        let sessions_by_code: BTreeMap<String, u64> = codes::all()
            .iter()
            .filter_map(|code| {
                let n = total.count(code);
                (n > 0).then(|| (code.code().to_owned(), n))
            })
            .collect();
        Measures {
            enrolments: self.enrolments,
            possible_sessions: total.possible(),
            present_sessions: total.present(),
            approved_educational_activity: total.aea(),
            authorised_absence: total.authorised(),
            unauthorised_absence: total.unauthorised(),
            overall_absence: total.overall_absence(),
            late_sessions: total.late(),
            not_possible_sessions: total.not_possible(),
            attendance_perc: perc(total.attendance_rate()),
            overall_absence_perc: perc(total.overall_absence_rate()),
            authorised_absence_perc: perc(total.authorised_rate()),
            unauthorised_absence_perc: perc(total.unauthorised_rate()),
            persistent_absentees: self.persistent,
            severe_absentees: self.severe,
            persistent_absence_perc: share(self.persistent),
            severe_absence_perc: share(self.severe),
            sessions_by_code: sessions_by_code.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
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
        let m = Standing::of_enrolments([&a, &b, &c, &empty]).measures();
        assert_eq!(m.enrolments, 3);
        assert_eq!(m.persistent_absentees, 2);
        assert_eq!(m.severe_absentees, 1);
        assert_eq!(m.possible_sessions, 210);
        assert_eq!(m.overall_absence, 24);
        assert_eq!(m.not_possible_sessions, 50);
        assert_eq!(m.sessions_by_code["X"], 50);
        assert!((m.overall_absence_perc - 24.0 / 210.0 * 100.0).abs() < 1e-9);
    }

    #[test]
    fn rows_fold_into_one_counter_per_enrolment() {
        let row = |id, code: &str, n| EnrolmentCodeCount {
            enrolment_id: id,
            school_urn: 100001,
            code: code.into(),
            sessions: n,
        };
        let folded = per_enrolment(vec![row(1, "/", 8), row(1, "N", 2), row(2, "/", 10)]).unwrap();
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].counters.possible(), 10);
        assert!(folded[0].counters.is_persistent());
        assert!(per_enrolment(vec![row(3, "!", 1)]).is_err());
    }
}
