//! The tower layer in front of every gRPC service: credentials, the kind policy and the rate
//! limit, before any handler (or any byte of a streamed request body) is read; and, since every
//! call passes it, the calls' metrics (`crate::calls`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::body::Body;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};
use tracing::Instrument as _;

use super::{Authenticator, Credential, policy};
use crate::calls::{self, CallMetrics};
use crate::{ApiError, ErrorCode};

#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Authenticator,
    /// Whether client certificates are trusted as vendor credentials (a vendor CA is configured).
    vendor_certificates: bool,
    metrics: CallMetrics,
}

impl AuthLayer {
    pub fn new(
        authenticator: Authenticator,
        vendor_certificates: bool,
        metrics: CallMetrics,
    ) -> AuthLayer {
        AuthLayer {
            authenticator,
            vendor_certificates,
            metrics,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> Service<Request<Body>> for AuthService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was made ready is the one to call; keep a fresh clone for next time.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let started = std::time::Instant::now();
            let path = request.uri().path().to_owned();
            let method = calls::method_label(&path);
            layer.metrics.called(method);
            // One span per call, continuing the caller's trace when it sent one (`traceparent`).
            let span = tracing::info_span!("grpc", otel.name = method, otel.kind = "server");
            rollcall_telemetry::context::set_parent(
                &span,
                request
                    .headers()
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
            );
            let answer = if policy::is_open(&path) {
                inner.call(request).instrument(span).await
            } else {
                authorised(&layer, &path, method, request, inner)
                    .instrument(span)
                    .await
            };
            if let Ok(response) = &answer {
                let status = calls::status_label(response.headers());
                layer.metrics.answered(method, status, started.elapsed());
            }
            answer
        })
    }
}

/// Authenticates and authorises the call, then hands it to `inner`; a refusal is answered here.
async fn authorised<S>(
    layer: &AuthLayer,
    path: &str,
    method: &str,
    mut request: Request<Body>,
    mut inner: S,
) -> Result<Response<Body>, S::Error>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    // Read the credential first: the request (its body is not `Sync`) is not borrowed across
    // the database lookup.
    let credential = credential(layer, &request);
    match check(layer, path, credential).await {
        Ok(principal) => {
            tracing::debug!(
                key_id = principal.key_id(),
                kind = principal.kind().name(),
                method = %path,
                "call authorised"
            );
            request.extensions_mut().insert(principal);
            inner.call(request).await
        }
        Err(err) => {
            tracing::info!(method = %path, code = err.code.as_str(), "call refused");
            layer.metrics.refused(method, err.code.as_str());
            Ok(tonic::Status::from(err).into_http())
        }
    }
}

async fn check(
    layer: &AuthLayer,
    path: &str,
    credential: Result<Credential, ApiError>,
) -> Result<rollcall_db::Principal, ApiError> {
    let principal = layer.authenticator.authenticate(credential?).await?;
    let kind = policy::Kind::of(principal.kind());
    let allowed = policy::allowed(path).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PermissionDenied,
            "no access policy covers this method",
        )
    })?;
    if !allowed.contains(&kind) {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "a {} credential may not call this method",
                principal.kind().name()
            ),
        ));
    }
    if !layer.authenticator.within_rate_limit(&principal) {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "rate limit exceeded; retry later",
        ));
    }
    Ok(principal)
}

/// The bearer token, or else the verified client certificate's vendor.
fn credential(layer: &AuthLayer, request: &Request<Body>) -> Result<Credential, ApiError> {
    if let Some(value) = request.headers().get(http::header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::CredentialsMalformed,
                    "authorization must be `Bearer <token>`",
                )
            })?;
        return Ok(Credential::Bearer(token.to_owned()));
    }
    if layer.vendor_certificates
        && let Some(certs) = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(TlsConnectInfo::peer_certs)
        && let Some(leaf) = certs.first()
    {
        let vendor = crate::tls::vendor_of(leaf.as_ref()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::CredentialsInvalid,
                "the client certificate names no vendor (subject common name)",
            )
        })?;
        return Ok(Credential::VendorCertificate(vendor));
    }
    Err(ApiError::new(
        ErrorCode::CredentialsMissing,
        "credentials required: send `authorization: Bearer <token>`",
    ))
}
