//! Failures classified as a real PostgreSQL server reports them: refused values are not
//! transient and their messages quote no value; a dropped connection is transient.

use rollcall_db::{Error, ErrorKind};

use crate::common::*;

#[tokio::test]
async fn a_nul_in_a_name_is_refused_for_good_and_the_error_quotes_nothing() {
    let db = TestDb::with_schools().await;
    let upn = "A000000000001";
    let mut named = pupil(upn);
    named.forename = "Ada\0Lovelace".into();
    let bad = feed(
        id(1),
        PRIMARY,
        "2025-09-08T16:00:00Z",
        vec![named],
        vec![mark(upn, "2025-09-08", 0, "/")],
    );
    let err = rollcall_db::apply_validated_feed(&db.pool, &bad)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert!(!err.is_transient());
    let refusal = err.refusal();
    assert_eq!(refusal.sqlstate.as_deref(), Some("22021"), "{refusal:?}");
    for text in [err.to_string(), format!("{refusal:?}")] {
        assert!(
            !text.contains("Ada") && !text.contains("Lovelace"),
            "{text}"
        );
    }
    // Nothing of the feed was stored.
    assert_eq!(rollcall_db::get_feed(&db.pool, id(1)).await.unwrap(), None);
    db.close().await;
}

#[tokio::test]
async fn a_value_postgresql_would_quote_stays_out_of_the_message() {
    let db = TestDb::new().await;
    // PostgreSQL's own message is `invalid input syntax for type date: "Ada Lovelace"`.
    let err: Error = sqlx::query("select $1::text::date")
        .bind("Ada Lovelace")
        .execute(db.pool.pg())
        .await
        .unwrap_err()
        .into();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(err.refusal().sqlstate.as_deref(), Some("22007"));
    assert!(!err.to_string().contains("Ada"), "{err}");
    // No source either: printing the error's chain cannot bring PostgreSQL's message back.
    assert!(std::error::Error::source(&err).is_none());

    let unique: Error = sqlx::query("insert into schools (urn, la_code, name, phase, school_type, independent) values (1, 937, 'x', 'primary', 'x', false), (1, 937, 'y', 'primary', 'x', false)")
        .execute(db.pool.pg())
        .await
        .unwrap_err()
        .into();
    assert_eq!(unique.kind(), ErrorKind::Refused);
    let refusal = unique.refusal();
    assert_eq!(refusal.sqlstate.as_deref(), Some("23505"));
    assert_eq!(refusal.constraint.as_deref(), Some("schools_pkey"));
    assert_eq!(refusal.table.as_deref(), Some("schools"));
    db.close().await;
}

#[tokio::test]
async fn a_connection_ended_by_the_server_is_transient() {
    let db = TestDb::new().await;
    let mut victim = db.pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut *victim)
        .await
        .unwrap();
    let killer = rollcall_db::connect(&db.url, 1).await.unwrap();
    sqlx::query("select pg_terminate_backend($1)")
        .bind(pid)
        .execute(killer.pg())
        .await
        .unwrap();
    let err: Error = sqlx::query("select 1")
        .execute(&mut *victim)
        .await
        .unwrap_err()
        .into();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    killer.close().await;
    drop(victim);
    db.close().await;
}
