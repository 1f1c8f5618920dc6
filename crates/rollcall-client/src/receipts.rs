//! A feed's receipt, and waiting until the pipeline is done with many feeds.

use std::time::{Duration, Instant};

use rollcall_proto::feed::v1::{
    FeedReceipt, FeedStatus, Finding, GetFeedReceiptRequest, ListFeedFindingsRequest,
    ListFeedsRequest, feed_service_client::FeedServiceClient,
};

use crate::progress::{Progress, Silent};
use crate::{AuthChannel, Error, Result, status};

/// The feed's receipt as it stands now.
pub async fn receipt(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_id: &str,
) -> Result<FeedReceipt, tonic::Status> {
    client
        .get_feed_receipt(GetFeedReceiptRequest {
            feed_id: feed_id.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every feed `ListFeeds` gives for `school` (`None`: every school the caller may see) received
/// from `since` to `until`, newest first, reading page after page.
pub async fn list_feeds(
    client: &mut FeedServiceClient<AuthChannel>,
    school: Option<&str>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<FeedReceipt>, tonic::Status> {
    let time = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    };
    let mut feeds = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_feeds(ListFeedsRequest {
                school_urn: school.unwrap_or_default().to_owned(),
                since: since.map(time),
                until: until.map(time),
                page_size: 0,
                page_token,
            })
            .await?
            .into_inner();
        feeds.extend(page.feeds);
        if page.next_page_token.is_empty() {
            return Ok(feeds);
        }
        page_token = page.next_page_token;
    }
}

/// Every finding of feed `feed_id` (only those of `code` when given), in the catalogue's order,
/// reading page after page: however many the receipt had room for.
pub async fn feed_findings(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_id: &str,
    code: Option<&str>,
) -> Result<Vec<Finding>, tonic::Status> {
    let mut findings = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_feed_findings(ListFeedFindingsRequest {
                feed_id: feed_id.to_owned(),
                code: code.unwrap_or_default().to_owned(),
                // The largest page the gateway gives: fewest calls.
                page_size: 5000,
                page_token,
            })
            .await?
            .into_inner();
        findings.extend(page.findings);
        if page.next_page_token.is_empty() {
            return Ok(findings);
        }
        page_token = page.next_page_token;
    }
}

/// Polls until the pipeline is done with every feed (processed, or parked because the database
/// refused it) and returns their receipts in the same order. Feeds are checked in order, one at
/// a time, so a long wait costs one call per poll rather than one per feed; on time-out the
/// error says how many are still waiting and names the first.
pub async fn wait_processed(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_ids: &[String],
    timeout: Duration,
) -> Result<Vec<FeedReceipt>> {
    wait_processed_with(client, feed_ids, timeout, &Silent).await
}

/// [`wait_processed`], telling `progress` how many feeds are done.
pub async fn wait_processed_with(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_ids: &[String],
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<Vec<FeedReceipt>> {
    progress.start(feed_ids.len() as u64);
    let waited = wait(client, feed_ids, timeout, progress).await;
    progress.finish();
    waited
}

async fn wait(
    client: &mut FeedServiceClient<AuthChannel>,
    feed_ids: &[String],
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<Vec<FeedReceipt>> {
    let deadline = Instant::now() + timeout;
    let mut receipts = Vec::with_capacity(feed_ids.len());
    while receipts.len() < feed_ids.len() {
        let next = receipt(client, &feed_ids[receipts.len()])
            .await
            .map_err(status::error)?;
        if is_done(&next) {
            receipts.push(next);
            progress.advance(receipts.len() as u64, 0);
            continue;
        }
        if Instant::now() >= deadline {
            let mut waiting = Vec::new();
            for id in &feed_ids[receipts.len()..] {
                if !is_done(&receipt(client, id).await.map_err(status::error)?) {
                    waiting.push(id.as_str());
                }
            }
            if let Some(first) = waiting.first() {
                return Err(Error::NotProcessed {
                    waiting: waiting.len(),
                    total: feed_ids.len(),
                    seconds: timeout.as_secs(),
                    first: (*first).to_owned(),
                });
            }
            continue;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(receipts)
}

/// Whether the pipeline is done with a feed: stored, or parked with its refusal.
fn is_done(receipt: &FeedReceipt) -> bool {
    matches!(receipt.status(), FeedStatus::Processed | FeedStatus::Parked)
}
