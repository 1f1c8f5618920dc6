//! `rollcall submit --dir`: every feed in a folder, in name order, for an independent school's
//! catch-up. Resumable: feeds the gateway already holds for the school (by idempotency key, the
//! files' hash) are skipped, so running it again after an interruption sends only the rest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rollcall_client::{Submission, csvfile, status};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use serde_json::json;

use super::Context;
use super::submit::idempotency_key;
use crate::progress;

/// One feed of the folder: `NAME.roll.csv` and `NAME.marks.csv`.
#[derive(Debug, PartialEq, Eq)]
struct FeedFiles {
    name: String,
    roll: PathBuf,
    marks: PathBuf,
}

pub async fn submit_dir(context: &Context, school: String, dir: &Path) -> anyhow::Result<()> {
    let feeds = feed_files(dir)?;
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let held: HashSet<String> = rollcall_client::list_feeds(
        &mut client,
        Some(&school),
        Some(chrono::DateTime::UNIX_EPOCH),
        None,
    )
    .await
    .map_err(status::error)?
    .into_iter()
    .map(|feed| feed.idempotency_key)
    .collect();

    let bar = progress::feeds(feeds.len() as u64, "sending");
    let mut sent = Vec::new();
    let mut skipped = Vec::new();
    for feed in &feeds {
        let roll_bytes = std::fs::read(&feed.roll)
            .with_context(|| format!("cannot read {}", feed.roll.display()))?;
        let marks_bytes = std::fs::read(&feed.marks)
            .with_context(|| format!("cannot read {}", feed.marks.display()))?;
        let key = idempotency_key(&roll_bytes, &marks_bytes);
        if held.contains(&key) {
            skipped.push(feed.name.clone());
            bar.inc(1);
            continue;
        }
        let roll = csvfile::read_roll(&feed.roll)?;
        let marks = csvfile::read_marks(&feed.marks)?;
        let receipt = rollcall_client::submit(
            &mut client,
            &Submission {
                school_urn: school.clone(),
                extracted_at: chrono::Utc::now(),
                idempotency_key: key,
                code_set: "2024",
                roll: &roll,
                marks: &marks,
            },
        )
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "{}: {}; the feeds before it were sent, run the command again to send the rest",
                feed.name,
                status::describe(&err)
            )
        })?;
        sent.push((feed.name.clone(), receipt.feed_id));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let value = json!({
        "sent": sent.iter().map(|(name, id)| json!({"feed": name, "feed_id": id})).collect::<Vec<_>>(),
        "skipped": skipped,
    });
    context.print(value, || summary(&sent, &skipped));
    Ok(())
}

/// The folder's feeds in name order; a roll file without its marks file (or the other way
/// round) is an error naming it, before anything is sent.
fn feed_files(dir: &Path) -> anyhow::Result<Vec<FeedFiles>> {
    let mut names = Vec::new();
    let mut marks_names = HashSet::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let file = entry?.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".roll.csv") {
            names.push(name.to_owned());
        } else if let Some(name) = file.strip_suffix(".marks.csv") {
            marks_names.insert(name.to_owned());
        }
    }
    names.sort();
    for name in &names {
        anyhow::ensure!(
            marks_names.remove(name),
            "{name}.roll.csv has no {name}.marks.csv beside it"
        );
    }
    if let Some(name) = marks_names.into_iter().min() {
        anyhow::bail!("{name}.marks.csv has no {name}.roll.csv beside it");
    }
    anyhow::ensure!(
        !names.is_empty(),
        "{} holds no feeds (NAME.roll.csv with NAME.marks.csv)",
        dir.display()
    );
    Ok(names
        .into_iter()
        .map(|name| FeedFiles {
            roll: dir.join(format!("{name}.roll.csv")),
            marks: dir.join(format!("{name}.marks.csv")),
            name,
        })
        .collect())
}

fn summary(sent: &[(String, String)], skipped: &[String]) -> String {
    let mut out = format!(
        "{} feeds sent, {} already held and skipped\n",
        sent.len(),
        skipped.len()
    );
    for (name, id) in sent {
        out.push_str(&format!("{name}: feed {id}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_gives_its_feeds_in_name_order_and_refuses_a_half_pair() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "2025-10-07.roll.csv",
            "2025-10-07.marks.csv",
            "2025-10-06.roll.csv",
            "2025-10-06.marks.csv",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        let feeds = feed_files(dir.path()).unwrap();
        assert_eq!(
            feeds.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["2025-10-06", "2025-10-07"]
        );
        assert_eq!(feeds[0].marks, dir.path().join("2025-10-06.marks.csv"));

        std::fs::write(dir.path().join("2025-10-08.roll.csv"), "").unwrap();
        let err = feed_files(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            "2025-10-08.roll.csv has no 2025-10-08.marks.csv beside it"
        );
        std::fs::remove_file(dir.path().join("2025-10-08.roll.csv")).unwrap();
        std::fs::write(dir.path().join("2025-10-09.marks.csv"), "").unwrap();
        let err = feed_files(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            "2025-10-09.marks.csv has no 2025-10-09.roll.csv beside it"
        );

        let empty = tempfile::tempdir().unwrap();
        assert!(feed_files(empty.path()).is_err());
    }
}
