//! The record cases, as tables: each line a case's name, what it sends and the findings it must
//! get, counted from the case's own first record (the neighbour's are not counted).

use rollcall_domain::validation::{FindingCode, MARK_FIELDS, ROLL_FIELDS};
use rollcall_domain::{LaCode, Upn};

use super::{
    Builder, Catalogue, ESTAB, MARKUP, MONDAY, Rec, SQL, future_weekday, mark, other_check_letter,
    set_mark, set_roll,
};

use FindingCode as F;
use Rec::{Feed, Mark, Roll};

pub(super) fn all(c: &mut Catalogue) {
    dates(c);
    codes(c);
    duplicates(c);
    upns(c);
    text(c);
    attributes(c);
    text_that_looks_like_code(c);
}

#[rustfmt::skip]
fn dates(c: &mut Catalogue) {
    for (name, input, date, code) in [
        ("mark-date-impossible", "a mark dated 2025-02-30", "2025-02-30", F::DateInvalid),
        ("mark-date-month-13", "a mark dated 2025-13-01", "2025-13-01", F::DateInvalid),
        ("mark-date-day-first", "a mark dated 06/10/2025", "06/10/2025", F::DateInvalid),
        ("mark-date-no-leading-zero", "a mark dated 2025-10-6", "2025-10-6", F::DateInvalid),
        ("mark-date-with-a-time", "a mark dated 2025-10-06T09:00:00", "2025-10-06T09:00:00", F::DateInvalid),
        ("mark-date-before-1900", "a mark dated 1899-12-31", "1899-12-31", F::DateOutOfRange),
        ("mark-date-year-zero", "a mark dated 0000-01-03", "0000-01-03", F::DateOutOfRange),
        ("mark-date-after-2099", "a mark dated 2100-01-04 (a Monday)", "2100-01-04", F::DateOutOfRange),
        ("mark-date-year-9999", "a mark dated 9999-12-31", "9999-12-31", F::DateOutOfRange),
        ("mark-date-empty", "a mark with no date", "", F::RequiredFieldMissing),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.mark(&upn, date, "AM", "/");
            b.mark(&upn, MONDAY, "PM", "/");
            b.finds(code, Mark(0), "date");
        });
    }
    for (name, input, field, value, code) in [
        ("date-of-birth-not-a-leap-day", "a date of birth of 2014-02-29", "date_of_birth", "2014-02-29", F::DateInvalid),
        ("date-of-birth-before-1900", "a date of birth of 1899-06-01", "date_of_birth", "1899-06-01", F::DateOutOfRange),
        ("date-of-birth-empty", "a pupil with no date of birth", "date_of_birth", "", F::RequiredFieldMissing),
        ("admission-before-birth", "admitted in 2013, born in 2014", "admission_date", "2013-09-02", F::AdmissionBeforeBirth),
        ("admission-date-empty", "a pupil with no admission date", "admission_date", "", F::RequiredFieldMissing),
        ("admission-date-impossible", "an admission date of 2025-09-31", "admission_date", "2025-09-31", F::DateInvalid),
        ("leaving-before-admission", "a leaving date before the admission date", "leaving_date", "2025-09-01", F::LeavingBeforeAdmission),
        ("leaving-date-impossible", "a leaving date of 2025-11-31", "leaving_date", "2025-11-31", F::DateInvalid),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol_as(|p| set_roll(p, field, value));
            b.mark(&upn, MONDAY, "AM", "/");
            b.finds(code, Roll(0), field);
            b.finds(F::PupilRollRejected, Mark(0), "upn");
        });
    }
    c.add("date-of-birth-in-future", "a date of birth of 2030-01-01", |b| {
        let upn = b.enrol_as(|p| p.date_of_birth = "2030-01-01".into());
        b.mark(&upn, MONDAY, "AM", "/");
        b.finds(F::DateOfBirthInFuture, Roll(0), "date_of_birth");
        b.finds(F::AdmissionBeforeBirth, Roll(0), "admission_date");
        b.finds(F::PupilRollRejected, Mark(0), "upn");
    });
    // Weekends, and sessions outside the pupil's time on roll or still to come.
    for (name, input, date, session) in [
        ("weekend-saturday", "a mark on Saturday 2025-10-04", "2025-10-04", "AM"),
        ("weekend-sunday", "a mark on Sunday 2025-10-05", "2025-10-05", "PM"),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.mark(&upn, date, session, "/");
            b.finds(F::WeekendSession, Mark(0), "date");
        });
    }
    let future = future_weekday();
    for (name, input, date) in [
        ("future-session-this-week", "a mark for a weekday two or more days ahead", future.as_str()),
        ("future-session-in-2099", "a mark dated 2099-06-01", "2099-06-01"),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.mark(&upn, date, "AM", "/");
            b.mark(&upn, MONDAY, "AM", "/");
            b.finds(F::DateInFuture, Mark(0), "date");
        });
    }
    c.add("mark-before-admission", "a mark two days before the pupil was admitted", |b| {
        let upn = b.enrol();
        b.mark(&upn, "2025-09-01", "AM", "/");
        b.finds(F::MarkBeforeAdmission, Mark(0), "date");
    });
    c.add("prospective-pupil-before-admission", "code `Z` before admission (exempt)", |b| {
        let upn = b.enrol();
        b.mark(&upn, "2025-09-01", "AM", "Z");
    });
    c.add("mark-after-leaving", "a mark after the leaving date (and one on it)", |b| {
        let upn = b.enrol_as(|p| p.leaving_date = "2025-10-03".into());
        b.mark(&upn, MONDAY, "AM", "/");
        b.mark(&upn, "2025-10-03", "AM", "/");
        b.finds(F::MarkAfterLeaving, Mark(0), "date");
    });
}

/// Codes not valid on their date, retired, lowercase, unknown; sessions; minutes late.
#[rustfmt::skip]
fn codes(c: &mut Catalogue) {
    for (name, input, date, code) in [
        ("code-c1-before-its-set", "`C1` on 2024-06-03", "2024-06-03", "C1"),
        ("code-y3-before-its-set", "`Y3` on 2024-06-04", "2024-06-04", "Y3"),
        ("code-k-before-its-set", "`K` on 2024-06-05", "2024-06-05", "K"),
        ("code-j1-the-friday-before", "`J1` on 2024-08-16", "2024-08-16", "J1"),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol_as(|p| p.admission_date = "2023-09-04".into());
            b.mark(&upn, date, "AM", code);
            b.finds(F::CodeNotYetValid, Mark(0), "code");
        });
    }
    for (name, input, code) in [
        ("code-h-retired", "`H` in 2025", "H"),
        ("code-j-retired", "`J` in 2025", "J"),
        ("code-y-retired", "`Y` in 2025", "Y"),
        ("code-f-retired-in-2013", "`F` in 2025", "F"),
        ("code-h-retired-lowercase", "`h` in 2025", "h"),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.mark(&upn, MONDAY, "AM", code);
            b.finds(F::RetiredCode, Mark(0), "code");
        });
    }
    for (name, input, code, minutes) in [
        ("code-lowercase-c1", "code `c1`", "c1", ""),
        ("code-lowercase-l-with-minutes", "code `l` with 12 minutes late", "l", "12"),
        ("code-lowercase-padded-n", "code ` n ` (spaces around)", " n ", ""),
        ("next-line-around-a-code", "a code between two NEL (U+0085), which is whitespace", "\u{85}N\u{85}", ""),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.late(&upn, "AM", code, minutes);
        });
    }
    for (name, input, code, finding) in [
        ("code-mis-local-pr", "code `PR`", "PR", F::UnknownCode),
        ("code-exclamation-mark", "code `!`", "!", F::UnknownCode),
        ("code-digit", "code `7`", "7", F::UnknownCode),
        ("code-spaced", "code `C 1`", "C 1", F::UnknownCode),
        ("code-zero-padded", "code `C01`", "C01", F::UnknownCode),
        ("code-full-width", "code `Ｎ` (full-width)", "Ｎ", F::UnknownCode),
        ("code-empty", "a mark with no code", "", F::RequiredFieldMissing),
        ("code-33-characters", "a code of 33 characters", &"N".repeat(33), F::TextTooLong),
        ("c1-control-in-code", "a C1 control (CSI, U+009B) before a code", "\u{9b}N", F::TextControlCharacter),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.mark(&upn, MONDAY, "AM", code);
            b.mark(&upn, MONDAY, "PM", "/");
            b.finds(finding, Mark(0), "code");
        });
    }
    c.add("session-lowercase", "session `pm`", |b| {
        let upn = b.enrol();
        b.mark(&upn, MONDAY, "pm", "/");
    });
    for (name, input, session, code) in [
        ("session-xm", "session `XM`", "XM", F::SessionInvalid),
        ("session-a-word", "session `morning`", "morning", F::SessionInvalid),
        ("session-empty", "a mark with no session", "", F::RequiredFieldMissing),
        ("delete-in-session", "DEL (U+007F) inside a session", "A\u{7f}M", F::TextControlCharacter),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.mark(&upn, MONDAY, session, "/");
            b.finds(code, Mark(0), "session");
        });
    }
    for (name, input, code, minutes, finding) in [
        ("minutes-late-in-words", "`L` with minutes late `ten`", "L", "ten", F::MinutesLateInvalid),
        ("minutes-late-301", "`L` with 301 minutes late", "L", "301", F::MinutesLateInvalid),
        ("minutes-late-negative", "`L` with minutes late `-5`", "L", "-5", F::MinutesLateInvalid),
        ("minutes-late-fraction", "`U` with minutes late `2.5`", "U", "2.5", F::MinutesLateInvalid),
        ("minutes-late-when-present", "`/` with 12 minutes late", "/", "12", F::MinutesLateUnexpected),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.late(&upn, "AM", code, minutes);
            b.finds(finding, Mark(0), "minutes_late");
        });
    }
    c.add("minutes-late-a-megabyte", "minutes late of a million digits", |b| {
        let upn = b.enrol();
        b.late(&upn, "AM", "L", &"1".repeat(1_000_000));
        b.mark(&upn, MONDAY, "PM", "/");
        b.finds(F::TextTooLong, Mark(0), "minutes_late");
    });
}

/// Duplicate marks in a feed, and a pupil twice in the roll.
#[rustfmt::skip]
fn duplicates(c: &mut Catalogue) {
    for (name, input, first, second, copy) in [
        ("mark-sent-twice", "the same mark twice", ("/", ""), ("/", ""), true),
        ("mark-sent-twice-in-other-case", "`n` and `N` for one session", ("n", ""), ("N", ""), true),
        ("session-marked-twice-differently", "`/` and `N` for one session", ("/", ""), ("N", ""), false),
        ("session-twice-with-other-minutes", "`L` 5 and `L` 10 minutes for one session", ("L", "5"), ("L", "10"), false),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol();
            b.late(&upn, "AM", first.0, first.1);
            b.late(&upn, "AM", second.0, second.1);
            if copy {
                b.finds(F::DuplicateMark, Mark(1), "session");
            } else {
                b.finds(F::ConflictingMarks, Mark(0), "code");
                b.finds(F::ConflictingMarks, Mark(1), "code");
            }
        });
    }
    c.add("conflict-with-a-rejected-mark", "`/` and `PR` for one session", |b| {
        let upn = b.enrol();
        b.mark(&upn, MONDAY, "AM", "/");
        b.mark(&upn, MONDAY, "AM", "PR");
        b.finds(F::UnknownCode, Mark(1), "code");
    });
    for (name, input, field, value) in [
        ("pupil-twice-other-surname", "a UPN twice in the roll, surnames differing", "surname", "Otherwise"),
        ("pupil-twice-other-birth-date", "a UPN twice in the roll, dates of birth differing", "date_of_birth", "2013-01-01"),
    ] {
        c.add(name, input, |b| {
            let first = b.person();
            let mut second = first.clone();
            set_roll(&mut second, field, value);
            b.mark(&first.upn, MONDAY, "AM", "/");
            b.roll.extend([first, second]);
            b.finds(F::DuplicateUpn, Roll(0), "upn");
            b.finds(F::DuplicateUpn, Roll(1), "upn");
            b.finds(F::PupilRollRejected, Mark(0), "upn");
        });
    }
    for (name, input, padded) in [
        ("pupil-twice-identical", "a roll record sent twice", false),
        ("pupil-twice-once-padded", "a roll record sent again with spaces around its values", true),
    ] {
        c.add(name, input, |b| {
            let first = b.person();
            let mut second = first.clone();
            if padded {
                second.surname = format!("  {}  ", second.surname);
                second.upn = format!(" {}", second.upn);
            }
            b.mark(&first.upn, MONDAY, "AM", "/");
            b.roll.extend([first, second]);
            b.finds(F::DuplicatePupil, Roll(1), "upn");
        });
    }
}

/// Bad and temporary UPNs, on the roll and on the pupil's marks.
#[rustfmt::skip]
fn upns(c: &mut Catalogue) {
    let temporary = |serial: u8| {
        Upn::temporary_from_parts(LaCode::new(937).unwrap(), ESTAB, 14, serial, 'A').as_str().to_owned()
    };
    type Bend = fn(&str) -> String;
    let full_width: Bend = |u| {
        u.chars().map(|ch| ch.to_digit(10).map_or(ch, |d| char::from_u32(0xFF10 + d).unwrap())).collect()
    };
    let bends: [(&str, &str, Bend, FindingCode); 11] = [
        ("upn-check-letter", "a UPN whose check letter does not match", other_check_letter, F::UpnCheckLetter),
        ("upn-12-characters", "a UPN one character short", |u| u[..12].to_owned(), F::UpnLength),
        ("upn-14-characters", "a UPN one character long", |u| format!("{u}0"), F::UpnLength),
        ("upn-lowercase", "a UPN in lower case", str::to_ascii_lowercase, F::UpnFirstCharacter),
        ("upn-first-letter-i", "a UPN starting with `I`", |u| format!("I{}", &u[1..]), F::UpnFirstCharacter),
        ("upn-letter-among-digits", "a UPN with a letter in position 6", |u| format!("{}A{}", &u[..5], &u[6..]), F::UpnDigits),
        ("upn-ends-in-a-star", "a UPN ending in `*`", |u| format!("{}*", &u[..12]), F::UpnLastCharacter),
        ("upn-ends-in-o", "a UPN ending in `O` (not a check letter)", |u| format!("{}O", &u[..12]), F::UpnLastCharacter),
        ("upn-la-000", "a UPN issued by LA 000", |u| format!("{}000{}", &u[..1], &u[4..]), F::UpnLaCode),
        ("upn-space-inside", "a UPN with a space inside", |u| format!("{} {}", &u[..4], &u[4..]), F::UpnLength),
        ("upn-full-width-digits", "a UPN written with full-width digits", full_width, F::UpnDigits),
    ];
    for (name, input, bend, code) in bends {
        c.add(name, input, |b| {
            let upn = b.enrol_as(|p| p.upn = bend(&p.upn));
            b.mark(&upn, MONDAY, "AM", "/");
            b.finds(code, Roll(0), "upn");
            b.finds(code, Mark(0), "upn");
        });
    }
    c.add("upn-temporary", "a temporary UPN (a letter last)", |b| {
        let upn = b.enrol_as(|p| p.upn = temporary(42));
        b.mark(&upn, MONDAY, "AM", "/");
        b.finds(F::UpnTemporary, Roll(0), "upn");
    });
    c.add("upn-temporary-bad-check-letter", "a temporary UPN whose check letter does not match", |b| {
        let upn = b.enrol_as(|p| p.upn = other_check_letter(&temporary(7)));
        b.mark(&upn, MONDAY, "AM", "/");
        b.finds(F::UpnCheckLetter, Roll(0), "upn");
        b.finds(F::UpnCheckLetter, Mark(0), "upn");
    });
    c.add("upn-padded-with-spaces", "a UPN with spaces around it", |b| {
        let upn = b.enrol_as(|p| p.upn = format!("  {} ", p.upn));
        b.mark(upn.trim(), MONDAY, "AM", "/");
    });
    c.add("upn-empty", "a roll record and a mark with no UPN", |b| {
        b.enrol_as(|p| p.upn.clear());
        b.mark("", MONDAY, "AM", "/");
        b.finds(F::RequiredFieldMissing, Roll(0), "upn");
        b.finds(F::RequiredFieldMissing, Mark(0), "upn");
    });
    c.add("mark-for-a-pupil-not-on-roll", "a mark whose valid UPN is not in the roll", |b| {
        let stranger = b.person().upn;
        b.mark(&stranger, MONDAY, "AM", "/");
        b.finds(F::PupilNotOnRoll, Mark(0), "upn");
    });
}

/// Refused characters and over-long values, and names of every script kept as sent.
#[rustfmt::skip]
fn text(c: &mut Catalogue) {
    for (name, input, field, value) in [
        ("nul-in-forename", "a NUL inside a forename", "forename", "Ad\0a"),
        ("tab-in-surname", "a tab inside a surname", "surname", "Ex\tample"),
        ("carriage-return-in-surname", "a carriage return inside a surname", "surname", "Ex\rample"),
        ("escape-sequence-in-forename", "a terminal escape sequence in a forename", "forename", "\u{1b}[31mAda"),
        ("bidi-override-in-surname", "a right-to-left override (U+202E) in a surname", "surname", "Ex\u{202e}elpma"),
        ("line-separator-in-forename", "a line separator (U+2028) in a forename", "forename", "Ada\u{2028}Mae"),
        ("noncharacter-in-ethnicity", "a noncharacter (U+FFFE) in the ethnicity", "ethnicity", "WB\u{fffe}I"),
        ("forename-101-characters", "a forename of 101 characters", "forename", &"A".repeat(101)),
    ] {
        let code = if value.chars().count() > 100 { F::TextTooLong } else { F::TextControlCharacter };
        c.add(name, input, |b| {
            let upn = b.enrol_as(|p| set_roll(p, field, value));
            b.mark(&upn, MONDAY, "AM", "/");
            b.finds(code, Roll(0), field);
            b.finds(F::PupilRollRejected, Mark(0), "upn");
        });
    }
    c.add("byte-order-mark-in-upn", "a byte-order mark before a UPN", |b| {
        let upn = b.enrol_as(|p| p.upn = format!("\u{feff}{}", p.upn));
        b.mark(upn.trim_start_matches('\u{feff}'), MONDAY, "AM", "/");
        b.finds(F::TextControlCharacter, Roll(0), "upn");
        b.finds(F::PupilNotOnRoll, Mark(0), "upn");
    });
    for (name, input, forename, surname) in [
        ("surname-100-accented-letters", "a surname of 100 two-byte letters", "Ada", "é".repeat(100)),
        ("names-of-other-scripts", "names in Polish, Arabic and Chinese", "Zoë-Łukasz", "محمد 王".to_owned()),
        ("zero-width-joiner-in-forename", "a zero-width joiner inside a forename", "क्\u{200d}षमा", "Devi".to_owned()),
        ("apostrophe-and-hyphen", "an apostrophe and a hyphen in a surname", "Siobhán", "O'Brien-Smith".to_owned()),
        ("spreadsheet-formula-in-surname", "a spreadsheet formula as a surname", "Ada", "=HYPERLINK(\"http://x.test\",\"y\")".to_owned()),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol_as(|p| {
                p.forename = forename.into();
                p.surname = surname;
            });
            b.absent_morning(&upn);
            b.keeps_names();
        });
    }
    for (name, input, field) in [
        ("forename-empty", "a pupil with no forename", "forename"),
        ("surname-only-spaces", "a surname of spaces only", "surname"),
    ] {
        c.add(name, input, |b| {
            let upn = b.enrol_as(|p| set_roll(p, field, "   "));
            b.mark(&upn, MONDAY, "AM", "/");
            b.finds(F::RequiredFieldMissing, Roll(0), field);
            b.finds(F::PupilRollRejected, Mark(0), "upn");
        });
    }
}

/// Optional attributes that cannot be read are dropped, the pupil kept; and a school the LA never
/// registered.
#[rustfmt::skip]
fn attributes(c: &mut Catalogue) {
    for (field, value, code) in [
        ("sex", "X", F::SexInvalid),
        ("year_group", "15", F::YearGroupInvalid),
        ("fsm", "maybe", F::FsmInvalid),
        ("sen_provision", "S", F::SenProvisionInvalid),
        ("ethnicity", "WBR", F::EthnicityInvalid),
        ("looked_after", "2", F::LookedAfterInvalid),
        ("household_key", "short", F::HouseholdKeyInvalid),
    ] {
        let name = format!("{}-unreadable", field.replace('_', "-"));
        c.add(&name, &format!("`{field}` of `{value}`"), |b| {
            let upn = b.enrol_as(|p| set_roll(p, field, value));
            b.mark(&upn, MONDAY, "AM", "/");
            b.finds(code, Roll(0), field);
        });
    }
    c.add("school-not-in-registry", "a feed for a school the LA never registered", |b| {
        let upn = b.enrol();
        b.mark(&upn, MONDAY, "AM", "/");
        b.registered = false;
        b.finds(F::SchoolNotInRegistry, Feed, "");
    });
}

/// SQL and markup in every field of a roll record and of a mark: names are stored as sent;
/// every other field gets its own rule's finding, never an error from the database.
#[rustfmt::skip]
fn text_that_looks_like_code(c: &mut Catalogue) {
    for (label, what, value) in [("sql", "SQL", SQL), ("markup", "markup", MARKUP)] {
        for field in ROLL_FIELDS {
            let name = format!("{label}-in-roll-{}", field.replace('_', "-"));
            c.add(&name, &format!("{what} text in a roll record's `{field}`"), |b| {
                let upn = b.enrol_as(|p| set_roll(p, field, value));
                b.absent_morning(&upn);
                let rejected = |b: &mut Builder, code: FindingCode| {
                    b.finds(code, Roll(0), field);
                    b.finds(F::PupilRollRejected, Mark(0), "upn");
                    b.finds(F::PupilRollRejected, Mark(1), "upn");
                };
                match field {
                    "upn" => {
                        b.finds(F::UpnLength, Roll(0), "upn");
                        b.finds(F::UpnLength, Mark(0), "upn");
                        b.finds(F::UpnLength, Mark(1), "upn");
                    }
                    "forename" | "surname" => b.keeps_names(),
                    "date_of_birth" | "admission_date" | "leaving_date" => rejected(b, F::DateInvalid),
                    "sex" => b.finds(F::SexInvalid, Roll(0), field),
                    "year_group" => b.finds(F::YearGroupInvalid, Roll(0), field),
                    "fsm" => b.finds(F::FsmInvalid, Roll(0), field),
                    "sen_provision" => b.finds(F::SenProvisionInvalid, Roll(0), field),
                    "ethnicity" => b.finds(F::EthnicityInvalid, Roll(0), field),
                    "looked_after" => b.finds(F::LookedAfterInvalid, Roll(0), field),
                    "household_key" => b.finds(F::HouseholdKeyInvalid, Roll(0), field),
                    _ => unreachable!("a roll field"),
                }
            });
        }
        for field in MARK_FIELDS {
            let name = format!("{label}-in-mark-{}", field.replace('_', "-"));
            c.add(&name, &format!("{what} text in a mark's `{field}`"), |b| {
                let upn = b.enrol();
                let mut m = mark(&upn, MONDAY, "AM", "L");
                set_mark(&mut m, field, value);
                b.marks.push(m);
                let code = match field {
                    "upn" => F::UpnLength,
                    "date" => F::DateInvalid,
                    "session" => F::SessionInvalid,
                    "code" => F::UnknownCode,
                    "minutes_late" => F::MinutesLateInvalid,
                    _ => unreachable!("a mark field"),
                };
                b.finds(code, Mark(0), field);
            });
        }
    }
}
