//! `WatchReceipts`: a sender's receipts pushed as the pipeline answers its feeds. Each stream is
//! a task reading the answered feeds the caller may see from its position on
//! (`rollcall_db::answered_feeds`: in answer order, never behind a transaction still running),
//! woken by PostgreSQL's notification of each answer and, should one be lost, every few seconds.
//! A position names no school or pupil: the answering transaction's id and the feed's id.

use std::pin::Pin;
use std::time::Duration;

use rollcall_db::{Access, Pool, Principal, ReceiptPosition};
use rollcall_proto::feed::v1::{WatchReceiptsRequest, WatchedReceipt};
use rollcall_server::ApiError;
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Response, Status};
use uuid::Uuid;

use crate::grpc_receipts;

/// The receipts of one watcher's stream.
pub type ReceiptStream = Pin<Box<dyn Stream<Item = Result<WatchedReceipt, Status>> + Send>>;

/// Answered feeds read at once.
const BATCH: i64 = 500;
/// How long a watcher waits for a notification before it reads anyway.
const POLL: Duration = Duration::from_secs(2);
/// Receipts in flight to one watcher before its task waits for the client to take them.
const BUFFER: usize = 64;

/// A watch channel bumped at every answer's notification, kept connected until `shutdown`.
pub(crate) fn spawn_signal(pool: Pool, shutdown: &CancellationToken) -> watch::Receiver<u64> {
    let (bump, answers) = watch::channel(0u64);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let listened = tokio::select! {
                () = stop.cancelled() => return,
                signal = rollcall_db::ReceiptSignal::listen(&pool) => signal,
            };
            match listened {
                Ok(mut signal) => loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        next = signal.next() => match next {
                            Ok(()) => bump.send_modify(|n| *n = n.wrapping_add(1)),
                            Err(err) => {
                                tracing::warn!(error = %err, "receipt notifications lost; listening again");
                                break;
                            }
                        },
                    }
                },
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for receipt notifications; watchers read every few seconds");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    });
    answers
}

/// Starts a watcher's stream for `caller`.
pub(crate) fn watch(
    pool: &Pool,
    answers: &watch::Receiver<u64>,
    caller: &Principal,
    request: WatchReceiptsRequest,
) -> Result<Response<ReceiptStream>, Status> {
    let mut position = match request.resume_from.trim() {
        "" => None,
        token => Some(parse_position(token)?),
    };
    let since = crate::grpc::time_or(request.since, "since", chrono::Utc::now())?;
    let access = Access::of(caller);
    let pool = pool.clone();
    let mut answers = answers.clone();
    let (send, receive) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        loop {
            // From a position, everything after it; before the first, what was answered since.
            let from_time = position.is_none().then_some(since);
            let read = rollcall_db::answered_feeds(&pool, &access, position, from_time, BATCH)
                .await
                .map_err(|err| Status::from(ApiError::database("cannot read the receipts", &err)));
            let rows = match read {
                Ok(rows) => rows,
                Err(status) => {
                    let _ = send.send(Err(status)).await;
                    return;
                }
            };
            let full = rows.len() as i64 == BATCH;
            for (row, at) in rows {
                let receipt = match grpc_receipts::with_parking(&pool, &row).await {
                    Ok(receipt) => receipt,
                    Err(status) => {
                        let _ = send.send(Err(status)).await;
                        return;
                    }
                };
                let watched = WatchedReceipt {
                    receipt: Some(receipt),
                    position: position_token(at),
                };
                if send.send(Ok(watched)).await.is_err() {
                    return; // the watcher went away
                }
                position = Some(at);
            }
            if full {
                continue;
            }
            tokio::select! {
                () = send.closed() => return,
                _ = answers.changed() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    });
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(receive),
    )))
}

fn position_token(at: ReceiptPosition) -> String {
    format!("{}.{}", at.answered_xid, at.feed_id)
}

fn parse_position(token: &str) -> Result<ReceiptPosition, Status> {
    let invalid = || {
        Status::from(ApiError::invalid(
            "resume_from: not a position this service gave",
        ))
    };
    let (xid, feed) = token.split_once('.').ok_or_else(invalid)?;
    Ok(ReceiptPosition {
        answered_xid: xid.parse().map_err(|_| invalid())?,
        feed_id: Uuid::parse_str(feed).map_err(|_| invalid())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_as_written_and_nothing_else_does() {
        let at = ReceiptPosition {
            answered_xid: 7421,
            feed_id: Uuid::from_u128(5),
        };
        assert_eq!(parse_position(&position_token(at)).unwrap(), at);
        for bad in [
            "",
            "7421",
            "x.00000000-0000-0000-0000-000000000005",
            "7421.not-a-uuid",
        ] {
            assert!(parse_position(bad).is_err(), "{bad}");
        }
    }
}
