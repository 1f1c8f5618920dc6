//! A whole synthetic LA through the pipeline, checked to the session against figures computed
//! here, independently of the services, from the generator's final marks.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rollcall_proto::query::v1::{AtRiskPupilsRequest, LaSummaryRequest, Period, RiskLevel};
use rollcall_synth::{LaSpec, SyntheticLa};

use crate::harness::{DurableBroker, Pipeline};

/// The category of each national code, written out here so the check does not lean on the
/// domain crate it is checking.
fn category(code: &str) -> &'static str {
    match code {
        "/" | "\\" | "L" => "present",
        "K" | "V" | "P" | "W" | "B" | "J" => "aea",
        "C1" | "M" | "J1" | "S" | "C2" | "C" | "T" | "R" | "I" | "E" | "H" | "F" => "authorised",
        "G" | "N" | "O" | "U" => "unauthorised",
        _ => "not_possible",
    }
}

#[derive(Default, Debug, PartialEq)]
struct Expected {
    by_code: BTreeMap<String, u64>,
    possible: u64,
    absence: u64,
    persistent: u64,
    severe: u64,
}

/// Per school and for the LA: sessions by code, possible, absence, and enrolments at 10%+ and
/// 50%+ absence of their own possible sessions (integer comparisons, no rounding).
fn expected(la: &SyntheticLa) -> (HashMap<u32, Expected>, Expected) {
    let mut per_enrolment: HashMap<(u32, String), (u64, u64)> = HashMap::new();
    let mut schools: HashMap<u32, Expected> = HashMap::new();
    let mut total = Expected::default();
    for ((urn, upn, _date, _session), code) in la.final_marks() {
        let school = schools.entry(urn).or_default();
        for e in [&mut *school, &mut total] {
            *e.by_code.entry(code.clone()).or_default() += 1;
        }
        let enrolment = per_enrolment.entry((urn, upn)).or_default();
        match category(&code) {
            "not_possible" => {}
            c => {
                enrolment.0 += 1;
                school.possible += 1;
                total.possible += 1;
                if c == "authorised" || c == "unauthorised" {
                    enrolment.1 += 1;
                    school.absence += 1;
                    total.absence += 1;
                }
            }
        }
    }
    for ((urn, _), (possible, absence)) in per_enrolment {
        if possible == 0 {
            continue;
        }
        let school = schools.get_mut(&urn).unwrap();
        if absence * 10 >= possible {
            school.persistent += 1;
            total.persistent += 1;
        }
        if absence * 2 >= possible {
            school.severe += 1;
            total.severe += 1;
        }
    }
    (schools, total)
}

async fn submit_all(pipeline: &Pipeline, la: &SyntheticLa) -> Vec<String> {
    pipeline.import_synthetic_schools(&la.schools).await;
    submit(pipeline, &la.feeds).await
}

async fn submit(pipeline: &Pipeline, feeds: &[rollcall_synth::Feed]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut client = pipeline.feeds().await;
    for feed in feeds {
        let receipt = rollcall_client::submit_feed(&mut client, feed, "2024")
            .await
            .unwrap();
        ids.push(receipt.feed_id);
    }
    ids
}

async fn check_la(pipeline: &Pipeline, la: &SyntheticLa) {
    let (schools, total) = expected(la);
    let period = Some(Period {
        from: la.spec.first_day.to_string(),
        to: (la.spec.first_day + chrono::Duration::days(400))
            .min(chrono::Utc::now().date_naive())
            .to_string(),
    });
    let la_code = format!("{:03}", la.spec.la_code);
    let summary = pipeline
        .query()
        .await
        .la_summary(LaSummaryRequest {
            as_at: String::new(),
            la_code: la_code.clone(),
            period: period.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.schools.len(), la.schools.len());

    // From the first day of the academic year the answer comes from the year totals the
    // aggregator keeps, not from counting registers: the figures must be the same.
    let year_period = Some(Period {
        from: rollcall_domain::AcademicYear::of(la.spec.first_day)
            .first_day()
            .to_string(),
        to: period.as_ref().unwrap().to.clone(),
    });
    let year = pipeline
        .query()
        .await
        .la_summary(LaSummaryRequest {
            as_at: String::new(),
            la_code: la_code.clone(),
            period: year_period,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(year.total, summary.total);
    assert_eq!(year.schools, summary.schools);
    for row in &summary.schools {
        let school = row.school.as_ref().unwrap();
        let urn: u32 = school.urn.parse().unwrap();
        let independent = la
            .schools
            .iter()
            .find(|s| s.urn == urn)
            .unwrap()
            .independent;
        assert_eq!(school.independent, independent, "school {urn} independence");
        let m = row.measures.as_ref().unwrap();
        let want = &schools[&urn];
        let got = Expected {
            by_code: m
                .sessions_by_code
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            possible: m.possible_sessions,
            absence: m.overall_absence,
            persistent: m.persistent_absentees,
            severe: m.severe_absentees,
        };
        assert_eq!(&got, want, "school {urn}");
    }
    let m = summary.total.unwrap();
    assert_eq!(
        (m.possible_sessions, m.overall_absence),
        (total.possible, total.absence)
    );
    assert_eq!(
        (m.persistent_absentees, m.severe_absentees),
        (total.persistent, total.severe)
    );
    assert!(
        total.persistent > 0 && total.severe > 0,
        "the synthetic LA has pupils at risk"
    );

    let at_risk_period = period.clone();
    let at_risk = pipeline
        .query()
        .await
        .at_risk_pupils(AtRiskPupilsRequest {
            la_code,
            period,
            level: RiskLevel::Persistent as i32,
            purpose: "e2e: the at-risk list matches the generator".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at_risk.pupils.len() as u64, total.persistent);
    assert_eq!(
        (at_risk.persistent_count, at_risk.severe_count),
        (total.persistent, total.severe)
    );
    assert!(
        at_risk
            .pupils
            .windows(2)
            .all(|w| w[0].overall_absence_perc >= w[1].overall_absence_perc)
    );
    assert!(
        at_risk.next_page_token.is_empty(),
        "one page holds them all"
    );

    // Pages of three, token by token, give the same list in the same order, with no overlap.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = pipeline
            .query()
            .await
            .at_risk_pupils(AtRiskPupilsRequest {
                la_code: format!("{:03}", la.spec.la_code),
                period: at_risk_period.clone(),
                level: RiskLevel::Persistent as i32,
                purpose: "e2e: paging through the at-risk list".into(),
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.pupils.len() <= 3);
        paged.extend(page.pupils.into_iter().map(|p| p.upn));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let whole: Vec<String> = at_risk.pupils.iter().map(|p| p.upn.clone()).collect();
    assert_eq!(paged, whole);
}

async fn wait_all(pipeline: &Pipeline, ids: &[String]) {
    for id in ids {
        pipeline.wait_processed(id).await;
    }
}

#[tokio::test]
async fn a_synthetic_la_lands_to_the_session() {
    let pipeline = Pipeline::start().await;
    let la = SyntheticLa::generate(LaSpec::small());
    let ids = submit_all(&pipeline, &la).await;
    wait_all(&pipeline, &ids).await;
    check_la(&pipeline, &la).await;
    pipeline.stop().await;
}

#[tokio::test]
async fn workers_crashed_mid_stream_lose_nothing_and_count_nothing_twice() {
    let mut pipeline = Pipeline::start().await;
    let la = SyntheticLa::generate(LaSpec {
        schools: 6,
        independent_schools: 1,
        pupils: 600,
        days: 10,
        ..LaSpec::small()
    });
    pipeline.import_synthetic_schools(&la.schools).await;
    // Half the feeds, a crash of both workers while they work through them, the other half, a
    // second crash, then let them finish.
    let (first, second) = la.feeds.split_at(la.feeds.len() / 2);
    let mut ids = submit(&pipeline, first).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    pipeline.crash_workers().await;
    pipeline.start_workers().await;
    ids.extend(submit(&pipeline, second).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    pipeline.crash_workers().await;
    pipeline.start_workers().await;
    wait_all(&pipeline, &ids).await;
    check_la(&pipeline, &la).await;
    pipeline.stop().await;
}

#[tokio::test]
async fn acknowledged_feeds_survive_a_broker_crash() {
    let mut broker = DurableBroker::start();
    let mut pipeline = Pipeline::start_on(&broker.address()).await;
    // Workers down: every feed is acknowledged by the gateway and held only by the broker.
    pipeline.crash_workers().await;
    let la = SyntheticLa::generate(LaSpec::small());
    let ids = submit_all(&pipeline, &la).await;

    broker.restart();
    pipeline.start_workers().await;
    wait_all(&pipeline, &ids).await;
    check_la(&pipeline, &la).await;
    pipeline.stop().await;
}
