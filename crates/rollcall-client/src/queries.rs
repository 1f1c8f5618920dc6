//! The LA queries that take more than one call.

use rollcall_proto::query::v1::{
    ApproachingPersistentRequest, ApproachingPersistentResponse, AtRiskPupilsRequest,
    AtRiskPupilsResponse, query_service_client::QueryServiceClient,
};

use crate::AuthChannel;

/// Every page of the at-risk list, in order (worst absence first): the list a caseworker asked
/// for, as one answer whose `next_page_token` is empty.
pub async fn all_at_risk_pupils(
    client: &mut QueryServiceClient<AuthChannel>,
    request: AtRiskPupilsRequest,
) -> Result<AtRiskPupilsResponse, tonic::Status> {
    let mut all = client.at_risk_pupils(request.clone()).await?.into_inner();
    while !all.next_page_token.is_empty() {
        let next = client
            .at_risk_pupils(AtRiskPupilsRequest {
                page_token: all.next_page_token.clone(),
                ..request.clone()
            })
            .await?
            .into_inner();
        all.pupils.extend(next.pupils);
        all.next_page_token = next.next_page_token;
    }
    Ok(all)
}

/// Every page of the approaching-persistent list, in order (nearest to 10% first), as one
/// answer whose `next_page_token` is empty.
pub async fn all_approaching_pupils(
    client: &mut QueryServiceClient<AuthChannel>,
    request: ApproachingPersistentRequest,
) -> Result<ApproachingPersistentResponse, tonic::Status> {
    let mut all = client
        .approaching_persistent(request.clone())
        .await?
        .into_inner();
    while !all.next_page_token.is_empty() {
        let next = client
            .approaching_persistent(ApproachingPersistentRequest {
                page_token: all.next_page_token.clone(),
                ..request.clone()
            })
            .await?
            .into_inner();
        all.pupils.extend(next.pupils);
        all.next_page_token = next.next_page_token;
    }
    Ok(all)
}
