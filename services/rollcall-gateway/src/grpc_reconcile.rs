//! `GetReconciliation`: what the LA holds of a school's registers over a range of days, for its
//! sender to compare with its MIS (`rollcall_domain::reconcile`): counts per date, session and
//! code, and per pupil and date a digest under a pseudonymous key, never a UPN.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rollcall_db::Pool;
use rollcall_domain::reconcile;
use rollcall_proto::feed::v1::{GetReconciliationRequest, PupilDay, Reconciliation, SessionCodes};
use rollcall_server::ApiError;
use tonic::Status;

/// The longest range one answer covers: a month of a large secondary school's days fits well
/// inside a gRPC answer.
const MAX_DAYS: i64 = 31;

pub(crate) async fn reconciliation(
    pool: &Pool,
    urn: i32,
    request: &GetReconciliationRequest,
) -> Result<Reconciliation, Status> {
    let date = |field: &str, s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            Status::from(ApiError::invalid(format!(
                "{field}: must be a date YYYY-MM-DD"
            )))
        })
    };
    let (from, to) = (date("from", &request.from)?, date("to", &request.to)?);
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid(format!(
            "to: must be on or after from, and at most {MAX_DAYS} days in all"
        ))
        .into());
    }
    let held = rollcall_db::held_days(pool, urn, from, to)
        .await
        .map_err(|err| ApiError::database("cannot read the registers", &err))?;
    let mut sessions: BTreeMap<(NaiveDate, usize), BTreeMap<String, u64>> = BTreeMap::new();
    let mut days: Vec<PupilDay> = Vec::with_capacity(held.len());
    for day in &held {
        for (session, code) in day.codes.iter().enumerate() {
            if let Some(code) = code {
                *sessions
                    .entry((day.date, session))
                    .or_default()
                    .entry((*code).to_owned())
                    .or_default() += 1;
            }
        }
        days.push(PupilDay {
            pupil: reconcile::pupil_key(&day.upn),
            date: day.date.to_string(),
            digest: reconcile::day_digest(&day.upn, day.date, day.codes[0], day.codes[1]),
        });
    }
    days.sort_by(|a, b| (&a.pupil, &a.date).cmp(&(&b.pupil, &b.date)));
    Ok(Reconciliation {
        school_urn: format!("{urn:06}"),
        from: from.to_string(),
        to: to.to_string(),
        sessions: sessions
            .into_iter()
            .map(|((date, session), codes)| SessionCodes {
                date: date.to_string(),
                session: if session == 0 { "AM" } else { "PM" }.to_owned(),
                codes: codes.into_iter().collect(),
            })
            .collect(),
        days,
        method: reconcile::METHOD.to_owned(),
    })
}
