//! Who is asking, and what they may see: the scope every read takes.
//!
//! The read functions do not take a bare LA code or URN to trust: they take an [`Access`] (what
//! schools' figures the caller may see) or a [`PupilAccess`] (whose pupils' rows), and filter in
//! SQL. Both are built only from a [`Principal`], which the server's authentication layer makes
//! once it has verified the caller's credentials; so a handler that forgets a check still cannot
//! read another LA's pupils, and a kind that may never see pupil-level rows (operations, an
//! exporter, a vendor) cannot get a [`PupilAccess`] at all.

use std::fmt;

/// What kind of caller a credential stands for, with the organisation it acts for.
#[derive(Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An MIS vendor, and the schools (URNs) it is registered to send feeds for.
    Vendor { vendor: String, schools: Vec<i32> },
    /// A user of a local authority (LA code): every school in the LA, independent ones included.
    La(i16),
    /// A user of one school (URN).
    School(i32),
    /// Runs the service: pipeline state, receipts, the registry; never pupil-level rows.
    Operations,
    /// A national role (DfE-style): aggregate figures across every LA.
    Exporter,
    /// Manages keys, vendor registrations and the school registry.
    Admin,
}

impl PrincipalKind {
    /// The name stored with keys and in the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            PrincipalKind::Vendor { .. } => "vendor",
            PrincipalKind::La(_) => "la",
            PrincipalKind::School(_) => "school",
            PrincipalKind::Operations => "operations",
            PrincipalKind::Exporter => "exporter",
            PrincipalKind::Admin => "admin",
        }
    }

    /// The organisation as stored: vendor name, LA code, URN, or empty for national kinds.
    pub fn organisation(&self) -> String {
        match self {
            PrincipalKind::Vendor { vendor, .. } => vendor.clone(),
            PrincipalKind::La(la) => format!("{la:03}"),
            PrincipalKind::School(urn) => format!("{urn:06}"),
            PrincipalKind::Operations | PrincipalKind::Exporter | PrincipalKind::Admin => {
                String::new()
            }
        }
    }
}

impl fmt::Debug for PrincipalKind {
    /// A vendor's school list can be long; its length is enough in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrincipalKind::Vendor { vendor, schools } => {
                write!(f, "Vendor({vendor}, {} schools)", schools.len())
            }
            PrincipalKind::La(la) => write!(f, "La({la:03})"),
            PrincipalKind::School(urn) => write!(f, "School({urn:06})"),
            PrincipalKind::Operations => f.write_str("Operations"),
            PrincipalKind::Exporter => f.write_str("Exporter"),
            PrincipalKind::Admin => f.write_str("Admin"),
        }
    }
}

/// An authenticated caller: the credential's public id and what it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    key_id: String,
    kind: PrincipalKind,
}

impl Principal {
    /// Only the authentication layer (and tests) make principals, after checking a credential.
    pub fn authenticated(key_id: impl Into<String>, kind: PrincipalKind) -> Principal {
        Principal {
            key_id: key_id.into(),
            kind,
        }
    }

    /// The credential's public id: an API key id, `jwt:<subject>` or `cert:<vendor>`.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn kind(&self) -> &PrincipalKind {
        &self.kind
    }

    /// The sender a feed from this caller is recorded and counted under: a vendor's registered
    /// name, or the kind (`school` for a school sending its own files). Never a key or a URN.
    pub fn sender(&self) -> &str {
        match &self.kind {
            PrincipalKind::Vendor { vendor, .. } => vendor,
            other => other.name(),
        }
    }

    /// May this caller send a feed for school `urn`? Vendors for their registered schools, a
    /// school (independent schools send CSV files through the CLI) for itself.
    pub fn may_submit_for(&self, urn: i32) -> bool {
        match &self.kind {
            PrincipalKind::Vendor { schools, .. } => schools.contains(&urn),
            PrincipalKind::School(own) => *own == urn,
            _ => false,
        }
    }
}

/// Which schools' figures (aggregates, registry entries, receipts) a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub(crate) everything: bool,
    pub(crate) la_codes: Vec<i16>,
    pub(crate) urns: Vec<i32>,
}

impl Access {
    pub fn of(principal: &Principal) -> Access {
        let (everything, la_codes, urns) = match &principal.kind {
            PrincipalKind::Vendor { schools, .. } => (false, vec![], schools.clone()),
            PrincipalKind::La(la) => (false, vec![*la], vec![]),
            PrincipalKind::School(urn) => (false, vec![], vec![*urn]),
            PrincipalKind::Operations | PrincipalKind::Exporter | PrincipalKind::Admin => {
                (true, vec![], vec![])
            }
        };
        Access {
            everything,
            la_codes,
            urns,
        }
    }

    /// Whether a school (its URN and LA code) is within this access.
    pub fn covers(&self, urn: i32, la_code: i16) -> bool {
        self.everything || self.la_codes.contains(&la_code) || self.urns.contains(&urn)
    }

    /// Whether every school of LA `la_code` is within this access.
    pub fn covers_la(&self, la_code: i16) -> bool {
        self.everything || self.la_codes.contains(&la_code)
    }
}

/// Whose pupils' rows (names, UPNs, per-pupil figures) a caller may see: only an LA user (its
/// LA's schools) or a school user (its own school).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PupilAccess(pub(crate) Access);

impl PupilAccess {
    /// `None` for every kind that may never see a pupil-level row.
    pub fn of(principal: &Principal) -> Option<PupilAccess> {
        match principal.kind {
            PrincipalKind::La(_) | PrincipalKind::School(_) => {
                Some(PupilAccess(Access::of(principal)))
            }
            _ => None,
        }
    }

    pub fn schools(&self) -> &Access {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(kind: PrincipalKind) -> Principal {
        Principal::authenticated("k", kind)
    }

    #[test]
    fn each_kind_sees_its_own_organisation() {
        let la = Access::of(&of(PrincipalKind::La(937)));
        assert!(la.covers(100001, 937) && !la.covers(100001, 330));
        assert!(la.covers_la(937) && !la.covers_la(330));
        let school = Access::of(&of(PrincipalKind::School(100001)));
        assert!(school.covers(100001, 937) && !school.covers(100002, 937));
        assert!(!school.covers_la(937));
        let vendor = of(PrincipalKind::Vendor {
            vendor: "acme".into(),
            schools: vec![100001],
        });
        assert!(vendor.may_submit_for(100001) && !vendor.may_submit_for(100002));
        assert!(Access::of(&of(PrincipalKind::Exporter)).covers_la(330));
    }

    #[test]
    fn only_la_and_school_users_see_pupils() {
        for kind in [
            PrincipalKind::Operations,
            PrincipalKind::Exporter,
            PrincipalKind::Admin,
            PrincipalKind::Vendor {
                vendor: "acme".into(),
                schools: vec![100001],
            },
        ] {
            assert_eq!(PupilAccess::of(&of(kind.clone())), None, "{kind:?}");
        }
        assert!(PupilAccess::of(&of(PrincipalKind::La(937))).is_some());
        assert!(PupilAccess::of(&of(PrincipalKind::School(100001))).is_some());
    }
}
