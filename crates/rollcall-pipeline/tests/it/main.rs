//! The pipeline's messages: round trips, v1 compatibility, sizes, garbage.

mod common;
mod garbage;
mod round_trip;
mod size;
mod v1;
