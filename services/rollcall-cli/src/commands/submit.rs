//! `rollcall submit` (one school's CSV files to the gateway), `rollcall receipt` and
//! `rollcall feeds list`.

use std::time::Duration;

use anyhow::Context as _;
use rollcall_client::{Submission, csvfile, status};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use sha2::{Digest, Sha256};

use super::{Context, bulk};
use crate::args::SubmitArgs;
use crate::{progress, render};

pub async fn submit(context: &Context, args: SubmitArgs) -> anyhow::Result<()> {
    let SubmitArgs {
        school,
        roll,
        marks,
        key,
        extracted_at,
        dry_run,
        dir,
    } = args;
    let (roll, marks) = match (dir, roll, marks) {
        (Some(dir), _, _) => return bulk::submit_dir(context, school, &dir).await,
        (None, Some(roll), Some(marks)) => (roll, marks),
        _ => anyhow::bail!("give --roll and --marks, or --dir"),
    };
    let roll_bytes =
        std::fs::read(&roll).with_context(|| format!("cannot read {}", roll.display()))?;
    let marks_bytes =
        std::fs::read(&marks).with_context(|| format!("cannot read {}", marks.display()))?;
    let roll_records = csvfile::read_roll(&roll)?;
    let mark_records = csvfile::read_marks(&marks)?;
    let key = key.unwrap_or_else(|| idempotency_key(&roll_bytes, &marks_bytes));
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let sending = progress::spinner(format!(
        "{} {} roll records and {} marks for school {school}",
        if dry_run { "checking" } else { "sending" },
        roll_records.len(),
        mark_records.len()
    ));
    let feed = Submission {
        school_urn: school,
        extracted_at: extracted_at.unwrap_or_else(chrono::Utc::now),
        idempotency_key: key,
        code_set: "2024",
        roll: &roll_records,
        marks: &mark_records,
    };
    if dry_run {
        let outcome = rollcall_client::validate(&mut client, &feed).await;
        sending.finish_and_clear();
        let outcome = outcome.map_err(status::error)?;
        context.print(render::dry_run_json(&outcome), || {
            render::dry_run_text(&outcome)
        });
        return Ok(());
    }
    let receipt = rollcall_client::submit(&mut client, &feed).await;
    sending.finish_and_clear();
    let receipt = receipt.map_err(status::error)?;
    context.print(render::receipt_json(&receipt), || {
        render::receipt_text(&receipt)
    });
    Ok(())
}

pub async fn list(
    context: &Context,
    school: Option<String>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let feeds = rollcall_client::list_feeds(&mut client, school.as_deref(), since, until)
        .await
        .map_err(status::error)?;
    context.print(render::feeds_json(&feeds), || render::feeds_text(&feeds));
    Ok(())
}

/// `rollcall feeds watch`: each receipt as it is pushed, one line (or one JSON object) each.
pub async fn watch(
    context: &Context,
    resume_from: Option<String>,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let mut stream = client
        .watch_receipts(rollcall_proto::feed::v1::WatchReceiptsRequest {
            resume_from: resume_from.unwrap_or_default(),
            since: since.map(|t| prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: t.timestamp_subsec_nanos() as i32,
            }),
        })
        .await
        .map_err(status::error)?
        .into_inner();
    while let Some(watched) = stream.message().await.map_err(status::error)? {
        if context.json {
            println!("{}", render::watched_json(&watched));
        } else {
            print!("{}", render::watched_text(&watched));
        }
    }
    Ok(())
}

/// `rollcall feeds findings`: every finding of a feed, page after page.
pub async fn findings(context: &Context, feed_id: &str, code: Option<&str>) -> anyhow::Result<()> {
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let findings = rollcall_client::feed_findings(&mut client, feed_id, code)
        .await
        .map_err(status::error)?;
    context.print(render::findings_json(feed_id, &findings), || {
        render::findings_list_text(feed_id, &findings)
    });
    Ok(())
}

/// The key a pair of files is sent under by default: the same files again are the same feed.
pub fn idempotency_key(roll: &[u8], marks: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(roll)
        .chain_update(marks)
        .finalize();
    format!("csv-{}", &hex::encode(digest)[..32])
}

pub async fn receipt(context: &Context, feed_id: String, wait: Option<u64>) -> anyhow::Result<()> {
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let receipt = match wait {
        Some(seconds) => rollcall_client::wait_processed_with(
            &mut client,
            std::slice::from_ref(&feed_id),
            Duration::from_secs(seconds),
            &progress::Bar::receipts(),
        )
        .await?
        .remove(0),
        None => rollcall_client::receipt(&mut client, &feed_id)
            .await
            .map_err(status::error)?,
    };
    context.print(render::receipt_json(&receipt), || {
        render::receipt_text(&receipt)
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_key_is_a_hash_of_both_files() {
        let key = idempotency_key(b"upn\n", b"upn,date\n");
        assert_eq!(key.len(), "csv-".len() + 32);
        assert!(key.starts_with("csv-"), "{key}");
        assert_eq!(key, idempotency_key(b"upn\n", b"upn,date\n"));
        assert_ne!(key, idempotency_key(b"upn\n", b"upn,date,session\n"));
        let digest = Sha256::digest(b"upn\nupn,date\n");
        assert_eq!(&key[4..], &hex::encode(digest)[..32]);
    }
}
