//! `rollcall dead-letters` and `rollcall parked`: what operations read of rejected records and
//! parked feeds, and a parked feed's replay.

use rollcall_client::status;
use rollcall_proto::query::v1::{
    ListDeadLetterGroupsRequest, ListDeadLettersRequest, ListParkedFeedsRequest,
    ReplayParkedFeedRequest, pipeline_service_client::PipelineServiceClient,
};

use super::Context;
use crate::args::{DeadLettersCommand, ParkedCommand};
use crate::render;

pub async fn dead_letters(context: &Context, command: DeadLettersCommand) -> anyhow::Result<()> {
    let mut client = PipelineServiceClient::new(context.query().await?);
    match command {
        DeadLettersCommand::List { since } => {
            let r = client
                .list_dead_letter_groups(ListDeadLetterGroupsRequest {
                    since: since_time(since)?,
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::dead_letter_groups_json(&r), || {
                render::dead_letter_groups_text(&r)
            });
        }
        DeadLettersCommand::Show {
            group,
            since,
            limit,
        } => {
            let mut parts = group.splitn(3, '/');
            let (Some(code), Some(sender), Some(urn)) = (parts.next(), parts.next(), parts.next())
            else {
                anyhow::bail!("group: must be CODE/SENDER/URN as `dead-letters list` prints it");
            };
            let r = client
                .list_dead_letters(ListDeadLettersRequest {
                    code: code.to_owned(),
                    sender: sender.to_owned(),
                    school_urn: urn.to_owned(),
                    since: since_time(since)?,
                    page_size: limit,
                    page_token: String::new(),
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::dead_letters_json(&r), || {
                render::dead_letters_text(&r)
            });
        }
    }
    Ok(())
}

pub async fn parked(context: &Context, command: ParkedCommand) -> anyhow::Result<()> {
    let mut client = PipelineServiceClient::new(context.query().await?);
    match command {
        ParkedCommand::List => {
            let r = client
                .list_parked_feeds(ListParkedFeedsRequest {})
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::parked_json(&r), || render::parked_text(&r));
        }
        ParkedCommand::Replay { id } => {
            let r = client
                .replay_parked_feed(ReplayParkedFeedRequest { id })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(serde_json::json!({"id": id, "outcome": r.outcome}), || {
                match r.outcome.as_str() {
                    "requested" => format!(
                        "parked feed {id}: replay asked for; the aggregator applies it within seconds (`rollcall parked list` shows the outcome)\n"
                    ),
                    other => format!("parked feed {id}: {}\n", other.replace('_', " ")),
                }
            });
        }
    }
    Ok(())
}

/// `--since` as the service takes it: RFC 3339, a date as its midnight (UTC), or empty.
pub(super) fn since_time(since: Option<String>) -> anyhow::Result<String> {
    let Some(since) = since else {
        return Ok(String::new());
    };
    if chrono::DateTime::parse_from_rfc3339(&since).is_ok() {
        return Ok(since);
    }
    let date = chrono::NaiveDate::parse_from_str(&since, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("--since: must be a date YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(format!("{date}T00:00:00Z"))
}
