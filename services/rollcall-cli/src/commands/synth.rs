//! `rollcall synth`: the synthetic LA written as the CSV files `schools import` and `submit`
//! read, to try them by hand.

use std::path::Path;

use anyhow::Context as _;
use rollcall_client::csvfile;
use rollcall_synth::{LaSpec, SyntheticLa};

use super::Context;
use crate::render::{self, SynthFiles, yes_no};

pub fn run(context: &Context, spec: LaSpec, out: &Path) -> anyhow::Result<()> {
    let files = write(spec, out)?;
    context.print(render::synth_json(&files), || render::synth_text(&files));
    Ok(())
}

/// Writes `schools.csv` and each feed's `<urn>-<day>-roll.csv` and `-marks.csv` into `out`.
fn write(spec: LaSpec, out: &Path) -> anyhow::Result<SynthFiles> {
    let la = SyntheticLa::generate(spec);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_csv(
        &out.join("schools.csv"),
        csvfile::SCHOOL_COLUMNS,
        la.schools.iter().map(|s| {
            vec![
                format!("{:06}", s.urn),
                format!("{:03}", s.la_code),
                s.name.clone(),
                s.phase.clone(),
                s.school_type.clone(),
                yes_no(s.independent),
            ]
        }),
    )?;
    for feed in &la.feeds {
        let stem = format!("{:06}-{}", feed.urn, feed.day);
        // Independent schools' files carry only the columns they have.
        let independent = la
            .schools
            .iter()
            .any(|s| s.urn == feed.urn && s.independent);
        let columns = if independent {
            csvfile::INDEPENDENT_ROLL_COLUMNS
        } else {
            csvfile::ROLL_COLUMNS
        };
        write_csv(
            &out.join(format!("{stem}-roll.csv")),
            columns,
            feed.roll.iter().map(|p| {
                columns
                    .iter()
                    .map(|c| csvfile::pupil_field(p, c).to_owned())
                    .collect()
            }),
        )?;
        write_csv(
            &out.join(format!("{stem}-marks.csv")),
            csvfile::MARK_COLUMNS,
            feed.marks.iter().map(|m| {
                vec![
                    m.upn.clone(),
                    m.date.clone(),
                    m.session.clone(),
                    m.code.clone(),
                    m.minutes_late.clone(),
                ]
            }),
        )?;
    }
    let first = &la.feeds[0];
    Ok(SynthFiles {
        dir: out.to_owned(),
        schools: la.schools.len(),
        feeds: la.feeds.len(),
        marks: la.marks_sent(),
        first_urn: first.urn,
        first_stem: out.join(format!("{:06}-{}", first.urn, first.day)),
    })
}

/// Writes records as CSV under `columns`.
fn write_csv(
    path: &Path,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    writer.write_record(columns)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_csv_files_read_back_as_the_feeds() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(LaSpec::small(), dir.path()).unwrap();
        let la = SyntheticLa::generate(LaSpec::small());
        assert_eq!(
            (files.schools, files.feeds, files.marks),
            (la.schools.len(), la.feeds.len(), la.marks_sent())
        );
        let schools = csvfile::read_schools(&dir.path().join("schools.csv")).unwrap();
        assert_eq!(schools.len(), la.schools.len());
        assert!(
            schools
                .iter()
                .zip(&la.schools)
                .all(|(read, s)| read.urn == format!("{:06}", s.urn)
                    && read.independent == s.independent
                    && read.name == s.name)
        );
        for feed in &la.feeds {
            let file = |kind: &str| {
                dir.path()
                    .join(format!("{:06}-{}-{kind}.csv", feed.urn, feed.day))
            };
            let roll = csvfile::read_roll(&file("roll")).unwrap();
            let marks = csvfile::read_marks(&file("marks")).unwrap();
            assert_eq!(roll, feed.roll);
            assert_eq!(marks, feed.marks);
        }
        let independent = la.schools.iter().find(|s| s.independent).unwrap();
        let header = std::fs::read_to_string(dir.path().join(format!(
            "{:06}-{}-roll.csv",
            independent.urn, la.spec.first_day
        )))
        .unwrap();
        assert_eq!(
            header.lines().next(),
            Some("upn,forename,surname,date_of_birth,year_group,admission_date,leaving_date")
        );
    }
}
