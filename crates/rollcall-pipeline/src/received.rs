//! The feeds topic's v2 message: a [`ReceivedFeed`] as columns, every text exactly as sent.

use std::collections::HashMap;

use prost::Message as _;
use rollcall_domain::Urn;
use rollcall_domain::feed::ReceivedFeed;
use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_proto::pipeline::v2 as pb;
use uuid::Uuid;

use crate::column::{
    Key, decode_codes, decode_keys, decode_texts, encode_codes, encode_keys, encode_texts,
};
use crate::error::{DecodeError, invalid};
use crate::wire::{
    canonical_day, count, date, exceptions, gaps, read_exceptions, read_gaps, read_timestamp,
    timestamp, with_exceptions,
};

pub(crate) fn to_v2(feed: &ReceivedFeed) -> pb::ReceivedFeed {
    pb::ReceivedFeed {
        feed_id: feed.feed_id.as_bytes().to_vec(),
        school_urn: feed.school.get(),
        extracted_at: Some(timestamp(feed.extracted_at)),
        received_at: Some(timestamp(feed.received_at)),
        idempotency_key: feed.idempotency_key.clone(),
        code_set: feed.code_set.clone(),
        roll: Some(roll(&feed.roll)),
        marks: Some(marks(&feed.roll, &feed.marks)),
        complete: true,
    }
}

fn roll(roll: &[RawPupil]) -> pb::RawRoll {
    let column =
        |field: fn(&RawPupil) -> &str| encode_texts(&roll.iter().map(field).collect::<Vec<_>>());
    pb::RawRoll {
        records: roll.len() as u64,
        upn: column(|p| &p.upn),
        forename: column(|p| &p.forename),
        surname: column(|p| &p.surname),
        date_of_birth: column(|p| &p.date_of_birth),
        sex: column(|p| &p.sex),
        year_group: column(|p| &p.year_group),
        admission_date: column(|p| &p.admission_date),
        leaving_date: column(|p| &p.leaving_date),
        fsm: column(|p| &p.fsm),
        sen_provision: column(|p| &p.sen_provision),
        ethnicity: column(|p| &p.ethnicity),
        looked_after: column(|p| &p.looked_after),
        household_key: column(|p| &p.household_key),
    }
}

/// Minutes late written as the plain decimal of a number.
fn canonical_minutes(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().filter(|m| m.to_string() == text)
}

fn marks(roll: &[RawPupil], marks: &[RawMark]) -> pb::RawMarks {
    // The UPN table: the roll's UPN column, then the texts only marks use.
    let mut table: HashMap<&str, u64> = HashMap::new();
    for (i, p) in roll.iter().enumerate() {
        table.entry(p.upn.as_str()).or_insert(i as u64);
    }
    let mut extra: Vec<&str> = Vec::new();
    let (mut odd_dates, mut odd_sessions, mut odd_minutes) = (Vec::new(), Vec::new(), Vec::new());
    let mut late = Vec::new();
    let mut day = 0;
    let keys: Vec<Key> = marks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let pupil = *table.entry(m.upn.as_str()).or_insert_with(|| {
                extra.push(&m.upn);
                (roll.len() + extra.len() - 1) as u64
            });
            match canonical_day(&m.date) {
                Some(d) => day = d,
                // The previous mark's day stands in (it keeps the mark in its group).
                None => odd_dates.push((i, m.date.as_str())),
            }
            let pm = match m.session.as_str() {
                "AM" => false,
                "PM" => true,
                other => {
                    odd_sessions.push((i, other));
                    false
                }
            };
            if !m.minutes_late.is_empty() {
                match canonical_minutes(&m.minutes_late) {
                    Some(minutes) => late.push((i, minutes)),
                    None => odd_minutes.push((i, m.minutes_late.as_str())),
                }
            }
            Key { pupil, day, pm }
        })
        .collect();
    pb::RawMarks {
        records: marks.len() as u64,
        extra_upns: encode_texts(&extra),
        extra_upn_count: extra.len() as u64,
        keys: encode_keys(&keys),
        codes: encode_codes(marks.iter().map(|m| m.code.as_str())),
        late_at: gaps(late.iter().map(|(i, _)| *i)),
        late_minutes: late.iter().map(|(_, m)| *m).collect(),
        date_exceptions: exceptions(&odd_dates),
        session_exceptions: exceptions(&odd_sessions),
        minutes_exceptions: exceptions(&odd_minutes),
    }
}

pub(crate) fn decode(body: &[u8]) -> Result<ReceivedFeed, DecodeError> {
    let msg = pb::ReceivedFeed::decode(body)
        .map_err(|e| DecodeError::protobuf("v2 received feed", &e))?;
    if !msg.complete {
        return Err(DecodeError::Truncated);
    }
    let feed_id = Uuid::from_slice(&msg.feed_id).map_err(|_| invalid("feed_id"))?;
    let school = Urn::new(msg.school_urn).map_err(|_| invalid("school_urn"))?;
    let (roll, upns) = decode_roll(&msg.roll.unwrap_or_default())?;
    let marks = decode_marks(&msg.marks.unwrap_or_default(), upns)?;
    Ok(ReceivedFeed {
        feed_id,
        school,
        extracted_at: read_timestamp(msg.extracted_at.as_ref(), "extracted_at")?,
        received_at: read_timestamp(msg.received_at.as_ref(), "received_at")?,
        idempotency_key: msg.idempotency_key,
        code_set: msg.code_set,
        roll,
        marks,
    })
}

/// The roll, and its UPN column (the start of the marks' UPN table).
fn decode_roll(r: &pb::RawRoll) -> Result<(Vec<RawPupil>, Vec<String>), DecodeError> {
    let n = count(r.records, "roll.records")?;
    let column = |c: &Option<pb::TextColumn>, field| decode_texts(c.as_ref(), n, field);
    let upns = column(&r.upn, "roll.upn")?;
    let mut columns = [
        column(&r.forename, "roll.forename")?,
        column(&r.surname, "roll.surname")?,
        column(&r.date_of_birth, "roll.date_of_birth")?,
        column(&r.sex, "roll.sex")?,
        column(&r.year_group, "roll.year_group")?,
        column(&r.admission_date, "roll.admission_date")?,
        column(&r.leaving_date, "roll.leaving_date")?,
        column(&r.fsm, "roll.fsm")?,
        column(&r.sen_provision, "roll.sen_provision")?,
        column(&r.ethnicity, "roll.ethnicity")?,
        column(&r.looked_after, "roll.looked_after")?,
        column(&r.household_key, "roll.household_key")?,
    ]
    .map(Vec::into_iter);
    let mut next = |c: usize| columns[c].next().expect("every column has n texts");
    let roll = upns
        .iter()
        .map(|upn| RawPupil {
            upn: upn.clone(),
            forename: next(0),
            surname: next(1),
            date_of_birth: next(2),
            sex: next(3),
            year_group: next(4),
            admission_date: next(5),
            leaving_date: next(6),
            fsm: next(7),
            sen_provision: next(8),
            ethnicity: next(9),
            looked_after: next(10),
            household_key: next(11),
        })
        .collect();
    Ok((roll, upns))
}

fn decode_marks(m: &pb::RawMarks, mut table: Vec<String>) -> Result<Vec<RawMark>, DecodeError> {
    let n = count(m.records, "marks.records")?;
    let extra = count(m.extra_upn_count, "marks.extra_upn_count")?;
    table.extend(decode_texts(
        m.extra_upns.as_ref(),
        extra,
        "marks.extra_upns",
    )?);
    let keys = decode_keys(m.keys.as_ref(), n, table.len(), "marks.keys")?;
    let (codes, code_of) = decode_codes(m.codes.as_ref(), n, "marks.codes")?;
    let dates = with_exceptions(
        n,
        read_exceptions(m.date_exceptions.as_ref(), n, "marks.date")?,
        |i| {
            date(keys[i].day)
                .map(|d| d.to_string())
                .ok_or_else(|| invalid("marks.date"))
        },
    )?;
    let sessions = with_exceptions(
        n,
        read_exceptions(m.session_exceptions.as_ref(), n, "marks.session")?,
        |i| Ok(if keys[i].pm { "PM" } else { "AM" }.to_owned()),
    )?;
    let late_at = read_gaps(&m.late_at, n, "marks.minutes_late")?;
    if late_at.len() != m.late_minutes.len() {
        return Err(invalid("marks.minutes_late"));
    }
    let mut late = vec![None; n];
    for (p, minutes) in late_at.into_iter().zip(&m.late_minutes) {
        late[p] = Some(*minutes);
    }
    let minutes = with_exceptions(
        n,
        read_exceptions(m.minutes_exceptions.as_ref(), n, "marks.minutes_late")?,
        |i| Ok(late[i].map(|m| m.to_string()).unwrap_or_default()),
    )?;
    Ok(keys
        .iter()
        .zip(dates)
        .zip(sessions)
        .zip(minutes)
        .zip(code_of)
        .map(|((((key, date), session), minutes_late), code)| RawMark {
            upn: table[key.pupil as usize].clone(),
            date,
            session,
            code: codes.get(code as usize).cloned().unwrap_or_default(),
            minutes_late,
        })
        .collect())
}
