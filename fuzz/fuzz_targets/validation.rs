//! The validation catalogue (`rollcall_domain::validation::validate`) over fuzzed feeds (see
//! `feed_input.rs`).
//!
//! Checked: nothing panics; every finding's code is in the catalogue with its severity, its field
//! is one of its record's, its record is one of the feed's, and its message is printable ASCII
//! (it names the rule, never a value sent); findings are in record order; a record with an
//! error is not accepted and every record not accepted has an error (or is a copy dropped with
//! its warning); accepted pupils and marks are in feed order, one per UPN and one per pupil and
//! session; the summary adds up; the result does not depend on the order of a hash map (the
//! feed validated twice gives the same answer); fitting the findings to an answer keeps a prefix
//! of them and counts the rest.

#![no_main]

mod feed_input;

use std::collections::HashSet;

use feed_input::FeedInput;
use libfuzzer_sys::fuzz_target;
use rollcall_domain::validation::{
    self, FindingCode, MARK_FIELDS, ROLL_FIELDS, RecordRef, Severity, Validated,
};

fuzz_target!(|input: FeedInput| {
    let (roll, marks, ctx) = (input.roll(), input.marks(), input.context());
    let validated = validation::validate(&roll, &marks, &ctx);
    assert!(
        validation::validate(&roll, &marks, &ctx) == validated,
        "the same feed gives the same answer"
    );
    assert_eq!(validated.roll_records, roll.len());
    assert_eq!(validated.mark_records, marks.len());
    assert_findings(&validated);
    assert_accepted(&validated);
    assert_summary(&validated);
    assert_fitted(&validated);
});

fn assert_findings(v: &Validated) {
    for f in &v.findings {
        assert!(FindingCode::ALL.contains(&f.code));
        assert_eq!(FindingCode::parse(f.code.as_str()), Some(f.code));
        assert_eq!(f.severity, f.code.severity());
        let fields: &[&str] = match f.record {
            RecordRef::Feed => &[""],
            RecordRef::Roll(i) => {
                assert!(i < v.roll_records, "{f}");
                &ROLL_FIELDS
            }
            RecordRef::Mark(i) => {
                assert!(i < v.mark_records, "{f}");
                &MARK_FIELDS
            }
        };
        assert!(fields.contains(&f.field), "{f}");
        assert!(!f.message.is_empty());
        assert!(
            f.message.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
            "a finding's message quotes nothing sent: {:?}",
            f.message
        );
    }
    assert!(
        v.findings.is_sorted_by_key(|f| f.record),
        "findings in record order"
    );
}

fn assert_accepted(v: &Validated) {
    let feed_rejected = v.is_rejected(RecordRef::Feed);
    let errors: HashSet<RecordRef> = v
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.record)
        .collect();
    let dropped = |record: RecordRef, code: FindingCode| {
        v.findings
            .iter()
            .any(|f| f.record == record && f.code == code)
    };
    if feed_rejected {
        assert!(
            v.pupils.is_empty() && v.marks.is_empty(),
            "a rejected feed accepts nothing"
        );
    }
    assert!(v.pupils.is_sorted_by_key(|p| p.record));
    assert!(v.marks.is_sorted_by_key(|m| m.record));
    let pupils: HashSet<usize> = v.pupils.iter().map(|p| p.record).collect();
    for i in 0..v.roll_records {
        let r = RecordRef::Roll(i);
        if pupils.contains(&i) {
            assert!(
                !errors.contains(&r) && !feed_rejected,
                "{r} accepted with an error"
            );
        } else {
            assert!(
                errors.contains(&r) || feed_rejected || dropped(r, FindingCode::DuplicatePupil),
                "{r} left out without an error"
            );
        }
    }
    let upns: HashSet<_> = v.pupils.iter().map(|p| &p.upn).collect();
    assert_eq!(upns.len(), v.pupils.len(), "one pupil per upn");
    let marks: HashSet<usize> = v.marks.iter().map(|m| m.record).collect();
    for i in 0..v.mark_records {
        let r = RecordRef::Mark(i);
        if marks.contains(&i) {
            assert!(
                !errors.contains(&r) && !feed_rejected,
                "{r} accepted with an error"
            );
        } else {
            assert!(
                errors.contains(&r) || feed_rejected || dropped(r, FindingCode::DuplicateMark),
                "{r} left out without an error"
            );
        }
    }
    let sessions: HashSet<_> = v
        .marks
        .iter()
        .map(|m| (&m.upn, m.date, m.session))
        .collect();
    assert_eq!(
        sessions.len(),
        v.marks.len(),
        "one mark per pupil and session"
    );
    for m in &v.marks {
        let pupil = v.pupils.iter().find(|p| p.upn == m.upn);
        let pupil = pupil.expect("an accepted mark is of an accepted pupil");
        assert!(
            pupil.is_on_roll(m.date),
            "a mark is within its pupil's enrolment"
        );
        assert!(
            m.minutes_late
                .is_none_or(|n| n <= validation::MAX_MINUTES_LATE),
            "minutes late within bounds"
        );
    }
}

fn assert_summary(v: &Validated) {
    let s = v.summary();
    assert_eq!(s.roll_accepted + s.roll_rejected, v.roll_records as u64);
    assert_eq!(s.marks_accepted + s.marks_rejected, v.mark_records as u64);
    assert!(s.roll_accepted >= v.pupils.len() as u64);
    assert!(s.marks_accepted >= v.marks.len() as u64);
    assert!(s.records_warned <= s.roll_accepted + s.marks_accepted);
}

fn assert_fitted(v: &Validated) {
    for limit in [0, 200, 4096] {
        let mut findings = v.findings.clone();
        let omitted = validation::fit_findings(&mut findings, limit);
        assert_eq!(findings.len() + omitted as usize, v.findings.len());
        assert_eq!(findings[..], v.findings[..findings.len()]);
    }
}
