//! The parts every Rollcall service shares: the layered configuration loader and the shared
//! sections, gRPC server assembly with the
//! standard health and reflection services, authentication and authorisation (`auth`), TLS, the
//! operations listener (`ops`: `/metrics`, `/healthz`, `/readyz`), the
//! one mapping from error codes to gRPC statuses,
//! and shutdown on SIGTERM or Ctrl-C.

pub mod auth;
pub mod calls;
pub mod config;
pub mod error;
pub mod grpc;
pub mod ops;
pub mod service;
pub mod shutdown;
pub mod tls;

pub use config::ServiceSettings;
pub use error::{ApiError, ErrorCode};
