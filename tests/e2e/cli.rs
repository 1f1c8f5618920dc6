//! The `rollcall` CLI against the running services, as an independent school or an LA user would
//! use it: import the registry from CSV, submit CSV files, read the receipt, query.

use serde_json::Value;

use crate::harness::{Pipeline, bin};

/// Runs the CLI as the holder of `token`, without blocking the runtime the in-process services
/// share.
pub async fn rollcall_as(
    pipeline: &Pipeline,
    token: &str,
    args: &[&str],
) -> (bool, String, String) {
    let output = tokio::process::Command::new(bin("rollcall"))
        .args(["--gateway", &format!("http://{}", pipeline.gateway_addr)])
        .args(["--query", &format!("http://{}", pipeline.query_addr)])
        .env("ROLLCALL_TOKEN", token)
        .args(args)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

pub async fn json_as(pipeline: &Pipeline, token: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = rollcall_as(pipeline, token, &all).await;
    assert!(ok, "rollcall {args:?} failed: {stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("rollcall {args:?}: not json ({err}): {stdout}"))
}

#[tokio::test]
async fn an_independent_school_sends_csv_files_and_the_la_sees_them() {
    let pipeline = Pipeline::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    std::fs::write(
        path("schools.csv"),
        "urn,la_code,name,phase,school_type,independent\n\
         100001,937,Kenilworth Primary School,primary,academy,N\n\
         100009,937,Rugby House School,secondary,independent,Y\n",
    )
    .unwrap();
    let (a, b) = (crate::harness::upn(937, 1), crate::harness::upn(937, 2));
    // An independent school's roll: only the columns it has.
    std::fs::write(
        path("roll.csv"),
        format!(
            "upn,forename,surname,date_of_birth,year_group,admission_date,leaving_date\n\
             {a},Ada,Pupil,2012-05-01,8,2024-09-04,\n\
             {b},Ben,Pupil,2012-06-01,8,2024-09-04,\n"
        ),
    )
    .unwrap();
    std::fs::write(
        path("marks.csv"),
        format!(
            "upn,date,session,code\n\
             {a},2025-10-06,AM,/\n{a},2025-10-06,PM,\\\n\
             {b},2025-10-06,AM,N\n{b},2025-10-06,PM,7\n"
        ),
    )
    .unwrap();

    // An admin keeps the registry; the independent school sends its own files with a school key;
    // the LA's attendance team reads with an LA key.
    let admin = pipeline.admin_token.clone();
    let school_key = pipeline.key("school", "100009").await;
    let la_key = pipeline.la_token.clone();
    let imported = json_as(
        &pipeline,
        &admin,
        &["schools", "import", &path("schools.csv")],
    )
    .await;
    assert_eq!(imported["imported"], 2);

    let receipt = json_as(
        &pipeline,
        &school_key,
        &[
            "submit",
            "--school",
            "100009",
            "--roll",
            &path("roll.csv"),
            "--marks",
            &path("marks.csv"),
        ],
    )
    .await;
    assert_eq!(receipt["status"], "enqueued");
    let feed_id = receipt["feed_id"].as_str().unwrap().to_owned();
    // The same files again: the default key is their hash, so nothing new is sent.
    let again = json_as(
        &pipeline,
        &school_key,
        &[
            "submit",
            "--school",
            "100009",
            "--roll",
            &path("roll.csv"),
            "--marks",
            &path("marks.csv"),
        ],
    )
    .await;
    assert_eq!(
        (again["feed_id"].as_str().unwrap(), &again["duplicate"]),
        (feed_id.as_str(), &Value::Bool(true))
    );

    let processed = json_as(
        &pipeline,
        &school_key,
        &["receipt", &feed_id, "--wait", "60"],
    )
    .await;
    assert_eq!(processed["status"], "processed");
    let outcome = &processed["outcome"];
    assert_eq!(
        (
            outcome["marks_accepted"].as_u64(),
            outcome["marks_rejected"].as_u64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(outcome["findings"][0]["code"], "UNKNOWN_CODE");
    assert_eq!(outcome["findings"][0]["record_index"], 3);

    let la = json_as(
        &pipeline,
        &la_key,
        &[
            "query",
            "la",
            "937",
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-31",
        ],
    )
    .await;
    let rows = la["schools"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let independent = rows
        .iter()
        .find(|r| r["school"]["urn"] == "100009")
        .unwrap();
    assert_eq!(independent["school"]["independent"], true);
    assert_eq!(independent["measures"]["possible_sessions"], 3);
    assert_eq!(independent["measures"]["overall_absence"], 1);
    assert_eq!(
        la["total"]["persistent_absentees"], 1,
        "one N in two possible sessions"
    );

    let at_risk = json_as(
        &pipeline,
        &school_key,
        &[
            "query",
            "at-risk",
            "--school",
            "100009",
            "--purpose",
            "pastoral review",
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-31",
        ],
    )
    .await;
    assert_eq!(at_risk["pupils"][0]["upn"], b.as_str());
    assert_eq!(at_risk["severe_count"], 1);

    // The table form is for people: it has a header and the total row.
    let (ok, table, _) = rollcall_as(
        &pipeline,
        &la_key,
        &[
            "query",
            "la",
            "937",
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-31",
        ],
    )
    .await;
    assert!(ok);
    assert!(table.contains("Warwickshire total"), "{table}");

    // Errors are one line with the stable code.
    let (ok, _, stderr) = rollcall_as(&pipeline, &la_key, &["query", "school", "12345"]).await;
    assert!(!ok);
    assert!(
        stderr.starts_with("rollcall: invalid argument: school_urn:")
            && stderr.contains("[INVALID_ARGUMENT]"),
        "{stderr}"
    );

    // The school's feed, sent with the CLI, can be read back and validated again.
    let operations = pipeline.key("operations", "").await;
    let replay = json_as(
        &pipeline,
        &operations,
        &["replay", "--school", "100009", "--dry-run"],
    )
    .await;
    assert_eq!(replay["status"], "done", "{replay}");
    assert_eq!(
        (
            replay["feeds_found"].as_u64(),
            replay["feeds_gone"].as_u64()
        ),
        (Some(1), Some(0)),
        "{replay}"
    );
    assert_eq!(replay["marks_written"], 0, "nothing new to write");
    pipeline.stop().await;
}

#[tokio::test]
async fn a_dry_run_finds_what_the_pipeline_would_and_stores_nothing() {
    let pipeline = Pipeline::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    std::fs::write(
        path("schools.csv"),
        "urn,la_code,name,phase,school_type,independent\n\
         100001,937,Kenilworth Primary School,primary,academy,N\n\
         100009,937,Rugby House School,secondary,independent,Y\n",
    )
    .unwrap();
    let (a, b) = (crate::harness::upn(937, 1), crate::harness::upn(937, 2));
    std::fs::write(
        path("roll.csv"),
        format!(
            "upn,forename,surname,date_of_birth,year_group,admission_date\n\
             {a},Ada,Pupil,2012-05-01,8,2024-09-04\n\
             {b},Ben,Pupil,2012-06-01,8,2024-09-04\n"
        ),
    )
    .unwrap();
    std::fs::write(
        path("marks.csv"),
        format!(
            "upn,date,session,code\n\
             {a},2025-10-06,AM,/\n{a},2025-10-06,PM,/\n\
             {b},2025-10-06,AM,N\n{b},2025-10-06,PM,7\n"
        ),
    )
    .unwrap();
    let admin = pipeline.admin_token.clone();
    json_as(
        &pipeline,
        &admin,
        &["schools", "import", &path("schools.csv")],
    )
    .await;
    let school_key = pipeline.key("school", "100009").await;
    let submit = |dry_run: bool| {
        let mut args = vec![
            "submit".to_owned(),
            "--school".to_owned(),
            "100009".to_owned(),
            "--roll".to_owned(),
            path("roll.csv"),
            "--marks".to_owned(),
            path("marks.csv"),
        ];
        if dry_run {
            args.push("--dry-run".to_owned());
        }
        args
    };
    let args = submit(true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let checked = json_as(&pipeline, &school_key, &args).await;
    assert_eq!(checked["dry_run"], true);
    let outcome = &checked["outcome"];
    assert_eq!(
        (
            outcome["marks_accepted"].as_u64(),
            outcome["marks_rejected"].as_u64(),
            outcome["marks_written"].as_u64()
        ),
        (Some(3), Some(1), Some(0))
    );
    let finding = &outcome["findings"][0];
    assert_eq!(
        (
            finding["code"].as_str(),
            finding["record_kind"].as_str(),
            finding["record_index"].as_u64(),
            finding["field"].as_str()
        ),
        (Some("UNKNOWN_CODE"), Some("mark"), Some(3), Some("code"))
    );

    // Nothing was stored: the same files sent for real are a new feed under their key, and the
    // pipeline finds what the dry run said.
    let args = submit(false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let receipt = json_as(&pipeline, &school_key, &args).await;
    assert_eq!(receipt["duplicate"], false);
    let feed_id = receipt["feed_id"].as_str().unwrap().to_owned();
    let processed = json_as(
        &pipeline,
        &school_key,
        &["receipt", &feed_id, "--wait", "60"],
    )
    .await;
    assert_eq!(processed["outcome"]["findings"], outcome["findings"]);
    assert_eq!(
        processed["outcome"]["marks_accepted"],
        outcome["marks_accepted"]
    );

    // The school's feeds: the one sent, not the dry run.
    let listed = json_as(
        &pipeline,
        &school_key,
        &[
            "feeds",
            "list",
            "--school",
            "100009",
            "--since",
            "2000-01-01",
        ],
    )
    .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0]["feed_id"].as_str(), listed[0]["status"].as_str()),
        (Some(feed_id.as_str()), Some("processed"))
    );
    assert_eq!(listed[0]["marks_accepted"], 3);
    // The LA sees it among its schools'; with no school named, a school sees only its own.
    let la = json_as(&pipeline, &pipeline.la_token, &["feeds", "list"]).await;
    assert!(
        la.as_array()
            .unwrap()
            .iter()
            .any(|f| f["feed_id"] == feed_id.as_str()),
        "{la}"
    );

    // The same authorisation as sending: another school's key may not check this school's
    // feed, nor list its feeds.
    let other = pipeline.key("school", "100001").await;
    let mine = json_as(&pipeline, &other, &["feeds", "list"]).await;
    assert_eq!(mine, serde_json::json!([]));
    let args = submit(true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = rollcall_as(&pipeline, &other, &args).await;
    assert!(!ok && stderr.contains("OUTSIDE_ORGANISATION"), "{stderr}");
    let (ok, _, stderr) =
        rollcall_as(&pipeline, &other, &["feeds", "list", "--school", "100009"]).await;
    assert!(!ok && stderr.contains("OUTSIDE_ORGANISATION"), "{stderr}");
}

#[tokio::test]
async fn a_folder_of_feeds_is_sent_in_order_and_a_second_run_sends_only_the_rest() {
    let pipeline = Pipeline::start().await;
    let dir = tempfile::tempdir().unwrap();
    let feeds = dir.path().join("feeds");
    std::fs::create_dir(&feeds).unwrap();
    std::fs::write(
        dir.path().join("schools.csv"),
        "urn,la_code,name,phase,school_type,independent\n\
         100009,937,Rugby House School,secondary,independent,Y\n",
    )
    .unwrap();
    let admin = pipeline.admin_token.clone();
    json_as(
        &pipeline,
        &admin,
        &[
            "schools",
            "import",
            dir.path().join("schools.csv").to_str().unwrap(),
        ],
    )
    .await;
    let school_key = pipeline.key("school", "100009").await;
    let a = crate::harness::upn(937, 1);
    let write_day = |day: &str| {
        std::fs::write(
            feeds.join(format!("{day}.roll.csv")),
            format!(
                "upn,forename,surname,date_of_birth,year_group,admission_date\n\
                 {a},Ada,Pupil,2012-05-01,8,2024-09-04\n"
            ),
        )
        .unwrap();
        std::fs::write(
            feeds.join(format!("{day}.marks.csv")),
            format!("upn,date,session,code\n{a},{day},AM,/\n{a},{day},PM,/\n"),
        )
        .unwrap();
    };
    write_day("2025-10-06");
    write_day("2025-10-07");
    let folder = feeds.to_str().unwrap().to_owned();
    let send = ["submit", "--school", "100009", "--dir", &folder];

    let first = json_as(&pipeline, &school_key, &send).await;
    assert_eq!(first["sent"].as_array().unwrap().len(), 2, "{first}");
    assert_eq!(first["sent"][0]["feed"], "2025-10-06");
    // Run again (as after an interruption): nothing is sent twice.
    let again = json_as(&pipeline, &school_key, &send).await;
    assert_eq!(again["sent"], serde_json::json!([]));
    assert_eq!(
        again["skipped"],
        serde_json::json!(["2025-10-06", "2025-10-07"])
    );
    write_day("2025-10-08");
    let more = json_as(&pipeline, &school_key, &send).await;
    assert_eq!(more["sent"].as_array().unwrap().len(), 1, "{more}");
    assert_eq!(more["sent"][0]["feed"], "2025-10-08");

    let listed = json_as(
        &pipeline,
        &school_key,
        &[
            "feeds",
            "list",
            "--school",
            "100009",
            "--since",
            "2000-01-01",
        ],
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
}
