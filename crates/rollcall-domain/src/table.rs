//! Strict reader for small comma-separated tables (RFC 4180 quoting), used for the embedded reference data.
//!
//! The reference tables are compiled into the crate with `include_str!`, so this reader works on
//! text, never on files. It is strict on purpose: a row with the wrong number of fields, a stray
//! quote or an unterminated quoted field is an error naming the line, so a bad edit to a table fails
//! the crate's tests instead of silently dropping a code.
//!
//! Why not the `csv` crate, which writes every CSV file Rollcall sends: it reads `1,x"y` as
//! `x"y` and `"x"y` as `xy` without a word, as lenient readers do, reads an unterminated quote to the end of the text, and skips empty lines. For a
//! table compiled into every service, a silently misread row is a wrong code in production, so
//! this reader refuses each of those with the line.

use std::fmt;

/// A parsed table: the header row and the data rows, every row as wide as the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Row>,
}

/// One data row with the line it started on (1-based, the header is line 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Why a table could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableError {
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for TableError {}

impl Table {
    /// Parses `text`: the first row is the header; empty lines are not allowed except at the end.
    pub fn parse(text: &str) -> Result<Table, TableError> {
        let mut records = parse_records(text.strip_prefix('\u{feff}').unwrap_or(text))?;
        if records.is_empty() {
            return Err(TableError {
                line: 1,
                problem: "no header row".into(),
            });
        }
        let (_, header) = records.remove(0);
        if header.iter().any(|h| h.is_empty()) {
            return Err(TableError {
                line: 1,
                problem: "empty column name".into(),
            });
        }
        for (i, name) in header.iter().enumerate() {
            if header[..i].contains(name) {
                return Err(TableError {
                    line: 1,
                    problem: format!("duplicate column {name}"),
                });
            }
        }
        let mut rows = Vec::with_capacity(records.len());
        for (line, fields) in records {
            if fields.len() != header.len() {
                return Err(TableError {
                    line,
                    problem: format!("{} fields, header has {}", fields.len(), header.len()),
                });
            }
            rows.push(Row { line, fields });
        }
        Ok(Table { header, rows })
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Position of a column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Position of a column that must exist.
    pub fn require(&self, name: &str) -> Result<usize, TableError> {
        self.column(name).ok_or_else(|| TableError {
            line: 1,
            problem: format!("missing column {name}"),
        })
    }
}

/// Keeps a field of an embedded table for the life of the process (tables are parsed once).
pub(crate) fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// Splits text into records of fields, with the line each record starts on.
fn parse_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, TableError> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    // State: at the start of a field, inside an unquoted field, inside quotes, or just after a closing quote.
    #[derive(PartialEq)]
    enum State {
        Start,
        Bare,
        Quoted,
        Closed,
    }
    let mut state = State::Start;
    let mut row_has_content = false;
    while let Some(c) = chars.next() {
        match (&state, c) {
            (State::Quoted, '"') => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    state = State::Closed;
                }
            }
            (State::Quoted, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (State::Start, '"') => {
                state = State::Quoted;
                row_has_content = true;
            }
            (State::Bare, '"') => {
                return Err(TableError {
                    line,
                    problem: "quote inside an unquoted field".into(),
                });
            }
            (State::Closed, c) if c != ',' && c != '\n' && c != '\r' => {
                return Err(TableError {
                    line,
                    problem: "text after a closing quote".into(),
                });
            }
            (_, ',') => {
                fields.push(std::mem::take(&mut field));
                state = State::Start;
                row_has_content = true;
            }
            (_, '\r') if chars.peek() == Some(&'\n') => {}
            (_, '\n' | '\r') => {
                if row_has_content || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    records.push((start_line, std::mem::take(&mut fields)));
                } else if chars.peek().is_some() {
                    return Err(TableError {
                        line,
                        problem: "empty line".into(),
                    });
                }
                line += 1;
                start_line = line;
                state = State::Start;
                row_has_content = false;
            }
            (_, c) => {
                field.push(c);
                state = State::Bare;
                row_has_content = true;
            }
        }
    }
    if state == State::Quoted {
        return Err(TableError {
            line: start_line,
            problem: "unterminated quoted field".into(),
        });
    }
    if row_has_content || !field.is_empty() {
        fields.push(field);
        records.push((start_line, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_fields_and_line_endings() {
        let t = Table::parse("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,,\n").unwrap();
        assert_eq!(t.header(), ["a", "b", "c"]);
        assert_eq!(t.rows()[0].fields, ["1", "x, y", "say \"hi\""]);
        assert_eq!(t.rows()[1].fields, ["2", "", ""]);
        assert_eq!(t.rows()[1].line, 3);
        assert_eq!(t.column("c"), Some(2));
    }

    #[test]
    fn rejects_malformed_tables() {
        for (text, line) in [
            ("a,b\n1\n", 2),
            ("a,b\n1,2,3\n", 2),
            ("a,b\n1,2\n\n3,4\n", 3),
            ("a,b\n1,x\"y\n", 2),
            ("a,b\n1,\"x\"y\n", 2),
            ("a,b\n1,\"open\n", 2),
            ("a,a\n1,2\n", 1),
            ("a,\n1,2\n", 1),
            ("", 1),
        ] {
            let err = Table::parse(text).expect_err(text);
            assert_eq!(err.line, line, "{text:?}: {err}");
        }
    }
}
