//! Integration tests against a real PostgreSQL server: each test makes its own database.

mod apply;
mod at_risk;
mod batch;
mod codebook;
mod common;
mod feeds;
mod queries;
mod refusals;
mod school_replay;
mod security;
mod totals;
