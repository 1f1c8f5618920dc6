//! Reconciliation through the `rollcall` CLI, as a vendor checks its MIS against the LA: after a
//! correction, the final register's files show no difference and the earlier ones exactly the
//! corrected pupil and day; Rollcall's answer names no pupil.

use chrono::{TimeZone, Utc};

use crate::cli::json_as;
use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

const URN: &str = "100001";

/// The two pupils' marks on Monday and Tuesday, with `ann_monday_pm` for Ann's Monday afternoon.
fn marks(ann: &str, ben: &str, ann_monday_pm: &str) -> Vec<rollcall_proto::feed::v1::MarkRecord> {
    vec![
        mark(ann, "2025-10-06", "AM", "/"),
        mark(ann, "2025-10-06", "PM", ann_monday_pm),
        mark(ann, "2025-10-07", "AM", "/"),
        mark(ben, "2025-10-06", "AM", "/"),
        mark(ben, "2025-10-06", "PM", "/"),
    ]
}

fn marks_csv(marks: &[rollcall_proto::feed::v1::MarkRecord]) -> String {
    let mut csv = "upn,date,session,code,minutes_late\n".to_owned();
    for m in marks {
        csv.push_str(&format!("{},{},{},{},\n", m.upn, m.date, m.session, m.code));
    }
    csv
}

#[tokio::test]
async fn after_a_correction_the_final_files_agree_and_the_earlier_ones_differ_on_one_day() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school(URN, "937", false)])
        .await;
    let (ann, ben) = (upn(937, 1), upn(937, 2));
    let roll = vec![pupil(&ann, "2025-09-03"), pupil(&ben, "2025-09-03")];
    let earlier = marks(&ann, &ben, "N");
    let corrected = marks(&ann, &ben, "I");
    for (key, hour, marks) in [("monday", 16, &earlier), ("tuesday", 17, &corrected)] {
        let spec = FeedSpec {
            urn: URN.into(),
            key: key.into(),
            extracted_at: Utc.with_ymd_and_hms(2025, 10, 7, hour, 0, 0).unwrap(),
            roll: roll.clone(),
            marks: marks.clone(),
        };
        let sent = spec.submit(&pipeline).await.unwrap();
        pipeline.wait_processed(&sent.feed_id).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let mut roll_csv = "upn,forename,surname,date_of_birth,admission_date\n".to_owned();
    for p in &roll {
        roll_csv.push_str(&format!("{},Ada,Testpupil,2014-03-02,2025-09-03\n", p.upn));
    }
    std::fs::write(path("roll.csv"), roll_csv).unwrap();
    std::fs::write(path("final.csv"), marks_csv(&corrected)).unwrap();
    std::fs::write(path("earlier.csv"), marks_csv(&earlier)).unwrap();
    let range = [
        "--school",
        URN,
        "--from",
        "2025-10-06",
        "--to",
        "2025-10-07",
    ];
    let vendor = pipeline.vendor_token.clone();

    let held = json_as(&pipeline, &vendor, &[&["reconcile"][..], &range].concat()).await;
    assert_eq!(held["pupil_days"], 3);
    let monday_pm = held["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["date"] == "2025-10-06" && s["session"] == "PM")
        .unwrap();
    assert_eq!(monday_pm["codes"], serde_json::json!({"/": 1, "I": 1}));
    let text = held.to_string();
    assert!(
        !text.contains(&ann) && !text.contains(&ben),
        "no upn in the answer"
    );

    let against = |marks: &str| {
        [
            &["reconcile"][..],
            &range,
            &["--against", &path("roll.csv"), &path(marks)],
        ]
        .concat()
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<String>>()
    };
    let args = against("final.csv");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let agree = json_as(&pipeline, &vendor, &args).await;
    assert_eq!(agree["differences"], serde_json::json!([]));
    let args = against("earlier.csv");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let differ = json_as(&pipeline, &vendor, &args).await;
    assert_eq!(
        differ["differences"],
        serde_json::json!([{
            "pupil": ann, "date": "2025-10-06", "kind": "differs",
            "yours": {"am": "/", "pm": "N"},
        }])
    );
    pipeline.stop().await;
}
