//! Reconciliation: how a sender checks that what the LA holds equals its MIS without either
//! side sending the other its pupils. For a school and a range of dates Rollcall gives, per
//! pupil and date, a digest of the day's two codes under a pseudonymous key of the pupil; the
//! sender computes the same from its own register and compares. Equal digests: the same day.
//! The key and the digest are truncated SHA-256, so neither names a UPN.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// The method, as the answer states it, so a sender can compute the same in any language.
pub const METHOD: &str = "pupil = first 16 hex digits of sha256(\"rollcall-reconcile-v1 pupil\\n\" + upn); \
    digest = first 16 hex digits of sha256(\"rollcall-reconcile-v1 day\\n\" + upn + \"\\n\" + date + \"\\n\" + am code + \"\\n\" + pm code), \
    a code empty when no mark is held; date YYYY-MM-DD";

/// The pseudonymous key of the pupil with `upn`.
pub fn pupil_key(upn: &str) -> String {
    short(
        Sha256::new()
            .chain_update("rollcall-reconcile-v1 pupil\n")
            .chain_update(upn),
    )
}

/// The digest of a pupil's day: its morning's and afternoon's codes (`None`: no mark).
pub fn day_digest(upn: &str, date: NaiveDate, am: Option<&str>, pm: Option<&str>) -> String {
    short(
        Sha256::new()
            .chain_update("rollcall-reconcile-v1 day\n")
            .chain_update(upn)
            .chain_update("\n")
            .chain_update(date.to_string())
            .chain_update("\n")
            .chain_update(am.unwrap_or(""))
            .chain_update("\n")
            .chain_update(pm.unwrap_or("")),
    )
}

fn short(hash: Sha256) -> String {
    hex::encode(&hash.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_digests_name_no_upn_and_tell_days_apart() {
        let upn = "W937200001001";
        let day = NaiveDate::from_ymd_opt(2025, 10, 6).unwrap();
        let key = pupil_key(upn);
        assert_eq!(key.len(), 16);
        assert!(!key.contains("937200001001"));
        assert_eq!(key, pupil_key(upn), "the same pupil, the same key");
        assert_ne!(key, pupil_key("K937200001002"));
        let present = day_digest(upn, day, Some("/"), Some("/"));
        assert_eq!(present, day_digest(upn, day, Some("/"), Some("/")));
        assert_ne!(present, day_digest(upn, day, Some("/"), Some("I")));
        assert_ne!(present, day_digest(upn, day, Some("/"), None));
        // The separators keep the codes apart: "//" then "" is not "/" then "/".
        assert_ne!(present, day_digest(upn, day, Some("//"), None));
    }
}
