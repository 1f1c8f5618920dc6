//! How marks are stored: one `register` row per enrolment and calendar month, its sessions packed
//! into byte strings, as a paper register has one line per pupil per page.
//!
//! A row per mark costs PostgreSQL about 60 bytes before the mark itself (tuple header, line
//! pointer, key, index entry); a month row spreads that over up to 62 sessions. Each session is a
//! slot, `(day of month - 1) * 2 + session`, and the row holds, per slot:
//!
//! - `codes`: the attendance code's id (`attendance_codes.id`), 0 where no mark is stored;
//! - `slot_feeds`: which of the row's `feeds` wrote the slot's mark (an index into it);
//! - `feeds`: the distinct feeds (`feeds.seq`, 4 bytes each, big-endian) that wrote a live slot.
//!   A slot's version is its feed's `(recorded_at, feed_id)`;
//! - `minutes`: minutes late, 2 bytes each, big-endian, `-1` for none; the column is null when
//!   no slot has any;
//! - `since_feeds`: which of the row's `feeds` first recorded the slot's current code (an index
//!   into it, like `slot_feeds`): a re-send of the same code moves the slot's version on but not
//!   the moment its code was first recorded. Null when every slot's code was first recorded by
//!   the feed that wrote it last (a feed sent once), so a row never re-sent pays nothing;
//! - `history`: the codes each slot held before its current one, 6 bytes an entry: the slot, the
//!   code id, and the `feeds.seq` (4 bytes, big-endian) of the feed that first recorded it, in
//!   the order they were replaced. Null when no slot was ever corrected. [`history`] reads it.
//!
//! Byte strings stop at the last slot in use, so a row written on the 3rd of the month is short.
//! This module is pure: it encodes, decodes and edits one row; [`crate::apply`] does the I/O.

use chrono::{Datelike, NaiveDate};

pub mod history;

pub use history::{Correction, Superseded};

/// The register columns every read of whole rows selects, in [`StoredRow`]'s order, for a
/// `register` aliased `r`: a macro so that queries stay `&'static str` (`concat!`).
macro_rules! columns {
    () => {
        "r.enrolment_id, r.month, r.codes, r.slot_feeds, r.feeds, r.minutes, r.since_feeds, \
         r.history"
    };
}
pub(crate) use columns;

/// Sessions in a month row: 31 days, AM and PM.
pub const SLOTS: usize = 62;

/// No minutes late recorded for the slot.
const NO_MINUTES: i16 = -1;

/// The first day of `date`'s month: the row key beside the enrolment.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}

/// The slot of a session (0 = AM, 1 = PM) within its month's row.
pub fn slot_of(date: NaiveDate, session: i16) -> usize {
    debug_assert!(matches!(session, 0 | 1), "session is 0 or 1");
    (date.day0() as usize) * 2 + session as usize
}

/// The date and session of a slot in the row for `month`.
pub fn session_of(month: NaiveDate, slot: usize) -> (NaiveDate, i16) {
    let date = month + chrono::Days::new((slot / 2) as u64);
    (date, (slot % 2) as i16)
}

/// A stored row that does not decode: written by something other than this module.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("register row for enrolment {enrolment_id} month {month} is malformed: {problem}")]
pub struct MalformedRow {
    pub enrolment_id: i64,
    pub month: NaiveDate,
    pub problem: &'static str,
}

/// One session's stored mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotMark {
    /// `attendance_codes.id`, never 0.
    pub code_id: u8,
    /// `feeds.seq` of the version that wrote it: the newest feed to send this code for the
    /// session, which a feed must be newer than to replace it.
    pub feed_seq: i32,
    /// `feeds.seq` of the feed that first recorded this code for the session (the same as
    /// `feed_seq` until the code is re-sent unchanged): when the LA first knew it.
    pub since_seq: i32,
    pub minutes_late: Option<i16>,
}

/// One enrolment's month, decoded: every slot's mark, if any, and the codes they replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthRegister {
    slots: [Option<SlotMark>; SLOTS],
    history: Vec<Superseded>,
}

impl Default for MonthRegister {
    fn default() -> Self {
        MonthRegister {
            slots: [None; SLOTS],
            history: Vec::new(),
        }
    }
}

/// A stored row with its key, as selected by [`columns!`]: enrolment, month, codes, slot feeds,
/// feeds, minutes, since feeds, history.
pub(crate) type StoredRow = (
    i64,
    NaiveDate,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

/// Decodes a row as selected, with its key.
pub(crate) fn decode_stored(
    (enrolment_id, month, codes, slot_feeds, feeds, minutes, since_feeds, history): StoredRow,
) -> Result<(i64, NaiveDate, MonthRegister), MalformedRow> {
    let row = EncodedRow {
        codes,
        slot_feeds,
        feeds,
        minutes,
        since_feeds,
        history,
    };
    let decoded = MonthRegister::decode(enrolment_id, month, &row)?;
    Ok((enrolment_id, month, decoded))
}

/// A row's byte strings as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedRow {
    pub codes: Vec<u8>,
    pub slot_feeds: Vec<u8>,
    pub feeds: Vec<u8>,
    pub minutes: Option<Vec<u8>>,
    pub since_feeds: Option<Vec<u8>>,
    pub history: Option<Vec<u8>>,
}

impl MonthRegister {
    pub fn get(&self, slot: usize) -> Option<SlotMark> {
        self.slots[slot]
    }

    /// Puts `mark` in the slot as it is, keeping no history: for building rows in tests and
    /// decoding; a feed's marks go through [`MonthRegister::write`].
    pub fn set(&mut self, slot: usize, mark: SlotMark) {
        debug_assert_ne!(mark.code_id, 0, "code id 0 means no mark");
        self.slots[slot] = Some(mark);
    }

    /// Stores feed `seq`'s mark for the slot, which the caller has found newer than the stored
    /// one. The same code again moves the slot's version on and keeps when it was first
    /// recorded; another code is a correction: the code it replaces goes into the history with
    /// the feed that first recorded it. A feed's own earlier mark for the same session (a
    /// duplicate in one feed) is replaced without history: it was never a version of its own.
    pub fn write(&mut self, slot: usize, code_id: u8, seq: i32, minutes_late: Option<i16>) {
        let since_seq = match self.slots[slot] {
            None => seq,
            Some(old) if old.code_id == code_id => old.since_seq,
            Some(old) if old.since_seq == seq => seq,
            Some(old) => {
                self.history.push(Superseded {
                    slot: slot as u8,
                    code_id: old.code_id,
                    since_seq: old.since_seq,
                });
                seq
            }
        };
        self.set(
            slot,
            SlotMark {
                code_id,
                feed_seq: seq,
                since_seq,
                minutes_late,
            },
        );
    }

    /// The codes the slots held before their current ones, in the order they were replaced.
    pub fn history(&self) -> &[Superseded] {
        &self.history
    }

    /// The stored marks, by slot.
    pub fn marks(&self) -> impl Iterator<Item = (usize, SlotMark)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, mark)| mark.map(|m| (slot, m)))
    }

    /// Every feed the row names: the feeds behind the stored marks, those that first recorded
    /// them, and those behind the codes they replaced (what as-at reads need the times of).
    pub fn all_seqs(&self) -> impl Iterator<Item = i32> + '_ {
        self.marks()
            .flat_map(|(_, m)| [m.feed_seq, m.since_seq])
            .chain(self.history.iter().map(|h| h.since_seq))
    }

    /// The distinct feeds that wrote a stored mark.
    pub fn feed_seqs(&self) -> impl Iterator<Item = i32> + '_ {
        let mut seen = Vec::new();
        self.marks().map(|(_, m)| m.feed_seq).filter(move |seq| {
            let new = !seen.contains(seq);
            if new {
                seen.push(*seq);
            }
            new
        })
    }

    /// Only the code ids, for counting: slots past the end of `codes` hold no mark.
    pub fn code_ids(codes: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
        codes
            .iter()
            .take(SLOTS)
            .enumerate()
            .filter(|&(_, &id)| id != 0)
            .map(|(slot, &id)| (slot, id))
    }

    pub fn encode(&self) -> EncodedRow {
        let used = self
            .slots
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |last| last + 1);
        let mut row = EncodedRow {
            codes: vec![0; used],
            slot_feeds: vec![0; used],
            ..EncodedRow::default()
        };
        let mut seqs: Vec<i32> = Vec::new();
        let mut index_of = |seq: i32| match seqs.iter().position(|&s| s == seq) {
            Some(index) => index as u8,
            None => {
                seqs.push(seq);
                (seqs.len() - 1) as u8
            }
        };
        let mut minutes = vec![NO_MINUTES; used];
        let mut since = vec![0; used];
        let mut any_since = false;
        for (slot, mark) in self.marks() {
            row.codes[slot] = mark.code_id;
            row.slot_feeds[slot] = index_of(mark.feed_seq);
            since[slot] = index_of(mark.since_seq);
            any_since |= mark.since_seq != mark.feed_seq;
            minutes[slot] = mark.minutes_late.unwrap_or(NO_MINUTES);
        }
        row.feeds = seqs.iter().flat_map(|s| s.to_be_bytes()).collect();
        if minutes.iter().any(|&m| m != NO_MINUTES) {
            row.minutes = Some(minutes.iter().flat_map(|m| m.to_be_bytes()).collect());
        }
        if any_since {
            row.since_feeds = Some(since);
        }
        row.history = history::encode(&self.history);
        row
    }

    pub fn decode(
        enrolment_id: i64,
        month: NaiveDate,
        row: &EncodedRow,
    ) -> Result<MonthRegister, MalformedRow> {
        let malformed = |problem| MalformedRow {
            enrolment_id,
            month,
            problem,
        };
        if row.codes.len() > SLOTS || row.slot_feeds.len() != row.codes.len() {
            return Err(malformed(
                "codes and slot_feeds differ in length or are too long",
            ));
        }
        if !row.feeds.len().is_multiple_of(4) {
            return Err(malformed(
                "feeds is not a whole number of 4-byte sequence numbers",
            ));
        }
        let seqs: Vec<i32> = row
            .feeds
            .chunks_exact(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let minutes: Option<Vec<i16>> = match &row.minutes {
            None => None,
            Some(m) if m.len() == row.codes.len() * 2 => Some(
                m.chunks_exact(2)
                    .map(|b| i16::from_be_bytes([b[0], b[1]]))
                    .collect(),
            ),
            Some(_) => return Err(malformed("minutes is not 2 bytes per slot")),
        };
        if row
            .since_feeds
            .as_ref()
            .is_some_and(|s| s.len() != row.codes.len())
        {
            return Err(malformed("since_feeds is not 1 byte per slot"));
        }
        let seq_at = |index: u8| {
            seqs.get(index as usize)
                .copied()
                .ok_or_else(|| malformed("a slot names a feed past the end of feeds"))
        };
        let mut register = MonthRegister::default();
        for (slot, code_id) in Self::code_ids(&row.codes) {
            let feed_seq = seq_at(row.slot_feeds[slot])?;
            let since_seq = match &row.since_feeds {
                Some(since) => seq_at(since[slot])?,
                None => feed_seq,
            };
            let minutes_late = minutes
                .as_ref()
                .map(|m| m[slot])
                .filter(|&m| m != NO_MINUTES);
            register.slots[slot] = Some(SlotMark {
                code_id,
                feed_seq,
                since_seq,
                minutes_late,
            });
        }
        register.history = match &row.history {
            None => Vec::new(),
            Some(bytes) => history::decode(bytes).ok_or_else(|| {
                malformed("history is not 6 bytes an entry, or names a slot past the end")
            })?,
        };
        Ok(register)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn mark(code_id: u8, feed_seq: i32, minutes_late: Option<i16>) -> SlotMark {
        SlotMark {
            code_id,
            feed_seq,
            since_seq: feed_seq,
            minutes_late,
        }
    }

    #[test]
    fn slots_cover_every_session_of_the_longest_month() {
        let month = d("2025-10-01");
        assert_eq!(month_of(d("2025-10-31")), month);
        assert_eq!(slot_of(d("2025-10-01"), 0), 0);
        assert_eq!(slot_of(d("2025-10-01"), 1), 1);
        assert_eq!(slot_of(d("2025-10-31"), 1), SLOTS - 1);
        for slot in 0..SLOTS {
            let (date, session) = session_of(month, slot);
            assert_eq!(slot_of(date, session), slot);
        }
    }

    #[test]
    fn rows_round_trip_and_stop_at_the_last_slot_used() {
        let mut r = MonthRegister::default();
        assert_eq!(r.encode(), EncodedRow::default());
        r.set(4, mark(3, 17, None));
        r.set(5, mark(7, 17, None));
        r.set(9, mark(3, 18, None));
        let row = r.encode();
        assert_eq!(row.codes, vec![0, 0, 0, 0, 3, 7, 0, 0, 0, 3]);
        assert_eq!(row.slot_feeds, vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(row.feeds, vec![0, 0, 0, 17, 0, 0, 0, 18]);
        assert_eq!(row.minutes, None);
        assert_eq!(
            (row.since_feeds.as_ref(), row.history.as_ref()),
            (None, None)
        );
        assert_eq!(MonthRegister::decode(1, d("2025-10-01"), &row).unwrap(), r);
        assert_eq!(r.feed_seqs().collect::<Vec<_>>(), vec![17, 18]);
    }

    #[test]
    fn minutes_late_are_kept_only_where_recorded() {
        let mut r = MonthRegister::default();
        r.set(0, mark(3, 1, None));
        r.set(1, mark(4, 1, Some(0)));
        r.set(2, mark(4, 2, Some(300)));
        let row = r.encode();
        assert_eq!(row.minutes, Some(vec![0xff, 0xff, 0, 0, 1, 44]));
        let back = MonthRegister::decode(1, d("2025-10-01"), &row).unwrap();
        assert_eq!(back.get(1).unwrap().minutes_late, Some(0));
        assert_eq!(back.get(2).unwrap().minutes_late, Some(300));
        assert_eq!(back, r);
    }

    #[test]
    fn a_feed_no_longer_behind_any_slot_is_dropped() {
        let mut r = MonthRegister::default();
        r.set(0, mark(3, 1, None));
        r.set(0, mark(3, 2, None));
        assert_eq!(r.encode().feeds, 2i32.to_be_bytes().to_vec());
    }

    #[test]
    fn malformed_rows_are_refused() {
        let month = d("2025-10-01");
        let bad = |row: EncodedRow| MonthRegister::decode(7, month, &row).unwrap_err().problem;
        let ok = EncodedRow {
            codes: vec![3],
            slot_feeds: vec![0],
            feeds: vec![0, 0, 0, 1],
            minutes: None,
            since_feeds: None,
            history: None,
        };
        assert!(MonthRegister::decode(7, month, &ok).is_ok());
        assert!(
            bad(EncodedRow {
                slot_feeds: vec![],
                ..ok.clone()
            })
            .contains("length")
        );
        assert!(
            bad(EncodedRow {
                feeds: vec![0, 1],
                ..ok.clone()
            })
            .contains("4-byte")
        );
        assert!(
            bad(EncodedRow {
                slot_feeds: vec![1],
                ..ok.clone()
            })
            .contains("past the end")
        );
        assert!(
            bad(EncodedRow {
                minutes: Some(vec![0]),
                ..ok.clone()
            })
            .contains("2 bytes")
        );
        assert!(
            bad(EncodedRow {
                codes: vec![1; 63],
                slot_feeds: vec![0; 63],
                ..ok
            })
            .contains("too long")
        );
    }
}
