//! `rollcall schools`: the registry's import (from CSV) and list, and the schools' calendars.

use rollcall_client::{csvfile, status};
use rollcall_proto::query::v1::{
    ImportCalendarRequest, ImportSchoolsRequest, ListSchoolsRequest,
    registry_service_client::RegistryServiceClient,
};
use serde_json::json;

use super::Context;
use crate::args::SchoolsCommand;
use crate::render;

pub async fn run(context: &Context, command: SchoolsCommand) -> anyhow::Result<()> {
    match command {
        SchoolsCommand::Import { file } => {
            let schools = csvfile::read_schools(&file)?;
            let mut client = RegistryServiceClient::new(context.query().await?);
            let imported = client
                .import_schools(ImportSchoolsRequest { schools })
                .await
                .map_err(status::error)?
                .into_inner()
                .imported;
            context.print(json!({ "imported": imported }), || {
                format!("imported {imported} schools\n")
            });
        }
        SchoolsCommand::Calendar { file } => {
            let ranges = csvfile::read_calendar(&file)?;
            let mut client = RegistryServiceClient::new(context.query().await?);
            let imported = client
                .import_calendar(ImportCalendarRequest { ranges })
                .await
                .map_err(status::error)?
                .into_inner()
                .imported;
            context.print(json!({ "imported": imported }), || {
                format!("imported {imported} calendar ranges\n")
            });
        }
        SchoolsCommand::List { la } => {
            let mut client = RegistryServiceClient::new(context.query().await?);
            let schools = client
                .list_schools(ListSchoolsRequest {
                    la_code: la.unwrap_or_default(),
                })
                .await
                .map_err(status::error)?
                .into_inner()
                .schools;
            context.print(render::schools_json(&schools), || {
                render::schools_text(&schools)
            });
        }
    }
    Ok(())
}
