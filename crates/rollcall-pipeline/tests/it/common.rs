//! Generators shared by the tests: raw and typed feeds, arbitrary and synthetic.

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rollcall_domain::feed::{Outcome, ReceivedFeed, ValidatedFeed};
use rollcall_domain::validation::{
    Context, Finding, FindingCode, MARK_FIELDS, Mark, Pupil, ROLL_FIELDS, RawMark, RawPupil,
    RecordRef, SenProvision, Severity, Sex, Summary, Validated, YearGroup, validate,
};
use rollcall_domain::{LaCode, Session, Upn, Urn, codes};
use uuid::Uuid;

pub fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (-5_000_000_000i64..5_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

pub fn urn() -> impl Strategy<Value = Urn> {
    (100_000u32..=999_999).prop_map(|n| Urn::new(n).unwrap())
}

pub fn feed_id() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// Any text, with the canonical and nearly canonical forms of every field over-represented.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => Just(String::new()),
        1 => "[\\x00-\\x1f\\u{7f}\\u{85}\\u{2028}]{1,4}",
        2 => date_text(),
        1 => prop::sample::select(vec!["AM", "PM", "am", " AM", "P M", "pm "]).prop_map(String::from),
        2 => minutes_text(),
        2 => code_text(),
        2 => upn_text(),
    ]
}

pub fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-1_000_000i32..1_000_000).prop_map(|d| (NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
            + chrono::Duration::days(i64::from(d))).to_string()),
        1 => prop::sample::select(vec!["2024-02-30", "2024-2-3", "20240203", " 2024-02-03", "0000-01-01", "9999-12-31", "+10000-01-01"]).prop_map(String::from),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}",
    ]
}

pub fn minutes_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0u32..400).prop_map(|m| m.to_string()),
        1 => prop::sample::select(vec!["05", "+5", "-1", "00", " 7", "4294967295", "4294967296", "99999999999999999999"]).prop_map(String::from),
    ]
}

pub fn code_text() -> impl Strategy<Value = String> {
    let all: Vec<String> = codes::all().iter().map(|c| c.code().to_owned()).collect();
    prop_oneof![
        4 => prop::sample::select(all),
        1 => prop::sample::select(vec!["c1", " /", "!", "PR", ""]).prop_map(String::from),
        1 => any::<String>(),
    ]
}

pub fn upn() -> impl Strategy<Value = Upn> {
    let las: Vec<LaCode> = rollcall_domain::identifiers::current_la_codes().collect();
    (
        prop::sample::select(las),
        0u16..10_000,
        0u8..100,
        0u16..1000,
        any::<bool>(),
    )
        .prop_map(|(la, estab, year, serial, temporary)| {
            if temporary {
                Upn::temporary_from_parts(la, estab, year, (serial % 100) as u8, 'T')
            } else {
                Upn::from_parts(la, estab, year, serial)
            }
        })
}

pub fn upn_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => upn().prop_map(|u| u.as_str().to_owned()),
        1 => "[A-Z][0-9]{11}[0-9A-Z]",
    ]
}

pub fn raw_pupil() -> impl Strategy<Value = RawPupil> {
    (
        (upn_text(), text(), text(), text(), text(), text()),
        (text(), text(), text(), text(), text(), text(), text()),
    )
        .prop_map(
            |((upn, forename, surname, dob, sex, year), (adm, leave, fsm, sen, eth, la, hh))| {
                RawPupil {
                    upn,
                    forename,
                    surname,
                    date_of_birth: dob,
                    sex,
                    year_group: year,
                    admission_date: adm,
                    leaving_date: leave,
                    fsm,
                    sen_provision: sen,
                    ethnicity: eth,
                    looked_after: la,
                    household_key: hh,
                }
            },
        )
}

/// A mark: its UPN one of `upns` (when any) or any other text.
pub fn raw_mark(upns: Vec<String>) -> impl Strategy<Value = RawMark> {
    let upn = if upns.is_empty() {
        upn_text().boxed()
    } else {
        prop_oneof![4 => prop::sample::select(upns), 1 => upn_text(), 1 => text()].boxed()
    };
    (
        upn,
        prop_oneof![4 => date_text(), 1 => text()],
        prop_oneof![
            4 => prop::sample::select(vec!["AM", "PM"]).prop_map(String::from),
            1 => text()
        ],
        code_text(),
        prop_oneof![3 => Just(String::new()), 2 => minutes_text(), 1 => text()],
    )
        .prop_map(|(upn, date, session, code, minutes_late)| RawMark {
            upn,
            date,
            session,
            code,
            minutes_late,
        })
}

pub fn received_feed() -> impl Strategy<Value = ReceivedFeed> {
    prop::collection::vec(raw_pupil(), 0..8).prop_flat_map(|roll| {
        let upns: Vec<String> = roll.iter().map(|p| p.upn.clone()).collect();
        (
            (feed_id(), urn(), time(), time(), text(), text()),
            Just(roll),
            prop::collection::vec(raw_mark(upns), 0..60),
        )
            .prop_map(
                |((feed_id, school, extracted_at, received_at, key, code_set), roll, marks)| {
                    ReceivedFeed {
                        feed_id,
                        school,
                        extracted_at,
                        received_at,
                        idempotency_key: key,
                        code_set,
                        roll,
                        marks,
                    }
                },
            )
    })
}

pub fn date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        4 => (0i64..73_000).prop_map(|d| NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(d)),
        1 => (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
    ]
}

use chrono::Datelike as _;

fn record() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..500, 1 => any::<usize>()]
}

pub fn pupil() -> impl Strategy<Value = Pupil> {
    (
        (
            record(),
            upn(),
            any::<String>(),
            any::<String>(),
            date(),
            date(),
        ),
        (
            prop::option::of(prop::sample::select(Sex::ALL.to_vec())),
            prop::option::of(prop::sample::select(YearGroup::ALL.to_vec())),
            prop::option::of(date()),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::select(SenProvision::ALL.to_vec())),
            prop::option::of(prop_oneof!["[A-Z]{4}", any::<String>()]),
            prop::option::of(any::<bool>()),
            prop::option::of(prop_oneof!["[A-Za-z0-9_-]{8,32}", any::<String>()]),
        ),
    )
        .prop_map(
            |(
                (record, upn, forename, surname, dob, adm),
                (sex, year, leave, fsm, sen, eth, la, hh),
            )| {
                Pupil {
                    record,
                    upn,
                    forename,
                    surname,
                    date_of_birth: dob,
                    sex,
                    year_group: year,
                    admission_date: adm,
                    leaving_date: leave,
                    fsm,
                    sen_provision: sen,
                    ethnicity: eth,
                    looked_after: la,
                    household_key: hh,
                }
            },
        )
}

pub fn finding() -> impl Strategy<Value = Finding> {
    let fields: Vec<&'static str> = ROLL_FIELDS
        .iter()
        .chain(&MARK_FIELDS)
        .chain(&[""])
        .copied()
        .collect();
    (
        prop::sample::select(FindingCode::ALL.to_vec()),
        prop::sample::select(vec![Severity::Error, Severity::Warning]),
        prop_oneof![
            Just(RecordRef::Feed),
            record().prop_map(RecordRef::Roll),
            record().prop_map(RecordRef::Mark)
        ],
        prop::sample::select(fields),
        any::<String>(),
    )
        .prop_map(|(code, severity, record, field, message)| Finding {
            code,
            severity,
            record,
            field,
            message,
        })
}

pub fn outcome() -> impl Strategy<Value = Outcome> {
    (
        any::<[u64; 5]>(),
        prop::collection::vec(finding(), 0..6),
        any::<u32>(),
    )
        .prop_map(|(s, findings, findings_omitted)| Outcome {
            summary: Summary {
                roll_accepted: s[0],
                roll_rejected: s[1],
                marks_accepted: s[2],
                marks_rejected: s[3],
                records_warned: s[4],
            },
            findings,
            findings_omitted,
        })
}

pub fn validated_feed() -> impl Strategy<Value = ValidatedFeed> {
    prop::collection::vec(pupil(), 0..8).prop_flat_map(|pupils| {
        let upns: Vec<Upn> = pupils.iter().map(|p| p.upn.clone()).collect();
        let mark = if upns.is_empty() {
            Just(None).boxed()
        } else {
            (
                record(),
                prop::sample::select(upns),
                date(),
                prop::sample::select(Session::ALL.to_vec()),
                prop::sample::select(codes::all().iter().collect::<Vec<_>>()),
                prop::option::of(any::<u16>()),
            )
                .prop_map(|(record, upn, date, session, code, minutes_late)| {
                    Some(Mark {
                        record,
                        upn,
                        date,
                        session,
                        code,
                        minutes_late,
                    })
                })
                .boxed()
        };
        (
            (feed_id(), urn(), time()),
            Just(pupils),
            prop::collection::vec(mark, 0..60),
            outcome(),
        )
            .prop_map(|((feed_id, school, recorded_at), pupils, marks, outcome)| {
                ValidatedFeed {
                    feed_id,
                    school,
                    recorded_at,
                    pupils,
                    marks: marks.into_iter().flatten().collect(),
                    replay: None,
                    outcome,
                }
            })
    })
}

/// A synthetic feed as the gateway receives it.
pub fn synthetic_received(feed: &rollcall_synth::Feed) -> ReceivedFeed {
    ReceivedFeed {
        feed_id: Uuid::new_v5(&Uuid::NAMESPACE_OID, feed.idempotency_key.as_bytes()),
        school: Urn::new(feed.urn).unwrap(),
        extracted_at: feed.extracted_at,
        received_at: feed.extracted_at + chrono::Duration::milliseconds(1234),
        idempotency_key: feed.idempotency_key.clone(),
        code_set: "2024".into(),
        roll: feed.roll.clone(),
        marks: feed.marks.clone(),
    }
}

/// What the validator makes of a received feed, on `today`.
pub fn validated_of(feed: &ReceivedFeed, today: NaiveDate) -> (Validated, ValidatedFeed) {
    let ctx = Context {
        today,
        school_registered: true,
    };
    let validated = validate(&feed.roll, &feed.marks, &ctx);
    let typed = ValidatedFeed {
        feed_id: feed.feed_id,
        school: feed.school,
        recorded_at: feed.extracted_at,
        pupils: validated.pupils.clone(),
        marks: validated.marks.clone(),
        replay: None,
        outcome: Outcome {
            summary: validated.summary(),
            findings: validated.findings.clone(),
            findings_omitted: 0,
        },
    };
    (validated, typed)
}
