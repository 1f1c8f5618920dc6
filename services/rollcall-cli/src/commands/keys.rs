//! `rollcall keys` (API keys: create, list, revoke, and the first admin key straight in the
//! database) and `rollcall vendors` (which schools a vendor may send for).

use anyhow::Context as _;
use rollcall_client::status;
use rollcall_proto::admin::v1::{
    CreateKeyRequest, ListKeysRequest, RevokeKeyRequest, SetVendorSchoolsRequest,
    key_service_client::KeyServiceClient,
};
use serde_json::{Value, json};

use super::Context;
use crate::args::{KeysCommand, VendorsCommand};
use crate::render;

pub async fn run(context: &Context, command: KeysCommand) -> anyhow::Result<()> {
    if let KeysCommand::Bootstrap {
        database_url,
        valid_days,
        description,
    } = command
    {
        return bootstrap(context, &database_url, valid_days, &description).await;
    }
    let mut client = KeyServiceClient::new(context.query().await?);
    match command {
        KeysCommand::Create {
            kind,
            org,
            description,
            valid_days,
        } => {
            let r = client
                .create_key(CreateKeyRequest {
                    kind,
                    organisation: org,
                    description,
                    valid_days: valid_days.unwrap_or_default(),
                })
                .await
                .map_err(status::error)?
                .into_inner();
            let key = r.key.unwrap_or_default();
            print_new_key(context, &key.key_id, &key.expires_at, &r.token);
        }
        KeysCommand::List => {
            let r = client
                .list_keys(ListKeysRequest {})
                .await
                .map_err(status::error)?
                .into_inner();
            let value = Value::Array(r.keys.iter().map(render::key_json).collect());
            context.print(value, || render::keys_text(&r.keys));
        }
        KeysCommand::Revoke { key_id } => {
            let r = client
                .revoke_key(RevokeKeyRequest { key_id })
                .await
                .map_err(status::error)?
                .into_inner();
            let key = r.key.unwrap_or_default();
            context.print(render::key_json(&key), || {
                format!("key {} revoked at {}\n", key.key_id, key.revoked_at)
            });
        }
        KeysCommand::Bootstrap { .. } => unreachable!("bootstrap needs no service"),
    }
    Ok(())
}

/// The first admin key of a fresh install, made in the database (no service call).
async fn bootstrap(
    context: &Context,
    database_url: &str,
    valid_days: u32,
    description: &str,
) -> anyhow::Result<()> {
    let pool = rollcall_db::open(database_url, 1)
        .await
        .context("cannot open the database")?;
    let (key, token) =
        rollcall_server::auth::issue_key(&pool, "admin", "", description, valid_days)
            .await
            .context("cannot store the key")?;
    pool.close().await;
    print_new_key(context, &key.key_id, &key.expires_at.to_rfc3339(), &token);
    Ok(())
}

/// A new key: the token goes to stdout alone (so scripts can capture it), the rest to stderr.
fn print_new_key(context: &Context, key_id: &str, expires_at: &str, token: &str) {
    if context.json {
        println!(
            "{}",
            json!({"key_id": key_id, "expires_at": expires_at, "token": token})
        );
    } else {
        eprintln!("key {key_id} created, expires {expires_at}; the token below is shown only once");
        println!("{token}");
    }
}

pub async fn vendors(context: &Context, command: VendorsCommand) -> anyhow::Result<()> {
    let VendorsCommand::SetSchools { vendor, urns } = command;
    let mut client = KeyServiceClient::new(context.query().await?);
    let r = client
        .set_vendor_schools(SetVendorSchoolsRequest {
            vendor: vendor.clone(),
            school_urns: urns,
        })
        .await
        .map_err(status::error)?
        .into_inner();
    context.print(
        json!({"vendor": vendor, "school_urns": r.school_urns}),
        || format!("{vendor} may send feeds for {}\n", r.school_urns.join(" ")),
    );
    Ok(())
}
