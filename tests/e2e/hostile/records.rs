//! Bad records in gRPC feeds: impossible and out-of-range dates, weekends, future sessions, codes
//! not valid on their date, lowercase codes, duplicate marks, a pupil twice in the roll, bad and
//! temporary UPNs, refused characters, over-long values, an unknown school, and text that looks
//! like SQL or markup in every field of both kinds of record. Each case is one school's feed: a
//! good neighbour first (roll record 0, marks 0 and 1, present all Monday), then the case's own
//! records; the receipt must carry exactly the case's findings and the school must have stored
//! exactly its neighbour's sessions and the case's accepted marks.

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone, Utc, Weekday};
use rollcall_domain::validation::{FindingCode, Severity};
use rollcall_domain::{LaCode, Upn};
use rollcall_proto::feed::v1::{MarkRecord, RollRecord};

mod cases;

use super::stack::Stack;
use super::{Landing, Report, Row, Want, check_landing, describe, wait_processed};
use crate::harness::{FeedSpec, school};

use FindingCode as F;
use Rec::{Feed, Mark, Roll};

/// The establishment number of every UPN of this group, so no other group's pupils collide.
const ESTAB: u16 = 3101;
const MONDAY: &str = "2025-10-06";
pub const SQL: &str = "'; DROP TABLE register; --";
pub const MARKUP: &str = "<script>alert(1)</script>";

/// A record of the case's own, counted from the case's first record (the neighbour's are not
/// counted), or the feed as a whole.
#[derive(Clone, Copy)]
enum Rec {
    Feed,
    Roll(u32),
    Mark(u32),
}

pub struct RecordCase {
    pub name: String,
    pub input: String,
    pub urn: String,
    /// Whether the school is in the LA's registry.
    pub registered: bool,
    pub roll: Vec<RollRecord>,
    pub marks: Vec<MarkRecord>,
    pub landing: Landing,
}

/// A pupil no log line could name by accident: distinctive names, a date of birth of its own.
pub fn person(estab: u16, serial: u16) -> RollRecord {
    const FORE: [&str; 16] = [
        "Zeph", "Quil", "Oria", "Thes", "Wyck", "Fenn", "Mira", "Lysa", "Drav", "Corv", "Ysol",
        "Bran", "Elow", "Tams", "Vesp", "Iola",
    ];
    const END: [&str; 12] = [
        "abel", "wyn", "ette", "oric", "ina", "ulf", "anthe", "ivar", "osa", "emir", "ault", "ith",
    ];
    const SUR: [&str; 12] = [
        "Thistle",
        "Marchbank",
        "Quarrender",
        "Fennimore",
        "Holloway",
        "Brackwater",
        "Ashcombe",
        "Wrenfield",
        "Lockhart",
        "Pellowe",
        "Scarrow",
        "Tregarth",
    ];
    const TAIL: [&str; 8] = [
        "wood", "combe", "more", "leigh", "thorpe", "wick", "stow", "ham",
    ];
    let n = usize::from(serial) + usize::from(estab);
    RollRecord {
        upn: upn(estab, serial),
        forename: format!("{}{}", FORE[n % 16], END[(n / 16) % 12]),
        surname: format!("{}{}", SUR[n % 12], TAIL[(n / 12) % 8]),
        date_of_birth: format!(
            "{}-{:02}-{:02}",
            2012 + n % 5,
            1 + n % 12,
            1 + (n / 12) % 28
        ),
        sex: if n % 2 == 0 { "F" } else { "M" }.into(),
        year_group: "6".into(),
        admission_date: "2025-09-03".into(),
        ..Default::default()
    }
}

/// A valid permanent UPN of LA 937.
pub fn upn(estab: u16, serial: u16) -> String {
    Upn::from_parts(LaCode::new(937).unwrap(), estab, 14, serial)
        .as_str()
        .to_owned()
}

pub fn mark(upn: &str, date: &str, session: &str, code: &str) -> MarkRecord {
    MarkRecord {
        upn: upn.into(),
        date: date.into(),
        session: session.into(),
        code: code.into(),
        minutes_late: String::new(),
    }
}

/// The UPN with another check letter (so only the check letter is wrong).
fn other_check_letter(upn: &str) -> String {
    let other = if upn.starts_with('Z') { 'Y' } else { 'Z' };
    format!("{other}{}", &upn[1..])
}

/// The first weekday at least two days after today in London: a session still to come, whatever
/// the hour the test runs.
fn future_weekday() -> String {
    let mut day = rollcall_domain::calendar::london_date(Utc::now()) + chrono::Days::new(2);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day.succ_opt().unwrap();
    }
    day.to_string()
}

struct Builder {
    next: u16,
    roll: Vec<RollRecord>,
    marks: Vec<MarkRecord>,
    findings: Vec<(FindingCode, Rec, &'static str)>,
    named: Vec<usize>,
    registered: bool,
}

impl Builder {
    fn person(&mut self) -> RollRecord {
        self.next += 1;
        person(ESTAB, self.next)
    }

    /// Adds a good pupil to the roll and returns its UPN.
    fn enrol(&mut self) -> String {
        self.enrol_as(|_| {})
    }

    /// Adds a pupil changed by `change` to the roll and returns its UPN as sent.
    fn enrol_as(&mut self, change: impl FnOnce(&mut RollRecord)) -> String {
        let mut pupil = self.person();
        change(&mut pupil);
        let upn = pupil.upn.clone();
        self.roll.push(pupil);
        upn
    }

    fn mark(&mut self, upn: &str, date: &str, session: &str, code: &str) {
        self.marks.push(mark(upn, date, session, code));
    }

    fn late(&mut self, upn: &str, session: &str, code: &str, minutes: &str) {
        self.marks.push(MarkRecord {
            minutes_late: minutes.into(),
            ..mark(upn, MONDAY, session, code)
        });
    }

    /// A Monday of one absence and one presence: the pupil is on the at-risk list.
    fn absent_morning(&mut self, upn: &str) {
        self.mark(upn, MONDAY, "AM", "N");
        self.mark(upn, MONDAY, "PM", "/");
    }

    fn finds(&mut self, code: FindingCode, record: Rec, field: &'static str) {
        self.findings.push((code, record, field));
    }

    /// The last pupil enrolled must come back from the at-risk list with its names as sent.
    fn keeps_names(&mut self) {
        self.named.push(self.roll.len() - 1);
    }
}

struct Catalogue {
    cases: Vec<RecordCase>,
}

impl Catalogue {
    fn add(&mut self, name: &str, input: &str, build: impl FnOnce(&mut Builder)) {
        let number = self.cases.len() as u16;
        let base = number * 5;
        let neighbour = person(ESTAB, base);
        let mut b = Builder {
            next: base,
            roll: Vec::new(),
            marks: Vec::new(),
            findings: Vec::new(),
            named: Vec::new(),
            registered: true,
        };
        build(&mut b);
        assert!(b.next < base + 5, "{name}: at most four pupils a case");
        let mut roll = vec![neighbour.clone()];
        roll.extend(b.roll);
        let mut marks = vec![
            mark(&neighbour.upn, MONDAY, "AM", "/"),
            mark(&neighbour.upn, MONDAY, "PM", "\\"),
        ];
        marks.extend(b.marks);
        let findings: Vec<Want> = b
            .findings
            .into_iter()
            .map(|(code, record, field)| {
                let (kind, index) = match record {
                    Feed => ("feed", 0),
                    Roll(i) => ("roll", i + 1),
                    Mark(i) => ("mark", i + 2),
                };
                Want {
                    code,
                    kind,
                    index,
                    field,
                }
            })
            .collect();
        // A mark is stored when nothing rejected it and it is not a copy of an earlier one.
        let mut stored = BTreeMap::new();
        if b.registered {
            for (i, m) in marks.iter().enumerate() {
                let dropped = findings.iter().any(|w| {
                    w.kind == "mark"
                        && w.index as usize == i
                        && (w.code.severity() == Severity::Error || w.code == F::DuplicateMark)
                });
                if !dropped {
                    *stored
                        .entry(m.code.trim().to_ascii_uppercase())
                        .or_insert(0) += 1;
                }
            }
        }
        let names = b
            .named
            .iter()
            .map(|&i| (roll[i + 1].forename.clone(), roll[i + 1].surname.clone()))
            .collect();
        let mut personal: Vec<String> = roll
            .iter()
            .flat_map(|p| {
                [
                    p.upn.clone(),
                    p.forename.clone(),
                    p.surname.clone(),
                    p.date_of_birth.clone(),
                ]
            })
            .collect();
        personal.extend(marks.iter().map(|m| m.upn.clone()));
        let landing = Landing {
            unregistered: !b.registered,
            findings,
            roll: roll.len(),
            marks: marks.len(),
            stored,
            names,
            personal,
        };
        self.cases.push(RecordCase {
            name: name.into(),
            input: input.into(),
            urn: format!("{}", 110_001 + u32::from(number)),
            registered: b.registered,
            roll,
            marks,
            landing,
        });
    }
}

/// Sets a roll record's field by its name (one of `ROLL_FIELDS`).
fn set_roll(p: &mut RollRecord, field: &str, value: &str) {
    let slot = match field {
        "upn" => &mut p.upn,
        "forename" => &mut p.forename,
        "surname" => &mut p.surname,
        "date_of_birth" => &mut p.date_of_birth,
        "sex" => &mut p.sex,
        "year_group" => &mut p.year_group,
        "admission_date" => &mut p.admission_date,
        "leaving_date" => &mut p.leaving_date,
        "fsm" => &mut p.fsm,
        "sen_provision" => &mut p.sen_provision,
        "ethnicity" => &mut p.ethnicity,
        "looked_after" => &mut p.looked_after,
        "household_key" => &mut p.household_key,
        _ => panic!("no roll field {field}"),
    };
    *slot = value.to_owned();
}

fn set_mark(m: &mut MarkRecord, field: &str, value: &str) {
    let slot = match field {
        "upn" => &mut m.upn,
        "date" => &mut m.date,
        "session" => &mut m.session,
        "code" => &mut m.code,
        "minutes_late" => &mut m.minutes_late,
        _ => panic!("no mark field {field}"),
    };
    *slot = value.to_owned();
}

pub fn catalogue() -> Vec<RecordCase> {
    let mut c = Catalogue { cases: Vec::new() };
    cases::all(&mut c);
    c.cases
}

pub fn rows() -> Vec<Row> {
    catalogue()
        .iter()
        .map(|case| Row::new(&case.name, &case.input, describe(&case.landing.findings)))
        .collect()
}

/// Sends every case's feed as the test vendor, then checks each receipt and what each school
/// stored.
pub async fn run(stack: &Stack, report: &mut Report) {
    let cases = catalogue();
    let pipeline = &stack.pipeline;
    pipeline
        .import_schools(
            cases
                .iter()
                .filter(|c| c.registered)
                .map(|c| school(&c.urn, "937", false))
                .collect(),
        )
        .await;
    let urns: Vec<String> = cases.iter().map(|c| c.urn.clone()).collect();
    pipeline.register_for_test_vendor(&urns).await;
    let mut feeds = stack.feeds_as(&pipeline.vendor_token).await;
    let mut sent = Vec::new();
    for case in &cases {
        let spec = FeedSpec {
            urn: case.urn.clone(),
            key: format!("hostile-{}", case.name),
            extracted_at: Utc.with_ymd_and_hms(2025, 10, 6, 16, 0, 0).unwrap(),
            roll: case.roll.clone(),
            marks: case.marks.clone(),
        };
        match feeds.submit_feed(tokio_stream::iter(spec.requests())).await {
            Ok(receipt) => sent.push(Some(receipt.into_inner().feed_id)),
            Err(status) => {
                report.fail(&case.name, format!("refused: {status:?}"));
                sent.push(None);
            }
        }
        report
            .personal
            .extend(case.landing.personal.iter().cloned());
    }
    let ids: Vec<String> = sent.iter().flatten().cloned().collect();
    let receipts = wait_processed(&mut feeds, &ids).await;
    for (case, id) in cases.iter().zip(&sent) {
        report.cases += 1;
        if let Some(id) = id {
            check_landing(
                stack,
                report,
                &case.name,
                &case.urn,
                &receipts[id],
                &case.landing,
            )
            .await;
        }
    }
}
