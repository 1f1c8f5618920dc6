//! A vendor's integration in one file: send one school's feed to the gateway, retry what may be
//! retried with the same idempotency key, then wait for the receipt and act on its findings.
//!
//! ```sh
//! ROLLCALL_GATEWAY=https://gateway.example:50051 ROLLCALL_CA_CERT=ca.pem \
//! ROLLCALL_TOKEN=rc_... cargo run -p rollcall-client --example submit_feed -- \
//!     100001 roll.csv marks.csv
//! ```
//!
//! The files are the CSV layout of docs/csv-formats.md; a vendor's own code would build the
//! records from its MIS instead. docs/integration.md explains each step.

use std::path::Path;
use std::time::Duration;

use rollcall_client::{
    Backoff, Credentials, Submission, connect, csvfile, describe, receipt, submit_retrying,
};
use rollcall_proto::feed::v1::FeedStatus;
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [urn, roll, marks] = args.as_slice() else {
        return Err("usage: submit_feed URN ROLL.csv MARKS.csv".into());
    };
    let gateway =
        std::env::var("ROLLCALL_GATEWAY").unwrap_or_else(|_| "http://127.0.0.1:50051".into());
    let credentials = Credentials {
        token: std::env::var("ROLLCALL_TOKEN").ok(),
        ca_cert: std::env::var_os("ROLLCALL_CA_CERT").map(Into::into),
        ..Credentials::default()
    };
    let mut client = FeedServiceClient::new(connect(&gateway, &credentials).await?);

    let roll = csvfile::read_roll(Path::new(roll))?;
    let marks = csvfile::read_marks(Path::new(marks))?;
    // One key per extract, kept with it: sending the same extract again (after a time-out, a
    // crash, an UNAVAILABLE) under the same key returns the first receipt and stores nothing
    // twice. A new extract gets a new key.
    let extracted_at = chrono::Utc::now();
    let feed = Submission {
        school_urn: urn.clone(),
        extracted_at,
        idempotency_key: format!("{urn}-{}", extracted_at.format("%Y%m%dT%H%M%S%.3fZ")),
        code_set: "2024",
        roll: &roll,
        marks: &marks,
    };

    // Transient failures (the gateway, its database or the broker briefly unavailable, load
    // shed, a broken connection) are retried: the same stream, same key, after a pause that
    // doubles, or the pause the gateway asked for. Every other answer is about the feed or the
    // credential: fix, do not retry.
    let first = submit_retrying(&mut client, &feed, &Backoff::default())
        .await
        .map_err(|status| describe(&status))?
        .receipt;
    println!(
        "feed {} enqueued (duplicate: {})",
        first.feed_id, first.duplicate
    );

    // The receipt says processed (or parked) once the pipeline is done with the feed.
    let done = loop {
        let now = receipt(&mut client, &first.feed_id).await?;
        if now.status() != FeedStatus::Enqueued {
            break now;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    if let Some(parking) = &done.parking {
        println!("parked: {} ({})", parking.reason, parking.field);
    }
    if let Some(outcome) = &done.outcome {
        println!(
            "marks accepted {}, rejected {}; pupils accepted {}, rejected {}",
            outcome.marks_accepted,
            outcome.marks_rejected,
            outcome.roll_accepted,
            outcome.roll_rejected
        );
        for finding in &outcome.findings {
            println!(
                "{} {} {} {} {}: {}",
                finding.severity,
                finding.code,
                finding.record_kind,
                finding.record_index,
                finding.field,
                finding.message
            );
        }
    }
    Ok(())
}
