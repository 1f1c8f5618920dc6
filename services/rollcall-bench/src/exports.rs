//! Export throughput and memory on a full year (`la-year`): the exports run against their own
//! query service process, so its peak memory (VmHWM) after each export is the exports' alone,
//! from a small one to the largest. Memory that stays flat while the rows grow a hundredfold is
//! what the school-by-school streaming promises.

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use rollcall_proto::export::v1::{
    EesYearToDateRequest, PupilSessionsRequest, export_service_client::ExportServiceClient,
};

use crate::channel;
use crate::procs::Processes;

/// One export, measured.
#[derive(Clone, Debug)]
pub struct ExportFigure {
    pub label: String,
    pub rows: u64,
    pub bytes: u64,
    pub marks_read: Option<u64>,
    pub seconds: f64,
    /// The export query service's peak resident memory once this export was written.
    pub peak_kib: Option<u64>,
}

impl ExportFigure {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} rows, {:.1} MB in {:.1} s ({:.0} rows/s)",
            self.rows,
            self.bytes as f64 / 1e6,
            self.seconds,
            self.rows as f64 / self.seconds
        );
        if let Some(marks) = self.marks_read {
            s.push_str(&format!(
                ", {:.0} marks read/s",
                marks as f64 / self.seconds
            ));
        }
        if let Some(kib) = self.peak_kib {
            s.push_str(&format!(", query peak {:.1} MiB", kib as f64 / 1024.0));
        }
        s
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "export": self.label, "rows": self.rows, "bytes": self.bytes,
            "marks_read": self.marks_read, "seconds": self.seconds,
            "query_peak_kib": self.peak_kib,
        })
    }
}

/// What to export: the LA, its largest school, and the period's bounds.
pub struct ExportPlan<'a> {
    pub la_code: &'a str,
    pub largest_school: &'a str,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub marks_in_year: u64,
}

/// Runs the exports in growing order against the query service `name` on `port`, writing under
/// `dir` (each file removed once measured).
pub async fn run(
    plan: &ExportPlan<'_>,
    port: u16,
    token: &str,
    processes: &Processes,
    name: &str,
    dir: &Path,
) -> anyhow::Result<Vec<ExportFigure>> {
    std::fs::create_dir_all(dir)?;
    let mut client = ExportServiceClient::new(channel(port, token).await?);
    let grpc = rollcall_client::status::error;
    let peak = || {
        processes
            .peak_memory_kib()
            .into_iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, kib)| kib)
    };
    let week_end = plan.first_day + chrono::Days::new(6);
    let four_weeks = plan.last_day - chrono::Days::new(27);
    let sessions = |urn: &str, la: &str, from: NaiveDate, to: NaiveDate| PupilSessionsRequest {
        school_urn: urn.to_owned(),
        la_code: la.to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        dfe_scope: false,
        purpose: "bench: export throughput".into(),
        as_at: String::new(),
    };
    let mut out = Vec::new();
    let steps: Vec<(String, Step)> = vec![
        (
            "pupil sessions, largest school, first week".into(),
            Step::Sessions(sessions(plan.largest_school, "", plan.first_day, week_end)),
        ),
        (
            "dfe year to date, whole la, full year".into(),
            Step::Ees(EesYearToDateRequest {
                la_codes: vec![plan.la_code.to_owned()],
                ..Default::default()
            }),
        ),
        (
            "pupil sessions, largest school, full year".into(),
            Step::Sessions(sessions(
                plan.largest_school,
                "",
                plan.first_day,
                plan.last_day,
            )),
        ),
        (
            "pupil sessions, whole la, last 4 weeks".into(),
            Step::Sessions(sessions("", plan.la_code, four_weeks, plan.last_day)),
        ),
    ];
    for (i, (label, step)) in steps.into_iter().enumerate() {
        let path = dir.join(format!("export-{i}.csv"));
        let started = Instant::now();
        let (stream, marks_read) = match step {
            Step::Ees(request) => (
                client.ees_year_to_date(request).await.map_err(grpc)?,
                Some(plan.marks_in_year),
            ),
            Step::Sessions(request) => (client.pupil_sessions(request).await.map_err(grpc)?, None),
        };
        let written = rollcall_client::export::write(
            stream.into_inner(),
            &path,
            serde_json::json!({ "bench": label }),
            &rollcall_client::progress::Silent,
        )
        .await?;
        let figure = ExportFigure {
            label,
            rows: written.rows,
            bytes: written.bytes,
            marks_read,
            seconds: started.elapsed().as_secs_f64(),
            peak_kib: peak(),
        };
        eprintln!("bench: export {}: {}", figure.label, figure.describe());
        let _ = std::fs::remove_file(&written.path);
        let _ = std::fs::remove_file(&written.manifest);
        out.push(figure);
    }
    Ok(out)
}

enum Step {
    Ees(EesYearToDateRequest),
    Sessions(PupilSessionsRequest),
}
