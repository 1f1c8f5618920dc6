//! The table a page shows, once: rendered as the page's HTML table and as its downloads (CSV,
//! and `.xlsx` with a second sheet saying what the figures are), so a download is always what the
//! page shows.

use axum::response::{IntoResponse, Response};
use http::header;
use rust_xlsxwriter::{Format as CellFormat, Workbook};

use crate::error::WebError;

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Count(u64),
    /// A percentage, shown to one decimal place.
    Percent(f64),
    /// Text shown on the page as a GOV.UK tag of this colour ("Independent", "Severe").
    Tag(String, &'static str),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// As the page and the CSV write it.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Tag(s, _) => s.clone(),
            Cell::Count(n) => crate::format::count(*n),
            Cell::Percent(p) => crate::format::percent(*p),
        }
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Tag(s, _) => defuse(s),
            Cell::Count(n) => n.to_string(),
            Cell::Percent(p) => format!("{:.1}", if p.is_finite() { *p } else { 0.0 }),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Cell::Count(_) | Cell::Percent(_))
    }
}

/// A column: its heading, and for percentages "(%)" in the downloads' heading.
#[derive(Clone, Debug)]
pub struct Column {
    pub heading: &'static str,
    pub percent: bool,
}

pub const fn col(heading: &'static str) -> Column {
    Column {
        heading,
        percent: false,
    }
}

pub const fn pct(heading: &'static str) -> Column {
    Column {
        heading,
        percent: true,
    }
}

#[derive(Clone, Debug)]
pub struct Sheet {
    /// The downloads' file name without extension: no personal data, e.g. `la-937-2025-26`.
    pub file_stem: String,
    /// What the figures are, for the `.xlsx` file's second sheet: title, period, as of.
    pub about: Vec<(String, String)>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// How a page is asked for: `?format=csv` or `?format=xlsx` for its download.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Html,
    Csv,
    Xlsx,
}

impl Sheet {
    pub fn csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let headings: Vec<String> = self.columns.iter().map(download_heading).collect();
        writer.write_record(&headings).expect("writing to memory");
        for row in &self.rows {
            writer
                .write_record(row.iter().map(Cell::csv))
                .expect("writing to memory");
        }
        writer.into_inner().expect("writing to memory")
    }

    pub fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut workbook = Workbook::new();
        let bold = CellFormat::new().set_bold();
        let one_place = CellFormat::new().set_num_format("0.0");
        let data = workbook.add_worksheet().set_name("Data")?;
        for (c, column) in self.columns.iter().enumerate() {
            data.write_string_with_format(0, c as u16, download_heading(column), &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    // Text is written as text, never as a formula.
                    Cell::Text(s) | Cell::Tag(s, _) => data.write_string(r, c, s)?,
                    Cell::Count(n) => data.write_number(r, c, *n as f64)?,
                    Cell::Percent(p) => data.write_number_with_format(r, c, *p, &one_place)?,
                };
            }
        }
        data.autofit();
        let about = workbook.add_worksheet().set_name("About")?;
        for (r, (name, value)) in self.about.iter().enumerate() {
            about.write_string_with_format(r as u32, 0, name, &bold)?;
            about.write_string(r as u32, 1, value)?;
        }
        about.autofit();
        workbook.save_to_buffer()
    }

    /// The download in `format` as a response (an attachment); `None` for HTML.
    pub fn download(&self, format: Format) -> Option<Result<Response, WebError>> {
        let (body, content_type, extension) = match format {
            Format::Html => return None,
            Format::Csv => (self.csv(), "text/csv; charset=utf-8", "csv"),
            Format::Xlsx => match self.xlsx() {
                Ok(bytes) => (
                    bytes,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "xlsx",
                ),
                Err(err) => {
                    tracing::error!(error = %err, "cannot write the xlsx download");
                    return Some(Err(WebError::Unavailable));
                }
            },
        };
        let disposition = format!("attachment; filename=\"{}.{extension}\"", self.file_stem);
        Some(Ok((
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response()))
    }
}

fn download_heading(column: &Column) -> String {
    if column.percent {
        format!("{} (%)", column.heading)
    } else {
        column.heading.to_owned()
    }
}

/// Text a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) is written with a
/// leading apostrophe, so a school name or a typed purpose can never run as one.
fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet {
            file_stem: "la-937-2025-26".into(),
            about: vec![("Period".into(), "1 September 2025 to 31 August 2026".into())],
            columns: vec![col("School"), col("Enrolments"), pct("Attendance")],
            rows: vec![
                vec![
                    Cell::text("Kenilworth Primary School"),
                    Cell::Count(10_400),
                    Cell::Percent(94.06),
                ],
                vec![
                    Cell::text("=HYPERLINK(\"x\")"),
                    Cell::Count(0),
                    Cell::Percent(f64::NAN),
                ],
            ],
        }
    }

    #[test]
    fn csv_is_the_table_with_formulas_defused() {
        let text = String::from_utf8(sheet().csv()).unwrap();
        assert_eq!(
            text,
            "School,Enrolments,Attendance (%)\nKenilworth Primary School,10400,94.1\n\"'=HYPERLINK(\"\"x\"\")\",0,0.0\n"
        );
        assert_eq!(Cell::Count(10_400).display(), "10,400");
    }

    #[test]
    fn xlsx_is_a_zip_with_both_sheets_and_downloads_are_attachments() {
        let bytes = sheet().xlsx().unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let response = sheet().download(Format::Xlsx).unwrap().unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"la-937-2025-26.xlsx\""
        );
        let csv = sheet().download(Format::Csv).unwrap().unwrap();
        assert_eq!(
            csv.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        assert!(sheet().download(Format::Html).is_none());
    }
}
