//! Applies a logged write to the [`State`], the same way for a live write,
//! WAL replay and replication. Each logged op's row in the op table
//! (`protocol/op.rs`) names its handler; [`for_each_op!`] expands here into
//! the one `match` from each logged command to it, so a logged op without
//! a handler, or with one of the wrong shape, does not compile. The handler
//! paths of the rows resolve in this file. Every handler has the shape
//! `fn(&mut Apply<'_, '_>, &write::Op<'_>, &mut Vec<u8>) -> Result<(), CommandError>`
//! ([`Apply`] is what it may use besides its fields) and writes its reply's
//! `response` JSON into the buffer. On error nothing has changed.

use super::state::{Apply, State};
use super::{counters, ingest_ops, keyed_write, maintenance};
use crate::metrics::Metrics;
use crate::protocol::fingerprint::Fingerprint;
use crate::protocol::op::for_each_op;
use crate::protocol::{Command, CommandError};

/// `apply_command`: the `match` from each logged command to the handler
/// its row names.
macro_rules! apply_routes {
    (
        all [$($all:tt)*]
        reads [$($read:tt)*]
        admins [$( $admin:ident => $admin_handler:path; )*]
        logged [$( $logged:ident => $handler:path; )*]
    ) => {
        /// Applies a write command; `applies_to` filters which series a
        /// `system.compact` touches (all, outside WAL replay). `fingerprint`
        /// is the command's.
        pub(super) fn apply_command(
            state: &mut State,
            metrics: &Metrics,
            command: &Command<'_>,
            fingerprint: &Fingerprint<'_, '_>,
            applies_to: &dyn Fn(&str) -> bool,
            out: &mut Vec<u8>,
        ) -> Result<(), CommandError> {
            let mut apply = Apply { state, metrics, fingerprint, applies_to };
            match command {
                $(Command::$logged(args) => $handler(&mut apply, args, out),)*
                // The live path routes only logged ops here, but a WAL entry
                // (read from disk, or pulled from a master) can name any op:
                // one that logs nothing has no effect to apply, and the
                // entry is refused.
                Command::Read(_) $(| Command::$admin(_))* => Err(CommandError::internal("Command is not a write")),
            }
        }
    };
}

for_each_op!(apply_routes);
