//! Routing: from a request's command to its handler, so an op without a
//! handler does not compile.
//!
//! Every op's handler is named by its row in the op table
//! (`protocol/op.rs`); [`for_each_op!`] expands here into the one `match`
//! from each command to it, and the handler paths of the read and admin
//! rows resolve in this file. A read or admin handler has the shape
//! `fn(&Engine, &read::Op<'_>, &mut Vec<u8>) -> Result<(), CommandError>`
//! (with `write::Op` for an admin op): a read of the series state takes the
//! state lock through [`Engine::read`] (once the WAL is known to be sound,
//! see `degraded`); reads of files and system figures, and the admin ops,
//! take what they need, without the WAL. Logged writes go to `logged`,
//! which applies them (`apply`, where their handlers are named), logs and
//! answers once durable.

use super::inspect;
use super::state::State;
use super::{counters, Engine, Executed};
use crate::protocol::op::for_each_op;
use crate::protocol::{Command, CommandError, Request};

/// `Engine::execute`: the `match` from each read or admin command to the
/// handler its row names, and from each logged command to `execute_logged`.
macro_rules! routes {
    (
        all [$($all:tt)*]
        reads [$( $read:ident $fields:tt => $read_handler:path; )*]
        admins [$( $admin:ident => $admin_handler:path; )*]
        logged [$( $logged:ident => $logged_handler:path; )*]
    ) => {
        impl Engine {
            /// Runs a request that passed authentication, validation and the
            /// role check. `out` receives the `response` JSON.
            pub(super) fn execute(&self, request: &Request<'_>, out: &mut Vec<u8>) -> Result<Executed, CommandError> {
                use crate::protocol::ReadCommand;
                match &request.command {
                    Command::Read(read) => match read {
                        $(ReadCommand::$read(args) => $read_handler(self, args, out),)*
                    },
                    $(Command::$admin(args) => $admin_handler(self, args, out),)*
                    $(Command::$logged(_))|* => return self.execute_logged(request, out),
                }
                .map(|()| Executed::default())
            }
        }
    };
}

for_each_op!(routes);

impl Engine {
    /// Runs `read` on the series state under the lock, once reads are safe:
    /// the shape of every handler that reads the series state.
    pub(super) fn read(
        &self,
        out: &mut Vec<u8>,
        read: impl FnOnce(&State, &mut Vec<u8>) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let mut state = self.state.lock();
        self.durable_reads(&mut state)?;
        read(&state, out)
    }
}
