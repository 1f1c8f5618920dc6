//! What kind of failure an error is, whichever dependency it came from (PostgreSQL, the
//! broker): `rollcall_db::Error` and `rollcall_kafka::Error` each report one, and the server's
//! one conversion (`rollcall_server::ApiError`) turns a kind into what the caller is told. Pure
//! data, here because every crate that fails and every crate that answers depend on this one.

/// What kind of failure an error is, for whoever decides what to do next: retry, tell the
/// caller its input was refused, or report a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The same call may succeed if retried: the connection dropped or timed out, the server is
    /// short of resources, shutting down or read-only (a failover), or aborted the transaction
    /// (serialization failure, deadlock); the broker is unreachable or timed out.
    Transient,
    /// The database refused the values sent (a data exception, a constraint, a limit): the same
    /// values fail again, however often they are retried.
    Refused,
    /// Something the call needs is not there (a feed, a school).
    NotFound,
    /// A fault of Rollcall's own, of its schema or of its configuration: not the caller's
    /// input, not worth a retry.
    Internal,
}
