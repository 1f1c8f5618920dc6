//! What each export reads and writes, school by school from its snapshot: the year-to-date
//! layout's tallies, the pupil-session rows month by month, the census term's counts per
//! enrolment.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use rollcall_db::Enrolment;
use rollcall_db::Pool;
use rollcall_db::export::{EnrolmentRegister, ExportReader, ExportSchool, PupilSchool};
use rollcall_domain::calendar::compulsory_school_age_births;
use rollcall_domain::census::{self, CensusTerm};
use rollcall_domain::ees::{self, EesRow, EesTally, Geography, Phase, Suppression};
use rollcall_domain::{AcademicYear, Counters, LaCode, Session};
use rollcall_server::ApiError;

use super::{ColumnKind, ExportJob, Sink, Stop};

/// Days of a period, as a bit set indexed from its first day.
struct DaySet {
    first: NaiveDate,
    bits: Vec<u64>,
}

impl DaySet {
    fn new(from: NaiveDate, to: NaiveDate) -> DaySet {
        let days = (to - from).num_days() as usize + 1;
        DaySet {
            first: from,
            bits: vec![0; days.div_ceil(64)],
        }
    }

    /// Adds `date`; whether it was new.
    fn insert(&mut self, date: NaiveDate) -> bool {
        let i = (date - self.first).num_days() as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        new
    }

    fn union(&mut self, other: &DaySet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
    }

    fn len(&self) -> u64 {
        self.bits.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// Each stored mark of `enrolment` dated within `from..=to`, in date and session order.
fn marks_within<'a>(
    enrolment: &'a EnrolmentRegister,
    from: NaiveDate,
    to: NaiveDate,
) -> impl Iterator<Item = (NaiveDate, i16, rollcall_db::register::SlotMark)> + 'a {
    enrolment.months.iter().flat_map(move |(month, register)| {
        register.marks().filter_map(move |(slot, mark)| {
            let (date, session) = rollcall_db::register::session_of(*month, slot);
            (from <= date && date <= to).then_some((date, session, mark))
        })
    })
}

/// One school's figures for the year-to-date layout, and the days it has marks on.
fn tally_school(
    reader: &ExportReader,
    registers: &[EnrolmentRegister],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(EesTally, DaySet), rollcall_db::Error> {
    let mut tally = EesTally::default();
    let mut days = DaySet::new(from, to);
    for enrolment in registers {
        let mut counters = Counters::default();
        let mut last_day = None;
        for (date, _, mark) in marks_within(enrolment, from, to) {
            counters.add(reader.code(mark.code_id)?, 1);
            if last_day != Some(date) {
                last_day = Some(date);
                tally.enrolment_days += 1;
                days.insert(date);
            }
        }
        tally.add_enrolment(&counters);
    }
    tally.school_days = days.len();
    tally.schools = u64::from(tally.enrolments > 0);
    Ok((tally, days))
}

pub struct EesJob {
    pub(super) schools: Vec<ExportSchool>,
    pub(super) las: Vec<i16>,
    pub(super) from: NaiveDate,
    pub(super) to: NaiveDate,
    pub(super) year: AcademicYear,
    pub(super) regional: bool,
    pub(super) national: bool,
    pub(super) suppression: Suppression,
}

impl ExportJob for EesJob {
    async fn write(&self, reader: &mut ExportReader, sink: &mut Sink) -> Result<(), Stop> {
        let births = compulsory_school_age_births(self.year);
        let mut school_days = DaySet::new(self.from, self.to);
        let mut tallies: BTreeMap<i16, [EesTally; 3]> = self
            .las
            .iter()
            .map(|&la| (la, Default::default()))
            .collect();
        for school in &self.schools {
            if let Some(phase) = Phase::of_school(&school.phase, school.independent) {
                let registers = reader
                    .registers(school, self.from, self.to, Some(births))
                    .await?;
                let (tally, days) = tally_school(reader, &registers, self.from, self.to)?;
                school_days.union(&days);
                tallies.entry(school.la_code).or_default()[phase.index()].add(&tally);
            }
            sink.school_done().await?;
        }
        let school_days = school_days.len();
        let rows_of = |geography, phases: &[EesTally; 3]| {
            ees::geography_rows(self.year, geography, phases, school_days, self.suppression)
        };
        let mut rows: Vec<EesRow> = Vec::new();
        let mut regions: BTreeMap<&'static str, [EesTally; 3]> = BTreeMap::new();
        let mut nation: [EesTally; 3] = Default::default();
        for (&la, phases) in &tallies {
            let la = LaCode::new(la as u16).map_err(|err| {
                Stop::Failed(ApiError::internal("a stored la code is not valid", &err))
            })?;
            rows.extend(rows_of(Geography::LocalAuthority(la), phases));
            let region = la.region_code().unwrap_or("");
            for (i, tally) in phases.iter().enumerate() {
                regions.entry(region).or_default()[i].add(tally);
                nation[i].add(tally);
            }
        }
        if self.regional {
            for (region, phases) in &regions {
                if !region.is_empty() {
                    rows.extend(rows_of(Geography::Regional(region), phases));
                }
            }
        }
        if self.national {
            rows.extend(rows_of(Geography::National, &nation));
        }
        // As the DfE orders its file: by phase, then local authorities, regions, the nation.
        let level = |g: &Geography| match g {
            Geography::LocalAuthority(_) => 0,
            Geography::Regional(_) => 1,
            Geography::National => 2,
        };
        rows.sort_by(|a, b| {
            (a.phase, level(&a.geography), a.geography).cmp(&(
                b.phase,
                level(&b.geography),
                b.geography,
            ))
        });
        for row in rows {
            sink.row(row.cells().iter().map(ToString::to_string).collect())
                .await?;
        }
        Ok(())
    }
}

/// The pupil's details every pupil-level export carries (DOMAIN.md section 5).
pub(super) const PUPIL_COLUMNS: &[(&str, ColumnKind)] = &[
    ("school_urn", ColumnKind::Text),
    ("la_code", ColumnKind::Text),
    ("upn", ColumnKind::Text),
    ("forename", ColumnKind::Text),
    ("surname", ColumnKind::Text),
    ("date_of_birth", ColumnKind::Date),
    ("sex", ColumnKind::Text),
    ("year_group", ColumnKind::Text),
    ("ethnicity", ColumnKind::Text),
    ("fsm", ColumnKind::Text),
    ("sen_provision", ColumnKind::Text),
    ("looked_after", ColumnKind::Text),
    ("admission_date", ColumnKind::Date),
    ("leaving_date", ColumnKind::Date),
];

pub(super) const SESSION_COLUMNS: &[(&str, ColumnKind)] = &[
    ("date", ColumnKind::Date),
    ("session", ColumnKind::Text),
    ("code", ColumnKind::Text),
    ("category", ColumnKind::Text),
    ("minutes_late", ColumnKind::Integer),
    ("recorded_at", ColumnKind::Timestamp),
];

fn pupil_cells(school: &ExportSchool, e: &Enrolment) -> Vec<String> {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    vec![
        format!("{:06}", school.urn),
        format!("{:03}", school.la_code),
        e.upn.clone(),
        text(&e.forename),
        text(&e.surname),
        date(e.date_of_birth),
        text(&e.sex),
        text(&e.year_group),
        text(&e.ethnicity),
        flag(e.fsm),
        text(&e.sen_provision),
        flag(e.looked_after),
        date(e.admission_date),
        date(e.leaving_date),
    ]
}

/// The months of a period, each as the part of the period within it.
fn months_of(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let month = rollcall_db::register::month_of(start);
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .expect("a date within range");
        let end = (next - Days::new(1)).min(to);
        out.push((start, end));
        start = next;
    }
    out
}

/// A school's pupils by enrolment id, and when each of its feeds was recorded by feed number.
struct SchoolDetails {
    pupils: HashMap<i64, Enrolment>,
    feed_times: HashMap<i32, DateTime<Utc>>,
}

pub struct PupilSessionsJob {
    pub(super) pool: Pool,
    pub(super) event_id: i64,
    pub(super) schools: Vec<PupilSchool>,
    pub(super) from: NaiveDate,
    pub(super) to: NaiveDate,
    pub(super) dfe_scope: bool,
}

impl ExportJob for PupilSessionsJob {
    /// School by school and month by month, so at most one school's month is held: rows go out
    /// in school, date, session and enrolment order.
    async fn write(&self, reader: &mut ExportReader, sink: &mut Sink) -> Result<(), Stop> {
        let births = self
            .dfe_scope
            .then(|| compulsory_school_age_births(AcademicYear::of(self.from)));
        for pupil_school in &self.schools {
            let school = pupil_school.school();
            if self.dfe_scope && Phase::of_school(&school.phase, school.independent).is_none() {
                sink.school_done().await?;
                continue;
            }
            // Read once the school has a month with marks: pupils and their feeds' times.
            let mut details: Option<SchoolDetails> = None;
            for (from, to) in months_of(self.from, self.to) {
                let registers = reader.registers(school, from, to, births).await?;
                if registers.is_empty() {
                    continue;
                }
                if details.is_none() {
                    details = Some(SchoolDetails {
                        pupils: reader.enrolments(pupil_school).await?,
                        feed_times: reader.feed_times(pupil_school).await?,
                    });
                }
                let SchoolDetails { pupils, feed_times } = details.as_ref().expect("read above");
                let shown: Vec<i64> = registers
                    .iter()
                    .filter(|e| marks_within(e, from, to).next().is_some())
                    .map(|e| e.enrolment_id)
                    .collect();
                // Recorded, and committed, before these pupils' rows leave.
                rollcall_db::append_audit_enrolments(&self.pool, self.event_id, &shown).await?;
                let mut by_session: BTreeMap<(NaiveDate, i16), Vec<(i64, _)>> = BTreeMap::new();
                for enrolment in &registers {
                    for (date, session, mark) in marks_within(enrolment, from, to) {
                        by_session
                            .entry((date, session))
                            .or_default()
                            .push((enrolment.enrolment_id, mark));
                    }
                }
                for ((date, session), marks) in by_session {
                    for (enrolment_id, mark) in marks {
                        let Some(pupil) = pupils.get(&enrolment_id) else {
                            continue;
                        };
                        let code = reader.code(mark.code_id)?;
                        let mut cells = pupil_cells(school, pupil);
                        cells.extend([
                            date.to_string(),
                            session_label(session).to_owned(),
                            code.code().to_owned(),
                            code.category().as_str().to_owned(),
                            mark.minutes_late.map(|m| m.to_string()).unwrap_or_default(),
                            feed_times
                                .get(&mark.feed_seq)
                                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                                .unwrap_or_default(),
                        ]);
                        sink.row(cells).await?;
                    }
                }
            }
            sink.school_done().await?;
        }
        Ok(())
    }
}

fn session_label(session: i16) -> &'static str {
    if session == 0 {
        Session::Am.as_str()
    } else {
        Session::Pm.as_str()
    }
}

/// The census summary's columns: the pupil, the term, then sessions possible and absence by
/// reason (every absence code of the code table, retired ones included).
pub(super) fn census_columns() -> Vec<(String, ColumnKind)> {
    let mut columns: Vec<(String, ColumnKind)> = PUPIL_COLUMNS
        .iter()
        .map(|&(name, kind)| (name.to_owned(), kind))
        .collect();
    for (name, kind) in [
        ("academic_year", ColumnKind::Text),
        ("term", ColumnKind::Text),
        ("term_start", ColumnKind::Date),
        ("term_end", ColumnKind::Date),
        ("sessions_possible", ColumnKind::Integer),
        ("authorised_absence", ColumnKind::Integer),
        ("unauthorised_absence", ColumnKind::Integer),
    ] {
        columns.push((name.to_owned(), kind));
    }
    columns
        .extend(census::absence_codes().map(|c| (census::absence_column(c), ColumnKind::Integer)));
    columns
}

pub struct CensusJob {
    pub(super) pool: Pool,
    pub(super) event_id: i64,
    pub(super) schools: Vec<PupilSchool>,
    pub(super) year: AcademicYear,
    pub(super) term: CensusTerm,
}

impl ExportJob for CensusJob {
    async fn write(&self, reader: &mut ExportReader, sink: &mut Sink) -> Result<(), Stop> {
        let (from, to) = self.term.dates(self.year);
        for pupil_school in &self.schools {
            let school = pupil_school.school();
            let registers = reader.registers(school, from, to, None).await?;
            let mut rows: Vec<(i64, Counters)> = Vec::new();
            for enrolment in &registers {
                let mut counters = Counters::default();
                for (_, _, mark) in marks_within(enrolment, from, to) {
                    counters.add(reader.code(mark.code_id)?, 1);
                }
                if counters.possible() > 0 {
                    rows.push((enrolment.enrolment_id, counters));
                }
            }
            if !rows.is_empty() {
                let pupils = reader.enrolments(pupil_school).await?;
                let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
                rollcall_db::append_audit_enrolments(&self.pool, self.event_id, &ids).await?;
                for (enrolment_id, counters) in rows {
                    let Some(pupil) = pupils.get(&enrolment_id) else {
                        continue;
                    };
                    let mut cells = pupil_cells(school, pupil);
                    cells.extend([
                        self.year.label(),
                        self.term.as_str().to_owned(),
                        from.to_string(),
                        to.to_string(),
                        counters.possible().to_string(),
                        counters.authorised().to_string(),
                        counters.unauthorised().to_string(),
                    ]);
                    cells.extend(census::absence_codes().map(|c| counters.count(c).to_string()));
                    sink.row(cells).await?;
                }
            }
            sink.school_done().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_period_splits_into_its_months() {
        assert_eq!(
            months_of(d("2025-09-15"), d("2025-11-03")),
            vec![
                (d("2025-09-15"), d("2025-09-30")),
                (d("2025-10-01"), d("2025-10-31")),
                (d("2025-11-01"), d("2025-11-03")),
            ]
        );
        assert_eq!(
            months_of(d("2026-02-01"), d("2026-02-01")),
            vec![(d("2026-02-01"), d("2026-02-01"))]
        );
    }

    #[test]
    fn day_sets_count_each_day_once() {
        let mut days = DaySet::new(d("2025-09-01"), d("2026-08-31"));
        assert!(days.insert(d("2025-09-01")));
        assert!(!days.insert(d("2025-09-01")));
        assert!(days.insert(d("2026-08-31")));
        let mut other = DaySet::new(d("2025-09-01"), d("2026-08-31"));
        other.insert(d("2025-12-25"));
        other.insert(d("2026-08-31"));
        days.union(&other);
        assert_eq!(days.len(), 3);
    }
}
