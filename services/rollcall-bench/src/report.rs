//! The figures of one run: percentiles, the printed table and the saved JSON.

use serde_json::{Value, json};

/// p50 and p99 of one kind of query, in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    pub query: String,
    pub requests: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    pub fn from_samples(query: &str, samples_ms: &[f64]) -> Latency {
        let mut sorted = samples_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        Latency {
            query: query.to_owned(),
            requests: sorted.len(),
            p50_ms: percentile(&sorted, 50.0),
            p99_ms: percentile(&sorted, 99.0),
        }
    }
}

/// The nearest-rank percentile of ascending `sorted` samples; 0 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Bytes and rows of a table.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Size {
    pub bytes: i64,
    pub rows: i64,
}

impl Size {
    pub fn per_row(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.bytes as f64 / self.rows as f64
        }
    }
}

/// Everything one run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub scale: String,
    pub schools: usize,
    pub feeds: usize,
    pub streams: usize,
    /// Instances of the validator and the aggregator.
    pub validators: usize,
    pub aggregators: usize,
    /// `ROLLCALL__*` settings the benchmark's caller set, which every service inherited.
    pub overrides: Vec<(String, String)>,
    pub marks_sent: u64,
    pub marks_written: u64,
    pub marks_superseded: u64,
    pub marks_rejected: u64,
    /// Payload bytes (keys included) the feeds and the validated topics carried, before the
    /// producer's compression.
    pub feed_bytes: u64,
    pub validated_bytes: u64,
    /// The same topics' records, each compressed alone by zstd at level 3 (the producer's codec
    /// and level): at most what the broker stores.
    pub feed_zstd_bytes: u64,
    pub validated_zstd_bytes: u64,
    /// Records both topics took (a message larger than the record limit takes several), and
    /// the largest of them.
    pub records: usize,
    pub largest_record_bytes: usize,
    /// The most payload bytes each consumer held while putting messages together from their
    /// records, from its "consumer stopped" log line.
    pub peak_assembly_bytes: Vec<(String, Option<u64>)>,
    /// From the first send until the last feed was acknowledged.
    pub ack_seconds: f64,
    /// From the last acknowledgement until every receipt said processed.
    pub drain_seconds: f64,
    /// From the first send until every receipt said processed.
    pub end_to_end_seconds: f64,
    /// Span of `feeds.received_at` (gateway) and of `feeds.processed_at` (validator and
    /// aggregator together), in seconds.
    pub gateway_span_seconds: f64,
    pub pipeline_span_seconds: f64,
    /// Span of the validator's "feed validated" log lines, in seconds.
    pub validator_span_seconds: Option<f64>,
    pub copy_seconds: f64,
    pub copy_rows: u64,
    pub broker_messages: usize,
    pub broker_bytes: u64,
    pub broker_seconds: f64,
    pub marks_before_vacuum: Size,
    pub marks_after_vacuum: Size,
    pub marks_after_vacuum_full: Size,
    pub copy_table: Size,
    pub latencies: Vec<Latency>,
    /// Peak resident memory (VmHWM) per process, KiB.
    pub peak_memory_kib: Vec<(String, Option<u64>)>,
    /// Where the cores went from the first send until every feed was processed.
    pub pipeline_cpu: Option<CpuUse>,
    /// What PostgreSQL wrote to its log over the same span, and the checkpoints within it.
    pub pipeline_wal_bytes: i64,
    pub pipeline_checkpoints: i64,
    /// What the COPY floor wrote to the log.
    pub copy_wal_bytes: i64,
    /// The database server's settings that bear on the figures (`server_settings`).
    pub postgresql: Vec<(String, String)>,
    /// With `--telemetry`: the spans the OTLP receiver took and the scrapes made over the
    /// pipeline's run; `None` without.
    pub watched: Option<crate::telemetry::Watched>,
}

/// CPU time spent over one phase of a run: by each process the benchmark started, by the
/// benchmark itself, and by the rest of the machine (PostgreSQL, chiefly), against what the
/// machine's cores could have given over the same wall time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CpuUse {
    pub wall_seconds: f64,
    pub cores: usize,
    /// Seconds per process, the benchmark included, then the rest of the machine.
    pub seconds: Vec<(String, f64)>,
    /// Seconds the hypervisor took from this machine's cores (`steal` in `/proc/stat`).
    pub stolen_seconds: f64,
    /// Seconds cores sat idle waiting for I/O (`iowait`).
    pub iowait_seconds: f64,
}

impl CpuUse {
    /// Seconds of CPU the cores could have given: wall time times cores.
    pub fn capacity(&self) -> f64 {
        self.wall_seconds * self.cores as f64
    }

    /// What each process used between two samples of `(name, seconds)` taken at the start and
    /// end of a phase, the benchmark's own use, and the rest of the machine's busy time, from the
    /// machine's CPU time over the phase.
    pub fn between(
        wall_seconds: f64,
        cores: usize,
        start: &[(String, Option<f64>)],
        end: &[(String, Option<f64>)],
        machine: crate::machine::MachineCpu,
    ) -> CpuUse {
        let mut seconds: Vec<(String, f64)> = end
            .iter()
            .filter_map(|(name, end)| {
                let start = start.iter().find(|(n, _)| n == name)?.1?;
                Some((name.clone(), (end.as_ref()? - start).max(0.0)))
            })
            .collect();
        let ours: f64 = seconds.iter().map(|(_, s)| s).sum();
        seconds.push((
            "rest of the machine (PostgreSQL)".to_owned(),
            (machine.busy - ours).max(0.0),
        ));
        CpuUse {
            wall_seconds,
            cores,
            seconds,
            stolen_seconds: machine.stolen,
            iowait_seconds: machine.iowait,
        }
    }
}

fn rate(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { count / seconds } else { 0.0 }
}

impl Figures {
    pub fn ack_marks_per_s(&self) -> f64 {
        rate(self.marks_sent as f64, self.ack_seconds)
    }
    pub fn end_to_end_marks_per_s(&self) -> f64 {
        rate(self.marks_sent as f64, self.end_to_end_seconds)
    }
    pub fn gateway_marks_per_s(&self) -> f64 {
        rate(self.marks_sent as f64, self.gateway_span_seconds)
    }
    pub fn pipeline_marks_per_s(&self) -> f64 {
        rate(self.marks_sent as f64, self.pipeline_span_seconds)
    }
    pub fn copy_marks_per_s(&self) -> f64 {
        rate(self.copy_rows as f64, self.copy_seconds)
    }
    /// The broker floor in marks per second: the run's marks over the time the same bytes took.
    pub fn broker_marks_per_s(&self) -> f64 {
        rate(self.marks_sent as f64, self.broker_seconds)
    }
    pub fn broker_mb_per_s(&self) -> f64 {
        rate(self.broker_bytes as f64 / 1e6, self.broker_seconds)
    }
    pub fn copy_ratio(&self) -> f64 {
        rate(self.end_to_end_marks_per_s(), self.copy_marks_per_s())
    }
    pub fn broker_ratio(&self) -> f64 {
        rate(self.end_to_end_marks_per_s(), self.broker_marks_per_s())
    }

    /// The saved results: the machine, the figures and the derived rates.
    pub fn to_json(&self, machine: Value, timestamp: &str) -> Value {
        let size = |s: &Size| json!({"bytes": s.bytes, "rows": s.rows, "bytes_per_row": round(s.per_row())});
        json!({
            "scale": self.scale,
            "timestamp": timestamp,
            "machine": machine,
            "sent": {
                "schools": self.schools, "feeds": self.feeds, "streams": self.streams,
                "marks": self.marks_sent, "feed_bytes": self.feed_bytes,
            },
            "postgresql": self.postgresql.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
            "services": {
                "validators": self.validators, "aggregators": self.aggregators,
                "overrides": self.overrides.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            },
            "processed": {
                "marks_written": self.marks_written, "marks_superseded": self.marks_superseded,
                "marks_rejected": self.marks_rejected,
            },
            "gateway": {"seconds": round(self.ack_seconds), "marks_per_s": round(self.ack_marks_per_s())},
            "end_to_end": {
                "drain_seconds": round(self.drain_seconds),
                "seconds": round(self.end_to_end_seconds),
                "marks_per_s": round(self.end_to_end_marks_per_s()),
            },
            "stages": {
                "gateway_received": {"seconds": round(self.gateway_span_seconds), "marks_per_s": round(self.gateway_marks_per_s())},
                "validator_logged": {"seconds": self.validator_span_seconds.map(round), "marks_per_s": self.validator_span_seconds.map(|s| round(rate(self.marks_sent as f64, s)))},
                "validator_and_aggregator_processed": {"seconds": round(self.pipeline_span_seconds), "marks_per_s": round(self.pipeline_marks_per_s())},
            },
            "copy_floor": {
                "rows": self.copy_rows, "seconds": round(self.copy_seconds),
                "marks_per_s": round(self.copy_marks_per_s()), "ratio": round(self.copy_ratio()),
                "wal_bytes": self.copy_wal_bytes,
                "table": size(&self.copy_table),
            },
            "kafka": {
                "feeds_bytes": self.feed_bytes, "validated_bytes": self.validated_bytes,
                "feeds_bytes_per_mark": round(rate(self.feed_bytes as f64, self.marks_sent as f64)),
                "both_topics_bytes_per_mark": round(rate((self.feed_bytes + self.validated_bytes) as f64, self.marks_sent as f64)),
                "feeds_zstd_bytes_per_mark": round(rate(self.feed_zstd_bytes as f64, self.marks_sent as f64)),
                "both_topics_zstd_bytes_per_mark": round(rate((self.feed_zstd_bytes + self.validated_zstd_bytes) as f64, self.marks_sent as f64)),
                "records": self.records, "largest_record_bytes": self.largest_record_bytes,
                "peak_assembly_bytes": self.peak_assembly_bytes.iter().map(|(name, bytes)| json!({"process": name, "bytes": bytes})).collect::<Vec<_>>(),
            },
            "broker_floor": {
                "messages": self.broker_messages, "bytes": self.broker_bytes,
                "seconds": round(self.broker_seconds), "mb_per_s": round(self.broker_mb_per_s()),
                "marks_per_s": round(self.broker_marks_per_s()), "ratio": round(self.broker_ratio()),
            },
            "storage": {
                "marks_before_vacuum": size(&self.marks_before_vacuum),
                "marks_after_vacuum": size(&self.marks_after_vacuum),
                "marks_after_vacuum_full": size(&self.marks_after_vacuum_full),
            },
            "query_latency_ms": self.latencies.iter().map(|l| json!({
                "query": l.query, "requests": l.requests, "p50": round(l.p50_ms), "p99": round(l.p99_ms),
            })).collect::<Vec<_>>(),
            "peak_memory_kib": self.peak_memory_kib.iter().map(|(name, kib)| json!({"process": name, "vm_hwm_kib": kib})).collect::<Vec<_>>(),
            "pipeline_wal": {
                "bytes": self.pipeline_wal_bytes,
                "bytes_per_mark": round(rate(self.pipeline_wal_bytes as f64, self.marks_sent as f64)),
                "checkpoints": self.pipeline_checkpoints,
            },
            "telemetry": self.watched.as_ref().map(|w| json!({
                "otlp_export": true, "scrape_interval_s": 1,
                "spans_received": w.spans, "scrapes": w.scrapes,
                "scrape_failures": w.scrape_failures, "scraped_bytes": w.scraped_bytes,
                "trace_arrival_after_queryable_s": delays(&w.trace_delays),
            })).unwrap_or_else(|| json!({"otlp_export": false, "scrape_interval_s": null})),
            "pipeline_cpu": self.pipeline_cpu.as_ref().map(|cpu| json!({
                "wall_seconds": round(cpu.wall_seconds),
                "cores": cpu.cores,
                "seconds": cpu.seconds.iter().map(|(name, s)| json!({"process": name, "seconds": round(*s)})).collect::<Vec<_>>(),
                "stolen_seconds": round(cpu.stolen_seconds),
                "iowait_seconds": round(cpu.iowait_seconds),
            })),
        })
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            (
                "sent".into(),
                format!(
                    "{} schools, {} feeds, {} marks, {:.1} MB of feed messages",
                    self.schools,
                    self.feeds,
                    self.marks_sent,
                    self.feed_bytes as f64 / 1e6
                ),
            ),
            (
                "services".into(),
                format!(
                    "{} validator(s), {} aggregator(s){}",
                    self.validators,
                    self.aggregators,
                    self.overrides
                        .iter()
                        .map(|(k, v)| format!(", {k}={v}"))
                        .collect::<String>()
                ),
            ),
            (
                "telemetry".into(),
                match &self.watched {
                    Some(w) => {
                        let d = delays(&w.trace_delays);
                        format!(
                            "spans exported over OTLP ({} received), /metrics scraped every 1 s ({} scrapes, {} failed); a feed's trace arrived {} s (p50), {} s (p99), {} s (max) after it was queryable ({} feeds)",
                            w.spans,
                            w.scrapes,
                            w.scrape_failures,
                            d["p50"],
                            d["p99"],
                            d["max"],
                            d["feeds"]
                        )
                    }
                    None => "no span export, no scraping".to_owned(),
                },
            ),
            (
                "postgresql".into(),
                self.postgresql
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                format!("gateway acknowledged ({} streams)", self.streams),
                format!(
                    "{:.0} marks/s ({:.1} s)",
                    self.ack_marks_per_s(),
                    self.ack_seconds
                ),
            ),
            (
                "end-to-end drain after last ack".into(),
                format!("{:.1} s", self.drain_seconds),
            ),
            (
                "end to end (first send to all processed)".into(),
                format!(
                    "{:.0} marks/s ({:.1} s)",
                    self.end_to_end_marks_per_s(),
                    self.end_to_end_seconds
                ),
            ),
            (
                "stage: gateway (received_at span)".into(),
                format!(
                    "{:.0} marks/s ({:.1} s)",
                    self.gateway_marks_per_s(),
                    self.gateway_span_seconds
                ),
            ),
            (
                "stage: validator (its log lines' span)".into(),
                self.validator_span_seconds
                    .map_or("unknown".to_owned(), |s| {
                        format!("{:.0} marks/s ({s:.1} s)", rate(self.marks_sent as f64, s))
                    }),
            ),
            (
                "stage: validator+aggregator (processed_at span)".into(),
                format!(
                    "{:.0} marks/s ({:.1} s)",
                    self.pipeline_marks_per_s(),
                    self.pipeline_span_seconds
                ),
            ),
            (
                "COPY floor".into(),
                format!(
                    "{:.0} marks/s ({} rows in {:.1} s); end to end is {:.2}x",
                    self.copy_marks_per_s(),
                    self.copy_rows,
                    self.copy_seconds,
                    self.copy_ratio()
                ),
            ),
            (
                "kafka payloads".into(),
                format!(
                    "{:.2} bytes/mark on the feeds topic, {:.2} through both (before compression; {:.2} and {:.2} with each record compressed by zstd); {} records, the largest {} bytes",
                    rate(self.feed_bytes as f64, self.marks_sent as f64),
                    rate(
                        (self.feed_bytes + self.validated_bytes) as f64,
                        self.marks_sent as f64
                    ),
                    rate(self.feed_zstd_bytes as f64, self.marks_sent as f64),
                    rate(
                        (self.feed_zstd_bytes + self.validated_zstd_bytes) as f64,
                        self.marks_sent as f64
                    ),
                    self.records,
                    self.largest_record_bytes
                ),
            ),
        ];
        for (name, bytes) in &self.peak_assembly_bytes {
            rows.push((
                format!("peak assembly: {name}"),
                bytes.map_or("unknown".to_owned(), |b| format!("{b} bytes held at most")),
            ));
        }
        rows.extend([
            (
                "broker floor".into(),
                format!(
                    "{:.0} marks/s ({} messages, {:.1} MB in {:.1} s, {:.1} MB/s); end to end is {:.2}x",
                    self.broker_marks_per_s(),
                    self.broker_messages,
                    self.broker_bytes as f64 / 1e6,
                    self.broker_seconds,
                    self.broker_mb_per_s(),
                    self.broker_ratio()
                ),
            ),
            (
                "marks written / superseded / rejected".into(),
                format!(
                    "{} / {} / {}",
                    self.marks_written, self.marks_superseded, self.marks_rejected
                ),
            ),
            (
                "bytes per stored mark (before VACUUM)".into(),
                format!(
                    "{:.1} ({} bytes, {} marks)",
                    self.marks_before_vacuum.per_row(),
                    self.marks_before_vacuum.bytes,
                    self.marks_before_vacuum.rows
                ),
            ),
            (
                "bytes per stored mark (after VACUUM)".into(),
                format!(
                    "{:.1} ({} bytes)",
                    self.marks_after_vacuum.per_row(),
                    self.marks_after_vacuum.bytes
                ),
            ),
            (
                "bytes per stored mark (after VACUUM FULL)".into(),
                format!(
                    "{:.1} ({} bytes)",
                    self.marks_after_vacuum_full.per_row(),
                    self.marks_after_vacuum_full.bytes
                ),
            ),
            (
                "bytes per row of the COPY floor table".into(),
                format!("{:.1}", self.copy_table.per_row()),
            ),
            (
                "WAL from first send to all processed".into(),
                format!(
                    "{:.1} MB ({:.1} bytes per mark sent; the COPY floor {:.1} per row), {} checkpoint(s)",
                    self.pipeline_wal_bytes as f64 / 1e6,
                    rate(self.pipeline_wal_bytes as f64, self.marks_sent as f64),
                    rate(self.copy_wal_bytes as f64, self.copy_rows as f64),
                    self.pipeline_checkpoints
                ),
            ),
        ]);
        latency_rows(&self.latencies, &mut rows);
        memory_rows(&self.peak_memory_kib, &mut rows);
        if let Some(cpu) = &self.pipeline_cpu {
            cpu_rows(cpu, &mut rows);
        }
        render(&rows)
    }
}

/// One table row per query kind.
pub fn latency_rows(latencies: &[Latency], rows: &mut Vec<(String, String)>) {
    for l in latencies {
        rows.push((
            format!("query latency: {}", l.query),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms ({} requests)",
                l.p50_ms, l.p99_ms, l.requests
            ),
        ));
    }
}

/// One table row per process.
pub fn memory_rows(peaks: &[(String, Option<u64>)], rows: &mut Vec<(String, String)>) {
    for (name, kib) in peaks {
        rows.push((
            format!("peak memory: {name}"),
            kib.map_or("unknown".to_owned(), |k| {
                format!("{:.1} MiB", k as f64 / 1024.0)
            }),
        ));
    }
}

/// One table row per process: its CPU seconds over the phase and its share of the machine.
pub fn cpu_rows(cpu: &CpuUse, rows: &mut Vec<(String, String)>) {
    let capacity = cpu.capacity();
    let machine = [
        ("stolen by the hypervisor".to_owned(), cpu.stolen_seconds),
        (
            "idle waiting for disk (iowait)".to_owned(),
            cpu.iowait_seconds,
        ),
    ];
    for (name, seconds) in cpu.seconds.iter().chain(&machine) {
        rows.push((
            format!("cpu from first send to all processed: {name}"),
            format!(
                "{seconds:.1} s ({:.0}% of {} cores over {:.1} s)",
                rate(*seconds, capacity) * 100.0,
                cpu.cores,
                cpu.wall_seconds
            ),
        ));
    }
}

/// A two-column table: figure and value.
pub fn render(rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0).max(6);
    let mut out = format!("figure{}  value\n", " ".repeat(width - 6));
    out.push_str(&format!("{}  {}\n", "-".repeat(width), "-".repeat(40)));
    for (k, v) in rows {
        out.push_str(&format!("{k:<width$}  {v}\n"));
    }
    out
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A feed's trace's arrival after the feed was queryable, in seconds: p50, p99, max, over how many.
fn delays(seconds: &[f64]) -> serde_json::Value {
    let mut sorted = seconds.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if sorted.is_empty() {
            return serde_json::Value::Null;
        }
        let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        json!((sorted[i] * 1000.0).round() / 1000.0)
    };
    json!({"feeds": sorted.len(), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&samples, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        let l = Latency::from_samples("la summary", &[3.0, 1.0, 2.0]);
        assert_eq!((l.p50_ms, l.p99_ms, l.requests), (2.0, 3.0, 3));
    }

    #[test]
    fn json_carries_the_machine_every_figure_and_the_ratios() {
        let figures = Figures {
            scale: "small".into(),
            marks_sent: 1_000,
            end_to_end_seconds: 2.0,
            copy_rows: 1_000,
            copy_seconds: 0.5,
            broker_seconds: 1.0,
            feed_bytes: 3_000,
            validated_bytes: 1_000,
            largest_record_bytes: 900,
            latencies: vec![Latency::from_samples("la summary", &[1.0])],
            peak_memory_kib: vec![("gateway".into(), Some(1024))],
            ..Figures::default()
        };
        let value = figures.to_json(json!({"nproc": 2}), "20261123T110000Z");
        for key in [
            "scale",
            "timestamp",
            "machine",
            "sent",
            "processed",
            "gateway",
            "end_to_end",
            "stages",
            "copy_floor",
            "broker_floor",
            "kafka",
            "storage",
            "query_latency_ms",
            "peak_memory_kib",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(value["end_to_end"]["marks_per_s"], 500.0);
        assert_eq!(value["copy_floor"]["ratio"], 0.25);
        assert_eq!(value["broker_floor"]["ratio"], 0.5);
        assert_eq!(value["kafka"]["feeds_bytes_per_mark"], 3.0);
        assert_eq!(value["kafka"]["both_topics_bytes_per_mark"], 4.0);
        assert_eq!(value["kafka"]["largest_record_bytes"], 900);
        assert_eq!(value["machine"]["nproc"], 2);
        assert_eq!(value["query_latency_ms"][0]["p99"], 1.0);
        assert!(figures.table().contains("end to end is 0.25x"));
    }

    #[test]
    fn cpu_use_leaves_the_rest_of_the_machine_to_postgresql() {
        let start = vec![
            ("aggregator".into(), Some(1.0)),
            ("bench".into(), Some(0.5)),
        ];
        let end = vec![
            ("aggregator".into(), Some(4.0)),
            ("bench".into(), Some(1.5)),
        ];
        let machine = crate::machine::MachineCpu {
            busy: 9.0,
            stolen: 0.5,
            iowait: 0.0,
        };
        let cpu = CpuUse::between(5.0, 2, &start, &end, machine);
        assert_eq!(cpu.capacity(), 10.0);
        assert_eq!(
            cpu.seconds,
            vec![
                ("aggregator".to_owned(), 3.0),
                ("bench".to_owned(), 1.0),
                ("rest of the machine (PostgreSQL)".to_owned(), 5.0),
            ]
        );
        let mut rows = Vec::new();
        cpu_rows(&cpu, &mut rows);
        assert_eq!(rows[0].1, "3.0 s (30% of 2 cores over 5.0 s)");
        assert_eq!(
            rows[3].0,
            "cpu from first send to all processed: stolen by the hypervisor"
        );
        assert_eq!(rows[3].1, "0.5 s (5% of 2 cores over 5.0 s)");
    }
}
