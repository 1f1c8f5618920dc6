//! The operations listener every service runs beside its work: `/metrics` (the service's
//! [`Metrics`] in the Prometheus text format), `/healthz` (the process answers) and `/readyz`
//! (each dependency the service needs answered within [`CHECK_TIMEOUT`]). Plain HTTP: it is
//! scraped and probed from inside the cluster, carries no personal data (metric labels are
//! bounded sets, see `rollcall_telemetry::metrics`) and takes no credentials.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use rollcall_telemetry::metrics::{self, Metrics};
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long one readiness check may take before the dependency counts as not answering.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The listeners of a service that answers callers: its API (gRPC, or the dashboard's pages)
/// and its operations listener.
pub struct Listeners {
    pub api: TcpListener,
    pub ops: TcpListener,
}

impl Listeners {
    pub async fn bind(api: SocketAddr, ops: SocketAddr) -> anyhow::Result<Listeners> {
        Ok(Listeners {
            api: TcpListener::bind(api)
                .await
                .with_context(|| format!("cannot listen on {api}"))?,
            ops: bind(ops).await?,
        })
    }
}

/// Binds the operations listener at `addr`.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (ops_listen)"))
}

type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// What `/readyz` asks: each named dependency, all at once.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Adds the check `name`: `probe` answers `Err(why)` when the dependency is not usable. The
    /// reason is shown to whoever probes, so it names a kind of failure, never a value.
    pub fn check<F, Fut>(mut self, name: &'static str, probe: F) -> Readiness
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(probe()))));
        self
    }

    /// Adds the check `database`: a trivial query on `pool`.
    pub fn database(self, pool: rollcall_db::Pool) -> Readiness {
        self.check("database", move || {
            let pool = pool.clone();
            async move {
                rollcall_db::ping(&pool)
                    .await
                    .map_err(|err| format!("{:?}", err.kind()).to_lowercase())
            }
        })
    }

    /// Runs every check at once; the failures, by name, in the order added.
    async fn failures(&self) -> Vec<String> {
        let runs = self.checks.iter().map(|(name, probe)| async move {
            match tokio::time::timeout(CHECK_TIMEOUT, probe()).await {
                Ok(Ok(())) => None,
                Ok(Err(why)) => Some(format!("{name}: {why}")),
                Err(_) => Some(format!("{name}: no answer within {CHECK_TIMEOUT:?}")),
            }
        });
        futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

#[derive(Clone)]
struct Ops {
    metrics: Metrics,
    readiness: Readiness,
}

/// Serves the operations listener on `listener` until `shutdown` fires, in a task of its own.
/// Dropping the guard stops it too, so a service that ends with an error does not leave it
/// answering.
pub fn spawn(
    listener: TcpListener,
    metrics: Metrics,
    readiness: Readiness,
    shutdown: &CancellationToken,
) -> DropGuard {
    let stop = shutdown.child_token();
    let router = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Ops { metrics, readiness });
    let addr = listener.local_addr().ok();
    let served = stop.clone();
    tokio::spawn(async move {
        tracing::info!(addr = ?addr, "ops listener serving /metrics, /healthz and /readyz");
        let stopped = served.clone();
        if let Err(err) = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await
        {
            tracing::error!(error = %err, "ops listener failed");
        }
    });
    stop.drop_guard()
}

async fn render_metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        ops.metrics.render(),
    )
}

async fn ready(State(ops): State<Ops>) -> impl IntoResponse {
    let failures = ops.readiness.failures().await;
    if failures.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", failures.join("; ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: ops\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }

    #[tokio::test]
    async fn answers_metrics_health_and_each_failing_dependency_by_name() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Metrics::new();
        metrics.counter("rollcall_test_total", "a test").inc();
        let broker_up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let up = broker_up.clone();
        let readiness = Readiness::new()
            .check("broker", move || {
                let up = up.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    if up {
                        Ok(())
                    } else {
                        Err("unreachable".into())
                    }
                }
            })
            .check("stuck", std::future::pending);
        let shutdown = CancellationToken::new();
        let _ops = spawn(listener, metrics, Readiness::new(), &shutdown);
        let stuck_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stuck_addr = stuck_listener.local_addr().unwrap();
        let _stuck = spawn(stuck_listener, Metrics::new(), readiness, &shutdown);

        let (status, body) = get(addr, "/metrics").await;
        assert_eq!(status, 200);
        assert_eq!(metrics::sample(&body, "rollcall_test_total", ""), Some(1.0));
        assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_owned()));
        assert_eq!(get(addr, "/readyz").await, (200, "ready\n".to_owned()));

        broker_up.store(false, std::sync::atomic::Ordering::SeqCst);
        let (status, body) = get(stuck_addr, "/readyz").await;
        assert_eq!(status, 503);
        assert_eq!(
            body,
            "not ready: broker: unreachable; stuck: no answer within 2s\n"
        );
        shutdown.cancel();
    }
}
