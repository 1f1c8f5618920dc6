//! A pupil's record read as an attendance officer reads it: sessions grouped by week, absence
//! spells, the measures per enrolment, and which attributes a later feed changed. Pure: the
//! record comes from `rollcall_db::pupil_record`; `grpc_pupil.rs` turns this into messages.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rollcall_db::{AttributeVersion, Enrolment, PupilSession};
use rollcall_domain::Counters;
use rollcall_domain::codes::Category;

/// The Monday of `date`'s week.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// Sessions by week (Monday), in date order.
pub fn weeks(sessions: &[PupilSession]) -> BTreeMap<NaiveDate, Vec<&PupilSession>> {
    let mut weeks: BTreeMap<NaiveDate, Vec<&PupilSession>> = BTreeMap::new();
    for s in sessions {
        weeks.entry(monday_of(s.date)).or_default().push(s);
    }
    weeks
}

/// Consecutive absent sessions of one enrolment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spell {
    pub enrolment_id: i64,
    pub first: (NaiveDate, i16),
    pub last: (NaiveDate, i16),
    pub by_code: BTreeMap<&'static str, u64>,
    /// Runs to the enrolment's latest recorded session.
    pub current: bool,
}

impl Spell {
    pub fn sessions(&self) -> u64 {
        self.by_code.values().sum()
    }
}

/// The absence spells of each enrolment, over the sessions its school recorded: an absence
/// (authorised or unauthorised) extends the spell, a present or off-site session ends it, and a
/// session not counted as possible (a closure, a D mark) neither extends nor ends it. Days with
/// no session recorded (weekends, holidays) do not exist here, so they cannot break a spell.
pub fn spells<S: Borrow<PupilSession>>(sessions: &[S]) -> Vec<Spell> {
    let mut by_enrolment: BTreeMap<i64, Vec<&PupilSession>> = BTreeMap::new();
    for s in sessions {
        let s = s.borrow();
        by_enrolment.entry(s.enrolment_id).or_default().push(s);
    }
    let mut out = Vec::new();
    for (enrolment_id, mut sessions) in by_enrolment {
        sessions.sort_by_key(|s| (s.date, s.session));
        let mut open: Option<Spell> = None;
        for s in &sessions {
            match s.code.category() {
                Category::Authorised | Category::Unauthorised => {
                    let spell = open.get_or_insert_with(|| Spell {
                        enrolment_id,
                        first: (s.date, s.session),
                        last: (s.date, s.session),
                        by_code: BTreeMap::new(),
                        current: false,
                    });
                    spell.last = (s.date, s.session);
                    *spell.by_code.entry(s.code.code()).or_default() += 1;
                }
                Category::Present | Category::Aea => out.extend(open.take()),
                Category::NotPossible => {}
            }
        }
        if let Some(mut spell) = open {
            spell.current = true;
            out.push(spell);
        }
    }
    out.sort_by_key(|s| (s.first, s.enrolment_id));
    out
}

/// Each enrolment's counters over the sessions, and whether it has a D mark (dual registered).
pub fn counters(sessions: &[PupilSession]) -> BTreeMap<i64, (Counters, bool)> {
    let mut out: BTreeMap<i64, (Counters, bool)> = BTreeMap::new();
    for s in sessions {
        let (counters, dual) = out.entry(s.enrolment_id).or_default();
        counters.add(s.code, 1);
        *dual |= s.code.code() == "D";
    }
    out
}

/// One attribute a later feed changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub school_urn: i32,
    pub field: &'static str,
    pub before: String,
    pub after: String,
    pub recorded_at: DateTime<Utc>,
}

/// The changes between consecutive versions of each enrolment's attributes, oldest first.
pub fn attribute_changes(versions: &[AttributeVersion]) -> Vec<Change> {
    let mut by_enrolment: BTreeMap<i64, Vec<&AttributeVersion>> = BTreeMap::new();
    for v in versions {
        by_enrolment.entry(v.enrolment.id).or_default().push(v);
    }
    let mut out = Vec::new();
    for versions in by_enrolment.values_mut() {
        versions.sort_by_key(|v| v.recorded_at);
        for pair in versions.windows(2) {
            let (old, new) = (&pair[0].enrolment, &pair[1].enrolment);
            for ((field, before), (_, after)) in fields(old).into_iter().zip(fields(new)) {
                if before != after {
                    out.push(Change {
                        school_urn: new.school_urn,
                        field,
                        before,
                        after,
                        recorded_at: pair[1].recorded_at,
                    });
                }
            }
        }
    }
    out.sort_by_key(|c| c.recorded_at);
    out
}

/// An enrolment's attributes as text, by field name, empty where not sent.
fn fields(e: &Enrolment) -> [(&'static str, String); 11] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let date = |v: &Option<NaiveDate>| v.map(|d| d.to_string()).unwrap_or_default();
    let flag = |v: &Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
    [
        ("forename", text(&e.forename)),
        ("surname", text(&e.surname)),
        ("date_of_birth", date(&e.date_of_birth)),
        ("sex", text(&e.sex)),
        ("year_group", text(&e.year_group)),
        ("admission_date", date(&e.admission_date)),
        ("leaving_date", date(&e.leaving_date)),
        ("fsm", flag(&e.fsm)),
        ("sen_provision", text(&e.sen_provision)),
        ("ethnicity", text(&e.ethnicity)),
        ("looked_after", flag(&e.looked_after)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn session(enrolment_id: i64, date: &str, session: i16, code: &str) -> PupilSession {
        PupilSession {
            enrolment_id,
            date: d(date),
            session,
            code: rollcall_domain::codes::get(code).unwrap(),
            minutes_late: None,
            recorded_at: None,
        }
    }

    #[test]
    fn a_weekend_and_a_closure_do_not_break_a_spell_and_a_present_session_ends_it() {
        let sessions = vec![
            session(1, "2025-10-02", 0, "/"),
            session(1, "2025-10-03", 0, "I"),
            session(1, "2025-10-03", 1, "I"),
            // Saturday and Sunday: nothing recorded.
            session(1, "2025-10-06", 0, "#"),
            session(1, "2025-10-06", 1, "O"),
            session(1, "2025-10-07", 0, "/"),
            session(1, "2025-10-07", 1, "N"),
        ];
        let found = spells(&sessions);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].first, (d("2025-10-03"), 0));
        assert_eq!(found[0].last, (d("2025-10-06"), 1));
        assert_eq!(found[0].sessions(), 3);
        assert_eq!(found[0].by_code, BTreeMap::from([("I", 2), ("O", 1)]));
        assert!(!found[0].current);
        assert!(found[1].current && found[1].sessions() == 1);
    }

    #[test]
    fn weeks_start_on_monday_and_d_marks_flag_dual_registration() {
        let sessions = vec![
            session(1, "2025-10-06", 0, "D"),
            session(2, "2025-10-06", 0, "/"),
            session(1, "2025-10-10", 0, "D"),
            session(2, "2025-10-13", 0, "/"),
        ];
        let weeks = weeks(&sessions);
        assert_eq!(
            weeks.keys().copied().collect::<Vec<_>>(),
            vec![d("2025-10-06"), d("2025-10-13")]
        );
        let counts = counters(&sessions);
        assert!(counts[&1].1 && !counts[&2].1);
        assert_eq!(counts[&1].0.possible(), 0);
        assert_eq!(counts[&2].0.possible(), 2);
    }
}
