//! The `PipelineService`, for operations watching the pipeline: how far feeds have got, the
//! records validation rejected grouped by finding code, sender and school (and each group's
//! records by position and rule), and the feeds the database refused for good, with their
//! replay. Nothing here answers with a value a record held, or with a school's figures.

use chrono::{DateTime, Duration, Utc};
use rollcall_db::{GroupKey, Pool, ReplayRequest};
use rollcall_domain::Urn;
use rollcall_proto::query::v1::{
    DeadLetter, DeadLetterGroup, ListDeadLetterGroupsRequest, ListDeadLetterGroupsResponse,
    ListDeadLettersRequest, ListDeadLettersResponse, ListParkedFeedsRequest,
    ListParkedFeedsResponse, ParkedFeed, PipelineCountsRequest, PipelineCountsResponse,
    ReplayParkedFeedRequest, ReplayParkedFeedResponse, pipeline_service_server::PipelineService,
};
use rollcall_server::{ApiError, ErrorCode};
use tonic::{Request, Response, Status};

use crate::grpc_admin::rfc3339;

/// How far back dead letters are read when the request names no time.
const DEFAULT_WINDOW_DAYS: i64 = 7;
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

pub struct Pipeline {
    pool: Pool,
}

impl Pipeline {
    pub fn new(pool: Pool) -> Pipeline {
        Pipeline { pool }
    }
}

#[tonic::async_trait]
impl PipelineService for Pipeline {
    async fn pipeline_counts(
        &self,
        _request: Request<PipelineCountsRequest>,
    ) -> Result<Response<PipelineCountsResponse>, Status> {
        let counts = rollcall_db::pipeline_counts(&self.pool)
            .await
            .map_err(|err| ApiError::database("cannot read pipeline counts", &err))?;
        let n = |v: i64| v.max(0) as u64;
        Ok(Response::new(PipelineCountsResponse {
            feeds_received: n(counts.feeds_received),
            feeds_enqueued: n(counts.feeds_enqueued),
            feeds_processed: n(counts.feeds_processed),
            marks_stored: n(counts.marks_stored),
            feeds_parked: n(counts.feeds_parked),
        }))
    }

    async fn list_dead_letter_groups(
        &self,
        request: Request<ListDeadLetterGroupsRequest>,
    ) -> Result<Response<ListDeadLetterGroupsResponse>, Status> {
        let since = since(&request.get_ref().since)?;
        let groups = rollcall_db::dead_letter_groups(&self.pool, since)
            .await
            .map_err(|err| ApiError::database("cannot read dead letters", &err))?;
        Ok(Response::new(ListDeadLetterGroupsResponse {
            groups: groups
                .into_iter()
                .map(|g| DeadLetterGroup {
                    code: g.code,
                    sender: g.sender,
                    school_urn: format!("{:06}", g.school_urn),
                    records: g.records.max(0) as u64,
                    feeds: g.feeds.max(0) as u64,
                    first_seen: rfc3339(g.first_seen),
                    last_seen: rfc3339(g.last_seen),
                })
                .collect(),
            since: rfc3339(since),
        }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let request = request.into_inner();
        let since = since(&request.since)?;
        let urn = Urn::parse(request.school_urn.trim())
            .map_err(|_| ApiError::invalid("school_urn: must be a URN of 6 digits"))?;
        let group = GroupKey {
            code: request.code.trim().to_owned(),
            sender: request.sender.trim().to_owned(),
            school_urn: urn.get() as i32,
        };
        let size = match request.page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let after = page_token(&request.page_token)?;
        let mut rows =
            rollcall_db::dead_letters(&self.pool, &group, since, after, i64::from(size) + 1)
                .await
                .map_err(|err| ApiError::database("cannot read dead letters", &err))?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some((_, (seq, ordinal)))) => format!("{seq}.{ordinal}"),
            _ => String::new(),
        };
        Ok(Response::new(ListDeadLettersResponse {
            records: rows
                .into_iter()
                .map(|(r, _)| DeadLetter {
                    feed_id: r.feed_id.to_string(),
                    received_at: rfc3339(r.received_at),
                    record_kind: r.record_kind,
                    record_index: r.record_index.max(0) as u32,
                    field: r.field,
                    message: r.message,
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn list_parked_feeds(
        &self,
        _request: Request<ListParkedFeedsRequest>,
    ) -> Result<Response<ListParkedFeedsResponse>, Status> {
        let rows = rollcall_db::parked_feeds(&self.pool)
            .await
            .map_err(|err| ApiError::database("cannot read parked feeds", &err))?;
        let text = |s: Option<String>| s.unwrap_or_default();
        let time = |t: Option<DateTime<Utc>>| t.map(rfc3339).unwrap_or_default();
        Ok(Response::new(ListParkedFeedsResponse {
            feeds: rows
                .into_iter()
                .map(|p| ParkedFeed {
                    id: p.id,
                    feed_id: p.feed_id.map(|id| id.to_string()).unwrap_or_default(),
                    school_urn: p.school_urn.map(|u| format!("{u:06}")).unwrap_or_default(),
                    parked_at: rfc3339(p.parked_at),
                    attempts: p.attempts.max(0) as u32,
                    sqlstate: text(p.sqlstate),
                    reason: p.reason,
                    table_name: text(p.table_name),
                    column_name: text(p.column_name),
                    constraint_name: text(p.constraint_name),
                    field: text(p.field),
                    replay_requested_at: time(p.replay_requested_at),
                    replayed_at: time(p.replayed_at),
                })
                .collect(),
        }))
    }

    async fn replay_parked_feed(
        &self,
        request: Request<ReplayParkedFeedRequest>,
    ) -> Result<Response<ReplayParkedFeedResponse>, Status> {
        let operator = rollcall_server::auth::principal(&request)?;
        let id = request.into_inner().id;
        let outcome = rollcall_db::request_replay(&self.pool, id)
            .await
            .map_err(|err| ApiError::database("cannot ask for the replay", &err))?;
        let outcome = match outcome {
            ReplayRequest::Requested => "requested",
            ReplayRequest::AlreadyReplayed => "already_replayed",
            ReplayRequest::NotFound => {
                return Err(
                    ApiError::new(ErrorCode::NotFound, "no parked feed has this id").into(),
                );
            }
        };
        tracing::info!(
            parked = id,
            key_id = operator.key_id(),
            outcome,
            "parked feed replay asked for"
        );
        Ok(Response::new(ReplayParkedFeedResponse {
            outcome: outcome.to_owned(),
        }))
    }
}

/// The start of the window a dead-letter request covers: `since` (RFC 3339), or the last week.
fn since(s: &str) -> Result<DateTime<Utc>, ApiError> {
    Ok(crate::period::as_at("since", s)?
        .unwrap_or_else(|| Utc::now() - Duration::days(DEFAULT_WINDOW_DAYS)))
}

/// A page token as `list_dead_letters` writes it: the last record's feed `seq` and finding
/// ordinal.
fn page_token(token: &str) -> Result<Option<(i32, i32)>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || ApiError::invalid("page_token: not a token this service gave");
    let (seq, ordinal) = token.split_once('.').ok_or_else(invalid)?;
    Ok(Some((
        seq.parse().map_err(|_| invalid())?,
        ordinal.parse().map_err(|_| invalid())?,
    )))
}
