//! The `ExportService` handlers: the DfE year-to-date layout, the pupil-session extract and the
//! census termly summary, each streamed school by school.
//!
//! A handler checks the caller, resolves the parameters and opens the snapshot before it answers,
//! so a bad request or an unreachable database is an error status, not a broken stream. The
//! reading then runs in its own task that sends chunks through a small bounded channel: a slow
//! client slows the reading down rather than filling memory. Pupil-level exports record their
//! audit event before the header and each school's pupils before that school's rows leave.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use rollcall_db::export::{EnrolmentRegister, ExportReader, ExportSchool, PupilSchool};
use rollcall_db::{Access, Enrolment, NewAuditEvent, Pool, PrincipalKind, PupilAccess, Scope};
use rollcall_domain::calendar::compulsory_school_age_births;
use rollcall_domain::census::{self, CensusTerm};
use rollcall_domain::ees::{self, EesRow, EesTally, Geography, Phase, Suppression};
use rollcall_domain::{AcademicYear, Counters, LaCode, Session};
use rollcall_proto::export::v1::{
    CensusTermRequest, Column, ColumnKind, EesYearToDateRequest, ExportChunk, ExportHeader,
    ExportTrailer, Progress, PupilSessionsRequest, Row, Rows, Term, export_chunk::Part,
    export_service_server::ExportService,
};
use rollcall_server::auth::principal;
use rollcall_server::{ApiError, ErrorCode};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::grpc::{parse_la, pupil_scope, required_purpose, scope_label};

/// Rows per streamed message: large enough that framing is cheap, small enough to stay flat.
const ROWS_PER_CHUNK: usize = 1000;
/// Messages buffered between the reading task and the client.
const CHANNEL_DEPTH: usize = 4;

const PUPIL_SESSIONS_RPC: &str = "rollcall.export.v1.ExportService/PupilSessions";
const CENSUS_TERM_RPC: &str = "rollcall.export.v1.ExportService/CensusTerm";

type ChunkStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<ExportChunk, Status>> + Send>>;

pub struct Export {
    pool: Pool,
    suppression: Suppression,
}

impl Export {
    pub fn new(pool: Pool, suppression: Suppression) -> Export {
        Export { pool, suppression }
    }

    /// What a pupil-level export does before its header, once the rest of its request is
    /// checked: the caller's pupil access, the purpose, the scope, the snapshot, the schools, and
    /// the audit event (recorded before anything is read for it).
    async fn open_pupil_export(
        &self,
        caller: &rollcall_db::Principal,
        (la_code, school_urn): (&str, &str),
        purpose: &str,
        rpc: &str,
    ) -> Result<PupilExport, Status> {
        let pupils = pupil_access(caller)?;
        let purpose = required_purpose(purpose)?;
        let scope = pupil_scope(&self.pool, pupils.schools(), la_code, school_urn).await?;
        let mut reader = self.reader().await?;
        let schools = reader
            .pupil_schools(&pupils, scope)
            .await
            .map_err(|err| ApiError::database("cannot list the schools to export", &err))?;
        let event_id = audit_start(&self.pool, caller, rpc, purpose, scope).await?;
        Ok(PupilExport {
            scope,
            reader,
            schools,
            event_id,
        })
    }

    async fn reader(&self) -> Result<ExportReader, Status> {
        ExportReader::begin(&self.pool)
            .await
            .map_err(|err| ApiError::database("cannot open a snapshot to export", &err).into())
    }
}

#[tonic::async_trait]
impl ExportService for Export {
    type EesYearToDateStream = ChunkStream;
    type PupilSessionsStream = ChunkStream;
    type CensusTermStream = ChunkStream;

    async fn ees_year_to_date(
        &self,
        request: Request<EesYearToDateRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let caller = principal(&request)?;
        let access = Access::of(&caller);
        let national_role = matches!(caller.kind(), PrincipalKind::Exporter);
        let request = request.into_inner();
        if (request.regional || request.national || request.all_las) && !national_role {
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "regional, national and all-LA rows are for the exporter role",
            )
            .into());
        }
        let la_codes = match (request.all_las, request.la_codes.is_empty()) {
            (true, true) => None,
            (false, false) => {
                let mut las = Vec::new();
                for la in &request.la_codes {
                    let la = parse_la("la_codes", la)?.get() as i16;
                    if !access.covers_la(la) {
                        return Err(ApiError::outside_organisation().into());
                    }
                    las.push(la);
                }
                las.sort_unstable();
                las.dedup();
                Some(las)
            }
            _ => {
                return Err(
                    ApiError::invalid("exactly one of la_codes and all_las is required").into(),
                );
            }
        };
        let mut reader = self.reader().await?;
        let schools = reader
            .schools(&access, la_codes.as_deref())
            .await
            .map_err(|err| ApiError::database("cannot list the schools to export", &err))?;
        let urns: Vec<i32> = schools.iter().map(|s| s.urn).collect();
        let last = reader
            .last_marked_date(&urns)
            .await
            .map_err(|err| ApiError::database("cannot read the latest marks", &err))?;
        let (from, to) = year_to_date(&request.from, &request.to, last)?;
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
                column(name, kind)
            })
            .collect();
        let parameters = [
            ("export", "ees-ytd".to_owned()),
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("time_period", year.time_period()),
            ("la_codes", las_label(&las)),
            ("regional", request.regional.to_string()),
            ("national", request.national.to_string()),
            (
                "suppress_below_enrolments",
                self.suppression.below_enrolments.to_string(),
            ),
        ];
        let header = header(columns, &reader, &parameters, schools.len());
        let job = EesJob {
            schools,
            las,
            from,
            to,
            year,
            regional: request.regional,
            national: request.national,
            suppression: self.suppression,
        };
        Ok(stream(header, reader, job))
    }

    async fn pupil_sessions(
        &self,
        request: Request<PupilSessionsRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (from, to) = dates(&request.from, &request.to)?;
        let PupilExport {
            scope,
            reader,
            schools,
            event_id,
        } = self
            .open_pupil_export(
                &caller,
                (&request.la_code, &request.school_urn),
                &request.purpose,
                PUPIL_SESSIONS_RPC,
            )
            .await?;
        let columns = PUPIL_COLUMNS
            .iter()
            .chain(SESSION_COLUMNS)
            .map(|&(name, kind)| column(name, kind))
            .collect();
        let parameters = [
            ("export", "pupil-sessions".to_owned()),
            ("scope", scope_label(scope)),
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("dfe_scope", request.dfe_scope.to_string()),
            ("audit_event", event_id.to_string()),
        ];
        let header = header(columns, &reader, &parameters, schools.len());
        let job = PupilSessionsJob {
            pool: self.pool.clone(),
            event_id,
            schools,
            from,
            to,
            dfe_scope: request.dfe_scope,
        };
        Ok(stream(header, reader, job))
    }

    async fn census_term(
        &self,
        request: Request<CensusTermRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let year = AcademicYear::parse(request.academic_year.trim()).ok_or_else(|| {
            Status::from(ApiError::invalid(
                "academic_year: must be like 2025/26 or 202526",
            ))
        })?;
        let term = match request.term() {
            Term::Autumn => CensusTerm::Autumn,
            Term::Spring => CensusTerm::Spring,
            Term::Summer => CensusTerm::Summer,
            Term::Unspecified => {
                return Err(ApiError::invalid("term: autumn, spring or summer").into());
            }
        };
        let (from, to) = term.dates(year);
        let PupilExport {
            scope,
            reader,
            schools,
            event_id,
        } = self
            .open_pupil_export(
                &caller,
                (&request.la_code, &request.school_urn),
                &request.purpose,
                CENSUS_TERM_RPC,
            )
            .await?;
        let columns = census_columns()
            .into_iter()
            .map(|(name, kind)| column(name, kind))
            .collect();
        let parameters = [
            ("export", "census-term".to_owned()),
            ("scope", scope_label(scope)),
            ("academic_year", year.label()),
            ("term", term.as_str().to_owned()),
            ("term_start", from.to_string()),
            ("term_end", to.to_string()),
            ("audit_event", event_id.to_string()),
        ];
        let header = header(columns, &reader, &parameters, schools.len());
        let job = CensusJob {
            pool: self.pool.clone(),
            event_id,
            schools,
            year,
            term,
        };
        Ok(stream(header, reader, job))
    }
}

/// A pupil-level export, opened.
struct PupilExport {
    scope: Scope,
    reader: ExportReader,
    schools: Vec<PupilSchool>,
    event_id: i64,
}

fn pupil_access(caller: &rollcall_db::Principal) -> Result<PupilAccess, Status> {
    PupilAccess::of(caller).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PermissionDenied,
            "this credential may not see pupil-level data",
        )
        .into()
    })
}

/// Records the event of a pupil-level export before anything is read for it.
async fn audit_start(
    pool: &Pool,
    caller: &rollcall_db::Principal,
    rpc: &str,
    purpose: &str,
    scope: Scope,
) -> Result<i64, Status> {
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

/// A column of an export's header.
fn column(name: impl Into<String>, kind: ColumnKind) -> Column {
    Column {
        name: name.into(),
        kind: kind as i32,
    }
}

fn header(
    columns: Vec<Column>,
    reader: &ExportReader,
    parameters: &[(&str, String)],
    schools: usize,
) -> ExportHeader {
    ExportHeader {
        columns,
        as_of: reader.as_of().to_rfc3339_opts(SecondsFormat::Micros, true),
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        schools: schools as u64,
    }
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, Status> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(format!("{field}: must be a date YYYY-MM-DD")).into())
}

/// A period named by both ends, within one academic year.
fn dates(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), Status> {
    let (from, to) = (parse_date("from", from)?, parse_date("to", to)?);
    check_period(from, to)?;
    Ok((from, to))
}

/// The year-to-date period: `to` defaults to the latest date with marks (today when there are
/// none), `from` to the first day of `to`'s academic year.
fn year_to_date(
    from: &str,
    to: &str,
    last_marked: Option<NaiveDate>,
) -> Result<(NaiveDate, NaiveDate), Status> {
    let to = match to.trim() {
        "" => last_marked.unwrap_or_else(|| Utc::now().date_naive()),
        to => parse_date("to", to)?,
    };
    let from = match from.trim() {
        "" => AcademicYear::of(to).first_day(),
        from => parse_date("from", from)?,
    };
    check_period(from, to)?;
    Ok((from, to))
}

fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), Status> {
    if from > to {
        return Err(ApiError::invalid("from: after to").into());
    }
    if AcademicYear::of(from) != AcademicYear::of(to) {
        return Err(ApiError::invalid("to: must be in the same academic year as from").into());
    }
    Ok(())
}

/// Why an export's stream ended early.
enum Stop {
    /// The client went away: nothing to tell anyone.
    Closed,
    Failed(Status),
}

impl From<rollcall_db::Error> for Stop {
    fn from(err: rollcall_db::Error) -> Stop {
        Stop::Failed(ApiError::database("cannot read the data to export", &err).into())
    }
}

/// The sending half of an export: gathers rows into chunks and counts them.
struct Sink {
    tx: mpsc::Sender<Result<ExportChunk, Status>>,
    pending: Vec<Row>,
    rows: u64,
    schools_done: u64,
}

impl Sink {
    async fn send(&mut self, part: Part) -> Result<(), Stop> {
        self.tx
            .send(Ok(ExportChunk { part: Some(part) }))
            .await
            .map_err(|_| Stop::Closed)
    }

    async fn row(&mut self, cells: Vec<String>) -> Result<(), Stop> {
        self.pending.push(Row { cells });
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
        self.send(Part::Rows(Rows { rows })).await
    }

    /// One more school read; its rows are sent first, so progress never runs ahead of them.
    async fn school_done(&mut self) -> Result<(), Stop> {
        self.flush().await?;
        self.schools_done += 1;
        let progress = Progress {
            schools_done: self.schools_done,
            rows_sent: self.rows,
        };
        self.send(Part::Progress(progress)).await
    }
}

/// Sends the header, runs `job` on the snapshot in its own task, ends the snapshot, then sends
/// the trailer or the error.
/// The reading half of an export: what it writes, given its snapshot.
trait ExportJob: Send + Sync + 'static {
    fn write(
        &self,
        reader: &mut ExportReader,
        sink: &mut Sink,
    ) -> impl Future<Output = Result<(), Stop>> + Send;
}

fn stream(
    header: ExportHeader,
    mut reader: ExportReader,
    job: impl ExportJob,
) -> Response<ChunkStream> {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        let mut sink = Sink {
            tx,
            pending: Vec::new(),
            rows: 0,
            schools_done: 0,
        };
        if sink.send(Part::Header(header)).await.is_err() {
            return;
        }
        let result = job.write(&mut reader, &mut sink).await;
        let _ = reader.finish().await;
        let result = match result {
            Ok(()) => match sink.flush().await {
                Ok(()) => {
                    let trailer = ExportTrailer { rows: sink.rows };
                    sink.send(Part::Trailer(trailer)).await
                }
                Err(stop) => Err(stop),
            },
            Err(stop) => Err(stop),
        };
        match result {
            Ok(()) => tracing::info!(rows = sink.rows, "export sent"),
            Err(Stop::Closed) => tracing::info!(rows = sink.rows, "export abandoned by the client"),
            Err(Stop::Failed(status)) => {
                tracing::warn!(rows = sink.rows, code = ?status.code(), "export failed");
                let _ = sink.tx.send(Err(status)).await;
            }
        }
    });
    Response::new(Box::pin(ReceiverStream::new(rx)))
}

/// Days of a period, as a bit set indexed from its first day.
struct DaySet {
    first: NaiveDate,
    bits: Vec<u64>,
}

impl DaySet {
    fn new(from: NaiveDate, to: NaiveDate) -> DaySet {
        let days = (to - from).num_days() as usize + 1;
        DaySet {
            first: from,
            bits: vec![0; days.div_ceil(64)],
        }
    }

    /// Adds `date`; whether it was new.
    fn insert(&mut self, date: NaiveDate) -> bool {
        let i = (date - self.first).num_days() as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        new
    }

    fn union(&mut self, other: &DaySet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
    }

    fn len(&self) -> u64 {
        self.bits.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// Each stored mark of `enrolment` dated within `from..=to`, in date and session order.
fn marks_within<'a>(
    enrolment: &'a EnrolmentRegister,
    from: NaiveDate,
    to: NaiveDate,
) -> impl Iterator<Item = (NaiveDate, i16, rollcall_db::register::SlotMark)> + 'a {
    enrolment.months.iter().flat_map(move |(month, register)| {
        register.marks().filter_map(move |(slot, mark)| {
            let (date, session) = rollcall_db::register::session_of(*month, slot);
            (from <= date && date <= to).then_some((date, session, mark))
        })
    })
}

/// One school's figures for the year-to-date layout, and the days it has marks on.
fn tally_school(
    reader: &ExportReader,
    registers: &[EnrolmentRegister],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(EesTally, DaySet), rollcall_db::Error> {
    let mut tally = EesTally::default();
    let mut days = DaySet::new(from, to);
    for enrolment in registers {
        let mut counters = Counters::default();
        let mut last_day = None;
        for (date, _, mark) in marks_within(enrolment, from, to) {
            counters.add(reader.code(mark.code_id)?, 1);
            if last_day != Some(date) {
                last_day = Some(date);
                tally.enrolment_days += 1;
                days.insert(date);
            }
        }
        tally.add_enrolment(&counters);
    }
    tally.school_days = days.len();
    tally.schools = u64::from(tally.enrolments > 0);
    Ok((tally, days))
}

struct EesJob {
    schools: Vec<ExportSchool>,
    las: Vec<i16>,
    from: NaiveDate,
    to: NaiveDate,
    year: AcademicYear,
    regional: bool,
    national: bool,
    suppression: Suppression,
}

impl ExportJob for EesJob {
    async fn write(&self, reader: &mut ExportReader, sink: &mut Sink) -> Result<(), Stop> {
        let births = compulsory_school_age_births(self.year);
        let mut school_days = DaySet::new(self.from, self.to);
        let mut tallies: BTreeMap<i16, [EesTally; 3]> = self
            .las
            .iter()
            .map(|&la| (la, Default::default()))
            .collect();
        for school in &self.schools {
            if let Some(phase) = Phase::of_school(&school.phase, school.independent) {
                let registers = reader
                    .registers(school, self.from, self.to, Some(births))
                    .await?;
                let (tally, days) = tally_school(reader, &registers, self.from, self.to)?;
                school_days.union(&days);
                tallies.entry(school.la_code).or_default()[phase.index()].add(&tally);
            }
            sink.school_done().await?;
        }
        let school_days = school_days.len();
        let rows_of = |geography, phases: &[EesTally; 3]| {
            ees::geography_rows(self.year, geography, phases, school_days, self.suppression)
        };
        let mut rows: Vec<EesRow> = Vec::new();
        let mut regions: BTreeMap<&'static str, [EesTally; 3]> = BTreeMap::new();
        let mut nation: [EesTally; 3] = Default::default();
        for (&la, phases) in &tallies {
            let la = LaCode::new(la as u16).map_err(|err| {
                Stop::Failed(ApiError::internal("a stored la code is not valid", &err).into())
            })?;
            rows.extend(rows_of(Geography::LocalAuthority(la), phases));
            let region = la.region_code().unwrap_or("");
            for (i, tally) in phases.iter().enumerate() {
                regions.entry(region).or_default()[i].add(tally);
                nation[i].add(tally);
            }
        }
        if self.regional {
            for (region, phases) in &regions {
                if !region.is_empty() {
                    rows.extend(rows_of(Geography::Regional(region), phases));
                }
            }
        }
        if self.national {
            rows.extend(rows_of(Geography::National, &nation));
        }
        // As the DfE orders its file: by phase, then local authorities, regions, the nation.
        let level = |g: &Geography| match g {
            Geography::LocalAuthority(_) => 0,
            Geography::Regional(_) => 1,
            Geography::National => 2,
        };
        rows.sort_by(|a, b| {
            (a.phase, level(&a.geography), a.geography).cmp(&(
                b.phase,
                level(&b.geography),
                b.geography,
            ))
        });
        for row in rows {
            sink.row(row.cells().iter().map(ToString::to_string).collect())
                .await?;
        }
        Ok(())
    }
}

/// The pupil's details every pupil-level export carries (DOMAIN.md section 5).
const PUPIL_COLUMNS: &[(&str, ColumnKind)] = &[
    ("school_urn", ColumnKind::Text),
    ("la_code", ColumnKind::Text),
    ("upn", ColumnKind::Text),
    ("forename", ColumnKind::Text),
    ("surname", ColumnKind::Text),
    ("date_of_birth", ColumnKind::Date),
    ("sex", ColumnKind::Text),
    ("year_group", ColumnKind::Text),
    ("ethnicity", ColumnKind::Text),
    ("fsm", ColumnKind::Text),
    ("sen_provision", ColumnKind::Text),
    ("looked_after", ColumnKind::Text),
    ("admission_date", ColumnKind::Date),
    ("leaving_date", ColumnKind::Date),
];

const SESSION_COLUMNS: &[(&str, ColumnKind)] = &[
    ("date", ColumnKind::Date),
    ("session", ColumnKind::Text),
    ("code", ColumnKind::Text),
    ("category", ColumnKind::Text),
    ("minutes_late", ColumnKind::Integer),
    ("recorded_at", ColumnKind::Timestamp),
];

fn pupil_cells(school: &ExportSchool, e: &Enrolment) -> Vec<String> {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    vec![
        format!("{:06}", school.urn),
        format!("{:03}", school.la_code),
        e.upn.clone(),
        text(&e.forename),
        text(&e.surname),
        date(e.date_of_birth),
        text(&e.sex),
        text(&e.year_group),
        text(&e.ethnicity),
        flag(e.fsm),
        text(&e.sen_provision),
        flag(e.looked_after),
        date(e.admission_date),
        date(e.leaving_date),
    ]
}

/// The months of a period, each as the part of the period within it.
fn months_of(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let month = rollcall_db::register::month_of(start);
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .expect("a date within range");
        let end = (next - Days::new(1)).min(to);
        out.push((start, end));
        start = next;
    }
    out
}

/// A school's pupils by enrolment id, and when each of its feeds was recorded by feed number.
struct SchoolDetails {
    pupils: HashMap<i64, Enrolment>,
    feed_times: HashMap<i32, DateTime<Utc>>,
}

struct PupilSessionsJob {
    pool: Pool,
    event_id: i64,
    schools: Vec<PupilSchool>,
    from: NaiveDate,
    to: NaiveDate,
    dfe_scope: bool,
}

impl ExportJob for PupilSessionsJob {
    /// School by school and month by month, so at most one school's month is held: rows go out
    /// in school, date, session and enrolment order.
    async fn write(&self, reader: &mut ExportReader, sink: &mut Sink) -> Result<(), Stop> {
        let births = self
            .dfe_scope
            .then(|| compulsory_school_age_births(AcademicYear::of(self.from)));
        for pupil_school in &self.schools {
            let school = pupil_school.school();
            if self.dfe_scope && Phase::of_school(&school.phase, school.independent).is_none() {
                sink.school_done().await?;
                continue;
            }
            // Read once the school has a month with marks: pupils and their feeds' times.
            let mut details: Option<SchoolDetails> = None;
            for (from, to) in months_of(self.from, self.to) {
                let registers = reader.registers(school, from, to, births).await?;
                if registers.is_empty() {
                    continue;
                }
                if details.is_none() {
                    details = Some(SchoolDetails {
                        pupils: reader.enrolments(pupil_school).await?,
                        feed_times: reader.feed_times(pupil_school).await?,
                    });
                }
                let SchoolDetails { pupils, feed_times } = details.as_ref().expect("read above");
                let shown: Vec<i64> = registers
                    .iter()
                    .filter(|e| marks_within(e, from, to).next().is_some())
                    .map(|e| e.enrolment_id)
                    .collect();
                // Recorded, and committed, before these pupils' rows leave.
                rollcall_db::append_audit_enrolments(&self.pool, self.event_id, &shown).await?;
                let mut by_session: BTreeMap<(NaiveDate, i16), Vec<(i64, _)>> = BTreeMap::new();
                for enrolment in &registers {
                    for (date, session, mark) in marks_within(enrolment, from, to) {
                        by_session
                            .entry((date, session))
                            .or_default()
                            .push((enrolment.enrolment_id, mark));
                    }
                }
                for ((date, session), marks) in by_session {
                    for (enrolment_id, mark) in marks {
                        let Some(pupil) = pupils.get(&enrolment_id) else {
                            continue;
                        };
                        let code = reader.code(mark.code_id)?;
                        let mut cells = pupil_cells(school, pupil);
                        cells.extend([
                            date.to_string(),
                            session_label(session).to_owned(),
                            code.code().to_owned(),
                            code.category().as_str().to_owned(),
                            mark.minutes_late.map(|m| m.to_string()).unwrap_or_default(),
                            feed_times
                                .get(&mark.feed_seq)
                                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                                .unwrap_or_default(),
                        ]);
                        sink.row(cells).await?;
                    }
                }
            }
            sink.school_done().await?;
        }
        Ok(())
    }
}

fn session_label(session: i16) -> &'static str {
    if session == 0 {
        Session::Am.as_str()
    } else {
        Session::Pm.as_str()
    }
}

/// The census summary's columns: the pupil, the term, then sessions possible and absence by
/// reason (every absence code of the code table, retired ones included).
fn census_columns() -> Vec<(String, ColumnKind)> {
    let mut columns: Vec<(String, ColumnKind)> = PUPIL_COLUMNS
        .iter()
        .map(|&(name, kind)| (name.to_owned(), kind))
        .collect();
    for (name, kind) in [
        ("academic_year", ColumnKind::Text),
        ("term", ColumnKind::Text),
        ("term_start", ColumnKind::Date),
        ("term_end", ColumnKind::Date),
        ("sessions_possible", ColumnKind::Integer),
        ("authorised_absence", ColumnKind::Integer),
        ("unauthorised_absence", ColumnKind::Integer),
    ] {
        columns.push((name.to_owned(), kind));
    }
    columns
        .extend(census::absence_codes().map(|c| (census::absence_column(c), ColumnKind::Integer)));
    columns
}

struct CensusJob {
    pool: Pool,
    event_id: i64,
    schools: Vec<PupilSchool>,
    year: AcademicYear,
    term: CensusTerm,
}

impl ExportJob for CensusJob {
    async fn write(&self, reader: &mut ExportReader, sink: &mut Sink) -> Result<(), Stop> {
        let (from, to) = self.term.dates(self.year);
        for pupil_school in &self.schools {
            let school = pupil_school.school();
            let registers = reader.registers(school, from, to, None).await?;
            let mut rows: Vec<(i64, Counters)> = Vec::new();
            for enrolment in &registers {
                let mut counters = Counters::default();
                for (_, _, mark) in marks_within(enrolment, from, to) {
                    counters.add(reader.code(mark.code_id)?, 1);
                }
                if counters.possible() > 0 {
                    rows.push((enrolment.enrolment_id, counters));
                }
            }
            if !rows.is_empty() {
                let pupils = reader.enrolments(pupil_school).await?;
                let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
                rollcall_db::append_audit_enrolments(&self.pool, self.event_id, &ids).await?;
                for (enrolment_id, counters) in rows {
                    let Some(pupil) = pupils.get(&enrolment_id) else {
                        continue;
                    };
                    let mut cells = pupil_cells(school, pupil);
                    cells.extend([
                        self.year.label(),
                        self.term.as_str().to_owned(),
                        from.to_string(),
                        to.to_string(),
                        counters.possible().to_string(),
                        counters.authorised().to_string(),
                        counters.unauthorised().to_string(),
                    ]);
                    cells.extend(census::absence_codes().map(|c| counters.count(c).to_string()));
                    sink.row(cells).await?;
                }
            }
            sink.school_done().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_period_splits_into_its_months() {
        assert_eq!(
            months_of(d("2025-09-15"), d("2025-11-03")),
            vec![
                (d("2025-09-15"), d("2025-09-30")),
                (d("2025-10-01"), d("2025-10-31")),
                (d("2025-11-01"), d("2025-11-03")),
            ]
        );
        assert_eq!(
            months_of(d("2026-02-01"), d("2026-02-01")),
            vec![(d("2026-02-01"), d("2026-02-01"))]
        );
    }

    #[test]
    fn year_to_date_defaults_and_limits() {
        let (from, to) = year_to_date("", "", Some(d("2025-11-20"))).unwrap();
        assert_eq!((from, to), (d("2025-09-01"), d("2025-11-20")));
        assert!(year_to_date("2025-07-01", "2025-09-10", None).is_err());
        assert!(year_to_date("2025-10-01", "2025-09-10", None).is_err());
    }

    #[test]
    fn day_sets_count_each_day_once() {
        let mut days = DaySet::new(d("2025-09-01"), d("2026-08-31"));
        assert!(days.insert(d("2025-09-01")));
        assert!(!days.insert(d("2025-09-01")));
        assert!(days.insert(d("2026-08-31")));
        let mut other = DaySet::new(d("2025-09-01"), d("2026-08-31"));
        other.insert(d("2025-12-25"));
        other.insert(d("2026-08-31"));
        days.union(&other);
        assert_eq!(days.len(), 3);
    }
}
