//! Receipts pushed to senders (`WatchReceipts`): every receipt of the feeds a caller may see, as
//! the pipeline answers them; a stream resumed from the last position received misses none and
//! repeats none; a school's stream carries only its own feeds.

use std::collections::BTreeSet;
use std::time::Duration;

use rollcall_proto::feed::v1::{WatchReceiptsRequest, WatchedReceipt};
use tonic::Streaming;

use crate::harness::Pipeline;
use crate::operations::feed;

const A: &str = "100001";
const B: &str = "100002";

/// The next receipt of `stream`, or none within `wait`.
async fn next(stream: &mut Streaming<WatchedReceipt>, wait: Duration) -> Option<WatchedReceipt> {
    match tokio::time::timeout(wait, stream.message()).await {
        Ok(received) => received.expect("the stream stays up"),
        Err(_) => None,
    }
}

async fn watch(pipeline: &Pipeline, token: &str, resume_from: &str) -> Streaming<WatchedReceipt> {
    pipeline
        .gateway_as(token)
        .await
        .watch_receipts(WatchReceiptsRequest {
            resume_from: resume_from.to_owned(),
            since: None,
        })
        .await
        .unwrap()
        .into_inner()
}

fn feed_of(watched: &WatchedReceipt) -> String {
    watched.receipt.as_ref().unwrap().feed_id.clone()
}

#[tokio::test]
async fn receipts_arrive_as_answered_and_a_resumed_stream_misses_none_and_repeats_none() {
    let pipeline = Pipeline::start().await;
    pipeline
        .import_schools(vec![
            crate::harness::school(A, "937", false),
            crate::harness::school(B, "937", false),
        ])
        .await;
    let school_b = pipeline.key("school", B).await;
    let mut vendor = watch(&pipeline, &pipeline.vendor_token.clone(), "").await;
    let mut only_b = watch(&pipeline, &school_b, "").await;

    let mut sent = Vec::new();
    for (urn, key) in [(A, "a1"), (A, "a2"), (B, "b1"), (A, "a3")] {
        let receipt = feed(urn, key, &[(1, "Smith")], &["/"])
            .submit(&pipeline)
            .await
            .unwrap();
        sent.push(receipt.feed_id);
    }
    let long = Duration::from_secs(60);
    let mut first = Vec::new();
    while first.len() < 4 {
        let watched = next(&mut vendor, long).await.expect("a receipt");
        let receipt = watched.receipt.as_ref().unwrap();
        assert!(receipt.outcome.is_some(), "pushed once processed");
        first.push(watched);
    }
    let ids: BTreeSet<String> = first.iter().map(feed_of).collect();
    assert_eq!(ids, sent.iter().cloned().collect::<BTreeSet<_>>());
    // A school's stream: its own feed alone.
    let b = next(&mut only_b, long).await.expect("the school's receipt");
    assert_eq!(feed_of(&b), sent[2]);
    assert!(next(&mut only_b, Duration::from_secs(3)).await.is_none());

    // The vendor's connection drops after the second receipt it read; one more feed meanwhile.
    drop(vendor);
    let later = feed(A, "a4", &[(1, "Smith")], &["/"])
        .submit(&pipeline)
        .await
        .unwrap();
    pipeline.wait_processed(&later.feed_id).await;
    let mut resumed = watch(
        &pipeline,
        &pipeline.vendor_token.clone(),
        &first[1].position,
    )
    .await;
    let mut rest = Vec::new();
    while rest.len() < 3 {
        rest.push(feed_of(&next(&mut resumed, long).await.expect("a receipt")));
    }
    let expected: Vec<String> = first[2..]
        .iter()
        .map(feed_of)
        .chain([later.feed_id.clone()])
        .collect();
    assert_eq!(rest, expected, "after the position, in order, none missed");
    assert!(
        next(&mut resumed, Duration::from_secs(3)).await.is_none(),
        "none repeated"
    );
    pipeline.stop().await;
}
