//! A deterministic synthetic local authority for the demo, the end-to-end tests and benchmarks:
//! schools (some independent), pupils with realistic attributes, and each school's daily feeds as
//! an MIS vendor sends them: the day's marks plus the previous few days re-sent, where a session
//! first sent as `N` (no reason yet) comes back later with its reason.
//!
//! Pure data: no I/O. The same seed always gives the same LA. With feature `db`, its schools
//! also come as `rollcall-db`'s registry rows, to load them straight into a database.

mod names;
#[cfg(feature = "db")]
mod registry;

#[cfg(feature = "db")]
pub use registry::registry_rows;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_domain::{AcademicYear, LaCode, Session, Upn};

/// What to generate.
#[derive(Clone, Debug)]
pub struct LaSpec {
    pub la_code: u16,
    pub schools: usize,
    pub independent_schools: usize,
    /// Pupils across all schools.
    pub pupils: usize,
    /// School days (weekdays) from `first_day`.
    pub days: usize,
    pub first_day: NaiveDate,
    /// Each daily feed re-sends this many earlier school days too, with corrections.
    pub resend_days: usize,
    pub seed: u64,
}

impl LaSpec {
    /// The demo LA: Warwickshire-coded, 32 schools (3 independent), 10,400 pupils, 20 school days
    /// of autumn 2025, each feed re-sending the previous 4 days.
    pub fn demo() -> LaSpec {
        LaSpec {
            la_code: 937,
            schools: 32,
            independent_schools: 3,
            pupils: 10_400,
            days: 20,
            first_day: NaiveDate::from_ymd_opt(2025, 9, 8).expect("valid date"),
            resend_days: 4,
            seed: 2025,
        }
    }

    /// A small LA for tests: 4 schools (1 independent), 200 pupils, 5 school days.
    pub fn small() -> LaSpec {
        LaSpec {
            la_code: 937,
            schools: 4,
            independent_schools: 1,
            pupils: 200,
            days: 5,
            first_day: NaiveDate::from_ymd_opt(2025, 10, 6).expect("valid date"),
            resend_days: 2,
            seed: 7,
        }
    }

    /// The school days covered, weekdays only.
    pub fn school_days(&self) -> Vec<NaiveDate> {
        self.first_day
            .iter_days()
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .take(self.days)
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct School {
    pub urn: u32,
    pub la_code: u16,
    pub name: String,
    /// `primary`, `secondary` or `special`.
    pub phase: String,
    pub school_type: String,
    pub independent: bool,
}

/// One school's feed for one day, as its vendor sends it.
#[derive(Clone, Debug)]
pub struct Feed {
    pub urn: u32,
    pub day: NaiveDate,
    pub extracted_at: DateTime<Utc>,
    pub idempotency_key: String,
    pub roll: Vec<RawPupil>,
    pub marks: Vec<RawMark>,
}

impl Feed {
    pub fn records(&self) -> usize {
        self.roll.len() + self.marks.len()
    }
}

#[derive(Clone, Debug)]
pub struct SyntheticLa {
    pub spec: LaSpec,
    pub schools: Vec<School>,
    /// In send order: day by day, school by school. One school's feeds have strictly increasing
    /// `extracted_at`.
    pub feeds: Vec<Feed>,
}

/// A generated pupil: the roll record, the days on roll, and the final mark of every session.
struct PupilPlan {
    record: RawPupil,
    admission: NaiveDate,
    leaving: Option<NaiveDate>,
    /// Per school day: the AM and PM marks.
    sessions: Vec<[Slot; 2]>,
}

/// One session's mark as it finally stands.
#[derive(Clone, Copy)]
struct Slot {
    code: &'static str,
    /// First sent as `N` (no reason yet), corrected to `code` when re-sent.
    provisional: bool,
    /// With `L` or `U`; the same in every send of the session.
    minutes_late: Option<u16>,
}

impl PupilPlan {
    fn on_roll(&self, day: NaiveDate) -> bool {
        self.admission <= day && self.leaving.is_none_or(|l| day <= l)
    }
}

/// An LA planned but not yet written out as feeds: every pupil's final marks for every day,
/// from which any school's feed for any day is built on demand. A year of a large LA fits in
/// memory this way (a few bytes a session) where its feeds would not.
pub struct Plan {
    pub spec: LaSpec,
    pub schools: Vec<School>,
    days: Vec<NaiveDate>,
    plans: Vec<Vec<PupilPlan>>,
}

impl Plan {
    pub fn new(spec: LaSpec) -> Plan {
        let mut rng = SmallRng::seed_from_u64(spec.seed);
        let la = LaCode::new(spec.la_code).expect("spec.la_code is an LA code");
        let days = spec.school_days();
        let schools = schools(&spec);
        let weights: Vec<f64> = schools.iter().map(|s| phase_weight(&s.phase)).collect();
        let weight_sum: f64 = weights.iter().sum();

        let mut plans: Vec<Vec<PupilPlan>> = Vec::new();
        let mut placed = 0;
        for (index, school) in schools.iter().enumerate() {
            // Rounding each school's share can overshoot the total over thousands of schools:
            // no school gets more than is left, and the last takes the rest.
            let left = spec.pupils.saturating_sub(placed);
            let count = if index + 1 == schools.len() {
                left
            } else {
                (((spec.pupils as f64) * weights[index] / weight_sum).round() as usize).min(left)
            };
            placed += count;
            let estab = 2000 + index as u16;
            plans.push(
                (0..count)
                    .map(|n| pupil(&spec, la, estab, n, school, &days, &mut rng))
                    .collect(),
            );
        }
        Plan {
            spec,
            schools,
            days,
            plans,
        }
    }

    pub fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    /// School `index`'s feed sent on school day `d`: the day's marks and the re-sent days before
    /// it, where a session first sent as `N` carries its reason from its second send.
    pub fn feed(&self, d: usize, index: usize) -> Feed {
        let spec = &self.spec;
        let days = &self.days;
        let day = days[d];
        let school = &self.schools[index];
        let first = d.saturating_sub(spec.resend_days);
        let covered = &days[first..=d];
        let pupils = &self.plans[index];
        let roll: Vec<RawPupil> = pupils
            .iter()
            .filter(|p| covered.iter().any(|day| p.on_roll(*day)))
            .map(|p| p.record.clone())
            .collect();
        let mut marks = Vec::new();
        for (k, covered_day) in covered.iter().enumerate() {
            let day_index = first + k;
            let first_send = day_index == d;
            for p in pupils.iter().filter(|p| p.on_roll(*covered_day)) {
                for (s, session) in [Session::Am, Session::Pm].into_iter().enumerate() {
                    let slot = p.sessions[day_index][s];
                    let provisional = first_send && slot.provisional;
                    marks.push(RawMark {
                        upn: p.record.upn.clone(),
                        date: covered_day.to_string(),
                        session: session.as_str().to_owned(),
                        code: if provisional { "N" } else { slot.code }.to_owned(),
                        minutes_late: match slot.minutes_late {
                            Some(minutes) if !provisional => minutes.to_string(),
                            _ => String::new(),
                        },
                    });
                }
            }
        }
        let extracted_at = Utc.from_utc_datetime(&day.and_hms_opt(16, 0, 0).expect("valid time"))
            + Duration::seconds(index as i64);
        Feed {
            urn: school.urn,
            day,
            extracted_at,
            idempotency_key: format!("{}-{}", school.urn, day),
            roll,
            marks,
        }
    }

    /// What a later send corrects of school `index`'s day `d`: the sessions first sent as a
    /// provisional `N`, with the code they finally carry, and the roll records of their pupils.
    pub fn corrections(&self, d: usize, index: usize) -> (Vec<RawPupil>, Vec<RawMark>) {
        let day = self.days[d];
        let mut roll = Vec::new();
        let mut marks = Vec::new();
        for p in self.plans[index].iter().filter(|p| p.on_roll(day)) {
            let before = marks.len();
            for (s, session) in [Session::Am, Session::Pm].into_iter().enumerate() {
                let slot = p.sessions[d][s];
                if slot.provisional {
                    marks.push(RawMark {
                        upn: p.record.upn.clone(),
                        date: day.to_string(),
                        session: session.as_str().to_owned(),
                        code: slot.code.to_owned(),
                        minutes_late: slot.minutes_late.map(|m| m.to_string()).unwrap_or_default(),
                    });
                }
            }
            if marks.len() > before {
                roll.push(p.record.clone());
            }
        }
        (roll, marks)
    }
}

impl SyntheticLa {
    pub fn generate(spec: LaSpec) -> SyntheticLa {
        let plan = Plan::new(spec);
        let mut feeds = Vec::new();
        for d in 0..plan.days.len() {
            for index in 0..plan.schools.len() {
                feeds.push(plan.feed(d, index));
            }
        }
        SyntheticLa {
            spec: plan.spec,
            schools: plan.schools,
            feeds,
        }
    }

    /// The mark that must be stored for every (URN, UPN, date, session) once every feed is in:
    /// the version sent last.
    pub fn final_marks(&self) -> BTreeMap<(u32, String, NaiveDate, Session), String> {
        let mut marks = BTreeMap::new();
        for feed in &self.feeds {
            for m in &feed.marks {
                let date = m.date.parse().expect("generated dates parse");
                let session = Session::parse(&m.session).expect("generated sessions parse");
                marks.insert((feed.urn, m.upn.clone(), date, session), m.code.clone());
            }
        }
        marks
    }

    /// Marks sent in all feeds (re-sends included).
    pub fn marks_sent(&self) -> usize {
        self.feeds.iter().map(|f| f.marks.len()).sum()
    }

    /// Every pupil on each school's roll at some point in the period, keyed by URN, in UPN
    /// order: the roll records as last sent (a pupil who leaves mid-period carries the leaving
    /// date).
    pub fn pupils(&self) -> BTreeMap<u32, Vec<RawPupil>> {
        let mut by_school: BTreeMap<u32, BTreeMap<&str, &RawPupil>> = BTreeMap::new();
        for feed in &self.feeds {
            let roll = by_school.entry(feed.urn).or_default();
            for pupil in &feed.roll {
                roll.insert(&pupil.upn, pupil);
            }
        }
        by_school
            .into_iter()
            .map(|(urn, roll)| (urn, roll.into_values().cloned().collect()))
            .collect()
    }
}

fn phase_weight(phase: &str) -> f64 {
    match phase {
        "secondary" => 4.0,
        "special" => 0.4,
        _ => 1.0,
    }
}

/// The LA's schools: the last `independent_schools` are independent; names are unique.
fn schools(spec: &LaSpec) -> Vec<School> {
    (0..spec.schools)
        .map(|i| {
            let independent = i >= spec.schools - spec.independent_schools.min(spec.schools);
            let phase = match i % 10 {
                _ if independent && i % 2 == 0 => "secondary",
                _ if independent => "primary",
                7 | 8 => "secondary",
                9 if i % 20 == 9 => "special",
                _ => "primary",
            };
            let place = place_name(i);
            let (name, school_type) = match (independent, phase) {
                (true, _) => (
                    format!(
                        "{place} {} School",
                        ["Preparatory", "College", "House"][i % 3]
                    ),
                    "independent",
                ),
                (false, "secondary") => (format!("{place} High School"), "academy"),
                (false, "special") => (format!("{place} Special School"), "community special"),
                _ => (
                    format!("{place} Primary School"),
                    ["community", "academy", "voluntary aided"][i % 3],
                ),
            };
            School {
                urn: 140_001 + i as u32,
                la_code: spec.la_code,
                name,
                phase: phase.to_owned(),
                school_type: school_type.to_owned(),
                independent,
            }
        })
        .collect()
}

/// A distinct place name for the `i`th school: a town, then the town with a district.
fn place_name(i: usize) -> String {
    let town = names::PLACES[i % names::PLACES.len()];
    match i / names::PLACES.len() {
        0 => town.to_owned(),
        q if q <= names::DISTRICTS.len() => format!("{town} {}", names::DISTRICTS[q - 1]),
        q => format!("{town} {}", q + 1),
    }
}

fn pupil(
    spec: &LaSpec,
    la: LaCode,
    estab: u16,
    n: usize,
    school: &School,
    days: &[NaiveDate],
    rng: &mut SmallRng,
) -> PupilPlan {
    let year = AcademicYear::of(spec.first_day);
    let year_group: u8 = match school.phase.as_str() {
        "secondary" => rng.random_range(7..=11),
        "special" => rng.random_range(1..=11),
        _ => rng.random_range(0..=6),
    };
    // Born in the academic year that makes the pupil this year group's age.
    let born_from = NaiveDate::from_ymd_opt(year.start_year() - 5 - i32::from(year_group), 9, 1)
        .expect("valid date");
    let date_of_birth = born_from + Duration::days(rng.random_range(0..365));
    let upn = Upn::from_parts(la, estab, 10 + (n / 1000) as u8, (n % 1000) as u16);
    let female = rng.random_bool(0.5);
    let forename = if female { names::GIRLS } else { names::BOYS }
        [rng.random_range(0..names::BOYS.len().min(names::GIRLS.len()))];
    let surname = names::SURNAMES[rng.random_range(0..names::SURNAMES.len())];

    let mut admission = year.first_day()
        + Duration::days(2 - 365 * i64::from(rng.random_range(0..=year_group.min(4))));
    if rng.random_bool(0.02) && days.len() > 2 {
        admission = days[rng.random_range(1..days.len())];
    }
    let leaving = (rng.random_bool(0.02) && days.len() > 2)
        .then(|| days[rng.random_range(0..days.len() - 1)])
        .filter(|l| *l >= admission);

    // Absence propensity: most pupils attend well; some are persistently, a few severely, absent.
    // Over 20 days: about 17% persistently absent, 1.5% severely, 6% of sessions missed overall.
    let propensity = match rng.random_range(0..1000) {
        0..=14 => rng.random_range(0.55..0.9),
        15..=124 => rng.random_range(0.12..0.35),
        _ => 0.08 * rng.random::<f64>().powi(2),
    };
    let sessions = days
        .iter()
        .map(|_| {
            [
                session_slot(Session::Am, propensity, year_group, rng),
                session_slot(Session::Pm, propensity, year_group, rng),
            ]
        })
        .collect();

    let yes_no = |b: bool| if b { "Y" } else { "N" }.to_owned();
    let record = if school.independent {
        RawPupil {
            upn: upn.as_str().to_owned(),
            forename: forename.to_owned(),
            surname: surname.to_owned(),
            date_of_birth: date_of_birth.to_string(),
            year_group: year_group_label(year_group),
            admission_date: admission.to_string(),
            leaving_date: leaving.map(|l| l.to_string()).unwrap_or_default(),
            ..RawPupil::default()
        }
    } else {
        RawPupil {
            upn: upn.as_str().to_owned(),
            forename: forename.to_owned(),
            surname: surname.to_owned(),
            date_of_birth: date_of_birth.to_string(),
            sex: if female { "F" } else { "M" }.to_owned(),
            year_group: year_group_label(year_group),
            admission_date: admission.to_string(),
            leaving_date: leaving.map(|l| l.to_string()).unwrap_or_default(),
            fsm: yes_no(rng.random_bool(0.25)),
            sen_provision: match rng.random_range(0..100) {
                0..=2 => "E",
                3..=14 => "K",
                _ => "N",
            }
            .to_owned(),
            ethnicity: names::ETHNICITIES[rng.random_range(0..names::ETHNICITIES.len())].to_owned(),
            looked_after: yes_no(rng.random_bool(0.01)),
            household_key: household_key(la, estab, n),
        }
    };
    PupilPlan {
        record,
        admission,
        leaving,
        sessions,
    }
}

/// One pupil in four of a state school shares a household with the pupil of the same number at
/// the school's neighbour (establishments 2k and 2k + 1): siblings across two schools, without
/// drawing from the generator (so the rest of the data is as it was). Independent schools send
/// no key.
fn household_key(la: LaCode, estab: u16, n: usize) -> String {
    if !n.is_multiple_of(4) {
        return String::new();
    }
    format!("hh-{:03}-{:04}-{n:06}", la.get(), estab / 2)
}

fn year_group_label(year_group: u8) -> String {
    if year_group == 0 {
        "R".to_owned()
    } else {
        year_group.to_string()
    }
}

/// A session's final mark.
fn session_slot(session: Session, propensity: f64, year_group: u8, rng: &mut SmallRng) -> Slot {
    let (code, provisional) = session_code(session, propensity, year_group, rng);
    let minutes_late = matches!(code, "L" | "U").then(|| rng.random_range(1..40));
    Slot {
        code,
        provisional,
        minutes_late,
    }
}

/// A session's final code, and whether its first send is a provisional `N`.
fn session_code(
    session: Session,
    propensity: f64,
    year_group: u8,
    rng: &mut SmallRng,
) -> (&'static str, bool) {
    if year_group == 0 && rng.random_bool(0.02) {
        return ("X", false);
    }
    if rng.random_bool(propensity) {
        let code = match rng.random_range(0..100) {
            0..=44 => "I",
            45..=54 => "M",
            55..=66 => "N",
            67..=74 => "O",
            75..=81 => "G",
            82..=86 => "C",
            87..=91 => "U",
            92..=93 => "C2",
            94 => "E",
            95 => "R",
            96 => "T",
            _ => "S",
        };
        // A quarter of the absences with a reason (about one absence in five) are first sent
        // as "no reason yet", and carry their reason from the next send.
        let provisional = code != "N" && code != "U" && rng.random_bool(0.25);
        return (code, provisional);
    }
    match rng.random_range(0..1000) {
        0..=29 => ("L", false),
        30..=39 => ("B", false),
        40..=44 => ("V", false),
        45..=47 => ("K", false),
        48..=49 => ("D", false),
        // A few present sessions are first sent as "no reason yet" (the register was not
        // taken in time) and corrected to present later.
        50..=53 => (if session == Session::Am { "/" } else { "\\" }, true),
        _ => (if session == Session::Am { "/" } else { "\\" }, false),
    }
}

#[cfg(test)]
mod tests;
