//! `rollcall status`: how far feeds have got through the pipeline.

use rollcall_client::status;
use rollcall_proto::query::v1::{
    PipelineCountsRequest, pipeline_service_client::PipelineServiceClient,
};

use super::Context;
use crate::render;

pub async fn run(context: &Context) -> anyhow::Result<()> {
    let mut client = PipelineServiceClient::new(context.query().await?);
    let r = client
        .pipeline_counts(PipelineCountsRequest {})
        .await
        .map_err(status::error)?
        .into_inner();
    context.print(render::counts_json(&r), || render::counts_text(&r));
    Ok(())
}
