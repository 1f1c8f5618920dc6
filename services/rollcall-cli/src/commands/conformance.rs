//! What an integrator checks against a gateway: `rollcall conformance` (the conformance pack, as
//! dry runs) and `rollcall reconcile` (what the LA holds, against the MIS's files).

use rollcall_client::conformance::{self, Case};
use rollcall_client::{Submission, status};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;

use super::Context;
use crate::render::{self, CaseResult, Conformance};

pub async fn run(
    context: &Context,
    school: &str,
    pack: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let cases: Vec<Case> = match pack {
        Some(dir) => conformance::load(dir)?,
        None => conformance::pack()?,
    };
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let checked_at = chrono::Utc::now();
    let mut results = Vec::with_capacity(cases.len());
    for case in &cases {
        let feed = Submission {
            school_urn: school.to_owned(),
            extracted_at: checked_at,
            idempotency_key: format!("conformance-{}", case.name),
            code_set: "2024",
            roll: &case.roll,
            marks: &case.marks,
        };
        let differences = match rollcall_client::validate(&mut client, &feed).await {
            Ok(outcome) => conformance::differences(&case.expected, &outcome),
            // A refusal of the whole feed (the school not yours, a limit) is a failure of the case.
            Err(refusal) => vec![format!("refused: {}", status::error(refusal))],
        };
        results.push(CaseResult {
            name: case.name.clone(),
            about: case.about.clone(),
            differences,
        });
    }
    let report = Conformance {
        gateway: context.gateway_url().to_owned(),
        school: school.to_owned(),
        checked_at,
        cases: results,
    };
    context.print(render::conformance_json(&report), || {
        render::conformance_text(&report)
    });
    let failed = report
        .cases
        .iter()
        .filter(|c| !c.differences.is_empty())
        .count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} conformance cases failed",
            report.cases.len()
        );
    }
    Ok(())
}

/// `rollcall reconcile`: the LA's registers for a school and dates, and with files, what differs.
pub async fn reconcile(
    context: &Context,
    school: &str,
    from: &str,
    to: &str,
    against: Option<&[std::path::PathBuf]>,
) -> anyhow::Result<()> {
    let mut client = FeedServiceClient::new(context.gateway().await?);
    let held = client
        .get_reconciliation(rollcall_proto::feed::v1::GetReconciliationRequest {
            school_urn: school.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
        })
        .await
        .map_err(status::error)?
        .into_inner();
    let differences = match against {
        Some([roll, marks]) => Some(rollcall_client::reconcile::compare(
            &held,
            &rollcall_client::csvfile::read_roll(roll)?,
            &rollcall_client::csvfile::read_marks(marks)?,
        )),
        _ => None,
    };
    context.print(
        render::reconciliation_json(&held, differences.as_deref()),
        || render::reconciliation_text(&held, differences.as_deref()),
    );
    Ok(())
}
