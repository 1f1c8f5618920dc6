//! The exports, end to end through the `rollcall` CLI: the DfE year-to-date layout checked
//! column by column against figures recomputed here from the generator's marks, a row of the
//! DfE's own published file rebuilt through the whole pipeline, the pupil-session extract and
//! the census summary recounted from the marks, manifests, spreadsheets and the audit trail.
//!
//! The recomputation does not use the domain crate's measures: categories and the DfE column of
//! each code are read here from the code table's CSV, and the arithmetic is written out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use rollcall_synth::{LaSpec, SyntheticLa};
use serde_json::Value;

use crate::cli::{json_as, rollcall_as};
use crate::harness::{FeedSpec, Pipeline, mark, pupil, school, upn};

/// The embedded copy of the DfE's file the product writes its header from.
const DFE_SAMPLE: &str =
    include_str!("../../crates/rollcall-domain/data/dfe-ees-ytd-2025-26-sample.csv");
const CODE_TABLE: &str = include_str!("../../crates/rollcall-domain/data/attendance-codes.csv");

/// Per code: its category and the DfE reason column it is counted in.
fn code_table() -> HashMap<String, (String, String)> {
    CODE_TABLE
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            // code,meaning,category,counts_as_possible,valid_from,valid_to,ees_column; only the
            // meaning can hold a comma, so count fields from both ends.
            let fields: Vec<&str> = line.split(',').collect();
            let n = fields.len();
            (
                fields[0].to_owned(),
                (fields[n - 5].to_owned(), fields[n - 1].to_owned()),
            )
        })
        .collect()
}

/// Lines of an all-quoted CRLF file, as fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    assert!(text.ends_with("\r\n"), "lines end in CRLF");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|line| {
            assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
            line[1..line.len() - 1]
                .split("\",\"")
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn as_maps(rows: &[Vec<String>]) -> Vec<BTreeMap<String, String>> {
    let header = &rows[0];
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len());
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

fn sha256_hex(path: &std::path::Path) -> String {
    use sha2::Digest;
    let data = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest beside `path`, checked against the file.
fn manifest(path: &std::path::Path, rows: usize) -> Value {
    let text = std::fs::read_to_string(format!("{}.manifest.json", path.display())).unwrap();
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["rows"], rows as u64, "manifest row count");
    assert_eq!(m["sha256"], sha256_hex(path), "manifest sha256");
    assert_eq!(m["bytes"], std::fs::metadata(path).unwrap().len());
    assert!(
        chrono::DateTime::parse_from_rfc3339(m["as_of"].as_str().unwrap()).is_ok(),
        "as_of is a time: {m}"
    );
    m
}

fn age_on(dob: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

/// What one phase row should say, recounted from the marks.
#[derive(Default, Debug)]
struct Phase {
    by_column: BTreeMap<String, u64>,
    by_category: BTreeMap<String, u64>,
    enrolments: u64,
    persistent: u64,
    schools: BTreeSet<u32>,
    school_days: u64,
    enrolment_days: u64,
}

#[tokio::test]
async fn the_ees_export_matches_figures_recomputed_from_the_marks() {
    let pipeline = Pipeline::start().await;
    // Eleven schools give every phase: primary, secondary, special and one independent.
    let la = SyntheticLa::generate(LaSpec {
        schools: 11,
        independent_schools: 1,
        pupils: 700,
        ..LaSpec::small()
    });
    pipeline.import_synthetic_schools(&la.schools).await;
    let mut client = pipeline.feeds().await;
    for feed in &la.feeds {
        let receipt = rollcall_client::submit_feed(&mut client, feed, "2024")
            .await
            .unwrap();
        pipeline.wait_processed(&receipt.feed_id).await;
    }
    let days = la.spec.school_days();
    let (from, to) = (*days.first().unwrap(), *days.last().unwrap());
    let year_start =
        NaiveDate::from_ymd_opt(from.year() - i32::from(from.month() < 9), 9, 1).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ytd.csv");
    let la_code = format!("{:03}", la.spec.la_code);
    let (from_arg, to_arg) = (from.to_string(), to.to_string());
    // The LA's year-to-date file over the generated days, written to `out` by the CLI.
    let ees_ytd = |out: &std::path::Path| {
        [
            "export", "ees-ytd", "--la", &la_code, "--from", &from_arg, "--to", &to_arg, "--out",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([out.to_str().unwrap().to_owned()])
        .collect::<Vec<String>>()
    };
    let args = ees_ytd(&out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    json_as(&pipeline, &pipeline.la_token, &args).await;
    let text = std::fs::read_to_string(&out).unwrap();

    // The header is the DfE's, byte for byte (and the embedded copy is the DfE's file).
    let header_line = |t: &str| t.split("\r\n").next().unwrap().to_owned();
    assert_eq!(header_line(&text), header_line(DFE_SAMPLE));
    if let Ok(shared) = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/dfe-ees-ytd-2025-26-sample.csv"
    )) {
        assert_eq!(
            shared, DFE_SAMPLE,
            "the embedded DfE sample is the shared one"
        );
    }
    let rows = as_maps(&parse_csv(&text));
    manifest(&out, rows.len());

    // Recount: DfE scope (state-funded primary, secondary, special; aged 5 to 15 on the
    // 31 August before the year), sessions from `from` to `to`.
    let codes = code_table();
    let phase_of: HashMap<u32, &str> = la
        .schools
        .iter()
        .filter(|s| !s.independent)
        .filter_map(|s| match s.phase.as_str() {
            "primary" => Some((s.urn, "Primary")),
            "secondary" | "all-through" => Some((s.urn, "Secondary")),
            "special" => Some((s.urn, "Special")),
            _ => None,
        })
        .collect();
    let census_day = year_start - Days::new(1);
    let in_scope: BTreeSet<(u32, String)> = la
        .pupils()
        .into_iter()
        .flat_map(|(urn, pupils)| pupils.into_iter().map(move |p| (urn, p)))
        .filter(|(urn, p)| {
            phase_of.contains_key(urn)
                && NaiveDate::parse_from_str(&p.date_of_birth, "%Y-%m-%d")
                    .is_ok_and(|dob| (5..=15).contains(&age_on(dob, census_day)))
        })
        .map(|(urn, p)| (urn, p.upn))
        .collect();
    let mut per_enrolment: BTreeMap<(u32, String), (u64, u64, BTreeSet<NaiveDate>)> =
        BTreeMap::new();
    let mut phases: BTreeMap<&str, Phase> = BTreeMap::new();
    let mut school_days: BTreeSet<NaiveDate> = BTreeSet::new();
    let mut school_marked: BTreeSet<(u32, NaiveDate)> = BTreeSet::new();
    for ((urn, upn, date, _session), code) in la.final_marks() {
        if date < from || date > to || !in_scope.contains(&(urn, upn.clone())) {
            continue;
        }
        let (category, column) = &codes[&code];
        let phase = phases.entry(phase_of[&urn]).or_default();
        *phase.by_category.entry(category.clone()).or_default() += 1;
        if !column.is_empty() {
            *phase.by_column.entry(column.clone()).or_default() += 1;
        }
        let e = per_enrolment.entry((urn, upn)).or_default();
        if category != "not_possible" {
            e.0 += 1;
            if category == "authorised" || category == "unauthorised" {
                e.1 += 1;
            }
        }
        e.2.insert(date);
        school_days.insert(date);
        school_marked.insert((urn, date));
    }
    for ((urn, _), (possible, absent, days)) in &per_enrolment {
        let phase = phases.get_mut(phase_of[urn]).unwrap();
        phase.enrolment_days += days.len() as u64;
        if *possible > 0 {
            phase.enrolments += 1;
            phase.schools.insert(*urn);
            if absent * 10 >= *possible {
                phase.persistent += 1;
            }
        }
    }
    for (urn, _) in &school_marked {
        phases.get_mut(phase_of[urn]).unwrap().school_days += 1;
    }
    let school_days = school_days.len() as f64;

    assert_eq!(
        rows.iter()
            .map(|r| r["education_phase"].as_str())
            .collect::<Vec<_>>(),
        ["Primary", "Secondary", "Special", "Total"]
    );
    let close = |got: &str, want: f64, what: &str| {
        let got: f64 = got.parse().unwrap_or_else(|_| panic!("{what}: {got}"));
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{what}: {got} != {want}"
        );
    };
    let mut total = Phase::default();
    for p in phases.values() {
        for (k, v) in &p.by_column {
            *total.by_column.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &p.by_category {
            *total.by_category.entry(k.clone()).or_default() += v;
        }
        total.enrolments += p.enrolments;
        total.persistent += p.persistent;
        total.schools.extend(p.schools.iter().copied());
        total.school_days += p.school_days;
        total.enrolment_days += p.enrolment_days;
    }
    let empty = Phase::default();
    for row in &rows {
        let name = row["education_phase"].clone();
        let want = match name.as_str() {
            "Total" => &total,
            phase => phases.get(phase).unwrap_or(&empty),
        };
        let what = |c: &str| format!("{name} {c}");
        assert_eq!(row["time_period"], "202526");
        assert_eq!(row["geographic_level"], "Local authority");
        assert_eq!(row["new_la_code"], "E10000031", "Warwickshire's ONS code");
        assert_eq!(row["la_name"], "Warwickshire");
        assert_eq!(row["old_la_code"], "937");
        assert_eq!(row["region_name"], "West Midlands");
        assert_eq!(row["time_identifier"], "Academic year");
        assert_eq!(
            row["total_num_schools"],
            want.schools.len().to_string(),
            "{}",
            what("schools")
        );
        if want.enrolments > 0 && want.enrolments < 10 {
            assert_eq!(row["possible_sessions"], "c", "{}", what("suppressed"));
            continue;
        }
        let cat = |c: &str| want.by_category.get(c).copied().unwrap_or(0);
        let col = |c: &str| want.by_column.get(c).copied().unwrap_or(0);
        let possible = cat("present") + cat("aea") + cat("authorised") + cat("unauthorised");
        let counts = [
            ("possible_sessions", possible),
            ("present_sessions", cat("present")),
            ("approved_educational_activity", cat("aea")),
            ("overall_attendance", cat("present") + cat("aea")),
            ("authorised_absence", cat("authorised")),
            ("unauthorised_absence", cat("unauthorised")),
            ("overall_absence", cat("authorised") + cat("unauthorised")),
            (
                "late_sessions",
                col("reason_l_present_late_before_registers_closed")
                    + col("reason_u_unauthorised_late_after_registers_closed"),
            ),
            (
                "reason_present",
                col("reason_present_am") + col("reason_present_pm"),
            ),
            ("total_enrolments", want.enrolments),
        ];
        for (column, n) in counts {
            assert_eq!(row[column], n.to_string(), "{}", what(column));
        }
        for (column, value) in row
            .iter()
            .filter(|(c, _)| c.starts_with("reason_") && *c != "reason_present")
        {
            assert_eq!(value, &col(column).to_string(), "{}", what(column));
        }
        if possible > 0 {
            let p = possible as f64;
            close(
                &row["attendance_perc"],
                (cat("present") + cat("aea")) as f64 / p * 100.0,
                &what("attendance"),
            );
            close(
                &row["overall_absence_perc"],
                (cat("authorised") + cat("unauthorised")) as f64 / p * 100.0,
                &what("absence"),
            );
            close(
                &row["authorised_absence_perc"],
                cat("authorised") as f64 / p * 100.0,
                &what("authorised"),
            );
            close(
                &row["unauthorised_absence_perc"],
                cat("unauthorised") as f64 / p * 100.0,
                &what("unauthorised"),
            );
            // Each reason's rate, as the DfE names them.
            for (rate, reason) in [
                ("illness_perc", "reason_i_authorised_illness"),
                ("appointments_perc", "reason_m_authorised_medical_dental"),
                ("unauth_hol_perc", "reason_g_unauthorised_holiday"),
                ("unauth_oth_perc", "reason_o_other_unauthorised"),
                (
                    "unauth_late_registers_closed_perc",
                    "reason_u_unauthorised_late_after_registers_closed",
                ),
                ("unauth_not_yet_perc", "reason_n_no_reason_yet"),
                (
                    "auth_religious_perc",
                    "reason_r_authorised_religious_observance",
                ),
                ("auth_study_perc", "reason_s_authorised_study_leave"),
                ("auth_mob_perc", "reason_t_authorised_mobile_child"),
                ("auth_excluded_perc", "reason_e_authorised_excluded"),
                (
                    "auth_performance_perc",
                    "reason_c1_authorised_regulated_performance",
                ),
                ("auth_interview_perc", "reason_j1_authorised_interview"),
                (
                    "auth_part_time_perc",
                    "reason_c2_authorised_temp_reduced_timetable",
                ),
                ("auth_other_perc", "reason_c_authorised_other"),
            ] {
                close(&row[rate], col(reason) as f64 / p * 100.0, &what(rate));
            }
            close(
                &row["pa_perc"],
                want.persistent as f64 / want.enrolments as f64 * 100.0,
                &what("pa"),
            );
        }
        close(
            &row["num_schools"],
            want.school_days as f64 / school_days,
            &what("num_schools"),
        );
        close(
            &row["enrolments"],
            want.enrolment_days as f64 / school_days,
            &what("enrolments"),
        );

        // The DfE's identities hold on every row.
        let n = |c: &str| row[c].parse::<u64>().unwrap();
        assert_eq!(
            n("possible_sessions"),
            n("overall_attendance") + n("overall_absence")
        );
        assert_eq!(
            n("present_sessions"),
            n("reason_present") + n("reason_l_present_late_before_registers_closed")
        );
        assert_eq!(
            n("unauthorised_absence"),
            [
                "reason_g_unauthorised_holiday",
                "reason_u_unauthorised_late_after_registers_closed",
                "reason_o_other_unauthorised",
                "reason_n_no_reason_yet"
            ]
            .iter()
            .map(|c| n(c))
            .sum::<u64>()
        );
    }
    assert!(
        total.enrolments > 0,
        "the synthetic LA has pupils in the DfE's scope"
    );

    // The same rows as a spreadsheet, with its own manifest.
    let xlsx = dir.path().join("ytd.xlsx");
    let args = ees_ytd(&xlsx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    json_as(&pipeline, &pipeline.la_token, &args).await;
    assert!(
        std::fs::read(&xlsx).unwrap().starts_with(b"PK"),
        "an xlsx is a zip"
    );
    manifest(&xlsx, 4);

    // An LA user cannot write another LA's rows or the national ones.
    let (ok, _, stderr) = rollcall_as(
        &pipeline,
        &pipeline.la_token,
        &[
            "export",
            "ees-ytd",
            "--la",
            "330",
            "--out",
            dir.path().join("x.csv").to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && stderr.contains("OUTSIDE_ORGANISATION"), "{stderr}");
    let (ok, _, stderr) = rollcall_as(
        &pipeline,
        &pipeline.la_token,
        &[
            "export",
            "ees-ytd",
            "--la",
            &la_code,
            "--national",
            "--out",
            dir.path().join("x.csv").to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && stderr.contains("PERMISSION_DENIED"), "{stderr}");
    assert!(!dir.path().join("x.csv").exists());

    // A second LA in another region (Tower Hamlets, London), its URNs moved clear of the first.
    let mut london = SyntheticLa::generate(LaSpec {
        la_code: 211,
        seed: 11,
        ..LaSpec::small()
    });
    for s in &mut london.schools {
        s.urn += 100_000;
    }
    for f in &mut london.feeds {
        f.urn += 100_000;
    }
    pipeline
        .import_schools(
            london
                .schools
                .iter()
                .map(rollcall_client::registry_school)
                .collect(),
        )
        .await;
    for feed in &london.feeds {
        let receipt = rollcall_client::submit_feed(&mut client, feed, "2024")
            .await
            .unwrap();
        pipeline.wait_processed(&receipt.feed_id).await;
    }

    // The exporter writes every LA, each region and the nation: regions equal their one LA, and
    // the nation's counts are the two LAs' sums.
    let exporter = pipeline.key("exporter", "").await;
    let national = dir.path().join("national.csv");
    let args = [
        "export",
        "ees-ytd",
        "--all-las",
        "--regional",
        "--national",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--out",
        national.to_str().unwrap(),
    ];
    json_as(&pipeline, &exporter, &args).await;
    let all = as_maps(&parse_csv(&std::fs::read_to_string(&national).unwrap()));
    assert_eq!(
        all.len(),
        20,
        "two LAs, two regions and the nation, four phases each"
    );
    for phase in ["Primary", "Secondary", "Special", "Total"] {
        let of = |level: &str, la: &str| {
            all.iter()
                .find(|r| {
                    r["education_phase"] == phase
                        && r["geographic_level"] == level
                        && r["old_la_code"] == la
                })
                .unwrap_or_else(|| panic!("{phase} {level} {la}"))
        };
        let (warwickshire, tower_hamlets) =
            (of("Local authority", "937"), of("Local authority", "211"));
        let nation = of("National", "");
        let regions: Vec<_> = all
            .iter()
            .filter(|r| r["education_phase"] == phase && r["geographic_level"] == "Regional")
            .collect();
        assert_eq!(regions.len(), 2, "{phase}");
        for (la, region) in [(warwickshire, "West Midlands"), (tower_hamlets, "London")] {
            let r = regions.iter().find(|r| r["region_name"] == region).unwrap();
            assert_eq!(r["region_code"], la["region_code"]);
            for column in [
                "possible_sessions",
                "overall_absence",
                "pa_perc",
                "enrolments",
            ] {
                assert_eq!(la[column], r[column], "{phase} {region} {column}");
            }
        }
        assert_eq!(nation["region_code"], "");
        for column in [
            "possible_sessions",
            "overall_absence",
            "total_enrolments",
            "total_num_schools",
        ] {
            let n = |r: &BTreeMap<String, String>| r[column].parse::<u64>().unwrap_or(0);
            if nation[column] != "c" {
                assert_eq!(
                    n(nation),
                    n(warwickshire) + n(tower_hamlets),
                    "{phase} {column}"
                );
            }
        }
    }
    pipeline.stop().await;
}

/// Tower Hamlets' special schools in the DfE's 2025/26 year-to-date file.
const DFE_ROW: (&str, &str) = ("Tower Hamlets", "Special");

#[tokio::test]
async fn a_row_of_the_dfe_file_rebuilt_through_the_pipeline_exports_the_dfe_figures() {
    let sample = as_maps(&parse_csv(DFE_SAMPLE));
    let dfe = sample
        .iter()
        .find(|r| r["la_name"] == DFE_ROW.0 && r["education_phase"] == DFE_ROW.1)
        .unwrap();
    let codes = code_table();
    // Sessions per code: each reason column names the codes counted in it; H's column also
    // counts the retired F, so it takes the first code that names it.
    let mut per_code: Vec<(String, u64)> = Vec::new();
    for (column, value) in dfe
        .iter()
        .filter(|(c, _)| c.starts_with("reason_") && *c != "reason_present")
    {
        let code = codes
            .iter()
            .filter(|(_, (_, col))| col == column)
            .map(|(code, _)| code.clone())
            .min_by_key(|c| (c == "F", c.clone()))
            .unwrap();
        per_code.push((code, value.parse().unwrap()));
    }
    per_code.sort();
    let total: u64 = per_code.iter().map(|(_, n)| n).sum();
    assert_eq!(
        total.to_string(),
        dfe["possible_sessions"],
        "no unpublished remainder in this row"
    );

    // 650 pupils over 181 school days: '/' fills morning slots, '\' afternoon ones, every other
    // code the slots left, mornings first.
    const PUPILS: usize = 650;
    let days: Vec<NaiveDate> = NaiveDate::from_ymd_opt(2025, 9, 1)
        .unwrap()
        .iter_days()
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .take(181)
        .collect();
    let count = |code: &str| per_code.iter().find(|(c, _)| c == code).unwrap().1 as usize;
    let mut am: Vec<&str> = vec!["/"; count("/")];
    let mut pm: Vec<&str> = vec!["\\"; count("\\")];
    for (code, n) in &per_code {
        if code == "/" || code == "\\" {
            continue;
        }
        for _ in 0..*n {
            if am.len() < PUPILS * days.len() {
                am.push(code);
            } else {
                pm.push(code);
            }
        }
    }
    assert!(pm.len() <= PUPILS * days.len(), "the row fits the register");

    let pipeline = Pipeline::start().await;
    let urn = "600001";
    let mut special = school(urn, "211", false);
    special.phase = "special".into();
    pipeline.import_schools(vec![special]).await;
    let upns: Vec<String> = (0..PUPILS).map(|i| upn(211, i as u16 + 1)).collect();
    let roll: Vec<_> = upns.iter().map(|u| pupil(u, "2025-09-01")).collect();
    // A week a feed, as a vendor would send it; slot k is pupil k % PUPILS on day k / PUPILS.
    let slot = |k: usize| (k % PUPILS, k / PUPILS);
    for (week, week_days) in days.chunks(5).enumerate() {
        let first = week * 5;
        let mut marks = Vec::new();
        for (session, codes) in [("AM", &am), ("PM", &pm)] {
            for (k, code) in codes.iter().enumerate() {
                let (p, d) = slot(k);
                if d >= first && d < first + week_days.len() {
                    marks.push(mark(&upns[p], &days[d].to_string(), session, code));
                }
            }
        }
        let feed = FeedSpec {
            urn: urn.into(),
            key: format!("dfe-row-week-{week}"),
            extracted_at: chrono::Utc::now() + chrono::Duration::seconds(week as i64),
            roll: roll.clone(),
            marks,
        };
        let receipt = feed.submit(&pipeline).await.unwrap();
        let processed = pipeline.wait_processed(&receipt.feed_id).await;
        assert_eq!(processed.outcome.unwrap().marks_rejected, 0, "week {week}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tower-hamlets.csv");
    let la_key = pipeline.key("la", "211").await;
    json_as(
        &pipeline,
        &la_key,
        &[
            "export",
            "ees-ytd",
            "--la",
            "211",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    let rows = as_maps(&parse_csv(&std::fs::read_to_string(&out).unwrap()));
    let ours = rows
        .iter()
        .find(|r| r["education_phase"] == DFE_ROW.1)
        .unwrap();
    // Every count column, and every rate derived from them, as the DfE wrote it.
    let derived = [
        "present_sessions",
        "overall_attendance",
        "approved_educational_activity",
        "overall_absence",
        "authorised_absence",
        "unauthorised_absence",
        "late_sessions",
        "possible_sessions",
        "attendance_perc",
        "overall_absence_perc",
        "authorised_absence_perc",
        "unauthorised_absence_perc",
        "illness_perc",
        "appointments_perc",
        "unauth_hol_perc",
        "unauth_oth_perc",
        "unauth_late_registers_closed_perc",
        "unauth_not_yet_perc",
        "auth_religious_perc",
        "auth_study_perc",
        "auth_mob_perc",
        "auth_excluded_perc",
        "auth_performance_perc",
        "auth_interview_perc",
        "auth_part_time_perc",
        "auth_other_perc",
    ];
    for column in dfe
        .keys()
        .filter(|c| c.starts_with("reason_"))
        .map(String::as_str)
        .chain(derived)
    {
        assert_eq!(ours[column], dfe[column], "{column}");
    }
    for column in [
        "time_period",
        "geographic_level",
        "country_code",
        "region_code",
        "region_name",
        "new_la_code",
        "la_name",
        "old_la_code",
        "time_identifier",
    ] {
        assert_eq!(ours[column], dfe[column], "{column}");
    }
    assert_eq!(ours["total_enrolments"], PUPILS.to_string());
    pipeline.stop().await;
}

#[tokio::test]
async fn pupil_sessions_and_the_census_summary_recount_the_marks_and_are_audited() {
    let pipeline = Pipeline::start().await;
    let la = SyntheticLa::generate(LaSpec::small());
    pipeline.import_synthetic_schools(&la.schools).await;
    let mut client = pipeline.feeds().await;
    for feed in &la.feeds {
        let receipt = rollcall_client::submit_feed(&mut client, feed, "2024")
            .await
            .unwrap();
        pipeline.wait_processed(&receipt.feed_id).await;
    }
    let days = la.spec.school_days();
    let (from, to) = (days[1], *days.last().unwrap());
    let la_code = format!("{:03}", la.spec.la_code);
    let dir = tempfile::tempdir().unwrap();

    // Every session in the period, one row each, with the pupil's details.
    let out = dir.path().join("sessions.csv");
    let args = [
        "export",
        "pupil-sessions",
        "--la",
        &la_code,
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--purpose",
        "e2e: the extract recounts the marks",
        "--out",
        out.to_str().unwrap(),
    ];
    let written = json_as(&pipeline, &pipeline.la_token, &args).await;
    let rows = as_maps(&parse_csv(&std::fs::read_to_string(&out).unwrap()));
    manifest(&out, rows.len());
    let codes = code_table();
    let pupils: HashMap<(u32, String), rollcall_domain::validation::RawPupil> = la
        .pupils()
        .into_iter()
        .flat_map(|(urn, ps)| ps.into_iter().map(move |p| ((urn, p.upn.clone()), p)))
        .collect();
    let want: BTreeMap<(String, String, String, String), String> = la
        .final_marks()
        .into_iter()
        .filter(|((_, _, date, _), _)| from <= *date && *date <= to)
        .map(|((urn, upn, date, session), code)| {
            (
                (
                    format!("{urn:06}"),
                    upn,
                    date.to_string(),
                    session.as_str().to_owned(),
                ),
                code,
            )
        })
        .collect();
    let mut got = BTreeMap::new();
    for row in &rows {
        let key = (
            row["school_urn"].clone(),
            row["upn"].clone(),
            row["date"].clone(),
            row["session"].clone(),
        );
        assert_eq!(
            row["category"], codes[&row["code"]].0,
            "category of {}",
            row["code"]
        );
        let urn: u32 = row["school_urn"].parse().unwrap();
        let p = &pupils[&(urn, row["upn"].clone())];
        assert_eq!(row["surname"], p.surname);
        assert_eq!(row["date_of_birth"], p.date_of_birth);
        assert_eq!(row["la_code"], la_code);
        assert!(chrono::DateTime::parse_from_rfc3339(&row["recorded_at"]).is_ok());
        assert!(
            got.insert(key, row["code"].clone()).is_none(),
            "one row per session"
        );
    }
    assert_eq!(got, want, "every mark in the period, and nothing else");
    assert_eq!(written["rows"], rows.len() as u64);

    // The census summary of the autumn term: per enrolment, possible and absence by reason.
    // The same export as a spreadsheet and as CSV; the CSV is read back.
    let census = dir.path().join("census.xlsx");
    let census_csv = dir.path().join("census.csv");
    let mut written = Vec::new();
    for out in [&census, &census_csv] {
        let args = [
            "export",
            "census",
            "--la",
            &la_code,
            "--year",
            "2025/26",
            "--term",
            "autumn",
            "--purpose",
            "e2e: census summary",
            "--out",
            out.to_str().unwrap(),
        ];
        written.push(json_as(&pipeline, &pipeline.la_token, &args).await);
    }
    let written = &written[0];
    let rows = as_maps(&parse_csv(&std::fs::read_to_string(&census_csv).unwrap()));
    manifest(&census, rows.len());
    assert_eq!(written["rows"], rows.len() as u64);
    let mut want: BTreeMap<(String, String), BTreeMap<String, u64>> = BTreeMap::new();
    for ((urn, upn, date, _), code) in la.final_marks() {
        if date < NaiveDate::from_ymd_opt(2025, 8, 1).unwrap()
            || date > NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()
        {
            continue;
        }
        let counts = want.entry((format!("{urn:06}"), upn)).or_default();
        let category = &codes[&code].0;
        if category != "not_possible" {
            *counts.entry("sessions_possible".into()).or_default() += 1;
        }
        if category == "authorised" || category == "unauthorised" {
            *counts.entry(format!("{category}_absence")).or_default() += 1;
            *counts
                .entry(format!("{category}_{}", code.to_ascii_lowercase()))
                .or_default() += 1;
        }
    }
    want.retain(|_, c| c.get("sessions_possible").is_some());
    assert_eq!(
        rows.len(),
        want.len(),
        "one row per enrolment with a possible session"
    );
    for row in &rows {
        assert_eq!(row["term_start"], "2025-08-01");
        assert_eq!(row["term_end"], "2025-12-31");
        let counts = &want[&(row["school_urn"].clone(), row["upn"].clone())];
        for (column, value) in row.iter().filter(|(c, _)| {
            c.starts_with("authorised")
                || c.starts_with("unauthorised")
                || *c == "sessions_possible"
        }) {
            assert_eq!(
                value,
                &counts.get(column).copied().unwrap_or(0).to_string(),
                "{column}"
            );
        }
    }

    // Each export is one audit event naming every enrolment it wrote.
    let events = json_as(&pipeline, &pipeline.la_token, &["audit"]).await;
    let events = events.as_array().unwrap();
    let of = |rpc: &str| {
        events
            .iter()
            .filter(|e| e["rpc"] == rpc)
            .collect::<Vec<_>>()
    };
    let sessions = of("rollcall.export.v1.ExportService/PupilSessions");
    assert_eq!(sessions.len(), 1);
    let enrolments: BTreeSet<(String, String)> = got
        .keys()
        .map(|(u, p, _, _)| (u.clone(), p.clone()))
        .collect();
    assert_eq!(
        sessions[0]["enrolment_ids"].as_array().unwrap().len(),
        enrolments.len()
    );
    assert_eq!(of("rollcall.export.v1.ExportService/CensusTerm").len(), 2);

    // No pupil-level export for the national exporter, nor without a purpose.
    let exporter = pipeline.key("exporter", "").await;
    let no = dir.path().join("no.csv");
    for (token, purpose, refusal) in [
        (&exporter, "x", "PERMISSION_DENIED"),
        (&pipeline.la_token, " ", "purpose"),
    ] {
        let (ok, _, stderr) = rollcall_as(
            &pipeline,
            token,
            &[
                "export",
                "pupil-sessions",
                "--la",
                &la_code,
                "--from",
                &from.to_string(),
                "--to",
                &to.to_string(),
                "--purpose",
                purpose,
                "--out",
                no.to_str().unwrap(),
            ],
        )
        .await;
        assert!(!ok && stderr.contains(refusal), "{stderr}");
    }
    assert!(!dir.path().join("no.csv").exists());
    pipeline.stop().await;
}
