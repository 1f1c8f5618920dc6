//! The DfE's published year-to-date attendance layout ("EES" files): its columns, its scope and
//! method, and how each cell is written.
//!
//! The columns are not retyped here: they are the header of the DfE's own 2025/26 file, embedded
//! from `data/`, and every column is computed by name in [`EesRow::cells`]. A column this module
//! does not know is a test failure, not a silent blank.
//!
//! Scope (docs/domain.md, Measures): enrolments of compulsory school age in state-funded primary,
//! secondary and special schools; independent schools, nurseries and alternative provision are
//! left out. The method: session counts per code, each reason column the sum of the codes that
//! feed it, rates over possible sessions, persistent absence among enrolments with a possible
//! session, and `num_schools` and `enrolments` as averages over the school days of the period.

use std::fmt;
use std::sync::OnceLock;

use crate::codes::{self, Category};
use crate::measures::{Counters, PERSISTENT_ABSENCE_PERCENT, Rate};
use crate::table::Table;
use crate::{AcademicYear, LaCode};

/// The DfE's published 2025/26 year-to-date file: header and a few rows (CRLF line endings).
pub const DFE_SAMPLE: &str = include_str!("../data/dfe-ees-ytd-2025-26-sample.csv");

/// The line ending of the DfE's files, which the exports keep.
pub const LINE_END: &str = "\r\n";

/// The DfE's header line, byte for byte, without its line ending.
pub fn header_line() -> &'static str {
    DFE_SAMPLE
        .split(LINE_END)
        .next()
        .expect("the sample has a header line")
}

/// The column names in the DfE's order.
pub fn columns() -> &'static [String] {
    static COLUMNS: OnceLock<Vec<String>> = OnceLock::new();
    COLUMNS.get_or_init(|| {
        Table::parse(DFE_SAMPLE)
            .expect("the embedded DfE sample is a well-formed table")
            .header()
            .to_vec()
    })
}

/// What a column holds, for outputs that type their cells (spreadsheets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    /// Session, enrolment and school counts.
    Count,
    /// Averages and percentages.
    Decimal,
}

/// The kind of a column of the layout.
pub fn column_kind(column: &str) -> ColumnKind {
    const TEXT: &[&str] = &[
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
        "region_code",
        "region_name",
        "new_la_code",
        "la_name",
        "old_la_code",
        "education_phase",
    ];
    if TEXT.contains(&column) {
        ColumnKind::Text
    } else if column == "num_schools" || column == "enrolments" || column.ends_with("_perc") {
        ColumnKind::Decimal
    } else {
        ColumnKind::Count
    }
}

/// The DfE's symbol for a suppressed cell.
pub const SUPPRESSED: &str = "c";
/// The DfE's symbol for a figure that is not available (a rate over no sessions).
pub const UNAVAILABLE: &str = "x";

/// An `education_phase` of the DfE's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Primary,
    Secondary,
    Special,
    /// Every phase together.
    Total,
}

impl Phase {
    /// The three phases a school can be in, in the DfE's order.
    pub const SCHOOL_PHASES: [Phase; 3] = [Phase::Primary, Phase::Secondary, Phase::Special];
    /// The rows of a geography, in the DfE's order.
    pub const ALL: [Phase; 4] = [
        Phase::Primary,
        Phase::Secondary,
        Phase::Special,
        Phase::Total,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Primary => "Primary",
            Phase::Secondary => "Secondary",
            Phase::Special => "Special",
            Phase::Total => "Total",
        }
    }

    /// The DfE phase of a school in the registry (`schools.phase`), or `None` when the school is
    /// outside the DfE's statistics: independent, nursery, alternative provision. All-through
    /// schools are counted with secondary schools, as the DfE's school-level phases do.
    pub fn of_school(phase: &str, independent: bool) -> Option<Phase> {
        if independent {
            return None;
        }
        match phase {
            "primary" => Some(Phase::Primary),
            "secondary" | "all-through" => Some(Phase::Secondary),
            "special" => Some(Phase::Special),
            _ => None,
        }
    }

    /// Index into per-phase arrays of the three school phases.
    pub fn index(self) -> usize {
        match self {
            Phase::Primary => 0,
            Phase::Secondary => 1,
            Phase::Special => 2,
            Phase::Total => 3,
        }
    }
}

/// The geography of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Geography {
    National,
    /// An English region, by its ONS code (`E12000005`).
    Regional(&'static str),
    LocalAuthority(LaCode),
}

impl Geography {
    /// The region of an LA as a geography, when the LA is current and has one.
    pub fn region_of(la: LaCode) -> Option<Geography> {
        la.region_code().map(Geography::Regional)
    }

    fn level(self) -> &'static str {
        match self {
            Geography::National => "National",
            Geography::Regional(_) => "Regional",
            Geography::LocalAuthority(_) => "Local authority",
        }
    }

    fn region(self) -> (&'static str, &'static str) {
        match self {
            Geography::National => ("", ""),
            Geography::Regional(code) => (code, region_name(code)),
            Geography::LocalAuthority(la) => (
                la.region_code().unwrap_or(""),
                la.region_name().unwrap_or(""),
            ),
        }
    }
}

/// The name of a region from the LA table (every region there has at least one LA).
fn region_name(code: &str) -> &'static str {
    crate::identifiers::current_la_codes()
        .find(|la| la.region_code() == Some(code))
        .and_then(LaCode::region_name)
        .unwrap_or("")
}

/// What one row counts: every field is a sum over enrolments or schools, so rows of LAs add up
/// to regional and national rows, and phase rows to the total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EesTally {
    /// Sessions per code over every enrolment in scope, while on roll.
    pub counters: Counters,
    /// Enrolments with at least one possible session (`total_enrolments`).
    pub enrolments: u64,
    /// Of those, enrolments absent for 10% or more of their own possible sessions.
    pub persistent: u64,
    /// Schools with at least one such enrolment (`total_num_schools`).
    pub schools: u64,
    /// Over the school days of the period: schools with a mark that day, summed.
    pub school_days: u64,
    /// Over the school days of the period: enrolments with a mark that day, summed.
    pub enrolment_days: u64,
}

impl EesTally {
    /// Adds one enrolment's sessions over the period.
    pub fn add_enrolment(&mut self, counters: &Counters) {
        self.counters += counters;
        if let Some(rate) = counters.overall_absence_rate() {
            self.enrolments += 1;
            if rate.at_least_percent(PERSISTENT_ABSENCE_PERCENT) {
                self.persistent += 1;
            }
        }
    }

    pub fn add(&mut self, other: &EesTally) {
        self.counters += &other.counters;
        self.enrolments += other.enrolments;
        self.persistent += other.persistent;
        self.schools += other.schools;
        self.school_days += other.school_days;
        self.enrolment_days += other.enrolment_days;
    }
}

/// When a row's figures are too small to publish: the DfE's `c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// Rows counting from 1 to this many enrolments less one are suppressed.
    pub below_enrolments: u64,
}

impl Default for Suppression {
    /// Ten enrolments: a row of fewer pupils would let a reader work out one pupil's absence.
    fn default() -> Self {
        Suppression {
            below_enrolments: 10,
        }
    }
}

impl Suppression {
    fn hides(self, tally: &EesTally) -> bool {
        tally.enrolments > 0 && tally.enrolments < self.below_enrolments
    }

    /// Which of a geography's four phase rows to suppress. A row below the threshold is
    /// suppressed; and when that leaves exactly one hidden row among the others, the total
    /// would give it away by subtraction, so the smallest other non-empty phase is hidden too
    /// (or the total, when there is none).
    pub fn rows_to_hide(self, tallies: &[EesTally; 4]) -> [bool; 4] {
        let mut hide = [false; 4];
        for phase in Phase::ALL {
            hide[phase.index()] = self.hides(&tallies[phase.index()]);
        }
        let hidden: Vec<Phase> = Phase::SCHOOL_PHASES
            .into_iter()
            .filter(|p| hide[p.index()])
            .collect();
        if hidden.len() == 1 && !hide[Phase::Total.index()] {
            let next = Phase::SCHOOL_PHASES
                .into_iter()
                .filter(|p| !hide[p.index()] && tallies[p.index()].enrolments > 0)
                .min_by_key(|p| tallies[p.index()].enrolments);
            hide[next.unwrap_or(Phase::Total).index()] = true;
        }
        hide
    }
}

/// One cell of an export row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Count(u64),
    Decimal(f64),
    /// Suppressed: `c`.
    Suppressed,
    /// Not available: `x`.
    Unavailable,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Text(s) => f.write_str(s),
            Cell::Count(n) => write!(f, "{n}"),
            Cell::Decimal(x) => f.write_str(&published_decimal(*x)),
            Cell::Suppressed => f.write_str(SUPPRESSED),
            Cell::Unavailable => f.write_str(UNAVAILABLE),
        }
    }
}

/// A number as the DfE's files write it: 15 significant digits, trailing zeros dropped, in
/// fixed notation unless scientific notation is shorter (`1.55757077523724e-05`).
pub fn published_decimal(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 {
            "0".to_owned()
        } else {
            x.to_string()
        };
    }
    // Rounding to 15 significant digits first fixes the exponent (9.9999...e1 becomes 1e2).
    let scientific = format!("{x:.14e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("exponent notation has an e");
    let exponent: i32 = exponent.parse().expect("the exponent is an integer");
    let mantissa = trim_zeros(mantissa);
    let scientific = format!(
        "{mantissa}e{}{:02}",
        if exponent < 0 { '-' } else { '+' },
        exponent.abs()
    );
    let decimals = (14 - exponent).max(0) as usize;
    let fixed = trim_zeros(&format!("{x:.decimals$}")).to_owned();
    if fixed.len() <= scientific.len() {
        fixed
    } else {
        scientific
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The per-reason rate columns and the code each is the rate of. The DfE's file has no rate
/// column for the retired H and J, nor for approved educational activity by reason.
pub const REASON_RATES: &[(&str, &str)] = &[
    ("illness_perc", "I"),
    ("appointments_perc", "M"),
    ("unauth_hol_perc", "G"),
    ("unauth_oth_perc", "O"),
    ("unauth_late_registers_closed_perc", "U"),
    ("unauth_not_yet_perc", "N"),
    ("auth_religious_perc", "R"),
    ("auth_study_perc", "S"),
    ("auth_mob_perc", "T"),
    ("auth_excluded_perc", "E"),
    ("auth_performance_perc", "C1"),
    ("auth_interview_perc", "J1"),
    ("auth_part_time_perc", "C2"),
    ("auth_other_perc", "C"),
];

/// One row of the year-to-date file.
#[derive(Clone, Debug)]
pub struct EesRow {
    pub year: AcademicYear,
    pub geography: Geography,
    pub phase: Phase,
    pub tally: EesTally,
    /// School days in the period (the denominator of the two averages), the same for every
    /// row of a file.
    pub school_days: u64,
    /// Whether the row's figures are suppressed.
    pub suppressed: bool,
}

impl EesRow {
    /// The row's cells in the order of [`columns`].
    pub fn cells(&self) -> Vec<Cell> {
        columns().iter().map(|c| self.cell(c)).collect()
    }

    /// One cell by column name. Panics on a column the layout does not have: the column list
    /// is embedded, so that is a bug caught by the tests.
    pub fn cell(&self, column: &str) -> Cell {
        let text = |s: &str| Cell::Text(s.to_owned());
        let (region_code, region_name) = self.geography.region();
        let la = match self.geography {
            Geography::LocalAuthority(la) => Some(la),
            _ => None,
        };
        match column {
            "time_period" => return Cell::Text(self.year.time_period()),
            "time_identifier" => return text("Academic year"),
            "geographic_level" => return text(self.geography.level()),
            "country_code" => return text("E92000001"),
            "country_name" => return text("England"),
            "region_code" => return text(region_code),
            "region_name" => return text(region_name),
            "new_la_code" => return text(la.and_then(LaCode::ons_code).unwrap_or("")),
            "la_name" => return text(la.map(LaCode::name).unwrap_or("")),
            "old_la_code" => return Cell::Text(la.map(|l| l.to_string()).unwrap_or_default()),
            "education_phase" => return text(self.phase.label()),
            "total_num_schools" => return Cell::Count(self.tally.schools),
            _ => {}
        }
        if self.suppressed {
            return Cell::Suppressed;
        }
        let c = &self.tally.counters;
        let possible = c.possible();
        let rate = |numerator: u64| {
            if possible == 0 {
                Cell::Unavailable
            } else {
                Cell::Decimal(
                    Rate {
                        numerator,
                        denominator: possible,
                    }
                    .percent(),
                )
            }
        };
        let average = |sum: u64| {
            if self.school_days == 0 {
                Cell::Unavailable
            } else {
                Cell::Decimal(sum as f64 / self.school_days as f64)
            }
        };
        let code = |code: &str| c.count(codes::get(code).expect("a national code"));
        match column {
            "num_schools" => average(self.tally.school_days),
            "enrolments" => average(self.tally.enrolment_days),
            "present_sessions" => Cell::Count(c.present()),
            "overall_attendance" => Cell::Count(c.attendance()),
            "approved_educational_activity" => Cell::Count(c.aea()),
            "overall_absence" => Cell::Count(c.overall_absence()),
            "authorised_absence" => Cell::Count(c.authorised()),
            "unauthorised_absence" => Cell::Count(c.unauthorised()),
            "late_sessions" => Cell::Count(c.late()),
            "possible_sessions" => Cell::Count(possible),
            "reason_present" => Cell::Count(c.category(Category::Present) - code("L")),
            "total_enrolments" => Cell::Count(self.tally.enrolments),
            "attendance_perc" => rate(c.attendance()),
            "overall_absence_perc" => rate(c.overall_absence()),
            "authorised_absence_perc" => rate(c.authorised()),
            "unauthorised_absence_perc" => rate(c.unauthorised()),
            "pa_perc" => {
                if self.tally.enrolments == 0 {
                    Cell::Unavailable
                } else {
                    Cell::Decimal(
                        Rate {
                            numerator: self.tally.persistent,
                            denominator: self.tally.enrolments,
                        }
                        .percent(),
                    )
                }
            }
            reason if reason.starts_with("reason_") => {
                let mut feeding = codes::by_ees_column(reason).peekable();
                assert!(feeding.peek().is_some(), "no code feeds column {reason}");
                Cell::Count(feeding.map(|code| c.count(code)).sum())
            }
            perc => match REASON_RATES.iter().find(|(name, _)| *name == perc) {
                Some((_, reason)) => rate(code(reason)),
                None => panic!("the DfE layout has a column this module does not know: {perc}"),
            },
        }
    }
}

/// The rows of one geography, Primary to Total, with suppression applied across them.
pub fn geography_rows(
    year: AcademicYear,
    geography: Geography,
    phases: &[EesTally; 3],
    school_days: u64,
    suppression: Suppression,
) -> Vec<EesRow> {
    let mut total = EesTally::default();
    for tally in phases {
        total.add(tally);
    }
    let tallies = [
        phases[0].clone(),
        phases[1].clone(),
        phases[2].clone(),
        total,
    ];
    let hide = suppression.rows_to_hide(&tallies);
    Phase::ALL
        .into_iter()
        .map(|phase| EesRow {
            year,
            geography,
            phase,
            tally: tallies[phase.index()].clone(),
            school_days,
            suppressed: hide[phase.index()],
        })
        .collect()
}

/// A CSV line as the DfE writes it: every field in double quotes, CRLF at the end.
pub fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer
        .write_record(fields)
        .expect("writing to memory cannot fail");
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the fields were text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_the_dfe_writes_them() {
        for (x, written) in [
            (64.548_913_043_478_3, "64.5489130434783"),
            (17_808.125, "17808.125"),
            (1.557_570_775_237_24e-5, "1.55757077523724e-05"),
            (0.001_230_480_912_437_42, "0.00123048091243742"),
            (110.043_478_260_87, "110.04347826087"),
            (94.076_636_220_311_5, "94.0766362203115"),
            (0.0, "0"),
            (50.0, "50"),
            (100.0, "100"),
        ] {
            assert_eq!(published_decimal(x), written, "{x}");
        }
    }

    #[test]
    fn a_line_quotes_every_field_and_doubles_quotes() {
        assert_eq!(
            csv_line(["a", "say \"hi\"", "", "x,y"]),
            "\"a\",\"say \"\"hi\"\"\",\"\",\"x,y\"\r\n"
        );
    }

    #[test]
    fn the_header_is_the_dfe_header() {
        assert!(header_line().starts_with("\"time_period\",\"geographic_level\""));
        assert!(header_line().ends_with("\"pa_perc\",\"time_identifier\""));
        let rebuilt = csv_line(columns().iter().map(String::as_str));
        assert_eq!(rebuilt, format!("{}{LINE_END}", header_line()));
    }

    #[test]
    fn every_column_has_a_value() {
        let row = EesRow {
            year: AcademicYear::new(2025),
            geography: Geography::National,
            phase: Phase::Total,
            tally: EesTally::default(),
            school_days: 0,
            suppressed: false,
        };
        assert_eq!(row.cells().len(), columns().len());
    }

    #[test]
    fn column_kinds_match_the_cells() {
        let mut counters = Counters::default();
        counters.add(codes::get("/").unwrap(), 3);
        counters.add(codes::get("I").unwrap(), 1);
        let row = EesRow {
            year: AcademicYear::new(2025),
            geography: Geography::LocalAuthority(LaCode::new(937).unwrap()),
            phase: Phase::Primary,
            tally: EesTally {
                counters,
                enrolments: 1,
                persistent: 1,
                schools: 1,
                school_days: 2,
                enrolment_days: 2,
            },
            school_days: 2,
            suppressed: false,
        };
        for (column, cell) in columns().iter().zip(row.cells()) {
            let kind = match cell {
                Cell::Text(_) => ColumnKind::Text,
                Cell::Count(_) => ColumnKind::Count,
                Cell::Decimal(_) => ColumnKind::Decimal,
                other => panic!("{column}: {other:?}"),
            };
            assert_eq!(column_kind(column), kind, "{column}");
        }
    }

    /// The DfE's local authority rows (the national ones carry an unpublished remainder),
    /// rebuilt from their code columns: every count and rate cell is written exactly as the DfE
    /// wrote it.
    #[test]
    fn the_dfe_rows_are_written_back_byte_for_byte() {
        let table = Table::parse(DFE_SAMPLE).unwrap();
        let mut checked = 0;
        for row in table.rows() {
            let field = |c: &str| row.fields[table.column(c).unwrap()].as_str();
            if field("geographic_level") != "Local authority" {
                continue;
            }
            let mut counters = Counters::default();
            for column in columns().iter().filter(|c| c.starts_with("reason_")) {
                if let Some(code) = codes::by_ees_column(column).next() {
                    counters.add(code, field(column).parse().unwrap());
                }
            }
            let ours = EesRow {
                year: AcademicYear::new(2025),
                geography: Geography::LocalAuthority(LaCode::parse(field("old_la_code")).unwrap()),
                phase: Phase::ALL
                    .into_iter()
                    .find(|p| p.label() == field("education_phase"))
                    .unwrap(),
                tally: EesTally {
                    counters,
                    enrolments: field("total_enrolments").parse().unwrap(),
                    schools: field("total_num_schools").parse().unwrap(),
                    ..EesTally::default()
                },
                school_days: 1,
                suppressed: false,
            };
            for (column, cell) in columns().iter().zip(ours.cells()) {
                if ["num_schools", "enrolments", "pa_perc"].contains(&column.as_str()) {
                    continue;
                }
                assert_eq!(
                    cell.to_string(),
                    field(column),
                    "line {} {column}",
                    row.line
                );
            }
            checked += 1;
        }
        assert_eq!(checked, 8, "Tower Hamlets and Walsall, four phases each");
    }

    fn tally(enrolments: u64) -> EesTally {
        EesTally {
            enrolments,
            ..EesTally::default()
        }
    }

    #[test]
    fn a_lone_small_phase_takes_another_with_it() {
        let s = Suppression::default();
        let hide = s.rows_to_hide(&[tally(500), tally(300), tally(4), tally(804)]);
        assert_eq!(hide, [false, true, true, false]);
        let hide = s.rows_to_hide(&[tally(500), tally(0), tally(4), tally(504)]);
        assert_eq!(hide, [true, false, true, false]);
        let hide = s.rows_to_hide(&[tally(0), tally(0), tally(4), tally(4)]);
        assert_eq!(hide, [false, false, true, true]);
        let hide = s.rows_to_hide(&[tally(500), tally(300), tally(40), tally(840)]);
        assert_eq!(hide, [false; 4]);
        // Two hidden phases cannot be told apart from the total.
        let hide = s.rows_to_hide(&[tally(500), tally(3), tally(4), tally(507)]);
        assert_eq!(hide, [false, true, true, false]);
    }

    #[test]
    fn schools_outside_the_dfe_statistics_have_no_phase() {
        assert_eq!(Phase::of_school("primary", false), Some(Phase::Primary));
        assert_eq!(
            Phase::of_school("all-through", false),
            Some(Phase::Secondary)
        );
        assert_eq!(Phase::of_school("primary", true), None);
        assert_eq!(Phase::of_school("nursery", false), None);
        assert_eq!(Phase::of_school("alternative-provision", false), None);
    }
}
