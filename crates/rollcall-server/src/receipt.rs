//! Feed receipts as stored and as answered: the aggregator stores a feed's findings as JSON (so
//! operators can query them in SQL) and the gateway turns the stored row back into a receipt.

use rollcall_proto::feed::v1::Finding;
use serde_json::{Value, json};

/// Findings as the JSON array stored with the feed.
pub fn findings_to_json(findings: &[Finding]) -> Value {
    Value::Array(
        findings
            .iter()
            .map(|f| {
                json!({
                    "code": f.code,
                    "severity": f.severity,
                    "record_kind": f.record_kind,
                    "record_index": f.record_index,
                    "field": f.field,
                    "message": f.message,
                })
            })
            .collect(),
    )
}

/// The stored JSON array back as findings; entries of another shape are skipped.
pub fn findings_from_json(value: &Value) -> Vec<Finding> {
    let text = |entry: &Value, key: &str| entry[key].as_str().unwrap_or_default().to_owned();
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| Finding {
            code: text(entry, "code"),
            severity: text(entry, "severity"),
            record_kind: text(entry, "record_kind"),
            record_index: entry["record_index"].as_u64().unwrap_or_default() as u32,
            field: text(entry, "field"),
            message: text(entry, "message"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_survive_the_json_round_trip() {
        let findings = vec![Finding {
            code: "UPN_CHECK_LETTER".into(),
            severity: "error".into(),
            record_kind: "roll".into(),
            record_index: 7,
            field: "upn".into(),
            message: "check letter does not match".into(),
        }];
        assert_eq!(findings_from_json(&findings_to_json(&findings)), findings);
    }
}
