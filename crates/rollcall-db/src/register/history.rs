//! A session's codes over time: what a register row's `history` holds, and the two ways it is
//! read, the row as the LA knew it at a moment (as-at) and the list of corrections.
//!
//! A slot's codes form a chain of runs: each code from the feed that first recorded it until the
//! next code replaced it. The current run is the slot's [`SlotMark`] (its `since_seq`); the runs
//! before it are the row's [`Superseded`] entries, in the order they were replaced. A school's
//! feeds are applied in the order they arrive on its partition, so the chain is in the order the
//! LA received the codes. A feed whose version is older than the stored mark's changes neither
//! the mark nor its history: latest version wins, for the history as for the register.

use super::{MonthRegister, SLOTS};

/// Bytes per history entry: slot, code id, feed sequence number (4 bytes, big-endian).
const ENTRY: usize = 6;

/// A code a slot held before its current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superseded {
    pub slot: u8,
    /// `attendance_codes.id` of the code replaced.
    pub code_id: u8,
    /// `feeds.seq` of the feed that first recorded it.
    pub since_seq: i32,
}

/// One change of a session's code: `before` replaced by `after`, first recorded by feed `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correction {
    pub slot: usize,
    pub before: u8,
    pub after: u8,
    /// `feeds.seq` of the feed that recorded `after`.
    pub seq: i32,
}

/// The row's history as stored: null when no slot was ever corrected.
pub(super) fn encode(history: &[Superseded]) -> Option<Vec<u8>> {
    if history.is_empty() {
        return None;
    }
    let mut bytes = Vec::with_capacity(history.len() * ENTRY);
    for h in history {
        bytes.push(h.slot);
        bytes.push(h.code_id);
        bytes.extend_from_slice(&h.since_seq.to_be_bytes());
    }
    Some(bytes)
}

/// The history as stored, or `None` when it is not whole entries of real slots and codes.
pub(super) fn decode(bytes: &[u8]) -> Option<Vec<Superseded>> {
    if !bytes.len().is_multiple_of(ENTRY) {
        return None;
    }
    bytes
        .chunks_exact(ENTRY)
        .map(|e| {
            let entry = Superseded {
                slot: e[0],
                code_id: e[1],
                since_seq: i32::from_be_bytes([e[2], e[3], e[4], e[5]]),
            };
            ((entry.slot as usize) < SLOTS && entry.code_id != 0).then_some(entry)
        })
        .collect()
}

impl MonthRegister {
    /// Each slot's code id (0 for none) as the LA knew it when only the feeds for which
    /// `recorded` is true had been recorded: the latest run of the slot's chain that such a feed
    /// began. A session first recorded later has no mark; a correction recorded later is
    /// ignored.
    pub fn codes_as_at(&self, recorded: impl Fn(i32) -> bool) -> [u8; SLOTS] {
        let mut codes = [0u8; SLOTS];
        for (slot, mark) in self.as_at(recorded).marks() {
            codes[slot] = mark.code_id;
        }
        codes
    }

    /// The row as the LA knew it when only the feeds for which `recorded` is true had been
    /// recorded ([`MonthRegister::codes_as_at`]), with no history: what every reader of current
    /// rows can read unchanged. A slot keeps its minutes late where its code then is its code now.
    pub fn as_at(&self, recorded: impl Fn(i32) -> bool) -> MonthRegister {
        let mut out = MonthRegister::default();
        for h in &self.history {
            if recorded(h.since_seq) {
                out.slots[h.slot as usize] = Some(super::SlotMark {
                    code_id: h.code_id,
                    feed_seq: h.since_seq,
                    since_seq: h.since_seq,
                    minutes_late: None,
                });
            }
        }
        for (slot, mark) in self.marks() {
            if recorded(mark.since_seq) {
                out.slots[slot] = Some(mark);
            }
        }
        out
    }

    /// Every change of a code in the row, slot by slot, each slot's in the order recorded.
    pub fn corrections(&self) -> Vec<Correction> {
        let mut out = Vec::new();
        for (slot, mark) in self.marks() {
            let mut chain = self
                .history
                .iter()
                .filter(|h| h.slot as usize == slot)
                .map(|h| (h.code_id, h.since_seq))
                .chain(std::iter::once((mark.code_id, mark.since_seq)));
            let Some((mut before, _)) = chain.next() else {
                continue;
            };
            for (after, seq) in chain {
                out.push(Correction {
                    slot,
                    before,
                    after,
                    seq,
                });
                before = after;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::EncodedRow;
    use chrono::NaiveDate;

    fn month() -> NaiveDate {
        "2025-10-01".parse().unwrap()
    }

    #[test]
    fn a_session_corrected_three_times_reads_each_code_at_each_moment() {
        // Feed 1 sends N (no reason yet), 2 sends it again, 3 corrects it to I (illness),
        // 4 to M (medical), 5 back to I.
        let (n, i, m) = (20, 9, 14);
        let mut r = MonthRegister::default();
        r.write(4, n, 1, None);
        r.write(4, n, 2, None);
        r.write(4, i, 3, None);
        r.write(4, m, 4, None);
        r.write(4, i, 5, None);
        let at = |last: i32| r.codes_as_at(|seq| seq <= last)[4];
        assert_eq!(
            [at(0), at(1), at(2), at(3), at(4), at(5)],
            [0, n, n, i, m, i]
        );
        let mark = r.get(4).unwrap();
        assert_eq!((mark.code_id, mark.feed_seq, mark.since_seq), (i, 5, 5));
        let changes: Vec<(u8, u8, i32)> = r
            .corrections()
            .iter()
            .map(|c| (c.before, c.after, c.seq))
            .collect();
        assert_eq!(changes, vec![(n, i, 3), (i, m, 4), (m, i, 5)]);
    }

    #[test]
    fn re_sending_the_same_code_adds_no_history() {
        let mut r = MonthRegister::default();
        r.write(0, 3, 1, None);
        r.write(0, 3, 2, Some(5));
        assert!(r.history().is_empty());
        assert!(r.corrections().is_empty());
        let mark = r.get(0).unwrap();
        assert_eq!((mark.feed_seq, mark.since_seq), (2, 1));
        // Recorded at feed 1, not at feed 2: as at feed 1 the code is already there.
        assert_eq!(r.codes_as_at(|seq| seq == 1)[0], 3);
        let row = r.encode();
        assert_eq!(row.since_feeds, Some(vec![1]));
        assert_eq!(row.feeds, [2i32.to_be_bytes(), 1i32.to_be_bytes()].concat());
        assert_eq!(MonthRegister::decode(1, month(), &row).unwrap(), r);
    }

    #[test]
    fn a_duplicate_within_one_feed_is_not_a_correction() {
        let mut r = MonthRegister::default();
        r.write(0, 3, 1, None);
        r.write(0, 7, 2, None);
        r.write(0, 8, 2, None);
        assert_eq!(r.history().len(), 1);
        let changes = r.corrections();
        assert_eq!((changes[0].before, changes[0].after), (3, 8));
    }

    #[test]
    fn history_round_trips_and_malformed_history_is_refused() {
        let mut r = MonthRegister::default();
        r.write(61, 3, 1, None);
        r.write(61, 7, 300, None);
        let row = r.encode();
        assert_eq!(row.history, Some(vec![61, 3, 0, 0, 0, 1]));
        assert_eq!(row.since_feeds, None);
        assert_eq!(MonthRegister::decode(1, month(), &row).unwrap(), r);
        let bad = |history: Vec<u8>| {
            MonthRegister::decode(
                1,
                month(),
                &EncodedRow {
                    history: Some(history),
                    ..row.clone()
                },
            )
            .unwrap_err()
            .problem
        };
        assert!(bad(vec![1, 2, 3]).contains("6 bytes"));
        assert!(bad(vec![62, 3, 0, 0, 0, 1]).contains("past the end"));
    }
}
