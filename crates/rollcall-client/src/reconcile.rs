//! A school's registers as the LA holds them (`GetReconciliation`) compared with the sender's
//! own files, day by day: which pupils and dates differ. The comparison runs here, beside the
//! files: Rollcall sends only pseudonymous keys and digests, and the pupils' UPNs come from the
//! files themselves.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rollcall_domain::reconcile::{day_digest, pupil_key};
use rollcall_domain::validation::{RawMark, RawPupil};
use rollcall_proto::feed::v1::Reconciliation;

/// One pupil's day that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The pupil's UPN from the files, or Rollcall's key for a pupil the files do not have.
    pub pupil: String,
    pub date: NaiveDate,
    pub kind: DifferenceKind,
    /// The files' morning and afternoon codes (empty where none).
    pub yours: [String; 2],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DifferenceKind {
    /// Both hold the day, with other codes.
    Differs,
    /// Rollcall holds marks the files do not have.
    OnlyRollcall,
    /// The files have marks Rollcall does not hold.
    OnlyYours,
}

impl DifferenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::Differs => "differs",
            DifferenceKind::OnlyRollcall => "only in rollcall",
            DifferenceKind::OnlyYours => "only in your files",
        }
    }
}

/// How `held` differs from `marks` (with `roll`'s pupils, to name those who have no marks in
/// the files), over `held`'s dates, by pupil then date.
pub fn compare(held: &Reconciliation, roll: &[RawPupil], marks: &[RawMark]) -> Vec<Difference> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (Some(from), Some(to)) = (parse(&held.from), parse(&held.to)) else {
        return Vec::new();
    };
    let mut upns: HashMap<String, String> = HashMap::new();
    for upn in roll
        .iter()
        .map(|p| &p.upn)
        .chain(marks.iter().map(|m| &m.upn))
    {
        upns.entry(pupil_key(upn.trim()))
            .or_insert_with(|| upn.trim().to_owned());
    }
    // The files' days: each pupil's two codes per date in the range.
    let mut yours: BTreeMap<(String, NaiveDate), [String; 2]> = BTreeMap::new();
    for mark in marks {
        let Some(date) = parse(&mark.date).filter(|d| (from..=to).contains(d)) else {
            continue;
        };
        let session = match mark.session.trim() {
            "AM" => 0,
            "PM" => 1,
            _ => continue,
        };
        yours.entry((mark.upn.trim().to_owned(), date)).or_default()[session] =
            mark.code.trim().to_owned();
    }
    let ours: BTreeMap<(String, NaiveDate), &str> = held
        .days
        .iter()
        .filter_map(|d| Some(((d.pupil.clone(), parse(&d.date)?), d.digest.as_str())))
        .collect();
    let mut out = Vec::new();
    let mut seen: std::collections::HashSet<(String, NaiveDate)> = Default::default();
    for ((upn, date), codes) in &yours {
        let key = (pupil_key(upn), *date);
        let digest = day_digest(upn, *date, some(&codes[0]), some(&codes[1]));
        let kind = match ours.get(&key) {
            Some(held) if *held == digest => None,
            Some(_) => Some(DifferenceKind::Differs),
            None => Some(DifferenceKind::OnlyYours),
        };
        seen.insert(key);
        if let Some(kind) = kind {
            out.push(Difference {
                pupil: upn.clone(),
                date: *date,
                kind,
                yours: codes.clone(),
            });
        }
    }
    for (key, _) in ours.iter().filter(|(key, _)| !seen.contains(*key)) {
        out.push(Difference {
            pupil: upns.get(&key.0).cloned().unwrap_or_else(|| key.0.clone()),
            date: key.1,
            kind: DifferenceKind::OnlyRollcall,
            yours: Default::default(),
        });
    }
    out.sort_by(|a, b| (&a.pupil, a.date).cmp(&(&b.pupil, b.date)));
    out
}

fn some(code: &str) -> Option<&str> {
    (!code.is_empty()).then_some(code)
}

#[cfg(test)]
mod tests {
    use rollcall_proto::feed::v1::PupilDay;

    use super::*;

    fn mark(upn: &str, date: &str, session: &str, code: &str) -> RawMark {
        RawMark {
            upn: upn.into(),
            date: date.into(),
            session: session.into(),
            code: code.into(),
            minutes_late: String::new(),
        }
    }

    fn held(days: &[(&str, &str, Option<&str>, Option<&str>)]) -> Reconciliation {
        Reconciliation {
            from: "2025-10-06".into(),
            to: "2025-10-07".into(),
            days: days
                .iter()
                .map(|(upn, date, am, pm)| PupilDay {
                    pupil: pupil_key(upn),
                    date: (*date).into(),
                    digest: day_digest(upn, date.parse().unwrap(), *am, *pm),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_same_days_do_not_differ_and_each_kind_of_difference_is_named() {
        let (a, b) = ("W937200001001", "K937200001002");
        let rollcall = held(&[
            (a, "2025-10-06", Some("/"), Some("/")),
            (a, "2025-10-07", Some("/"), Some("N")),
            (b, "2025-10-06", Some("/"), None),
        ]);
        let same = [
            mark(a, "2025-10-06", "AM", "/"),
            mark(a, "2025-10-06", "PM", "/"),
            mark(a, "2025-10-07", "AM", "/"),
            mark(a, "2025-10-07", "PM", "N"),
            mark(b, "2025-10-06", "AM", "/"),
            // Outside the range: not compared.
            mark(b, "2025-10-09", "AM", "/"),
        ];
        assert_eq!(compare(&rollcall, &[], &same), []);
        // The MIS corrected a's Tuesday afternoon, lost b and added a Wednesday for nobody.
        let changed = [
            mark(a, "2025-10-06", "AM", "/"),
            mark(a, "2025-10-06", "PM", "/"),
            mark(a, "2025-10-07", "AM", "/"),
            mark(a, "2025-10-07", "PM", "I"),
        ];
        let roll = [RawPupil {
            upn: b.into(),
            ..Default::default()
        }];
        let found: Vec<(String, NaiveDate, DifferenceKind)> = compare(&rollcall, &roll, &changed)
            .into_iter()
            .map(|d| (d.pupil, d.date, d.kind))
            .collect();
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(
            found,
            [
                (
                    b.to_owned(),
                    day("2025-10-06"),
                    DifferenceKind::OnlyRollcall
                ),
                (a.to_owned(), day("2025-10-07"), DifferenceKind::Differs),
            ],
            "by pupil, then date"
        );
    }
}
