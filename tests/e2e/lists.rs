//! The pupil lists an attendance team works from, end to end: every at-risk row explained (the
//! absences by code, the latest ones, the spell running now, the last four weeks beside the
//! period, the trend), and the approaching-persistent list nearest first, the same whether read
//! from the stored year totals or counted from the registers, and audited with its purpose.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, ApproachingPersistentResponse, AtRiskPupilsRequest,
    ListAuditEventsRequest, Period, Trend, audit_service_client::AuditServiceClient,
};

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

const A: &str = "100001";

fn autumn() -> Option<Period> {
    Some(Period {
        from: "2025-09-01".into(),
        to: "2025-12-19".into(),
    })
}

/// Six school weeks: Monday 1 September to Friday 10 October 2025.
fn school_days() -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    (0..40)
        .map(|i| first + Days::new(i))
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .collect()
}

/// An absent session: date, session and code.
type Absence = (String, &'static str, &'static str);

/// Each pupil's absences, by UPN serial; every other session is present.
fn absences() -> Vec<(u16, Vec<Absence>)> {
    let each = |marks: &[(&str, &'static str, &'static str)]| {
        marks
            .iter()
            .map(|&(d, s, c)| (format!("2025-{d}"), s, c))
            .collect::<Vec<_>>()
    };
    let mut persistent = each(&[("09-01", "AM", "I")]);
    for day in ["10-06", "10-07", "10-08", "10-09", "10-10"] {
        persistent.extend(each(&[(day, "AM", "N"), (day, "PM", "N")]));
    }
    vec![
        // 11 of 60: persistent, worse in the last four weeks, a spell running now.
        (1, persistent),
        // 3 of 60: 4 more would reach 10%.
        (
            2,
            each(&[
                ("09-02", "AM", "G"),
                ("09-02", "PM", "G"),
                ("09-03", "AM", "G"),
            ]),
        ),
        // 4 of 60: 3 more.
        (
            3,
            each(&[
                ("09-04", "AM", "I"),
                ("09-04", "PM", "I"),
                ("09-05", "AM", "I"),
                ("09-05", "PM", "I"),
            ]),
        ),
        // Never absent: on no list.
        (4, vec![]),
        // 5 of 60: 2 more.
        (
            5,
            each(&[
                ("09-08", "AM", "O"),
                ("09-08", "PM", "O"),
                ("09-09", "AM", "N"),
                ("09-09", "PM", "N"),
                ("09-10", "AM", "M"),
            ]),
        ),
    ]
}

async fn send_the_school(pipeline: &Pipeline) {
    pipeline.import_schools(vec![school(A, "937", false)]).await;
    let mut roll = Vec::new();
    let mut marks = Vec::new();
    for (serial, absent) in absences() {
        let child = upn(937, serial);
        roll.push(pupil(&child, "2025-09-01"));
        let absent: HashMap<(String, &str), &str> =
            absent.into_iter().map(|(d, s, c)| ((d, s), c)).collect();
        for day in school_days() {
            for session in ["AM", "PM"] {
                let code = absent
                    .get(&(day.to_string(), session))
                    .copied()
                    .unwrap_or(if session == "AM" { "/" } else { "\\" });
                marks.push(mark(&child, &day.to_string(), session, code));
            }
        }
    }
    let receipt = FeedSpec {
        urn: A.into(),
        key: "six-weeks".into(),
        extracted_at: Utc.with_ymd_and_hms(2025, 10, 10, 16, 0, 0).unwrap(),
        roll,
        marks,
    }
    .submit(pipeline)
    .await
    .unwrap();
    pipeline.wait_processed(&receipt.feed_id).await;
}

async fn approaching(
    pipeline: &Pipeline,
    token: &str,
    within: u32,
    as_at: &str,
) -> ApproachingPersistentResponse {
    pipeline
        .query_as(token)
        .await
        .approaching_persistent(ApproachingPersistentRequest {
            la_code: "937".into(),
            period: autumn(),
            within_sessions: within,
            purpose: "early help planning".into(),
            as_at: as_at.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// (UPN serial, sessions to persistent) in list order.
fn nearest(r: &ApproachingPersistentResponse) -> Vec<(String, u32)> {
    r.pupils
        .iter()
        .map(|p| {
            let pupil = p.pupil.as_ref().unwrap();
            (pupil.upn.clone(), p.sessions_to_persistent)
        })
        .collect()
}

#[tokio::test]
async fn every_at_risk_row_says_why_and_the_approaching_list_is_nearest_first() {
    let pipeline = Pipeline::start().await;
    send_the_school(&pipeline).await;
    let la = pipeline.key("la", "937").await;
    // Far in the future: counted from the registers, not the stored totals' index.
    let later = "2030-01-01T00:00:00Z";

    for as_at in ["", later] {
        let at_risk = pipeline
            .query_as(&la)
            .await
            .at_risk_pupils(AtRiskPupilsRequest {
                la_code: "937".into(),
                period: autumn(),
                purpose: "weekly review".into(),
                as_at: as_at.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(at_risk.persistent_count, 1, "as at {as_at:?}");
        let row = &at_risk.pupils[0];
        assert_eq!((row.upn.as_str(), row.overall_absence), (&*upn(937, 1), 11));
        let why = row.explanation.as_ref().unwrap();
        assert_eq!(
            why.absence_by_code,
            HashMap::from([("I".to_owned(), 1), ("N".to_owned(), 10)])
        );
        let latest: Vec<(&str, &str, &str)> = why
            .latest_absences
            .iter()
            .map(|a| (a.date.as_str(), a.session.as_str(), a.code.as_str()))
            .collect();
        assert_eq!(
            latest,
            [
                ("2025-10-10", "PM", "N"),
                ("2025-10-10", "AM", "N"),
                ("2025-10-09", "PM", "N"),
                ("2025-10-09", "AM", "N"),
                ("2025-10-08", "PM", "N"),
            ]
        );
        let spell = why.current_spell.as_ref().unwrap();
        assert_eq!(
            (spell.first_date.as_str(), spell.sessions),
            ("2025-10-06", 10)
        );
        // The four weeks to Friday 10 October: 10 absent of 40, against 1 of 20 before.
        assert_eq!(
            (why.recent_from.as_str(), why.recent_to.as_str()),
            ("2025-09-13", "2025-10-10")
        );
        assert_eq!(
            (why.recent_overall_absence, why.recent_possible_sessions),
            (10, 40)
        );
        assert_eq!(why.trend(), Trend::Worsening);

        let within_4 = approaching(&pipeline, &la, 4, as_at).await;
        assert_eq!(
            nearest(&within_4),
            [(upn(937, 5), 2), (upn(937, 3), 3), (upn(937, 2), 4)],
            "as at {as_at:?}"
        );
        assert_eq!(within_4.approaching_count, 3);
        let g = within_4.pupils[2].pupil.as_ref().unwrap();
        assert_eq!(
            g.explanation.as_ref().unwrap().absence_by_code,
            HashMap::from([("G".to_owned(), 3)])
        );
        assert!(g.explanation.as_ref().unwrap().current_spell.is_none());
        let within_3 = approaching(&pipeline, &la, 3, as_at).await;
        assert_eq!(nearest(&within_3), [(upn(937, 5), 2), (upn(937, 3), 3)]);
    }

    // Pages: one pupil at a time, in the same order.
    let mut token = String::new();
    let mut paged = Vec::new();
    loop {
        let page = pipeline
            .query_as(&la)
            .await
            .approaching_persistent(ApproachingPersistentRequest {
                la_code: "937".into(),
                period: autumn(),
                purpose: "early help planning".into(),
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        paged.extend(nearest(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, nearest(&approaching(&pipeline, &la, 4, "").await));

    // A horizon past the stored one is refused with the field named.
    let refused = pipeline
        .query_as(&la)
        .await
        .approaching_persistent(ApproachingPersistentRequest {
            la_code: "937".into(),
            within_sessions: 21,
            purpose: "early help planning".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("within_sessions"),
        "{}",
        refused.message()
    );

    // Audited with the purpose and the pupils returned.
    let events = AuditServiceClient::new(pipeline.channel(pipeline.query_addr, Some(&la)).await)
        .list_audit_events(ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    let listed: Vec<_> = events
        .iter()
        .filter(|e| e.rpc.ends_with("/ApproachingPersistent"))
        .collect();
    assert!(!listed.is_empty());
    assert!(
        listed
            .iter()
            .all(|e| e.purpose == "early help planning" && e.request_scope == "la 937")
    );
    assert!(listed.iter().any(|e| e.enrolment_ids.len() == 3));
    pipeline.stop().await;
}
