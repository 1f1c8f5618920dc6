//! The exports' computation: the DfE year-to-date layout, the pupil-session extract and the
//! census termly summary, each read school by school from one snapshot.
//!
//! Opening an export ([`ees_year_to_date`], [`pupil_sessions`], [`census_term`]) checks the
//! caller, resolves the parameters and opens the snapshot, so a bad request or an unreachable
//! database is an error before anything is streamed. [`run`] then reads in its own task and
//! sends [`Piece`]s through a small bounded channel: a slow client slows the reading down rather
//! than filling memory. Pupil-level exports record their audit event before the header and each
//! school's pupils before that school's rows leave. What each export reads and writes is in
//! `export/jobs.rs`. The handlers (`grpc_export.rs`) only turn requests into these calls and
//! pieces into messages.

mod jobs;

use chrono::{DateTime, Utc};
use rollcall_db::export::{ExportReader, PupilSchool};
use rollcall_db::{Access, NewAuditEvent, Pool, Principal, PrincipalKind, PupilAccess, Scope};
use rollcall_domain::AcademicYear;
use rollcall_domain::census::CensusTerm;
use rollcall_domain::ees::{self, Suppression};
use rollcall_server::{ApiError, ErrorCode};
use tokio::sync::mpsc;

pub use self::jobs::{CensusJob, EesJob, PupilSessionsJob};
use self::jobs::{PUPIL_COLUMNS, SESSION_COLUMNS, census_columns};
use crate::period;
use crate::scope::{parse_la, pupil_scope, required_purpose, scope_label};

/// Rows per streamed piece: large enough that framing is cheap, small enough to stay flat.
const ROWS_PER_CHUNK: usize = 1000;
/// Pieces buffered between the reading task and the client.
const CHANNEL_DEPTH: usize = 4;

const PUPIL_SESSIONS_RPC: &str = "rollcall.export.v1.ExportService/PupilSessions";
const CENSUS_TERM_RPC: &str = "rollcall.export.v1.ExportService/CensusTerm";

/// What a column of an export holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    Decimal,
    Date,
    Timestamp,
}

/// What an export says before its rows: its columns, the snapshot's time, the parameters it was
/// run with and how many schools it reads.
pub struct Header {
    pub columns: Vec<(String, ColumnKind)>,
    pub as_of: DateTime<Utc>,
    pub parameters: Vec<(&'static str, String)>,
    pub schools: usize,
}

/// An export's stream, in order: the header, rows, progress after each school, the trailer with
/// the rows sent; or, instead of the trailer, the error it stopped on.
pub enum Piece {
    Header(Header),
    Rows(Vec<Vec<String>>),
    Progress { schools_done: u64, rows_sent: u64 },
    Trailer { rows: u64 },
}

/// An export opened and not yet read: its header, its snapshot and what reads it.
pub struct Opened<J> {
    header: Header,
    reader: ExportReader,
    job: J,
}

/// The year-to-date layout's request: the LAs (exactly one of some LA codes and every LA, for
/// the exporter role), the regional and national rows, and the period (either end may be empty).
pub struct EesRequest<'a> {
    pub la_codes: &'a [String],
    pub all_las: bool,
    pub regional: bool,
    pub national: bool,
    pub from: &'a str,
    pub to: &'a str,
    /// RFC 3339, or empty: as in the query requests.
    pub as_at: &'a str,
}

/// The pupils a pupil-level export covers (exactly one of an LA and a school) and why.
pub struct PupilRequest<'a> {
    pub la_code: &'a str,
    pub school_urn: &'a str,
    pub purpose: &'a str,
    /// RFC 3339, or empty: as in the query requests.
    pub as_at: &'a str,
}

/// Opens the DfE year-to-date layout.
pub async fn ees_year_to_date(
    pool: &Pool,
    caller: &Principal,
    suppression: Suppression,
    request: EesRequest<'_>,
) -> Result<Opened<EesJob>, ApiError> {
    let access = Access::of(caller);
    let national_role = matches!(caller.kind(), PrincipalKind::Exporter);
    if (request.regional || request.national || request.all_las) && !national_role {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "regional, national and all-LA rows are for the exporter role",
        ));
    }
    let la_codes = match (request.all_las, request.la_codes.is_empty()) {
        (true, true) => None,
        (false, false) => {
            let mut las = Vec::new();
            for la in request.la_codes {
                let la = parse_la("la_codes", la)?.get() as i16;
                if !access.covers_la(la) {
                    return Err(ApiError::outside_organisation());
                }
                las.push(la);
            }
            las.sort_unstable();
            las.dedup();
            Some(las)
        }
        _ => {
            return Err(ApiError::invalid(
                "exactly one of la_codes and all_las is required",
            ));
        }
    };
    let mut reader = begin(pool, request.as_at).await?;
    let schools = reader
        .schools(&access, la_codes.as_deref())
        .await
        .map_err(|err| ApiError::database("cannot list the schools to export", &err))?;
    let urns: Vec<i32> = schools.iter().map(|s| s.urn).collect();
    let last = reader
        .last_marked_date(&urns)
        .await
        .map_err(|err| ApiError::database("cannot read the latest marks", &err))?;
    let (from, to) = period::year_to_date(request.from, request.to, last)?;
    let year = AcademicYear::of(from);
    // Every LA asked for has its rows, with or without schools.
    let las: Vec<i16> = match la_codes {
        Some(las) => las,
        None => {
            let mut las: Vec<i16> = schools.iter().map(|s| s.la_code).collect();
            las.dedup();
            las
        }
    };
    let columns = ees::columns()
        .iter()
        .map(|name| {
            let kind = match ees::column_kind(name) {
                ees::ColumnKind::Text => ColumnKind::Text,
                ees::ColumnKind::Count => ColumnKind::Integer,
                ees::ColumnKind::Decimal => ColumnKind::Decimal,
            };
            ((*name).to_owned(), kind)
        })
        .collect();
    let parameters = vec![
        ("export", "ees-ytd".to_owned()),
        ("from", from.to_string()),
        ("to", to.to_string()),
        ("time_period", year.time_period()),
        ("la_codes", las_label(&las)),
        ("regional", request.regional.to_string()),
        ("national", request.national.to_string()),
        (
            "suppress_below_enrolments",
            suppression.below_enrolments.to_string(),
        ),
    ];
    let header = header(columns, &reader, parameters, schools.len());
    let job = EesJob {
        schools,
        las,
        from,
        to,
        year,
        regional: request.regional,
        national: request.national,
        suppression,
    };
    Ok(Opened {
        header,
        reader,
        job,
    })
}

/// Opens the pupil-session extract of `from..=to` (both required, in one academic year).
pub async fn pupil_sessions(
    pool: &Pool,
    caller: &Principal,
    request: PupilRequest<'_>,
    (from, to): (&str, &str),
    dfe_scope: bool,
) -> Result<Opened<PupilSessionsJob>, ApiError> {
    let (from, to) = period::dates(from, to)?;
    let PupilExport {
        scope,
        reader,
        schools,
        event_id,
    } = open_pupil_export(pool, caller, request, PUPIL_SESSIONS_RPC).await?;
    let columns = PUPIL_COLUMNS
        .iter()
        .chain(SESSION_COLUMNS)
        .map(|&(name, kind)| (name.to_owned(), kind))
        .collect();
    let parameters = vec![
        ("export", "pupil-sessions".to_owned()),
        ("scope", scope_label(scope)),
        ("from", from.to_string()),
        ("to", to.to_string()),
        ("dfe_scope", dfe_scope.to_string()),
        ("audit_event", event_id.to_string()),
    ];
    let header = header(columns, &reader, parameters, schools.len());
    let job = PupilSessionsJob {
        pool: pool.clone(),
        event_id,
        schools,
        from,
        to,
        dfe_scope,
    };
    Ok(Opened {
        header,
        reader,
        job,
    })
}

/// Opens the census termly summary of `term` of `year`.
pub async fn census_term(
    pool: &Pool,
    caller: &Principal,
    request: PupilRequest<'_>,
    year: AcademicYear,
    term: CensusTerm,
) -> Result<Opened<CensusJob>, ApiError> {
    let (from, to) = term.dates(year);
    let PupilExport {
        scope,
        reader,
        schools,
        event_id,
    } = open_pupil_export(pool, caller, request, CENSUS_TERM_RPC).await?;
    let parameters = vec![
        ("export", "census-term".to_owned()),
        ("scope", scope_label(scope)),
        ("academic_year", year.label()),
        ("term", term.as_str().to_owned()),
        ("term_start", from.to_string()),
        ("term_end", to.to_string()),
        ("audit_event", event_id.to_string()),
    ];
    let header = header(census_columns(), &reader, parameters, schools.len());
    let job = CensusJob {
        pool: pool.clone(),
        event_id,
        schools,
        year,
        term,
    };
    Ok(Opened {
        header,
        reader,
        job,
    })
}

/// A pupil-level export, opened.
struct PupilExport {
    scope: Scope,
    reader: ExportReader,
    schools: Vec<PupilSchool>,
    event_id: i64,
}

/// What a pupil-level export does before its header, once the rest of its request is checked:
/// the caller's pupil access, the purpose, the scope, the snapshot, the schools, and the audit
/// event (recorded before anything is read for it).
async fn open_pupil_export(
    pool: &Pool,
    caller: &Principal,
    request: PupilRequest<'_>,
    rpc: &str,
) -> Result<PupilExport, ApiError> {
    let pupils = PupilAccess::of(caller).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PermissionDenied,
            "this credential may not see pupil-level data",
        )
    })?;
    let purpose = required_purpose(request.purpose)?;
    let scope = pupil_scope(pool, pupils.schools(), request.la_code, request.school_urn).await?;
    let mut reader = begin(pool, request.as_at).await?;
    let schools = reader
        .pupil_schools(&pupils, scope)
        .await
        .map_err(|err| ApiError::database("cannot list the schools to export", &err))?;
    let event_id = audit_start(pool, caller, rpc, purpose, scope).await?;
    Ok(PupilExport {
        scope,
        reader,
        schools,
        event_id,
    })
}

async fn begin(pool: &Pool, as_at: &str) -> Result<ExportReader, ApiError> {
    let as_at = period::as_at("as_at", as_at)?;
    ExportReader::begin(pool, as_at)
        .await
        .map_err(|err| ApiError::database("cannot open a snapshot to export", &err))
}

/// Records the event of a pupil-level export before anything is read for it.
async fn audit_start(
    pool: &Pool,
    caller: &Principal,
    rpc: &str,
    purpose: &str,
    scope: Scope,
) -> Result<i64, ApiError> {
    let id = rollcall_db::record_audit_event(
        pool,
        &NewAuditEvent {
            principal: caller,
            rpc,
            purpose,
            request_scope: scope_label(scope),
            enrolment_ids: &[],
        },
    )
    .await
    .map_err(|err| ApiError::database("cannot record the audit event", &err))?;
    tracing::info!(
        key_id = caller.key_id(),
        kind = caller.kind().name(),
        rpc,
        audit_event = id,
        "pupil-level export started"
    );
    Ok(id)
}

fn las_label(las: &[i16]) -> String {
    las.iter()
        .map(|la| format!("{la:03}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn header(
    columns: Vec<(String, ColumnKind)>,
    reader: &ExportReader,
    mut parameters: Vec<(&'static str, String)>,
    schools: usize,
) -> Header {
    if let Some(at) = reader.as_at() {
        parameters.push((
            "as_at",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ));
    }
    Header {
        columns,
        as_of: reader.as_of(),
        parameters,
        schools,
    }
}

/// Why an export's stream ended early.
pub enum Stop {
    /// The client went away: nothing to tell anyone.
    Closed,
    Failed(ApiError),
}

impl From<rollcall_db::Error> for Stop {
    fn from(err: rollcall_db::Error) -> Stop {
        Stop::Failed(ApiError::database("cannot read the data to export", &err))
    }
}

/// The sending half of an export: gathers rows into pieces and counts them.
pub struct Sink {
    tx: mpsc::Sender<Result<Piece, ApiError>>,
    pending: Vec<Vec<String>>,
    rows: u64,
    schools_done: u64,
}

impl Sink {
    async fn send(&mut self, piece: Piece) -> Result<(), Stop> {
        self.tx.send(Ok(piece)).await.map_err(|_| Stop::Closed)
    }

    pub(super) async fn row(&mut self, cells: Vec<String>) -> Result<(), Stop> {
        self.pending.push(cells);
        self.rows += 1;
        if self.pending.len() >= ROWS_PER_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        self.send(Piece::Rows(rows)).await
    }

    /// One more school read; its rows are sent first, so progress never runs ahead of them.
    pub(super) async fn school_done(&mut self) -> Result<(), Stop> {
        self.flush().await?;
        self.schools_done += 1;
        let progress = Piece::Progress {
            schools_done: self.schools_done,
            rows_sent: self.rows,
        };
        self.send(progress).await
    }
}

/// The reading half of an export: what it writes, given its snapshot.
pub trait ExportJob: Send + Sync + 'static {
    fn write(
        &self,
        reader: &mut ExportReader,
        sink: &mut Sink,
    ) -> impl Future<Output = Result<(), Stop>> + Send;
}

/// Sends the header, runs the job on the snapshot in its own task, ends the snapshot, then
/// sends the trailer or the error. The receiver ends when the export does.
pub fn run(opened: Opened<impl ExportJob>) -> mpsc::Receiver<Result<Piece, ApiError>> {
    let Opened {
        header,
        mut reader,
        job,
    } = opened;
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        let mut sink = Sink {
            tx,
            pending: Vec::new(),
            rows: 0,
            schools_done: 0,
        };
        if sink.send(Piece::Header(header)).await.is_err() {
            return;
        }
        let result = job.write(&mut reader, &mut sink).await;
        let _ = reader.finish().await;
        let result = match result {
            Ok(()) => match sink.flush().await {
                Ok(()) => {
                    let trailer = Piece::Trailer { rows: sink.rows };
                    sink.send(trailer).await
                }
                Err(stop) => Err(stop),
            },
            Err(stop) => Err(stop),
        };
        match result {
            Ok(()) => tracing::info!(rows = sink.rows, "export sent"),
            Err(Stop::Closed) => tracing::info!(rows = sink.rows, "export abandoned by the client"),
            Err(Stop::Failed(err)) => {
                tracing::warn!(rows = sink.rows, code = err.code.as_str(), "export failed");
                let _ = sink.tx.send(Err(err)).await;
            }
        }
    });
    rx
}
