//! The conformance pack's results (`rollcall conformance`): a line per case, pass or fail and
//! what differed, as a table to send to the LA, and as JSON.

use serde_json::{Value, json};

use super::table;

/// One case's result.
pub struct CaseResult {
    pub name: String,
    pub about: String,
    /// Empty when the case passed.
    pub differences: Vec<String>,
}

/// A whole run.
pub struct Conformance {
    pub gateway: String,
    pub school: String,
    pub checked_at: chrono::DateTime<chrono::Utc>,
    pub cases: Vec<CaseResult>,
}

pub fn conformance_json(r: &Conformance) -> Value {
    json!({
        "gateway": r.gateway, "school_urn": r.school, "checked_at": r.checked_at.to_rfc3339(),
        "passed": r.cases.iter().filter(|c| c.differences.is_empty()).count(),
        "cases": r.cases.iter().map(|c| json!({
            "case": c.name, "about": c.about, "pass": c.differences.is_empty(),
            "differences": c.differences,
        })).collect::<Vec<_>>(),
    })
}

pub fn conformance_text(r: &Conformance) -> String {
    let passed = r.cases.iter().filter(|c| c.differences.is_empty()).count();
    let mut out = format!(
        "conformance against {} for school {} at {}: {passed} of {} cases pass (dry runs: nothing was stored)\n",
        r.gateway,
        r.school,
        r.checked_at.format("%Y-%m-%d %H:%M UTC"),
        r.cases.len()
    );
    let rows: Vec<Vec<String>> = r
        .cases
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                if c.differences.is_empty() {
                    "pass"
                } else {
                    "FAIL"
                }
                .to_owned(),
                c.about.clone(),
                c.differences.join("; "),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &["case", "result", "what it checks", "differences"],
        &rows,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_prints_each_case_and_how_many_pass() {
        let run = Conformance {
            gateway: "https://gateway.example:50051".into(),
            school: "100001".into(),
            checked_at: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap(),
            cases: vec![
                CaseResult {
                    name: "01-clean".into(),
                    about: "everything accepted".into(),
                    differences: Vec::new(),
                },
                CaseResult {
                    name: "02-unknown-code".into(),
                    about: "a mark that is not a national code".into(),
                    differences: vec!["marks rejected: expected 1, got 0".into()],
                },
            ],
        };
        insta::assert_snapshot!(conformance_text(&run));
        assert_eq!(conformance_json(&run)["passed"], 1);
    }
}
