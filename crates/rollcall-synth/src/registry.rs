//! The synthetic LA's schools as registry rows, for loading them straight into the database
//! (the benchmark's year, the workers' tests) rather than through the registry service.

use crate::School;

/// `schools` as `rollcall-db`'s registry rows.
pub fn registry_rows(schools: &[School]) -> Vec<rollcall_db::School> {
    schools
        .iter()
        .map(|s| rollcall_db::School {
            urn: s.urn as i32,
            la_code: s.la_code as i16,
            name: s.name.clone(),
            phase: s.phase.clone(),
            school_type: s.school_type.clone(),
            independent: s.independent,
        })
        .collect()
}
