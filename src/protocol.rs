//! The wire protocol v2: request lines into typed commands, and replies out.
//!
//! A line goes through `json` (one JSON value, integers up to u64), `request`
//! (preamble checks and each op's fields in the reference's order),
//! `validate` (semantic checks after authentication); replies are written by
//! `reply` (with `util::json_writer`), WAL entries by `entry`, saved replies
//! for disk by `saved_reply`. Nothing here touches state.
//!
//! The ops are one table (`op`); a read op's fields, parse step and checks
//! are generated from its row (`read`, with the field kinds of
//! `field_kind`), the other ops' are written by hand: their fields structs
//! and parse steps in `write`, their checks in `validate`.

pub mod entry;
pub mod error;
pub mod field_kind;
pub mod fields;
pub mod fingerprint;
pub mod ingest_mode;
pub mod json;
pub mod op;
pub mod read;
pub mod reply;
pub mod request;
pub mod saved_reply;
pub mod validate;
pub mod write;

pub use error::{CommandError, ErrorCode};
pub use ingest_mode::IngestMode;
pub use op::Op;
pub use read::ReadCommand;
pub use request::{parse_request, Command, IdempotencyFields, Rejected, Request};
