//! A feed's records made from fuzz input (`arbitrary`), for the targets that need records
//! rather than bytes: each field is either any text or one near a valid value (a UPN of a small
//! pool, a date near the fuzzed day, a code, a flag, a session), with or without surrounding
//! spaces, so that the fuzzer reaches the rules behind a field's shape and the rules between
//! records (a UPN twice, a session marked twice, a mark of a pupil not on roll).

use arbitrary::Arbitrary;
use chrono::{Days, NaiveDate};
use rollcall_domain::LaCode;
use rollcall_domain::identifiers::Upn;
use rollcall_domain::validation::{Context, RawMark, RawPupil};

/// A fuzzed feed and what the validator knows beside it.
#[derive(Arbitrary, Debug)]
pub struct FeedInput {
    /// Days after 2020-01-01 of "today".
    pub today: u16,
    pub school_registered: bool,
    pub roll: Vec<PupilInput>,
    pub marks: Vec<MarkInput>,
}

#[derive(Arbitrary, Debug)]
pub struct PupilInput {
    upn: Text,
    forename: Text,
    surname: Text,
    date_of_birth: Text,
    sex: Text,
    year_group: Text,
    admission_date: Text,
    leaving_date: Text,
    fsm: Text,
    sen_provision: Text,
    ethnicity: Text,
    looked_after: Text,
    household_key: Text,
}

#[derive(Arbitrary, Debug)]
pub struct MarkInput {
    upn: Text,
    date: Text,
    session: Text,
    code: Text,
    minutes_late: Text,
}

/// One field's text.
#[derive(Arbitrary, Debug)]
enum Text {
    Any(String),
    /// One of eight valid UPNs (a mark and a roll record meet on them).
    Upn(u8),
    /// A date this many days from "today", `YYYY-MM-DD`.
    Date(i16),
    /// A short value that some field takes.
    Pick(u8),
    /// The same with spaces around it.
    Padded(Box<Text>),
}

const PICKS: &[&str] = &[
    "",
    "/",
    "\\",
    "L",
    "U",
    "B",
    "I",
    "M",
    "N",
    "O",
    "X",
    "Y",
    "Z",
    "#",
    "D",
    "C",
    "AM",
    "PM",
    "am",
    "F",
    "M",
    "Yes",
    "No",
    "true",
    "0",
    "1",
    "5",
    "R",
    "N1",
    "N2",
    "14",
    "K",
    "E",
    "WBRI",
    "AIND",
    "300",
    "301",
    "-1",
    "U0",
    "2024",
    "Q",
    "V",
    "J",
    "mis-4f2a91c0_Z",
    "hh key",
];

impl Text {
    fn text(&self, today: NaiveDate) -> String {
        match self {
            Text::Any(s) => s.clone(),
            Text::Upn(n) => Upn::from_parts(LaCode::new(937).unwrap(), 2000, 15, u16::from(n % 8))
                .as_str()
                .to_owned(),
            Text::Date(days) => {
                let date = if *days >= 0 {
                    today.checked_add_days(Days::new(days.unsigned_abs().into()))
                } else {
                    today.checked_sub_days(Days::new(days.unsigned_abs().into()))
                };
                date.map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            }
            Text::Pick(n) => PICKS[usize::from(*n) % PICKS.len()].to_owned(),
            Text::Padded(inner) => format!(" {} ", inner.text(today)),
        }
    }
}

impl FeedInput {
    pub fn context(&self) -> Context {
        Context {
            today: self.today(),
            school_registered: self.school_registered,
        }
    }

    fn today(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + Days::new(u64::from(self.today % 5000))
    }

    pub fn roll(&self) -> Vec<RawPupil> {
        let t = self.today();
        self.roll
            .iter()
            .map(|p| RawPupil {
                upn: p.upn.text(t),
                forename: p.forename.text(t),
                surname: p.surname.text(t),
                date_of_birth: p.date_of_birth.text(t),
                sex: p.sex.text(t),
                year_group: p.year_group.text(t),
                admission_date: p.admission_date.text(t),
                leaving_date: p.leaving_date.text(t),
                fsm: p.fsm.text(t),
                sen_provision: p.sen_provision.text(t),
                ethnicity: p.ethnicity.text(t),
                looked_after: p.looked_after.text(t),
                household_key: p.household_key.text(t),
            })
            .collect()
    }

    pub fn marks(&self) -> Vec<RawMark> {
        let t = self.today();
        self.marks
            .iter()
            .map(|m| RawMark {
                upn: m.upn.text(t),
                date: m.date.text(t),
                session: m.session.text(t),
                code: m.code.text(t),
                minutes_late: m.minutes_late.text(t),
            })
            .collect()
    }
}
