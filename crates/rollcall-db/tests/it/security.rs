//! Keys, vendor registrations, reads scoped to the caller, and the append-only audit trail.

use chrono::{Duration, Utc};
use rollcall_db::{Access, NewApiKey, NewAuditEvent, Principal, PrincipalKind, PupilAccess, Scope};

use crate::common::*;
use crate::queries::la_fixture;

fn user(kind: PrincipalKind) -> Principal {
    Principal::authenticated("test-key", kind)
}

#[tokio::test]
async fn keys_are_stored_listed_and_revoked() {
    let db = TestDb::new().await;
    let key = NewApiKey {
        key_id: "0123456789abcdef".into(),
        secret_sha256: vec![7; 32],
        kind: "vendor".into(),
        organisation: "acme-mis".into(),
        description: "acme's production feed".into(),
        expires_at: Utc::now() + Duration::days(90),
    };
    let stored = rollcall_db::create_api_key(&db.pool, &key).await.unwrap();
    assert_eq!(stored.vendor_schools, Vec::<i32>::new());
    rollcall_db::set_vendor_schools(&db.pool, "acme-mis", &[PRIMARY, INDEPENDENT])
        .await
        .unwrap();
    rollcall_db::set_vendor_schools(&db.pool, "acme-mis", &[INDEPENDENT])
        .await
        .unwrap();
    let found = rollcall_db::find_api_key(&db.pool, &key.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.vendor_schools, vec![INDEPENDENT]);
    assert_eq!(found.secret_sha256, key.secret_sha256);
    assert_eq!(found.revoked_at, None);
    // A hash of the wrong length is refused by the schema.
    let short = NewApiKey {
        key_id: "short".into(),
        secret_sha256: vec![1; 8],
        ..key.clone()
    };
    assert!(rollcall_db::create_api_key(&db.pool, &short).await.is_err());

    assert!(
        rollcall_db::revoke_api_key(&db.pool, &key.key_id)
            .await
            .unwrap()
    );
    let first = rollcall_db::find_api_key(&db.pool, &key.key_id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .unwrap();
    assert!(
        rollcall_db::revoke_api_key(&db.pool, &key.key_id)
            .await
            .unwrap()
    );
    let again = rollcall_db::find_api_key(&db.pool, &key.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(first),
        "the first revocation time stays"
    );
    assert!(!rollcall_db::revoke_api_key(&db.pool, "nope").await.unwrap());
    assert_eq!(rollcall_db::list_api_keys(&db.pool).await.unwrap().len(), 1);
    db.close().await;
}

#[tokio::test]
async fn reads_never_leave_the_callers_organisation() {
    let db = TestDb::with_schools().await;
    la_fixture(&db).await;
    let (from, to) = (date("2025-09-01"), date("2025-09-30"));
    let warwickshire = Access::of(&user(PrincipalKind::La(937)));

    // Asking for another LA, or another LA's school, returns nothing.
    for scope in [Scope::La(330), Scope::School(BIRMINGHAM)] {
        let rows = rollcall_db::enrolment_code_counts(&db.pool, &warwickshire, scope, from, to)
            .await
            .unwrap();
        assert!(rows.is_empty(), "{scope:?}");
        assert!(
            rollcall_db::school_enrolment_counts(&db.pool, &warwickshire, scope)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let own = rollcall_db::enrolment_code_counts(&db.pool, &warwickshire, Scope::La(937), from, to)
        .await
        .unwrap();
    assert!(!own.is_empty());
    let listed = rollcall_db::list_schools(&db.pool, &warwickshire, None)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|s| s.urn).collect::<Vec<_>>(),
        vec![PRIMARY, INDEPENDENT]
    );

    // Pupil rows of another LA's school are left out even when their ids are asked for.
    let all: Vec<i64> = sqlx::query_scalar("select id from enrolments")
        .fetch_all(db.pool.pg())
        .await
        .unwrap();
    let school = PupilAccess::of(&user(PrincipalKind::School(PRIMARY))).unwrap();
    let seen = rollcall_db::enrolments_by_id(&db.pool, &school, &all)
        .await
        .unwrap();
    assert!(!seen.is_empty() && seen.iter().all(|e| e.school_urn == PRIMARY));
    db.close().await;
}

#[tokio::test]
async fn the_audit_shows_each_viewer_only_its_own_pupils_and_cannot_be_changed() {
    let db = TestDb::with_schools().await;
    la_fixture(&db).await;
    let ids: Vec<(i64, i32)> = sqlx::query_as("select id, school_urn from enrolments order by id")
        .fetch_all(db.pool.pg())
        .await
        .unwrap();
    let all: Vec<i64> = ids.iter().map(|(id, _)| *id).collect();
    let la_user = user(PrincipalKind::La(937));
    rollcall_db::record_audit_event(
        &db.pool,
        &NewAuditEvent {
            principal: &la_user,
            rpc: "rollcall.query.v1.QueryService/AtRiskPupils",
            purpose: "weekly attendance review",
            request_scope: "la 937".into(),
            enrolment_ids: &all,
        },
    )
    .await
    .unwrap();
    let since = Utc::now() - Duration::hours(1);

    let school = PupilAccess::of(&user(PrincipalKind::School(PRIMARY))).unwrap();
    let events = rollcall_db::list_audit_events(&db.pool, &school, since, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let own: Vec<i64> = ids
        .iter()
        .filter(|(_, urn)| *urn == PRIMARY)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(events[0].enrolment_ids, own);
    assert_eq!(
        (events[0].key_id.as_str(), events[0].principal_kind.as_str()),
        ("test-key", "la")
    );
    assert_eq!(
        (events[0].organisation.as_str(), events[0].purpose.as_str()),
        ("937", "weekly attendance review")
    );
    // Birmingham's pupils were returned too: Birmingham sees only those.
    let birmingham = PupilAccess::of(&user(PrincipalKind::La(330))).unwrap();
    let theirs = rollcall_db::list_audit_events(&db.pool, &birmingham, since, 100)
        .await
        .unwrap();
    assert!(
        theirs[0]
            .enrolment_ids
            .iter()
            .all(|id| ids.contains(&(*id, BIRMINGHAM)))
    );

    for sql in [
        "update audit_events set purpose = 'nothing to see'",
        "delete from audit_enrolments",
        "truncate audit_events cascade",
    ] {
        let err = sqlx::query(sql).execute(db.pool.pg()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    db.close().await;
}
