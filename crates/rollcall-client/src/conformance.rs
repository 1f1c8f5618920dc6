//! The conformance pack (`docs/conformance/`): sample feeds, each with the outcome Rollcall must
//! give it, which `rollcall conformance` sends to a gateway as dry runs (nothing stored) and
//! checks, so an integrator can show the LA their integration reads Rollcall's answers right.
//! The pack is built into the client from the repository's files; another folder of the same
//! layout can be used instead.

use std::collections::BTreeSet;
use std::path::Path;

use rollcall_proto::feed::v1::ValidationOutcome;

use crate::csvfile::{parse_marks, parse_roll};
use crate::{Error, Result};

/// The outcome a case must get: its records accepted and rejected, and the finding codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub roll_accepted: u32,
    pub roll_rejected: u32,
    pub marks_accepted: u32,
    pub marks_rejected: u32,
    /// Every finding code the outcome must have, and no other.
    pub findings: BTreeSet<String>,
}

/// One sample feed.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub about: String,
    pub roll: Vec<rollcall_domain::validation::RawPupil>,
    pub marks: Vec<rollcall_domain::validation::RawMark>,
    pub expected: Expected,
}

/// The pack's files as the repository has them, built in: (name, text).
const PACK: &[(&str, &str)] = &[
    (
        "expected.csv",
        include_str!("../../../docs/conformance/expected.csv"),
    ),
    (
        "01-clean.roll.csv",
        include_str!("../../../docs/conformance/01-clean.roll.csv"),
    ),
    (
        "01-clean.marks.csv",
        include_str!("../../../docs/conformance/01-clean.marks.csv"),
    ),
    (
        "02-unknown-code.roll.csv",
        include_str!("../../../docs/conformance/02-unknown-code.roll.csv"),
    ),
    (
        "02-unknown-code.marks.csv",
        include_str!("../../../docs/conformance/02-unknown-code.marks.csv"),
    ),
    (
        "03-upn-check-letter.roll.csv",
        include_str!("../../../docs/conformance/03-upn-check-letter.roll.csv"),
    ),
    (
        "03-upn-check-letter.marks.csv",
        include_str!("../../../docs/conformance/03-upn-check-letter.marks.csv"),
    ),
    (
        "04-mark-before-admission.roll.csv",
        include_str!("../../../docs/conformance/04-mark-before-admission.roll.csv"),
    ),
    (
        "04-mark-before-admission.marks.csv",
        include_str!("../../../docs/conformance/04-mark-before-admission.marks.csv"),
    ),
    (
        "05-conflicting-marks.roll.csv",
        include_str!("../../../docs/conformance/05-conflicting-marks.roll.csv"),
    ),
    (
        "05-conflicting-marks.marks.csv",
        include_str!("../../../docs/conformance/05-conflicting-marks.marks.csv"),
    ),
    (
        "06-minutes-late.roll.csv",
        include_str!("../../../docs/conformance/06-minutes-late.roll.csv"),
    ),
    (
        "06-minutes-late.marks.csv",
        include_str!("../../../docs/conformance/06-minutes-late.marks.csv"),
    ),
    (
        "07-date-in-future.roll.csv",
        include_str!("../../../docs/conformance/07-date-in-future.roll.csv"),
    ),
    (
        "07-date-in-future.marks.csv",
        include_str!("../../../docs/conformance/07-date-in-future.marks.csv"),
    ),
    (
        "08-not-on-roll.roll.csv",
        include_str!("../../../docs/conformance/08-not-on-roll.roll.csv"),
    ),
    (
        "08-not-on-roll.marks.csv",
        include_str!("../../../docs/conformance/08-not-on-roll.marks.csv"),
    ),
    (
        "09-bad-date.roll.csv",
        include_str!("../../../docs/conformance/09-bad-date.roll.csv"),
    ),
    (
        "09-bad-date.marks.csv",
        include_str!("../../../docs/conformance/09-bad-date.marks.csv"),
    ),
];

/// The built-in pack.
pub fn pack() -> Result<Vec<Case>> {
    read(|name| {
        PACK.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| text.as_bytes().to_vec())
            .ok_or_else(|| format!("{name}: not in the built-in pack"))
    })
}

/// A pack in folder `dir`: `expected.csv` and each case's `NAME.roll.csv` and `NAME.marks.csv`.
pub fn load(dir: &Path) -> Result<Vec<Case>> {
    read(|name| {
        std::fs::read(dir.join(name)).map_err(|err| format!("{name}: cannot read it: {err}"))
    })
}

fn read(file: impl Fn(&str) -> std::result::Result<Vec<u8>, String>) -> Result<Vec<Case>> {
    let invalid = Error::Pack;
    let expected = file("expected.csv").map_err(invalid)?;
    let mut reader = csv::Reader::from_reader(expected.as_slice());
    let mut cases = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|err| invalid(format!("expected.csv: {err}")))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let count = |i: usize| {
            field(i).parse::<u32>().map_err(|_| {
                invalid(format!(
                    "expected.csv: line {}: column {} is not a count",
                    line + 2,
                    i + 1
                ))
            })
        };
        let name = field(0).to_owned();
        let roll = file(&format!("{name}.roll.csv")).map_err(invalid)?;
        let marks = file(&format!("{name}.marks.csv")).map_err(invalid)?;
        cases.push(Case {
            roll: parse_roll(&roll).map_err(|e| invalid(format!("{name}.roll.csv: {e}")))?,
            marks: parse_marks(&marks).map_err(|e| invalid(format!("{name}.marks.csv: {e}")))?,
            expected: Expected {
                roll_accepted: count(1)?,
                roll_rejected: count(2)?,
                marks_accepted: count(3)?,
                marks_rejected: count(4)?,
                findings: field(5).split_whitespace().map(str::to_owned).collect(),
            },
            about: field(6).to_owned(),
            name,
        });
    }
    Ok(cases)
}

/// How `outcome` differs from what `expected` says, one line each; empty when it conforms.
pub fn differences(expected: &Expected, outcome: &ValidationOutcome) -> Vec<String> {
    let mut out = Vec::new();
    let counts = [
        (
            "roll accepted",
            expected.roll_accepted,
            outcome.roll_accepted,
        ),
        (
            "roll rejected",
            expected.roll_rejected,
            outcome.roll_rejected,
        ),
        (
            "marks accepted",
            expected.marks_accepted,
            outcome.marks_accepted,
        ),
        (
            "marks rejected",
            expected.marks_rejected,
            outcome.marks_rejected,
        ),
    ];
    for (what, want, got) in counts {
        if want != got {
            out.push(format!("{what}: expected {want}, got {got}"));
        }
    }
    // The summary counts every finding; a gateway before summaries lists them.
    let got: BTreeSet<String> = if outcome.summary.is_empty() {
        outcome.findings.iter().map(|f| f.code.clone()).collect()
    } else {
        outcome.summary.iter().map(|s| s.code.clone()).collect()
    };
    for missing in expected.findings.difference(&got) {
        out.push(format!("finding {missing} expected, not given"));
    }
    for extra in got.difference(&expected.findings) {
        out.push(format!("finding {extra} given, not expected"));
    }
    out
}

#[cfg(test)]
mod tests {
    use rollcall_domain::validation::{self, Context};

    use super::*;

    /// The pack's outcomes are the validation catalogue's: each case through the domain's own
    /// validation, as the gateway's dry run does it, for a school in the registry.
    #[test]
    fn every_case_gets_the_outcome_the_pack_says() {
        let cases = pack().unwrap();
        assert!(cases.len() >= 9);
        let ctx = Context {
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
            school_registered: true,
        };
        let mut wrong = Vec::new();
        for case in &cases {
            let validated = validation::validate(&case.roll, &case.marks, &ctx);
            let s = validated.summary();
            let outcome = ValidationOutcome {
                roll_accepted: s.roll_accepted as u32,
                roll_rejected: s.roll_rejected as u32,
                marks_accepted: s.marks_accepted as u32,
                marks_rejected: s.marks_rejected as u32,
                findings: validated
                    .findings
                    .iter()
                    .map(rollcall_pipeline::records::finding)
                    .collect(),
                ..Default::default()
            };
            for difference in differences(&case.expected, &outcome) {
                wrong.push(format!("{}: {difference}", case.name));
            }
        }
        assert_eq!(wrong, Vec::<String>::new());
    }

    /// Every file of the folder is in the built-in pack, and every case of it is listed.
    #[test]
    fn the_built_in_pack_is_the_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/conformance");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        files.sort();
        let mut built_in: Vec<String> = PACK.iter().map(|(n, _)| (*n).to_owned()).collect();
        built_in.sort();
        assert_eq!(files, built_in);
        assert_eq!(load(&dir).unwrap().len(), pack().unwrap().len());
    }
}
