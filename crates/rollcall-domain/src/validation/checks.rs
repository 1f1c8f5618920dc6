//! The checks: each roll record and mark on its own, then the rules about neighbours (a UPN sent
//! twice, a session marked twice), collected into one [`Validated`] feed.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{
    Context, Finding, FindingCode, MAX_MINUTES_LATE, Mark, Pupil, RawMark, RawPupil, RecordRef,
    SenProvision, Severity, Sex, Validated, YearGroup, parse_date, parse_ethnicity, parse_flag,
    parse_household_key,
};
use crate::calendar::{Session, is_weekend};
use crate::codes::{self, CodeError};
use crate::identifiers::Upn;
use crate::text::{self, MAX_NAME_CHARS, MAX_SHORT_CHARS};

/// Collects the findings of one record.
struct Check<'a> {
    record: RecordRef,
    findings: &'a mut Vec<Finding>,
    failed: bool,
}

impl Check<'_> {
    fn report(&mut self, code: FindingCode, field: &'static str, message: impl Into<String>) {
        self.failed |= code.severity() == Severity::Error;
        self.findings
            .push(Finding::new(code, self.record, field, message));
    }

    /// The field's value, trimmed, when it passes the text rules (refused characters, the
    /// field's length); `None`, with the finding, when it does not. Every field passes here
    /// before its own rule, so a refused value is never read further.
    fn text<'s>(
        &mut self,
        field: &'static str,
        value: &'s str,
        max_chars: usize,
    ) -> Option<&'s str> {
        let value = value.trim();
        match text::check(value, max_chars) {
            Ok(()) => Some(value),
            Err(e) => {
                self.report(FindingCode::from(e), field, format!("{field} {e}"));
                None
            }
        }
    }

    /// A field other than a name: [`Check::text`] with the short limit.
    fn short<'s>(&mut self, field: &'static str, value: &'s str) -> Option<&'s str> {
        self.text(field, value, MAX_SHORT_CHARS)
    }

    fn required<'s>(&mut self, field: &'static str, value: &'s str) -> Option<&'s str> {
        let value = value.trim();
        if value.is_empty() {
            self.report(
                FindingCode::RequiredFieldMissing,
                field,
                format!("{field} is required"),
            );
            return None;
        }
        Some(value)
    }

    fn date(&mut self, field: &'static str, value: &str) -> Option<NaiveDate> {
        let Some(date) = parse_date(value) else {
            self.report(
                FindingCode::DateInvalid,
                field,
                format!("{field} must be a date written YYYY-MM-DD"),
            );
            return None;
        };
        if !text::date_in_range(date) {
            self.report(
                FindingCode::DateOutOfRange,
                field,
                format!(
                    "{field} must be from {} to {}",
                    text::EARLIEST_DATE,
                    text::LATEST_DATE
                ),
            );
            return None;
        }
        Some(date)
    }

    fn required_date(&mut self, field: &'static str, value: &str) -> Option<NaiveDate> {
        let value = self.required(field, value)?;
        self.date(field, value)
    }

    fn upn(&mut self, value: &str) -> Option<Upn> {
        let value = self.required("upn", value)?;
        match Upn::parse(value) {
            Ok(upn) => Some(upn),
            Err(e) => {
                self.report(FindingCode::from(&e), "upn", e.to_string());
                None
            }
        }
    }

    /// An optional attribute: unparseable values are dropped with a warning.
    fn optional<T>(
        &mut self,
        field: &'static str,
        value: &str,
        code: FindingCode,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let parsed = parse(value);
        if parsed.is_none() {
            self.report(
                code,
                field,
                format!("{field} must be {expected}; the value was ignored"),
            );
        }
        parsed
    }
}

/// Result of checking one roll record on its own.
struct RollCheck {
    upn: Option<Upn>,
    pupil: Option<Pupil>,
}

fn check_pupil(
    record: usize,
    raw: &RawPupil,
    ctx: &Context,
    findings: &mut Vec<Finding>,
) -> RollCheck {
    use FindingCode as F;
    let mut c = Check {
        record: RecordRef::Roll(record),
        findings,
        failed: false,
    };
    // Every field through the text rules first, in the order the findings are reported.
    let upn = c.short("upn", &raw.upn).and_then(|v| c.upn(v));
    if upn.as_ref().is_some_and(Upn::is_temporary) {
        c.report(
            F::UpnTemporary,
            "upn",
            "upn is temporary; send the permanent upn when it is known",
        );
    }
    let forename = c
        .text("forename", &raw.forename, MAX_NAME_CHARS)
        .and_then(|v| c.required("forename", v))
        .map(str::to_owned);
    let surname = c
        .text("surname", &raw.surname, MAX_NAME_CHARS)
        .and_then(|v| c.required("surname", v))
        .map(str::to_owned);
    let date_of_birth = c
        .short("date_of_birth", &raw.date_of_birth)
        .and_then(|v| c.required_date("date_of_birth", v));
    if date_of_birth.is_some_and(|d| d > ctx.today) {
        c.report(
            F::DateOfBirthInFuture,
            "date_of_birth",
            "date_of_birth is after today",
        );
    }
    let sex = c
        .short("sex", &raw.sex)
        .and_then(|v| c.optional("sex", v, F::SexInvalid, "M or F", Sex::parse));
    let year_group = c.short("year_group", &raw.year_group).and_then(|v| {
        c.optional(
            "year_group",
            v,
            F::YearGroupInvalid,
            "N1, N2, R, 1 to 14 or X",
            YearGroup::parse,
        )
    });
    let admission_date = c
        .short("admission_date", &raw.admission_date)
        .and_then(|v| c.required_date("admission_date", v));
    if let (Some(birth), Some(admission)) = (date_of_birth, admission_date)
        && admission < birth
    {
        c.report(
            F::AdmissionBeforeBirth,
            "admission_date",
            "admission_date is before date_of_birth",
        );
    }
    let leaving_date = c
        .short("leaving_date", &raw.leaving_date)
        .filter(|v| !v.is_empty())
        .and_then(|v| c.date("leaving_date", v));
    if let (Some(admission), Some(leaving)) = (admission_date, leaving_date)
        && leaving < admission
    {
        c.report(
            F::LeavingBeforeAdmission,
            "leaving_date",
            "leaving_date is before admission_date",
        );
    }
    let fsm = c
        .short("fsm", &raw.fsm)
        .and_then(|v| c.optional("fsm", v, F::FsmInvalid, "Y or N", parse_flag));
    let sen_provision = c.short("sen_provision", &raw.sen_provision).and_then(|v| {
        c.optional(
            "sen_provision",
            v,
            F::SenProvisionInvalid,
            "N, K or E",
            SenProvision::parse,
        )
    });
    let ethnicity = c.short("ethnicity", &raw.ethnicity).and_then(|v| {
        c.optional(
            "ethnicity",
            v,
            F::EthnicityInvalid,
            "a four-letter census code",
            parse_ethnicity,
        )
    });
    let looked_after = c.short("looked_after", &raw.looked_after).and_then(|v| {
        c.optional(
            "looked_after",
            v,
            F::LookedAfterInvalid,
            "Y or N",
            parse_flag,
        )
    });
    let household_key = c.short("household_key", &raw.household_key).and_then(|v| {
        c.optional(
            "household_key",
            v,
            F::HouseholdKeyInvalid,
            "8 to 32 letters, digits, '-' or '_'",
            parse_household_key,
        )
    });

    let pupil = match (
        c.failed,
        &upn,
        forename,
        surname,
        date_of_birth,
        admission_date,
    ) {
        (
            false,
            Some(upn),
            Some(forename),
            Some(surname),
            Some(date_of_birth),
            Some(admission_date),
        ) => Some(Pupil {
            record,
            upn: upn.clone(),
            forename,
            surname,
            date_of_birth,
            sex,
            year_group,
            admission_date,
            leaving_date,
            fsm,
            sen_provision,
            ethnicity,
            looked_after,
            household_key,
        }),
        _ => None,
    };
    RollCheck { upn, pupil }
}

/// Whether two roll records say the same thing (ignoring surrounding whitespace).
fn same_pupil(a: &RawPupil, b: &RawPupil) -> bool {
    let fields = |p: &RawPupil| {
        [
            p.upn.trim().to_owned(),
            p.forename.trim().to_owned(),
            p.surname.trim().to_owned(),
            p.date_of_birth.trim().to_owned(),
            p.sex.trim().to_owned(),
            p.year_group.trim().to_owned(),
            p.admission_date.trim().to_owned(),
            p.leaving_date.trim().to_owned(),
            p.fsm.trim().to_owned(),
            p.sen_provision.trim().to_owned(),
            p.ethnicity.trim().to_owned(),
            p.looked_after.trim().to_owned(),
            p.household_key.trim().to_owned(),
        ]
    };
    fields(a) == fields(b)
}

/// What the roll says about a UPN, for checking marks.
#[derive(Clone, Copy)]
enum OnRoll {
    /// Index into the accepted pupils.
    Accepted(usize),
    Rejected,
}

fn check_mark(
    record: usize,
    raw: &RawMark,
    ctx: &Context,
    roll: &HashMap<Upn, OnRoll>,
    pupils: &[Pupil],
    findings: &mut Vec<Finding>,
) -> Option<Mark> {
    use FindingCode as F;
    let mut c = Check {
        record: RecordRef::Mark(record),
        findings,
        failed: false,
    };
    let upn = c.short("upn", &raw.upn).and_then(|v| c.upn(v));
    let pupil = match upn.as_ref().map(|u| roll.get(u)) {
        Some(None) => {
            c.report(F::PupilNotOnRoll, "upn", "pupil is not on this feed's roll");
            None
        }
        Some(Some(OnRoll::Rejected)) => {
            c.report(
                F::PupilRollRejected,
                "upn",
                "the pupil's roll record was rejected",
            );
            None
        }
        Some(Some(OnRoll::Accepted(i))) => Some(&pupils[*i]),
        None => None,
    };
    let date = c
        .short("date", &raw.date)
        .and_then(|v| c.required_date("date", v));
    if let Some(date) = date {
        if date > ctx.today {
            c.report(F::DateInFuture, "date", "date is after today");
        }
        if is_weekend(date) {
            c.report(F::WeekendSession, "date", "date is a saturday or sunday");
        }
    }
    let session = c
        .short("session", &raw.session)
        .and_then(|v| c.required("session", v))
        .and_then(|s| {
            let session = Session::parse(s);
            if session.is_none() {
                c.report(F::SessionInvalid, "session", "session must be AM or PM");
            }
            session
        });
    let code = c
        .short("code", &raw.code)
        .and_then(|v| c.required("code", v))
        .and_then(|raw_code| {
            let found = match date {
                Some(date) => codes::lookup(raw_code, date),
                None => codes::find(raw_code).map(|code| codes::CodeLookup {
                    code,
                    retired: false,
                }),
            };
            match found {
                Ok(found) => {
                    if found.retired {
                        c.report(
                            F::RetiredCode,
                            "code",
                            format!(
                                "attendance code {} was retired after {}; counted as {}",
                                found.code.code(),
                                found
                                    .code
                                    .valid_to()
                                    .expect("retired codes have an end date"),
                                found.code.category()
                            ),
                        );
                    }
                    Some(found.code)
                }
                Err(e @ CodeError::NotYetValid { .. }) => {
                    c.report(F::CodeNotYetValid, "code", e.to_string());
                    None
                }
                Err(e) => {
                    c.report(F::UnknownCode, "code", e.to_string());
                    None
                }
            }
        });
    if let (Some(pupil), Some(date)) = (pupil, date) {
        // Z marks a prospective pupil not yet on the admission register: it comes before admission.
        let prospective = code.is_some_and(|c| c.code() == "Z");
        if date < pupil.admission_date && !prospective {
            c.report(
                F::MarkBeforeAdmission,
                "date",
                "date is before the pupil's admission_date",
            );
        }
        if pupil.leaving_date.is_some_and(|l| date > l) {
            c.report(
                F::MarkAfterLeaving,
                "date",
                "date is after the pupil's leaving_date",
            );
        }
    }
    let minutes = c
        .short("minutes_late", &raw.minutes_late)
        .unwrap_or_default();
    let mut minutes_late = None;
    if !minutes.is_empty() {
        let parsed = (minutes.len() <= 3 && minutes.bytes().all(|b| b.is_ascii_digit()))
            .then(|| minutes.parse::<u16>().ok())
            .flatten()
            .filter(|&m| m <= MAX_MINUTES_LATE);
        match parsed {
            None => c.report(
                F::MinutesLateInvalid,
                "minutes_late",
                format!("minutes_late must be a whole number from 0 to {MAX_MINUTES_LATE}; the value was ignored"),
            ),
            Some(m) if m > 0 && code.is_some_and(|c| !matches!(c.code(), "L" | "U")) => c.report(
                F::MinutesLateUnexpected,
                "minutes_late",
                "minutes_late is only kept with code L or U; the value was ignored",
            ),
            Some(m) => minutes_late = Some(m),
        }
    }
    match (c.failed, upn, date, session, code) {
        (false, Some(upn), Some(date), Some(session), Some(code)) => Some(Mark {
            record,
            upn,
            date,
            session,
            code,
            minutes_late,
        }),
        _ => None,
    }
}

/// Validates a whole feed: the roll and the marks. Returns every finding, not the first.
pub fn validate(roll: &[RawPupil], marks: &[RawMark], ctx: &Context) -> Validated {
    let mut findings = Vec::new();

    // Roll: each record on its own, then UPNs sent more than once.
    let checked: Vec<RollCheck> = roll
        .iter()
        .enumerate()
        .map(|(i, p)| check_pupil(i, p, ctx, &mut findings))
        .collect();
    let mut by_upn: HashMap<&Upn, Vec<usize>> = HashMap::new();
    for (i, c) in checked.iter().enumerate() {
        if let Some(upn) = &c.upn {
            by_upn.entry(upn).or_default().push(i);
        }
    }
    let mut dropped = vec![false; roll.len()];
    // Each record is in one group and findings are sorted by record at the end, so the map's
    // iteration order cannot change the result.
    for group in by_upn.values().filter(|v| v.len() > 1) {
        let first = group[0];
        if group.iter().all(|&i| same_pupil(&roll[i], &roll[first])) {
            for &i in &group[1..] {
                dropped[i] = true;
                findings.push(Finding::new(
                    FindingCode::DuplicatePupil,
                    RecordRef::Roll(i),
                    "upn",
                    format!("same pupil sent again, identical to roll record {first}; the copy was ignored"),
                ));
            }
        } else {
            for &i in group {
                dropped[i] = true;
                findings.push(Finding::new(
                    FindingCode::DuplicateUpn,
                    RecordRef::Roll(i),
                    "upn",
                    format!(
                        "upn also used by another roll record ({} in all) with different details",
                        group.len()
                    ),
                ));
            }
        }
    }
    let mut on_roll: HashMap<Upn, OnRoll> = HashMap::new();
    let mut pupils = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        let Some(upn) = c.upn else { continue };
        match (c.pupil, dropped[i]) {
            (Some(pupil), false) => {
                on_roll.insert(upn, OnRoll::Accepted(pupils.len()));
                pupils.push(pupil);
            }
            // A dropped identical copy leaves the first record's outcome in place.
            (_, true) if on_roll.contains_key(&upn) => {}
            _ => {
                on_roll.entry(upn).or_insert(OnRoll::Rejected);
            }
        }
    }

    // Marks: each record on its own, then sessions marked more than once.
    let mut accepted: Vec<Mark> = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        if let Some(mark) = check_mark(i, m, ctx, &on_roll, &pupils, &mut findings) {
            accepted.push(mark);
        }
    }
    let mut sessions: HashMap<(&Upn, NaiveDate, Session), Vec<usize>> = HashMap::new();
    for (i, m) in accepted.iter().enumerate() {
        sessions
            .entry((&m.upn, m.date, m.session))
            .or_default()
            .push(i);
    }
    let mut keep = vec![true; accepted.len()];
    for group in sessions.values().filter(|v| v.len() > 1) {
        let first = &accepted[group[0]];
        let same =
            |m: &Mark| m.code.index() == first.code.index() && m.minutes_late == first.minutes_late;
        if group.iter().all(|&i| same(&accepted[i])) {
            for &i in &group[1..] {
                keep[i] = false;
                findings.push(Finding::new(
                    FindingCode::DuplicateMark,
                    RecordRef::Mark(accepted[i].record),
                    "session",
                    format!(
                        "same mark sent again, identical to mark record {}; the copy was ignored",
                        first.record
                    ),
                ));
            }
        } else {
            for &i in group {
                keep[i] = false;
                findings.push(Finding::new(
                    FindingCode::ConflictingMarks,
                    RecordRef::Mark(accepted[i].record),
                    "code",
                    format!(
                        "session marked {} times with different codes or minutes late in this feed",
                        group.len()
                    ),
                ));
            }
        }
    }
    let mut marks_out: Vec<Mark> = accepted
        .into_iter()
        .zip(keep)
        .filter_map(|(m, k)| k.then_some(m))
        .collect();

    if !ctx.school_registered {
        findings.push(Finding::new(
            FindingCode::SchoolNotInRegistry,
            RecordRef::Feed,
            "",
            "the sending school is not in the la's registry; every record was rejected",
        ));
        pupils.clear();
        marks_out.clear();
    }

    // Stable: within a record, findings keep the order the rules ran in.
    findings.sort_by_key(|f| f.record);
    Validated {
        pupils,
        marks: marks_out,
        findings,
        roll_records: roll.len(),
        mark_records: marks.len(),
    }
}
