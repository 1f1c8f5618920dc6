//! The pupil lists: pupils at persistent or severe absence, and pupils approaching persistent
//! absence, each row with why it is there (pupil-level: shown only to who asked, never logged).

use rollcall_proto::query::v1::{
    ApproachingPersistentResponse, AtRiskPupil, AtRiskPupilsResponse, FlagExplanation, Trend,
};
use serde_json::{Value, json};

use super::table::{self, perc};
use super::yes_no;

pub fn at_risk_json(r: &AtRiskPupilsResponse) -> Value {
    json!({
        "from": r.from, "to": r.to, "persistent_count": r.persistent_count, "severe_count": r.severe_count,
        "pupils": r.pupils.iter().map(pupil_json).collect::<Vec<_>>(),
    })
}

pub fn approaching_json(r: &ApproachingPersistentResponse) -> Value {
    json!({
        "from": r.from, "to": r.to, "approaching_count": r.approaching_count,
        "pupils": r.pupils.iter().map(|p| {
            let mut row = p.pupil.as_ref().map(pupil_json).unwrap_or_else(|| json!({}));
            row["sessions_to_persistent"] = json!(p.sessions_to_persistent);
            row
        }).collect::<Vec<_>>(),
    })
}

fn pupil_json(p: &AtRiskPupil) -> Value {
    json!({
        "school_urn": p.school_urn, "upn": p.upn, "forename": p.forename, "surname": p.surname,
        "year_group": p.year_group, "possible_sessions": p.possible_sessions, "overall_absence": p.overall_absence,
        "authorised_absence": p.authorised_absence, "unauthorised_absence": p.unauthorised_absence,
        "overall_absence_perc": p.overall_absence_perc, "severe": p.severe,
        "explanation": p.explanation.as_ref().map(explanation_json),
    })
}

fn explanation_json(x: &FlagExplanation) -> Value {
    json!({
        "absence_by_code": x.absence_by_code,
        "latest_absences": x.latest_absences.iter().map(|a| json!({
            "date": a.date, "session": a.session, "code": a.code,
        })).collect::<Vec<_>>(),
        "current_spell": x.current_spell.as_ref().map(|s| json!({
            "first_date": s.first_date, "first_session": s.first_session,
            "sessions": s.sessions, "sessions_by_code": s.sessions_by_code,
        })),
        "recent": {
            "from": x.recent_from, "to": x.recent_to, "possible_sessions": x.recent_possible_sessions,
            "overall_absence": x.recent_overall_absence, "overall_absence_perc": x.recent_overall_absence_perc,
        },
        "trend": trend_name(x.trend()),
    })
}

fn trend_name(trend: Trend) -> &'static str {
    match trend {
        Trend::Worsening => "worsening",
        Trend::Steady => "steady",
        Trend::Improving => "improving",
        Trend::TooSoon => "too soon",
        Trend::Unspecified => "",
    }
}

/// The explanation's columns: the last four weeks' rate, the trend, the current spell in
/// sessions, and the absences by code, most first.
fn why(x: Option<&FlagExplanation>) -> [String; 4] {
    let Some(x) = x else {
        return ["-".into(), "-".into(), "-".into(), "-".into()];
    };
    let mut codes: Vec<(&String, &u64)> = x.absence_by_code.iter().collect();
    codes.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let reasons: Vec<String> = codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
    [
        perc(x.recent_overall_absence_perc),
        trend_name(x.trend()).to_owned(),
        x.current_spell
            .as_ref()
            .map(|s| format!("{} since {}", s.sessions, s.first_date))
            .unwrap_or_else(|| "-".into()),
        reasons.join(", "),
    ]
}

const WHY: [&str; 4] = ["4 weeks", "trend", "current spell", "absences by code"];

fn pupil_cells(p: &AtRiskPupil) -> Vec<String> {
    vec![
        p.school_urn.clone(),
        p.upn.clone(),
        format!("{} {}", p.forename, p.surname),
        p.year_group.clone(),
        p.possible_sessions.to_string(),
        p.overall_absence.to_string(),
        perc(p.overall_absence_perc),
    ]
}

pub fn at_risk_text(r: &AtRiskPupilsResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .pupils
        .iter()
        .map(|p| {
            let mut row = pupil_cells(p);
            row.extend([
                p.authorised_absence.to_string(),
                p.unauthorised_absence.to_string(),
                yes_no(p.severe),
            ]);
            row.extend(why(p.explanation.as_ref()));
            row
        })
        .collect();
    let mut headers = vec![
        "urn", "upn", "name", "year", "possible", "absent", "absence", "auth", "unauth", "severe",
    ];
    headers.extend(WHY);
    let mut out = table::render(&headers, &rows);
    out.push_str(&format!(
        "\n{} to {}: {} persistently absent (10%+), {} severely absent (50%+)\n",
        r.from, r.to, r.persistent_count, r.severe_count
    ));
    out
}

pub fn approaching_text(r: &ApproachingPersistentResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .pupils
        .iter()
        .filter_map(|p| {
            let pupil = p.pupil.as_ref()?;
            let mut row = pupil_cells(pupil);
            row.push(p.sessions_to_persistent.to_string());
            row.extend(why(pupil.explanation.as_ref()));
            Some(row)
        })
        .collect();
    let mut headers = vec![
        "urn", "upn", "name", "year", "possible", "absent", "absence", "to 10%",
    ];
    headers.extend(WHY);
    let mut out = table::render(&headers, &rows);
    out.push_str(&format!(
        "\n{} to {}: {} approaching persistent absence (10%); \"to 10%\" is the further absent sessions that would take them there\n",
        r.from, r.to, r.approaching_count
    ));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rollcall_proto::query::v1::{AbsenceSpell, AbsentSession, ApproachingPupil};

    use super::super::fixtures::keys;
    use super::*;
    use crate::render::pretty;

    fn explanation() -> FlagExplanation {
        FlagExplanation {
            absence_by_code: HashMap::from([("N".to_owned(), 1)]),
            latest_absences: vec![AbsentSession {
                date: "2025-10-03".into(),
                session: "AM".into(),
                code: "N".into(),
                school_urn: "140002".into(),
            }],
            current_spell: Some(AbsenceSpell {
                school_urn: "140002".into(),
                first_date: "2025-10-03".into(),
                first_session: "AM".into(),
                last_date: "2025-10-03".into(),
                last_session: "AM".into(),
                sessions: 1,
                sessions_by_code: HashMap::from([("N".to_owned(), 1)]),
                current: true,
            }),
            recent_from: "2025-09-06".into(),
            recent_to: "2025-10-03".into(),
            recent_possible_sessions: 2,
            recent_overall_absence: 1,
            recent_overall_absence_perc: 50.0,
            trend: Trend::TooSoon.into(),
        }
    }

    fn pupil() -> AtRiskPupil {
        AtRiskPupil {
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
            explanation: Some(explanation()),
            ..Default::default()
        }
    }

    #[test]
    fn pupils_at_risk_in_json_and_as_a_table() {
        let r = AtRiskPupilsResponse {
            from: "2025-09-08".into(),
            to: "2025-10-03".into(),
            pupils: vec![pupil()],
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
                "explanation",
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
        assert_eq!(value["pupils"][0]["explanation"]["trend"], "too soon");
        let text = at_risk_text(&r);
        assert!(text.contains("1 since 2025-10-03"), "{text}");
        assert!(
            text.ends_with(
                "2025-09-08 to 2025-10-03: 1 persistently absent (10%+), 1 severely absent (50%+)\n"
            ),
            "{text}"
        );
        insta::assert_snapshot!("at_risk", pretty(&value));
        insta::assert_snapshot!("at_risk_text", text);
    }

    #[test]
    fn pupils_approaching_persistent_absence_say_how_near_they_are() {
        let mut near = pupil();
        near.possible_sessions = 40;
        near.overall_absence_perc = 2.5;
        near.severe = false;
        let r = ApproachingPersistentResponse {
            from: "2025-09-08".into(),
            to: "2025-10-03".into(),
            pupils: vec![ApproachingPupil {
                pupil: Some(near),
                sessions_to_persistent: 4,
            }],
            approaching_count: 1,
            next_page_token: String::new(),
        };
        let value = approaching_json(&r);
        assert_eq!(value["pupils"][0]["sessions_to_persistent"], 4);
        assert_eq!(value["pupils"][0]["explanation"]["absence_by_code"]["N"], 1);
        let text = approaching_text(&r);
        assert!(
            text.contains("2025-10-03: 1 approaching persistent absence"),
            "{text}"
        );
        insta::assert_snapshot!("approaching", pretty(&value));
        insta::assert_snapshot!("approaching_text", text);
    }
}
