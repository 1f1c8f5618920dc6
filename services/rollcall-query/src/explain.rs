//! Why a pupil is on a list, as an attendance officer would explain it to a family: the absences
//! by reason, the latest ones, the spell running now, and the last four weeks beside the period.
//! Pure: the sessions come from `rollcall_db::enrolment_sessions`; the list handlers turn this
//! into messages.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rollcall_db::PupilSession;
use rollcall_domain::Counters;

use crate::measures::absence_perc;
use crate::timeline::{self, Spell};

/// How many of the latest absent sessions an explanation lists.
pub const LATEST_ABSENCES: usize = 5;

/// The recent window: the four weeks up to the latest recorded session.
const RECENT_DAYS: u64 = 28;

/// Percentage points between the recent rate and the rate before it that count as a change.
const TREND_POINTS: f64 = 5.0;

/// The recent window against the sessions before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    Worsening,
    Steady,
    Improving,
    /// No possible session before the window.
    TooSoon,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// Absent sessions per code.
    pub absence_by_code: BTreeMap<&'static str, u64>,
    /// The latest absent sessions, newest first: date, session (0 AM), code.
    pub latest_absences: Vec<(NaiveDate, i16, &'static str)>,
    pub current_spell: Option<Spell>,
    /// The first and last day of the recent window, and its counters.
    pub recent: (NaiveDate, NaiveDate),
    pub recent_counters: Counters,
    pub trend: Trend,
}

/// The explanation of one enrolment's figures from its sessions over the period, or `None`
/// when it has no session recorded.
pub fn explain(sessions: &[&PupilSession]) -> Option<Explanation> {
    let latest = sessions.iter().map(|s| s.date).max()?;
    let recent_from = latest - Days::new(RECENT_DAYS - 1);
    let (mut recent, mut before) = (Counters::default(), Counters::default());
    let mut absence_by_code: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut absences: Vec<&PupilSession> = Vec::new();
    for s in sessions {
        let window = if s.date >= recent_from {
            &mut recent
        } else {
            &mut before
        };
        window.add(s.code, 1);
        if s.code.category().is_absence() {
            *absence_by_code.entry(s.code.code()).or_default() += 1;
            absences.push(s);
        }
    }
    absences.sort_by_key(|s| std::cmp::Reverse((s.date, s.session)));
    let latest_absences = absences
        .iter()
        .take(LATEST_ABSENCES)
        .map(|s| (s.date, s.session, s.code.code()))
        .collect();
    let current_spell = timeline::spells(sessions).into_iter().find(|s| s.current);
    Some(Explanation {
        absence_by_code,
        latest_absences,
        current_spell,
        recent: (recent_from, latest),
        trend: trend(&recent, &before),
        recent_counters: recent,
    })
}

fn trend(recent: &Counters, before: &Counters) -> Trend {
    if before.possible() == 0 {
        return Trend::TooSoon;
    }
    let change = absence_perc(recent) - absence_perc(before);
    if change >= TREND_POINTS {
        Trend::Worsening
    } else if change <= -TREND_POINTS {
        Trend::Improving
    } else {
        Trend::Steady
    }
}

/// The sessions of each enrolment, in the order given.
pub fn by_enrolment(sessions: &[PupilSession]) -> BTreeMap<i64, Vec<&PupilSession>> {
    let mut out: BTreeMap<i64, Vec<&PupilSession>> = BTreeMap::new();
    for s in sessions {
        out.entry(s.enrolment_id).or_default().push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every school day (Monday to Friday) from `from` for `days` days, both sessions `code`.
    fn days(from: &str, days: u64, code: &str) -> Vec<PupilSession> {
        let code = rollcall_domain::codes::get(code).unwrap();
        (0..days)
            .map(|i| d(from) + Days::new(i))
            .filter(|date| chrono::Datelike::weekday(date).num_days_from_monday() < 5)
            .flat_map(|date| {
                (0..2).map(move |session| PupilSession {
                    enrolment_id: 7,
                    date,
                    session,
                    code,
                    minutes_late: None,
                    recorded_at: None,
                })
            })
            .collect()
    }

    #[test]
    fn a_pupil_absent_lately_is_worsening_with_the_spell_and_latest_absences() {
        // September and most of October present, then ill, then no reason given.
        let mut sessions = days("2025-09-01", 49, "/");
        sessions.extend(days("2025-10-20", 5, "I"));
        sessions.extend(days("2025-10-27", 3, "N"));
        let refs: Vec<&PupilSession> = sessions.iter().collect();
        let e = explain(&refs).unwrap();
        assert_eq!(e.absence_by_code, BTreeMap::from([("I", 10), ("N", 6)]));
        assert_eq!(e.recent, (d("2025-10-02"), d("2025-10-29")));
        assert_eq!(e.recent_counters.overall_absence(), 16);
        assert_eq!(e.trend, Trend::Worsening);
        let spell = e.current_spell.unwrap();
        assert_eq!(spell.first, (d("2025-10-20"), 0));
        assert_eq!(spell.sessions(), 16);
        assert_eq!(e.latest_absences.len(), LATEST_ABSENCES);
        assert_eq!(e.latest_absences[0], (d("2025-10-29"), 1, "N"));
        assert_eq!(e.latest_absences[1], (d("2025-10-29"), 0, "N"));
    }

    #[test]
    fn a_pupil_back_in_school_is_improving_with_no_current_spell() {
        let mut sessions = days("2025-09-01", 21, "O");
        sessions.extend(days("2025-09-22", 35, "/"));
        let refs: Vec<&PupilSession> = sessions.iter().collect();
        let e = explain(&refs).unwrap();
        assert_eq!(e.trend, Trend::Improving);
        assert!(e.current_spell.is_none());
        assert_eq!(e.recent_counters.overall_absence(), 0);
    }

    #[test]
    fn a_new_pupil_is_too_soon_to_tell_and_no_sessions_explain_nothing() {
        let sessions = days("2025-09-01", 14, "N");
        let refs: Vec<&PupilSession> = sessions.iter().collect();
        assert_eq!(explain(&refs).unwrap().trend, Trend::TooSoon);
        assert!(explain(&[]).is_none());
    }
}
