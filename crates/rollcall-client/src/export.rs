//! Writing an export stream to a file: CSV (every field quoted, CRLF, as the DfE writes its
//! files) or `.xlsx`, a manifest beside it, and how far it has got told to a [`Progress`].
//!
//! The file is written under a `.partial` name and renamed only when the stream's trailer has
//! arrived and its row count matches what was written, so a file with the final name is always
//! complete. The manifest (`<file>.manifest.json`) records the parameters as the server resolved
//! them, the row count, the SHA-256 of the file and the time the data was read as of.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rollcall_domain::ees;
use rollcall_proto::export::v1::{ColumnKind, ExportChunk, ExportHeader, export_chunk::Part};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::progress::Progress;
use crate::{Error, Result, status};

/// Rows a worksheet can hold, the header included.
const XLSX_MAX_ROWS: u64 = 1_048_576;

/// The file format, from the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "csv" => Ok(Format::Csv),
            Some(e) if e == "xlsx" => Ok(Format::Xlsx),
            _ => Err(Error::FileName(path.to_owned())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Written {
    pub path: PathBuf,
    pub manifest: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub as_of: String,
    pub elapsed: Duration,
}

/// Where rows go while the stream arrives.
enum Output {
    Csv {
        file: BufWriter<File>,
        hash: Sha256,
        bytes: u64,
    },
    Xlsx {
        workbook: Box<rust_xlsxwriter::Workbook>,
        kinds: Vec<ColumnKind>,
        next_row: u32,
    },
}

impl Output {
    fn create(format: Format, partial: &Path, header: &ExportHeader) -> Result<Output> {
        let names = header.columns.iter().map(|c| c.name.as_str());
        match format {
            Format::Csv => {
                let file =
                    File::create(partial).map_err(|err| Error::file("create", partial, err))?;
                let mut output = Output::Csv {
                    file: BufWriter::new(file),
                    hash: Sha256::new(),
                    bytes: 0,
                };
                output.csv_line(&ees::csv_line(names))?;
                Ok(output)
            }
            Format::Xlsx => {
                let mut workbook = Box::new(rust_xlsxwriter::Workbook::new());
                let sheet = workbook.add_worksheet();
                for (col, name) in names.enumerate() {
                    sheet.write_string(0, col as u16, name)?;
                }
                Ok(Output::Xlsx {
                    workbook,
                    kinds: header.columns.iter().map(|c| c.kind()).collect(),
                    next_row: 1,
                })
            }
        }
    }

    fn csv_line(&mut self, line: &str) -> Result<()> {
        let Output::Csv { file, hash, bytes } = self else {
            unreachable!("csv lines go to csv output")
        };
        file.write_all(line.as_bytes())?;
        hash.update(line.as_bytes());
        *bytes += line.len() as u64;
        Ok(())
    }

    fn row(&mut self, cells: &[String]) -> Result<()> {
        match self {
            Output::Csv { .. } => self.csv_line(&ees::csv_line(cells.iter().map(String::as_str))),
            Output::Xlsx {
                workbook,
                kinds,
                next_row,
            } => {
                if u64::from(*next_row) >= XLSX_MAX_ROWS {
                    return Err(Error::WorksheetFull(XLSX_MAX_ROWS));
                }
                let sheet = workbook.worksheet_from_index(0)?;
                for (col, (cell, kind)) in cells.iter().zip(kinds.iter()).enumerate() {
                    let number = matches!(kind, ColumnKind::Integer | ColumnKind::Decimal)
                        .then(|| cell.parse::<f64>().ok())
                        .flatten();
                    match number {
                        Some(n) => sheet.write_number(*next_row, col as u16, n)?,
                        None => sheet.write_string(*next_row, col as u16, cell)?,
                    };
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    /// Finishes the file: the byte count and SHA-256 of what is on disk.
    fn finish(self, partial: &Path) -> Result<(u64, String)> {
        match self {
            Output::Csv {
                mut file,
                hash,
                bytes,
            } => {
                file.flush()?;
                file.get_ref().sync_all()?;
                Ok((bytes, hex::encode(hash.finalize())))
            }
            Output::Xlsx { mut workbook, .. } => {
                workbook.save(partial)?;
                let data = std::fs::read(partial)?;
                Ok((data.len() as u64, hex::encode(Sha256::digest(&data))))
            }
        }
    }
}

/// Writes the export arriving on `stream` to `path` (format from its extension) and its
/// manifest beside it. `request` is what the user asked for, kept in the manifest with the
/// parameters as the server resolved them. `progress` is told the schools done and the rows
/// received.
pub async fn write(
    mut stream: tonic::Streaming<ExportChunk>,
    path: &Path,
    request: serde_json::Value,
    progress: &dyn Progress,
) -> Result<Written> {
    let started = Instant::now();
    let format = Format::of(path)?;
    let partial = path.with_extension(format!("{}.partial", format.name()));
    let target = Target {
        format,
        partial: &partial,
        path,
    };
    let result = receive(&mut stream, &target, request, progress, started).await;
    progress.finish();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Where an export is written: first under its `.partial` name.
struct Target<'a> {
    format: Format,
    partial: &'a Path,
    path: &'a Path,
}

async fn receive(
    stream: &mut tonic::Streaming<ExportChunk>,
    target: &Target<'_>,
    request: serde_json::Value,
    progress: &dyn Progress,
    started: Instant,
) -> Result<Written> {
    let Target {
        format,
        partial,
        path,
    } = *target;
    let header = match stream
        .message()
        .await
        .map_err(status::error)?
        .and_then(|c| c.part)
    {
        Some(Part::Header(header)) => header,
        _ => {
            return Err(Error::Export(
                "the export stream did not start with its header".into(),
            ));
        }
    };
    let mut output = Output::create(format, partial, &header)?;
    progress.start(header.schools);
    let mut rows = 0u64;
    let trailer = loop {
        let chunk = stream.message().await.map_err(status::error)?;
        match chunk.and_then(|c| c.part) {
            Some(Part::Rows(chunk)) => {
                for row in &chunk.rows {
                    if row.cells.len() != header.columns.len() {
                        return Err(Error::Export(format!(
                            "row {} has {} cells for {} columns",
                            rows + 1,
                            row.cells.len(),
                            header.columns.len()
                        )));
                    }
                    output.row(&row.cells)?;
                    rows += 1;
                }
            }
            Some(Part::Progress(p)) => progress.advance(p.schools_done, p.rows_sent),
            Some(Part::Trailer(trailer)) => break trailer,
            Some(Part::Header(_)) => {
                return Err(Error::Export(
                    "the export stream sent a second header".into(),
                ));
            }
            None => {
                return Err(Error::Export(
                    "the export stream ended before its trailer: the file is incomplete and was not kept"
                        .into(),
                ));
            }
        }
    };
    progress.advance(header.schools, rows);
    if trailer.rows != rows {
        return Err(Error::Export(format!(
            "the server sent {} rows but {rows} arrived: the file was not kept",
            trailer.rows
        )));
    }
    let (bytes, sha256) = output.finish(partial)?;
    std::fs::rename(partial, path).map_err(|err| Error::file("move the export to", path, err))?;
    let manifest_path = manifest_path(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parameters: serde_json::Map<String, serde_json::Value> = header
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let manifest = json!({
        "file": file_name,
        "format": format.name(),
        "rows": rows,
        "bytes": bytes,
        "sha256": sha256,
        "as_of": header.as_of,
        "written_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "parameters": parameters,
        "request": request,
        "columns": header.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "rollcall_version": env!("CARGO_PKG_VERSION"),
    });
    let manifest = serde_json::to_vec_pretty(&manifest).expect("json values serialise");
    std::fs::write(&manifest_path, manifest)
        .map_err(|err| Error::file("write", &manifest_path, err))?;
    Ok(Written {
        path: path.to_owned(),
        manifest: manifest_path,
        rows,
        bytes,
        sha256,
        as_of: header.as_of,
        elapsed: started.elapsed(),
    })
}

/// `<file>.manifest.json` beside the export.
pub fn manifest_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(Format::of(Path::new("a/ytd.csv")).unwrap(), Format::Csv);
        assert_eq!(Format::of(Path::new("ytd.XLSX")).unwrap(), Format::Xlsx);
        assert!(Format::of(Path::new("ytd.txt")).is_err());
        assert_eq!(
            manifest_path(Path::new("out/ytd.csv")),
            PathBuf::from("out/ytd.csv.manifest.json")
        );
    }
}
