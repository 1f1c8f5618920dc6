//! `rollcall audit`: who viewed your pupils.

use rollcall_client::status;
use rollcall_proto::query::v1::{ListAuditEventsRequest, audit_service_client::AuditServiceClient};

use super::Context;
use crate::render;

pub async fn run(context: &Context, since: Option<String>, limit: u32) -> anyhow::Result<()> {
    let mut client = AuditServiceClient::new(context.query().await?);
    let r = client
        .list_audit_events(ListAuditEventsRequest {
            since: since.unwrap_or_default(),
            limit,
        })
        .await
        .map_err(status::error)?
        .into_inner();
    context.print(render::audit_json(&r), || render::audit_text(&r));
    Ok(())
}
