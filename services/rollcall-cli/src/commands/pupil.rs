//! `rollcall pupil`: find a pupil, and read their timeline across the LA's schools.

use rollcall_client::status;
use rollcall_proto::query::v1::{
    FindPupilsRequest, PupilTimelineRequest, query_service_client::QueryServiceClient,
};

use super::Context;
use super::query::period_of;
use crate::args::PupilCommand;
use crate::render;

pub async fn run(context: &Context, command: PupilCommand) -> anyhow::Result<()> {
    let mut client = QueryServiceClient::new(context.query().await?);
    match command {
        PupilCommand::Find {
            upn,
            surname,
            dob,
            forename,
            purpose,
        } => {
            let r = client
                .find_pupils(FindPupilsRequest {
                    upn: upn.unwrap_or_default(),
                    surname: surname.unwrap_or_default(),
                    date_of_birth: dob.unwrap_or_default(),
                    forename: forename.unwrap_or_default(),
                    purpose,
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::found_json(&r), || render::found_text(&r));
        }
        PupilCommand::Timeline {
            upn,
            purpose,
            period,
            as_at,
        } => {
            let r = client
                .pupil_timeline(PupilTimelineRequest {
                    upn,
                    purpose,
                    period: Some(period_of(&period)),
                    as_at: as_at.as_at.unwrap_or_default(),
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::timeline_json(&r), || render::timeline_text(&r));
        }
    }
    Ok(())
}
