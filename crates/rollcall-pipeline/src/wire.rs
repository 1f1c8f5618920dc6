//! The building blocks of the v2 columns: text lists, gap lists, runs, zigzag, days, timestamps,
//! exceptions. Every reader checks lengths and ranges before it allocates or indexes.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use prost::encoding::{decode_varint, encode_varint};
use rollcall_proto::pipeline::v2 as pb;

use crate::error::{DecodeError, invalid, missing};

/// The most records of one kind (roll, marks, pupils, findings...) one message may say it holds:
/// far above any feed the gateway takes (`gateway.max_records`), low enough that a corrupted
/// count cannot make a reader allocate without bound.
pub(crate) const MAX_RECORDS: u64 = 1 << 22;

/// A record count read from a message, checked against [`MAX_RECORDS`].
pub(crate) fn count(n: u64, field: &'static str) -> Result<usize, DecodeError> {
    if n > MAX_RECORDS {
        return Err(invalid(field));
    }
    Ok(n as usize)
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

// ---------------------------------------------------------------------------------------------
// Text lists

pub(crate) fn put_text(out: &mut Vec<u8>, text: &str) {
    encode_varint(text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}

pub(crate) fn text_list<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    for text in texts {
        put_text(&mut out, text);
    }
    out
}

/// Every text of a text list. Each costs at least a byte, so the list is bounded by `buf`.
pub(crate) fn read_texts(mut buf: &[u8], field: &'static str) -> Result<Vec<String>, DecodeError> {
    let mut texts = Vec::new();
    while !buf.is_empty() {
        let len = decode_varint(&mut buf).map_err(|_| invalid(field))?;
        let len = usize::try_from(len).map_err(|_| invalid(field))?;
        if len > buf.len() {
            return Err(invalid(field));
        }
        let (text, rest) = buf.split_at(len);
        texts.push(String::from_utf8(text.to_vec()).map_err(|_| invalid(field))?);
        buf = rest;
    }
    Ok(texts)
}

// ---------------------------------------------------------------------------------------------
// Gap lists (increasing positions) and runs

pub(crate) fn gaps(positions: impl IntoIterator<Item = usize>) -> Vec<u32> {
    let mut next = 0usize;
    positions
        .into_iter()
        .map(|p| {
            let gap = p - next;
            next = p + 1;
            u32::try_from(gap).expect("a message holds fewer than 2^32 records")
        })
        .collect()
}

/// The positions of a gap list, each below `n`.
pub(crate) fn read_gaps(
    gaps: &[u32],
    n: usize,
    field: &'static str,
) -> Result<Vec<usize>, DecodeError> {
    let mut next = 0usize;
    gaps.iter()
        .map(|&gap| {
            let p = next
                .checked_add(gap as usize)
                .filter(|&p| p < n)
                .ok_or_else(|| invalid(field))?;
            next = p + 1;
            Ok(p)
        })
        .collect()
}

/// Runs of (count, K values) for consecutive equal value tuples.
pub(crate) fn runs<const K: usize>(values: impl IntoIterator<Item = [u64; K]>) -> Vec<u64> {
    let mut out = Vec::new();
    let mut current: Option<([u64; K], u64)> = None;
    let flush = |out: &mut Vec<u64>, (v, c): ([u64; K], u64)| {
        out.push(c);
        out.extend_from_slice(&v);
    };
    for v in values {
        current = match current {
            Some((cv, c)) if cv == v => Some((cv, c + 1)),
            Some(run) => {
                flush(&mut out, run);
                Some((v, 1))
            }
            None => Some((v, 1)),
        };
    }
    if let Some(run) = current {
        flush(&mut out, run);
    }
    out
}

/// The `n` value tuples of a runs list.
pub(crate) fn read_runs<const K: usize>(
    runs: &[u64],
    n: usize,
    field: &'static str,
) -> Result<Vec<[u64; K]>, DecodeError> {
    if !runs.len().is_multiple_of(K + 1) {
        return Err(invalid(field));
    }
    let mut total = 0usize;
    for run in runs.chunks_exact(K + 1) {
        total = usize::try_from(run[0])
            .ok()
            .and_then(|c| total.checked_add(c))
            .filter(|&t| t <= n)
            .ok_or_else(|| invalid(field))?;
    }
    if total != n {
        return Err(invalid(field));
    }
    let mut out = Vec::with_capacity(n);
    for run in runs.chunks_exact(K + 1) {
        let v: [u64; K] = run[1..].try_into().expect("K values");
        out.extend(std::iter::repeat_n(v, run[0] as usize));
    }
    Ok(out)
}

/// Record indexes as runs of `zigzag(index - previous - 1)`, the previous before the first
/// being -1 (consecutive records cost one run).
pub(crate) fn record_runs(records: impl IntoIterator<Item = usize>) -> Vec<u64> {
    let mut prev = u64::MAX;
    runs(records.into_iter().map(|r| {
        let r = r as u64;
        let step = r.wrapping_sub(prev).wrapping_sub(1) as i64;
        prev = r;
        [zigzag(step)]
    }))
}

pub(crate) fn read_record_runs(
    runs: &[u64],
    n: usize,
    field: &'static str,
) -> Result<Vec<usize>, DecodeError> {
    let mut prev = u64::MAX;
    read_runs::<1>(runs, n, field)?
        .into_iter()
        .map(|[step]| {
            prev = prev.wrapping_add(1).wrapping_add(unzigzag(step) as u64);
            usize::try_from(prev).map_err(|_| invalid(field))
        })
        .collect()
}

/// Deltas of a sequence (wrapping, so any values round trip).
pub(crate) fn deltas(values: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut prev = 0i64;
    values
        .into_iter()
        .map(|v| {
            let d = v.wrapping_sub(prev);
            prev = v;
            d
        })
        .collect()
}

pub(crate) fn undelta(deltas: &[i64]) -> impl Iterator<Item = i64> + '_ {
    let mut prev = 0i64;
    deltas.iter().map(move |d| {
        prev = prev.wrapping_add(*d);
        prev
    })
}

// ---------------------------------------------------------------------------------------------
// Days and times

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i64 = 719_163;

/// Days since 1970-01-01.
pub(crate) fn day(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - UNIX_EPOCH_CE_DAYS
}

pub(crate) fn date(day: i64) -> Option<NaiveDate> {
    let ce = i32::try_from(day.checked_add(UNIX_EPOCH_CE_DAYS)?).ok()?;
    NaiveDate::from_num_days_from_ce_opt(ce)
}

pub(crate) fn read_date(day: i64, field: &'static str) -> Result<NaiveDate, DecodeError> {
    date(day).ok_or_else(|| invalid(field))
}

/// A date written exactly `YYYY-MM-DD`, as its day.
pub(crate) fn canonical_day(text: &str) -> Option<i64> {
    rollcall_domain::validation::parse_date(text)
        .filter(|d| d.to_string() == text)
        .map(day)
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        // Below 2 * 10^9 (a leap second's), so it fits.
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn read_timestamp(
    t: Option<&prost_types::Timestamp>,
    field: &'static str,
) -> Result<DateTime<Utc>, DecodeError> {
    let t = t.ok_or_else(|| missing(field))?;
    let nanos = u32::try_from(t.nanos).map_err(|_| invalid(field))?;
    DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| invalid(field))
}

// ---------------------------------------------------------------------------------------------
// Exceptions

/// Values kept as sent, by position (increasing).
pub(crate) fn exceptions(items: &[(usize, &str)]) -> Option<pb::Exceptions> {
    (!items.is_empty()).then(|| pb::Exceptions {
        at: gaps(items.iter().map(|(p, _)| *p)),
        texts: text_list(items.iter().map(|(_, t)| *t)),
    })
}

pub(crate) fn read_exceptions(
    e: Option<&pb::Exceptions>,
    n: usize,
    field: &'static str,
) -> Result<Vec<(usize, String)>, DecodeError> {
    let Some(e) = e else {
        return Ok(Vec::new());
    };
    let at = read_gaps(&e.at, n, field)?;
    let texts = read_texts(&e.texts, field)?;
    if at.len() != texts.len() {
        return Err(invalid(field));
    }
    Ok(at.into_iter().zip(texts).collect())
}

/// Each record's value: its exception's text, or what `canonical` makes of its position.
pub(crate) fn with_exceptions(
    n: usize,
    exceptions: Vec<(usize, String)>,
    mut canonical: impl FnMut(usize) -> Result<String, DecodeError>,
) -> Result<Vec<String>, DecodeError> {
    let mut exceptions = exceptions.into_iter().peekable();
    (0..n)
        .map(|i| match exceptions.next_if(|(p, _)| *p == i) {
            Some((_, text)) => Ok(text),
            None => canonical(i),
        })
        .collect()
}
