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
    assert!(
        (0.12..0.25).contains(&persistent),
        "persistent share {persistent}"
    );
    assert!((0.005..0.03).contains(&severe), "severe share {severe}");
}
