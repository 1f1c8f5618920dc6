//! API keys and vendor registrations: what the authentication layer looks up on every call.
//! Only a hash of each secret is stored; the secret itself is shown once, when the key is made.

use chrono::{DateTime, Utc};

use crate::{Pool, Result};

/// A key to store. `secret_sha256` is the SHA-256 of the secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    pub key_id: String,
    pub secret_sha256: Vec<u8>,
    /// vendor, la, school, operations, exporter or admin.
    pub kind: String,
    pub organisation: String,
    pub description: String,
    pub expires_at: DateTime<Utc>,
}

/// A stored key, with the schools registered to its vendor (empty for other kinds).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub key_id: String,
    pub secret_sha256: Vec<u8>,
    pub kind: String,
    pub organisation: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub vendor_schools: Vec<i32>,
}

impl std::fmt::Debug for ApiKeyRow {
    /// The hash is left out: nothing to gain from it in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRow")
            .field("key_id", &self.key_id)
            .field("kind", &self.kind)
            .field("organisation", &self.organisation)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

const KEY_COLUMNS: &str = "k.key_id, k.secret_sha256, k.kind, k.organisation, k.description,
     k.created_at, k.expires_at, k.revoked_at,
     coalesce((select array_agg(v.school_urn order by v.school_urn) from vendor_schools v
               where k.kind = 'vendor' and v.vendor = k.organisation), '{}') as vendor_schools";

pub async fn create_api_key(pool: &Pool, key: &NewApiKey) -> Result<ApiKeyRow> {
    sqlx::query(
        "insert into api_keys (key_id, secret_sha256, kind, organisation, description, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.key_id)
    .bind(&key.secret_sha256)
    .bind(&key.kind)
    .bind(&key.organisation)
    .bind(&key.description)
    .bind(key.expires_at)
    .execute(pool.pg())
    .await?;
    let row = find_api_key(pool, &key.key_id).await?;
    Ok(row.expect("inserted above"))
}

/// The key with this id, whether or not it is still valid (the caller decides, so it can say why).
pub async fn find_api_key(pool: &Pool, key_id: &str) -> Result<Option<ApiKeyRow>> {
    let sql = format!("select {KEY_COLUMNS} from api_keys k where k.key_id = $1");
    let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key_id)
        .fetch_optional(pool.pg())
        .await?;
    Ok(row)
}

/// Every key, newest first.
pub async fn list_api_keys(pool: &Pool) -> Result<Vec<ApiKeyRow>> {
    let sql = format!("select {KEY_COLUMNS} from api_keys k order by k.created_at desc, k.key_id");
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool.pg())
        .await?;
    Ok(rows)
}

/// Revokes a key now. Returns false when there is no such key; revoking twice keeps the first time.
pub async fn revoke_api_key(pool: &Pool, key_id: &str) -> Result<bool> {
    let done = sqlx::query(
        "update api_keys set revoked_at = coalesce(revoked_at, now()) where key_id = $1",
    )
    .bind(key_id)
    .execute(pool.pg())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `urns` exactly the schools `vendor` is registered for.
pub async fn set_vendor_schools(pool: &Pool, vendor: &str, urns: &[i32]) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("delete from vendor_schools where vendor = $1 and school_urn <> all($2)")
        .bind(vendor)
        .bind(urns)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into vendor_schools (vendor, school_urn)
         select $1, u from unnest($2::int[]) as u
         on conflict do nothing",
    )
    .bind(vendor)
    .bind(urns)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The schools `vendor` is registered for, ordered by URN.
pub async fn vendor_schools(pool: &Pool, vendor: &str) -> Result<Vec<i32>> {
    let urns = sqlx::query_scalar(
        "select school_urn from vendor_schools where vendor = $1 order by school_urn",
    )
    .bind(vendor)
    .fetch_all(pool.pg())
    .await?;
    Ok(urns)
}
