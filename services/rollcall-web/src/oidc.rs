//! Sign-in with the LA's identity provider: OpenID Connect's authorisation-code flow with PKCE.
//! The provider's discovery document names its endpoints; the ID token is checked against its
//! JWKS (RS256 or ES256, issuer, audience = our client id, expiry, and the nonce this sign-in
//! sent); the access token is the credential the dashboard then sends to the query service,
//! which verifies it again with its own `[auth.jwt]` settings.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::Digest as _;
use tokio::sync::OnceCell;

use crate::config::OidcConfig;
use crate::session::PendingSignIn;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("cannot reach the identity provider: {0}")]
    Unreachable(String),
    #[error("the identity provider's answer was refused: {0}")]
    Refused(&'static str),
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Provider {
    authorization_endpoint: String,
    token_endpoint: String,
    keys: HashMap<String, (Algorithm, DecodingKey)>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    id_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// What a finished sign-in yields.
pub struct SignedIn {
    pub access_token: String,
    pub subject: String,
    pub expires: Option<Instant>,
}

pub struct Oidc {
    config: OidcConfig,
    redirect_uri: String,
    http: reqwest::Client,
    provider: OnceCell<Provider>,
}

impl Oidc {
    pub fn new(config: OidcConfig, public_url: &str) -> anyhow::Result<Oidc> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Oidc {
            config,
            redirect_uri: format!("{public_url}/sign-in/callback"),
            http,
            provider: OnceCell::new(),
        })
    }

    /// The provider's endpoints and keys, read once (a failed read is tried again next time).
    async fn provider(&self) -> Result<&Provider, OidcError> {
        self.provider.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> Result<Provider, OidcError> {
        let issuer = self.config.issuer.trim_end_matches('/');
        let discovery: Discovery = self
            .get_json(&format!("{issuer}/.well-known/openid-configuration"))
            .await?;
        if discovery.issuer.trim_end_matches('/') != issuer {
            return Err(OidcError::Refused("discovery names another issuer"));
        }
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (algorithm, key));
            }
        }
        if keys.is_empty() {
            return Err(OidcError::Refused("the jwks has no rs256 or es256 key"));
        }
        tracing::info!(keys = keys.len(), "identity provider discovered");
        Ok(Provider {
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            keys,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|err| OidcError::Unreachable(err.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(OidcError::Unreachable(format!(
                "http {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|_| OidcError::Refused("not the json expected"))
    }

    /// Where to send the browser to sign in.
    pub async fn authorize_url(&self, pending: &PendingSignIn) -> Result<String, OidcError> {
        let provider = self.provider().await?;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(pending.pkce_verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&provider.authorization_endpoint)
            .map_err(|_| OidcError::Refused("authorization endpoint is not a url"))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.config.scopes)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges the code for tokens and checks the ID token.
    pub async fn finish(&self, code: &str, pending: &PendingSignIn) -> Result<SignedIn, OidcError> {
        let provider = self.provider().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", pending.pkce_verifier.as_str()),
        ];
        let mut request = self.http.post(&provider.token_endpoint);
        if self.config.client_secret.is_empty() {
            form.push(("client_id", self.config.client_id.as_str()));
        } else {
            request = request.basic_auth(&self.config.client_id, Some(&self.config.client_secret));
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|err| OidcError::Unreachable(err.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(OidcError::Refused("the token endpoint refused the code"));
        }
        let tokens: TokenResponse = response
            .json()
            .await
            .map_err(|_| OidcError::Refused("the token response is not the json expected"))?;
        let subject = self.check_id_token(provider, &tokens.id_token, &pending.nonce)?;
        Ok(SignedIn {
            access_token: tokens.access_token,
            subject,
            expires: tokens
                .expires_in
                .map(|s| Instant::now() + Duration::from_secs(s)),
        })
    }

    /// The ID token's subject, once its signature, issuer, audience, expiry and nonce check out.
    fn check_id_token(
        &self,
        provider: &Provider,
        token: &str,
        nonce: &str,
    ) -> Result<String, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| OidcError::Refused("the id token is not a jwt"))?;
        let (algorithm, key) = header
            .kid
            .as_ref()
            .and_then(|kid| provider.keys.get(kid))
            .ok_or(OidcError::Refused("the id token names no known key"))?;
        if header.alg != *algorithm {
            return Err(OidcError::Refused(
                "the id token's algorithm is not its key's",
            ));
        }
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[self.config.issuer.trim_end_matches('/')]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims =
            jsonwebtoken::decode::<HashMap<String, serde_json::Value>>(token, key, &validation)
                .map_err(|_| OidcError::Refused("the id token does not verify"))?
                .claims;
        let sent = claims.get("nonce").and_then(|n| n.as_str()).unwrap_or("");
        use subtle::ConstantTimeEq as _;
        if !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
            return Err(OidcError::Refused(
                "the id token's nonce is not this sign-in's",
            ));
        }
        claims
            .get("sub")
            .and_then(|s| s.as_str())
            .map(str::to_owned)
            .ok_or(OidcError::Refused("the id token has no subject"))
    }
}
