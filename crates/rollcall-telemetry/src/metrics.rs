//! Metrics in the Prometheus text format. Each service owns one [`Metrics`] registry, made in its
//! `run` and handed to what records into it: no global recorder, so several services in one
//! process (the end-to-end tests) keep their figures apart.
//!
//! Labels are bounded sets: a vendor's name, a finding code, a method, a topic, a partition,
//! an outcome from a fixed list. Never a URN, a UPN, a feed id or a key: a label value is a new
//! time series, and a label may be read by anyone who can read the dashboards.

use prometheus::core::Collector;
use prometheus::{Encoder as _, HistogramOpts, Opts, Registry, TextEncoder};
pub use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};

/// The content type of [`Metrics::render`]'s answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Buckets for durations, in seconds: 1 ms to about 30 s.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets for how many feeds a worker's batch held.
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// One service's registry. Clones share it.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// A registry holding this process's own figures (resident memory, CPU seconds, open files,
    /// threads) as `process_*`, read from `/proc` at each scrape.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("the process collector is registered once per registry");
        Metrics { registry }
    }

    pub fn counter(&self, name: &str, help: &str) -> IntCounter {
        register(&self.registry, IntCounter::new(name, help).expect(VALID))
    }

    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        register(
            &self.registry,
            IntCounterVec::new(Opts::new(name, help), labels).expect(VALID),
        )
    }

    pub fn gauge(&self, name: &str, help: &str) -> IntGauge {
        register(&self.registry, IntGauge::new(name, help).expect(VALID))
    }

    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        register(
            &self.registry,
            IntGaugeVec::new(Opts::new(name, help), labels).expect(VALID),
        )
    }

    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        register(&self.registry, Histogram::with_opts(opts).expect(VALID))
    }

    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        register(
            &self.registry,
            HistogramVec::new(opts, labels).expect(VALID),
        )
    }

    /// Every metric in the text exposition format (version 0.0.4), for `/metrics`.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is utf-8")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

const VALID: &str = "metric names and labels are literals, checked by the tests";

/// Registers `collector` and hands it back. A name registered twice in one registry is a
/// programming error (two parts of a service claiming one metric), so it panics at start-up.
fn register<C: Collector + Clone + 'static>(registry: &Registry, collector: C) -> C {
    registry
        .register(Box::new(collector.clone()))
        .expect("each metric is registered once per service");
    collector
}

/// The value of the sample `name{labels}` in a text exposition, for tests and the benchmark:
/// `labels` as written between the braces (`vendor="acme",status="enqueued"`), in any order
/// (the encoder sorts them), empty for none. Label values holding a comma are not supported.
pub fn sample(exposition: &str, name: &str, labels: &str) -> Option<f64> {
    let wanted = label_set(labels);
    exposition.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}')?),
            None => (series, ""),
        };
        (series_name == name && label_set(series_labels) == wanted)
            .then(|| value.parse().ok())
            .flatten()
    })
}

fn label_set(labels: &str) -> std::collections::BTreeSet<&str> {
    labels.split(',').filter(|l| !l.is_empty()).collect()
}

/// The sum of every sample of `name` (all its label sets), for tests.
pub fn total(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(key, _)| *key == name || key.starts_with(&format!("{name}{{")))
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_renders_its_own_samples_and_the_process_figures() {
        let metrics = Metrics::new();
        let feeds = metrics.counter_vec("rollcall_test_feeds_total", "feeds", &["status"]);
        feeds.with_label_values(&["enqueued"]).inc_by(3);
        feeds.with_label_values(&["duplicate"]).inc();
        let text = metrics.render();
        assert_eq!(
            sample(&text, "rollcall_test_feeds_total", r#"status="enqueued""#),
            Some(3.0)
        );
        let pairs = metrics.counter_vec("rollcall_test_pairs_total", "pairs", &["b", "a"]);
        pairs.with_label_values(&["2", "1"]).inc();
        let text = metrics.render();
        assert_eq!(
            sample(&text, "rollcall_test_pairs_total", r#"b="2",a="1""#),
            Some(1.0),
            "labels in either order"
        );
        assert_eq!(total(&text, "rollcall_test_feeds_total"), 4.0);
        assert!(
            sample(&text, "process_resident_memory_bytes", "").unwrap() > 0.0,
            "{text}"
        );
        // A second registry is independent of the first.
        assert_eq!(
            sample(&Metrics::new().render(), "rollcall_test_feeds_total", ""),
            None
        );
    }

    #[test]
    #[should_panic(expected = "registered once")]
    fn a_name_claimed_twice_is_a_programming_error() {
        let metrics = Metrics::new();
        metrics.counter("rollcall_test_twice_total", "one");
        metrics.counter("rollcall_test_twice_total", "two");
    }
}
