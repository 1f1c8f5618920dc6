//! `rollcall query`: one school, the LA, the pupils at risk and approaching persistent absence.

use rollcall_client::status;
use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, AtRiskPupilsRequest, LaSummaryRequest, Period, RiskLevel,
    SchoolSummaryRequest, query_service_client::QueryServiceClient,
};

use super::Context;
use crate::args::{PeriodArgs, QueryCommand};
use crate::render;

pub async fn run(context: &Context, command: QueryCommand) -> anyhow::Result<()> {
    let mut client = QueryServiceClient::new(context.query().await?);
    match command {
        QueryCommand::School { urn, period, as_at } => {
            let r = client
                .school_summary(SchoolSummaryRequest {
                    as_at: as_at.as_at.unwrap_or_default(),
                    school_urn: urn,
                    period: Some(period_of(&period)),
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::school_summary_json(&r), || {
                render::school_summary_text(&r)
            });
        }
        QueryCommand::La {
            code,
            period,
            as_at,
        } => {
            let r = client
                .la_summary(LaSummaryRequest {
                    as_at: as_at.as_at.unwrap_or_default(),
                    la_code: code,
                    period: Some(period_of(&period)),
                })
                .await
                .map_err(status::error)?
                .into_inner();
            context.print(render::la_json(&r), || render::la_text(&r));
        }
        QueryCommand::AtRisk {
            la,
            school,
            severe,
            purpose,
            period,
            as_at,
        } => {
            let level = if severe {
                RiskLevel::Severe
            } else {
                RiskLevel::Persistent
            };
            let request = AtRiskPupilsRequest {
                la_code: la.unwrap_or_default(),
                school_urn: school.unwrap_or_default(),
                period: Some(period_of(&period)),
                level: level as i32,
                purpose,
                as_at: as_at.as_at.unwrap_or_default(),
                ..Default::default()
            };
            let r = rollcall_client::all_at_risk_pupils(&mut client, request)
                .await
                .map_err(status::error)?;
            context.print(render::at_risk_json(&r), || render::at_risk_text(&r));
        }
        QueryCommand::Approaching {
            la,
            school,
            within,
            purpose,
            period,
            as_at,
        } => {
            let request = ApproachingPersistentRequest {
                la_code: la.unwrap_or_default(),
                school_urn: school.unwrap_or_default(),
                period: Some(period_of(&period)),
                within_sessions: within,
                purpose,
                as_at: as_at.as_at.unwrap_or_default(),
                ..Default::default()
            };
            let r = rollcall_client::all_approaching_pupils(&mut client, request)
                .await
                .map_err(status::error)?;
            context.print(render::approaching_json(&r), || {
                render::approaching_text(&r)
            });
        }
    }
    Ok(())
}

pub(super) fn period_of(p: &PeriodArgs) -> Period {
    Period {
        from: p.from.clone().unwrap_or_default(),
        to: p.to.clone().unwrap_or_default(),
    }
}
