//! Pupils named in a session by opaque references, so that no URL (and so no browser history,
//! proxy log or referrer) ever carries a UPN. A list page gives each pupil it shows a reference
//! (`/pupils/{reference}`), random and known only to this session; the pupil's page turns it back
//! into the UPN to ask the query service for. The same pupil keeps one reference for the
//! session; the oldest are forgotten past [`MAX_REFERENCES`], and all with the session.

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use rand::TryRngCore as _;

/// The most references a session keeps (a whole LA's at-risk list downloaded is a few thousand).
pub const MAX_REFERENCES: usize = 20_000;

/// One session's references. Its `Debug` shows how many, never a UPN.
#[derive(Default)]
pub struct PupilRefs {
    upns: HashMap<String, String>,
    references: HashMap<String, String>,
    order: VecDeque<String>,
}

impl PupilRefs {
    /// The reference of the pupil with `upn`: the one given before, or a new one.
    pub fn reference(&mut self, upn: &str) -> String {
        if let Some(reference) = self.references.get(upn) {
            return reference.clone();
        }
        if self.order.len() >= MAX_REFERENCES
            && let Some(oldest) = self.order.pop_front()
            && let Some(upn) = self.upns.remove(&oldest)
        {
            self.references.remove(&upn);
        }
        let reference = new_reference();
        self.upns.insert(reference.clone(), upn.to_owned());
        self.references.insert(upn.to_owned(), reference.clone());
        self.order.push_back(reference.clone());
        reference
    }

    /// The UPN `reference` stands for, if this session gave it.
    pub fn upn(&self, reference: &str) -> Option<String> {
        self.upns.get(reference).cloned()
    }

    /// How many pupils have a reference.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

impl std::fmt::Debug for PupilRefs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PupilRefs({} pupils)", self.len())
    }
}

/// 128 random bits, base64url without padding: 22 characters.
fn new_reference() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pupil_keeps_one_reference_that_names_no_upn_and_the_oldest_go_first() {
        let mut refs = PupilRefs::default();
        let a = refs.reference("H801200001001");
        assert_eq!(refs.reference("H801200001001"), a);
        assert_eq!(a.len(), 22);
        assert!(!a.contains("H801200001001"));
        assert_eq!(refs.upn(&a).as_deref(), Some("H801200001001"));
        assert_eq!(refs.upn("made-up"), None);
        assert_eq!(format!("{refs:?}"), "PupilRefs(1 pupils)");
        for i in 0..MAX_REFERENCES {
            refs.reference(&format!("U{i}"));
        }
        assert_eq!(refs.len(), MAX_REFERENCES);
        assert_eq!(refs.upn(&a), None, "the oldest reference is forgotten");
    }
}
