//! A run under faults against the clean run of the same feeds, table by table: the marks lost
//! or changed, the sessions counted twice, and every other row that differs.

use std::collections::BTreeMap;

use rollcall_db::canonical::Canonical;

/// How the run under faults differs from the clean run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Sessions the clean run stored.
    pub marks_stored: u64,
    /// Sessions of the clean run missing under faults, or holding another code or version.
    pub marks_lost: u64,
    /// Sessions stored under faults that the clean run does not have.
    pub marks_unexpected: u64,
    /// Sessions counted in the year totals beyond the clean run's count, per enrolment and code.
    pub marks_double_counted: u64,
    /// Sessions the clean run counted that the run under faults did not.
    pub marks_uncounted: u64,
    /// Per table: rows only in the clean run, rows only in the run under faults.
    pub tables: BTreeMap<String, (usize, usize)>,
    /// The differing rows, one per line, for a person to read.
    pub details: Vec<String>,
}

impl Comparison {
    /// Nothing lost, nothing counted twice, every table equal.
    pub fn equal(&self) -> bool {
        self.marks_lost == 0
            && self.marks_unexpected == 0
            && self.marks_double_counted == 0
            && self.marks_uncounted == 0
            && self.tables.values().all(|&(a, b)| a == 0 && b == 0)
    }
}

/// Compares the two dumps.
pub fn compare(clean: &Canonical, chaos: &Canonical) -> Comparison {
    let mut out = Comparison {
        marks_stored: clean.sessions.len() as u64,
        ..Comparison::default()
    };
    for (key, value) in &clean.sessions {
        match chaos.sessions.get(key) {
            Some(v) if v == value => {}
            found => {
                out.marks_lost += 1;
                out.details.push(format!(
                    "session {key:?}: clean {value}, under faults {found:?}"
                ));
            }
        }
    }
    for (key, value) in &chaos.sessions {
        if !clean.sessions.contains_key(key) {
            out.marks_unexpected += 1;
            out.details
                .push(format!("session {key:?}: only under faults, {value}"));
        }
    }
    let counts = clean.counted.keys().chain(chaos.counted.keys());
    let mut seen = std::collections::BTreeSet::new();
    for key in counts {
        if !seen.insert(key) {
            continue;
        }
        let a = clean.counted.get(key).copied().unwrap_or(0);
        let b = chaos.counted.get(key).copied().unwrap_or(0);
        if b > a {
            out.marks_double_counted += (b - a) as u64;
        } else if a > b {
            out.marks_uncounted += (a - b) as u64;
        }
        if a != b {
            out.details
                .push(format!("count {key:?}: clean {a}, under faults {b}"));
        }
    }
    let names = clean.tables.keys().chain(chaos.tables.keys());
    for name in names {
        if out.tables.contains_key(*name) {
            continue;
        }
        let empty = Vec::new();
        let a = clean.tables.get(name).unwrap_or(&empty);
        let b = chaos.tables.get(name).unwrap_or(&empty);
        let (only_a, only_b) = multiset_difference(a, b);
        for row in &only_a {
            out.details.push(format!("{name}: only clean: {row}"));
        }
        for row in &only_b {
            out.details
                .push(format!("{name}: only under faults: {row}"));
        }
        out.tables
            .insert((*name).to_owned(), (only_a.len(), only_b.len()));
    }
    out
}

/// The rows of each sorted list that the other lacks, duplicates counted.
fn multiset_difference<'a>(a: &'a [String], b: &'a [String]) -> (Vec<&'a str>, Vec<&'a str>) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                only_a.push(x.as_str());
                i += 1;
            }
            (Some(_), Some(y)) => {
                only_b.push(y.as_str());
                j += 1;
            }
            (Some(x), None) => {
                only_a.push(x.as_str());
                i += 1;
            }
            (None, Some(y)) => {
                only_b.push(y.as_str());
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    (only_a, only_b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn canonical() -> Canonical {
        let date = NaiveDate::from_ymd_opt(2025, 9, 8).unwrap();
        let mut c = Canonical::default();
        c.sessions
            .insert((100001, "A".into(), date, 0), "/ f1 f1 ".into());
        c.sessions
            .insert((100001, "A".into(), date, 1), "I f2 f1 ".into());
        c.counted.insert((100001, "A".into(), 2025, "/".into()), 1);
        c.counted.insert((100001, "A".into(), 2025, "I".into()), 1);
        c.tables.insert(
            "receipts",
            vec!["f1 processed".into(), "f2 processed".into()],
        );
        c
    }

    #[test]
    fn the_same_dump_is_equal() {
        let c = canonical();
        let comparison = compare(&c, &c);
        assert!(comparison.equal(), "{comparison:?}");
        assert_eq!(comparison.marks_stored, 2);
    }

    #[test]
    fn a_lost_mark_a_double_count_and_a_changed_row_are_each_found() {
        let clean = canonical();
        let mut chaos = canonical();
        let date = NaiveDate::from_ymd_opt(2025, 9, 8).unwrap();
        // The correction lost: the session keeps its first version.
        chaos
            .sessions
            .insert((100001, "A".into(), date, 1), "N f1 f1 ".into());
        *chaos
            .counted
            .get_mut(&(100001, "A".into(), 2025, "/".into()))
            .unwrap() = 2;
        chaos.tables.get_mut("receipts").unwrap()[1] = "f2 parked".into();
        let comparison = compare(&clean, &chaos);
        assert!(!comparison.equal());
        assert_eq!(comparison.marks_lost, 1);
        assert_eq!(comparison.marks_unexpected, 0);
        assert_eq!(comparison.marks_double_counted, 1);
        assert_eq!(comparison.tables["receipts"], (1, 1));
        assert_eq!(comparison.details.len(), 4);
    }

    #[test]
    fn duplicate_rows_count_in_a_table_difference() {
        let a = vec!["x".to_owned(), "y".to_owned()];
        let b = vec!["x".to_owned(), "y".to_owned(), "y".to_owned()];
        assert_eq!(multiset_difference(&a, &b), (vec![], vec!["y"]));
    }
}
