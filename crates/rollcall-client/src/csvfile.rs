//! The CSV files a school submits and the registry is imported from (formats in
//! docs/csv-formats.md). Only the file's shape is checked here (readable, a header with the
//! required columns, every row the header's width); each field's content is sent as text and
//! judged by the pipeline's validation catalogue, which reports every problem with its record and
//! field.

use std::collections::HashMap;
use std::path::Path;

use rollcall_domain::validation::{self, RawMark, RawPupil};
use rollcall_proto::query::v1::School;

use crate::{Error, Result};

pub const SCHOOL_COLUMNS: &[&str] = &[
    "urn",
    "la_code",
    "name",
    "phase",
    "school_type",
    "independent",
];
pub const ROLL_COLUMNS: &[&str] = &validation::ROLL_FIELDS;
/// What an independent school without FSM, SEN or ethnicity data sends.
pub const INDEPENDENT_ROLL_COLUMNS: &[&str] = &[
    "upn",
    "forename",
    "surname",
    "date_of_birth",
    "year_group",
    "admission_date",
    "leaving_date",
];
pub const ROLL_REQUIRED: &[&str] = &[
    "upn",
    "forename",
    "surname",
    "date_of_birth",
    "admission_date",
];
pub const MARK_COLUMNS: &[&str] = &validation::MARK_FIELDS;
pub const MARK_REQUIRED: &[&str] = &["upn", "date", "session", "code"];

/// Rows of a CSV file as column-name to value maps, in file order.
struct Rows {
    columns: HashMap<String, usize>,
    records: Vec<csv::StringRecord>,
}

impl Rows {
    fn read(path: &Path, known: &[&str], required: &[&str]) -> Result<Rows> {
        let bytes = std::fs::read(path).map_err(|err| Error::file("read", path, err))?;
        Rows::parse(&bytes, known, required).map_err(|message| in_file(path, message))
    }

    /// The rows, or what is wrong with the file's shape (by line, never quoting content).
    fn parse(bytes: &[u8], known: &[&str], required: &[&str]) -> Result<Rows, String> {
        let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|err| format!("line 1: {}", short(&err)))?
            .clone();
        let mut columns = HashMap::new();
        for (i, name) in headers.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            // Named by position, never quoted: in a file without its header line, the first
            // line is a pupil's record.
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "line 1: column {} is not a known column; expected some of {}",
                    i + 1,
                    known.join(",")
                ));
            }
            if columns.insert(name.clone(), i).is_some() {
                return Err(format!("line 1: column {name:?} appears twice"));
            }
        }
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(format!("line 1: required column {missing:?} is missing"));
        }
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|err| match err.position() {
                Some(pos) => format!("line {}: {}", pos.line(), short(&err)),
                None => short(&err),
            })?;
            records.push(record);
        }
        Ok(Rows { columns, records })
    }

    fn get<'a>(&self, record: &'a csv::StringRecord, column: &str) -> &'a str {
        self.columns
            .get(column)
            .and_then(|i| record.get(*i))
            .unwrap_or("")
            .trim()
    }
}

/// The csv crate's error without the record's content (which may hold personal data).
fn short(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not valid utf-8".to_owned(),
        _ => "cannot be read as csv".to_owned(),
    }
}

/// A file's shape problem, named with the file.
fn in_file(path: &Path, message: String) -> Error {
    Error::Csv {
        path: path.to_owned(),
        message,
    }
}

pub fn read_schools(path: &Path) -> Result<Vec<School>> {
    let rows = Rows::read(path, SCHOOL_COLUMNS, SCHOOL_COLUMNS)?;
    parse_schools(rows).map_err(|message| in_file(path, message))
}

/// The columns of a calendar file (docs/csv-formats.md): each row a range of days of an LA
/// (`scope` a 3-digit LA code) or a school (a 6-digit URN), `kind` `term` or `closed`.
pub const CALENDAR_COLUMNS: &[&str] = &["scope", "kind", "first_day", "last_day"];

/// A calendar file's ranges, as the registry's `ImportCalendar` takes them (it checks each).
pub fn read_calendar(path: &Path) -> Result<Vec<rollcall_proto::query::v1::CalendarRange>> {
    let rows = Rows::read(path, CALENDAR_COLUMNS, CALENDAR_COLUMNS)?;
    Ok(rows
        .records
        .iter()
        .map(|r| rollcall_proto::query::v1::CalendarRange {
            scope: rows.get(r, "scope").to_owned(),
            kind: rows.get(r, "kind").to_owned(),
            first_day: rows.get(r, "first_day").to_owned(),
            last_day: rows.get(r, "last_day").to_owned(),
        })
        .collect())
}

/// A registry file's schools from its bytes, or what is wrong with it: [`read_schools`] without
/// the file (for the fuzz targets).
pub fn parse_registry(bytes: &[u8]) -> Result<Vec<School>, String> {
    parse_schools(Rows::parse(bytes, SCHOOL_COLUMNS, SCHOOL_COLUMNS)?)
}

/// The registry rows; the independence flag is the one field read here (the proto carries a
/// bool), and every row with a bad one is named.
fn parse_schools(rows: Rows) -> Result<Vec<School>, String> {
    let mut schools = Vec::with_capacity(rows.records.len());
    let mut bad = Vec::new();
    for (i, r) in rows.records.iter().enumerate() {
        let Some(independent) = rollcall_domain::validation::parse_flag(rows.get(r, "independent"))
        else {
            bad.push(
                r.position()
                    .map_or(i as u64 + 2, csv::Position::line)
                    .to_string(),
            );
            continue;
        };
        schools.push(School {
            urn: rows.get(r, "urn").to_owned(),
            la_code: rows.get(r, "la_code").to_owned(),
            name: rows.get(r, "name").to_owned(),
            phase: rows.get(r, "phase").to_owned(),
            school_type: rows.get(r, "school_type").to_owned(),
            independent,
        });
    }
    match bad.as_slice() {
        [] => Ok(schools),
        [line] => Err(format!("line {line}: independent must be Y or N")),
        lines => Err(format!(
            "lines {}: independent must be Y or N",
            lines.join(", ")
        )),
    }
}

pub fn read_roll(path: &Path) -> Result<Vec<RawPupil>> {
    Ok(roll_from(&Rows::read(path, ROLL_COLUMNS, ROLL_REQUIRED)?))
}

/// A roll file's records from its bytes, or what is wrong with its shape: [`read_roll`] without
/// the file (for the fuzz targets).
pub fn parse_roll(bytes: &[u8]) -> Result<Vec<RawPupil>, String> {
    Ok(roll_from(&Rows::parse(bytes, ROLL_COLUMNS, ROLL_REQUIRED)?))
}

fn roll_from(rows: &Rows) -> Vec<RawPupil> {
    rows.records
        .iter()
        .map(|r| RawPupil {
            upn: rows.get(r, "upn").to_owned(),
            forename: rows.get(r, "forename").to_owned(),
            surname: rows.get(r, "surname").to_owned(),
            date_of_birth: rows.get(r, "date_of_birth").to_owned(),
            sex: rows.get(r, "sex").to_owned(),
            year_group: rows.get(r, "year_group").to_owned(),
            admission_date: rows.get(r, "admission_date").to_owned(),
            leaving_date: rows.get(r, "leaving_date").to_owned(),
            fsm: rows.get(r, "fsm").to_owned(),
            sen_provision: rows.get(r, "sen_provision").to_owned(),
            ethnicity: rows.get(r, "ethnicity").to_owned(),
            looked_after: rows.get(r, "looked_after").to_owned(),
            household_key: rows.get(r, "household_key").to_owned(),
        })
        .collect()
}

/// A roll record's field by its column name (one of [`ROLL_COLUMNS`]).
pub fn pupil_field<'a>(p: &'a RawPupil, column: &str) -> &'a str {
    match column {
        "upn" => &p.upn,
        "forename" => &p.forename,
        "surname" => &p.surname,
        "date_of_birth" => &p.date_of_birth,
        "sex" => &p.sex,
        "year_group" => &p.year_group,
        "admission_date" => &p.admission_date,
        "leaving_date" => &p.leaving_date,
        "fsm" => &p.fsm,
        "sen_provision" => &p.sen_provision,
        "ethnicity" => &p.ethnicity,
        "looked_after" => &p.looked_after,
        "household_key" => &p.household_key,
        _ => "",
    }
}

pub fn read_marks(path: &Path) -> Result<Vec<RawMark>> {
    Ok(marks_from(&Rows::read(path, MARK_COLUMNS, MARK_REQUIRED)?))
}

/// A marks file's records from its bytes, or what is wrong with its shape: [`read_marks`]
/// without the file (for the fuzz targets).
pub fn parse_marks(bytes: &[u8]) -> Result<Vec<RawMark>, String> {
    Ok(marks_from(&Rows::parse(
        bytes,
        MARK_COLUMNS,
        MARK_REQUIRED,
    )?))
}

fn marks_from(rows: &Rows) -> Vec<RawMark> {
    rows.records
        .iter()
        .map(|r| RawMark {
            upn: rows.get(r, "upn").to_owned(),
            date: rows.get(r, "date").to_owned(),
            session: rows.get(r, "session").to_owned(),
            code: rows.get(r, "code").to_owned(),
            minutes_late: rows.get(r, "minutes_late").to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roll_with_only_the_independent_school_columns_reads() {
        let csv = "\u{feff}upn,forename,surname,date_of_birth,year_group,admission_date,leaving_date\n\
                   H801200001001,Ada,Lovelace,2015-12-10,4,2021-09-01,\n";
        let rows = Rows::parse(csv.as_bytes(), ROLL_COLUMNS, ROLL_REQUIRED).unwrap();
        let roll = roll_from(&rows);
        assert_eq!(roll.len(), 1);
        assert_eq!(roll[0].year_group, "4");
        assert_eq!(roll[0].fsm, "", "absent columns read as not given");
    }

    #[test]
    fn a_short_row_is_reported_by_line_without_its_content() {
        let csv =
            "upn,date,session,code\nH801200001001,2025-10-06,AM,/\nH801200001001,2025-10-06\n";
        let err = Rows::parse(csv.as_bytes(), MARK_COLUMNS, MARK_REQUIRED)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "line 3: has 2 fields, the header has 4");
    }

    #[test]
    fn a_missing_required_column_or_unknown_column_is_refused() {
        let err = Rows::parse(b"upn,date,session\n", MARK_COLUMNS, MARK_REQUIRED)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "line 1: required column \"code\" is missing");
        let err = Rows::parse(
            b"upn,date,session,code,comment\n",
            MARK_COLUMNS,
            MARK_REQUIRED,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("line 1: column 5 is not a known column; expected some of upn,"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_its_header_line_is_refused_without_quoting_the_record() {
        let csv = "H801200001001,2025-10-06,AM,/\nH801200001001,2025-10-06,PM,/\n";
        let err = Rows::parse(csv.as_bytes(), MARK_COLUMNS, MARK_REQUIRED)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("line 1: column 1 is not a known column;"),
            "{err}"
        );
        assert!(!err.to_ascii_uppercase().contains("H801200001001"), "{err}");
    }

    #[test]
    fn a_header_line_that_is_not_utf8_is_named_as_the_rows_are() {
        for bytes in [
            &b"up\xffn,date,session,code\n"[..],
            b"\xff\xfeu\x00p\x00n\x00\n\x00",
        ] {
            let err = Rows::parse(bytes, MARK_COLUMNS, MARK_REQUIRED)
                .err()
                .unwrap()
                .to_string();
            assert_eq!(err, "line 1: is not valid utf-8");
        }
    }

    #[test]
    fn marks_keep_their_text_for_the_validator_to_judge() {
        let csv = "upn,date,session,code,minutes_late\nX,not a date,XM,!,\n";
        let marks = marks_from(&Rows::parse(csv.as_bytes(), MARK_COLUMNS, MARK_REQUIRED).unwrap());
        assert_eq!(
            (
                marks[0].date.as_str(),
                marks[0].session.as_str(),
                marks[0].code.as_str()
            ),
            ("not a date", "XM", "!")
        );
    }

    #[test]
    fn schools_read_with_independence_flags() {
        let csv = "urn,la_code,name,phase,school_type,independent\n100001,937,A School,primary,academy,N\n100002,937,B School,secondary,independent,Y\n";
        let rows = Rows::parse(csv.as_bytes(), SCHOOL_COLUMNS, SCHOOL_COLUMNS).unwrap();
        let schools = parse_schools(rows).unwrap();
        assert_eq!(
            schools.iter().map(|s| s.independent).collect::<Vec<_>>(),
            [false, true]
        );
    }

    #[test]
    fn full_files_read_from_disk_with_crlf_and_quoted_fields() {
        let dir = tempfile::tempdir().unwrap();
        let roll = dir.path().join("roll.csv");
        std::fs::write(
            &roll,
            "upn,forename,surname,date_of_birth,sex,year_group,admission_date,leaving_date,fsm,sen_provision,ethnicity,looked_after\r\n\
             H801200001001,Ada,\"O'Neill, Jr\",2012-05-01,F,8,2024-09-04,,Y,K,WBRI,N\r\n",
        )
        .unwrap();
        let pupils = read_roll(&roll).unwrap();
        assert_eq!(pupils.len(), 1);
        let p = &pupils[0];
        assert_eq!(
            [
                &p.surname,
                &p.sex,
                &p.year_group,
                &p.fsm,
                &p.sen_provision,
                &p.ethnicity,
                &p.looked_after,
                &p.leaving_date
            ],
            ["O'Neill, Jr", "F", "8", "Y", "K", "WBRI", "N", ""]
        );

        let marks = dir.path().join("marks.csv");
        std::fs::write(&marks, "upn,date,session,code,minutes_late\nH801200001001,2025-10-06,PM,L,12\nH801200001001,2025-10-06,AM,/,\n").unwrap();
        let m = read_marks(&marks).unwrap();
        assert_eq!(
            (m[0].code.as_str(), m[0].minutes_late.as_str()),
            ("L", "12")
        );
        assert_eq!(
            (m[1].session.as_str(), m[1].minutes_late.as_str()),
            ("AM", "")
        );
    }

    #[test]
    fn a_bad_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let marks = dir.path().join("marks.csv");
        std::fs::write(
            &marks,
            "\u{feff}upn,date,session,code\nH801200001001,2025-10-06,AM,/,5\n",
        )
        .unwrap();
        let err = format!("{:#}", read_marks(&marks).unwrap_err());
        assert_eq!(
            err,
            format!(
                "{}: line 2: has 5 fields, the header has 4",
                marks.display()
            )
        );
        assert!(!err.contains("H801200001001"), "no pupil data in errors");
        let err = format!(
            "{:#}",
            read_roll(&dir.path().join("absent.csv")).unwrap_err()
        );
        assert!(err.starts_with("cannot read "), "{err}");
    }

    #[test]
    fn a_bom_and_header_case_and_spaces_are_tolerated_and_an_empty_file_has_no_rows() {
        let csv = "\u{feff}UPN, Date ,Session,Code\nH801200001001,2025-10-06,AM,/\n";
        let marks = marks_from(&Rows::parse(csv.as_bytes(), MARK_COLUMNS, MARK_REQUIRED).unwrap());
        assert_eq!(
            (marks[0].upn.as_str(), marks[0].date.as_str()),
            ("H801200001001", "2025-10-06")
        );
        let rows = Rows::parse(b"upn,date,session,code\n", MARK_COLUMNS, MARK_REQUIRED).unwrap();
        assert!(marks_from(&rows).is_empty());
    }

    #[test]
    fn a_school_row_with_a_bad_flag_is_refused_by_line() {
        let csv = "urn,la_code,name,phase,school_type,independent\n100001,937,A,primary,academy,N\n100002,937,B,primary,academy,maybe\n";
        let rows = Rows::parse(csv.as_bytes(), SCHOOL_COLUMNS, SCHOOL_COLUMNS).unwrap();
        let err = parse_schools(rows).unwrap_err().to_string();
        assert_eq!(err, "line 3: independent must be Y or N");
        let csv = "urn,la_code,name,phase,school_type,independent\n1,937,\"A\nB\",primary,academy,?\n2,937,C,primary,academy,N\n3,937,D,primary,academy,\n";
        let rows = Rows::parse(csv.as_bytes(), SCHOOL_COLUMNS, SCHOOL_COLUMNS).unwrap();
        let err = parse_schools(rows).unwrap_err().to_string();
        assert_eq!(
            err, "lines 2, 5: independent must be Y or N",
            "lines as in the file, every bad row"
        );
    }
}
