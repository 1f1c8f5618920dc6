//! Reads for LA teams and for watching the pipeline: session counts, enrolments, progress.

use chrono::NaiveDate;

use crate::access::{Access, PupilAccess};
use crate::{Pool, Result};

/// Which schools a query covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every school of a local authority (LA code).
    La(i16),
    /// One school (URN).
    School(i32),
}

/// How many sessions of one enrolment carry one code within a period.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EnrolmentCodeCount {
    pub enrolment_id: i64,
    pub school_urn: i32,
    pub code: String,
    pub sessions: i64,
}

/// Sessions per enrolment and code between `from` and `to` inclusive, ordered by enrolment and
/// code. Only sessions while on roll are ever stored, so no roll-date filter is needed. Schools
/// outside `access` are left out, whatever `scope` asks for.
pub async fn enrolment_code_counts(
    pool: &Pool,
    access: &Access,
    scope: Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<EnrolmentCodeCount>> {
    let query = match scope {
        Scope::La(la_code) => sqlx::query_as(
            "select m.enrolment_id, e.school_urn, m.code, count(*) as sessions
             from schools s
             join enrolments e on e.school_urn = s.urn
             join marks m on m.enrolment_id = e.id
             where s.la_code = $1 and m.date between $2 and $3
               and ($4 or s.la_code = any($5) or s.urn = any($6))
             group by m.enrolment_id, e.school_urn, m.code
             order by m.enrolment_id, m.code",
        )
        .bind(la_code),
        Scope::School(urn) => sqlx::query_as(
            "select m.enrolment_id, e.school_urn, m.code, count(*) as sessions
             from schools s
             join enrolments e on e.school_urn = s.urn
             join marks m on m.enrolment_id = e.id
             where e.school_urn = $1 and m.date between $2 and $3
               and ($4 or s.la_code = any($5) or s.urn = any($6))
             group by m.enrolment_id, e.school_urn, m.code
             order by m.enrolment_id, m.code",
        )
        .bind(urn),
    };
    let counts = query
        .bind(from)
        .bind(to)
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .fetch_all(pool)
        .await?;
    Ok(counts)
}

/// An enrolment: a pupil on a school's roll, with the latest recorded attributes.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Enrolment {
    pub id: i64,
    pub school_urn: i32,
    pub upn: String,
    pub forename: Option<String>,
    pub surname: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<String>,
    pub year_group: Option<String>,
    pub admission_date: Option<NaiveDate>,
    pub leaving_date: Option<NaiveDate>,
    pub fsm: Option<bool>,
    pub sen_provision: Option<String>,
    pub ethnicity: Option<String>,
    pub looked_after: Option<bool>,
}

/// The enrolments with these ids, ordered by id; unknown ids, and pupils of schools outside
/// `access`, are left out.
pub async fn enrolments_by_id(
    pool: &Pool,
    access: &PupilAccess,
    ids: &[i64],
) -> Result<Vec<Enrolment>> {
    let access = access.schools();
    let enrolments = sqlx::query_as(
        "select e.id, e.school_urn, e.upn, e.forename, e.surname, e.date_of_birth, e.sex,
                e.year_group, e.admission_date, e.leaving_date, e.fsm, e.sen_provision,
                e.ethnicity, e.looked_after
         from enrolments e
         join schools s on s.urn = e.school_urn
         where e.id = any($1)
           and ($2 or s.la_code = any($3) or s.urn = any($4))
         order by e.id",
    )
    .bind(ids)
    .bind(access.everything)
    .bind(&access.la_codes)
    .bind(&access.urns)
    .fetch_all(pool)
    .await?;
    Ok(enrolments)
}

/// Enrolments per school as `(urn, enrolments)`, ordered by URN. Every registered school in
/// scope (and within `access`) has a row, with 0 when it has sent no roll yet.
pub async fn school_enrolment_counts(
    pool: &Pool,
    access: &Access,
    scope: Scope,
) -> Result<Vec<(i32, i64)>> {
    let query = match scope {
        Scope::La(la_code) => sqlx::query_as(
            "select s.urn, count(e.id)
             from schools s
             left join enrolments e on e.school_urn = s.urn
             where s.la_code = $1 and ($2 or s.la_code = any($3) or s.urn = any($4))
             group by s.urn
             order by s.urn",
        )
        .bind(la_code),
        Scope::School(urn) => sqlx::query_as(
            "select s.urn, count(e.id)
             from schools s
             left join enrolments e on e.school_urn = s.urn
             where s.urn = $1 and ($2 or s.la_code = any($3) or s.urn = any($4))
             group by s.urn",
        )
        .bind(urn),
    };
    Ok(query
        .bind(access.everything)
        .bind(&access.la_codes)
        .bind(&access.urns)
        .fetch_all(pool)
        .await?)
}

/// Progress through the pipeline. Feed counts are cumulative: every processed feed was also
/// enqueued and received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PipelineCounts {
    /// Feeds the gateway recorded, whatever their status.
    pub feeds_received: i64,
    /// Feeds written to Kafka: status enqueued or processed.
    pub feeds_enqueued: i64,
    /// Feeds the aggregator has stored.
    pub feeds_processed: i64,
    /// Marks stored (one per enrolment, date and session).
    pub marks_stored: i64,
}

pub async fn pipeline_counts(pool: &Pool) -> Result<PipelineCounts> {
    let counts = sqlx::query_as(
        "select count(*) as feeds_received,
                count(*) filter (where status in ('enqueued', 'processed')) as feeds_enqueued,
                count(*) filter (where status = 'processed') as feeds_processed,
                (select count(*) from marks) as marks_stored
         from feeds",
    )
    .fetch_one(pool)
    .await?;
    Ok(counts)
}
