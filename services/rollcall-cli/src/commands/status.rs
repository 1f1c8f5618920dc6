//! `rollcall status`: how far feeds have got through the pipeline; per school (quiet schools by
//! their calendars), per sender, and what is not yet queryable.

use rollcall_client::status;
use rollcall_proto::query::v1::{
    PipelineCountsRequest, SchoolStatusRequest, SenderStatusRequest,
    pipeline_service_client::PipelineServiceClient,
};

use super::Context;
use crate::args::StatusCommand;
use crate::render;

pub async fn run(context: &Context, what: Option<StatusCommand>) -> anyhow::Result<()> {
    let mut client = PipelineServiceClient::new(context.query().await?);
    match what {
        None => {
            let r = client
                .pipeline_counts(PipelineCountsRequest {})
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::counts_json(&r), || render::counts_text(&r));
        }
        Some(StatusCommand::Schools {
            la,
            quiet,
            days,
            on,
        }) => {
            let r = client
                .school_status(SchoolStatusRequest {
                    la_code: la,
                    on: on.unwrap_or_default(),
                    quiet_after_days: days,
                    quiet_only: quiet,
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::school_status_json(&r), || {
                render::school_status_text(&r)
            });
        }
        Some(StatusCommand::Vendors { since }) => {
            let r = client
                .sender_status(SenderStatusRequest {
                    since: super::dead_letters::since_time(since)?,
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::sender_status_json(&r), || {
                render::sender_status_text(&r)
            });
        }
        Some(StatusCommand::Lag { la }) => {
            let r = client
                .school_status(SchoolStatusRequest {
                    la_code: la,
                    ..Default::default()
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::lag_json(&r), || render::lag_text(&r));
        }
    }
    Ok(())
}
