//! The v2 columns: texts in the smallest of four encodings, codes through a per-message
//! dictionary, and mark keys (pupil, day, session) as run-length coded steps.

use std::collections::HashMap;

use prost::Message as _;
use prost::encoding::encoded_len_varint;
use rollcall_domain::Upn;
use rollcall_domain::identifiers::{UPN_LETTERS, upn_check_letter};
use rollcall_proto::pipeline::v2 as pb;
use rollcall_proto::pipeline::v2::text_column::Encoding;

use crate::error::{DecodeError, invalid};
use crate::wire::{
    canonical_day, date, exceptions, read_exceptions, read_runs, read_texts, runs, text_list,
    unzigzag, with_exceptions, zigzag,
};

// ---------------------------------------------------------------------------------------------
// Texts

/// A column of texts in its smallest encoding; `None` when every text is empty.
pub(crate) fn encode_texts(values: &[&str]) -> Option<pb::TextColumn> {
    if values.iter().all(|v| v.is_empty()) {
        return None;
    }
    let mut best = pb::TextColumn {
        encoding: Some(Encoding::Plain(text_list(values.iter().copied()))),
    };
    let mut consider = |candidate: pb::TextColumn| {
        if candidate.encoded_len() < best.encoded_len() {
            best = candidate;
        }
    };
    consider(dictionary(values));
    if values.iter().any(|v| canonical_day(v).is_some()) {
        consider(numbered(values, canonical_day, |deltas, exceptions| {
            Encoding::Dates(pb::Dates {
                day_deltas: deltas,
                exceptions,
            })
        }));
    }
    if values.iter().any(|v| upn_number(v).is_some()) {
        consider(numbered(
            values,
            |v| upn_number(v).map(|n| n as i64),
            |deltas, exceptions| Encoding::Upns(pb::Upns { deltas, exceptions }),
        ));
    }
    Some(best)
}

fn dictionary(values: &[&str]) -> pb::TextColumn {
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut texts = Vec::new();
    let indexes: Vec<u32> = values
        .iter()
        .map(|v| {
            *index.entry(v).or_insert_with(|| {
                texts.push(*v);
                texts.len() as u32 - 1
            })
        })
        .collect();
    pb::TextColumn {
        encoding: Some(Encoding::Dictionary(pb::Dictionary {
            texts: text_list(texts.iter().copied()),
            indexes: if texts.len() == 1 {
                Vec::new()
            } else {
                indexes
            },
        })),
    }
}

/// Texts that are mostly numbers (days, UPNs) as deltas, the rest as exceptions.
fn numbered(
    values: &[&str],
    number: impl Fn(&str) -> Option<i64>,
    build: impl FnOnce(Vec<i64>, Option<pb::Exceptions>) -> Encoding,
) -> pb::TextColumn {
    let mut prev = 0i64;
    let mut odd = Vec::new();
    let deltas = values
        .iter()
        .enumerate()
        .map(|(i, v)| match number(v) {
            Some(n) => {
                let d = n.wrapping_sub(prev);
                prev = n;
                d
            }
            None => {
                odd.push((i, *v));
                0
            }
        })
        .collect();
    pb::TextColumn {
        encoding: Some(build(deltas, exceptions(&odd))),
    }
}

/// The `n` texts of a column.
pub(crate) fn decode_texts(
    column: Option<&pb::TextColumn>,
    n: usize,
    field: &'static str,
) -> Result<Vec<String>, DecodeError> {
    let Some(encoding) = column.and_then(|c| c.encoding.as_ref()) else {
        return Ok(vec![String::new(); n]);
    };
    match encoding {
        Encoding::Plain(list) => {
            let texts = read_texts(list, field)?;
            if texts.len() != n {
                return Err(invalid(field));
            }
            Ok(texts)
        }
        Encoding::Dictionary(d) => {
            let texts = read_texts(&d.texts, field)?;
            if d.indexes.is_empty() {
                return match texts.first() {
                    Some(only) => Ok(vec![only.clone(); n]),
                    None if n == 0 => Ok(Vec::new()),
                    None => Err(invalid(field)),
                };
            }
            if d.indexes.len() != n {
                return Err(invalid(field));
            }
            d.indexes
                .iter()
                .map(|&i| texts.get(i as usize).cloned().ok_or_else(|| invalid(field)))
                .collect()
        }
        Encoding::Dates(d) => {
            decode_numbered(&d.day_deltas, d.exceptions.as_ref(), n, field, |day| {
                date(day).map(|d| d.to_string())
            })
        }
        Encoding::Upns(u) => decode_numbered(&u.deltas, u.exceptions.as_ref(), n, field, |v| {
            u64::try_from(v).ok().and_then(upn_text)
        }),
    }
}

fn decode_numbered(
    deltas: &[i64],
    exceptions: Option<&pb::Exceptions>,
    n: usize,
    field: &'static str,
    text: impl Fn(i64) -> Option<String>,
) -> Result<Vec<String>, DecodeError> {
    if deltas.len() != n {
        return Err(invalid(field));
    }
    let mut prev = 0i64;
    let numbers: Vec<i64> = deltas
        .iter()
        .map(|d| {
            prev = prev.wrapping_add(*d);
            prev
        })
        .collect();
    let odd = read_exceptions(exceptions, n, field)?;
    with_exceptions(n, odd, |i| text(numbers[i]).ok_or_else(|| invalid(field)))
}

/// A valid UPN's number: characters 2 to 12 times 33 plus character 13's value.
pub(crate) fn upn_number(text: &str) -> Option<u64> {
    Upn::parse(text).ok()?;
    let b = text.as_bytes();
    let digits = b[1..12]
        .iter()
        .fold(0u64, |n, c| n * 10 + u64::from(c - b'0'));
    let last = match b[12] {
        c @ b'0'..=b'9' => u64::from(c - b'0'),
        c => 10 + UPN_LETTERS.iter().position(|&l| l == c)? as u64,
    };
    Some(digits * 33 + last)
}

pub(crate) fn upn_text(number: u64) -> Option<String> {
    let digits = number / 33;
    if digits >= 100_000_000_000 {
        return None;
    }
    let last = (number % 33) as usize;
    let last = if last < 10 {
        char::from(b'0' + last as u8)
    } else {
        char::from(UPN_LETTERS[last - 10])
    };
    let rest = format!("{digits:011}{last}");
    let check = upn_check_letter(rest.as_bytes())?;
    Some(format!("{}{rest}", char::from(check)))
}

// ---------------------------------------------------------------------------------------------
// Codes

/// One code per mark through a dictionary of the texts, in order of first use; the indexes bit
/// packed or run-length coded, whichever is smaller.
pub(crate) fn encode_codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> Option<pb::Codes> {
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut texts = Vec::new();
    let indexes: Vec<u32> = codes
        .into_iter()
        .map(|c| {
            *index.entry(c).or_insert_with(|| {
                texts.push(c);
                texts.len() as u32 - 1
            })
        })
        .collect();
    if indexes.is_empty() {
        return None;
    }
    let mut out = pb::Codes {
        texts: text_list(texts.iter().copied()),
        ..Default::default()
    };
    if texts.len() == 1 {
        return Some(out);
    }
    let bits = 32 - (texts.len() as u32 - 1).leading_zeros();
    let packed_len = (indexes.len() * bits as usize).div_ceil(8);
    let run_list = runs(indexes.iter().map(|&i| [u64::from(i)]));
    let runs_len: usize = run_list.iter().map(|&v| encoded_len_varint(v)).sum();
    if runs_len < packed_len {
        out.runs = run_list;
    } else {
        out.bits = bits;
        out.packed = pack(&indexes, bits);
    }
    Some(out)
}

fn pack(values: &[u32], bits: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((values.len() * bits as usize).div_ceil(8));
    let (mut acc, mut filled) = (0u64, 0u32);
    for &v in values {
        acc |= u64::from(v) << filled;
        filled += bits;
        while filled >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            filled -= 8;
        }
    }
    if filled > 0 {
        out.push(acc as u8);
    }
    out
}

/// The dictionary's texts and each of the `n` marks' index into them.
pub(crate) fn decode_codes(
    codes: Option<&pb::Codes>,
    n: usize,
    field: &'static str,
) -> Result<(Vec<String>, Vec<u32>), DecodeError> {
    let Some(codes) = codes else {
        return if n == 0 {
            Ok((Vec::new(), Vec::new()))
        } else {
            Err(invalid(field))
        };
    };
    let texts = read_texts(&codes.texts, field)?;
    let indexes = match (texts.len(), codes.bits) {
        (0, _) if n > 0 => return Err(invalid(field)),
        (0 | 1, _) => vec![0; n],
        (_, 0) => read_runs::<1>(&codes.runs, n, field)?
            .into_iter()
            .map(|[i]| u32::try_from(i).map_err(|_| invalid(field)))
            .collect::<Result<_, _>>()?,
        (_, bits @ 1..=32) => {
            if codes.packed.len() != (n * bits as usize).div_ceil(8) {
                return Err(invalid(field));
            }
            unpack(&codes.packed, bits, n)
        }
        _ => return Err(invalid(field)),
    };
    if indexes.iter().any(|&i| i as usize >= texts.len().max(1)) {
        return Err(invalid(field));
    }
    Ok((texts, indexes))
}

fn unpack(bytes: &[u8], bits: u32, n: usize) -> Vec<u32> {
    let mask = (1u64 << bits) - 1;
    let mut out = Vec::with_capacity(n);
    let (mut acc, mut filled) = (0u64, 0u32);
    let mut bytes = bytes.iter();
    while out.len() < n {
        while filled < bits {
            acc |= u64::from(*bytes.next().expect("length checked")) << filled;
            filled += 8;
        }
        out.push((acc & mask) as u32);
        acc >>= bits;
        filled -= bits;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Mark keys

/// Which pupil (an index into the message's table), day and session a mark is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub pupil: u64,
    pub day: i64,
    pub pm: bool,
}

/// Groups of one mark, or two of one pupil and day with both sessions, each a step from the
/// previous group, run-length coded: a register sent pupil by pupil, or day by day, is a handful
/// of runs.
pub(crate) fn encode_keys(keys: &[Key]) -> Option<pb::MarkKeys> {
    let first = keys.first()?;
    let base_day = first.day;
    let (mut pupil, mut day) = (0u64, base_day);
    let mut steps = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let k = keys[i];
        let pair = keys
            .get(i + 1)
            .is_some_and(|n| n.pupil == k.pupil && n.day == k.day && n.pm != k.pm);
        let sessions = u64::from(k.pm) + if pair { 2 } else { 0 };
        // Days are those of dates (within about 2^28 of each other), so the step fits.
        let day_step = zigzag(k.day.wrapping_sub(day)) << 2 | sessions;
        steps.push([zigzag(k.pupil.wrapping_sub(pupil) as i64), day_step]);
        (pupil, day) = (k.pupil, k.day);
        i += if pair { 2 } else { 1 };
    }
    Some(pb::MarkKeys {
        base_day,
        runs: runs(steps),
    })
}

/// The `n` marks' keys, each pupil below `pupils`.
pub(crate) fn decode_keys(
    keys: Option<&pb::MarkKeys>,
    n: usize,
    pupils: usize,
    field: &'static str,
) -> Result<Vec<Key>, DecodeError> {
    let Some(keys) = keys else {
        return if n == 0 {
            Ok(Vec::new())
        } else {
            Err(invalid(field))
        };
    };
    if !keys.runs.len().is_multiple_of(3) {
        return Err(invalid(field));
    }
    // Grown as the runs are read: a corrupted count is found before much is allocated.
    let mut out = Vec::new();
    let (mut pupil, mut day) = (0u64, keys.base_day);
    for run in keys.runs.chunks_exact(3) {
        let (count, pupil_step, day_step) = (run[0], unzigzag(run[1]), run[2]);
        let sessions = day_step & 3;
        let day_step = unzigzag(day_step >> 2);
        let per_group = if sessions >= 2 { 2 } else { 1 };
        let marks = count
            .checked_mul(per_group)
            .and_then(|m| m.checked_add(out.len() as u64))
            .ok_or_else(|| invalid(field))?;
        if marks > n as u64 {
            return Err(invalid(field));
        }
        for _ in 0..count {
            pupil = pupil.wrapping_add(pupil_step as u64);
            day = day.checked_add(day_step).ok_or_else(|| invalid(field))?;
            if pupil >= pupils as u64 {
                return Err(invalid(field));
            }
            let first_pm = sessions & 1 == 1;
            out.push(Key {
                pupil,
                day,
                pm: first_pm,
            });
            if per_group == 2 {
                out.push(Key {
                    pupil,
                    day,
                    pm: !first_pm,
                });
            }
        }
    }
    if out.len() != n {
        return Err(invalid(field));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_indexes_round_trip_at_every_width() {
        for bits in 1..=32u32 {
            let max = if bits == 32 {
                u32::MAX
            } else {
                (1 << bits) - 1
            };
            let values: Vec<u32> = (0..37u32)
                .map(|i| i.wrapping_mul(2654435761) & max)
                .collect();
            assert_eq!(unpack(&pack(&values, bits), bits, values.len()), values);
        }
    }

    #[test]
    fn upn_numbers_round_trip() {
        for text in ["A937200012001", "H937200012001", "B93720001200A"] {
            if let Some(n) = upn_number(text) {
                assert_eq!(upn_text(n).as_deref(), Some(text));
            }
        }
        let upn = Upn::from_parts(rollcall_domain::LaCode::new(937).unwrap(), 2000, 12, 1);
        let n = upn_number(upn.as_str()).expect("a valid upn has a number");
        assert_eq!(upn_text(n).as_deref(), Some(upn.as_str()));
    }

    #[test]
    fn a_day_by_day_register_is_a_few_runs() {
        let keys: Vec<Key> = (0..5)
            .flat_map(|day| {
                (0..300u64).flat_map(move |pupil| {
                    [false, true].map(|pm| Key {
                        pupil,
                        day: 20_000 + day,
                        pm,
                    })
                })
            })
            .collect();
        let encoded = encode_keys(&keys).unwrap();
        assert!(
            encoded.runs.len() <= 5 * 2 * 3,
            "{} runs",
            encoded.runs.len() / 3
        );
        assert_eq!(
            decode_keys(Some(&encoded), keys.len(), 300, "keys").unwrap(),
            keys
        );
    }
}
