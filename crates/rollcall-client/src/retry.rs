//! Sending a feed until the gateway takes it: the same stream under the same idempotency key,
//! after a pause that doubles, for as long as the answer says the feed may still be taken. The
//! key makes a retry harmless: a feed the gateway had already acknowledged comes back as its
//! first receipt, marked duplicate, and nothing is stored twice.

use std::time::Duration;

use rollcall_proto::feed::v1::{FeedReceipt, feed_service_client::FeedServiceClient};
use tonic::Code;

use crate::AuthChannel;
use crate::submit::{Submission, submit};

/// The gRPC trailer a server sets to say how long to wait before trying again (gRPC's retry
/// design, "server pushback"); the gateway sets it when it sheds load.
pub const RETRY_PUSHBACK_METADATA: &str = "grpc-retry-pushback-ms";

/// How long to wait between attempts, and when to stop.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The pause after the first failure; each later pause doubles, up to `longest`.
    pub first: Duration,
    pub longest: Duration,
    /// No attempt starts once this long has passed since the first.
    pub give_up_after: Duration,
}

impl Default for Backoff {
    /// Half a second, doubling to 30 seconds, for up to 10 minutes: long enough to ride out a
    /// database failover or a broker restart.
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(500),
            longest: Duration::from_secs(30),
            give_up_after: Duration::from_secs(600),
        }
    }
}

/// A feed's receipt and how many attempts it took.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub receipt: FeedReceipt,
    pub attempts: u32,
}

/// Whether `status` says the same feed may be taken if sent again: the gateway, its database
/// or the broker was unavailable, the call timed out, load was shed, or the connection broke
/// before an answer (a status with no stable error code of Rollcall's came from the transport,
/// not from a handler). A feed over the limits, and every answer about the feed or the
/// credential, is final.
pub fn is_retryable(status: &tonic::Status) -> bool {
    let stable = status
        .metadata()
        .get(crate::status::ERROR_CODE_METADATA)
        .and_then(|v| v.to_str().ok());
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Aborted => true,
        Code::ResourceExhausted => stable != Some("FEED_TOO_LARGE"),
        Code::Unknown | Code::Cancelled | Code::Internal => stable.is_none(),
        _ => false,
    }
}

/// The pause a server asked for in [`RETRY_PUSHBACK_METADATA`], if any.
pub fn pushback(status: &tonic::Status) -> Option<Duration> {
    let millis: u64 = status
        .metadata()
        .get(RETRY_PUSHBACK_METADATA)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_millis(millis))
}

/// [`submit`], sent again while [`is_retryable`] says so and `backoff` allows: each pause is
/// the server's pushback when it gave one, else the doubling backoff. Returns the last status
/// when it gives up.
pub async fn submit_retrying(
    client: &mut FeedServiceClient<AuthChannel>,
    feed: &Submission<'_>,
    backoff: &Backoff,
) -> Result<Accepted, tonic::Status> {
    let started = tokio::time::Instant::now();
    let mut pause = backoff.first;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match submit(client, feed).await {
            Ok(receipt) => return Ok(Accepted { receipt, attempts }),
            Err(status) if is_retryable(&status) => {
                let wait = pushback(&status).unwrap_or(pause);
                if started.elapsed() + wait > backoff.give_up_after {
                    return Err(status);
                }
                tokio::time::sleep(wait).await;
                pause = (pause * 2).min(backoff.longest);
            }
            Err(status) => return Err(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_code(code: Code, stable: Option<&str>) -> tonic::Status {
        let mut status = tonic::Status::new(code, "x");
        if let Some(stable) = stable {
            status
                .metadata_mut()
                .insert("rollcall-error-code", stable.parse().unwrap());
        }
        status
    }

    #[test]
    fn transient_answers_and_broken_connections_are_retried() {
        assert!(is_retryable(&with_code(
            Code::Unavailable,
            Some("UNAVAILABLE")
        )));
        assert!(is_retryable(&with_code(Code::DeadlineExceeded, None)));
        assert!(is_retryable(&with_code(
            Code::ResourceExhausted,
            Some("OVERLOADED")
        )));
        // The transport's own failure: no stable code.
        assert!(is_retryable(&with_code(Code::Unknown, None)));
        assert!(is_retryable(&with_code(Code::Cancelled, None)));
    }

    #[test]
    fn answers_about_the_feed_or_the_caller_are_final() {
        assert!(!is_retryable(&with_code(
            Code::ResourceExhausted,
            Some("FEED_TOO_LARGE")
        )));
        assert!(!is_retryable(&with_code(
            Code::InvalidArgument,
            Some("INVALID_ARGUMENT")
        )));
        assert!(!is_retryable(&with_code(Code::PermissionDenied, None)));
        assert!(!is_retryable(&with_code(Code::Unauthenticated, None)));
        assert!(!is_retryable(&with_code(Code::Internal, Some("INTERNAL"))));
    }

    #[test]
    fn a_pushback_is_read_in_milliseconds() {
        let mut status = tonic::Status::resource_exhausted("busy");
        assert_eq!(pushback(&status), None);
        status
            .metadata_mut()
            .insert(RETRY_PUSHBACK_METADATA, "1500".parse().unwrap());
        assert_eq!(pushback(&status), Some(Duration::from_millis(1500)));
    }
}
