//! The one closed set of error codes a Rollcall API answers with, and its mapping to gRPC status.
//! A dependency's failure (the database's, the broker's) becomes a code by its kind
//! ([`ErrorKind`]) in one place, `ApiError::failure`. Internal details are logged once, here,
//! where they become a status; the caller gets the code and a message that names no pupil.

use rollcall_domain::failure::ErrorKind;
use tonic::{Code, Status};

/// Metadata key carrying the stable error code beside the gRPC status.
pub const ERROR_CODE_METADATA: &str = "rollcall-error-code";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    IdempotencyConflict,
    FeedTooLarge,
    Unavailable,
    Internal,
    /// No credentials: no `authorization` header and no client certificate.
    CredentialsMissing,
    /// Something was sent, but it is not a bearer token of a form we accept.
    CredentialsMalformed,
    /// Unknown key, wrong secret, bad signature, wrong issuer or audience.
    CredentialsInvalid,
    CredentialsRevoked,
    CredentialsExpired,
    /// The caller's kind may not call this method.
    PermissionDenied,
    /// The caller may call this method, but not for this school or LA.
    OutsideOrganisation,
    /// The caller's rate limit is used up; retry later.
    RateLimited,
    /// The service is taking on all it can at once (the gateway's feeds in progress); retry
    /// after the pause it gives.
    Overloaded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            ErrorCode::FeedTooLarge => "FEED_TOO_LARGE",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::CredentialsMissing => "CREDENTIALS_MISSING",
            ErrorCode::CredentialsMalformed => "CREDENTIALS_MALFORMED",
            ErrorCode::CredentialsInvalid => "CREDENTIALS_INVALID",
            ErrorCode::CredentialsRevoked => "CREDENTIALS_REVOKED",
            ErrorCode::CredentialsExpired => "CREDENTIALS_EXPIRED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::OutsideOrganisation => "OUTSIDE_ORGANISATION",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Overloaded => "OVERLOADED",
        }
    }

    pub fn grpc_code(self) -> Code {
        match self {
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::IdempotencyConflict => Code::AlreadyExists,
            ErrorCode::FeedTooLarge => Code::ResourceExhausted,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal => Code::Internal,
            ErrorCode::CredentialsMissing
            | ErrorCode::CredentialsMalformed
            | ErrorCode::CredentialsInvalid
            | ErrorCode::CredentialsRevoked
            | ErrorCode::CredentialsExpired => Code::Unauthenticated,
            ErrorCode::PermissionDenied | ErrorCode::OutsideOrganisation => Code::PermissionDenied,
            ErrorCode::RateLimited | ErrorCode::Overloaded => Code::ResourceExhausted,
        }
    }
}

/// An error on its way to a caller.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// How long the caller should wait before trying again, sent as gRPC's server pushback
    /// ([`RETRY_PUSHBACK_METADATA`]).
    pub retry_after: Option<std::time::Duration>,
}

/// The trailer that tells a client how long to wait before it retries, in milliseconds (gRPC's
/// retry design, "server pushback").
pub const RETRY_PUSHBACK_METADATA: &str = "grpc-retry-pushback-ms";

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Load shed: the caller is told to retry after `retry_after`, with the same request.
    pub fn overloaded(message: impl Into<String>, retry_after: std::time::Duration) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(ErrorCode::Overloaded, message)
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidArgument, message)
    }

    /// The caller may not see or act for this school or LA.
    pub fn outside_organisation() -> ApiError {
        ApiError::new(
            ErrorCode::OutsideOrganisation,
            "this school or la is outside your organisation",
        )
    }

    /// A failure the caller cannot act on: logged here with its detail, answered without it.
    pub fn internal(context: &'static str, err: &dyn std::error::Error) -> ApiError {
        tracing::error!(error = %err, context, "internal error");
        ApiError::new(ErrorCode::Internal, context)
    }

    /// A database failure, answered by what kind it is: only a transient one (connection,
    /// failover, deadlock) is `UNAVAILABLE` and says to retry; values the database refused are
    /// the caller's bad input (`INVALID_ARGUMENT`, never worth a retry); a missing row is
    /// `NOT_FOUND`; anything else is a fault of ours (`INTERNAL`). The detail is logged here,
    /// once; the answer names the refusal's kind, never a value.
    pub fn database(context: &'static str, err: &rollcall_db::Error) -> ApiError {
        let refusal = (err.kind() == ErrorKind::Refused).then(|| err.refusal());
        Self::failure(context, "database", err.kind(), err, refusal)
    }

    /// A broker failure (`rollcall_kafka::Error`), answered by its kind as [`ApiError::database`]
    /// answers a database failure.
    pub fn broker(context: &'static str, kind: ErrorKind, err: &dyn std::error::Error) -> ApiError {
        Self::failure(context, "broker", kind, err, None)
    }

    /// The one mapping from a dependency's failure kind to what the caller is told. A refusal
    /// is logged and answered by what `refusal` says of it (never a value).
    fn failure(
        context: &'static str,
        dependency: &'static str,
        kind: ErrorKind,
        err: &dyn std::error::Error,
        refusal: Option<rollcall_db::Refusal>,
    ) -> ApiError {
        match kind {
            ErrorKind::Transient => {
                tracing::warn!(error = %err, context, dependency, "dependency unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    format!(
                        "{context}: the {dependency} is unavailable for now (transient); retry with backoff"
                    ),
                )
            }
            ErrorKind::Refused => {
                let refusal = refusal.unwrap_or_default();
                tracing::warn!(
                    sqlstate = refusal.sqlstate.as_deref().unwrap_or(""),
                    reason = %refusal.reason,
                    context,
                    dependency,
                    "dependency refused the values sent"
                );
                ApiError::invalid(format!(
                    "{context}: the {dependency} refused a value sent ({}); do not retry it unchanged",
                    refusal.reason
                ))
            }
            ErrorKind::NotFound => ApiError::new(ErrorCode::NotFound, context),
            ErrorKind::Internal => ApiError::internal(context, err),
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Status {
        let mut status = Status::new(err.code.grpc_code(), err.message);
        status.metadata_mut().insert(
            ERROR_CODE_METADATA,
            tonic::metadata::MetadataValue::from_static(err.code.as_str()),
        );
        if let Some(wait) = err.retry_after {
            status
                .metadata_mut()
                .insert(RETRY_PUSHBACK_METADATA, (wait.as_millis() as u64).into());
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shed_load_says_when_to_retry() {
        let status = Status::from(ApiError::overloaded(
            "busy",
            std::time::Duration::from_millis(1500),
        ));
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.metadata().get(ERROR_CODE_METADATA).unwrap(),
            "OVERLOADED"
        );
        assert_eq!(
            status.metadata().get(RETRY_PUSHBACK_METADATA).unwrap(),
            "1500"
        );
    }

    #[test]
    fn a_broker_failure_is_answered_by_its_kind() {
        let err = std::io::Error::other("broker transport failure");
        let transient = ApiError::broker("cannot enqueue the feed", ErrorKind::Transient, &err);
        assert_eq!(transient.code, ErrorCode::Unavailable);
        assert_eq!(
            transient.message,
            "cannot enqueue the feed: the broker is unavailable for now (transient); retry with backoff"
        );
        let internal = ApiError::broker("cannot enqueue the feed", ErrorKind::Internal, &err);
        assert_eq!(internal.code, ErrorCode::Internal);
        assert_eq!(internal.message, "cannot enqueue the feed");
        assert_eq!(
            Status::from(transient).code(),
            tonic::Code::Unavailable,
            "retry"
        );
    }
}
