//! Integration tests against a real PostgreSQL server: each test makes its own database.

mod apply;
mod common;
mod feeds;
mod queries;
mod security;
mod totals;
