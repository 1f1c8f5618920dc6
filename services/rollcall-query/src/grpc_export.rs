//! The `ExportService` handlers: each turns its request into the domain's terms, opens the export
//! (`export.rs`: the caller's rights, the parameters, the snapshot) and streams its pieces as
//! messages. The only place in the exports that sees protobuf types.

use std::pin::Pin;

use chrono::SecondsFormat;
use rollcall_domain::AcademicYear;
use rollcall_domain::census::CensusTerm;
use rollcall_domain::ees::Suppression;
use rollcall_proto::export::v1::{
    CensusTermRequest, Column, ColumnKind, EesYearToDateRequest, ExportChunk, ExportHeader,
    ExportTrailer, Progress, PupilSessionsRequest, Row, Rows, Term, export_chunk::Part,
    export_service_server::ExportService,
};
use rollcall_server::ApiError;
use rollcall_server::auth::principal;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::export::{self, ExportJob, Opened, Piece, PupilRequest};

type ChunkStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<ExportChunk, Status>> + Send>>;

pub struct Export {
    pool: rollcall_db::Pool,
    suppression: Suppression,
}

impl Export {
    pub fn new(pool: rollcall_db::Pool, suppression: Suppression) -> Export {
        Export { pool, suppression }
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
        let request = request.into_inner();
        let opened = export::ees_year_to_date(
            &self.pool,
            &caller,
            self.suppression,
            export::EesRequest {
                la_codes: &request.la_codes,
                all_las: request.all_las,
                regional: request.regional,
                national: request.national,
                from: &request.from,
                to: &request.to,
                as_at: &request.as_at,
            },
        )
        .await?;
        Ok(stream(opened))
    }

    async fn pupil_sessions(
        &self,
        request: Request<PupilSessionsRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let opened = export::pupil_sessions(
            &self.pool,
            &caller,
            pupils(
                &request.la_code,
                &request.school_urn,
                &request.purpose,
                &request.as_at,
            ),
            (&request.from, &request.to),
            request.dfe_scope,
        )
        .await?;
        Ok(stream(opened))
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
        let opened = export::census_term(
            &self.pool,
            &caller,
            pupils(
                &request.la_code,
                &request.school_urn,
                &request.purpose,
                &request.as_at,
            ),
            year,
            term,
        )
        .await?;
        Ok(stream(opened))
    }
}

/// The pupils a pupil-level request names, why, and as at when.
fn pupils<'a>(
    la_code: &'a str,
    school_urn: &'a str,
    purpose: &'a str,
    as_at: &'a str,
) -> PupilRequest<'a> {
    PupilRequest {
        la_code,
        school_urn,
        purpose,
        as_at,
    }
}

/// Runs the export and streams its pieces as messages, its error as the stream's status.
fn stream(opened: Opened<impl ExportJob>) -> Response<ChunkStream> {
    let chunks = ReceiverStream::new(export::run(opened)).map(|piece| {
        piece
            .map(|piece| ExportChunk {
                part: Some(part(piece)),
            })
            .map_err(Status::from)
    });
    Response::new(Box::pin(chunks))
}

fn part(piece: Piece) -> Part {
    match piece {
        Piece::Header(header) => Part::Header(ExportHeader {
            columns: header
                .columns
                .into_iter()
                .map(|(name, kind)| Column {
                    name,
                    kind: column_kind(kind) as i32,
                })
                .collect(),
            as_of: header.as_of.to_rfc3339_opts(SecondsFormat::Micros, true),
            parameters: header
                .parameters
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            schools: header.schools as u64,
        }),
        Piece::Rows(rows) => Part::Rows(Rows {
            rows: rows.into_iter().map(|cells| Row { cells }).collect(),
        }),
        Piece::Progress {
            schools_done,
            rows_sent,
        } => Part::Progress(Progress {
            schools_done,
            rows_sent,
        }),
        Piece::Trailer { rows } => Part::Trailer(ExportTrailer { rows }),
    }
}

fn column_kind(kind: export::ColumnKind) -> ColumnKind {
    match kind {
        export::ColumnKind::Text => ColumnKind::Text,
        export::ColumnKind::Integer => ColumnKind::Integer,
        export::ColumnKind::Decimal => ColumnKind::Decimal,
        export::ColumnKind::Date => ColumnKind::Date,
        export::ColumnKind::Timestamp => ColumnKind::Timestamp,
    }
}
