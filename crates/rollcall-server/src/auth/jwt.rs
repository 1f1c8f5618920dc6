//! Signed tokens for LA and school users, issued by the LA's own identity provider (OIDC-style):
//! verified against the public keys in a configured JWKS file, RS256 or ES256 only, with the
//! issuer, audience and expiry checked. A claim (configurable, `la_code` by default) carries an LA
//! user's LA code; another (`school_urn` by default) a school user's URN, and takes precedence:
//! a school user's token may name the school's LA too.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::Value;

use crate::config::JwtConfig;

/// Why a token was refused; the layer turns each into its stable error code.
#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Not a JWT at all, or a header/claim that cannot be read.
    Malformed,
    /// Unknown key, bad signature, wrong issuer or audience, a missing or invalid LA claim.
    Invalid,
    Expired,
}

/// What a verified token says.
#[derive(Debug, PartialEq, Eq)]
pub struct JwtUser {
    pub subject: String,
    pub acts_for: ActsFor,
}

/// Who a token's user acts for.
#[derive(Debug, PartialEq, Eq)]
pub enum ActsFor {
    La(i16),
    School(i32),
}

pub struct JwtVerifier {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    la_claim: String,
    school_claim: String,
}

impl JwtVerifier {
    /// Reads the JWKS file named in `config`. Keys without a `kid`, or of another algorithm than
    /// RS256 and ES256, are refused: each token must name its key and cannot choose a weaker one.
    pub fn load(config: &JwtConfig) -> Result<JwtVerifier, String> {
        let text = std::fs::read_to_string(&config.jwks_file)
            .map_err(|err| format!("cannot read {}: {err}", config.jwks_file.display()))?;
        let set: JwkSet = serde_json::from_str(&text)
            .map_err(|err| format!("{} is not a jwks: {err}", config.jwks_file.display()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or("every key in the jwks needs a kid")?;
            let algorithm = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(ec)
                    if ec.curve == jsonwebtoken::jwk::EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => {
                    return Err(format!(
                        "key {kid}: only RS256 and ES256 (P-256) keys are accepted"
                    ));
                }
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|err| format!("key {kid}: {err}"))?;
            keys.insert(kid, (algorithm, key));
        }
        Ok(JwtVerifier {
            keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            la_claim: config.la_claim.clone(),
            school_claim: config.school_claim.clone(),
        })
    }

    pub fn verify(&self, token: &str) -> Result<JwtUser, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        let (algorithm, key) = header
            .kid
            .as_ref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(JwtError::Invalid)?;
        if header.alg != *algorithm {
            return Err(JwtError::Invalid);
        }
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // A token whose `nbf` is still ahead must not be accepted yet (RFC 7519 4.1.5); the
        // library checks it only when asked.
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<HashMap<String, Value>>(token, key, &validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => JwtError::Expired,
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => JwtError::Malformed,
                _ => JwtError::Invalid,
            })?
            .claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(JwtError::Invalid)?
            .to_owned();
        if !self.school_claim.is_empty()
            && let Some(urn) = claims.get(&self.school_claim)
        {
            let urn = match urn {
                Value::String(s) => s.clone(),
                Value::Number(n) => format!("{n:0>6}"),
                _ => return Err(JwtError::Invalid),
            };
            let urn = rollcall_domain::Urn::parse(&urn).map_err(|_| JwtError::Invalid)?;
            return Ok(JwtUser {
                subject,
                acts_for: ActsFor::School(urn.get() as i32),
            });
        }
        let la = match claims.get(&self.la_claim) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => format!("{n:0>3}"),
            _ => return Err(JwtError::Invalid),
        };
        let la = rollcall_domain::LaCode::parse(&la).map_err(|_| JwtError::Invalid)?;
        if !la.is_current() {
            return Err(JwtError::Invalid);
        }
        Ok(JwtUser {
            subject,
            acts_for: ActsFor::La(la.get() as i16),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KID: &str = "idp-1";

    /// A verifier holding one ES256 key, and a signer with its private half.
    fn verifier() -> (JwtVerifier, jsonwebtoken::EncodingKey) {
        let pair = rcgen::KeyPair::generate().unwrap(); // ECDSA P-256
        let public = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes()).unwrap();
        let verifier = JwtVerifier {
            keys: HashMap::from([(KID.to_owned(), (Algorithm::ES256, public))]),
            issuer: "https://idp.test".into(),
            audience: "rollcall".into(),
            la_claim: "la_code".into(),
            school_claim: "school_urn".into(),
        };
        let signer =
            jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        (verifier, signer)
    }

    fn token(signer: &jsonwebtoken::EncodingKey, extra: serde_json::Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = serde_json::json!({
            "iss": "https://idp.test", "aud": "rollcall", "sub": "officer",
            "exp": now + 600, "la_code": "937",
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, &claims, signer).unwrap()
    }

    #[test]
    fn a_token_not_yet_valid_is_refused_until_its_nbf() {
        let (verifier, signer) = verifier();
        let now = chrono::Utc::now().timestamp();
        let user = verifier
            .verify(&token(&signer, serde_json::json!({"nbf": now - 60})))
            .unwrap();
        assert_eq!(user.acts_for, ActsFor::La(937));
        assert_eq!(
            verifier.verify(&token(&signer, serde_json::json!({"nbf": now + 3600}))),
            Err(JwtError::Invalid)
        );
    }
}
