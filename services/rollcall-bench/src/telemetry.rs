//! `--telemetry`: the run as operations would watch it, to price what watching costs. The
//! services export their spans over OTLP to a receiver the benchmark runs (it counts what
//! arrives, as a collector would take it), and every service's `/metrics` is scraped once a
//! second (Prometheus scrapes every 15 s by default: this is fifteen times as often). Without the
//! flag, no span is exported and nothing is scraped; the services record their metrics either
//! way (counters per feed and per batch, never per mark).
//!
//! The receiver also times how late each feed's trace arrives: for every `aggregator.feed` span
//! (the last of a feed's trace, ended once its transaction committed and the feed is queryable)
//! the time from its end to its arrival, the "within 5 s of queryable".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

/// What the receiver and the scraper counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Watched {
    pub spans: u64,
    pub scrapes: u64,
    pub scrape_failures: u64,
    pub scraped_bytes: u64,
    /// Seconds from each feed's last span ending (the feed queryable) to its arrival here.
    pub trace_delays: Vec<f64>,
}

/// The span that ends a feed's trace.
const LAST_SPAN: &str = "aggregator.feed";

#[derive(Clone, Default)]
struct Counts {
    spans: Arc<AtomicU64>,
    scrapes: Arc<AtomicU64>,
    scrape_failures: Arc<AtomicU64>,
    scraped_bytes: Arc<AtomicU64>,
    trace_delays: Arc<Mutex<Vec<f64>>>,
}

#[tonic::async_trait]
impl TraceService for Counts {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let arrived = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let request = request.into_inner();
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans);
        let mut count = 0;
        let mut delays = Vec::new();
        for span in spans {
            count += 1;
            if span.name == LAST_SPAN {
                delays.push(arrived.saturating_sub(span.end_time_unix_nano) as f64 / 1e9);
            }
        }
        self.spans.fetch_add(count, Ordering::Relaxed);
        self.trace_delays.lock().unwrap().extend(delays);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The OTLP receiver and the scraper, running until dropped or `finish`ed.
pub struct Watcher {
    counts: Counts,
    stop: CancellationToken,
    /// The OTLP endpoint to give the services.
    pub endpoint: String,
}

impl Watcher {
    pub async fn start() -> anyhow::Result<Watcher> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the otlp receiver")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counts = Counts::default();
        let stop = CancellationToken::new();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(counts.clone()))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                stop.clone().cancelled_owned(),
            );
        tokio::spawn(server);
        Ok(Watcher {
            counts,
            stop,
            endpoint,
        })
    }

    /// Scrapes `http://127.0.0.1:PORT/metrics` for each port once a second until `finish`.
    pub fn scrape(&self, ports: Vec<u16>) {
        let (counts, stop) = (self.counts.clone(), self.stop.clone());
        tokio::spawn(async move {
            loop {
                for &port in &ports {
                    match get_metrics(port).await {
                        Ok(bytes) => {
                            counts.scrapes.fetch_add(1, Ordering::Relaxed);
                            counts.scraped_bytes.fetch_add(bytes, Ordering::Relaxed);
                        }
                        Err(_) => {
                            counts.scrape_failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }

    /// Stops scraping and receiving, after waiting `linger` for the last spans to arrive.
    pub async fn finish(self, linger: Duration) -> Watched {
        tokio::time::sleep(linger).await;
        self.stop.cancel();
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Watched {
            spans: load(&self.counts.spans),
            scrapes: load(&self.counts.scrapes),
            scrape_failures: load(&self.counts.scrape_failures),
            scraped_bytes: load(&self.counts.scraped_bytes),
            trace_delays: std::mem::take(&mut *self.counts.trace_delays.lock().unwrap()),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// One scrape: the body's length.
async fn get_metrics(port: u16) -> std::io::Result<u64> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other("not 200"));
    }
    Ok(answer.len() as u64)
}
