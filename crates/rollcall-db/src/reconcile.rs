//! What a school's registers hold, day by day, for its sender to reconcile with its MIS
//! (`FeedService.GetReconciliation`): each pupil's two codes on each date of a range.

use chrono::NaiveDate;

use crate::register::{self, StoredRow};
use crate::{Pool, Result, codebook};

/// One pupil's day at a school as held now: the morning's and the afternoon's codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldDay {
    pub upn: String,
    pub date: NaiveDate,
    /// `[morning, afternoon]`; none where no mark is held.
    pub codes: [Option<&'static str>; 2],
}

/// Every day from `from` to `to` (both included) on which school `urn` holds a mark for a pupil,
/// by UPN then date.
pub async fn held_days(
    pool: &Pool,
    urn: i32,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<HeldDay>> {
    type Row = (
        String,
        i64,
        NaiveDate,
        Vec<u8>,
        Vec<u8>,
        Vec<u8>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
    );
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "select e.upn, ",
        register::columns!(),
        " from enrolments e
          join register r on r.enrolment_id = e.id
          where e.school_urn = $1 and r.month between $2 and $3
          order by e.upn, r.month"
    ))
    .bind(urn)
    .bind(register::month_of(from))
    .bind(register::month_of(to))
    .fetch_all(pool.pg())
    .await?;
    let book = codebook::cached(pool).await?;
    let mut days: Vec<HeldDay> = Vec::new();
    for (upn, id, month, codes, slot_feeds, feeds, minutes, since, history) in rows {
        let stored: StoredRow = (id, month, codes, slot_feeds, feeds, minutes, since, history);
        let (_, month, row) = register::decode_stored(stored)?;
        for (slot, mark) in row.marks() {
            let (date, session) = register::session_of(month, slot);
            if date < from || date > to {
                continue;
            }
            let code = book.code(mark.code_id)?.code();
            match days.last_mut() {
                Some(day) if day.upn == upn && day.date == date => {
                    day.codes[session as usize] = Some(code);
                }
                _ => {
                    let mut held = HeldDay {
                        upn: upn.clone(),
                        date,
                        codes: [None, None],
                    };
                    held.codes[session as usize] = Some(code);
                    days.push(held);
                }
            }
        }
    }
    Ok(days)
}
