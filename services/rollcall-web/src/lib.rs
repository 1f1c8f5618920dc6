//! The web dashboard for LA attendance teams, schools and operations: server-rendered GOV.UK
//! pages (maud templates, GOV.UK Frontend embedded at build time), usable without JavaScript.
//! It is a client of the query service: every page is the answer to a gRPC call made with the
//! signed-in user's own credential (an API key, or the access token from their identity
//! provider), so authorisation, scoping and the audit trail are the query service's. It never
//! opens PostgreSQL. Sessions are in memory (`session`); sign-in is in `pages::sign_in` and
//! `oidc`; the pages are in `pages`.

mod assets;
mod chart;
mod client;
pub mod config;
mod error;
mod format;
mod layout;
mod metrics;
mod oidc;
mod pages;
mod period;
mod pupil_refs;
mod session;
mod sheet;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, header};
use rollcall_server::ops::{self, Listeners, Readiness};
use rollcall_telemetry::metrics::Metrics;
use tokio_util::sync::CancellationToken;

pub use crate::config::Settings;

/// What every handler shares.
pub(crate) struct App {
    pub channel: tonic::transport::Channel,
    pub sessions: session::SessionStore,
    pub oidc: Option<oidc::Oidc>,
    /// Cookies carry `Secure` unless the dashboard is plain http on loopback.
    pub secure_cookies: bool,
    pub idle: Duration,
}

pub(crate) type Shared = Arc<App>;

/// Binds the configured addresses and serves until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listeners = Listeners::bind(settings.web.listen, settings.web.ops_listen).await?;
    serve(settings, listeners, shutdown).await
}

/// Serves the pages and the operations listener on already bound listeners (tests bind port 0 and read the addresses).
pub async fn serve(
    settings: Settings,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = listeners.api;
    let web = &settings.web;
    let public_url = web.public_url();
    let idle = Duration::from_secs(web.idle_timeout_secs);
    let oidc = if web.oidc.issuer.is_empty() {
        None
    } else {
        Some(oidc::Oidc::new(web.oidc.clone(), &public_url)?)
    };
    let app = Arc::new(App {
        channel: client::channel(web).context("cannot set up the query service's channel")?,
        sessions: session::SessionStore::new(idle),
        oidc,
        secure_cookies: public_url.starts_with("https://"),
        idle,
    });
    tokio::spawn(sweep(app.clone(), shutdown.clone()));
    let metrics = Metrics::new();
    // Ready when the query service answers its health check: every page needs it.
    let query = app.channel.clone();
    let readiness = Readiness::new().check("query service", move || client::health(query.clone()));
    let _ops = ops::spawn(listeners.ops, metrics.clone(), readiness, &shutdown);
    let router = pages::router(app)
        .layer(axum::middleware::from_fn_with_state(
            metrics::WebMetrics::new(&metrics),
            headers_and_log,
        ))
        .layer(tower_http::compression::CompressionLayer::new());
    let addr = listener.local_addr()?;
    tracing::info!(%addr, public_url = %public_url, "web dashboard listening");
    let stop = shutdown.cancelled_owned();
    if settings.tls.plaintext {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await?;
    } else {
        let listener = tls::Listener::new(listener, &settings.tls)?;
        axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await?;
    }
    tracing::info!("web dashboard stopped");
    Ok(())
}

/// Drops expired sessions every minute, so memory holds only live (and lately expired) ones.
async fn sweep(app: Shared, shutdown: CancellationToken) {
    let every = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {
                let live = app.sessions.sweep();
                tracing::debug!(sessions = live, "expired sessions swept");
            }
        }
    }
}

/// Security headers on every response (pages are never cached: they may hold pupils' details)
/// and one log line and one count per request, naming the route's pattern only (never a query
/// string).
async fn headers_and_log(
    State(metrics): State<metrics::WebMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'; object-src 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !route.starts_with("/assets/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let took = started.elapsed();
    metrics.answered(&route, response.status().as_u16(), took);
    tracing::info!(
        %method,
        route = %route,
        status = response.status().as_u16(),
        ms = took.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
