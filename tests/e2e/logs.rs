//! No personal data in any log line: the four service binaries run at debug level with their
//! output captured while pupils with distinctive names go through the whole flow (registry, keys,
//! feeds with a rejected record, receipts, the at-risk list, the audit trail); then not one UPN,
//! forename, surname, date of birth or household key of those pupils may appear in what they
//! wrote. Span fields are part of every log line, so this covers what traces carry too.

use std::time::Duration;

use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;

use crate::harness::{Pipeline, bin, upn};
use crate::processes::{Processes, SERVICES};

const HOUSEHOLD: &str = "hh-Vermilion-77310";
const BAD_HOUSEHOLD: &str = "hh Saffron 5521!";

/// Pupils no log line could mention by accident.
fn pupils() -> Vec<RawPupil> {
    let pupil = |upn: String, forename: &str, surname: &str, dob: &str, key: &str| RawPupil {
        upn,
        forename: forename.into(),
        surname: surname.into(),
        date_of_birth: dob.into(),
        sex: "F".into(),
        year_group: "5".into(),
        admission_date: "2025-09-03".into(),
        household_key: key.into(),
        ..Default::default()
    };
    let valid = upn(937, 424);
    // The same UPN with another check letter: the validator rejects this record.
    let check = valid.chars().next().unwrap();
    let other = if check == 'Z' { 'Y' } else { 'Z' };
    let broken = format!("{other}{}", &valid[1..]);
    vec![
        // Sisters, by their household key.
        pupil(valid, "Zephyrine", "Marchbanks", "2014-07-19", HOUSEHOLD),
        pupil(
            upn(937, 425),
            "Quillon",
            "Thistlewood",
            "2013-02-11",
            HOUSEHOLD,
        ),
        // A key the validator refuses (HOUSEHOLD_KEY_INVALID), which no finding may quote.
        pupil(broken, "Oriabel", "Fennimore", "2015-12-03", BAD_HOUSEHOLD),
    ]
}

fn marks(pupils: &[RawPupil]) -> Vec<RawMark> {
    let mut marks = Vec::new();
    for p in pupils {
        for (session, code) in [("AM", "N"), ("PM", "/")] {
            marks.push(RawMark {
                upn: p.upn.clone(),
                date: "2025-10-06".into(),
                session: session.into(),
                code: code.into(),
                minutes_late: String::new(),
            });
        }
    }
    marks
}

#[tokio::test]
async fn no_upn_name_or_date_of_birth_reaches_any_log() {
    // The harness makes the database, the keys and the broker; the services under test are the
    // binaries, on their own topics and consumer groups.
    let pipeline = Pipeline::start().await;
    let mut processes = Processes::start(
        &pipeline,
        "logs",
        &[("ROLLCALL__TELEMETRY__FILTER", "debug".into())],
    )
    .await;
    let (gateway_port, query_port) = (processes.gateway_port, processes.query_port);
    let cli = async |token: &str, args: &[&str]| {
        let output = tokio::process::Command::new(bin("rollcall"))
            .args(["--gateway", &format!("http://127.0.0.1:{gateway_port}")])
            .args(["--query", &format!("http://127.0.0.1:{query_port}")])
            .env("ROLLCALL_TOKEN", token)
            .args(args)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "rollcall {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };

    // Registry, vendor and keys, as an admin.
    let dir = tempfile::tempdir().unwrap();
    let schools = dir.path().join("schools.csv");
    std::fs::write(
        &schools,
        "urn,la_code,name,phase,school_type,independent\n100001,937,Test Primary,primary,academy,N\n",
    )
    .unwrap();
    let admin = pipeline.admin_token.clone();
    cli(&admin, &["schools", "import", schools.to_str().unwrap()]).await;
    cli(&admin, &["vendors", "set-schools", "logs-mis", "100001"]).await;
    let vendor = cli(
        &admin,
        &["keys", "create", "--kind", "vendor", "--org", "logs-mis"],
    )
    .await;
    let la = cli(&admin, &["keys", "create", "--kind", "la", "--org", "937"]).await;
    let school = cli(
        &admin,
        &["keys", "create", "--kind", "school", "--org", "100001"],
    )
    .await;

    // The feed, as the vendor; a second sending is a duplicate.
    let roll = pupils();
    let marks = marks(&roll);
    let channel = rollcall_client::connect(
        &format!("http://127.0.0.1:{gateway_port}"),
        &rollcall_client::Credentials::token(vendor.trim()),
    )
    .await
    .unwrap();
    let mut feeds = FeedServiceClient::new(channel);
    let submission = rollcall_client::Submission {
        school_urn: "100001".into(),
        extracted_at: chrono::Utc::now() - chrono::Duration::hours(1),
        idempotency_key: "logs-1".into(),
        code_set: "2024",
        roll: &roll,
        marks: &marks,
    };
    let receipt = rollcall_client::submit(&mut feeds, &submission)
        .await
        .unwrap();
    rollcall_client::submit(&mut feeds, &submission)
        .await
        .unwrap();
    let processed = rollcall_client::wait_processed(
        &mut feeds,
        std::slice::from_ref(&receipt.feed_id),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let outcome = processed[0].outcome.clone().unwrap();
    assert_eq!(outcome.roll_rejected, 1, "the broken upn is rejected");
    let key_finding = outcome
        .findings
        .iter()
        .find(|f| f.code == "HOUSEHOLD_KEY_INVALID")
        .expect("the refused household key has its finding");
    assert_eq!(key_finding.field, "household_key");
    assert!(
        outcome
            .findings
            .iter()
            .all(|f| !f.message.contains(BAD_HOUSEHOLD.trim())),
        "no finding quotes the key"
    );

    // The LA and the school read their pupils (names in the answer), then the audit trail.
    let at_risk = cli(
        la.trim(),
        &[
            "--json",
            "query",
            "at-risk",
            "--la",
            "937",
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-31",
            "--purpose",
            "attendance review",
        ],
    )
    .await;
    assert!(
        at_risk.contains("Zephyrine"),
        "the answer itself names the pupils: {at_risk}"
    );
    cli(
        school.trim(),
        &[
            "query",
            "at-risk",
            "--school",
            "100001",
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-31",
            "--purpose",
            "pastoral",
        ],
    )
    .await;
    // The timeline shows the sister (the household), never the key.
    let timeline = cli(
        la.trim(),
        &[
            "--json",
            "pupil",
            "timeline",
            &roll[0].upn,
            "--from",
            "2025-09-01",
            "--to",
            "2025-12-31",
            "--purpose",
            "family support",
        ],
    )
    .await;
    assert!(timeline.contains("Quillon"), "the household: {timeline}");
    assert!(!timeline.contains(HOUSEHOLD), "the key is never sent back");
    cli(la.trim(), &["audit"]).await;
    cli(school.trim(), &["query", "school", "100001"]).await;
    // Refusals are logged too: a wrong key and another LA.
    let _ = tokio::process::Command::new(bin("rollcall"))
        .args(["--query", &format!("http://127.0.0.1:{query_port}")])
        .env(
            "ROLLCALL_TOKEN",
            "rc_0000000000000000_".to_owned() + &"00".repeat(32),
        )
        .args(["query", "la", "937"])
        .output()
        .await
        .unwrap();

    processes.stop().await;

    let mut all = String::new();
    for service in SERVICES {
        let text = processes.log(service);
        assert!(text.contains("DEBUG"), "{service} logged at debug level");
        all.push_str(&text);
    }
    assert!(all.contains("call authorised") && all.contains("call refused"));
    let mut leaked = Vec::new();
    for p in &roll {
        for value in [
            &p.upn,
            &p.forename,
            &p.surname,
            &p.date_of_birth,
            &p.household_key,
        ] {
            if all.contains(value.as_str()) {
                leaked.push(value.clone());
            }
        }
    }
    assert!(leaked.is_empty(), "personal data in the logs: {leaked:?}");
    pipeline.stop().await;
}
