//! The validated topic's v2 message: a [`ValidatedFeed`] as typed columns.

use std::collections::HashMap;

use prost::Message as _;
use rollcall_domain::feed::{Outcome, ValidatedFeed};
use rollcall_domain::validation::{
    Finding, FindingCode, Mark, Pupil, RecordRef, SenProvision, Severity, Sex, Summary, YearGroup,
    field_name,
};
use rollcall_domain::{Session, Upn, Urn, codes};
use rollcall_proto::pipeline::v2 as pb;
use uuid::Uuid;

use crate::column::{
    Key, decode_codes, decode_keys, decode_texts, encode_codes, encode_keys, encode_texts,
};
use crate::error::{DecodeError, EncodeError, invalid};
use crate::wire::{
    count, day, deltas, gaps, read_date, read_gaps, read_record_runs, read_texts, read_timestamp,
    record_runs, text_list, timestamp, undelta,
};

pub(crate) fn to_v2(feed: &ValidatedFeed) -> Result<pb::ValidatedFeed, EncodeError> {
    Ok(pb::ValidatedFeed {
        feed_id: feed.feed_id.as_bytes().to_vec(),
        school_urn: feed.school.get(),
        recorded_at: Some(timestamp(feed.recorded_at)),
        pupils: Some(pupils(&feed.pupils)),
        marks: Some(marks(&feed.pupils, &feed.marks)?),
        outcome: Some(outcome(&feed.outcome)),
        replay: feed.replay.unwrap_or(0),
        complete: true,
    })
}

/// One byte per value: 0 for none, else 1 + its place in `all`; empty when all are none.
fn enum_bytes<T: Copy + PartialEq>(values: impl Iterator<Item = Option<T>>, all: &[T]) -> Vec<u8> {
    let bytes: Vec<u8> = values
        .map(|v| {
            v.map_or(0, |v| {
                1 + all.iter().position(|a| *a == v).expect("in all") as u8
            })
        })
        .collect();
    if bytes.iter().all(|&b| b == 0) {
        Vec::new()
    } else {
        bytes
    }
}

fn read_enum<T: Copy>(
    bytes: &[u8],
    n: usize,
    all: &[T],
    field: &'static str,
) -> Result<Vec<Option<T>>, DecodeError> {
    if bytes.is_empty() {
        return Ok(vec![None; n]);
    }
    if bytes.len() != n {
        return Err(invalid(field));
    }
    bytes
        .iter()
        .map(|&b| match b {
            0 => Ok(None),
            b => all
                .get(b as usize - 1)
                .copied()
                .map(Some)
                .ok_or_else(|| invalid(field)),
        })
        .collect()
}

const FLAGS: [bool; 2] = [false, true];

fn pupils(pupils: &[Pupil]) -> pb::Pupils {
    let texts = |f: fn(&Pupil) -> &str| encode_texts(&pupils.iter().map(f).collect::<Vec<_>>());
    let leaving: Vec<(usize, i64)> = pupils
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.leaving_date.map(|d| (i, day(d))))
        .collect();
    let households: Vec<(usize, &str)> = pupils
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.household_key.as_deref().map(|k| (i, k)))
        .collect();
    let mut ethnicity_index: HashMap<&str, u32> = HashMap::new();
    let mut ethnicity_codes = Vec::new();
    let ethnicity: Vec<u32> = pupils
        .iter()
        .map(|p| {
            p.ethnicity.as_deref().map_or(0, |e| {
                *ethnicity_index.entry(e).or_insert_with(|| {
                    ethnicity_codes.push(e);
                    ethnicity_codes.len() as u32
                })
            })
        })
        .collect();
    pb::Pupils {
        count: pupils.len() as u64,
        records: record_runs(pupils.iter().map(|p| p.record)),
        upn: texts(|p| p.upn.as_str()),
        forename: texts(|p| &p.forename),
        surname: texts(|p| &p.surname),
        date_of_birth: deltas(pupils.iter().map(|p| day(p.date_of_birth))),
        admission_date: deltas(pupils.iter().map(|p| day(p.admission_date))),
        leaving_at: gaps(leaving.iter().map(|(i, _)| *i)),
        leaving_date: deltas(leaving.iter().map(|(_, d)| *d)),
        sex: enum_bytes(pupils.iter().map(|p| p.sex), &Sex::ALL),
        year_group: enum_bytes(pupils.iter().map(|p| p.year_group), &YearGroup::ALL),
        fsm: enum_bytes(pupils.iter().map(|p| p.fsm), &FLAGS),
        sen_provision: enum_bytes(pupils.iter().map(|p| p.sen_provision), &SenProvision::ALL),
        looked_after: enum_bytes(pupils.iter().map(|p| p.looked_after), &FLAGS),
        ethnicity_codes: text_list(ethnicity_codes),
        ethnicity: if ethnicity.iter().all(|&e| e == 0) {
            Vec::new()
        } else {
            ethnicity
        },
        household_at: gaps(households.iter().map(|(i, _)| *i)),
        household_keys: text_list(households.iter().map(|(_, k)| *k)),
    }
}

fn marks(pupils: &[Pupil], marks: &[Mark]) -> Result<pb::Marks, EncodeError> {
    let mut index: HashMap<&Upn, u64> = HashMap::new();
    for (i, p) in pupils.iter().enumerate() {
        index.entry(&p.upn).or_insert(i as u64);
    }
    let keys = marks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let pupil = *index
                .get(&m.upn)
                .ok_or(EncodeError::MarkWithoutPupil { mark: i })?;
            Ok(Key {
                pupil,
                day: day(m.date),
                pm: m.session == Session::Pm,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let late: Vec<(usize, u16)> = marks
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.minutes_late.map(|l| (i, l)))
        .collect();
    Ok(pb::Marks {
        count: marks.len() as u64,
        records: record_runs(marks.iter().map(|m| m.record)),
        keys: encode_keys(&keys),
        codes: encode_codes(marks.iter().map(|m| m.code.code())),
        late_at: gaps(late.iter().map(|(i, _)| *i)),
        late_minutes: late.iter().map(|(_, l)| u32::from(*l)).collect(),
    })
}

fn outcome(o: &Outcome) -> pb::Outcome {
    let s = &o.summary;
    let f = &o.findings;
    let texts = |get: fn(&Finding) -> &str| encode_texts(&f.iter().map(get).collect::<Vec<_>>());
    let (kinds, indexes): (Vec<u8>, Vec<i64>) = f
        .iter()
        .map(|f| match f.record {
            RecordRef::Feed => (0, 0),
            RecordRef::Roll(i) => (1, i as i64),
            RecordRef::Mark(i) => (2, i as i64),
        })
        .unzip();
    pb::Outcome {
        roll_accepted: s.roll_accepted,
        roll_rejected: s.roll_rejected,
        marks_accepted: s.marks_accepted,
        marks_rejected: s.marks_rejected,
        records_warned: s.records_warned,
        findings: (!f.is_empty()).then(|| pb::Findings {
            count: f.len() as u64,
            codes: texts(|f| f.code.as_str()),
            severities: f
                .iter()
                .map(|f| u8::from(f.severity == Severity::Warning))
                .collect(),
            record_kinds: kinds,
            record_indexes: deltas(indexes),
            fields: texts(|f| f.field),
            messages: texts(|f| &f.message),
        }),
        findings_omitted: o.findings_omitted,
    }
}

pub(crate) fn decode(body: &[u8]) -> Result<ValidatedFeed, DecodeError> {
    let msg = pb::ValidatedFeed::decode(body)
        .map_err(|e| DecodeError::protobuf("v2 validated feed", &e))?;
    if !msg.complete {
        return Err(DecodeError::Truncated);
    }
    let pupils = decode_pupils(&msg.pupils.unwrap_or_default())?;
    let marks = decode_marks(&msg.marks.unwrap_or_default(), &pupils)?;
    Ok(ValidatedFeed {
        feed_id: Uuid::from_slice(&msg.feed_id).map_err(|_| invalid("feed_id"))?,
        school: Urn::new(msg.school_urn).map_err(|_| invalid("school_urn"))?,
        recorded_at: read_timestamp(msg.recorded_at.as_ref(), "recorded_at")?,
        pupils,
        marks,
        outcome: decode_outcome(&msg.outcome.unwrap_or_default())?,
        replay: (msg.replay > 0).then_some(msg.replay),
    })
}

fn days(
    deltas: &[i64],
    n: usize,
    field: &'static str,
) -> Result<Vec<chrono::NaiveDate>, DecodeError> {
    if deltas.len() != n {
        return Err(invalid(field));
    }
    undelta(deltas).map(|d| read_date(d, field)).collect()
}

fn decode_pupils(p: &pb::Pupils) -> Result<Vec<Pupil>, DecodeError> {
    let n = count(p.count, "pupils.count")?;
    let records = read_record_runs(&p.records, n, "pupils.record")?;
    let upns = decode_texts(p.upn.as_ref(), n, "pupils.upn")?;
    let forenames = decode_texts(p.forename.as_ref(), n, "pupils.forename")?;
    let surnames = decode_texts(p.surname.as_ref(), n, "pupils.surname")?;
    let births = days(&p.date_of_birth, n, "pupils.date_of_birth")?;
    let admissions = days(&p.admission_date, n, "pupils.admission_date")?;
    let leaving_at = read_gaps(&p.leaving_at, n, "pupils.leaving_date")?;
    let leaving_days = days(&p.leaving_date, leaving_at.len(), "pupils.leaving_date")?;
    let mut leaving = vec![None; n];
    for (i, d) in leaving_at.into_iter().zip(leaving_days) {
        leaving[i] = Some(d);
    }
    let sex = read_enum(&p.sex, n, &Sex::ALL, "pupils.sex")?;
    let year_group = read_enum(&p.year_group, n, &YearGroup::ALL, "pupils.year_group")?;
    let fsm = read_enum(&p.fsm, n, &FLAGS, "pupils.fsm")?;
    let sen = read_enum(
        &p.sen_provision,
        n,
        &SenProvision::ALL,
        "pupils.sen_provision",
    )?;
    let looked_after = read_enum(&p.looked_after, n, &FLAGS, "pupils.looked_after")?;
    let ethnicity_codes = read_texts(&p.ethnicity_codes, "pupils.ethnicity")?;
    if !(p.ethnicity.is_empty() || p.ethnicity.len() == n) {
        return Err(invalid("pupils.ethnicity"));
    }
    let ethnicity = |i: usize| -> Result<Option<String>, DecodeError> {
        match p.ethnicity.get(i).copied().unwrap_or(0) {
            0 => Ok(None),
            e => ethnicity_codes
                .get(e as usize - 1)
                .cloned()
                .map(Some)
                .ok_or_else(|| invalid("pupils.ethnicity")),
        }
    };
    let household_at = read_gaps(&p.household_at, n, "pupils.household_key")?;
    let household_keys = read_texts(&p.household_keys, "pupils.household_key")?;
    if household_keys.len() != household_at.len() {
        return Err(invalid("pupils.household_key"));
    }
    let mut household = vec![None; n];
    for (i, key) in household_at.into_iter().zip(household_keys) {
        household[i] = Some(key);
    }
    let mut names = forenames.into_iter().zip(surnames);
    (0..n)
        .map(|i| {
            let (forename, surname) = names.next().expect("n names");
            Ok(Pupil {
                record: records[i],
                upn: Upn::parse(&upns[i]).map_err(|_| invalid("pupils.upn"))?,
                forename,
                surname,
                date_of_birth: births[i],
                sex: sex[i],
                year_group: year_group[i],
                admission_date: admissions[i],
                leaving_date: leaving[i],
                fsm: fsm[i],
                sen_provision: sen[i],
                ethnicity: ethnicity(i)?,
                looked_after: looked_after[i],
                household_key: household[i].take(),
            })
        })
        .collect()
}

fn decode_marks(m: &pb::Marks, pupils: &[Pupil]) -> Result<Vec<Mark>, DecodeError> {
    let n = count(m.count, "marks.count")?;
    let records = read_record_runs(&m.records, n, "marks.record")?;
    let keys = decode_keys(m.keys.as_ref(), n, pupils.len(), "marks.keys")?;
    let (texts, code_of) = decode_codes(m.codes.as_ref(), n, "marks.code")?;
    let dictionary = texts
        .iter()
        .map(|t| codes::get(t).ok_or_else(|| invalid("marks.code")))
        .collect::<Result<Vec<_>, _>>()?;
    let late_at = read_gaps(&m.late_at, n, "marks.minutes_late")?;
    if late_at.len() != m.late_minutes.len() {
        return Err(invalid("marks.minutes_late"));
    }
    let mut late = vec![None; n];
    for (i, &minutes) in late_at.into_iter().zip(&m.late_minutes) {
        late[i] = Some(u16::try_from(minutes).map_err(|_| invalid("marks.minutes_late"))?);
    }
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            Ok(Mark {
                record: records[i],
                upn: pupils[key.pupil as usize].upn.clone(),
                date: read_date(key.day, "marks.date")?,
                session: if key.pm { Session::Pm } else { Session::Am },
                code: dictionary[code_of[i] as usize],
                minutes_late: late[i],
            })
        })
        .collect()
}

fn decode_outcome(o: &pb::Outcome) -> Result<Outcome, DecodeError> {
    let findings = match &o.findings {
        Some(f) => decode_findings(f)?,
        None => Vec::new(),
    };
    Ok(Outcome {
        summary: Summary {
            roll_accepted: o.roll_accepted,
            roll_rejected: o.roll_rejected,
            marks_accepted: o.marks_accepted,
            marks_rejected: o.marks_rejected,
            records_warned: o.records_warned,
        },
        findings,
        findings_omitted: o.findings_omitted,
    })
}

fn decode_findings(f: &pb::Findings) -> Result<Vec<Finding>, DecodeError> {
    let n = count(f.count, "findings.count")?;
    let codes = decode_texts(f.codes.as_ref(), n, "findings.code")?;
    let fields = decode_texts(f.fields.as_ref(), n, "findings.field")?;
    let messages = decode_texts(f.messages.as_ref(), n, "findings.message")?;
    if f.severities.len() != n || f.record_kinds.len() != n || f.record_indexes.len() != n {
        return Err(invalid("findings.record"));
    }
    let indexes: Vec<i64> = undelta(&f.record_indexes).collect();
    let mut messages = messages.into_iter();
    (0..n)
        .map(|i| {
            // Written as `usize as i64`: read back the same way, whatever the value.
            let index = indexes[i] as u64 as usize;
            Ok(Finding {
                code: FindingCode::parse(&codes[i]).ok_or_else(|| invalid("findings.code"))?,
                severity: match f.severities[i] {
                    0 => Severity::Error,
                    1 => Severity::Warning,
                    _ => return Err(invalid("findings.severity")),
                },
                record: match f.record_kinds[i] {
                    0 => RecordRef::Feed,
                    1 => RecordRef::Roll(index),
                    2 => RecordRef::Mark(index),
                    _ => return Err(invalid("findings.record")),
                },
                field: field_name(&fields[i]).ok_or_else(|| invalid("findings.field"))?,
                message: messages.next().expect("n messages"),
            })
        })
        .collect()
}
