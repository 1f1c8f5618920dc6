//! What the commands that write files or run the demo say they did.

use std::path::PathBuf;
use std::time::Duration;

use rollcall_client::export::Written;
use rollcall_proto::query::v1::LaSummaryResponse;
use serde_json::{Value, json};

use super::measures::{la_json, la_text};

pub fn written_json(w: &Written) -> Value {
    json!({
        "file": w.path.display().to_string(),
        "manifest": w.manifest.display().to_string(),
        "rows": w.rows,
        "bytes": w.bytes,
        "sha256": w.sha256,
        "as_of": w.as_of,
        "seconds": w.elapsed.as_secs_f64(),
    })
}

pub fn written_text(w: &Written) -> String {
    format!(
        "wrote {} rows ({} bytes) to {} in {:.1}s\nsha256 {}\ndata as of {}\nmanifest {}\n",
        w.rows,
        w.bytes,
        w.path.display(),
        w.elapsed.as_secs_f64(),
        w.sha256,
        w.as_of,
        w.manifest.display()
    )
}

/// The synthetic LA's files, as `rollcall synth` wrote them.
pub struct SynthFiles {
    pub dir: PathBuf,
    pub schools: usize,
    pub feeds: usize,
    pub marks: usize,
    /// The first feed's school and its files' common stem (`<dir>/<urn>-<day>`).
    pub first_urn: u32,
    pub first_stem: PathBuf,
}

pub fn synth_json(s: &SynthFiles) -> Value {
    json!({
        "dir": s.dir.display().to_string(),
        "schools": s.schools,
        "feeds": s.feeds,
        "marks": s.marks,
    })
}

pub fn synth_text(s: &SynthFiles) -> String {
    format!(
        "wrote {} schools and {} feeds ({} marks) to {}\n\ntry:\n  rollcall schools import {}\n  rollcall submit --school {:06} --roll {}-roll.csv --marks {}-marks.csv\n",
        s.schools,
        s.feeds,
        s.marks,
        s.dir.display(),
        s.dir.join("schools.csv").display(),
        s.first_urn,
        s.first_stem.display(),
        s.first_stem.display(),
    )
}

/// What the demo sent, what the pipeline made of it, and what the LA sees.
pub struct DemoSummary {
    pub schools: usize,
    pub pupils: usize,
    pub feeds: usize,
    pub marks: usize,
    pub marks_written: u64,
    pub marks_superseded: u64,
    pub marks_rejected: u64,
    pub summary: LaSummaryResponse,
    pub persistent: u64,
    pub severe: u64,
    /// The LA's DfE year-to-date export, when one was asked for.
    pub export: Option<Written>,
    pub acknowledged: Duration,
    pub processed: Duration,
    pub total: Duration,
}

pub fn demo_json(d: &DemoSummary) -> Value {
    let export = d.export.as_ref().map_or(
        Value::Null,
        |w| json!({"file": w.path.display().to_string(), "rows": w.rows, "sha256": w.sha256}),
    );
    json!({
        "export": export,
        "sent": {"schools": d.schools, "pupils": d.pupils, "feeds": d.feeds, "marks": d.marks},
        "processed": {"marks_written": d.marks_written, "marks_superseded": d.marks_superseded, "marks_rejected": d.marks_rejected},
        "summary": la_json(&d.summary),
        "at_risk": {"persistent": d.persistent, "severe": d.severe},
        "timings": {"acknowledged_seconds": d.acknowledged.as_secs_f64(), "processed_seconds": d.processed.as_secs_f64(), "total_seconds": d.total.as_secs_f64()},
    })
}

pub fn demo_text(d: &DemoSummary) -> String {
    let mut out = la_text(&d.summary);
    out.push_str(&format!(
        "\npupils at risk: {} persistently absent (10%+ of possible sessions), {} of them severely absent (50%+)\n",
        d.persistent, d.severe
    ));
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::fixtures::{keys, la};
    use super::*;
    use crate::render::pretty;

    fn written() -> Written {
        Written {
            path: PathBuf::from("out/ees-ytd-937.csv"),
            manifest: PathBuf::from("out/ees-ytd-937.csv.manifest.json"),
            rows: 4,
            bytes: 1_234,
            sha256: "ab".repeat(32),
            as_of: "2025-10-06T16:00:00Z".into(),
            elapsed: Duration::from_millis(1_300),
        }
    }

    #[test]
    fn an_export_says_where_it_went_and_its_checksum() {
        let text = written_text(&written());
        assert!(
            text.starts_with("wrote 4 rows (1234 bytes) to out/ees-ytd-937.csv in 1.3s\n"),
            "{text}"
        );
        assert!(
            text.ends_with("manifest out/ees-ytd-937.csv.manifest.json\n"),
            "{text}"
        );
        let value = written_json(&written());
        assert_eq!(
            keys(&value),
            [
                "as_of", "bytes", "file", "manifest", "rows", "seconds", "sha256"
            ]
        );
        insta::assert_snapshot!("written_text", text);
        insta::assert_snapshot!("written", pretty(&value));
    }

    #[test]
    fn the_synthetic_files_come_with_what_to_try() {
        let files = SynthFiles {
            dir: PathBuf::from("synth"),
            schools: 4,
            feeds: 20,
            marks: 4_000,
            first_urn: 140_001,
            first_stem: Path::new("synth").join("140001-2025-09-08"),
        };
        let text = synth_text(&files);
        assert!(
            text.contains("rollcall submit --school 140001 --roll synth/140001-2025-09-08-roll.csv --marks synth/140001-2025-09-08-marks.csv\n"),
            "{text}"
        );
        insta::assert_snapshot!("synth_text", text);
        insta::assert_snapshot!("synth", pretty(&synth_json(&files)));
    }

    #[test]
    fn the_demo_ends_with_the_la_summary_and_the_at_risk_counts() {
        let demo = DemoSummary {
            schools: 2,
            pupils: 4,
            feeds: 10,
            marks: 48,
            marks_written: 40,
            marks_superseded: 6,
            marks_rejected: 2,
            summary: la(),
            persistent: 1,
            severe: 0,
            export: Some(written()),
            acknowledged: Duration::from_millis(1_500),
            processed: Duration::from_secs(4),
            total: Duration::from_secs(5),
        };
        let text = demo_text(&demo);
        assert!(text.starts_with(&la_text(&la())), "{text}");
        assert!(
            text.ends_with("\npupils at risk: 1 persistently absent (10%+ of possible sessions), 0 of them severely absent (50%+)\n"),
            "{text}"
        );
        let value = demo_json(&demo);
        assert_eq!(
            keys(&value),
            [
                "at_risk",
                "export",
                "processed",
                "sent",
                "summary",
                "timings"
            ]
        );
        assert_eq!(keys(&value["export"]), ["file", "rows", "sha256"]);
        insta::assert_snapshot!("demo_text", text);
        insta::assert_snapshot!("demo", pretty(&value));
        let without = demo_json(&DemoSummary {
            export: None,
            ..demo
        });
        assert!(without["export"].is_null());
    }
}
