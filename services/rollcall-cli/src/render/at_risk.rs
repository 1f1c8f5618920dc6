//! Pupils at persistent or severe absence (pupil-level: shown only to who asked, never logged).

use rollcall_proto::query::v1::AtRiskPupilsResponse;
use serde_json::{Value, json};

use super::table::{self, perc};
use super::yes_no;

pub fn at_risk_json(r: &AtRiskPupilsResponse) -> Value {
    json!({
        "from": r.from, "to": r.to, "persistent_count": r.persistent_count, "severe_count": r.severe_count,
        "pupils": r.pupils.iter().map(|p| json!({
            "school_urn": p.school_urn, "upn": p.upn, "forename": p.forename, "surname": p.surname,
            "year_group": p.year_group, "possible_sessions": p.possible_sessions, "overall_absence": p.overall_absence,
            "authorised_absence": p.authorised_absence, "unauthorised_absence": p.unauthorised_absence,
            "overall_absence_perc": p.overall_absence_perc, "severe": p.severe,
        })).collect::<Vec<_>>(),
    })
}

pub fn at_risk_text(r: &AtRiskPupilsResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .pupils
        .iter()
        .map(|p| {
            vec![
                p.school_urn.clone(),
                p.upn.clone(),
                format!("{} {}", p.forename, p.surname),
                p.year_group.clone(),
                p.possible_sessions.to_string(),
                p.overall_absence.to_string(),
                p.authorised_absence.to_string(),
                p.unauthorised_absence.to_string(),
                perc(p.overall_absence_perc),
                yes_no(p.severe),
            ]
        })
        .collect();
    let mut out = table::render(
        &[
            "urn", "upn", "name", "year", "possible", "absent", "auth", "unauth", "absence",
            "severe",
        ],
        &rows,
    );
    out.push_str(&format!(
        "\n{} to {}: {} persistently absent (10%+), {} severely absent (50%+)\n",
        r.from, r.to, r.persistent_count, r.severe_count
    ));
    out
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::AtRiskPupil;

    use super::super::fixtures::keys;
    use super::*;
    use crate::render::pretty;

    #[test]
    fn pupils_at_risk_in_json_and_as_a_table() {
        let r = AtRiskPupilsResponse {
            from: "2025-09-08".into(),
            to: "2025-10-03".into(),
            pupils: vec![AtRiskPupil {
                school_urn: "140002".into(),
                upn: "H801200001001".into(),
                forename: "Ada".into(),
                surname: "Example".into(),
                year_group: "8".into(),
                possible_sessions: 2,
                overall_absence: 1,
                unauthorised_absence: 1,
                overall_absence_perc: 50.0,
                severe: true,
                ..Default::default()
            }],
            persistent_count: 1,
            severe_count: 1,
            next_page_token: String::new(),
        };
        let value = at_risk_json(&r);
        assert_eq!(
            keys(&value),
            ["from", "persistent_count", "pupils", "severe_count", "to"]
        );
        assert_eq!(
            keys(&value["pupils"][0]),
            [
                "authorised_absence",
                "forename",
                "overall_absence",
                "overall_absence_perc",
                "possible_sessions",
                "school_urn",
                "severe",
                "surname",
                "unauthorised_absence",
                "upn",
                "year_group"
            ]
        );
        let text = at_risk_text(&r);
        assert!(text.contains("140002  H801200001001  Ada Example     8         2       1     0       1    50.0%  Y"), "{text}");
        assert!(
            text.ends_with(
                "2025-09-08 to 2025-10-03: 1 persistently absent (10%+), 1 severely absent (50%+)\n"
            ),
            "{text}"
        );
        insta::assert_snapshot!("at_risk", pretty(&value));
        insta::assert_snapshot!("at_risk_text", text);
    }
}
