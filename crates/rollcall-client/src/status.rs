//! A gRPC failure as the one line a person reads: the code in words, the server's message and
//! Rollcall's stable error code.

/// The metadata key of Rollcall's stable error code on a failed call (the server's
/// `rollcall_server::error::ERROR_CODE_METADATA`; the client does not depend on the server).
pub const ERROR_CODE_METADATA: &str = "rollcall-error-code";

/// A gRPC error as one line: the status code in words, the message, and Rollcall's stable error
/// code when the server sent one, e.g. `invalid argument: school_urn: must be six digits
/// [INVALID_ARGUMENT]`.
pub fn describe(status: &tonic::Status) -> String {
    let code = code_words(status.code());
    let message = status.message().trim();
    let mut line = if message.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {message}")
    };
    if let Some(stable) = status
        .metadata()
        .get(ERROR_CODE_METADATA)
        .and_then(|v| v.to_str().ok())
    {
        line.push_str(&format!(" [{stable}]"));
    }
    // One line, whatever the server or the transport put in the message.
    line.replace(['\n', '\r'], " ")
}

/// A gRPC failure as this library's error, which reads as [`describe`]'s line.
pub fn error(status: tonic::Status) -> crate::Error {
    crate::Error::from(status)
}

/// A gRPC status code as lowercase words, e.g. `resource exhausted`.
pub fn code_words(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_one_lowercase_line_with_the_stable_code() {
        let mut status = tonic::Status::invalid_argument("school_urn: must be six digits");
        status.metadata_mut().insert(
            "rollcall-error-code",
            tonic::metadata::MetadataValue::from_static("INVALID_ARGUMENT"),
        );
        assert_eq!(
            describe(&status),
            "invalid argument: school_urn: must be six digits [INVALID_ARGUMENT]"
        );
        let status = tonic::Status::unavailable("tcp connect error\nconnection refused");
        assert_eq!(
            describe(&status),
            "unavailable: tcp connect error connection refused"
        );
        assert_eq!(
            describe(&tonic::Status::resource_exhausted("")),
            "resource exhausted"
        );
        assert_eq!(
            error(tonic::Status::not_found("no such feed")).to_string(),
            "not found: no such feed"
        );
    }
}
