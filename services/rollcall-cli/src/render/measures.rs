//! The DfE measures: one school's summary, and the LA's table of schools with its total.

use rollcall_proto::query::v1::{LaSummaryResponse, Measures, School, SchoolSummaryResponse};
use serde_json::{Value, json};

use super::table::{self, perc};
use super::yes_no;

pub(super) const MEASURE_HEADERS: &[&str] = &[
    "enrolments",
    "possible",
    "attendance",
    "absence",
    "authorised",
    "unauthorised",
    "persistent",
    "pa",
    "severe",
    "sa",
];

pub(super) fn measure_cells(m: &Measures) -> Vec<String> {
    vec![
        m.enrolments.to_string(),
        m.possible_sessions.to_string(),
        perc(m.attendance_perc),
        perc(m.overall_absence_perc),
        perc(m.authorised_absence_perc),
        perc(m.unauthorised_absence_perc),
        m.persistent_absentees.to_string(),
        perc(m.persistent_absence_perc),
        m.severe_absentees.to_string(),
        perc(m.severe_absence_perc),
    ]
}

fn codes_line(m: &Measures) -> String {
    let mut codes: Vec<_> = m.sessions_by_code.iter().collect();
    codes.sort();
    codes
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn measures_json(m: &Measures) -> Value {
    json!({
        "enrolments": m.enrolments, "possible_sessions": m.possible_sessions, "present_sessions": m.present_sessions,
        "approved_educational_activity": m.approved_educational_activity, "authorised_absence": m.authorised_absence,
        "unauthorised_absence": m.unauthorised_absence, "overall_absence": m.overall_absence, "late_sessions": m.late_sessions,
        "not_possible_sessions": m.not_possible_sessions, "attendance_perc": m.attendance_perc,
        "overall_absence_perc": m.overall_absence_perc, "authorised_absence_perc": m.authorised_absence_perc,
        "unauthorised_absence_perc": m.unauthorised_absence_perc, "persistent_absentees": m.persistent_absentees,
        "severe_absentees": m.severe_absentees, "persistent_absence_perc": m.persistent_absence_perc,
        "severe_absence_perc": m.severe_absence_perc,
        "sessions_by_code": m.sessions_by_code.iter().collect::<std::collections::BTreeMap<_, _>>(),
    })
}

/// A registry row.
pub fn school_json(s: &School) -> Value {
    json!({"urn": s.urn, "la_code": s.la_code, "name": s.name, "phase": s.phase, "school_type": s.school_type, "independent": s.independent})
}

pub fn school_summary_json(r: &SchoolSummaryResponse) -> Value {
    json!({
        "school": school_json(&r.school.clone().unwrap_or_default()),
        "from": r.from,
        "to": r.to,
        "measures": measures_json(&r.measures.clone().unwrap_or_default()),
    })
}

pub fn school_summary_text(r: &SchoolSummaryResponse) -> String {
    let school = r.school.clone().unwrap_or_default();
    let m = r.measures.clone().unwrap_or_default();
    let mut out = format!(
        "{} {} ({}), {} to {}\n\n",
        school.urn, school.name, school.phase, r.from, r.to
    );
    out.push_str(&table::render(MEASURE_HEADERS, &[measure_cells(&m)]));
    out.push_str(&format!("\nsessions by code: {}\n", codes_line(&m)));
    out
}

pub fn la_json(r: &LaSummaryResponse) -> Value {
    json!({
        "la_code": r.la_code, "la_name": r.la_name, "from": r.from, "to": r.to,
        "schools": r.schools.iter().map(|row| json!({
            "school": school_json(&row.school.clone().unwrap_or_default()),
            "measures": measures_json(&row.measures.clone().unwrap_or_default()),
        })).collect::<Vec<_>>(),
        "total": measures_json(&r.total.clone().unwrap_or_default()),
    })
}

pub fn la_text(r: &LaSummaryResponse) -> String {
    let mut headers = vec!["urn", "school", "phase", "independent"];
    headers.extend_from_slice(MEASURE_HEADERS);
    let mut rows: Vec<Vec<String>> = r
        .schools
        .iter()
        .map(|row| {
            let s = row.school.clone().unwrap_or_default();
            let mut cells = vec![s.urn, s.name, s.phase, yes_no(s.independent)];
            cells.extend(measure_cells(&row.measures.clone().unwrap_or_default()));
            cells
        })
        .collect();
    let mut total = vec![
        String::new(),
        format!("{} total", r.la_name),
        String::new(),
        String::new(),
    ];
    total.extend(measure_cells(&r.total.clone().unwrap_or_default()));
    rows.push(total);
    format!(
        "LA {} {}, {} to {}\n\n{}",
        r.la_code,
        r.la_name,
        r.from,
        r.to,
        table::render(&headers, &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{keys, la, measures, school};
    use super::*;
    use crate::render::pretty;

    #[test]
    fn the_la_summary_in_json_has_a_row_per_school_and_the_total() {
        let value = la_json(&la());
        assert_eq!(
            keys(&value),
            ["from", "la_code", "la_name", "schools", "to", "total"]
        );
        let rows = value["schools"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(keys(&rows[0]), ["measures", "school"]);
        assert_eq!(
            keys(&rows[1]["school"]),
            [
                "independent",
                "la_code",
                "name",
                "phase",
                "school_type",
                "urn"
            ]
        );
        assert_eq!(rows[1]["school"]["independent"], true);
        assert_eq!(
            rows[0]["measures"]["sessions_by_code"],
            json!({"/": 36, "N": 4})
        );
        assert_eq!(value["total"]["possible_sessions"], 48);
        assert_eq!(value["total"]["persistent_absentees"], 1);
        insta::assert_snapshot!("la_summary", pretty(&value));
    }

    #[test]
    fn the_la_summary_as_a_table_marks_independent_schools_and_ends_with_the_total() {
        let text = la_text(&la());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "LA 937 Warwickshire, 2025-09-08 to 2025-10-03");
        assert!(
            lines[2]
                .starts_with("urn     school                     phase    independent  enrolments"),
            "{text}"
        );
        assert!(
            lines[4].starts_with("140001  Kenilworth Primary School  primary  N"),
            "{text}"
        );
        assert!(
            lines[5].starts_with("140002  Rugby House School         primary  Y"),
            "{text}"
        );
        assert!(lines[6].starts_with("        Warwickshire total"), "{text}");
        // Columns line up: every row is as wide as the dashes under the header.
        let width = lines[3].len();
        assert!(lines[4..].iter().all(|l| l.len() == width), "{text}");
        assert!(
            lines[6].contains("89.6%") && lines[6].contains("10.4%"),
            "{text}"
        );
        insta::assert_snapshot!("la_summary_text", text);
    }

    #[test]
    fn one_school_has_its_measures_and_sessions_by_code() {
        let r = SchoolSummaryResponse {
            school: Some(school("140001", "Kenilworth Primary School", false)),
            from: "2025-09-08".into(),
            to: "2025-10-03".into(),
            measures: Some(measures(40, 4)),
        };
        let text = school_summary_text(&r);
        assert!(
            text.starts_with(
                "140001 Kenilworth Primary School (primary), 2025-09-08 to 2025-10-03\n\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("\nsessions by code: /=36 N=4\n"), "{text}");
        let value = school_summary_json(&r);
        assert_eq!(keys(&value), ["from", "measures", "school", "to"]);
        assert_eq!(value["measures"]["overall_absence"], 4);
        insta::assert_snapshot!("school_summary_text", text);
        insta::assert_snapshot!("school_summary", pretty(&value));
    }
}
