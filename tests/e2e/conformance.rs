//! The conformance pack (`docs/conformance/`) against a real gateway, as an integrator runs it:
//! every case passes, and, being dry runs, nothing of it is stored or enqueued.

use crate::cli::{json_as, rollcall_as};
use crate::harness::{Pipeline, school};

#[tokio::test]
async fn the_conformance_pack_passes_against_the_gateway_and_stores_nothing() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![school("100001", "937", false)])
        .await;
    pipeline
        .register_for_test_vendor(&["100001".to_owned()])
        .await;
    let pool = rollcall_db::connect(&pipeline.settings.database.url, 2)
        .await
        .unwrap();
    let before = rollcall_db::canonical::dump(&pool).await.unwrap();
    let run = json_as(
        &pipeline,
        &pipeline.vendor_token,
        &["conformance", "--school", "100001"],
    )
    .await;
    let cases = run["cases"].as_array().unwrap();
    assert!(cases.len() >= 9);
    let failed: Vec<&serde_json::Value> = cases.iter().filter(|c| c["pass"] != true).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(run["passed"].as_u64().unwrap() as usize, cases.len());
    assert_eq!(rollcall_db::canonical::dump(&pool).await.unwrap(), before);
    assert_eq!(
        rollcall_kafka::message_count(
            &pipeline.settings.kafka,
            &pipeline.settings.kafka.topics.feeds
        )
        .await
        .unwrap(),
        0,
        "nothing enqueued"
    );
    // A school the vendor is not registered for: every case fails, and the command says so.
    let (ok, stdout, _) = rollcall_as(
        &pipeline,
        &pipeline.vendor_token,
        &["conformance", "--school", "100002"],
    )
    .await;
    assert!(!ok, "a failed run exits non-zero");
    assert!(stdout.contains("0 of"), "{stdout}");
    pipeline.stop().await;
}
