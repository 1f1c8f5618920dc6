//! The synthetic LA (`rollcall-synth`) sent as a real LA's would be: its schools imported into
//! the registry, a vendor registered and keys made for it, its feeds streamed as its vendor
//! would. The demo, the benchmark and the end-to-end tests share these.

use rollcall_proto::admin::v1::{
    CreateKeyRequest, SetVendorSchoolsRequest, key_service_client::KeyServiceClient,
};
use rollcall_proto::feed::v1::{FeedReceipt, feed_service_client::FeedServiceClient};
use rollcall_proto::query::v1::{
    ImportSchoolsRequest, School, registry_service_client::RegistryServiceClient,
};

use crate::{AuthChannel, Submission, submit};

/// The keys a synthetic LA needs, made with an admin's channel: one vendor sending for every
/// school, and a user of the LA.
pub struct SyntheticKeys {
    pub vendor_token: String,
    pub la_token: String,
}

/// Registers vendor `vendor` for every school of `schools` and makes a key for it and one for a
/// user of LA `la_code`.
pub async fn synthetic_keys(
    admin: AuthChannel,
    vendor: &str,
    la_code: u16,
    schools: &[rollcall_synth::School],
) -> Result<SyntheticKeys, tonic::Status> {
    let mut keys = KeyServiceClient::new(admin);
    keys.set_vendor_schools(SetVendorSchoolsRequest {
        vendor: vendor.to_owned(),
        school_urns: schools.iter().map(|s| format!("{:06}", s.urn)).collect(),
    })
    .await?;
    let mut create = async |kind: &str, organisation: String, description: &str| {
        keys.create_key(CreateKeyRequest {
            kind: kind.to_owned(),
            organisation,
            description: description.to_owned(),
            valid_days: 1,
        })
        .await
        .map(|r| r.into_inner().token)
    };
    Ok(SyntheticKeys {
        vendor_token: create("vendor", vendor.to_owned(), "synthetic la vendor").await?,
        la_token: create("la", format!("{la_code:03}"), "synthetic la user").await?,
    })
}

/// Streams a synthetic school's feed, as its vendor would.
pub async fn submit_feed(
    client: &mut FeedServiceClient<AuthChannel>,
    feed: &rollcall_synth::Feed,
    code_set: &str,
) -> Result<FeedReceipt, tonic::Status> {
    submit(client, &submission(feed, code_set)).await
}

/// A synthetic school's feed as the stream's header fields and records.
pub fn submission<'a>(feed: &'a rollcall_synth::Feed, code_set: &'a str) -> Submission<'a> {
    Submission {
        school_urn: format!("{:06}", feed.urn),
        extracted_at: feed.extracted_at,
        idempotency_key: feed.idempotency_key.clone(),
        code_set,
        roll: &feed.roll,
        marks: &feed.marks,
    }
}

/// Imports the synthetic LA's schools into the registry.
pub async fn import_synthetic_schools(
    client: &mut RegistryServiceClient<AuthChannel>,
    schools: &[rollcall_synth::School],
) -> Result<u64, tonic::Status> {
    let schools = schools.iter().map(registry_school).collect();
    Ok(client
        .import_schools(ImportSchoolsRequest { schools })
        .await?
        .into_inner()
        .imported)
}

/// A synthetic school as the registry takes it.
pub fn registry_school(s: &rollcall_synth::School) -> School {
    School {
        urn: format!("{:06}", s.urn),
        la_code: format!("{:03}", s.la_code),
        name: s.name.clone(),
        phase: s.phase.clone(),
        school_type: s.school_type.clone(),
        independent: s.independent,
    }
}
