//! Codes by date: every code in the table before, on and after its dates; case and spaces.

use chrono::{Days, NaiveDate};
use rollcall_domain::codes::{self, Category, CodeError};

use crate::d;

/// The table as the DfE and the 2024 regulations define it: (code, category, from, to).
/// Kept here independently of the CSV so an accidental edit of the CSV fails this test.
const EXPECTED: &[(&str, Category, Option<&str>, Option<&str>)] = {
    use Category::*;
    const NEW: Option<&str> = Some("2024-08-19");
    const OLD: Option<&str> = Some("2024-08-18");
    &[
        ("/", Present, None, None),
        ("\\", Present, None, None),
        ("L", Present, None, None),
        ("K", Aea, NEW, None),
        ("V", Aea, None, None),
        ("P", Aea, None, None),
        ("W", Aea, None, None),
        ("B", Aea, None, None),
        ("C1", Authorised, NEW, None),
        ("M", Authorised, None, None),
        ("J1", Authorised, NEW, None),
        ("S", Authorised, None, None),
        ("C2", Authorised, NEW, None),
        ("C", Authorised, None, None),
        ("T", Authorised, None, None),
        ("R", Authorised, None, None),
        ("I", Authorised, None, None),
        ("E", Authorised, None, None),
        ("G", Unauthorised, None, None),
        ("N", Unauthorised, None, None),
        ("O", Unauthorised, None, None),
        ("U", Unauthorised, None, None),
        ("X", NotPossible, None, None),
        ("Q", NotPossible, NEW, None),
        ("Y1", NotPossible, NEW, None),
        ("Y2", NotPossible, NEW, None),
        ("Y3", NotPossible, NEW, None),
        ("Y4", NotPossible, NEW, None),
        ("Y5", NotPossible, NEW, None),
        ("Y6", NotPossible, NEW, None),
        ("Y7", NotPossible, NEW, None),
        ("D", NotPossible, None, None),
        ("Z", NotPossible, None, None),
        ("#", NotPossible, None, None),
        ("H", Authorised, None, OLD),
        ("J", Aea, None, OLD),
        ("Y", NotPossible, None, OLD),
        ("F", Authorised, None, Some("2013-08-31")),
    ]
};

fn day_before(date: NaiveDate) -> NaiveDate {
    date.checked_sub_days(Days::new(1)).unwrap()
}

fn day_after(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1)).unwrap()
}

#[test]
fn table_matches_the_regulations() {
    let codes: Vec<&str> = codes::all().iter().map(|c| c.code()).collect();
    let expected: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(codes, expected);
    for &(code, category, from, to) in EXPECTED {
        let c = codes::get(code).unwrap();
        assert_eq!(c.category(), category, "{code}");
        assert_eq!(
            c.counts_as_possible(),
            category != Category::NotPossible,
            "{code}"
        );
        assert_eq!(
            c.counts_as_possible(),
            category.counts_as_possible(),
            "{code}"
        );
        assert_eq!(c.valid_from(), from.map(d), "{code}");
        assert_eq!(c.valid_to(), to.map(d), "{code}");
        assert_eq!(c.ees_column().is_some(), c.counts_as_possible(), "{code}");
        assert!(!c.meaning().is_empty());
        assert_eq!(c.to_string(), code);
    }
    // F and H share the DfE holiday column; every other column has one code.
    let shared: Vec<&str> = codes::by_ees_column("reason_h_authorised_holiday")
        .map(|c| c.code())
        .collect();
    assert_eq!(shared, ["H", "F"]);
}

#[test]
fn every_code_before_on_and_after_its_dates() {
    for &(code, category, from, to) in EXPECTED {
        let check = |date: NaiveDate, expected: Result<bool, ()>| {
            let got = codes::lookup(code, date);
            match expected {
                Ok(retired) => {
                    let got = got.unwrap_or_else(|e| panic!("{code} on {date}: {e}"));
                    assert_eq!(got.code.code(), code);
                    assert_eq!(got.code.category(), category, "{code} on {date}");
                    assert_eq!(got.retired, retired, "{code} on {date}");
                    assert_eq!(got.code.is_in_force_on(date), !retired, "{code} on {date}");
                }
                Err(()) => assert_eq!(
                    got,
                    Err(CodeError::NotYetValid {
                        code: codes::get(code).unwrap().code(),
                        valid_from: from.map(d).unwrap()
                    }),
                    "{code} on {date}"
                ),
            }
        };
        // Far from any change: the first daily collections and the 2025/26 year.
        check(
            d("2010-09-06"),
            if from.is_some() { Err(()) } else { Ok(false) },
        );
        check(d("2025-11-24"), Ok(to.is_some()));
        if let Some(from) = from.map(d) {
            check(day_before(from), Err(()));
            check(from, Ok(false));
            check(day_after(from), Ok(false));
        }
        if let Some(to) = to.map(d) {
            check(day_before(to), Ok(false));
            check(to, Ok(false));
            check(day_after(to), Ok(true));
        }
    }
}

#[test]
fn the_2024_change() {
    // J was approved activity before the change; J1 is authorised absence from it.
    assert_eq!(
        codes::lookup("J", d("2024-08-18")).unwrap().code.category(),
        Category::Aea
    );
    let j = codes::lookup("J", d("2024-09-02")).unwrap();
    assert!(j.retired);
    assert_eq!(
        j.code.category(),
        Category::Aea,
        "retired codes keep their old category"
    );
    assert_eq!(
        codes::lookup("J1", d("2024-09-02"))
            .unwrap()
            .code
            .category(),
        Category::Authorised
    );
    assert!(codes::lookup("J1", d("2024-08-18")).is_err());
    // A retired code still arrives in 2025/26 (the DfE counted 388 H sessions).
    let h = codes::lookup("H", d("2025-10-01")).unwrap();
    assert!(h.retired && h.code.category() == Category::Authorised);
}

#[test]
fn strings_that_are_not_national_codes() {
    for raw in [
        "!", "@", "7", "PR", "C3", "Y8", "Y0", "AM", "//", "/\\", "C 1", "C01", "LL", "ＬＬ", "Ｌ",
        "é", "\u{0}",
    ] {
        assert_eq!(
            codes::lookup(raw, d("2025-10-01")),
            Err(CodeError::Unknown),
            "{raw:?}"
        );
        assert_eq!(codes::find(raw), Err(CodeError::Unknown), "{raw:?}");
    }
    for raw in ["", " ", "\t"] {
        assert_eq!(
            codes::lookup(raw, d("2025-10-01")),
            Err(CodeError::Empty),
            "{raw:?}"
        );
    }
    assert_eq!(codes::get("c1"), None, "get is exact");
    assert_eq!(codes::get(" L"), None, "get is exact");
}

#[test]
fn surrounding_spaces_are_trimmed_and_letters_upper_cased() {
    for (raw, code) in [
        ("l", "L"),
        (" L ", "L"),
        ("\tc1\t", "C1"),
        ("c1", "C1"),
        ("C1", "C1"),
        ("j1", "J1"),
        ("y7", "Y7"),
        (" / ", "/"),
        ("\\", "\\"),
        ("#", "#"),
        ("\u{a0}N\u{a0}", "N"),
    ] {
        let got = codes::lookup(raw, d("2025-10-01")).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(got.code.code(), code, "{raw:?}");
    }
    // Folding happens before the date rule.
    assert!(matches!(
        codes::lookup(" k", d("2024-08-18")),
        Err(CodeError::NotYetValid { code: "K", .. })
    ));
}

#[test]
fn error_messages() {
    assert_eq!(
        CodeError::Unknown.to_string(),
        "not a national attendance code"
    );
    assert_eq!(CodeError::Empty.to_string(), "attendance code is empty");
    assert_eq!(
        codes::lookup("C1", d("2024-01-08"))
            .unwrap_err()
            .to_string(),
        "attendance code C1 is not valid before 2024-08-19"
    );
}

#[test]
fn categories() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
    }
    assert_eq!(
        Category::ALL.map(Category::as_str),
        [
            "present",
            "aea",
            "authorised",
            "unauthorised",
            "not_possible"
        ]
    );
    assert_eq!(Category::parse("Present"), None);
    assert!(!Category::NotPossible.counts_as_possible());
    assert_eq!(
        codes::in_category(Category::Unauthorised)
            .map(|c| c.code())
            .collect::<Vec<_>>(),
        ["G", "N", "O", "U"]
    );
}
