//! The validation catalogue: every rule, the neighbours of a bad record, ordering and messages.

use rollcall_domain::calendar::Session;
use rollcall_domain::codes::Category;
use rollcall_domain::identifiers::{LaCode, Upn};
use rollcall_domain::validation::{
    Context, FindingCode, RawMark, RawPupil, RecordRef, SenProvision, Severity, Sex, Summary,
    Validated, YearGroup, validate,
};

use crate::d;
use FindingCode as F;

pub(crate) fn ctx() -> Context {
    // A Monday in the 2025/26 autumn term.
    Context {
        today: d("2025-11-24"),
        school_registered: true,
    }
}

pub(crate) fn upn(serial: u16) -> String {
    Upn::from_parts(LaCode::new(937).unwrap(), 2000, 19, serial)
        .as_str()
        .to_owned()
}

pub(crate) fn pupil(serial: u16) -> RawPupil {
    RawPupil {
        upn: upn(serial),
        forename: format!("Ada{serial}"),
        surname: format!("Lovelace{serial}"),
        date_of_birth: "2015-03-14".into(),
        sex: "F".into(),
        year_group: "5".into(),
        admission_date: "2020-09-01".into(),
        leaving_date: String::new(),
        fsm: "N".into(),
        sen_provision: "K".into(),
        ethnicity: "WBRI".into(),
        looked_after: "false".into(),
        household_key: String::new(),
    }
}

pub(crate) fn mark(serial: u16, date: &str, session: &str, code: &str) -> RawMark {
    RawMark {
        upn: upn(serial),
        date: date.into(),
        session: session.into(),
        code: code.into(),
        minutes_late: String::new(),
    }
}

pub(crate) fn set_pupil(p: &mut RawPupil, field: &str, value: &str) {
    let slot = match field {
        "upn" => &mut p.upn,
        "forename" => &mut p.forename,
        "surname" => &mut p.surname,
        "date_of_birth" => &mut p.date_of_birth,
        "sex" => &mut p.sex,
        "year_group" => &mut p.year_group,
        "admission_date" => &mut p.admission_date,
        "leaving_date" => &mut p.leaving_date,
        "fsm" => &mut p.fsm,
        "sen_provision" => &mut p.sen_provision,
        "ethnicity" => &mut p.ethnicity,
        "looked_after" => &mut p.looked_after,
        "household_key" => &mut p.household_key,
        _ => panic!("no field {field}"),
    };
    *slot = value.to_owned();
}

pub(crate) fn set_mark(m: &mut RawMark, field: &str, value: &str) {
    let slot = match field {
        "upn" => &mut m.upn,
        "date" => &mut m.date,
        "session" => &mut m.session,
        "code" => &mut m.code,
        "minutes_late" => &mut m.minutes_late,
        _ => panic!("no field {field}"),
    };
    *slot = value.to_owned();
}

/// A table row: the field changed, its new value, and the findings expected on that record.
pub(crate) type Case = (
    &'static str,
    &'static str,
    &'static [(FindingCode, &'static str)],
);

/// The findings of one record as (code, field).
pub(crate) fn of(v: &Validated, record: RecordRef) -> Vec<(FindingCode, &'static str)> {
    v.findings
        .iter()
        .filter(|f| f.record == record)
        .map(|f| (f.code, f.field))
        .collect()
}

/// Every message names no pupil, starts lower case and has no trailing period.
pub(crate) fn assert_messages_are_clean(v: &Validated, roll: &[RawPupil], marks: &[RawMark]) {
    let personal: Vec<&str> = roll
        .iter()
        .flat_map(|p| {
            [
                p.upn.trim(),
                p.forename.trim(),
                p.surname.trim(),
                p.date_of_birth.trim(),
            ]
        })
        .chain(marks.iter().map(|m| m.upn.trim()))
        .filter(|s| s.len() >= 3)
        .collect();
    for f in &v.findings {
        for p in &personal {
            assert!(
                !f.message.contains(p),
                "{:?} message names a pupil: {}",
                f.code,
                f.message
            );
        }
        assert!(
            f.message.starts_with(|c: char| c.is_ascii_lowercase()),
            "{}",
            f.message
        );
        assert!(!f.message.ends_with('.'), "{}", f.message);
        assert_eq!(f.severity, f.code.severity());
        assert!(!f.to_string().is_empty());
    }
    // Ordered by record, and deterministic.
    assert!(v.findings.windows(2).all(|w| w[0].record <= w[1].record));
    assert_eq!(&validate(roll, marks, &ctx()), v);
}

#[test]
fn a_clean_feed_is_accepted_whole() {
    let roll = vec![pupil(1), pupil(2)];
    let marks = vec![
        mark(1, "2025-11-24", "AM", "/"),
        mark(1, "2025-11-24", "PM", "\\"),
        mark(2, "2025-11-24", "AM", "L"),
        mark(2, "2025-11-24", "PM", "I"),
    ];
    let v = validate(&roll, &marks, &ctx());
    assert_eq!(v.findings, []);
    assert_eq!(
        v.summary(),
        Summary {
            roll_accepted: 2,
            roll_rejected: 0,
            marks_accepted: 4,
            marks_rejected: 0,
            records_warned: 0
        }
    );
    let p = &v.pupils[0];
    assert_eq!(p.record, 0);
    assert_eq!(p.upn.as_str(), upn(1));
    assert_eq!(
        (p.forename.as_str(), p.surname.as_str()),
        ("Ada1", "Lovelace1")
    );
    assert_eq!(p.date_of_birth, d("2015-03-14"));
    assert_eq!(p.sex, Some(Sex::Female));
    assert_eq!(p.year_group, Some(YearGroup::Y5));
    assert_eq!(p.admission_date, d("2020-09-01"));
    assert_eq!(p.leaving_date, None);
    assert_eq!(p.fsm, Some(false));
    assert_eq!(p.sen_provision, Some(SenProvision::SenSupport));
    assert_eq!(p.ethnicity.as_deref(), Some("WBRI"));
    assert_eq!(p.looked_after, Some(false));
    assert!(p.is_on_roll(d("2025-11-24")));
    let m = &v.marks[3];
    assert_eq!(
        (m.record, m.date, m.session, m.code.code(), m.minutes_late),
        (3, d("2025-11-24"), Session::Pm, "I", None)
    );
    assert_eq!(m.upn.as_str(), upn(2));
    assert_messages_are_clean(&v, &roll, &marks);
}

#[test]
fn optional_attributes_may_be_absent() {
    // An independent school: UPN, names, date of birth, year group, dates on roll, marks.
    let mut p = pupil(1);
    for field in ["sex", "fsm", "sen_provision", "ethnicity", "looked_after"] {
        set_pupil(&mut p, field, "");
    }
    let v = validate(&[p], &[], &ctx());
    assert_eq!(v.findings, []);
    let p = &v.pupils[0];
    assert_eq!(
        (
            p.sex,
            p.fsm,
            p.sen_provision,
            p.ethnicity.clone(),
            p.looked_after
        ),
        (None, None, None, None, None)
    );
}

#[test]
fn every_roll_rule() {
    let cases: &[Case] = &[
        ("upn", "", &[(F::RequiredFieldMissing, "upn")]),
        ("upn", "   ", &[(F::RequiredFieldMissing, "upn")]),
        ("upn", "H80120000100", &[(F::UpnLength, "upn")]),
        ("upn", "I801200001001", &[(F::UpnFirstCharacter, "upn")]),
        ("upn", "H8012000O1001", &[(F::UpnDigits, "upn")]),
        ("upn", "H80120000100I", &[(F::UpnLastCharacter, "upn")]),
        ("upn", "R900400001001", &[(F::UpnLaCode, "upn")]),
        ("upn", "Z801200001001", &[(F::UpnCheckLetter, "upn")]),
        ("upn", "h801200001001", &[(F::UpnFirstCharacter, "upn")]),
        ("upn", " H801200001001 ", &[]),
        ("upn", "G80120000101A", &[(F::UpnTemporary, "upn")]),
        ("forename", "", &[(F::RequiredFieldMissing, "forename")]),
        ("surname", " ", &[(F::RequiredFieldMissing, "surname")]),
        (
            "date_of_birth",
            "",
            &[(F::RequiredFieldMissing, "date_of_birth")],
        ),
        (
            "date_of_birth",
            "14/03/2015",
            &[(F::DateInvalid, "date_of_birth")],
        ),
        (
            "date_of_birth",
            "2015-3-14",
            &[(F::DateInvalid, "date_of_birth")],
        ),
        (
            "date_of_birth",
            "2015-02-29",
            &[(F::DateInvalid, "date_of_birth")],
        ),
        (
            "date_of_birth",
            "2026-01-01",
            &[
                (F::DateOfBirthInFuture, "date_of_birth"),
                (F::AdmissionBeforeBirth, "admission_date"),
            ],
        ),
        (
            "date_of_birth",
            "2021-01-01",
            &[(F::AdmissionBeforeBirth, "admission_date")],
        ),
        (
            "admission_date",
            "",
            &[(F::RequiredFieldMissing, "admission_date")],
        ),
        (
            "admission_date",
            "2020-09-31",
            &[(F::DateInvalid, "admission_date")],
        ),
        (
            "leaving_date",
            "2020-13-01",
            &[(F::DateInvalid, "leaving_date")],
        ),
        (
            "leaving_date",
            "2020-08-31",
            &[(F::LeavingBeforeAdmission, "leaving_date")],
        ),
        ("leaving_date", "2020-09-01", &[]),
        ("sex", "X", &[(F::SexInvalid, "sex")]),
        ("sex", "female", &[]),
        ("year_group", "15", &[(F::YearGroupInvalid, "year_group")]),
        ("year_group", "Year 5", &[]),
        ("year_group", "r", &[]),
        ("fsm", "maybe", &[(F::FsmInvalid, "fsm")]),
        ("fsm", "Yes", &[]),
        (
            "sen_provision",
            "S",
            &[(F::SenProvisionInvalid, "sen_provision")],
        ),
        ("sen_provision", "e", &[]),
        (
            "ethnicity",
            "White British",
            &[(F::EthnicityInvalid, "ethnicity")],
        ),
        ("ethnicity", "WBR1", &[(F::EthnicityInvalid, "ethnicity")]),
        ("ethnicity", "abangl", &[(F::EthnicityInvalid, "ethnicity")]),
        ("ethnicity", "aban", &[]),
        (
            "looked_after",
            "2",
            &[(F::LookedAfterInvalid, "looked_after")],
        ),
        ("looked_after", "Y", &[]),
        (
            "household_key",
            "short",
            &[(F::HouseholdKeyInvalid, "household_key")],
        ),
        (
            "household_key",
            "has spaces in it",
            &[(F::HouseholdKeyInvalid, "household_key")],
        ),
        ("household_key", "mis-4f2a91c0_Z", &[]),
    ];
    for &(field, value, expected) in cases {
        // The bad record sits between two good ones, which must stay accepted.
        let mut bad = pupil(2);
        set_pupil(&mut bad, field, value);
        let roll = vec![pupil(1), bad, pupil(3)];
        let v = validate(&roll, &[], &ctx());
        let what = format!("{field}={value:?}");
        assert_eq!(of(&v, RecordRef::Roll(1)), expected, "{what}");
        assert_eq!(of(&v, RecordRef::Roll(0)), [], "{what}");
        assert_eq!(of(&v, RecordRef::Roll(2)), [], "{what}");
        let rejected = expected
            .iter()
            .any(|(c, _)| c.severity() == Severity::Error);
        assert_eq!(v.is_rejected(RecordRef::Roll(1)), rejected, "{what}");
        let records: Vec<usize> = v.pupils.iter().map(|p| p.record).collect();
        assert_eq!(
            records,
            if rejected { vec![0, 2] } else { vec![0, 1, 2] },
            "{what}"
        );
        let warned = !rejected && !expected.is_empty();
        assert_eq!(
            v.summary(),
            Summary {
                roll_accepted: if rejected { 2 } else { 3 },
                roll_rejected: u64::from(rejected),
                marks_accepted: 0,
                marks_rejected: 0,
                records_warned: u64::from(warned),
            },
            "{what}"
        );
        // An attribute that could not be read is dropped, not guessed.
        if warned && field != "upn" {
            let p = &v.pupils[1];
            let dropped = match field {
                "sex" => p.sex.is_none(),
                "year_group" => p.year_group.is_none(),
                "fsm" => p.fsm.is_none(),
                "sen_provision" => p.sen_provision.is_none(),
                "ethnicity" => p.ethnicity.is_none(),
                "looked_after" => p.looked_after.is_none(),
                "household_key" => p.household_key.is_none(),
                _ => panic!("{what}"),
            };
            assert!(dropped, "{what}");
        }
        assert_messages_are_clean(&v, &roll, &[]);
    }
}

#[test]
fn many_problems_in_one_record_are_all_reported() {
    let bad = RawPupil {
        upn: "Z801200001001".into(),
        sex: "?".into(),
        fsm: "?".into(),
        ..RawPupil::default()
    };
    let v = validate(std::slice::from_ref(&bad), &[], &ctx());
    assert_eq!(
        of(&v, RecordRef::Roll(0)),
        [
            (F::UpnCheckLetter, "upn"),
            (F::RequiredFieldMissing, "forename"),
            (F::RequiredFieldMissing, "surname"),
            (F::RequiredFieldMissing, "date_of_birth"),
            (F::SexInvalid, "sex"),
            (F::RequiredFieldMissing, "admission_date"),
            (F::FsmInvalid, "fsm"),
        ]
    );
    assert_messages_are_clean(&v, &[bad], &[]);
}

#[test]
fn duplicate_upns_in_the_roll() {
    let mut other = pupil(1);
    other.forename = "Grace".into();
    let roll = vec![pupil(1), pupil(2), other, pupil(2), pupil(3)];
    let marks = vec![
        mark(1, "2025-11-24", "AM", "/"),
        mark(2, "2025-11-24", "AM", "/"),
    ];
    let v = validate(&roll, &marks, &ctx());
    // Different details: both rejected, and their marks with them.
    assert_eq!(of(&v, RecordRef::Roll(0)), [(F::DuplicateUpn, "upn")]);
    assert_eq!(of(&v, RecordRef::Roll(2)), [(F::DuplicateUpn, "upn")]);
    assert_eq!(of(&v, RecordRef::Mark(0)), [(F::PupilRollRejected, "upn")]);
    // An exact copy: the first kept, the copy ignored with a warning.
    assert_eq!(of(&v, RecordRef::Roll(1)), []);
    assert_eq!(of(&v, RecordRef::Roll(3)), [(F::DuplicatePupil, "upn")]);
    assert_eq!(of(&v, RecordRef::Mark(1)), []);
    assert_eq!(
        v.pupils.iter().map(|p| p.record).collect::<Vec<_>>(),
        [1, 4]
    );
    assert_eq!(v.marks.len(), 1);
    assert_eq!(
        v.summary(),
        Summary {
            roll_accepted: 3,
            roll_rejected: 2,
            marks_accepted: 1,
            marks_rejected: 1,
            records_warned: 1
        }
    );
    assert_messages_are_clean(&v, &roll, &marks);

    // A duplicate whose first copy was rejected for another reason rejects the marks too.
    let mut broken = pupil(1);
    broken.surname.clear();
    let roll = vec![broken.clone(), broken];
    let v = validate(&roll, &[mark(1, "2025-11-24", "AM", "/")], &ctx());
    assert_eq!(
        of(&v, RecordRef::Roll(1)),
        [
            (F::RequiredFieldMissing, "surname"),
            (F::DuplicatePupil, "upn")
        ]
    );
    assert_eq!(of(&v, RecordRef::Mark(0)), [(F::PupilRollRejected, "upn")]);
}

#[test]
fn every_mark_rule() {
    // Pupil 2 was admitted on 2025-09-03; field "left" marks pupil 4, who left on 2025-11-14.
    let cases: &[Case] = &[
        ("upn", "", &[(F::RequiredFieldMissing, "upn")]),
        ("upn", "Z801200001001", &[(F::UpnCheckLetter, "upn")]),
        ("upn", "H80120000100", &[(F::UpnLength, "upn")]),
        ("upn", "H801200001001", &[(F::PupilNotOnRoll, "upn")]),
        ("upn", "REJECTED", &[(F::PupilRollRejected, "upn")]),
        ("date", "", &[(F::RequiredFieldMissing, "date")]),
        ("date", "10/11/2025", &[(F::DateInvalid, "date")]),
        ("date", "2025-11-25", &[(F::DateInFuture, "date")]),
        ("date", "2025-11-22", &[(F::WeekendSession, "date")]),
        (
            "date",
            "2025-11-29",
            &[(F::DateInFuture, "date"), (F::WeekendSession, "date")],
        ),
        ("date", "2025-09-02", &[(F::MarkBeforeAdmission, "date")]),
        ("date", "2025-09-03", &[]),
        ("left", "2025-11-14", &[]),
        ("left", "2025-11-17", &[(F::MarkAfterLeaving, "date")]),
        (
            "left",
            "2025-11-22",
            &[(F::WeekendSession, "date"), (F::MarkAfterLeaving, "date")],
        ),
        ("session", "", &[(F::RequiredFieldMissing, "session")]),
        ("session", "EVE", &[(F::SessionInvalid, "session")]),
        ("session", " am ", &[]),
        ("code", "", &[(F::RequiredFieldMissing, "code")]),
        ("code", "!", &[(F::UnknownCode, "code")]),
        ("code", "7", &[(F::UnknownCode, "code")]),
        ("code", "PR", &[(F::UnknownCode, "code")]),
        ("code", " i ", &[]),
        ("code", "H", &[(F::RetiredCode, "code")]),
        ("code", "J", &[(F::RetiredCode, "code")]),
        (
            "minutes_late",
            "abc",
            &[(F::MinutesLateInvalid, "minutes_late")],
        ),
        (
            "minutes_late",
            "-5",
            &[(F::MinutesLateInvalid, "minutes_late")],
        ),
        (
            "minutes_late",
            "+5",
            &[(F::MinutesLateInvalid, "minutes_late")],
        ),
        (
            "minutes_late",
            "301",
            &[(F::MinutesLateInvalid, "minutes_late")],
        ),
        (
            "minutes_late",
            "7.5",
            &[(F::MinutesLateInvalid, "minutes_late")],
        ),
        (
            "minutes_late",
            "12",
            &[(F::MinutesLateUnexpected, "minutes_late")],
        ),
        ("minutes_late", "0", &[]),
    ];
    let mut admitted = pupil(2);
    admitted.admission_date = "2025-09-03".into();
    let mut left = pupil(4);
    left.leaving_date = "2025-11-14".into();
    let mut rejected = pupil(9);
    rejected.forename.clear();
    let roll = vec![pupil(1), admitted, pupil(3), rejected, left];
    for &(field, value, expected) in cases {
        let mut bad = mark(2, "2025-11-10", "PM", "I");
        let value = if value == "REJECTED" {
            upn(9)
        } else {
            value.to_owned()
        };
        if field == "left" {
            bad.upn = upn(4);
            bad.date = value.clone();
        } else {
            set_mark(&mut bad, field, &value);
        }
        let marks = vec![
            mark(1, "2025-11-10", "PM", "/"),
            bad,
            mark(3, "2025-11-10", "PM", "/"),
        ];
        let v = validate(&roll, &marks, &ctx());
        let what = format!("{field}={value:?}");
        assert_eq!(of(&v, RecordRef::Mark(1)), expected, "{what}");
        assert_eq!(of(&v, RecordRef::Mark(0)), [], "{what}");
        assert_eq!(of(&v, RecordRef::Mark(2)), [], "{what}");
        let rejected = expected
            .iter()
            .any(|(c, _)| c.severity() == Severity::Error);
        let records: Vec<usize> = v.marks.iter().map(|m| m.record).collect();
        assert_eq!(
            records,
            if rejected { vec![0, 2] } else { vec![0, 1, 2] },
            "{what}"
        );
        let s = v.summary();
        assert_eq!(
            (s.marks_accepted, s.marks_rejected),
            if rejected { (2, 1) } else { (3, 0) },
            "{what}"
        );
        assert_eq!(
            s.records_warned,
            u64::from(!rejected && !expected.is_empty()),
            "{what}"
        );
        assert_messages_are_clean(&v, &roll, &marks);
    }
}

#[test]
fn codes_by_the_date_of_the_session() {
    let mut early = pupil(1);
    early.admission_date = "2023-09-04".into();
    let roll = vec![early];
    let marks = vec![
        mark(1, "2024-07-01", "AM", "C1"), // before C1 existed
        mark(1, "2024-07-01", "PM", "J"),  // J in force: approved activity
        mark(1, "2024-09-02", "AM", "J"),  // J retired: accepted, warned, still aea
        mark(1, "2024-09-02", "PM", "J1"), // J1 in force
        mark(1, "2024-09-03", "AM", "y1"), // case folded
        mark(1, "2024-09-03", "PM", "F"),  // retired in 2013
    ];
    let v = validate(&roll, &marks, &ctx());
    assert_eq!(of(&v, RecordRef::Mark(0)), [(F::CodeNotYetValid, "code")]);
    assert_eq!(
        v.findings[0].message,
        "attendance code C1 is not valid before 2024-08-19"
    );
    assert_eq!(of(&v, RecordRef::Mark(1)), []);
    assert_eq!(of(&v, RecordRef::Mark(2)), [(F::RetiredCode, "code")]);
    assert_eq!(of(&v, RecordRef::Mark(3)), []);
    assert_eq!(of(&v, RecordRef::Mark(4)), []);
    assert_eq!(of(&v, RecordRef::Mark(5)), [(F::RetiredCode, "code")]);
    let categories: Vec<(&str, Category)> = v
        .marks
        .iter()
        .map(|m| (m.code.code(), m.code.category()))
        .collect();
    assert_eq!(
        categories,
        [
            ("J", Category::Aea),
            ("J", Category::Aea),
            ("J1", Category::Authorised),
            ("Y1", Category::NotPossible),
            ("F", Category::Authorised)
        ]
    );
    let retired = v
        .findings
        .iter()
        .find(|f| f.code == F::RetiredCode)
        .unwrap();
    assert_eq!(
        retired.message,
        "attendance code J was retired after 2024-08-18; counted as aea"
    );
    assert_eq!(retired.severity, Severity::Warning);
    // An unknown code on an unreadable date is still reported.
    let bad = vec![RawMark {
        date: "soon".into(),
        code: "!".into(),
        ..mark(1, "", "AM", "")
    }];
    let v = validate(&roll, &bad, &ctx());
    assert_eq!(
        of(&v, RecordRef::Mark(0)),
        [(F::DateInvalid, "date"), (F::UnknownCode, "code")]
    );
}

#[test]
fn prospective_pupils_may_be_marked_z_before_admission() {
    let mut p = pupil(1);
    p.admission_date = "2025-11-20".into();
    let marks = vec![
        mark(1, "2025-11-17", "AM", "Z"),
        mark(1, "2025-11-17", "PM", "N"),
    ];
    let v = validate(&[p], &marks, &ctx());
    assert_eq!(of(&v, RecordRef::Mark(0)), []);
    assert_eq!(
        of(&v, RecordRef::Mark(1)),
        [(F::MarkBeforeAdmission, "date")]
    );
}

#[test]
fn minutes_late_kept_with_late_codes() {
    let mut l = mark(1, "2025-11-24", "AM", "L");
    l.minutes_late = "12".into();
    let mut u = mark(1, "2025-11-24", "PM", "U");
    u.minutes_late = " 300 ".into();
    let v = validate(&[pupil(1)], &[l, u], &ctx());
    assert_eq!(v.findings, []);
    assert_eq!(
        v.marks.iter().map(|m| m.minutes_late).collect::<Vec<_>>(),
        [Some(12), Some(300)]
    );
}

#[test]
fn sessions_marked_twice() {
    let roll = vec![pupil(1), pupil(2)];
    let mut late = mark(2, "2025-11-21", "AM", "L");
    late.minutes_late = "5".into();
    let mut later = late.clone();
    later.minutes_late = "6".into();
    let marks = vec![
        mark(1, "2025-11-24", "AM", "/"),
        mark(1, "2025-11-24", "AM", "N"), // conflicts with 0
        mark(1, "2025-11-24", "PM", "I"),
        mark(1, "2025-11-24", "PM", " i "), // exact duplicate of 2 after trimming and folding
        mark(1, "2025-11-24", "AM", "/"),   // same as 0, but 1 conflicts: all three rejected
        late,
        later,                            // same code, different minutes late: conflict
        mark(2, "2025-11-24", "AM", "!"), // rejected on its own, so no conflict with 8
        mark(2, "2025-11-24", "AM", "/"),
    ];
    let v = validate(&roll, &marks, &ctx());
    for i in [0, 1, 4] {
        assert_eq!(
            of(&v, RecordRef::Mark(i)),
            [(F::ConflictingMarks, "code")],
            "mark {i}"
        );
    }
    assert_eq!(of(&v, RecordRef::Mark(2)), []);
    assert_eq!(of(&v, RecordRef::Mark(3)), [(F::DuplicateMark, "session")]);
    assert_eq!(of(&v, RecordRef::Mark(5)), [(F::ConflictingMarks, "code")]);
    assert_eq!(of(&v, RecordRef::Mark(6)), [(F::ConflictingMarks, "code")]);
    assert_eq!(of(&v, RecordRef::Mark(7)), [(F::UnknownCode, "code")]);
    assert_eq!(of(&v, RecordRef::Mark(8)), []);
    assert_eq!(v.marks.iter().map(|m| m.record).collect::<Vec<_>>(), [2, 8]);
    assert_eq!(
        v.summary(),
        Summary {
            roll_accepted: 2,
            roll_rejected: 0,
            marks_accepted: 3,
            marks_rejected: 6,
            records_warned: 1
        }
    );
    assert_messages_are_clean(&v, &roll, &marks);
}

#[test]
fn a_school_not_in_the_registry_is_rejected_whole() {
    let roll = vec![pupil(1), pupil(2)];
    let mut bad = mark(2, "2025-11-24", "AM", "!");
    bad.date = "2025-11-22".into();
    let marks = vec![mark(1, "2025-11-24", "AM", "/"), bad];
    let ctx = Context {
        school_registered: false,
        ..ctx()
    };
    let v = validate(&roll, &marks, &ctx);
    assert_eq!(v.findings[0].code, F::SchoolNotInRegistry);
    assert_eq!(v.findings[0].record, RecordRef::Feed);
    assert_eq!(v.findings[0].severity, Severity::Error);
    assert_eq!(
        v.findings
            .iter()
            .filter(|f| f.record == RecordRef::Feed)
            .count(),
        1
    );
    // Record findings are still reported, so the sender can fix everything at once.
    assert_eq!(
        of(&v, RecordRef::Mark(1)),
        [(F::WeekendSession, "date"), (F::UnknownCode, "code")]
    );
    assert!(v.pupils.is_empty() && v.marks.is_empty());
    assert!(v.is_rejected(RecordRef::Roll(0)));
    assert_eq!(
        v.summary(),
        Summary {
            roll_accepted: 0,
            roll_rejected: 2,
            marks_accepted: 0,
            marks_rejected: 2,
            records_warned: 0
        }
    );
    // Empty feeds too.
    let v = validate(&[], &[], &ctx);
    assert_eq!(v.findings.len(), 1);
    assert_eq!(
        validate(&[], &[], &self::ctx()).summary(),
        Summary::default()
    );
}

#[test]
fn debug_output_leaves_out_personal_data() {
    let p = pupil(1);
    let v = validate(
        std::slice::from_ref(&p),
        &[mark(1, "2025-11-24", "AM", "/")],
        &ctx(),
    );
    for text in [
        format!("{p:?}"),
        format!("{v:?}"),
        format!("{:?}", mark(1, "2025-11-24", "AM", "/")),
    ] {
        for personal in [p.upn.as_str(), "Ada1", "Lovelace1", "2015-03-14"] {
            assert!(!text.contains(personal), "{text}");
        }
    }
}

#[test]
fn attribute_enumerations() {
    for s in Sex::ALL {
        assert_eq!(Sex::parse(s.as_str()), Some(s));
    }
    for p in SenProvision::ALL {
        assert_eq!(SenProvision::parse(p.as_str()), Some(p));
    }
    for y in YearGroup::ALL {
        assert_eq!(YearGroup::parse(y.as_str()), Some(y));
        assert_eq!(YearGroup::parse(&y.as_str().to_lowercase()), Some(y));
    }
    assert_eq!(YearGroup::parse("Y7"), Some(YearGroup::Y7));
    assert_eq!(YearGroup::parse("year 11"), Some(YearGroup::Y11));
    assert_eq!(YearGroup::Y11.number(), Some(11));
    assert_eq!(YearGroup::R.number(), None);
    for bad in ["0", "15", "07", "YR", "Y", "Year", "N3", "-1", ""] {
        assert_eq!(YearGroup::parse(bad), None, "{bad}");
    }
    assert_eq!(Sex::parse("U"), None);
    assert_eq!(SenProvision::parse("S"), None);
}

#[test]
fn a_household_key_is_kept_as_sent_and_a_refused_one_is_never_quoted() {
    let mut good = pupil(1);
    good.household_key = "  mis-4f2a91c0_Z ".into();
    let mut bad = pupil(2);
    bad.household_key = "Flat 2, 14 Acacia Avenue".into();
    let v = validate(&[good, bad], &[], &ctx());
    assert_eq!(
        v.pupils.len(),
        2,
        "a refused key drops the key, not the pupil"
    );
    assert_eq!(v.pupils[0].household_key.as_deref(), Some("mis-4f2a91c0_Z"));
    assert_eq!(v.pupils[1].household_key, None);
    let finding = v
        .findings
        .iter()
        .find(|f| f.code == F::HouseholdKeyInvalid)
        .unwrap();
    assert!(!finding.message.contains("Acacia"), "{}", finding.message);
    assert!(
        !format!("{:?}", v.pupils[0]).contains("4f2a91"),
        "Debug leaves the key out"
    );
}
