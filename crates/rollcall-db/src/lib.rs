//! PostgreSQL access for Rollcall: the only crate that contains SQL.
