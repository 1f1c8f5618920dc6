//! The pupil behind the numbers, end to end: every correction kept and read back as at each
//! moment, a pupil found and followed across schools (dual registered, moved mid-year,
//! independent schools alike), and nothing of a pupil the caller may not see.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rollcall_proto::query::v1::{
    FindPupilsRequest, LaSummaryRequest, ListAuditEventsRequest, Period, PupilTimelineRequest,
    PupilTimelineResponse, SchoolSummaryRequest, audit_service_client::AuditServiceClient,
};
use tonic::Code;

use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

const A: &str = "100001";
const B: &str = "100002";
/// An independent school of the same LA.
const INDEPENDENT: &str = "100003";
const OTHER_LA_SCHOOL: &str = "200001";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, day, hour, 0, 0).unwrap()
}

fn autumn() -> Option<Period> {
    Some(Period {
        from: "2025-09-01".into(),
        to: "2025-12-19".into(),
    })
}

async fn send(pipeline: &Pipeline, feed: FeedSpec) {
    let receipt = feed.submit(pipeline).await.unwrap();
    pipeline.wait_processed(&receipt.feed_id).await;
}

fn feed(
    urn: &str,
    key: &str,
    extracted_at: DateTime<Utc>,
    roll: Vec<rollcall_proto::feed::v1::RollRecord>,
    marks: Vec<rollcall_proto::feed::v1::MarkRecord>,
) -> FeedSpec {
    FeedSpec {
        urn: urn.into(),
        key: key.into(),
        extracted_at,
        roll,
        marks,
    }
}

async fn school_codes(
    pipeline: &Pipeline,
    urn: &str,
    as_at: Option<DateTime<Utc>>,
) -> std::collections::HashMap<String, u64> {
    pipeline
        .query()
        .await
        .school_summary(SchoolSummaryRequest {
            school_urn: urn.into(),
            period: autumn(),
            as_at: as_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        })
        .await
        .unwrap()
        .into_inner()
        .measures
        .unwrap()
        .sessions_by_code
}

async fn timeline(
    pipeline: &Pipeline,
    token: &str,
    upn: &str,
    as_at: &str,
) -> Result<PupilTimelineResponse, tonic::Status> {
    pipeline
        .query_as(token)
        .await
        .pupil_timeline(PupilTimelineRequest {
            upn: upn.into(),
            purpose: "attendance meeting with the family".into(),
            period: autumn(),
            as_at: as_at.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_session_corrected_three_times_reads_each_code_as_at_each_moment() {
    let pipeline = Pipeline::start().await;
    pipeline.import_schools(vec![school(A, "937", false)]).await;
    let child = upn(937, 1);
    // Monday morning: N (no reason yet), then I (illness), then M (medical), then I again; the
    // afternoon is sent each time unchanged, which is no correction.
    let versions = [(6, "N"), (7, "I"), (8, "M"), (9, "I")];
    for (n, (day, code)) in versions.iter().enumerate() {
        let mut roll = pupil(&child, "2025-09-03");
        if n >= 2 {
            roll.year_group = "7".into();
        }
        send(
            &pipeline,
            feed(
                A,
                &format!("v{n}"),
                at(*day, 16),
                vec![roll],
                vec![
                    mark(&child, "2025-10-06", "AM", code),
                    mark(&child, "2025-10-06", "PM", "/"),
                ],
            ),
        )
        .await;
    }
    for (day, code) in versions {
        let codes = school_codes(&pipeline, A, Some(at(day, 18))).await;
        assert_eq!(codes.get(code), Some(&1), "as at 2025-10-{day}: {codes:?}");
        assert_eq!(codes.get("/"), Some(&1));
        assert_eq!(codes.values().sum::<u64>(), 2, "as at 2025-10-{day}");
    }
    // Before the first feed the LA knew nothing.
    assert!(school_codes(&pipeline, A, Some(at(5, 12))).await.is_empty());
    // Today's answer is the last code.
    let today = school_codes(&pipeline, A, None).await;
    assert_eq!((today.get("I"), today.get("/")), (Some(&1), Some(&1)));

    let t = timeline(&pipeline, &pipeline_la_token(&pipeline).await, &child, "")
        .await
        .unwrap();
    let changes: Vec<(&str, &str, &str)> = t
        .corrections
        .iter()
        .map(|c| (c.before.as_str(), c.after.as_str(), c.recorded_at.as_str()))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("N", "I", "2025-10-07T16:00:00Z"),
            ("I", "M", "2025-10-08T16:00:00Z"),
            ("M", "I", "2025-10-09T16:00:00Z"),
        ]
    );
    assert!(
        t.corrections
            .iter()
            .all(|c| c.date == "2025-10-06" && c.session == "AM")
    );
    // The year group changed once, recorded by the third feed.
    let attribute: Vec<(&str, &str, &str)> = t
        .attribute_changes
        .iter()
        .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(attribute, vec![("year_group", "6", "7")]);
    // As at the second feed: one correction, the code I, the year group 6.
    let then = timeline(
        &pipeline,
        &pipeline_la_token(&pipeline).await,
        &child,
        "2025-10-07T18:00:00Z",
    )
    .await
    .unwrap();
    assert_eq!(then.corrections.len(), 1);
    assert_eq!(then.weeks[0].sessions[0].code, "I");
    assert_eq!(
        then.enrolments[0].enrolment.as_ref().unwrap().year_group,
        "6"
    );
    assert!(then.attribute_changes.is_empty());
    pipeline.stop().await;
}

/// The harness's LA user (LA 937).
async fn pipeline_la_token(pipeline: &Pipeline) -> String {
    pipeline.key("la", "937").await
}

#[tokio::test]
async fn year_totals_as_at_now_equal_todays() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(A, "937", false), school(B, "937", false)])
        .await;
    let (one, two) = (upn(937, 1), upn(937, 2));
    send(
        &pipeline,
        feed(
            A,
            "a1",
            at(6, 16),
            vec![pupil(&one, "2025-09-03"), pupil(&two, "2025-09-03")],
            vec![
                mark(&one, "2025-10-06", "AM", "N"),
                mark(&two, "2025-10-06", "AM", "/"),
            ],
        ),
    )
    .await;
    send(
        &pipeline,
        feed(
            A,
            "a2",
            at(7, 16),
            vec![pupil(&one, "2025-09-03"), pupil(&two, "2025-09-03")],
            vec![
                mark(&one, "2025-10-06", "AM", "I"),
                mark(&one, "2025-10-07", "AM", "/"),
                mark(&two, "2025-10-07", "AM", "O"),
            ],
        ),
    )
    .await;
    let la = |as_at: String| {
        let pipeline = &pipeline;
        async move {
            pipeline
                .query()
                .await
                .la_summary(LaSummaryRequest {
                    la_code: "937".into(),
                    period: Some(Period {
                        from: "2025-09-01".into(),
                        to: String::new(),
                    }),
                    as_at,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let today = la(String::new()).await;
    let now = la((Utc::now() + Duration::seconds(1)).to_rfc3339()).await;
    assert_eq!(today.total, now.total);
    assert_eq!(today.schools, now.schools);
    assert_eq!(
        today.total.as_ref().unwrap().sessions_by_code.get("I"),
        Some(&1)
    );
    // As at the first feed: the N not yet corrected, the second day not yet sent.
    let first = la(at(6, 18).to_rfc3339()).await;
    let codes = &first.total.as_ref().unwrap().sessions_by_code;
    assert_eq!(
        (codes.get("N"), codes.get("/"), codes.get("I")),
        (Some(&1), Some(&1), None)
    );
    pipeline.stop().await;
}

#[tokio::test]
async fn a_pupil_is_followed_across_schools_and_hidden_from_those_who_may_not_see_them() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![
            school(A, "937", false),
            school(B, "937", false),
            school(INDEPENDENT, "937", true),
            school(OTHER_LA_SCHOOL, "330", false),
        ])
        .await;
    // Dual registered: at A all week, with D marks at B where A is the main school... and a
    // pupil who moved from B to the independent school mid-week.
    let (dual, mover) = (upn(937, 1), upn(937, 2));
    let days = [
        "2025-10-06",
        "2025-10-07",
        "2025-10-08",
        "2025-10-09",
        "2025-10-10",
    ];
    let mut a_marks = Vec::new();
    let mut b_marks = Vec::new();
    let mut independent_marks = Vec::new();
    for (n, day) in days.iter().enumerate() {
        for session in ["AM", "PM"] {
            a_marks.push(mark(&dual, day, session, if n == 1 { "I" } else { "/" }));
            b_marks.push(mark(&dual, day, session, "D"));
            if n < 2 {
                b_marks.push(mark(&mover, day, session, "N"));
            } else {
                independent_marks.push(mark(&mover, day, session, "/"));
            }
        }
    }
    let mut left = pupil(&mover, "2025-09-03");
    left.leaving_date = "2025-10-07".into();
    left.forename = "Ben".into();
    left.surname = "Mover".into();
    left.date_of_birth = "2015-01-20".into();
    let mut joined = left.clone();
    joined.leaving_date = String::new();
    joined.admission_date = "2025-10-08".into();
    send(
        &pipeline,
        feed(
            A,
            "a",
            at(10, 16),
            vec![pupil(&dual, "2025-09-03")],
            a_marks,
        ),
    )
    .await;
    send(
        &pipeline,
        feed(
            B,
            "b",
            at(10, 16),
            vec![pupil(&dual, "2025-09-03"), left],
            b_marks,
        ),
    )
    .await;
    send(
        &pipeline,
        feed(
            INDEPENDENT,
            "i",
            at(10, 16),
            vec![joined],
            independent_marks,
        ),
    )
    .await;

    let la = pipeline_la_token(&pipeline).await;
    let t = timeline(&pipeline, &la, &dual, "").await.unwrap();
    let schools: Vec<(&str, bool, u64, u64)> = t
        .enrolments
        .iter()
        .map(|e| {
            let m = e.measures.as_ref().unwrap();
            (
                e.enrolment
                    .as_ref()
                    .unwrap()
                    .school
                    .as_ref()
                    .unwrap()
                    .urn
                    .as_str(),
                e.dual_registered,
                m.possible_sessions,
                m.overall_absence,
            )
        })
        .collect();
    let mut schools = schools;
    schools.sort();
    // At A: 10 possible, 2 absent (the Tuesday's illness); at B: D marks are not possible.
    assert_eq!(schools, vec![(A, false, 10, 2), (B, true, 0, 0)]);
    assert_eq!(t.overall.as_ref().unwrap().possible_sessions, 10);
    assert_eq!(t.weeks.len(), 1);
    assert_eq!(t.weeks[0].sessions.len(), 20);
    assert_eq!(t.spells.len(), 1);
    assert_eq!(
        (t.spells[0].sessions, t.spells[0].first_date.as_str()),
        (2, "2025-10-07")
    );

    // The mover: found by names and by surname and date of birth, at both schools, the
    // independent one included; a four-session spell of N at B.
    for request in [
        FindPupilsRequest {
            forename: "ben".into(),
            surname: "MOVER".into(),
            ..Default::default()
        },
        FindPupilsRequest {
            surname: "Mover".into(),
            date_of_birth: "2015-01-20".into(),
            ..Default::default()
        },
        FindPupilsRequest {
            upn: mover.clone(),
            ..Default::default()
        },
    ] {
        let found = pipeline
            .query_as(&la)
            .await
            .find_pupils(FindPupilsRequest {
                purpose: "a child missing from school".into(),
                ..request
            })
            .await
            .unwrap()
            .into_inner()
            .pupils;
        assert_eq!(found.len(), 1);
        let urns: Vec<&str> = found[0]
            .enrolments
            .iter()
            .map(|e| e.school.as_ref().unwrap().urn.as_str())
            .collect();
        assert_eq!(urns, vec![B, INDEPENDENT]);
        assert!(found[0].enrolments[1].school.as_ref().unwrap().independent);
    }
    let m = timeline(&pipeline, &la, &mover, "").await.unwrap();
    let per: Vec<(u64, u64)> = m
        .enrolments
        .iter()
        .map(|e| {
            let m = e.measures.as_ref().unwrap();
            (m.possible_sessions, m.overall_absence)
        })
        .collect();
    assert_eq!(per, vec![(4, 4), (6, 0)]);
    assert_eq!(
        m.enrolments[0].enrolment.as_ref().unwrap().leaving_date,
        "2025-10-07"
    );
    assert_eq!(m.overall.as_ref().unwrap().persistent_absentees, 1);
    assert!(!m.spells[0].current || m.spells[0].school_urn == B);

    // A partial UPN is refused, not searched.
    let partial = pipeline
        .query_as(&la)
        .await
        .find_pupils(FindPupilsRequest {
            upn: mover[..8].into(),
            purpose: "a child missing from school".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(partial.code(), Code::InvalidArgument);

    // School A's user finds its own pupil's enrolment at A only, and nothing of the mover.
    let school_a = pipeline.key("school", A).await;
    let own = pipeline
        .query_as(&school_a)
        .await
        .find_pupils(FindPupilsRequest {
            upn: dual.clone(),
            purpose: "register check".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pupils;
    assert_eq!(own[0].enrolments.len(), 1);
    let hidden = pipeline
        .query_as(&school_a)
        .await
        .find_pupils(FindPupilsRequest {
            upn: mover.clone(),
            purpose: "register check".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pupils;
    assert!(hidden.is_empty());
    let refused = timeline(&pipeline, &school_a, &mover, "")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    assert_eq!(refused.message(), "no pupil with this upn you may see");
    // Another LA sees none of this LA's pupils.
    let other_la = pipeline.key("la", "330").await;
    assert_eq!(
        timeline(&pipeline, &other_la, &dual, "")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // Every find and timeline is in the audit trail with its purpose.
    let events = AuditServiceClient::new(pipeline.channel(pipeline.query_addr, Some(&la)).await)
        .list_audit_events(ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    let finds = events
        .iter()
        .filter(|e| e.rpc.ends_with("/FindPupils") && e.purpose == "a child missing from school")
        .count();
    let timelines = events
        .iter()
        .filter(|e| {
            e.rpc.ends_with("/PupilTimeline") && e.purpose == "attendance meeting with the family"
        })
        .count();
    assert_eq!((finds, timelines), (3, 2));
    assert!(events.iter().all(|e| !e.request_scope.contains(&mover)));
    pipeline.stop().await;
}

#[tokio::test]
async fn a_pupils_household_shows_their_siblings_in_schools_the_caller_may_see() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![
            school(A, "937", false),
            school(INDEPENDENT, "937", true),
        ])
        .await;
    let (elder, younger, alone) = (upn(937, 31), upn(937, 32), upn(937, 33));
    let key = "mis-household-4f2a91";
    let with_key = |upn: &str| {
        let mut p = pupil(upn, "2025-09-03");
        p.household_key = key.into();
        p
    };
    // The elder sister at A, the younger at the independent school; a third pupil with no key.
    send(
        &pipeline,
        feed(
            A,
            "a",
            at(6, 16),
            vec![with_key(&elder), pupil(&alone, "2025-09-03")],
            vec![
                mark(&elder, "2025-10-06", "AM", "/"),
                mark(&elder, "2025-10-06", "PM", "/"),
                mark(&alone, "2025-10-06", "AM", "/"),
                mark(&alone, "2025-10-06", "PM", "/"),
            ],
        ),
    )
    .await;
    send(
        &pipeline,
        feed(
            INDEPENDENT,
            "i",
            at(6, 16),
            vec![with_key(&younger)],
            vec![
                mark(&younger, "2025-10-06", "AM", "N"),
                mark(&younger, "2025-10-06", "PM", "/"),
            ],
        ),
    )
    .await;
    let la = pipeline_la_token(&pipeline).await;

    let t = timeline(&pipeline, &la, &elder, "").await.unwrap();
    let household = t.household.unwrap();
    assert!(household.has_key);
    assert_eq!(household.members.len(), 1);
    let sister = &household.members[0];
    assert_eq!(sister.upn, younger);
    assert_eq!(
        sister.enrolments[0].school.as_ref().unwrap().urn,
        INDEPENDENT
    );
    let measures = sister.overall.as_ref().unwrap();
    assert_eq!(
        (measures.possible_sessions, measures.overall_absence),
        (2, 1)
    );

    // No key: the answer says so, with nobody in it.
    let none = timeline(&pipeline, &la, &alone, "")
        .await
        .unwrap()
        .household
        .unwrap();
    assert!(!none.has_key && none.members.is_empty());

    // School A's user sees that a household exists but not the sister at another school.
    let school_a = pipeline.key("school", A).await;
    let own = timeline(&pipeline, &school_a, &elder, "")
        .await
        .unwrap()
        .household
        .unwrap();
    assert!(own.has_key && own.members.is_empty());

    // The sister's enrolment is in the audit event of the LA's timeline.
    let events = AuditServiceClient::new(pipeline.channel(pipeline.query_addr, Some(&la)).await)
        .list_audit_events(ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    let first = events
        .iter()
        .filter(|e| e.rpc.ends_with("/PupilTimeline"))
        .min_by_key(|e| e.id)
        .unwrap();
    assert_eq!(first.enrolment_ids.len(), 2);
    pipeline.stop().await;
}
