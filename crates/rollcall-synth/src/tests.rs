//! The generator's promises: deterministic, valid, big enough, with corrections and absence.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use rollcall_domain::validation::{self, Context, Severity};
use rollcall_domain::{Upn, codes};

use super::*;

#[test]
fn the_same_seed_gives_the_same_la() {
    let a = SyntheticLa::generate(LaSpec::small());
    let b = SyntheticLa::generate(LaSpec::small());
    assert_eq!(a.schools, b.schools);
    assert_eq!(a.final_marks(), b.final_marks());
    assert_eq!(a.feeds.len(), b.feeds.len());
}

#[test]
fn every_feed_validates_without_errors() {
    let la = SyntheticLa::generate(LaSpec::small());
    let ctx = Context {
        today: Utc::now().date_naive(),
        school_registered: true,
    };
    for feed in &la.feeds {
        let validated = validation::validate(&feed.roll, &feed.marks, &ctx);
        let errors: Vec<_> = validated
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(
            errors.is_empty(),
            "feed {} {}: {:?}",
            feed.urn,
            feed.day,
            errors
        );
        assert_eq!(validated.marks.len(), feed.marks.len());
        for pupil in &feed.roll {
            Upn::parse(&pupil.upn).expect("generated UPNs are valid");
        }
    }
}

#[test]
fn one_schools_feeds_are_versioned_in_order() {
    let la = SyntheticLa::generate(LaSpec::small());
    let mut last: HashMap<u32, DateTime<Utc>> = HashMap::new();
    for feed in &la.feeds {
        if let Some(previous) = last.insert(feed.urn, feed.extracted_at) {
            assert!(previous < feed.extracted_at);
        }
    }
    let keys: HashSet<_> = la
        .feeds
        .iter()
        .map(|f| (f.urn, f.idempotency_key.clone()))
        .collect();
    assert_eq!(
        keys.len(),
        la.feeds.len(),
        "idempotency keys are unique per school"
    );
}

#[test]
fn the_demo_la_meets_its_minimums() {
    let spec = LaSpec::demo();
    let la = SyntheticLa::generate(spec.clone());
    assert!(la.schools.len() >= 30);
    assert!(la.schools.iter().filter(|s| s.independent).count() >= 3);
    let pupils: HashSet<_> = la
        .final_marks()
        .keys()
        .map(|(urn, upn, _, _)| (*urn, upn.clone()))
        .collect();
    assert!(pupils.len() >= 10_000, "{} pupils", pupils.len());
    assert!(spec.school_days().len() >= 20);
    assert!(spec.school_days().last().unwrap() < &Utc::now().date_naive());
}

#[test]
fn corrections_are_sent_and_absence_is_realistic() {
    let la = SyntheticLa::generate(LaSpec::demo());
    let finals = la.final_marks();
    // Some session first sent as N ends with a reason.
    let mut first: HashMap<(u32, &str, &str, &str), &str> = HashMap::new();
    let mut corrected = 0;
    for feed in &la.feeds {
        for m in &feed.marks {
            let key = (
                feed.urn,
                m.upn.as_str(),
                m.date.as_str(),
                m.session.as_str(),
            );
            match first.get(&key) {
                None => {
                    first.insert(key, m.code.as_str());
                }
                Some(&was) if was != m.code => corrected += 1,
                _ => {}
            }
        }
    }
    assert!(corrected > 1000, "{corrected} corrections");

    let mut per_pupil: HashMap<(u32, String), (u64, u64)> = HashMap::new();
    for ((urn, upn, _, _), code) in &finals {
        let code = codes::get(code).unwrap();
        let entry = per_pupil.entry((*urn, upn.clone())).or_default();
        if code.counts_as_possible() {
            entry.0 += 1;
            if matches!(
                code.category(),
                codes::Category::Authorised | codes::Category::Unauthorised
            ) {
                entry.1 += 1;
            }
        }
    }
    let n = per_pupil.len() as f64;
    let persistent = per_pupil
        .values()
        .filter(|(p, a)| *p > 0 && a * 10 >= *p)
        .count() as f64
        / n;
    let severe = per_pupil
        .values()
        .filter(|(p, a)| *p > 0 && a * 2 >= *p)
        .count() as f64
        / n;
    let (possible, absent) = per_pupil
        .values()
        .fold((0, 0), |(p, a), (pp, aa)| (p + pp, a + aa));
    let absence = absent as f64 / possible as f64;
    assert!(
        (0.15..0.20).contains(&persistent),
        "persistent share {persistent}"
    );
    assert!((0.01..0.02).contains(&severe), "severe share {severe}");
    assert!((0.04..0.08).contains(&absence), "overall absence {absence}");
}

#[test]
fn school_names_are_unique() {
    let la = SyntheticLa::generate(LaSpec {
        schools: 300,
        pupils: 3_000,
        days: 1,
        ..LaSpec::demo()
    });
    let names: HashSet<_> = la.schools.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), la.schools.len());
}

#[test]
fn a_resent_session_changes_only_from_n_to_its_reason() {
    let la = SyntheticLa::generate(LaSpec::small());
    let mut sends: HashMap<(u32, &str, &str, &str), Vec<&RawMark>> = HashMap::new();
    for feed in &la.feeds {
        for m in &feed.marks {
            sends
                .entry((feed.urn, &m.upn, &m.date, &m.session))
                .or_default()
                .push(m);
        }
    }
    let (mut corrected, mut resent_unchanged) = (0, 0);
    for versions in sends.values() {
        let (first, later) = versions.split_first().unwrap();
        for m in later {
            assert_eq!(*m, later[0], "every re-send after the first is the same");
        }
        match later.first() {
            Some(m) if m.code != first.code => {
                assert_eq!(first.code, "N", "only a provisional N is corrected");
                assert!(
                    ["I", "M", "O", "G", "C", "C2", "E", "R", "T", "S", "/", "\\"]
                        .contains(&m.code.as_str())
                );
                corrected += 1;
            }
            Some(m) => {
                assert_eq!(*m, *first);
                resent_unchanged += 1;
            }
            None => {}
        }
        let late = versions.last().unwrap();
        assert_eq!(
            late.minutes_late.is_empty(),
            !matches!(late.code.as_str(), "L" | "U"),
            "minutes late go with L and U only"
        );
    }
    assert!(corrected > 0 && resent_unchanged > corrected);
}

#[test]
fn rolls_carry_what_each_kind_of_school_sends() {
    let la = SyntheticLa::generate(LaSpec::small());
    let pupils = la.pupils();
    let enrolments: HashSet<(u32, &str)> = la
        .feeds
        .iter()
        .flat_map(|f| f.marks.iter().map(move |m| (f.urn, m.upn.as_str())))
        .collect();
    assert_eq!(
        pupils.values().map(Vec::len).sum::<usize>(),
        enrolments.len(),
        "every pupil on roll has marks"
    );
    assert_eq!(la.spec.pupils, enrolments.len());
    let year = rollcall_domain::AcademicYear::of(la.spec.first_day);
    let age_date = year.first_day() - chrono::Duration::days(1);
    for school in &la.schools {
        for p in &pupils[&school.urn] {
            assert!(enrolments.contains(&(school.urn, p.upn.as_str())));
            let optional = [
                &p.sex,
                &p.fsm,
                &p.sen_provision,
                &p.ethnicity,
                &p.looked_after,
            ];
            if school.independent {
                assert!(
                    optional.iter().all(|f| f.is_empty()),
                    "independent schools send fewer fields"
                );
            } else {
                assert!(optional.iter().all(|f| !f.is_empty()));
            }
            // Age on 31 August before the academic year: 4 in reception, 5 in year 1...
            let group: u32 = if p.year_group == "R" {
                0
            } else {
                p.year_group.parse().unwrap()
            };
            let dob = p.date_of_birth.parse().unwrap();
            assert_eq!(
                rollcall_domain::calendar::age_on(dob, age_date),
                Some(group + 4)
            );
            match school.phase.as_str() {
                "primary" => assert!(group <= 6),
                "secondary" => assert!((7..=11).contains(&group)),
                _ => {}
            }
        }
    }
}

#[test]
fn some_pupils_join_or_leave_during_the_period() {
    let la = SyntheticLa::generate(LaSpec::demo());
    let days = la.spec.school_days();
    let (first, last) = (days[0].to_string(), days[days.len() - 1].to_string());
    let pupils: Vec<RawPupil> = la.pupils().into_values().flatten().collect();
    let joined = pupils.iter().filter(|p| p.admission_date > first).count();
    let left = pupils
        .iter()
        .filter(|p| !p.leaving_date.is_empty() && p.leaving_date < last)
        .count();
    assert!(joined > 20 && left > 20, "{joined} joined, {left} left");
}

#[test]
fn about_one_absence_in_five_is_first_sent_as_n_and_corrections_give_the_final_code() {
    let plan = Plan::new(LaSpec {
        resend_days: 0,
        ..LaSpec::demo()
    });
    let (mut absences, mut provisional_absences, mut provisional_present) = (0, 0, 0);
    for d in 0..plan.days().len() {
        for school in 0..plan.schools.len() {
            let first = plan.feed(d, school);
            let (roll, corrected) = plan.corrections(d, school);
            let sent: HashMap<(&str, &str), &RawMark> = first
                .marks
                .iter()
                .map(|m| ((m.upn.as_str(), m.session.as_str()), m))
                .collect();
            for m in &corrected {
                let was = sent[&(m.upn.as_str(), m.session.as_str())];
                assert_eq!(was.code, "N", "a correction replaces a provisional N");
                assert_ne!(m.code, "N");
                assert!(
                    roll.iter().any(|p| p.upn == m.upn),
                    "its pupil is on the roll sent"
                );
                if matches!(m.code.as_str(), "/" | "\\") {
                    provisional_present += 1;
                } else {
                    provisional_absences += 1;
                }
            }
            absences += first
                .marks
                .iter()
                .filter(|m| {
                    rollcall_domain::codes::get(&m.code).is_some_and(|c| c.category().is_absence())
                })
                .count();
        }
    }
    let share = f64::from(provisional_absences) / absences as f64;
    assert!(
        (0.15..0.25).contains(&share),
        "{share} of absences first sent as N"
    );
    assert!(provisional_present > 0);
}
