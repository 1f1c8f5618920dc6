//! Which kinds of caller may call which method: checked before any handler runs. A method not
//! listed here is refused to everyone, so a new RPC is closed until someone decides who may call
//! it. Whether the caller's organisation covers the school or LA asked for is checked where the
//! data is read (the handlers and the SQL scope), not here.

/// A kind of caller, without its organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Vendor,
    La,
    School,
    Operations,
    Exporter,
    Admin,
}

impl Kind {
    pub fn of(kind: &rollcall_db::PrincipalKind) -> Kind {
        use rollcall_db::PrincipalKind as P;
        match kind {
            P::Vendor { .. } => Kind::Vendor,
            P::La(_) => Kind::La,
            P::School(_) => Kind::School,
            P::Operations => Kind::Operations,
            P::Exporter => Kind::Exporter,
            P::Admin => Kind::Admin,
        }
    }
}

/// Methods anyone may call without credentials: health checks (load balancers) and reflection
/// (the schema is public; it carries no data).
pub fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// The kinds that may call `path` (`/package.Service/Method`); `None` for an unknown method.
pub fn allowed(path: &str) -> Option<&'static [Kind]> {
    use Kind::*;
    let kinds: &'static [Kind] = match path.strip_prefix('/')? {
        // Vendors send for their registered schools; an independent school sends its own files.
        "rollcall.feed.v1.FeedService/SubmitFeed" => &[Vendor, School],
        "rollcall.feed.v1.FeedService/ValidateFeed" => &[Vendor, School],
        // Receipts carry counts and findings (no personal data): the sender, the school's LA,
        // and operations watching the pipeline.
        "rollcall.feed.v1.FeedService/GetFeedReceipt"
        | "rollcall.feed.v1.FeedService/ListFeeds"
        | "rollcall.feed.v1.FeedService/ListFeedFindings"
        | "rollcall.feed.v1.FeedService/WatchReceipts"
        | "rollcall.feed.v1.FeedService/GetReconciliation" => &[Vendor, School, La, Operations],
        // Aggregate measures: the LA, the school, and the national exporter.
        "rollcall.query.v1.QueryService/SchoolSummary" => &[La, School, Exporter],
        "rollcall.query.v1.QueryService/LaSummary" => &[La, Exporter],
        // Named pupils: only those responsible for them, and audited.
        "rollcall.query.v1.QueryService/AtRiskPupils"
        | "rollcall.query.v1.QueryService/ApproachingPersistent"
        | "rollcall.query.v1.QueryService/FindPupils"
        | "rollcall.query.v1.QueryService/PupilTimeline" => &[La, School],
        "rollcall.query.v1.AuditService/ListAuditEvents" => &[La, School],
        // The DfE layout is aggregate: an LA's own rows, or any rows for the national exporter.
        "rollcall.export.v1.ExportService/EesYearToDate" => &[La, Exporter],
        // Pupil-level files: only those responsible for the pupils, and audited.
        "rollcall.export.v1.ExportService/PupilSessions"
        | "rollcall.export.v1.ExportService/CensusTerm" => &[La, School],
        // Counts of feeds and marks across every school: no school's figures, no pupil.
        "rollcall.query.v1.PipelineService/PipelineCounts" => &[Operations, Admin],
        // Rejected records by position and rule, parked feeds by refusal: never a value sent.
        "rollcall.query.v1.PipelineService/ListDeadLetterGroups"
        | "rollcall.query.v1.PipelineService/ListDeadLetters"
        | "rollcall.query.v1.PipelineService/ListParkedFeeds" => &[Operations, Admin],
        // Applying a parked feed again changes the LA's figures: operations decide it.
        "rollcall.query.v1.PipelineService/ReplayParkedFeed" => &[Operations, Admin],
        "rollcall.query.v1.PipelineService/RequestSchoolReplay" => &[Operations, Admin],
        "rollcall.query.v1.PipelineService/GetSchoolReplay" => &[Operations, Admin],
        // Feeds' times and counts per school and per sender: no school's attendance figures.
        "rollcall.query.v1.PipelineService/SchoolStatus"
        | "rollcall.query.v1.PipelineService/SenderStatus" => &[Operations, Admin],
        "rollcall.query.v1.RegistryService/ImportCalendar" => &[Admin],
        "rollcall.query.v1.RegistryService/ImportSchools" => &[Admin],
        "rollcall.query.v1.RegistryService/ListSchools" => {
            &[Vendor, La, School, Operations, Exporter, Admin]
        }
        "rollcall.admin.v1.KeyService/CreateKey"
        | "rollcall.admin.v1.KeyService/ListKeys"
        | "rollcall.admin.v1.KeyService/RevokeKey"
        | "rollcall.admin.v1.KeyService/SetVendorSchools" => &[Admin],
        _ => return None,
    };
    Some(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pupil_level_methods_are_for_la_and_school_users_only() {
        let at_risk = allowed("/rollcall.query.v1.QueryService/AtRiskPupils").unwrap();
        assert_eq!(at_risk, &[Kind::La, Kind::School]);
        assert!(allowed("/rollcall.query.v1.QueryService/Nope").is_none());
        assert!(allowed("rollcall.query.v1.QueryService/AtRiskPupils").is_none());
        assert!(is_open("/grpc.health.v1.Health/Check"));
        assert!(!is_open("/rollcall.admin.v1.KeyService/CreateKey"));
    }
}
