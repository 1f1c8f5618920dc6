//! The catalogue in docs/validation.md and FindingCode::ALL list the same codes with the same severities.

use rollcall_domain::validation::{FindingCode, Severity};

const DOC: &str = include_str!("../../../../docs/validation.md");

/// Rows of the catalogue tables: `| `CODE` | severity | ...`.
fn documented() -> Vec<(String, String)> {
    DOC.lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix('|')?.split('|').map(str::trim);
            let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let severity = cells.next()?;
            code.bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_')
                .then(|| (code.to_owned(), severity.to_owned()))
        })
        .collect()
}

#[test]
fn docs_and_code_list_the_same_codes() {
    let documented = documented();
    let mut doc_codes: Vec<&str> = documented.iter().map(|(c, _)| c.as_str()).collect();
    let mut codes: Vec<&str> = FindingCode::ALL.iter().map(|c| c.as_str()).collect();
    doc_codes.sort_unstable();
    codes.sort_unstable();
    let mut deduped = doc_codes.clone();
    deduped.dedup();
    assert_eq!(deduped, doc_codes, "a code is documented twice");
    assert_eq!(
        doc_codes, codes,
        "docs/validation.md and FindingCode::ALL differ"
    );
    for (code, severity) in &documented {
        let code = FindingCode::parse(code).unwrap();
        assert_eq!(
            Severity::parse(severity),
            Some(code.severity()),
            "{code}: severity in the document"
        );
    }
}

#[test]
fn codes_round_trip_and_are_unique() {
    for &code in FindingCode::ALL {
        assert_eq!(FindingCode::parse(code.as_str()), Some(code));
        assert!(
            code.as_str()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_')
        );
    }
    assert_eq!(FindingCode::parse("upn_check_letter"), None);
    for s in [Severity::Error, Severity::Warning] {
        assert_eq!(Severity::parse(s.as_str()), Some(s));
    }
}
