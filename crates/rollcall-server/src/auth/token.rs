//! API key tokens: `rc_<key id>_<secret>`, a public 64-bit key id and a 256-bit secret from the
//! operating system's random number generator, both as lowercase hex.
//!
//! Only the SHA-256 of the secret is stored. A slow password hash would add nothing: the secret
//! is random and 256 bits long, so no guess list exists for it, and a fast hash keeps every call's
//! check cheap. Hashes are compared in constant time.

use rand::TryRngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

const PREFIX: &str = "rc_";
const KEY_ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A token taken apart. `Debug` leaves the secret out.
pub struct Token {
    pub key_id: String,
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// A new random token.
    pub fn generate() -> Token {
        let mut id = [0u8; KEY_ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        let mut rng = rand::rngs::OsRng;
        rng.try_fill_bytes(&mut id)
            .expect("the operating system's random number generator works");
        rng.try_fill_bytes(&mut secret)
            .expect("the operating system's random number generator works");
        Token {
            key_id: hex::encode(id),
            secret,
        }
    }

    /// Parses `rc_<16 hex>_<64 hex>`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Token> {
        let (key_id, secret_hex) = text.strip_prefix(PREFIX)?.split_once('_')?;
        let lower_hex = |s: &str, bytes: usize| {
            s.len() == bytes * 2 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if !lower_hex(key_id, KEY_ID_BYTES) || !lower_hex(secret_hex, SECRET_BYTES) {
            return None;
        }
        let mut secret = [0u8; SECRET_BYTES];
        hex::decode_to_slice(secret_hex, &mut secret).ok()?;
        Some(Token {
            key_id: key_id.to_owned(),
            secret,
        })
    }

    /// Whether `text` looks like one of our tokens (so a malformed one is told apart from a JWT).
    pub fn looks_like(text: &str) -> bool {
        text.starts_with(PREFIX)
    }

    /// What is stored: the SHA-256 of the secret.
    pub fn secret_sha256(&self) -> Vec<u8> {
        Sha256::digest(self.secret).to_vec()
    }

    /// Whether the secret's hash is `stored`, compared in constant time.
    pub fn matches(&self, stored: &[u8]) -> bool {
        self.secret_sha256().ct_eq(stored).into()
    }

    /// The token as the caller sends it. Shown once, when the key is made.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.key_id, hex::encode(self.secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_parses_back_and_matches_its_hash() {
        let token = Token::generate();
        let text = token.reveal();
        assert_eq!(text.len(), 3 + 16 + 1 + 64);
        let parsed = Token::parse(&text).unwrap();
        assert_eq!(parsed.key_id, token.key_id);
        assert!(parsed.matches(&token.secret_sha256()));
        assert!(!parsed.matches(&Token::generate().secret_sha256()));
        assert!(
            !format!("{parsed:?}").contains(&text[20..]),
            "debug hides the secret"
        );
        assert_ne!(Token::generate().reveal(), text);
    }

    #[test]
    fn anything_else_is_malformed() {
        let good = Token::generate().reveal();
        for bad in [
            "",
            "rc_",
            "rc_0123_abcd",
            &good.to_uppercase(),
            &good.replacen("rc_", "xx_", 1),
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.replacen('_', "-", 2),
        ] {
            assert!(Token::parse(bad).is_none(), "{bad}");
        }
    }
}
