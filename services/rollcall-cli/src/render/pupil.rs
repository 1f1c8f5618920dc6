//! One pupil: the enrolments a search found, and a timeline across the LA's schools
//! (pupil-level: shown only to who asked, never logged).

use std::collections::BTreeMap;

use rollcall_proto::query::v1::{
    FindPupilsResponse, PupilEnrolment, PupilTimelineResponse, TimelineWeek,
};
use serde_json::{Value, json};

use super::measures::{MEASURE_HEADERS, measure_cells, measures_json, school_json};
use super::table::{self, perc};
use super::yes_no;

fn enrolment_json(e: &PupilEnrolment) -> Value {
    json!({
        "school": school_json(&e.school.clone().unwrap_or_default()),
        "admission_date": e.admission_date, "leaving_date": e.leaving_date,
        "year_group": e.year_group, "sex": e.sex, "fsm": e.fsm, "sen_provision": e.sen_provision,
        "ethnicity": e.ethnicity, "looked_after": e.looked_after,
    })
}

pub fn found_json(r: &FindPupilsResponse) -> Value {
    json!({
        "pupils": r.pupils.iter().map(|p| json!({
            "upn": p.upn, "forename": p.forename, "surname": p.surname,
            "date_of_birth": p.date_of_birth,
            "enrolments": p.enrolments.iter().map(enrolment_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub fn found_text(r: &FindPupilsResponse) -> String {
    if r.pupils.is_empty() {
        return "no pupil found\n".to_owned();
    }
    let rows: Vec<Vec<String>> = r
        .pupils
        .iter()
        .flat_map(|p| {
            p.enrolments.iter().map(move |e| {
                let s = e.school.clone().unwrap_or_default();
                vec![
                    p.upn.clone(),
                    format!("{} {}", p.forename, p.surname),
                    p.date_of_birth.clone(),
                    s.urn,
                    s.name,
                    yes_no(s.independent),
                    e.year_group.clone(),
                    e.admission_date.clone(),
                    e.leaving_date.clone(),
                ]
            })
        })
        .collect();
    table::render(
        &[
            "upn",
            "name",
            "born",
            "urn",
            "school",
            "independent",
            "year",
            "admitted",
            "left",
        ],
        &rows,
    )
}

pub fn timeline_json(r: &PupilTimelineResponse) -> Value {
    json!({
        "upn": r.upn, "forename": r.forename, "surname": r.surname,
        "date_of_birth": r.date_of_birth, "from": r.from, "to": r.to, "as_at": r.as_at,
        "enrolments": r.enrolments.iter().map(|e| json!({
            "enrolment": enrolment_json(&e.enrolment.clone().unwrap_or_default()),
            "measures": measures_json(&e.measures.clone().unwrap_or_default()),
            "dual_registered": e.dual_registered,
        })).collect::<Vec<_>>(),
        "overall": measures_json(&r.overall.clone().unwrap_or_default()),
        "weeks": r.weeks.iter().map(|w| json!({
            "monday": w.monday,
            "sessions": w.sessions.iter().map(|s| json!({
                "date": s.date, "session": s.session, "school_urn": s.school_urn, "code": s.code,
                "category": s.category, "minutes_late": s.minutes_late, "recorded_at": s.recorded_at,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "spells": r.spells.iter().map(|s| json!({
            "school_urn": s.school_urn, "first_date": s.first_date, "first_session": s.first_session,
            "last_date": s.last_date, "last_session": s.last_session, "sessions": s.sessions,
            "sessions_by_code": s.sessions_by_code.iter().collect::<BTreeMap<_, _>>(),
            "current": s.current,
        })).collect::<Vec<_>>(),
        "corrections": r.corrections.iter().map(|c| json!({
            "date": c.date, "session": c.session, "school_urn": c.school_urn, "before": c.before,
            "after": c.after, "recorded_at": c.recorded_at, "feed_id": c.feed_id,
        })).collect::<Vec<_>>(),
        "attribute_changes": r.attribute_changes.iter().map(|c| json!({
            "school_urn": c.school_urn, "field": c.field, "before": c.before, "after": c.after,
            "recorded_at": c.recorded_at,
        })).collect::<Vec<_>>(),
        "household": r.household.as_ref().map(|h| json!({
            "has_key": h.has_key,
            "members": h.members.iter().map(|m| json!({
                "upn": m.upn, "forename": m.forename, "surname": m.surname,
                "date_of_birth": m.date_of_birth,
                "enrolments": m.enrolments.iter().map(enrolment_json).collect::<Vec<_>>(),
                "overall": measures_json(&m.overall.clone().unwrap_or_default()),
            })).collect::<Vec<_>>(),
        })),
    })
}

/// The household section: who else the pupil lives with, where the school sent a key.
fn household_text(r: &PupilTimelineResponse) -> String {
    let mut out = "\nhousehold\n".to_owned();
    match &r.household {
        Some(h) if !h.members.is_empty() => {
            let rows: Vec<Vec<String>> = h
                .members
                .iter()
                .map(|m| {
                    let overall = m.overall.clone().unwrap_or_default();
                    let schools: Vec<String> = m
                        .enrolments
                        .iter()
                        .filter_map(|e| e.school.as_ref().map(|s| s.urn.clone()))
                        .collect();
                    vec![
                        m.upn.clone(),
                        format!("{} {}", m.forename, m.surname),
                        schools.join(" "),
                        overall.possible_sessions.to_string(),
                        perc(overall.overall_absence_perc),
                    ]
                })
                .collect();
            out.push_str(&table::render(
                &["upn", "name", "schools", "possible", "absence"],
                &rows,
            ));
        }
        Some(h) if h.has_key => {
            out.push_str("no other pupil of the household in schools you may see\n")
        }
        _ => out.push_str(
            "no household key: the school did not send one, so the household is not known\n",
        ),
    }
    out
}

/// A week as one line per school: each weekday's AM and PM codes, `.` where none is recorded.
fn week_rows(w: &TimelineWeek) -> Vec<Vec<String>> {
    let monday: chrono::NaiveDate = w.monday.parse().unwrap_or_default();
    let mut by_school: BTreeMap<&str, [String; 10]> = BTreeMap::new();
    for s in &w.sessions {
        let Ok(date) = s.date.parse::<chrono::NaiveDate>() else {
            continue;
        };
        let day = (date - monday).num_days();
        if !(0..5).contains(&day) {
            continue;
        }
        let slot = day as usize * 2 + usize::from(s.session == "PM");
        by_school
            .entry(s.school_urn.as_str())
            .or_insert_with(|| std::array::from_fn(|_| ".".to_owned()))[slot] = s.code.clone();
    }
    by_school
        .into_iter()
        .map(|(urn, slots)| {
            let mut row = vec![w.monday.clone(), urn.to_owned()];
            row.extend(slots.chunks(2).map(|day| format!("{} {}", day[0], day[1])));
            row
        })
        .collect()
}

pub fn timeline_text(r: &PupilTimelineResponse) -> String {
    let mut out = format!(
        "{} {} ({}), born {}: {} to {}{}\n\n",
        r.forename,
        r.surname,
        r.upn,
        r.date_of_birth,
        r.from,
        r.to,
        if r.as_at.is_empty() {
            String::new()
        } else {
            format!(", as at {}", r.as_at)
        }
    );
    let mut headers = vec!["urn", "school", "admitted", "left", "year", "dual"];
    headers.extend_from_slice(MEASURE_HEADERS);
    let mut rows: Vec<Vec<String>> = r
        .enrolments
        .iter()
        .map(|e| {
            let en = e.enrolment.clone().unwrap_or_default();
            let s = en.school.clone().unwrap_or_default();
            let mut row = vec![
                s.urn,
                s.name,
                en.admission_date,
                en.leaving_date,
                en.year_group,
                yes_no(e.dual_registered),
            ];
            row.extend(measure_cells(&e.measures.clone().unwrap_or_default()));
            row
        })
        .collect();
    let mut overall = vec![String::new(), "all enrolments".to_owned()];
    overall.extend(std::iter::repeat_n(String::new(), 4));
    overall.extend(measure_cells(&r.overall.clone().unwrap_or_default()));
    rows.push(overall);
    out.push_str(&table::render(&headers, &rows));

    let weeks: Vec<Vec<String>> = r.weeks.iter().flat_map(week_rows).collect();
    out.push_str("\nsessions (AM PM), Monday to Friday\n");
    out.push_str(&table::render(
        &["week", "urn", "mon", "tue", "wed", "thu", "fri"],
        &weeks,
    ));

    out.push_str("\nabsence spells\n");
    if r.spells.is_empty() {
        out.push_str("none\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .spells
            .iter()
            .map(|s| {
                let codes: Vec<String> = s
                    .sessions_by_code
                    .iter()
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect();
                vec![
                    s.school_urn.clone(),
                    format!("{} {}", s.first_date, s.first_session),
                    format!("{} {}", s.last_date, s.last_session),
                    s.sessions.to_string(),
                    codes.join(", "),
                    yes_no(s.current),
                ]
            })
            .collect();
        out.push_str(&table::render(
            &["urn", "from", "to", "sessions", "codes", "current"],
            &rows,
        ));
    }

    out.push_str("\ncorrections\n");
    if r.corrections.is_empty() && r.attribute_changes.is_empty() {
        out.push_str("none\n");
    } else {
        let mut rows: Vec<Vec<String>> = r
            .corrections
            .iter()
            .map(|c| {
                vec![
                    c.recorded_at.clone(),
                    c.school_urn.clone(),
                    format!("{} {}", c.date, c.session),
                    c.before.clone(),
                    c.after.clone(),
                ]
            })
            .collect();
        rows.extend(r.attribute_changes.iter().map(|c| {
            vec![
                c.recorded_at.clone(),
                c.school_urn.clone(),
                c.field.clone(),
                c.before.clone(),
                c.after.clone(),
            ]
        }));
        out.push_str(&table::render(
            &["recorded", "urn", "session or field", "before", "after"],
            &rows,
        ));
    }
    out.push_str(&household_text(r));
    out
}

#[cfg(test)]
mod tests {
    use rollcall_proto::query::v1::{
        AbsenceSpell, EnrolmentTimeline, FoundPupil, Household, HouseholdMember, Measures, School,
        SessionCorrection, TimelineSession,
    };

    use super::*;
    use crate::render::pretty;

    fn school() -> School {
        School {
            urn: "140002".into(),
            la_code: "937".into(),
            name: "Example Primary".into(),
            phase: "primary".into(),
            school_type: "academy".into(),
            independent: false,
        }
    }

    fn enrolment() -> PupilEnrolment {
        PupilEnrolment {
            school: Some(school()),
            admission_date: "2025-09-03".into(),
            year_group: "8".into(),
            ..Default::default()
        }
    }

    fn session(date: &str, session: &str, code: &str) -> TimelineSession {
        TimelineSession {
            date: date.into(),
            session: session.into(),
            school_urn: "140002".into(),
            code: code.into(),
            category: "present".into(),
            recorded_at: "2025-10-07T16:00:00Z".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_search_s_enrolments_in_json_and_as_a_table() {
        let r = FindPupilsResponse {
            pupils: vec![FoundPupil {
                upn: "H801200001001".into(),
                forename: "Ada".into(),
                surname: "Example".into(),
                date_of_birth: "2012-05-01".into(),
                enrolments: vec![enrolment()],
            }],
        };
        insta::assert_snapshot!(found_text(&r));
        insta::assert_snapshot!(pretty(&found_json(&r)));
        assert_eq!(
            found_text(&FindPupilsResponse::default()),
            "no pupil found\n"
        );
    }

    #[test]
    fn a_timeline_as_weeks_spells_and_corrections() {
        let r = PupilTimelineResponse {
            upn: "H801200001001".into(),
            forename: "Ada".into(),
            surname: "Example".into(),
            date_of_birth: "2012-05-01".into(),
            from: "2025-09-01".into(),
            to: "2025-10-10".into(),
            as_at: String::new(),
            enrolments: vec![EnrolmentTimeline {
                enrolment: Some(enrolment()),
                measures: Some(Measures {
                    enrolments: 1,
                    possible_sessions: 4,
                    overall_absence: 1,
                    overall_absence_perc: 25.0,
                    ..Default::default()
                }),
                dual_registered: false,
            }],
            overall: Some(Measures {
                enrolments: 1,
                possible_sessions: 4,
                overall_absence: 1,
                overall_absence_perc: 25.0,
                ..Default::default()
            }),
            weeks: vec![TimelineWeek {
                monday: "2025-10-06".into(),
                sessions: vec![
                    session("2025-10-06", "AM", "I"),
                    session("2025-10-06", "PM", "/"),
                    session("2025-10-07", "AM", "/"),
                    session("2025-10-07", "PM", "L"),
                ],
            }],
            spells: vec![AbsenceSpell {
                school_urn: "140002".into(),
                first_date: "2025-10-06".into(),
                first_session: "AM".into(),
                last_date: "2025-10-06".into(),
                last_session: "AM".into(),
                sessions: 1,
                sessions_by_code: [("I".to_owned(), 1)].into_iter().collect(),
                current: false,
            }],
            corrections: vec![SessionCorrection {
                date: "2025-10-06".into(),
                session: "AM".into(),
                school_urn: "140002".into(),
                before: "N".into(),
                after: "I".into(),
                recorded_at: "2025-10-07T16:00:00Z".into(),
                feed_id: "00000000-0000-0000-0000-000000000001".into(),
            }],
            attribute_changes: Vec::new(),
            household: Some(Household {
                has_key: true,
                members: vec![HouseholdMember {
                    upn: "H801200001002".into(),
                    forename: "Grace".into(),
                    surname: "Example".into(),
                    date_of_birth: "2015-01-09".into(),
                    enrolments: vec![PupilEnrolment {
                        school: Some(school()),
                        ..Default::default()
                    }],
                    overall: Some(Measures {
                        possible_sessions: 2,
                        overall_absence: 1,
                        overall_absence_perc: 50.0,
                        ..Default::default()
                    }),
                }],
            }),
        };
        insta::assert_snapshot!(timeline_text(&r));
        insta::assert_snapshot!(pretty(&timeline_json(&r)));
    }
}
