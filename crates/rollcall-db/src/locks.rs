//! The advisory locks Rollcall's writers take, in one place: a school's (every write of its
//! marks and totals) and the code table's (numbering codes). Each is a transaction lock
//! (`pg_advisory_xact_lock(class, key)`), released when the caller's transaction ends; the first
//! key names the class, so the two never collide.

use sqlx::PgConnection;

use crate::Result;

/// Advisory lock classes (the first key of `pg_advisory_xact_lock(int, int)`): "Roll" and "Code".
const CLASS_SCHOOL: i32 = 0x526f_6c6c;
const CLASS_CODES: i32 = 0x436f_6465;

/// Takes the locks of the schools `urns` (sorted and without repeats, so that every writer locks
/// in URN order and two writers sharing schools wait for each other instead of deadlocking):
/// one school's feeds are applied one at a time, feeds of other schools in parallel.
pub(crate) async fn lock_schools(conn: &mut PgConnection, urns: &[i32]) -> Result<()> {
    debug_assert!(urns.is_sorted(), "school locks are taken in urn order");
    // `unnest` yields the array in order.
    sqlx::query("select pg_advisory_xact_lock($1, u) from unnest($2::int4[]) as u")
        .bind(CLASS_SCHOOL)
        .bind(urns)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes the code table's lock: codes are numbered by one transaction at a time.
pub(crate) async fn lock_codes(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("select pg_advisory_xact_lock($1, 0)")
        .bind(CLASS_CODES)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
