//! What operations see of each school's and each sender's feeds: school calendars (term dates
//! and closed days, imported by admins), the last feed each school sent and the latest register
//! date held, feeds received but not yet queryable, and each sender's rejected records by code.
//! Counts, times and codes only.

use chrono::{DateTime, NaiveDate, Utc};
use rollcall_domain::school_days::{DayKind, DayRange};

use crate::{Pool, Result};

/// One range of a calendar as imported: for an LA (`la_code`) or one school (`school_urn`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarRow {
    pub la_code: Option<i16>,
    pub school_urn: Option<i32>,
    pub range: DayRange,
}

/// Replaces the calendars of every LA and school named in `rows` with `rows`, in one
/// transaction: importing the same file again changes nothing.
pub async fn replace_calendars(pool: &Pool, rows: &[CalendarRow]) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let las: Vec<i16> = rows.iter().filter_map(|r| r.la_code).collect();
    let schools: Vec<i32> = rows.iter().filter_map(|r| r.school_urn).collect();
    sqlx::query("delete from school_calendar where la_code = any($1) or school_urn = any($2)")
        .bind(&las)
        .bind(&schools)
        .execute(&mut *tx)
        .await?;
    let kinds: Vec<&str> = rows.iter().map(|r| r.range.kind.as_str()).collect();
    let firsts: Vec<NaiveDate> = rows.iter().map(|r| r.range.first).collect();
    let lasts: Vec<NaiveDate> = rows.iter().map(|r| r.range.last).collect();
    let row_las: Vec<Option<i16>> = rows.iter().map(|r| r.la_code).collect();
    let row_schools: Vec<Option<i32>> = rows.iter().map(|r| r.school_urn).collect();
    let inserted = sqlx::query(
        "insert into school_calendar (la_code, school_urn, kind, first_day, last_day)
         select * from unnest($1::smallint[], $2::int[], $3::text[], $4::date[], $5::date[])",
    )
    .bind(&row_las)
    .bind(&row_schools)
    .bind(&kinds)
    .bind(&firsts)
    .bind(&lasts)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(inserted)
}

/// The LA codes of the schools in the registry.
pub async fn registry_la_codes(pool: &Pool) -> Result<Vec<i16>> {
    let codes = sqlx::query_scalar("select distinct la_code from schools order by la_code")
        .fetch_all(pool.pg())
        .await?;
    Ok(codes)
}

/// Every calendar range of LA `la_code` and of its schools.
pub async fn calendars_of_la(pool: &Pool, la_code: i16) -> Result<Vec<CalendarRow>> {
    let rows: Vec<CalendarRecord> = sqlx::query_as(
        "select c.la_code, c.school_urn, c.kind, c.first_day, c.last_day
         from school_calendar c
         where c.la_code = $1
            or c.school_urn in (select urn from schools where la_code = $1)
         order by c.first_day",
    )
    .bind(la_code)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(CalendarRow {
                la_code: r.la_code,
                school_urn: r.school_urn,
                range: DayRange {
                    kind: DayKind::parse(&r.kind)?,
                    first: r.first_day,
                    last: r.last_day,
                },
            })
        })
        .collect())
}

/// A row of `school_calendar` as stored.
#[derive(sqlx::FromRow)]
struct CalendarRecord {
    la_code: Option<i16>,
    school_urn: Option<i32>,
    kind: String,
    first_day: NaiveDate,
    last_day: NaiveDate,
}

/// One school's feeds as operations see them.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SchoolFeeds {
    pub urn: i32,
    pub name: String,
    pub independent: bool,
    /// When its latest feed was received, and who sent it.
    pub last_received_at: Option<DateTime<Utc>>,
    pub last_sender: Option<String>,
    /// The latest date a processed feed of it carried marks for.
    pub latest_date: Option<NaiveDate>,
    /// Feeds received but not yet queryable (not processed or parked), and their marks.
    pub pending_feeds: i64,
    pub pending_marks: i64,
}

/// Every school of LA `la_code` in the registry, with its feeds' figures; schools that never
/// sent a feed included.
pub async fn school_feeds(pool: &Pool, la_code: i16) -> Result<Vec<SchoolFeeds>> {
    let rows = sqlx::query_as(
        "select s.urn, s.name, s.independent,
                last.received_at as last_received_at, last.sender as last_sender,
                (select max(f.latest_date) from feeds f
                 where f.school_urn = s.urn and f.status = 'processed') as latest_date,
                coalesce(p.feeds, 0) as pending_feeds, coalesce(p.marks, 0) as pending_marks
         from schools s
         left join lateral (
             select f.received_at, f.sender from feeds f
             where f.school_urn = s.urn
             order by f.received_at desc limit 1
         ) last on true
         left join lateral (
             select count(*) as feeds, coalesce(sum(f.mark_records), 0)::bigint as marks
             from feeds f
             where f.school_urn = s.urn and f.status in ('received', 'enqueued')
         ) p on true
         where s.la_code = $1
         order by s.urn",
    )
    .bind(la_code)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}

/// One sender's feeds since a time.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SenderFeeds {
    pub sender: String,
    pub feeds: i64,
    pub records: i64,
    pub records_rejected: i64,
    /// The code of its latest error finding, and when that feed was received.
    pub latest_error: Option<String>,
    pub latest_error_at: Option<DateTime<Utc>>,
}

/// Each sender's processed feeds received since `since`: how many, their records, how many of
/// them were rejected, and its latest error.
pub async fn sender_feeds(pool: &Pool, since: DateTime<Utc>) -> Result<Vec<SenderFeeds>> {
    let rows = sqlx::query_as(
        "with s as (
             select coalesce(f.sender, '') as sender, count(*) as feeds,
                    coalesce(sum(f.roll_accepted + f.roll_rejected + f.marks_accepted
                                 + f.marks_rejected), 0)::bigint as records,
                    coalesce(sum(f.roll_rejected + f.marks_rejected), 0)::bigint
                        as records_rejected
             from feeds f
             where f.status = 'processed' and f.received_at >= $1
             group by 1
         )
         select s.sender, s.feeds, s.records, s.records_rejected,
                e.code as latest_error, e.received_at as latest_error_at
         from s
         left join lateral (
             select x.code, g.received_at
             from feed_findings x join feeds g on g.seq = x.feed_seq
             where coalesce(g.sender, '') = s.sender and x.severity = 'error'
               and g.received_at >= $1
             order by g.received_at desc, x.ordinal
             limit 1
         ) e on true
         order by s.sender",
    )
    .bind(since)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}

/// Each sender's error findings since `since`, by code: (sender, code, findings).
pub async fn sender_rejections(
    pool: &Pool,
    since: DateTime<Utc>,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query_as(
        "select coalesce(f.sender, ''), x.code, count(*)
         from feed_findings x join feeds f on f.seq = x.feed_seq
         where x.severity = 'error' and f.received_at >= $1
         group by 1, 2
         order by 1, 3 desc, 2",
    )
    .bind(since)
    .fetch_all(pool.pg())
    .await?;
    Ok(rows)
}
