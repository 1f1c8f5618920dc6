//! `rollcall replay`: a school's feeds validated again (operations), waited for and printed.

use std::time::{Duration, Instant};

use rollcall_client::{AuthChannel, status};
use rollcall_proto::query::v1::{
    GetSchoolReplayRequest, RequestSchoolReplayRequest, SchoolReplay,
    pipeline_service_client::PipelineServiceClient,
};

use super::Context;
use crate::args::ReplayArgs;
use crate::render;

/// How often a replay's progress is read while waiting.
const POLL: Duration = Duration::from_millis(500);

pub async fn run(context: &Context, args: ReplayArgs) -> anyhow::Result<()> {
    let mut client = PipelineServiceClient::new(context.query().await?);
    let id = match (args.show, args.school) {
        (Some(id), _) => id,
        (None, Some(school)) => {
            client
                .request_school_replay(RequestSchoolReplayRequest {
                    school_urn: school,
                    from: args.from.unwrap_or_default(),
                    dry_run: args.dry_run,
                })
                .await
                .map_err(status::error)?
                .into_inner()
                .id
        }
        (None, None) => anyhow::bail!("--school or --show is needed"),
    };
    let replay = wait(&mut client, id, Duration::from_secs(args.wait)).await?;
    context.print(render::school_replay_json(&replay), || {
        render::school_replay_text(&replay)
    });
    if replay.status == "failed" {
        anyhow::bail!("school replay {id} failed: {}", replay.error);
    }
    Ok(())
}

/// Reads replay `id` until it is over (a replay proper: until the aggregator has applied every
/// feed read back), or `patience` has passed; returns it as last read.
async fn wait(
    client: &mut PipelineServiceClient<AuthChannel>,
    id: i64,
    patience: Duration,
) -> anyhow::Result<SchoolReplay> {
    let started = Instant::now();
    loop {
        let replay = client
            .get_school_replay(GetSchoolReplayRequest { id })
            .await
            .map_err(status::error)?
            .into_inner();
        let over = match replay.status.as_str() {
            "failed" => true,
            "done" => replay.dry_run || replay.feeds_applied >= replay.feeds_read,
            _ => false,
        };
        if over || started.elapsed() >= patience {
            return Ok(replay);
        }
        tokio::time::sleep(POLL).await;
    }
}
