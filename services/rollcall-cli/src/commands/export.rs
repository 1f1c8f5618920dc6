//! `rollcall export`: the DfE's year-to-date layout, the pupil-session extract and the census
//! term, each streamed into a file (`rollcall_client::export`) with its manifest.

use rollcall_client::export::{self, Format};
use rollcall_client::status;
use rollcall_proto::export::v1::{
    CensusTermRequest, EesYearToDateRequest, PupilSessionsRequest, Term,
    export_service_client::ExportServiceClient,
};
use serde_json::json;

use super::Context;
use crate::args::ExportCommand;
use crate::{progress, render};

pub async fn run(context: &Context, command: ExportCommand) -> anyhow::Result<()> {
    let (ExportCommand::EesYtd { out, .. }
    | ExportCommand::PupilSessions { out, .. }
    | ExportCommand::Census { out, .. }) = &command;
    // A bad file name is an error before the server is asked for anything.
    Format::of(out)?;
    let mut client = ExportServiceClient::new(context.query().await?);
    let (stream, out, request) = match command {
        ExportCommand::EesYtd {
            la,
            all_las,
            regional,
            national,
            from,
            to,
            as_at,
            out,
        } => {
            let request = EesYearToDateRequest {
                la_codes: la,
                all_las,
                regional,
                national,
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
                as_at: as_at.as_at.unwrap_or_default(),
            };
            let echo = json!({"export": "ees-ytd", "la_codes": request.la_codes, "all_las": all_las,
                "regional": regional, "national": national, "from": request.from, "to": request.to,
                "as_at": request.as_at});
            (client.ees_year_to_date(request).await, out, echo)
        }
        ExportCommand::PupilSessions {
            scope,
            from,
            to,
            dfe_scope,
            as_at,
            out,
        } => {
            if Format::of(&out)? != Format::Csv {
                anyhow::bail!(
                    "pupil-sessions is written as .csv only: a year of an LA is more rows than a worksheet holds"
                );
            }
            let request = PupilSessionsRequest {
                la_code: scope.la.clone().unwrap_or_default(),
                school_urn: scope.school.clone().unwrap_or_default(),
                from,
                to,
                dfe_scope,
                purpose: scope.purpose.clone(),
                as_at: as_at.as_at.unwrap_or_default(),
            };
            let echo = json!({"export": "pupil-sessions", "la_code": request.la_code,
                "school_urn": request.school_urn, "from": request.from, "to": request.to,
                "dfe_scope": dfe_scope, "purpose": request.purpose, "as_at": request.as_at});
            (client.pupil_sessions(request).await, out, echo)
        }
        ExportCommand::Census {
            scope,
            year,
            term,
            as_at,
            out,
        } => {
            let term_value = match term.as_str() {
                "autumn" => Term::Autumn,
                "spring" => Term::Spring,
                _ => Term::Summer,
            };
            let request = CensusTermRequest {
                la_code: scope.la.clone().unwrap_or_default(),
                school_urn: scope.school.clone().unwrap_or_default(),
                academic_year: year,
                term: term_value as i32,
                purpose: scope.purpose.clone(),
                as_at: as_at.as_at.unwrap_or_default(),
            };
            let echo = json!({"export": "census-term", "la_code": request.la_code,
                "school_urn": request.school_urn, "academic_year": request.academic_year,
                "term": term, "purpose": request.purpose, "as_at": request.as_at});
            (client.census_term(request).await, out, echo)
        }
    };
    let stream = stream.map_err(status::error)?.into_inner();
    let written = export::write(stream, &out, request, &progress::Bar::export()).await?;
    context.print(render::written_json(&written), || {
        render::written_text(&written)
    });
    Ok(())
}
