//! The client library's errors. Each reads as one lowercase line a person can act on (with its
//! cause after it, for an I/O failure), and none quotes a file's content, which may hold pupils'
//! details.

use std::path::PathBuf;

/// What went wrong talking to a service or writing and reading files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service answered with a failure: its code in words, its message and Rollcall's stable
    /// error code ([`crate::describe`]).
    #[error("{}", crate::describe(.0))]
    Status(Box<tonic::Status>),
    #[error("invalid address {0}")]
    InvalidAddress(String),
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("tls: {0}")]
    Tls(String),
    #[error("a client certificate needs both --client-cert and --client-key")]
    ClientCertificateHalf,
    #[error("the token is not printable ascii")]
    TokenNotAscii,
    /// The pipeline was not done with every feed in time.
    #[error(
        "{waiting} of {total} feeds not processed or parked within {seconds}s (first waiting: {first})"
    )]
    NotProcessed {
        waiting: usize,
        total: usize,
        seconds: u64,
        first: String,
    },
    /// A CSV file is not of the shape its format asks for (the message names the line, never
    /// the content).
    #[error("{}: {message}", .path.display())]
    Csv { path: PathBuf, message: String },
    /// The conformance pack is not of its layout (the message names the file and line).
    #[error("conformance pack: {0}")]
    Pack(String),
    /// An export's file name says no format it is written in.
    #[error("{}: the file name must end in .csv or .xlsx", .0.display())]
    FileName(PathBuf),
    /// An export has more rows than a worksheet holds (the header included).
    #[error("the export has more rows than a worksheet holds ({0}): write it as .csv")]
    WorksheetFull(u64),
    /// An export stream broke its contract (the message says how); the file was not kept.
    #[error("{0}")]
    Export(String),
    /// A file could not be read, created, written or moved (`what` says which and where).
    #[error("{what}")]
    File {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Error {
        Error::Status(Box::new(status))
    }
}

impl Error {
    /// `cannot <verb> <path>`, caused by `source`.
    pub(crate) fn file(verb: &str, path: &std::path::Path, source: std::io::Error) -> Error {
        Error::File {
            what: format!("cannot {verb} {}", path.display()),
            source,
        }
    }
}
