//! National attendance codes, their statistical categories, and which code set is in force on a date.
//!
//! The table is `data/attendance-codes.csv`, compiled in and parsed once. A mark is mapped by the
//! code set in force on the session's date (the set changed on 19 August 2024):
//!
//! - a code used before its `valid_from` date is an error ([`CodeError::NotYetValid`]);
//! - a code used after its `valid_to` date (a retired code) is accepted in its old category, and
//!   [`CodeLookup::retired`] is set so the caller can warn the sender;
//! - a string that is not a national code (`!`, `7`, `PR`) is an error ([`CodeError::Unknown`]).
//!
//! Case and spaces: [`lookup`] and [`find`] trim surrounding whitespace and upper-case ASCII
//! letters before matching, so ` c1 ` is `C1` and `l` is `L`. Nothing else is folded: `C 1`,
//! `C01` and full-width characters are unknown. No national code differs from another only by
//! case, so folding cannot change which code a mark means. [`get`] is exact: it takes the canonical
//! form as stored by Rollcall itself.

use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::table::{Table, leak};

/// Statistical category of a code, as in the DfE's attendance statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Present,
    /// Approved educational activity off site.
    Aea,
    Authorised,
    Unauthorised,
    /// Not a possible session (not counted at all in the rates).
    NotPossible,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Present,
        Category::Aea,
        Category::Authorised,
        Category::Unauthorised,
        Category::NotPossible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Present => "present",
            Category::Aea => "aea",
            Category::Authorised => "authorised",
            Category::Unauthorised => "unauthorised",
            Category::NotPossible => "not_possible",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether a session in this category counts towards possible sessions.
    pub fn counts_as_possible(self) -> bool {
        self != Category::NotPossible
    }

    /// Whether a session in this category is an absence (authorised or unauthorised).
    pub fn is_absence(self) -> bool {
        matches!(self, Category::Authorised | Category::Unauthorised)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One national attendance code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttendanceCode {
    code: &'static str,
    meaning: &'static str,
    category: Category,
    counts_as_possible: bool,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
    ees_column: Option<&'static str>,
    index: usize,
}

impl AttendanceCode {
    /// Canonical form, e.g. `/`, `C1`, `#`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn meaning(&self) -> &'static str {
        self.meaning
    }

    pub fn category(&self) -> Category {
        self.category
    }

    pub fn counts_as_possible(&self) -> bool {
        self.counts_as_possible
    }

    /// First date the code may be used, if it has one.
    pub fn valid_from(&self) -> Option<NaiveDate> {
        self.valid_from
    }

    /// Last date the code was in force, if it was retired.
    pub fn valid_to(&self) -> Option<NaiveDate> {
        self.valid_to
    }

    /// The `reason_...` column of the DfE statistics file the code is counted in (F and H share one).
    pub fn ees_column(&self) -> Option<&'static str> {
        self.ees_column
    }

    /// Position in [`all`], stable for a build (use it to index per-code arrays, not to store).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether the code has not yet been introduced on `date`.
    pub fn is_before_introduction(&self, date: NaiveDate) -> bool {
        self.valid_from.is_some_and(|from| date < from)
    }

    /// Whether the code has been retired by `date`.
    pub fn is_retired_on(&self, date: NaiveDate) -> bool {
        self.valid_to.is_some_and(|to| date > to)
    }

    /// Whether the code is part of the code set in force on `date`.
    pub fn is_in_force_on(&self, date: NaiveDate) -> bool {
        !self.is_before_introduction(date) && !self.is_retired_on(date)
    }
}

impl std::fmt::Display for AttendanceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

/// Upper bound on the number of codes, so per-code counters can be fixed-size arrays.
pub(crate) const MAX_CODES: usize = 48;

static CODES: LazyLock<Vec<AttendanceCode>> = LazyLock::new(|| {
    parse_codes(include_str!("../data/attendance-codes.csv"))
        .unwrap_or_else(|e| panic!("embedded attendance-codes.csv: {e}"))
});

/// Every national code, current and retired, in the order of the table.
pub fn all() -> &'static [AttendanceCode] {
    &CODES
}

/// The code with exactly this canonical form, whatever the date (for reading stored marks back).
pub fn get(code: &str) -> Option<&'static AttendanceCode> {
    all().iter().find(|c| c.code == code)
}

/// Codes counted in a DfE `reason_...` column (two for `reason_h_authorised_holiday`: H and F).
pub fn by_ees_column(column: &str) -> impl Iterator<Item = &'static AttendanceCode> + '_ {
    all().iter().filter(move |c| c.ees_column == Some(column))
}

/// Codes in a category, in table order.
pub fn in_category(category: Category) -> impl Iterator<Item = &'static AttendanceCode> {
    all().iter().filter(move |c| c.category == category)
}

/// Result of mapping a mark's code on its date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeLookup {
    pub code: &'static AttendanceCode,
    /// The code had been retired by the session's date: accepted in its old category, warn the sender.
    pub retired: bool,
}

/// Why a code string could not be mapped. Messages never repeat the raw value sent.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    #[error("attendance code is empty")]
    Empty,
    #[error("not a national attendance code")]
    Unknown,
    #[error("attendance code {code} is not valid before {valid_from}")]
    NotYetValid {
        code: &'static str,
        valid_from: NaiveDate,
    },
}

/// Maps a raw code (trimmed, ASCII letters upper-cased) to a national code, ignoring dates.
pub fn find(raw: &str) -> Result<&'static AttendanceCode, CodeError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(CodeError::Empty);
    }
    // Codes are at most two characters: anything longer is unknown without allocating.
    if trimmed.len() > 2 {
        return Err(CodeError::Unknown);
    }
    let mut buf = [0u8; 2];
    let bytes = trimmed.as_bytes();
    buf[..bytes.len()].copy_from_slice(bytes);
    buf.make_ascii_uppercase();
    let upper = std::str::from_utf8(&buf[..bytes.len()]).map_err(|_| CodeError::Unknown)?;
    get(upper).ok_or(CodeError::Unknown)
}

/// Maps a raw code on the session's `date` by the code set in force on that date.
pub fn lookup(raw: &str, date: NaiveDate) -> Result<CodeLookup, CodeError> {
    let code = find(raw)?;
    if let Some(valid_from) = code.valid_from
        && date < valid_from
    {
        return Err(CodeError::NotYetValid {
            code: code.code,
            valid_from,
        });
    }
    Ok(CodeLookup {
        code,
        retired: code.is_retired_on(date),
    })
}

/// Parses and checks the code table. Every malformed row is an error naming its line.
pub(crate) fn parse_codes(text: &str) -> Result<Vec<AttendanceCode>, String> {
    let table = Table::parse(text).map_err(|e| e.to_string())?;
    let col = |name| table.require(name).map_err(|e| e.to_string());
    let (c_code, c_meaning, c_category, c_possible, c_from, c_to, c_ees) = (
        col("code")?,
        col("meaning")?,
        col("category")?,
        col("counts_as_possible")?,
        col("valid_from")?,
        col("valid_to")?,
        col("ees_column")?,
    );
    let date = |s: &str, line: usize| -> Result<Option<NaiveDate>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("line {line}: date is not YYYY-MM-DD"))
    };
    let mut codes: Vec<AttendanceCode> = Vec::new();
    for row in table.rows() {
        let f = &row.fields;
        let line = row.line;
        let code = f[c_code].as_str();
        let valid_code = matches!(code.len(), 1 | 2)
            && code
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b.is_ascii_lowercase());
        if !valid_code {
            return Err(format!(
                "line {line}: code must be one or two upper-case characters"
            ));
        }
        if codes.iter().any(|c| c.code == code) {
            return Err(format!("line {line}: duplicate code {code}"));
        }
        if f[c_meaning].trim().is_empty() {
            return Err(format!("line {line}: empty meaning"));
        }
        let category = Category::parse(&f[c_category])
            .ok_or_else(|| format!("line {line}: unknown category"))?;
        let counts_as_possible = match f[c_possible].as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(format!(
                    "line {line}: counts_as_possible must be true or false"
                ));
            }
        };
        if counts_as_possible != category.counts_as_possible() {
            return Err(format!(
                "line {line}: counts_as_possible disagrees with the category"
            ));
        }
        let valid_from = date(&f[c_from], line)?;
        let valid_to = date(&f[c_to], line)?;
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && from > to
        {
            return Err(format!("line {line}: valid_from after valid_to"));
        }
        let ees = f[c_ees].as_str();
        if counts_as_possible == ees.is_empty() {
            return Err(format!(
                "line {line}: possible codes need an ees_column, others none"
            ));
        }
        let column_name = |c: &str| {
            c.starts_with("reason_")
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !ees.is_empty() && !column_name(ees) {
            return Err(format!(
                "line {line}: ees_column must be a reason_ column name"
            ));
        }
        if codes.len() == MAX_CODES {
            return Err(format!(
                "line {line}: more than {MAX_CODES} codes, raise MAX_CODES"
            ));
        }
        codes.push(AttendanceCode {
            code: leak(code),
            meaning: leak(&f[c_meaning]),
            category,
            counts_as_possible,
            valid_from,
            valid_to,
            ees_column: (!ees.is_empty()).then(|| leak(ees)),
            index: codes.len(),
        });
    }
    // Codes sharing a DfE column must share a category, or the column could not be counted.
    for c in &codes {
        if let Some(other) = codes.iter().find(|o| {
            o.ees_column.is_some() && o.ees_column == c.ees_column && o.category != c.category
        }) {
            return Err(format!(
                "codes {} and {} share a column but not a category",
                c.code, other.code
            ));
        }
    }
    if codes.is_empty() {
        return Err("no codes".into());
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "code,meaning,category,counts_as_possible,valid_from,valid_to,ees_column\n";

    #[test]
    fn embedded_table_loads() {
        let codes = parse_codes(include_str!("../data/attendance-codes.csv")).unwrap();
        assert_eq!(codes.len(), 38);
        assert_eq!(all().len(), 38);
        for (i, c) in all().iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(get(c.code()), Some(c));
        }
    }

    #[test]
    fn every_malformed_row_fails() {
        let good =
            "K,Attending LA education,aea,true,2024-08-19,,reason_k_aea_education_arranged_by_la\n";
        assert!(parse_codes(&format!("{HEADER}{good}")).is_ok());
        for bad in [
            ",Empty code,present,true,,,reason_x\n",
            "ABC,Too long,present,true,,,reason_x\n",
            "k,Lower case,aea,true,,,reason_k\n",
            "K,,aea,true,,,reason_k\n",
            "K,Meaning,approved,true,,,reason_k\n",
            "K,Meaning,aea,yes,,,reason_k\n",
            "K,Meaning,aea,false,,,reason_k\n",
            "X,Meaning,not_possible,false,,,reason_x\n",
            "K,Meaning,aea,true,,,\n",
            "K,Meaning,aea,true,19/08/2024,,reason_k\n",
            "K,Meaning,aea,true,2024-02-30,,reason_k\n",
            "K,Meaning,aea,true,2024-08-19,2024-08-18,reason_k\n",
            "K,Meaning,aea,true,,,k_column\n",
            "K,Meaning,aea,true,,,reason_K\n",
            "K,Meaning,aea,true,,reason_k\n",
            "K,Meaning, with comma,aea,true,,,reason_k\n",
        ] {
            assert!(parse_codes(&format!("{HEADER}{bad}")).is_err(), "{bad}");
        }
        assert!(
            parse_codes(&format!("{HEADER}{good}{good}")).is_err(),
            "duplicate"
        );
        let shared = "H,Holiday,authorised,true,,,reason_h\nJ,Interview,aea,true,,,reason_h\n";
        assert!(
            parse_codes(&format!("{HEADER}{shared}")).is_err(),
            "shared column, two categories"
        );
        assert!(parse_codes(HEADER).is_err(), "no codes");
        let many: String = (0..=MAX_CODES)
            .map(|i| format!("{i},Code,present,true,,,reason_p\n"))
            .collect();
        assert!(
            parse_codes(&format!("{HEADER}{many}")).is_err(),
            "too many codes"
        );
    }
}
