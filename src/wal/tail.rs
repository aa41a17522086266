//! Repairing the end of `karma.wal` when it is opened: a crash can leave a
//! last line without its `\n`, whole or torn.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::files;
use super::line::{is_blank, parse_line_strict};
use super::WalError;

/// Makes `karma.wal` end with `\n` before anything is appended (docs/storage.md, The write-ahead
/// log): a complete unterminated last line gets its `\n`; a torn one (not valid JSON) is cut off;
/// a blank one (the fill ahead of the last batch, see `file_writer`, left by a crash) is cut off
/// without a word. Returns the resulting file size.
pub(super) fn repair_tail(file: &fs::File, path: &Path, fsync: bool) -> Result<u64, WalError> {
    let size = file.metadata().map_err(|e| WalError::io("stat WAL file", path, e))?.len();
    if size == 0 {
        return Ok(0);
    }
    let map = files::map_file(file).map_err(|e| WalError::io("map WAL file", path, e))?;
    if map.last() == Some(&b'\n') {
        return Ok(size);
    }
    let line_start = map.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let tail = &map[line_start..];
    let blank = is_blank(tail);
    let complete = !blank && parse_line_strict(tail).is_ok();
    let tail_len = tail.len();
    drop(map);
    let new_size = if blank {
        file.set_len(line_start as u64).map_err(|e| WalError::io("truncate WAL file", path, e))?;
        line_start as u64
    } else if complete {
        file.write_all_at(b"\n", size).map_err(|e| WalError::io("write WAL file", path, e))?;
        size + 1
    } else {
        file.set_len(line_start as u64).map_err(|e| WalError::io("truncate WAL file", path, e))?;
        let line = line_number_at(file, line_start);
        log::warn!(target: "wal.torn_tail", "path={} line={line} bytes={tail_len}", path.display());
        line_start as u64
    };
    if fsync {
        file.sync_data().map_err(|e| WalError::io("fsync WAL file", path, e))?;
    }
    Ok(new_size)
}

/// 1-based number of the line starting at byte `at` (for the log line).
fn line_number_at(file: &fs::File, at: usize) -> usize {
    match files::map_file(file) {
        Ok(map) => map[..at.min(map.len())].iter().filter(|&&b| b == b'\n').count() + 1,
        Err(_) => 0,
    }
}
