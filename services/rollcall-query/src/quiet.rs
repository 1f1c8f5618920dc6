//! The quiet schools and the feeds not yet queryable, as gauges on the query service's
//! `/metrics`, for the alert rules: `rollcall_quiet_schools{la_code}` (schools with no feed for
//! one or more of their register days, by their calendars) and
//! `rollcall_pending_marks{la_code}`, for every LA in the registry, read every few minutes. An
//! LA code is a bounded label (there are 153) and names no school.

use std::time::Duration;

use chrono::Utc;
use rollcall_db::Pool;
use rollcall_telemetry::metrics::Metrics;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How often the gauges are read again.
const EVERY: Duration = Duration::from_secs(300);

pub fn spawn(pool: Pool, metrics: &Metrics, shutdown: &CancellationToken) -> DropGuard {
    let quiet = metrics.gauge_vec(
        "rollcall_quiet_schools",
        "schools of the LA with no feed for one or more of their register days (by their calendars)",
        &["la_code"],
    );
    let pending = metrics.gauge_vec(
        "rollcall_pending_marks",
        "marks of the LA's feeds received but not yet queryable",
        &["la_code"],
    );
    let stop = shutdown.child_token();
    let running = stop.clone();
    tokio::spawn(async move {
        loop {
            let today = rollcall_domain::calendar::london_date(Utc::now());
            match rollcall_db::registry_la_codes(&pool).await {
                Ok(codes) => {
                    for code in codes {
                        match crate::grpc_pipeline::school_statuses(&pool, code, today, 1, true)
                            .await
                        {
                            Ok(status) => {
                                let label = format!("{code:03}");
                                quiet
                                    .with_label_values(&[label.as_str()])
                                    .set(status.quiet_schools as i64);
                                pending
                                    .with_label_values(&[label.as_str()])
                                    .set(status.pending_marks as i64);
                            }
                            Err(err) => {
                                tracing::warn!(error = %err, la_code = code, "cannot count quiet schools")
                            }
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot read the registry's LAs"),
            }
            tokio::select! {
                () = running.cancelled() => return,
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    });
    stop.drop_guard()
}
