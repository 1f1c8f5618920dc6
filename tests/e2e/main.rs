//! End-to-end tests: the gateway, validator, aggregator and query services run against a real
//! Kafka-API broker (Tansu, started once per test binary) and the real PostgreSQL server, and are
//! driven only through their gRPC APIs and the `rollcall` CLI. Each test gets its own database,
//! topics and consumer groups, so tests run in parallel.

mod cli;
mod harness;
mod la;
mod lifecycle;
mod pipeline;
