//! The gateway at its limit: a stream that cannot have a place in time is shed with
//! `RESOURCE_EXHAUSTED` / `OVERLOADED` and a pause to wait, before any of it is stored, and the
//! same feeds sent again after the pause are all taken and processed (docs/resilience.md).

use std::sync::Arc;
use std::time::Duration;

use rollcall_client::Backoff;
use rollcall_proto::feed::v1::FeedStatus;
use rollcall_synth::{LaSpec, SyntheticLa};
use tonic::Code;

use crate::harness::Pipeline;

#[tokio::test]
async fn past_its_places_the_gateway_sheds_with_a_pause_and_the_retries_all_land() {
    let pipeline = Pipeline::start_with(Pipeline::shared_broker(), |s| {
        s.gateway.max_concurrent_feeds = 1;
        s.gateway.admission_wait_ms = 1;
        s.gateway.shed_pushback_ms = 50;
    })
    .await;
    let la = SyntheticLa::generate(LaSpec::small());
    pipeline.import_synthetic_schools(&la.schools).await;
    let feeds = Arc::new(la.feeds.clone());

    // Every feed at once, each on its own connection, no retry: one place, so most are shed.
    let barrier = Arc::new(tokio::sync::Barrier::new(feeds.len()));
    let mut tasks = Vec::new();
    for i in 0..feeds.len() {
        let (feeds, barrier) = (feeds.clone(), barrier.clone());
        let mut client = pipeline.feeds().await;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            rollcall_client::submit_feed(&mut client, &feeds[i], "2024").await
        }));
    }
    let mut shed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(receipt) => assert!(!receipt.duplicate),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert_eq!(
                    status.metadata().get("rollcall-error-code").unwrap(),
                    "OVERLOADED"
                );
                let pause = rollcall_client::retry::pushback(&status).expect("a pause to wait");
                assert!(
                    (Duration::from_millis(50)..Duration::from_millis(100)).contains(&pause),
                    "{pause:?}"
                );
                assert!(rollcall_client::retry::is_retryable(&status));
                shed += 1;
            }
        }
    }
    assert!(
        shed > 0,
        "{} feeds at once through one place, none shed",
        feeds.len()
    );

    // The same feeds again, one stream each, retrying after the pause: every one is taken.
    let mut tasks = Vec::new();
    for i in 0..feeds.len() {
        let feeds = feeds.clone();
        let mut client = pipeline.feeds().await;
        tasks.push(tokio::spawn(async move {
            let backoff = Backoff {
                first: Duration::from_millis(20),
                longest: Duration::from_millis(200),
                give_up_after: Duration::from_secs(60),
            };
            rollcall_client::submit_retrying(
                &mut client,
                &rollcall_client::submission(&feeds[i], "2024"),
                &backoff,
            )
            .await
            .map(|accepted| accepted.receipt.feed_id)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().expect("taken after retries"));
    }
    for id in &ids {
        let receipt = pipeline.wait_processed(id).await;
        assert_eq!(receipt.status(), FeedStatus::Processed);
    }
    pipeline.stop().await;
}
