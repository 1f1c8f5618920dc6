//! The `PipelineService`, for operations watching the pipeline: how far feeds have got, the
//! records validation rejected grouped by finding code, sender and school (and each group's
//! records by position and rule), and the feeds the database refused for good, with their
//! replay, and school replays (a school's feeds validated again). Nothing here answers with a value a record held, or with a school's figures.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rollcall_db::{CalendarRow, GroupKey, Pool, ReplayRequest, SchoolReplayRow};
use rollcall_domain::school_days::{DayKind, DayRange, SchoolCalendar};
use rollcall_domain::{AcademicYear, LaCode, Urn};
use rollcall_proto::query::v1::{
    CalendarRange, CodeCount, CodeDelta, DeadLetter, DeadLetterGroup, GetSchoolReplayRequest,
    ListDeadLetterGroupsRequest, ListDeadLetterGroupsResponse, ListDeadLettersRequest,
    ListDeadLettersResponse, ListParkedFeedsRequest, ListParkedFeedsResponse, ParkedFeed,
    PipelineCountsRequest, PipelineCountsResponse, ReplayCounts, ReplayParkedFeedRequest,
    ReplayParkedFeedResponse, ReplayedFeed, RequestSchoolReplayRequest,
    RequestSchoolReplayResponse, SchoolReplay, SchoolStatus, SchoolStatusRequest,
    SchoolStatusResponse, SenderStatus, SenderStatusRequest, SenderStatusResponse,
    pipeline_service_server::PipelineService,
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

    async fn school_status(
        &self,
        request: Request<SchoolStatusRequest>,
    ) -> Result<Response<SchoolStatusResponse>, Status> {
        let request = request.into_inner();
        let la = LaCode::parse(request.la_code.trim())
            .map_err(|_| ApiError::invalid("la_code: must be an LA code of 3 digits"))?;
        let on = match request.on.trim() {
            "" => rollcall_domain::calendar::london_date(Utc::now()),
            s => crate::period::parse_date("on", s)?,
        };
        let response = school_statuses(
            &self.pool,
            la.get() as i16,
            on,
            request.quiet_after_days.max(1),
            request.quiet_only,
        )
        .await
        .map_err(|err| ApiError::database("cannot read the schools' feeds", &err))?;
        Ok(Response::new(response))
    }

    async fn sender_status(
        &self,
        request: Request<SenderStatusRequest>,
    ) -> Result<Response<SenderStatusResponse>, Status> {
        let since = since(&request.get_ref().since)?;
        let (senders, rejections) = tokio::try_join!(
            rollcall_db::sender_feeds(&self.pool, since),
            rollcall_db::sender_rejections(&self.pool, since),
        )
        .map_err(|err| ApiError::database("cannot read the senders' feeds", &err))?;
        let mut by_sender: BTreeMap<String, Vec<CodeCount>> = BTreeMap::new();
        for (sender, code, findings) in rejections {
            by_sender.entry(sender).or_default().push(CodeCount {
                code,
                findings: findings.max(0) as u64,
            });
        }
        Ok(Response::new(SenderStatusResponse {
            senders: senders
                .into_iter()
                .map(|s| {
                    let records = s.records.max(0) as u64;
                    let rejected = s.records_rejected.max(0) as u64;
                    SenderStatus {
                        rejections: by_sender.remove(&s.sender).unwrap_or_default(),
                        sender: s.sender,
                        feeds: s.feeds.max(0) as u64,
                        records,
                        records_rejected: rejected,
                        rejected_share: if records == 0 {
                            0.0
                        } else {
                            rejected as f64 / records as f64
                        },
                        latest_error: s.latest_error.unwrap_or_default(),
                        latest_error_at: s.latest_error_at.map(rfc3339).unwrap_or_default(),
                    }
                })
                .collect(),
            since: rfc3339(since),
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

    async fn request_school_replay(
        &self,
        request: Request<RequestSchoolReplayRequest>,
    ) -> Result<Response<RequestSchoolReplayResponse>, Status> {
        let operator = rollcall_server::auth::principal(&request)?;
        let request = request.into_inner();
        let urn = Urn::parse(request.school_urn.trim())
            .map_err(|_| ApiError::invalid("school_urn: must be a URN of 6 digits"))?;
        let from = match request.from.trim() {
            "" => None,
            s => Some(crate::period::parse_date("from", s)?),
        };
        let id =
            rollcall_db::request_school_replay(&self.pool, urn.get() as i32, from, request.dry_run)
                .await
                .map_err(|err| ApiError::database("cannot ask for the replay", &err))?;
        tracing::info!(
            replay = id,
            school = urn.get(),
            dry_run = request.dry_run,
            key_id = operator.key_id(),
            "school replay asked for"
        );
        Ok(Response::new(RequestSchoolReplayResponse { id }))
    }

    async fn get_school_replay(
        &self,
        request: Request<GetSchoolReplayRequest>,
    ) -> Result<Response<SchoolReplay>, Status> {
        let id = request.get_ref().id;
        let row = rollcall_db::get_school_replay(&self.pool, id)
            .await
            .map_err(|err| ApiError::database("cannot read the replay", &err))?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no school replay has this id"))?;
        Ok(Response::new(school_replay(row)))
    }
}

/// A school replay as operations read it.
fn school_replay(row: SchoolReplayRow) -> SchoolReplay {
    let count = |n: i32| n.max(0) as u32;
    let counts = |c: rollcall_db::Counts| ReplayCounts {
        roll_accepted: c.roll_accepted,
        roll_rejected: c.roll_rejected,
        marks_accepted: c.marks_accepted,
        marks_rejected: c.marks_rejected,
    };
    let changes = row.changes.map(|c| c.0).unwrap_or_default();
    SchoolReplay {
        id: row.id,
        school_urn: format!("{:06}", row.school_urn),
        from: row.from_date.map(|d| d.to_string()).unwrap_or_default(),
        dry_run: row.dry_run,
        status: row.status,
        requested_at: rfc3339(row.requested_at),
        finished_at: row.finished_at.map(rfc3339).unwrap_or_default(),
        feeds_found: count(row.feeds_found),
        feeds_read: count(row.feeds_read),
        feeds_gone: count(row.feeds_gone),
        feeds_applied: u32::try_from(row.feeds_applied.max(0)).unwrap_or(u32::MAX),
        feeds: changes
            .feeds
            .into_iter()
            .map(|f| ReplayedFeed {
                feed_id: f.feed_id.to_string(),
                received_at: rfc3339(f.received_at),
                before: Some(counts(f.before)),
                after: Some(counts(f.after)),
                marks_written: f.marks_written,
                refused: f.refused.unwrap_or_default(),
            })
            .collect(),
        marks_written: changes.marks_written,
        enrolments_added: changes.enrolments_added,
        enrolments_changed: changes.enrolments_changed,
        sessions_by_code: changes
            .sessions_by_code
            .into_iter()
            .map(|(code, sessions)| CodeDelta { code, sessions })
            .collect(),
        error: row.error.unwrap_or_default(),
    }
}

/// Each school of LA `la_code` as judged on `on`: quiet after `quiet_after` of its register days
/// without a feed (`quiet_only`: only those), quiet schools first. Also what `quiet.rs` counts.
pub(crate) async fn school_statuses(
    pool: &Pool,
    la_code: i16,
    on: NaiveDate,
    quiet_after: u32,
    quiet_only: bool,
) -> rollcall_db::Result<SchoolStatusResponse> {
    let (schools, calendars) = tokio::try_join!(
        rollcall_db::school_feeds(pool, la_code),
        rollcall_db::calendars_of_la(pool, la_code),
    )?;
    let la_ranges: Vec<DayRange> = calendars
        .iter()
        .filter(|c| c.la_code.is_some())
        .map(|c| c.range)
        .collect();
    let mut own: BTreeMap<i32, Vec<DayRange>> = BTreeMap::new();
    for c in &calendars {
        if let Some(urn) = c.school_urn {
            own.entry(urn).or_default().push(c.range);
        }
    }
    // Registers up to yesterday are due; the year's first day stands in for a school that never
    // sent anything.
    let due_through = on.pred_opt().unwrap_or(on);
    let year_start = AcademicYear::of(on).first_day().pred_opt().unwrap_or(on);
    let mut response = SchoolStatusResponse {
        on: on.to_string(),
        quiet_after_days: quiet_after,
        ..Default::default()
    };
    for school in schools {
        let calendar =
            SchoolCalendar::of(&la_ranges, own.get(&school.urn).map_or(&[], Vec::as_slice));
        let last_day = school
            .last_received_at
            .map(rollcall_domain::calendar::london_date);
        let without_feed = calendar.open_days(last_day.unwrap_or(year_start), due_through);
        let overdue = calendar.open_days(school.latest_date.unwrap_or(year_start), due_through);
        let quiet = without_feed >= quiet_after;
        response.pending_feeds += school.pending_feeds.max(0) as u64;
        response.pending_marks += school.pending_marks.max(0) as u64;
        response.quiet_schools += u64::from(quiet);
        if quiet_only && !quiet {
            continue;
        }
        response.schools.push(SchoolStatus {
            urn: format!("{:06}", school.urn),
            name: school.name,
            independent: school.independent,
            last_sender: school.last_sender.unwrap_or_default(),
            last_received_at: school.last_received_at.map(rfc3339).unwrap_or_default(),
            latest_register_date: school
                .latest_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            school_days_overdue: overdue,
            school_days_without_feed: without_feed,
            quiet,
            pending_feeds: school.pending_feeds.max(0) as u64,
            pending_marks: school.pending_marks.max(0) as u64,
            calendar: calendar.source.as_str().to_owned(),
        });
    }
    // Quiet schools first, the longest quiet first.
    response.schools.sort_by(|a, b| {
        b.quiet
            .cmp(&a.quiet)
            .then(b.school_days_without_feed.cmp(&a.school_days_without_feed))
            .then(a.urn.cmp(&b.urn))
    });
    Ok(response)
}

/// One calendar range as imported, checked.
pub(crate) fn calendar_row(range: &CalendarRange) -> Result<CalendarRow, String> {
    let scope = range.scope.trim();
    let (la_code, school_urn) = match scope.len() {
        3 => (
            Some(
                LaCode::parse(scope)
                    .map_err(|_| "scope: not an LA code".to_owned())?
                    .get() as i16,
            ),
            None,
        ),
        6 => (
            None,
            Some(
                Urn::parse(scope)
                    .map_err(|_| "scope: not a URN".to_owned())?
                    .get() as i32,
            ),
        ),
        _ => return Err("scope: must be a 3-digit LA code or a 6-digit URN".to_owned()),
    };
    let kind =
        DayKind::parse(&range.kind).ok_or_else(|| "kind: must be term or closed".to_owned())?;
    let date = |field: &str, s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{field}: must be a date YYYY-MM-DD"))
    };
    let first = date("first_day", &range.first_day)?;
    let last = date("last_day", &range.last_day)?;
    if first > last {
        return Err("first_day: after last_day".to_owned());
    }
    Ok(CalendarRow {
        la_code,
        school_urn,
        range: DayRange { kind, first, last },
    })
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
