//! The text rules every field goes through before its own: control characters refused (and
//! named, never quoted), surrounding whitespace trimmed, names of every script kept, a longest
//! value per field, and dates a register can hold.

use rollcall_domain::validation::{
    FindingCode, MARK_FIELDS, ROLL_FIELDS, RecordRef, Severity, validate,
};

use crate::validation::{
    Case, assert_messages_are_clean, ctx, mark, of, pupil, set_mark, set_pupil, upn,
};
use FindingCode as F;

#[test]
fn a_control_character_in_any_field_rejects_that_record_alone() {
    for field in ROLL_FIELDS {
        for bad in ["\0", "\u{1b}", "\u{202e}", "\u{feff}"] {
            // Inside the value, where trimming cannot take it away.
            let mut p = pupil(2);
            let value = match field {
                "upn" => format!("{}{bad}", &upn(2)[..6]),
                _ => format!("X{bad}Y"),
            };
            set_pupil(&mut p, field, &value);
            let roll = vec![pupil(1), p, pupil(3)];
            let marks = vec![
                mark(1, "2025-11-24", "AM", "/"),
                mark(2, "2025-11-24", "AM", "/"),
                mark(3, "2025-11-24", "AM", "/"),
            ];
            let v = validate(&roll, &marks, &ctx());
            assert_eq!(
                of(&v, RecordRef::Roll(1)),
                [(F::TextControlCharacter, field)],
                "{field} {bad:?}"
            );
            assert_eq!(of(&v, RecordRef::Roll(0)), []);
            assert_eq!(of(&v, RecordRef::Roll(2)), []);
            // The pupil's mark follows its roll record (when its UPN could still be read).
            let expected: &[(FindingCode, &str)] = if field == "upn" {
                &[(F::PupilNotOnRoll, "upn")]
            } else {
                &[(F::PupilRollRejected, "upn")]
            };
            assert_eq!(of(&v, RecordRef::Mark(1)), expected, "{field}");
            assert_eq!(v.pupils.len(), 2);
            assert_eq!(v.marks.len(), 2);
            assert_messages_are_clean(&v, &roll, &marks);
        }
    }
    for field in MARK_FIELDS {
        let mut m = mark(1, "2025-11-24", "PM", "/");
        set_mark(&mut m, field, "1\u{0}2");
        let marks = vec![mark(1, "2025-11-24", "AM", "/"), m];
        let v = validate(&[pupil(1)], &marks, &ctx());
        assert_eq!(
            of(&v, RecordRef::Mark(1)),
            [(F::TextControlCharacter, field)],
            "{field}"
        );
        assert_eq!(v.marks.len(), 1, "{field}: the neighbour lands");
    }
}

#[test]
fn the_finding_names_the_character_never_the_value() {
    let mut p = pupil(1);
    p.forename = "Ada\u{0}Secret".into();
    let v = validate(&[p], &[], &ctx());
    let f = &v.findings[0];
    assert_eq!(
        (f.code, f.severity),
        (F::TextControlCharacter, Severity::Error)
    );
    assert_eq!(
        f.message,
        "forename contains the control character U+0000, which cannot be stored"
    );
}

#[test]
fn surrounding_whitespace_is_trimmed_before_the_text_rules() {
    let mut p = pupil(1);
    p.forename = "\tAda\r\n".into();
    p.surname = " O'Brien-Łukasz \u{a0}".into();
    let v = validate(&[p], &[], &ctx());
    assert_eq!(v.findings, []);
    assert_eq!(v.pupils[0].forename, "Ada");
    assert_eq!(v.pupils[0].surname, "O'Brien-Łukasz");
}

#[test]
fn names_of_every_script_are_kept() {
    for name in [
        "Zoë",
        "محمد",
        "王秀英",
        "Nguyễn",
        "क्षत्रिय",
        "Sm\u{200d}ith",
        "'; drop table enrolments; --",
        "<b>Ada</b>",
    ] {
        let mut p = pupil(1);
        p.surname = name.into();
        let v = validate(&[p], &[], &ctx());
        assert_eq!(v.findings, [], "{name}");
        assert_eq!(v.pupils[0].surname, name);
    }
}

#[test]
fn fields_have_a_longest_value() {
    use rollcall_domain::text::{MAX_NAME_CHARS, MAX_SHORT_CHARS};
    // Names: counted in characters, so a name in a script of multi-byte letters has the same room.
    for (name, expected) in [
        ("a".repeat(MAX_NAME_CHARS), &[][..]),
        ("é".repeat(MAX_NAME_CHARS), &[][..]),
        (
            "a".repeat(MAX_NAME_CHARS + 1),
            &[(F::TextTooLong, "forename")][..],
        ),
        ("x".repeat(1_000_000), &[(F::TextTooLong, "forename")][..]),
    ] {
        let mut p = pupil(1);
        p.forename = name;
        let v = validate(&[p], &[], &ctx());
        assert_eq!(of(&v, RecordRef::Roll(0)), expected);
        assert!(v.findings.iter().all(|f| f.message.len() < 100));
    }
    // Every other field: a near miss gets the field's own finding, a long value the length one.
    let mut p = pupil(1);
    p.upn.push('1');
    let v = validate(&[p], &[], &ctx());
    assert_eq!(of(&v, RecordRef::Roll(0)), [(F::UpnLength, "upn")]);
    for field in ROLL_FIELDS.into_iter().filter(|f| !f.contains("name")) {
        let mut p = pupil(1);
        set_pupil(&mut p, field, &"9".repeat(MAX_SHORT_CHARS + 1));
        let v = validate(&[p], &[], &ctx());
        assert_eq!(
            of(&v, RecordRef::Roll(0)),
            [(F::TextTooLong, field)],
            "{field}"
        );
    }
    for field in MARK_FIELDS {
        let mut m = mark(1, "2025-11-24", "AM", "/");
        set_mark(&mut m, field, &"9".repeat(MAX_SHORT_CHARS + 1));
        let v = validate(&[pupil(1)], &[m], &ctx());
        assert_eq!(
            of(&v, RecordRef::Mark(0)),
            [(F::TextTooLong, field)],
            "{field}"
        );
    }
}

#[test]
fn dates_outside_what_a_register_holds_are_refused() {
    let cases: &[Case] = &[
        (
            "date_of_birth",
            "1899-12-31",
            &[(F::DateOutOfRange, "date_of_birth")],
        ),
        ("date_of_birth", "1900-01-01", &[]),
        (
            "admission_date",
            "0001-01-01",
            &[(F::DateOutOfRange, "admission_date")],
        ),
        (
            "leaving_date",
            "2100-01-01",
            &[(F::DateOutOfRange, "leaving_date")],
        ),
        ("leaving_date", "2099-12-31", &[]),
    ];
    for (field, value, expected) in cases {
        let mut p = pupil(1);
        set_pupil(&mut p, field, value);
        let v = validate(&[p], &[], &ctx());
        assert_eq!(&of(&v, RecordRef::Roll(0)), expected, "{field} {value}");
    }
    let v = validate(&[pupil(1)], &[mark(1, "1899-06-05", "AM", "/")], &ctx());
    assert_eq!(of(&v, RecordRef::Mark(0)), [(F::DateOutOfRange, "date")]);
}
