//! The CSV files a school submits and the registry is imported from (`rollcall-client`'s
//! `csvfile`), from arbitrary bytes: the first byte picks the reader (roll, marks or registry),
//! the rest is the file.
//!
//! Checked: no reader panics; a refusal names the line and the rule, never a value (only the
//! readers' own templates, with numbers and known column names); every field read is trimmed;
//! the records read, written out again as CSV, read back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rollcall_client::csvfile::{
    self, MARK_COLUMNS, ROLL_COLUMNS, SCHOOL_COLUMNS, parse_marks, parse_registry, parse_roll,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => check(
            parse_roll(file),
            ROLL_COLUMNS,
            |p| {
                ROLL_COLUMNS
                    .iter()
                    .map(|c| csvfile::pupil_field(p, c).to_owned())
                    .collect()
            },
            parse_roll,
        ),
        1 => check(
            parse_marks(file),
            MARK_COLUMNS,
            |m| {
                [&m.upn, &m.date, &m.session, &m.code, &m.minutes_late]
                    .map(String::clone)
                    .to_vec()
            },
            parse_marks,
        ),
        _ => check(
            parse_registry(file),
            SCHOOL_COLUMNS,
            |s| {
                let flag = if s.independent { "Y" } else { "N" };
                [&s.urn, &s.la_code, &s.name, &s.phase, &s.school_type]
                    .map(String::clone)
                    .into_iter()
                    .chain([flag.to_owned()])
                    .collect()
            },
            parse_registry,
        ),
    }
});

/// The invariants for one reader: `fields` gives a record's values in `columns` order.
fn check<T: PartialEq + std::fmt::Debug>(
    read: Result<Vec<T>, String>,
    columns: &[&str],
    fields: impl Fn(&T) -> Vec<String>,
    parse: impl Fn(&[u8]) -> Result<Vec<T>, String>,
) {
    let records = match read {
        Ok(records) => records,
        Err(message) => {
            assert_refusal_names_no_value(&message, columns);
            return;
        }
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(columns).unwrap();
    for record in &records {
        let values = fields(record);
        for value in &values {
            assert_eq!(value, value.trim(), "a field is read trimmed");
        }
        out.write_record(&values).unwrap();
    }
    let written = out.into_inner().unwrap();
    match parse(&written) {
        Ok(again) => assert!(again == records, "records written out read back the same"),
        Err(message) => panic!("records written out do not read back: {message}"),
    }
}

/// A refusal is one of the readers' templates: line numbers, column positions and names the
/// readers know, nothing from the file's records.
fn assert_refusal_names_no_value(message: &str, columns: &[&str]) {
    let mut rest = message.to_owned();
    for name in columns.iter().map(|c| format!("{c:?}")) {
        rest = rest.replace(&name, "<column>");
    }
    let expected = format!("expected some of {}", columns.join(","));
    rest = rest.replace(&expected, "expected some of <columns>");
    let shape: String = rest
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    let mut shape = shape.replace(", #", "");
    while shape.contains("##") {
        shape = shape.replace("##", "#");
    }
    const TEMPLATES: &[&str] = &[
        "line #: is not valid utf-#",
        "line #: cannot be read as csv",
        "cannot be read as csv",
        "is not valid utf-#",
        "line #: has # fields, the header has #",
        "line #: column # is not a known column; expected some of <columns>",
        "line #: column <column> appears twice",
        "line #: required column <column> is missing",
        "line #: independent must be Y or N",
        "lines #: independent must be Y or N",
    ];
    assert!(
        TEMPLATES.contains(&shape.as_str()),
        "a refusal outside the readers' templates: {shape:?}"
    );
}
