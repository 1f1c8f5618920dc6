//! End-to-end tests: the gateway, validator, aggregator and query services run against a real
//! Kafka-API broker (Tansu, started once per test binary) and the real PostgreSQL server, and are
//! driven only through their gRPC APIs and the `rollcall` CLI, with authentication on (the
//! harness makes an admin, a vendor and an LA user's key for each test). Each test gets its own database,
//! topics and consumer groups, so tests run in parallel.

mod architecture;
mod as_at;
mod cli;
mod conformance;
mod export;
mod findings;
mod harness;
mod hostile;
mod la;
mod lifecycle;
mod lists;
mod load;
mod logs;
mod matrix;
mod metrics;
mod operations;
mod pipeline;
mod processes;
mod pupils;
mod reconcile;
mod refusals;
mod replay;
mod security;
mod traces;
mod transport;
mod upgrade;
mod watch;
