//! Authentication and authorisation for every gRPC call.
//!
//! A caller proves who it is with one of: an API key (`authorization: Bearer rc_<id>_<secret>`),
//! a signed token from its LA's identity provider (`authorization: Bearer <jwt>`, LA and school
//! users),
//! or, for an MIS vendor over mutual TLS, its client certificate. [`layer::AuthLayer`] checks the
//! credential before any handler runs, refuses kinds the method's [`policy`] does not allow,
//! applies the per-principal rate limit, and hands the handler a [`Principal`] in the request's
//! extensions. Handlers get it back with [`principal`] and build their read scope from it.

pub mod jwt;
pub mod layer;
pub mod limit;
pub mod policy;
pub mod token;

use std::sync::Arc;

use chrono::Utc;
use rollcall_db::{ApiKeyRow, Pool, Principal, PrincipalKind};
use tonic::Status;

use crate::config::AuthConfig;
use crate::{ApiError, ErrorCode};

pub use layer::AuthLayer;
pub use token::Token;

/// Checks credentials. Cheap to clone: every connection's service holds one.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    jwt: Option<jwt::JwtVerifier>,
    limiter: limit::RateLimiter,
}

/// A credential as it arrived, before it is checked.
pub enum Credential {
    Bearer(String),
    /// The subject common name of a client certificate the TLS layer already verified against
    /// the configured vendor CA.
    VendorCertificate(String),
}

impl Authenticator {
    pub fn new(pool: Pool, auth: &AuthConfig) -> Result<Authenticator, String> {
        let jwt = if auth.jwt.jwks_file.as_os_str().is_empty() {
            None
        } else {
            Some(jwt::JwtVerifier::load(&auth.jwt)?)
        };
        Ok(Authenticator {
            inner: Arc::new(Inner {
                pool,
                jwt,
                limiter: limit::RateLimiter::new(auth.requests_per_second, auth.burst),
            }),
        })
    }

    /// Who `credential` stands for, or why it is refused (UNAUTHENTICATED, or UNAVAILABLE when
    /// the database cannot be asked).
    pub async fn authenticate(&self, credential: Credential) -> Result<Principal, ApiError> {
        match credential {
            Credential::Bearer(text) if Token::looks_like(&text) => {
                let token = Token::parse(&text).ok_or_else(malformed)?;
                self.api_key(&token).await
            }
            Credential::Bearer(text) => {
                let verifier = self.inner.jwt.as_ref().ok_or_else(malformed)?;
                let user = verifier.verify(&text).map_err(|err| match err {
                    jwt::JwtError::Malformed => malformed(),
                    jwt::JwtError::Invalid => invalid(),
                    jwt::JwtError::Expired => expired(),
                })?;
                let kind = match user.acts_for {
                    jwt::ActsFor::La(la) => PrincipalKind::La(la),
                    jwt::ActsFor::School(urn) => PrincipalKind::School(urn),
                };
                Ok(Principal::authenticated(
                    format!("jwt:{}", user.subject),
                    kind,
                ))
            }
            Credential::VendorCertificate(vendor) => {
                let schools = rollcall_db::vendor_schools(&self.inner.pool, &vendor)
                    .await
                    .map_err(|err| ApiError::database("cannot check credentials", &err))?;
                Ok(Principal::authenticated(
                    format!("cert:{vendor}"),
                    PrincipalKind::Vendor { vendor, schools },
                ))
            }
        }
    }

    /// Takes one call from the principal's rate limit; false when it is used up.
    pub fn within_rate_limit(&self, principal: &Principal) -> bool {
        self.inner.limiter.allow(principal.key_id())
    }

    async fn api_key(&self, token: &Token) -> Result<Principal, ApiError> {
        let row = rollcall_db::find_api_key(&self.inner.pool, &token.key_id)
            .await
            .map_err(|err| ApiError::database("cannot check credentials", &err))?
            .ok_or_else(invalid)?;
        // Only once the secret is proven is it worth telling the caller the key's state.
        if !token.matches(&row.secret_sha256) {
            return Err(invalid());
        }
        if row.revoked_at.is_some() {
            return Err(ApiError::new(
                ErrorCode::CredentialsRevoked,
                "this api key has been revoked",
            ));
        }
        if row.expires_at <= Utc::now() {
            return Err(expired());
        }
        let kind = principal_kind(&row).ok_or_else(|| {
            tracing::error!(key_id = %row.key_id, "stored key has an unusable kind or organisation");
            invalid()
        })?;
        Ok(Principal::authenticated(row.key_id, kind))
    }
}

/// What a stored key stands for; `None` when its organisation does not fit its kind.
pub fn principal_kind(row: &ApiKeyRow) -> Option<PrincipalKind> {
    let org = row.organisation.as_str();
    Some(match row.kind.as_str() {
        "vendor" => PrincipalKind::Vendor {
            vendor: org.to_owned(),
            schools: row.vendor_schools.clone(),
        },
        "la" => PrincipalKind::La(org.parse().ok()?),
        "school" => PrincipalKind::School(org.parse().ok()?),
        "operations" => PrincipalKind::Operations,
        "exporter" => PrincipalKind::Exporter,
        "admin" => PrincipalKind::Admin,
        _ => return None,
    })
}

/// The kind and organisation of a key to create, checked: an LA key names a current LA code, a
/// school key a URN, a vendor key a name of lowercase letters, digits and hyphens; the national
/// kinds name none. Returns the organisation as stored.
pub fn check_new_key(kind: &str, organisation: &str) -> Result<String, String> {
    let org = organisation.trim();
    match kind {
        "la" => {
            let la = rollcall_domain::LaCode::parse(org)
                .map_err(|err| format!("organisation: {err}"))?;
            if !la.is_current() {
                return Err("organisation: not a current la code".into());
            }
            Ok(format!("{:03}", la.get()))
        }
        "school" => {
            let urn =
                rollcall_domain::Urn::parse(org).map_err(|err| format!("organisation: {err}"))?;
            Ok(format!("{:06}", urn.get()))
        }
        "vendor" => {
            let ok = (2..=64).contains(&org.len())
                && org
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if ok {
                Ok(org.to_owned())
            } else {
                Err(
                    "organisation: a vendor name is 2 to 64 lowercase letters, digits or hyphens"
                        .into(),
                )
            }
        }
        "operations" | "exporter" | "admin" => {
            if org.is_empty() {
                Ok(String::new())
            } else {
                Err(format!("organisation: a {kind} key names no organisation"))
            }
        }
        _ => Err("kind: must be one of vendor, la, school, operations, exporter, admin".into()),
    }
}

/// Makes and stores a new key, returning it and its token (shown to the caller once; only its
/// hash is stored). `organisation` must have passed [`check_new_key`] for `kind`.
pub async fn issue_key(
    pool: &Pool,
    kind: &str,
    organisation: &str,
    description: &str,
    valid_days: u32,
) -> Result<(ApiKeyRow, String), rollcall_db::Error> {
    let token = Token::generate();
    let row = rollcall_db::create_api_key(
        pool,
        &rollcall_db::NewApiKey {
            key_id: token.key_id.clone(),
            secret_sha256: token.secret_sha256(),
            kind: kind.to_owned(),
            organisation: organisation.to_owned(),
            description: description.to_owned(),
            expires_at: Utc::now() + chrono::Duration::days(i64::from(valid_days)),
        },
    )
    .await?;
    Ok((row, token.reveal()))
}

/// The principal the authentication layer attached to this request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            // Only a service assembled without the layer gets here.
            tracing::error!("request reached a handler without a principal");
            ApiError::new(ErrorCode::CredentialsMissing, "credentials required").into()
        })
}

fn malformed() -> ApiError {
    ApiError::new(
        ErrorCode::CredentialsMalformed,
        "authorization must be `Bearer <token>` with an api key or a signed token",
    )
}

fn invalid() -> ApiError {
    ApiError::new(ErrorCode::CredentialsInvalid, "credentials not recognised")
}

fn expired() -> ApiError {
    ApiError::new(ErrorCode::CredentialsExpired, "credentials have expired")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_name_an_organisation_that_fits_their_kind() {
        assert_eq!(check_new_key("la", "937").unwrap(), "937");
        assert!(check_new_key("la", "999").is_err());
        assert_eq!(check_new_key("school", "100001").unwrap(), "100001");
        assert!(check_new_key("school", "12345").is_err());
        assert_eq!(check_new_key("vendor", "acme-mis").unwrap(), "acme-mis");
        assert!(check_new_key("vendor", "Acme MIS").is_err());
        assert_eq!(check_new_key("admin", "").unwrap(), "");
        assert!(check_new_key("admin", "937").is_err());
        assert!(check_new_key("root", "").is_err());
    }
}
