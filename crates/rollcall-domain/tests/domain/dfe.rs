//! The DfE check: every row of the DfE's published 2025/26 year-to-date file, rebuilt from its
//! per-code session counts through the domain's categories and measures.
//!
//! Each row gives sessions per reason column (`reason_<code>_...`, named in the code table's
//! `ees_column`; F and H share `reason_h_authorised_holiday`). The test builds [`Counters`] from
//! those columns alone and asserts that the derived headline counts and every rate equal the
//! published figures. Rates are compared at the published precision: the DfE writes 15
//! significant digits, so ours are rounded to 15 significant digits and must be equal.
//!
//! The one known difference (docs/domain.md, Measures): `authorised_absence` can exceed the sum of its
//! code columns, an unpublished authorised remainder. The test computes it per row, requires it
//! to be non-negative and to occur only in the rows listed in [`KNOWN_REMAINDERS`] with exactly
//! those values, and adds it as its own term to authorised, overall absence and possible
//! sessions. `pa_perc` (persistent absence among enrolments) needs per-enrolment counts and
//! cannot be derived from a row's totals; the flag itself is tested in `measures`.

use std::collections::BTreeSet;

use rollcall_domain::codes::{self, AttendanceCode};
use rollcall_domain::ees::REASON_RATES;
use rollcall_domain::measures::{Counters, Rate};
use rollcall_domain::table::{Row, Table};
use rollcall_domain::{AcademicYear, Category};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/dfe-ees-ytd-2025-26-sample.csv"
);

/// Rows whose authorised absence exceeds its code columns: (level, old LA code, phase, remainder).
const KNOWN_REMAINDERS: &[(&str, &str, &str, u64)] = &[
    ("National", "", "Primary", 10),
    ("National", "", "Secondary", 96),
    ("National", "", "Total", 106),
];

struct Sample<'a> {
    table: &'a Table,
    row: &'a Row,
}

impl Sample<'_> {
    fn text(&self, column: &str) -> &str {
        let i = self
            .table
            .column(column)
            .unwrap_or_else(|| panic!("sample has no column {column}"));
        &self.row.fields[i]
    }

    /// A session count. Suppressed (`c`) or unavailable (`x`) cells cannot be checked: say so.
    fn count(&self, column: &str) -> u64 {
        let v = self.text(column);
        assert!(
            v != "c" && v != "x",
            "line {}: {column} is suppressed or unavailable ({v})",
            self.row.line
        );
        v.parse()
            .unwrap_or_else(|_| panic!("line {}: {column} is not a whole number", self.row.line))
    }

    /// A published percentage, as written.
    fn percent(&self, column: &str) -> f64 {
        let v = self.text(column);
        v.parse()
            .unwrap_or_else(|_| panic!("line {}: {column} is not a number", self.row.line))
    }

    fn name(&self) -> String {
        format!(
            "line {} {} {} {}",
            self.row.line,
            self.text("geographic_level"),
            self.text("la_name"),
            self.text("education_phase")
        )
    }
}

/// `x` rounded to 15 significant digits, as the DfE's file writes it.
fn published(x: f64) -> f64 {
    format!("{x:.14e}").parse().unwrap()
}

/// The code a DfE reason column is counted for: the first code naming it (H for the H/F column).
fn code_for_column(column: &str) -> &'static AttendanceCode {
    codes::by_ees_column(column)
        .next()
        .unwrap_or_else(|| panic!("no code counts in {column}"))
}

#[test]
fn dfe_figures_are_reproduced_from_the_code_columns() {
    let text = std::fs::read_to_string(SAMPLE).expect("read the DfE sample");
    let table = Table::parse(&text).expect("the DfE sample is a well-formed table");
    assert_eq!(
        table.rows().len(),
        12,
        "national, Tower Hamlets and Walsall by four phases"
    );

    // Every reason column but the AM+PM total belongs to a code, and every code's column is here.
    let reason_columns: BTreeSet<&str> = table
        .header()
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with("reason_") && *c != "reason_present")
        .collect();
    let code_columns: BTreeSet<&str> = codes::all().iter().filter_map(|c| c.ees_column()).collect();
    assert_eq!(reason_columns, code_columns);

    let mut remainders = Vec::new();
    for row in table.rows() {
        let s = Sample { table: &table, row };
        let name = s.name();
        assert_eq!(s.text("time_period"), AcademicYear::new(2025).time_period());

        let mut counters = Counters::default();
        for column in &reason_columns {
            counters.add(code_for_column(column), s.count(column));
        }

        // Identities of the file itself.
        assert_eq!(
            s.count("reason_present"),
            s.count("reason_present_am") + s.count("reason_present_pm"),
            "{name}"
        );

        // Derived from the code columns alone.
        assert_eq!(
            counters.present(),
            s.count("present_sessions"),
            "{name}: present_sessions"
        );
        assert_eq!(
            counters.aea(),
            s.count("approved_educational_activity"),
            "{name}: aea"
        );
        assert_eq!(
            counters.attendance(),
            s.count("overall_attendance"),
            "{name}: overall_attendance"
        );
        assert_eq!(
            counters.unauthorised(),
            s.count("unauthorised_absence"),
            "{name}: unauthorised_absence"
        );
        assert_eq!(
            counters.late(),
            s.count("late_sessions"),
            "{name}: late_sessions"
        );
        assert_eq!(
            counters.category(Category::NotPossible),
            0,
            "not-possible codes have no column"
        );

        // The authorised remainder, its own term.
        let authorised = s.count("authorised_absence");
        let remainder = authorised
            .checked_sub(counters.authorised())
            .unwrap_or_else(|| panic!("{name}: authorised code columns exceed authorised_absence"));
        if remainder > 0 {
            remainders.push((
                s.text("geographic_level").to_owned(),
                s.text("old_la_code").to_owned(),
                s.text("education_phase").to_owned(),
                remainder,
            ));
        }
        assert_eq!(
            counters.authorised() + remainder,
            authorised,
            "{name}: authorised_absence"
        );
        let overall_absence = counters.overall_absence() + remainder;
        let possible = counters.possible() + remainder;
        assert_eq!(
            overall_absence,
            s.count("overall_absence"),
            "{name}: overall_absence"
        );
        assert_eq!(
            possible,
            s.count("possible_sessions"),
            "{name}: possible_sessions"
        );
        if remainder == 0 {
            assert_eq!(counters.overall_absence(), s.count("overall_absence"));
            assert_eq!(counters.possible(), s.count("possible_sessions"));
        }

        // Rates: the domain's rates with the remainder added to its terms, at the published precision.
        let with_remainder = |r: Rate, extra: u64| Rate {
            numerator: r.numerator + extra,
            denominator: r.denominator + remainder,
        };
        let rates = [
            (
                "attendance_perc",
                with_remainder(counters.attendance_rate().unwrap(), 0),
            ),
            (
                "overall_absence_perc",
                with_remainder(counters.overall_absence_rate().unwrap(), remainder),
            ),
            (
                "authorised_absence_perc",
                with_remainder(counters.authorised_rate().unwrap(), remainder),
            ),
            (
                "unauthorised_absence_perc",
                with_remainder(counters.unauthorised_rate().unwrap(), 0),
            ),
        ];
        for (column, rate) in rates {
            assert_eq!(
                published(rate.percent()),
                s.percent(column),
                "{name}: {column}"
            );
        }
        for &(column, code) in REASON_RATES {
            let rate = with_remainder(counters.code_rate(codes::get(code).unwrap()).unwrap(), 0);
            assert_eq!(
                published(rate.percent()),
                s.percent(column),
                "{name}: {column}"
            );
        }
        // Every rate column of the file is checked above except pa_perc (per-enrolment data).
        let checked: BTreeSet<&str> = rates
            .iter()
            .map(|r| r.0)
            .chain(REASON_RATES.iter().map(|r| r.0))
            .chain(["pa_perc"])
            .collect();
        let rate_columns: BTreeSet<&str> = table
            .header()
            .iter()
            .map(String::as_str)
            .filter(|c| c.ends_with("_perc"))
            .collect();
        assert_eq!(checked, rate_columns);
    }
    let known: Vec<(String, String, String, u64)> = KNOWN_REMAINDERS
        .iter()
        .map(|&(l, la, p, r)| (l.to_owned(), la.to_owned(), p.to_owned(), r))
        .collect();
    assert_eq!(
        remainders, known,
        "the authorised remainder occurs only in the known rows"
    );
}

#[test]
fn published_rounding() {
    assert_eq!(published(0.350_375_545_889_617_45), 0.350375545889617);
    assert_eq!(published(1.675_404_106_013_696_2), 1.6754041060137);
    assert_eq!(published(0.0), 0.0);
    assert_eq!(published(1.557_570_775_237_238e-5), 1.55757077523724e-05);
}

/// The `ees-ytd` export's columns, one a line, so that a change to the layout is a reviewed diff
/// (`cargo insta review`) rather than a silent one; the test above checks them against the DfE's
/// own file.
#[test]
fn the_ees_columns_are_the_reviewed_ones() {
    insta::assert_snapshot!(rollcall_domain::ees::columns().join("\n"));
}
