//! The one closed set of error codes a Rollcall API answers with, and its mapping to gRPC status.
//! Internal details are logged once, here, where they become a status; the caller gets the code
//! and a message that names no pupil.

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
            ErrorCode::RateLimited => Code::ResourceExhausted,
        }
    }
}

/// An error on its way to a caller.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
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

    /// A dependency (database, broker) is down: the caller should retry.
    pub fn unavailable(context: &'static str, err: &dyn std::error::Error) -> ApiError {
        tracing::warn!(error = %err, context, "dependency unavailable");
        ApiError::new(ErrorCode::Unavailable, context)
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Status {
        let mut status = Status::new(err.code.grpc_code(), err.message);
        status.metadata_mut().insert(
            ERROR_CODE_METADATA,
            tonic::metadata::MetadataValue::from_static(err.code.as_str()),
        );
        status
    }
}
