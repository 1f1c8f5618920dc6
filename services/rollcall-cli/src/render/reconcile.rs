//! A reconciliation (`rollcall reconcile`): the marks the LA holds per session and code, and,
//! compared with the sender's files, each pupil and date that differs.

use rollcall_client::reconcile::Difference;
use rollcall_proto::feed::v1::Reconciliation;
use serde_json::{Value, json};

use super::table;

pub fn reconciliation_json(r: &Reconciliation, differences: Option<&[Difference]>) -> Value {
    json!({
        "school_urn": r.school_urn, "from": r.from, "to": r.to, "method": r.method,
        "sessions": r.sessions.iter().map(|s| json!({
            "date": s.date, "session": s.session, "codes": s.codes,
        })).collect::<Vec<_>>(),
        "pupil_days": r.days.len(),
        "differences": differences.map(|ds| ds.iter().map(|d| json!({
            "pupil": d.pupil, "date": d.date.to_string(), "kind": d.kind.as_str(),
            "yours": {"am": d.yours[0], "pm": d.yours[1]},
        })).collect::<Vec<_>>()),
    })
}

pub fn reconciliation_text(r: &Reconciliation, differences: Option<&[Difference]>) -> String {
    let mut out = format!(
        "school {} from {} to {}: {} pupil-days held\n",
        r.school_urn,
        r.from,
        r.to,
        r.days.len()
    );
    let rows: Vec<Vec<String>> = r
        .sessions
        .iter()
        .map(|s| {
            let mut codes: Vec<(&String, &u64)> = s.codes.iter().collect();
            codes.sort();
            let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
            vec![s.date.clone(), s.session.clone(), codes.join(", ")]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table::render(
            &["date", "session", "marks held by code"],
            &rows,
        ));
    }
    match differences {
        None => {}
        Some([]) => out.push_str("no differences: your files and the LA's registers agree\n"),
        Some(ds) => {
            out.push_str(&format!("{} pupil-days differ:\n", ds.len()));
            let rows: Vec<Vec<String>> = ds
                .iter()
                .map(|d| {
                    vec![
                        d.pupil.clone(),
                        d.date.to_string(),
                        d.kind.as_str().to_owned(),
                        d.yours[0].clone(),
                        d.yours[1].clone(),
                    ]
                })
                .collect();
            out.push_str(&table::render(
                &["pupil", "date", "difference", "your AM", "your PM"],
                &rows,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rollcall_client::reconcile::DifferenceKind;
    use rollcall_proto::feed::v1::SessionCodes;

    use super::*;

    #[test]
    fn a_reconciliation_prints_its_sessions_and_each_difference() {
        let held = Reconciliation {
            school_urn: "100001".into(),
            from: "2025-10-06".into(),
            to: "2025-10-07".into(),
            sessions: vec![SessionCodes {
                date: "2025-10-06".into(),
                session: "AM".into(),
                codes: [("/".to_owned(), 230), ("I".to_owned(), 12)].into(),
            }],
            ..Default::default()
        };
        let differences = [Difference {
            pupil: "W937200001001".into(),
            date: "2025-10-07".parse().unwrap(),
            kind: DifferenceKind::Differs,
            yours: ["/".into(), "I".into()],
        }];
        insta::assert_snapshot!(reconciliation_text(&held, Some(&differences)));
        assert!(reconciliation_text(&held, Some(&[])).ends_with("agree\n"));
        assert_eq!(
            reconciliation_json(&held, Some(&differences))["differences"][0]["kind"],
            "differs"
        );
    }
}
