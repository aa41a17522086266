//! `recovery.checkpoint` (docs/protocol.md, Recovery checkpoints and
//! reconciliation): the one admin op that rewrites `recovery.json`. Not
//! logged: the file is its own durable record.

use super::recovery::{Checkpoint, RECOVERY_FILE};
use super::Engine;
use crate::protocol::{read, write, CommandError};
use crate::util::time::unix_now;

impl Engine {
    /// `recovery.status`: one source's checkpoint, or all of them.
    pub(super) fn recovery_status(
        &self,
        args: &read::RecoveryStatus<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        self.read(out, |state, out| {
            state.recovery.status_json(args.source.as_deref(), out);
            Ok(())
        })
    }

    /// `recovery.checkpoint`: replaces the source's checkpoint and rewrites
    /// `recovery.json` (temp file, fsync, rename). Not logged.
    pub(super) fn recovery_checkpoint(
        &self,
        args: &write::RecoveryCheckpoint<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CommandError> {
        let (source, offset, event_id) = (&args.source, &args.offset, &args.event_id);
        let _one_writer = self.recovery_file_lock.lock();
        let checkpoint = Checkpoint {
            source: source.to_string(),
            offset: offset.clone(),
            event_id: event_id.clone(),
            updated_at_unix: unix_now(),
        };
        let (reply, file) = {
            let mut state = self.state.lock();
            let reply = state.recovery.set(checkpoint);
            (reply, state.recovery.file_bytes())
        };
        crate::util::fs::write_atomic(&self.config.directory, RECOVERY_FILE, &file, true)
            .map_err(|e| CommandError::internal(format!("Cannot write recovery checkpoints: {e}")))?;
        out.extend_from_slice(&reply);
        Ok(())
    }
}
